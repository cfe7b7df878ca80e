"""The domain's closed vocabulary, declared once (DOMAIN.md).

Statuses, task kinds, referral states, channels, purposes, classes and the other
fixed lists of the workbook. The schema's dropdowns, the rules, the board's
conditional format, the weekly reports and the 短信模板 names are all derived from
this module; no other module spells these strings.
"""

from __future__ import annotations

from dataclasses import dataclass

# Yes/no cells (勿扰, 在职, 完成).
YES, NO = "是", "否"
YES_NO = (YES, NO)

GENDERS = ("男", "女")
SOURCES = ("来电", "来访", "转介绍", "活动", "营销", "地毯式", "资料查阅", "委托助手", "其他")

# Stages of a client (阶段).
STAGES = ("潜在", "意向", "准客户", "目标", "成交", "流失")
STAGE_DEFAULT = "潜在"
STAGE_DEAL = "成交"
STAGE_CHURNED = "流失"
PROSPECT_STAGES = ("潜在", "意向", "准客户", "目标")
LATE_PROSPECT_STAGES = ("准客户", "目标")  # class C without a deal

# Channels (方式) of a touch or a task.
PHONE, SMS, WECHAT, VISIT, WALK_IN, CALL_IN, ACTIVITY, EMAIL = (
    "电话", "短信", "微信", "拜访", "来访", "来电", "活动", "邮件")
CHANNELS = (PHONE, SMS, WECHAT, VISIT, WALK_IN, CALL_IN, ACTIVITY, EMAIL)
SMS_CHANNELS = (SMS, WECHAT)  # a task on these gets a draft
ONE_WAY = (SMS, EMAIL)  # nobody knows the client read them: never a reached touch
TALK_CHANNELS = (PHONE, VISIT)

# Purposes (事由) of a touch.
ROUTINE, FIRST_CALL, FIRST_VISIT, DEAL, BIRTHDAY, HOLIDAY, COMPLAINT, SURVEY, REFERRAL, OTHER = (
    "日常维护", "首次来电", "首次来访", "成交", "生日", "节日", "投诉", "满意度回访", "转介绍", "其他")
# Purposes of the deeper-relationship tasks (关键人, 活动, 请求转介绍).
KEY_PERSON_TOUCH, ACTIVITY_INVITE, REFERRAL_ASK = "关键人沟通", "活动邀请", "请求转介绍"
PURPOSES = (ROUTINE, FIRST_CALL, FIRST_VISIT, DEAL, BIRTHDAY, HOLIDAY, COMPLAINT, SURVEY, REFERRAL, OTHER,
            KEY_PERSON_TOUCH, ACTIVITY_INVITE, REFERRAL_ASK)

# Outcomes (结果) of a touch, as an agent picks them on a task row (DOMAIN: The daily loop).
CONNECTED, NO_ANSWER, REJECTED, NO_NUMBER, SENT, VISITED, RESCHEDULED = (
    "已接通", "未接通", "拒接", "空号", "已发送", "已拜访", "改期")
OUTCOMES = (CONNECTED, NO_ANSWER, REJECTED, NO_NUMBER, SENT, VISITED, RESCHEDULED)
# Outcomes that mean the client was *not* reached: such a touch is no maintenance.
NOT_REACHED = (NO_ANSWER, REJECTED, NO_NUMBER)

# Referral states (转介绍 状态), in funnel order.
REF_NEW, REF_CONTACTED, REF_VISITED, REF_CLOSED, REF_INVALID = "新推荐", "已联系", "已到访", "已成交", "无效"
REFERRAL_STATES = (REF_NEW, REF_CONTACTED, REF_VISITED, REF_CLOSED, REF_INVALID)
REF_REACHED = (REF_CONTACTED, REF_VISITED, REF_CLOSED)  # the referred person was contacted
REF_OPEN = (REF_NEW, REF_CONTACTED, REF_VISITED)
# 推荐 → 联系 → 到访 → 成交: the states that count for each step (None: every referral).
FUNNEL = (("推荐", None), ("联系", REF_REACHED), ("到访", (REF_VISITED, REF_CLOSED)), ("成交", (REF_CLOSED,)))

