"""The workbook schema: every sheet, header, type and vocabulary, declared once.

DOMAIN.md is the spec. Each sheet is an Excel Table with one header row; headers
are Chinese, and the English alias in brackets is accepted too, so an English
workbook loads the same. The loader, the validator, the template writer and the
output writers all read this module; no other module spells a header.

Column kinds:
    text      free text, kept as typed
    phone     text; numbers typed as numbers are turned back into digits
    date      a date (or date-time); text dates such as 2024/3/5 are understood
    monthday  a full date or just month-day (03-15, 3月15日), e.g. a birthday
    int/float numbers
    enum      one of `choices`
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from ..core.vocab import (
    CALENDARS,
    CHANNELS,
    CHURN_REASONS,
    CLASSES,
    GENDERS,
    HOLIDAY_DAY_TYPES,
    INFLUENCE,
    KEYDATE_KINDS,
    KP_ATTITUDES,
    KP_ROLES,
    OUTCOMES,
    PURPOSES,
    REFERRAL_STATES,
    SOURCES,
    STAGES,
    WILLINGNESS,
    YES_NO,
)


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    Attributes:
      key: the English identifier code uses (`df["birthday"]`) and the English header.
      zh: the Chinese header.
      kind: text, phone, date, monthday, int, float or enum.
      required: a row needs a value here.
      choices: the vocabulary of an enum column (a dropdown in the template).
      width: column width in the template, in characters.
      en: the English header when it differs from `key`.
      hint: the input message the template shows on the column's cells (a dropdown's legend).
    """

    key: str
    zh: str
    kind: str = "text"
    required: bool = False
    choices: tuple[str, ...] = ()
    width: float = 12
    en: str | None = None
    hint: str = ""

    @property
    def english(self) -> str:
        return self.en or self.key

    def header(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.english


@dataclass(frozen=True)
class Sheet:
    """One sheet (one Excel Table) of the workbook."""

    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    table: str  # the Excel Table name (ASCII, so formulas work in every locale)
    owned: bool = False  # written by the program, never typed into
    optional: bool = False  # a workbook without it loads (an older workbook, or an office that doesn't use it)
    notes: tuple[str, ...] = field(default=())

    def name(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


C = Column

# What an agent types on a task row (DOMAIN: The daily loop), and the program's 任务编号.
# Shared by 我的任务 and the weekly workbook's 本周计划 and 短信草稿.
LOOP_COLUMNS = (
    C("done", "完成", "enum", choices=YES_NO, width=6),
    C("outcome", "结果", "enum", choices=OUTCOMES, width=8),
    C("done_date", "完成日期", "date", width=11),
    C("promised_date", "承诺反馈日期", "date", width=12),
    C("next_follow_up", "下次跟进日期", "date", width=12),
    C("notes", "备注", width=20),
    C("task_id", "任务编号", width=22),
)
TYPED_LOOP_KEYS = ("done", "outcome", "done_date", "promised_date", "next_follow_up", "notes")

CLIENTS = Sheet("clients", "客户", "Clients", (
    C("client_id", "客户编号", required=True, width=11),
    C("name", "姓名", required=True, width=10),
    C("gender", "性别", "enum", choices=GENDERS, width=6),
    C("phone", "手机", "phone", width=14),
    C("agent", "负责顾问", required=True, width=10),
    C("source", "来源", "enum", choices=SOURCES, width=9),
    C("stage", "阶段", "enum", choices=STAGES, width=8),
    C("first_contact", "首次接触日期", "date", width=12),
    C("birthday", "生日", "monthday", width=12),
    C("birthday_calendar", "生日历法", "enum", choices=CALENDARS, width=8),
    C("industry", "行业", width=10),
    C("company", "单位", width=16),
    C("title", "职务", width=10),
    C("income", "年收入(万元)", "float", width=11, en="annual_income"),
    C("deal_value", "成交金额(万元)", "float", width=13),
    C("deal_count", "成交次数", "int", width=8),
    C("last_deal_date", "最近成交日期", "date", width=12),
    C("satisfaction", "满意度", "int", choices=("1", "2", "3", "4", "5"), width=7),
    C("influence", "影响力", "enum", choices=INFLUENCE, width=7),
    C("referral_willingness", "转介绍意愿", "enum", choices=WILLINGNESS, width=10),
    C("class_override", "手动类别", "enum", choices=CLASSES, width=8),
    C("do_not_contact", "勿扰", "enum", choices=YES_NO, width=6),
    C("churn_reason", "流失原因", "enum", choices=CHURN_REASONS, width=8),
    C("churn_date", "流失日期", "date", width=12),
    C("notes", "备注", width=20),
), table="Clients")

KEY_DATES = Sheet("key_dates", "关怀日期", "KeyDates", (
    C("client_id", "客户编号", required=True, width=11),
    C("kind", "类型", "enum", required=True, choices=KEYDATE_KINDS, width=10),
    C("who", "对象", width=8),
    C("date", "日期", "monthday", required=True, width=12),
    C("calendar", "历法", "enum", choices=CALENDARS, width=7),
    C("notes", "备注", width=20),
), table="KeyDates")

CONTACTS = Sheet("contacts", "跟进记录", "Contacts", (
    C("client_id", "客户编号", required=True, width=11),
    C("date", "日期", "date", required=True, width=16),
    C("agent", "顾问", width=10),
    C("channel", "方式", "enum", required=True, choices=CHANNELS, width=7),
    C("purpose", "事由", "enum", choices=PURPOSES, width=10),
    C("outcome", "结果", width=14),
    C("promised_date", "承诺反馈日期", "date", width=12),
    C("next_follow_up", "下次跟进日期", "date", width=12),
    C("notes", "备注", width=24),
    # Optional, so a workbook made before them still loads: the key person a touch was
    # with (关键人 sheet), and the task number the daily loop writes.
    C("key_person", "关键人", width=10, hint="与单位客户的哪位关键人联系(姓名,同「关键人」表)"),
    C("task_id", "任务编号", width=22),
), table="Contacts")

REFERRALS = Sheet("referrals", "转介绍", "Referrals", (
    C("referral_id", "推荐编号", required=True, width=10),
    C("referrer_id", "推荐人编号", required=True, width=11),
    C("referred_name", "被推荐人姓名", required=True, width=12),
    C("referred_phone", "被推荐人电话", "phone", width=14),
    C("referred_company", "被推荐人单位", width=16),
    C("date", "推荐日期", "date", required=True, width=12),
    C("referred_client_id", "被推荐人客户编号", width=14),
    C("state", "状态", "enum", choices=REFERRAL_STATES, width=8),
    C("feedback_date", "已反馈推荐人日期", "date", width=14),
    C("reward", "奖励", width=10),
    C("notes", "备注", width=20),
), table="Referrals")

KEY_PERSONS = Sheet("key_persons", "关键人", "KeyPersons", (
    C("client_id", "客户编号", required=True, width=11),
    C("name", "姓名", required=True, width=10),
    C("title", "职务", width=14),
    C("role", "角色", "enum", choices=KP_ROLES, width=7,
      hint="A 最终批准者 · D 决策者 · E 评估者 · U 使用者"),
    C("attitude", "态度", "enum", choices=KP_ATTITUDES, width=9, hint="对我方的态度: 赞助者 > 支持者 > 中立者 > 不支持者 > 反对者"),
    C("influence", "影响力", "enum", choices=INFLUENCE, width=7),
    C("gender", "性别", "enum", choices=GENDERS, width=6),
    C("phone", "手机", "phone", width=14),
    C("birthday", "生日", "monthday", width=12),
    C("birthday_calendar", "生日历法", "enum", choices=CALENDARS, width=8),
    C("notes", "备注", width=24),
), table="KeyPersons", optional=True)

ACTIVITIES = Sheet("activities", "活动", "Activities", (
    C("activity_id", "活动编号", required=True, width=10),
    C("name", "名称", required=True, width=20),
    C("date", "日期", "date", required=True, width=12),
    C("classes", "对象类别", width=10, en="target_classes", hint="邀请哪些类别的客户,如 A,B;留空为全部有效客户"),
    C("place", "地点", width=18),
    C("notes", "备注", width=24),
), table="Activities", optional=True)

AGENTS = Sheet("agents", "顾问", "Agents", (
    C("agent", "顾问", required=True, width=10),
    C("login", "登录名", width=12),
    C("email", "邮箱", width=22),
    C("team", "团队", width=10),
    C("manager", "主管", width=10),
    C("active", "在职", "enum", choices=YES_NO, width=6),
), table="Agents")

# DOMAIN: Handover and public pool. Blank 客户编号 hands over all of 原顾问's clients.
HANDOVERS = Sheet("handovers", "交接", "Handovers", (
    C("date", "日期", "date", required=True, width=12),
    C("from_agent", "原顾问", required=True, width=10),
    C("to_agent", "新顾问", required=True, width=10),
    C("client_id", "客户编号", width=11),
    C("reason", "原因", width=24),
), table="Handovers", optional=True)

# DOMAIN: Holidays sheet. Rows override the holiday library (next year's official schedule,
# published each November, can be typed in before any library update).
HOLIDAYS = Sheet("holidays", "节假日", "Holidays", (
    C("date", "日期", "date", required=True, width=12),
    C("name", "名称", required=True, width=12),
    C("type", "类型", "enum", required=True, choices=HOLIDAY_DAY_TYPES, width=10),
    C("notes", "备注", width=30),
), table="Holidays", optional=True)

# Seed 004's 客户信息档案; every filled cell counts toward 资料完整度.
PROFILES = Sheet("profiles", "客户档案", "Profiles", (
    C("client_id", "客户编号", required=True, width=11),
    C("native_place", "籍贯", width=10),
    C("education", "教育", width=8),
    C("spouse", "配偶", width=10),
    C("children", "子女", width=10),
    C("hobbies", "爱好", width=14),
    C("diet", "饮食", width=10),
    C("smoking_drinking", "烟酒", width=8),
    C("health", "健康", width=10),
    C("car", "车辆", width=10),
    C("organisations", "社会组织", width=12),
    C("residence", "居住", width=14),
    C("investment", "投资意向", width=12),
    C("notes", "备注", width=20),
), table="Profiles", optional=True)

RULES_SHEET = Sheet("rules", "规则", "Rules", (
    C("key", "规则", required=True, width=22),
    C("value", "值", width=22),
    C("description", "说明", width=60),
), table="Rules")

TEMPLATES = Sheet("templates", "短信模板", "Templates", (
    C("name", "模板名", required=True, width=14),
    C("body", "内容", width=90),
), table="Templates")

MY_TASKS = Sheet("my_tasks", "我的任务", "MyTasks", (
    C("due", "日期", "date", width=11, en="date"),
    C("priority", "优先级", width=7),
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("client_class", "类别", width=6, en="class"),
    C("task", "任务", width=30),
    C("channel", "方式", width=7),
    C("reason", "原因", width=36),
    C("sms", "短信草稿", width=50),
    C("phone", "手机", "phone", width=14),
    *LOOP_COLUMNS,
), table="MyTasks", owned=True)

BOARD = Sheet("board", "客户看板", "Board", (
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("agent", "负责顾问", width=10),
    C("original_agent", "原顾问", width=10),
    C("client_class", "类别", width=6, en="class"),
    C("class_reason", "类别依据", width=22),
    C("status", "跟进状态", width=10),
    C("days_since", "距上次联系天数", "int", width=13),
    C("next_task", "下一步", width=30),
    C("next_date", "下一步日期", "date", width=12),
    C("completeness", "资料完整度", "float", width=10),
    C("referral_grade", "转介绍能力", width=9),
    C("referral_reason", "转介绍能力依据", width=26),
    C("key_persons", "关键人", width=16),
    C("single_thread", "单线联系", width=20),
), table="Board", owned=True)

# The weekly workbook's sheets that carry the loop columns (not Excel Tables: a title row,
# a header row, then day bands and task rows). `collect` reads them back.
WEEK_PLAN = Sheet("week_plan", "本周计划", "WeekPlan", (
    C("date", "日期", "date", width=11.5),
    C("priority", "优先级", width=7),
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("client_class", "类别", width=5, en="class"),
    C("task", "任务", width=26),
    C("channel", "方式", width=6),
    C("reason", "原因", width=40),
    C("phone", "手机", "phone", width=16),
    C("due", "原定日期", "date", width=11.5),
    *LOOP_COLUMNS,
), table="")

WEEK_SMS = Sheet("week_sms", "短信草稿", "WeekSMS", (
    C("date", "日期", "date", width=11.5),
    C("client_id", "客户编号", width=11),
    C("name", "姓名", width=9),
    C("phone", "手机", "phone", width=16),
    C("kind", "事由", width=12),
    C("sms", "短信草稿(复制发送)", width=70),
    *LOOP_COLUMNS,
), table="")

# Custom document properties tying a weekly workbook to its master (`xlcrm collect`).
MASTER_ID_PROPERTY = "xlcrm主工作簿编号"
WEEK_MASTER_PROPERTY = "xlcrm来源主工作簿"
WEEK_AGENT_PROPERTY = "xlcrm顾问"

SHEETS: tuple[Sheet, ...] = (
    CLIENTS, KEY_DATES, CONTACTS, REFERRALS, KEY_PERSONS, ACTIVITIES, AGENTS, HANDOVERS, PROFILES, HOLIDAYS,
    RULES_SHEET, TEMPLATES, MY_TASKS, BOARD,
)
USER_SHEETS = tuple(s for s in SHEETS if not s.owned)
SHEET_BY_KEY = {s.key: s for s in SHEETS}

# The agent selector of 我的任务 sits to the right of its table, in the header row,
# so the table keeps its header at the top and the ribbon knows whose tasks to show.
SELECTOR_LABEL = "当前顾问"
SELECTOR_LABEL_EN = "Agent"
SELECTOR_COL = len(MY_TASKS.columns) + 1  # 0-based column of the label (M)


def find_sheet(names: list[str], sheet: Sheet) -> str | None:
    """The workbook's sheet name for `sheet`, matching Chinese or English names."""
    wanted = {sheet.zh, sheet.en.lower(), sheet.key}
    for name in names:
        if name.strip() in wanted or name.strip().lower() in wanted:
            return name
    return None


def header_map(sheet: Sheet) -> dict[str, str]:
    """Chinese header, English header and key, each mapped to the column key."""
    out: dict[str, str] = {}
    for col in sheet.columns:
        for alias in (col.zh, col.english, col.key, col.english.lower()):
            out[alias] = col.key
    return out


def column_letter_of(sheet: Sheet, key: str) -> str:
    """The Excel letter of a column in the layout the template writes."""
    return get_column_letter(sheet.keys.index(key) + 1)


# ---------------------------------------------------------------------------
# Import: the headers other people's spreadsheets use, mapped to our columns.
#
# `xlcrm import` reads an office's own client list or contact log. Its headers are
# matched after `normalise_header` (lower case, no spaces, no `*`/`:`/brackets), first
# against each sheet's own Chinese/English headers, then against these synonyms.
# A header may only appear once per target sheet.

IMPORT_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "clients": {
        "client_id": ("客户编号", "客户编码", "客户代码", "客户id", "客户号", "编号", "门店编号", "店铺编号",
                      "会员编号", "会员号", "clientid", "customerid", "clientno", "customerno", "accountid", "id"),
        "name": ("姓名", "客户姓名", "客户名", "客户名字", "名字", "客户", "联系人", "联系人姓名", "客户名称",
                 "业主姓名", "会员姓名", "name", "client", "customer", "customername", "clientname", "fullname",
                 "contact", "contactname", "contactperson"),
        "gender": ("性别", "gender", "sex"),
        "phone": ("手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "客户手机号", "客户手机",
                  "客户电话", "客户手机号码", "移动电话", "手机/电话", "phone", "mobile", "phonenumber", "mobilephone",
                  "mobilenumber", "cell", "cellphone", "tel", "telephone"),
        "agent": ("负责顾问", "顾问", "置业顾问", "业务员", "销售", "销售员", "销售顾问", "客户经理", "负责人", "跟进人",
                  "归属人", "所属顾问", "经办人", "员工姓名", "销售姓名", "agent", "owner", "salesrep", "salesperson",
                  "accountmanager", "assignedto", "accountowner"),
        "source": ("来源", "客户来源", "来源渠道", "source", "leadsource"),
        "stage": ("阶段", "客户阶段", "跟进阶段", "stage"),
        "first_contact": ("首次接触日期", "首次接触", "登记日期", "建档日期", "录入日期", "创建日期", "创建时间",
                          "首次来访日期", "来访日期", "firstcontact", "created", "createdat", "dateadded"),
        "birthday": ("生日", "出生日期", "出生年月", "出生年月日", "birthday", "dateofbirth", "dob", "birthdate"),
        "birthday_calendar": ("生日历法", "历法", "birthdaycalendar"),
        "industry": ("行业", "所属行业", "industry"),
        "company": ("单位", "公司", "公司名称", "工作单位", "单位名称", "店名", "店铺名称", "门店名称", "商户名称",
                    "名称", "企业名称", "company", "companyname", "organization", "organisation", "employer",
                    "accountname", "shop", "store"),
        "title": ("职务", "职位", "头衔", "title", "jobtitle", "position"),
        "income": ("年收入(万元)", "年收入", "income", "annualincome"),
        "deal_value": ("成交金额(万元)", "成交金额", "成交额", "dealvalue"),
        "deal_count": ("成交次数", "dealcount"),
        "last_deal_date": ("最近成交日期", "成交日期", "最后成交日期", "lastdealdate"),
        "satisfaction": ("满意度", "satisfaction"),
        "influence": ("影响力", "influence"),
        "referral_willingness": ("转介绍意愿", "referralwillingness"),
        "class_override": ("手动类别", "客户类别", "客户等级", "类别", "等级", "classoverride"),
        "do_not_contact": ("勿扰", "donotcontact", "dnc"),
        "churn_reason": ("流失原因", "churnreason"),
        "notes": ("备注", "客户备注", "说明", "留言", "备注信息", "notes", "note", "remark", "remarks", "comment",
                  "comments", "memo"),
    },
    "contacts": {
        "client_id": ("客户编号", "客户编码", "客户id", "clientid", "customerid"),
        "date": ("日期", "跟进日期", "联系日期", "跟进时间", "联系时间", "回访日期", "回访时间", "拜访日期", "时间",
                 "date", "timestamp", "datetime", "contactdate"),
        "agent": ("顾问", "跟进人", "回访人", "业务员", "置业顾问", "负责顾问", "销售", "agent", "owner", "by"),
        "channel": ("方式", "跟进方式", "联系途径", "回访方式", "channel", "method"),
        "purpose": ("事由", "跟进事由", "目的", "回访目的", "purpose"),
        "outcome": ("结果", "跟进结果", "回访结果", "outcome", "result"),
        "promised_date": ("承诺反馈日期", "承诺日期", "promiseddate"),
        "next_follow_up": ("下次跟进日期", "下次跟进", "下次联系日期", "下次回访日期", "nextfollowup", "nextcontact"),
        "notes": ("备注", "跟进内容", "内容", "跟进记录", "回访内容", "沟通内容", "note", "notes", "remark", "comment",
                  "details"),
    },
}

# A contact log names its client by id, name or phone; these help find the client.
IMPORT_LOOKUP_FIELDS: dict[str, tuple[str, ...]] = {
    "name": IMPORT_SYNONYMS["clients"]["name"],
    "phone": IMPORT_SYNONYMS["clients"]["phone"],
}

# Columns that only say where a row sits (序号, #): never mapped, never copied to 备注.
IMPORT_ROW_NUMBERS = ("#", "序号", "行号", "no", "no.", "n", "编号#", "sn")

# A 姓名 column next to these is an employee's name (a sales rep), not the client's.
IMPORT_EMPLOYEE_HINTS = ("岗位编号", "员工职位", "员工编号", "工号", "上级主管", "上级岗位编号", "员工id", "employeeid")


def normalise_header(text: object) -> str:
    """A header as matched by the importer: `客户 姓名*` and `Client Name:` -> `客户姓名`, `clientname`."""
    if not isinstance(text, str):
        return ""
    out = text.strip().lower().replace("（", "(").replace("）", ")")
    for ch in " \t\r\n\u3000*:：_-.":
        out = out.replace(ch, "")
    return out


def import_aliases(target: str) -> dict[str, str]:
    """Normalised header -> column key for a target sheet ('clients' or 'contacts')."""
    sheet = SHEET_BY_KEY[target]
    out: dict[str, str] = {}
    for col in sheet.columns:
        for alias in (col.zh, col.english, col.key):
            out.setdefault(normalise_header(alias), col.key)
    for key, names in IMPORT_SYNONYMS[target].items():
        for alias in names:
            out.setdefault(normalise_header(alias), key)
    return out


# Layout of wrapped text: the columns that wrap (template and refresh alike) and how many
# lines a text takes, so rows get a height that shows it all (Excel does not grow a row
# for wrapped text it did not type itself).
WRAPPED_KEYS = frozenset({"sms", "body", "reason", "class_reason", "next_task", "task"})
LINE_HEIGHT = 15
CJK_WIDTH = 1.8  # a Chinese character in column-width units (Excel ~2, LibreOffice ~1.5)
MAX_LINES = 12  # a very long draft scrolls in its cell rather than making a page-high row


class _CharWidths(dict):
    """Width of a character (CJK_WIDTH for East Asian wide/full-width, else 1), looked up once."""

    def __missing__(self, ch: str) -> float:
        w = self[ch] = CJK_WIDTH if unicodedata.east_asian_width(ch) in "WF" else 1
        return w


_CHAR_WIDTH = _CharWidths()


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes in a wrapped column `width` characters wide (CJK counts 2)."""
    total = 0
    usable = max(width - 1.5, 1)
    for part in text.split("\n"):
        if 2 * len(part) <= usable:  # one line even if every character is wide
            total += 1
            continue
        w = sum(map(_CHAR_WIDTH.__getitem__, part))
        total += max(1, math.ceil(w / usable))
    return total


def row_heights(sheet: Sheet, rows: Sequence[Sequence[Any]]) -> list[float | None]:
    """Row heights (points) for rows of `sheet`: None where one line is enough."""
    lines = [1] * len(rows)
    for j, col in enumerate(sheet.columns):
        if col.key not in WRAPPED_KEYS:
            continue
        short = max(col.width - 1.5, 1) / 2  # this many characters fit one line even if all are wide
        for i, row in enumerate(rows):  # a column at a time: most cells are short, one test each
            v = row[j] if j < len(row) else None
            if v.__class__ is str and (len(v) > short or "\n" in v):
                lines[i] = max(lines[i], wrapped_lines(v, col.width))
    return [LINE_HEIGHT * min(n, MAX_LINES) if n > 1 else None for n in lines]