INFLUENCE = ("高", "中", "低")
INFLUENCE_HIGH = "高"
WILLINGNESS = ("主动", "一般", "无")
CLASSES = ("A", "B", "C", "D")
CALENDARS = ("公历", "农历")
LUNAR = "农历"
CHURN_REASONS = ("价格", "服务", "产品", "利益", "自然", "其他")
KEYDATE_KINDS = ("家人生日", "纪念日", "乔迁", "升学", "公司庆典", "其他")
KEYDATE_DEFAULT = "纪念日"
CHURN_REASON_MISSING = "未填"  # a churned client without a 流失原因, counted in its own column

# Classes a manager may take back into the public pool (公海) when long overdue.
RECLAIM_CLASSES = ("A", "B", "C")
# Classes watched for churn (流失预警) when overdue or sleeping.
CHURN_WATCH_CLASSES = ("A", "B")

KEYDATE_BIRTHDAY = "家人生日"

# Public holidays a 覆盖节日 rule may name (the holiday calendar's names for China).
HOLIDAY_NAMES = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
# 节假日 sheet 类型: a day off, or a 调休 weekend working day.
DAY_OFF, MAKEUP_WORKDAY = "放假", "调休上班"
HOLIDAY_DAY_TYPES = (DAY_OFF, MAKEUP_WORKDAY)

# Key persons of a corporate account (seed 002): the formal buying role and the attitude to us.
ROLE_APPROVER, ROLE_DECIDER, ROLE_EVALUATOR, ROLE_USER = "A", "D", "E", "U"
KP_ROLES = (ROLE_APPROVER, ROLE_DECIDER, ROLE_EVALUATOR, ROLE_USER)
KP_ROLE_NAMES = {ROLE_APPROVER: "最终批准者", ROLE_DECIDER: "决策者", ROLE_EVALUATOR: "评估者", ROLE_USER: "使用者"}
KP_DECISION_ROLES = (ROLE_APPROVER, ROLE_DECIDER)  # who can sign: the ones worth winning over
KP_ATTITUDES = ("赞助者", "支持者", "中立者", "不支持者", "反对者")
KP_WIN_OVER = ("中立者", "不支持者", "反对者")  # an A/D with these gets a 争取关键人 contact
KP_AGAINST = ("不支持者", "反对者")

# Referral ability grade (seed 000 转介绍能力分级): A/B clients are asked for referrals.
REFERRAL_GRADES = ("A", "B", "C")
REFERRAL_ASK_GRADES = ("A", "B")

# Follow-up status (跟进状态), first match wins: 流失, 勿扰, 沉睡, 逾期N天, 今日到期, 正常.
CHURNED, DO_NOT_CONTACT, SLEEPING, DUE_TODAY, NORMAL = "流失", "勿扰", "沉睡", "今日到期", "正常"
OVERDUE_PREFIX, OVERDUE_SUFFIX = "逾期", "天"  # 逾期3天


# Shown instead of a client who belongs to another agent (privacy between agents).
FOREIGN = "(其他顾问的客户)"

PRIORITY_BY_RANK = {1: "最高", 2: "高", 3: "高", 4: "高", 5: "中", 6: "中", 7: "中", 8: "低", 9: "低",
                    10: "低"}


@dataclass(frozen=True)
class TaskKind:
    """One kind of task: also the name of its 短信模板 row.

    Attributes:
      name: the kind as staff see it, and the 短信模板 name.
      rank: the family's place in DOMAIN's priority order (1 = promises).
      family: the module in `core.tasks` that makes it.
      logs_as: the 事由 a completed task is logged as in 跟进记录.
      flexible: the planner may move it (cadence, backlog, sleeping, persistence,
        surveys, catch-up SMS) to fill what capacity is left; a fixed-date task keeps
        its date (DOMAIN: Planning capacity).
    """

    name: str
    rank: int
    family: str
    logs_as: str
    flexible: bool = False

    @property
    def priority(self) -> str:
        return PRIORITY_BY_RANK[self.rank]


TASK_KINDS: tuple[TaskKind, ...] = (
    TaskKind("承诺反馈", 1, "promises", ROUTINE),
    TaskKind("来电路线", 2, "immediate_sms", FIRST_CALL),
    TaskKind("来访感谢", 2, "immediate_sms", FIRST_VISIT),
    TaskKind("成交祝贺", 2, "immediate_sms", DEAL),
    TaskKind("生日祝福", 3, "birthdays", BIRTHDAY),
    TaskKind("生日邀请", 3, "birthdays", BIRTHDAY),
    TaskKind("家人关怀", 3, "key_dates", BIRTHDAY),
    TaskKind("节日祝福", 4, "holidays", HOLIDAY),
    TaskKind("维护电话", 5, "cadence_calls", ROUTINE, flexible=True),
    TaskKind("转介绍联系", 6, "referrals", REFERRAL),
    TaskKind("转介绍反馈", 6, "referrals", REFERRAL),
    TaskKind("转介绍感谢", 6, "referrals", REFERRAL),
    TaskKind("唤醒沉睡", 7, "sleeping", ROUTINE, flexible=True),
    TaskKind("坚持跟进", 8, "persistence", ROUTINE, flexible=True),
    TaskKind("满意度回访", 9, "surveys", SURVEY, flexible=True),
    TaskKind("投诉跟进", 9, "surveys", COMPLAINT),
    TaskKind("日常关怀", 10, "care_sms", ROUTINE, flexible=True),
    TaskKind("补全资料", 10, "profile", ROUTINE, flexible=True),
    TaskKind("争取关键人", 5, "key_persons", KEY_PERSON_TOUCH, flexible=True),
    TaskKind("关键人生日", 3, "key_persons", BIRTHDAY),
    TaskKind("活动邀请", 3, "activities", ACTIVITY_INVITE),
    TaskKind("请求转介绍", 6, "referral_asks", REFERRAL_ASK, flexible=True),
    TaskKind("周末短信", 10, "weekend_sms", ROUTINE),
)
KIND = {k.name: k for k in TASK_KINDS}
FLEXIBLE_KINDS = tuple(k.name for k in TASK_KINDS if k.flexible)
UNPLANNED = "待排"  # flexible work that did not fit in the window's capacity

# Named kinds the rules and reports refer to.
PROMISE, ROUTE_SMS, THANKS_SMS, DEAL_SMS = "承诺反馈", "来电路线", "来访感谢", "成交祝贺"
BIRTHDAY_WISH, BIRTHDAY_INVITE, FAMILY_CARE, HOLIDAY_WISH = "生日祝福", "生日邀请", "家人关怀", "节日祝福"
CADENCE_CALL = "维护电话"
REFERRAL_CONTACT, REFERRAL_FEEDBACK, REFERRAL_THANKS = "转介绍联系", "转介绍反馈", "转介绍感谢"
WAKE_UP, PERSIST, SURVEY_CALL, COMPLAINT_CALL, CARE_SMS = "唤醒沉睡", "坚持跟进", "满意度回访", "投诉跟进", "日常关怀"
COMPLETE_PROFILE = "补全资料"

WIN_KEY_PERSON, KEY_PERSON_BIRTHDAY, ACTIVITY_INVITATION, ASK_REFERRAL, WEEKEND_SMS = (
    "争取关键人", "关键人生日", "活动邀请", "请求转介绍", "周末短信")
# Kinds whose 短信模板 is a talk script (话术): rendered for the task whatever its channel.
SCRIPT_KINDS = (ASK_REFERRAL,)
# Kinds about one key person of an account (the task's 姓名 is theirs; logged as 跟进记录 关键人).
KEY_PERSON_KINDS = (WIN_KEY_PERSON, KEY_PERSON_BIRTHDAY)
# Kinds whose SMS variant changes every week rather than every month (drafts.pick).
WEEKLY_KINDS = (WEEKEND_SMS,)

CARE_KINDS = (BIRTHDAY_WISH, BIRTHDAY_INVITE, FAMILY_CARE, HOLIDAY_WISH, KEY_PERSON_BIRTHDAY)
REFERRAL_KINDS = (REFERRAL_CONTACT, REFERRAL_FEEDBACK, REFERRAL_THANKS)
assert all(k in KIND for k in (*CARE_KINDS, *REFERRAL_KINDS, PROMISE, ROUTE_SMS, THANKS_SMS, DEAL_SMS,
                               CADENCE_CALL, WAKE_UP, PERSIST, SURVEY_CALL, COMPLAINT_CALL, CARE_SMS,
                               COMPLETE_PROFILE,
                               WIN_KEY_PERSON, KEY_PERSON_BIRTHDAY, ACTIVITY_INVITATION, ASK_REFERRAL, WEEKEND_SMS))
