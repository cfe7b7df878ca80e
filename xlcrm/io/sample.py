"""A realistic, deterministic sample workbook: `xlcrm sample PATH --clients N`.

Same seed, same workbook. The mix is chosen so every rule of DOMAIN.md has work to
do: deal clients of every size (so all four classes appear), solar and lunar
birthdays, family key dates, referral chains (some closed, some awaiting feedback),
complaints, promises, recent first calls and visits, sleeping clients, 勿扰 and 流失
clients, and about ten contacts per client over the last year. A few cells are typed
the way staff type them (`1985/3/5`, `3月15日`, `+86 138…`) so the loader is exercised.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from ..core import vocab
from . import schema
from .template import write_workbook

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强海燕晓东红梅"
         "玉兰文斌宇轩子涵浩然欣怡思远梓萱一诺佳怡俊杰鑫宏博嘉豪雨桐雅婷晨曦天佑立新海峰")
COMPANIES = ("华远置业", "中建三局", "招商银行", "市第一医院", "实验中学", "江苏移动", "恒瑞医药",
             "苏宁电器", "长江证券", "宏达物流", "新华书店", "市税务局", "东方航空", "绿地集团", "个体经营")
INDUSTRIES = ("金融", "教育", "医疗", "制造", "政府", "互联网", "物流", "零售", "建筑", "自由职业")
TITLES = ("经理", "主任", "教师", "医生", "工程师", "总监", "职员", "老板", "会计", "处长")
RELATIVES = ("妻子", "丈夫", "儿子", "女儿", "父亲", "母亲")
REACHED = ("已沟通", "有意向", "已确认", "满意", "需再跟进")
NOT_REACHED = vocab.NOT_REACHED[:2]


# A million contact rows make the generator's own overhead count: the helpers below
# draw exactly what random.Random's randint/choice/choices draw (the same calls to
# `_randbelow` and `random`, so the same workbook for the same seed) without their
# argument checks and extra frames, and `row` looks the column order up once.
_KEYS: dict[str, tuple[str, ...]] = {}


def row(sheet: schema.Sheet, **values) -> tuple:
    """A row in the sheet's column order from values by column key."""
    keys = _KEYS.get(sheet.key)
    if keys is None:
        keys = _KEYS[sheet.key] = tuple(sheet.keys)
    return tuple(map(values.get, keys))


def _randint(rng: random.Random) -> Callable[[int, int], int]:
    below = rng._randbelow
    return lambda a, b: a + below(b - a + 1)


def _choice(rng: random.Random) -> Callable:
    below = rng._randbelow
    return lambda seq: seq[below(len(seq))]


def _weighted(rng: random.Random, table: dict[str, float]) -> Callable[[], str]:
    keys, cum = list(table), list(accumulate(table.values()))
    total, hi, draw = cum[-1] + 0.0, len(cum) - 1, rng.random
    return lambda: keys[bisect(cum, draw() * total, 0, hi)]  # random.choices(keys, weights)[0]


def _name(rng: random.Random) -> str:
    choice = _choice(rng)
    surname = choice(COMPOUND) if rng.random() < 0.02 else choice(SURNAMES)
    given_len = 2 if rng.random() < 0.7 else 1
    return surname + "".join(choice(GIVEN) for _ in range(given_len))


def _phone(rng: random.Random) -> str:
    below = rng._randbelow
    number = "1" + "35789"[below(5)] + "".join(["0123456789"[below(10)] for _ in range(9)])
    roll = rng.random()
    if roll < 0.05:
        return "+86 " + number
    if roll < 0.08:
        return "0" + ("21", "25", "10", "512")[below(4)] + "-" + "".join(["0123456789"[below(10)] for _ in range(8)])
    return number


def generate(clients: int = 300, agents: int = 5, seed: int = 1, today: date | None = None
             ) -> dict[str, list[tuple]]:
    """Rows by sheet key, in schema column order."""
    rng = random.Random(seed)
    randint, choice = _randint(rng), _choice(rng)
    today = today or date(2026, 11, 23)
    now = datetime(today.year, today.month, today.day)
    stage = _weighted(rng, {"潜在": 25, "意向": 18, "准客户": 10, "目标": 8, "成交": 34, "流失": 5})
    source = _weighted(rng, {"来电": 25, "来访": 25, "转介绍": 15, "活动": 10, "营销": 8, "地毯式": 6,
                             "资料查阅": 4, "委托助手": 3, "其他": 4})
    channel = _weighted(rng, {"电话": 55, "短信": 12, "微信": 15, "拜访": 8, "来访": 5, "活动": 4, "邮件": 1})

    agent_rows = []
    agent_names: list[str] = []
    seen: set[str] = set()
    while len(agent_names) < agents:
        name = _name(rng)
        if name not in seen:
            seen.add(name)
            agent_names.append(name)
    for i, name in enumerate(agent_names):
        active = vocab.NO if agents > 4 and i == agents - 1 else vocab.YES
        agent_rows.append(row(schema.AGENTS, agent=name, login=f"gw{i + 1:03d}", email=f"gw{i + 1:03d}@example.com",
                              team=f"{i // 10 + 1}组", manager=agent_names[(i // 10) * 10], active=active))
    working = [name for name, r in zip(agent_names, agent_rows, strict=True)
               if r[schema.AGENTS.keys.index("active")] == vocab.YES]

    client_rows, contact_rows, key_rows, ref_rows = [], [], [], []
    deal_clients_by_agent: dict[str, list[str]] = {a: [] for a in working}
    ref_no = 0
    corporate = clients >= 10  # the last three clients are corporate accounts with 关键人
    for n in range(1, clients + 1 - 3 * corporate):
        cid = f"K{n:06d}"
        agent = working[n % len(working)]
        st = stage()
        src = source()
        name = _name(rng)
        roll = rng.random()
        gender = "男" if roll < 0.48 else ("女" if roll < 0.95 else None)
        first = today - timedelta(days=randint(1, 900))
        if rng.random() < 0.03:
            first = today - timedelta(days=randint(0, 3))  # brand-new client
        bday: object = None
        cal = None
        if rng.random() < 0.85:
            b = date(randint(1955, 2000), randint(1, 12), randint(1, 28))
            if rng.random() < 0.02:
                b = date(1988, 2, 29)
            cal = "农历" if rng.random() < 0.2 else "公历"
            form = rng.random()
            bday = (b if form < 0.9 else f"{b.year}/{b.month}/{b.day}" if form < 0.95
                    else f"{b.month}月{b.day}日")
        deal_value = deal_count = last_deal = None
        if st == "成交":
            deal_value = round(rng.lognormvariate(5, 0.8), 1)
            deal_count = 1 if rng.random() < 0.8 else randint(2, 4)
            last_deal = max(first, today - timedelta(days=randint(0, 700)))
            if rng.random() < 0.04:
                last_deal = today - timedelta(days=choice((0, 1, 29, 30, 31)))
        dnc = "是" if rng.random() < 0.03 else None
        churn = choice(vocab.CHURN_REASONS) if st == "流失" else None
        override = choice("ABCD") if rng.random() < 0.02 else None
        client_rows.append(row(
            schema.CLIENTS, client_id=cid, name=name, gender=gender, phone=_phone(rng), agent=agent, source=src,
            stage=st, first_contact=first, birthday=bday, birthday_calendar=cal,
            industry=choice(INDUSTRIES), company=choice(COMPANIES), title=choice(TITLES),
            income=round(rng.uniform(8, 200), 0), deal_value=deal_value, deal_count=deal_count,
            last_deal_date=last_deal, satisfaction=randint(1, 5) if st == vocab.STAGE_DEAL else None,
            influence=choice(vocab.INFLUENCE), referral_willingness=choice(vocab.WILLINGNESS),
            class_override=override, do_not_contact=dnc, churn_reason=churn,
            notes="=老客户,勿群发" if rng.random() < 0.002 else None,
        ))
        # Referral chains: a client who came by referral names an earlier deal client.
        pool = deal_clients_by_agent[agent]
        if src == "转介绍" and pool:
            referrer = choice(pool)
            ref_no += 1
            state = {vocab.STAGE_DEAL: vocab.REF_CLOSED, vocab.STAGE_CHURNED: vocab.REF_INVALID}.get(
                st, choice((vocab.REF_CONTACTED, vocab.REF_VISITED)))
            feedback = first + timedelta(days=randint(1, 5)) if rng.random() < 0.6 else None
            ref_rows.append(row(schema.REFERRALS, referral_id=f"T{ref_no:05d}", referrer_id=referrer,
                                referred_name=name, referred_phone=_phone(rng), referred_company=choice(COMPANIES),
                                date=first - timedelta(days=randint(0, 5)), referred_client_id=cid, state=state,
                                feedback_date=feedback,
                                reward="购物卡" if state == vocab.REF_CLOSED and rng.random() < 0.5 else None))
        if st == vocab.STAGE_DEAL:
            pool.append(cid)
            if rng.random() < 0.06:  # a fresh referral nobody has called yet
                ref_no += 1
                ref_rows.append(row(schema.REFERRALS, referral_id=f"T{ref_no:05d}", referrer_id=cid,
                                    referred_name=_name(rng), referred_phone=_phone(rng),
                                    referred_company=choice(COMPANIES),
                                    date=today - timedelta(days=randint(0, 10)), state=vocab.REF_NEW))
        # Family key dates
        if rng.random() < 0.2:
            for _ in range(randint(1, 2)):
                kind = choice(("家人生日", "家人生日", "纪念日", "乔迁", "升学", "公司庆典"))
                d = date(randint(1960, 2020), randint(1, 12), randint(1, 28))
                key_rows.append(row(schema.KEY_DATES, client_id=cid, kind=kind,
                                    who=choice(RELATIVES) if kind == "家人生日" else None, date=d,
                                    calendar=vocab.CALENDARS[1] if rng.random() < 0.15 else vocab.CALENDARS[0]))
        # Contacts: about ten over the last year; some clients have gone to sleep.
        sleeping = rng.random() < 0.12
        count = 0 if rng.random() < 0.03 else randint(3, 17)
        span_end = 91 if sleeping else 0
        start = max((today - first).days, span_end + 1)
        days = sorted((randint(span_end, min(start, 365)) for _ in range(count)), reverse=True)
        if src in ("来电", "来访") and (today - first).days <= 365:
            days = [(today - first).days] + days
        for k, back in enumerate(days):
            when = now - timedelta(days=back) + timedelta(hours=randint(9, 19), minutes=randint(0, 59))
            ch = channel()
            purpose = "日常维护"
            if k == 0 and src in ("来电", "来访") and back == (today - first).days:
                ch, purpose = src, "首次" + src
            elif rng.random() < 0.015:
                purpose = "投诉"
            elif ch == "活动":
                purpose = "其他"
            elif rng.random() < 0.05:
                purpose = choice(("节日", "生日", "满意度回访", "转介绍"))
            outcome = choice(NOT_REACHED) if ch == "电话" and rng.random() < 0.15 else choice(REACHED)
            promised = (when + timedelta(days=randint(1, 6))).date() if rng.random() < 0.04 else None
            follow = (when + timedelta(days=randint(3, 14))).date() if st in ("意向", "准客户", "目标") and rng.random() < 0.3 else None
            contact_rows.append(row(schema.CONTACTS, client_id=cid, date=when, agent=agent, channel=ch,
                                    purpose=purpose, outcome=outcome, promised_date=promised, next_follow_up=follow))
        if last_deal is not None and (today - last_deal).days <= 365:
            contact_rows.append(row(schema.CONTACTS, client_id=cid,
                                    date=datetime(last_deal.year, last_deal.month, last_deal.day, 15), agent=agent,
                                    channel=vocab.WALK_IN, purpose=vocab.DEAL, outcome="签约"))
    kp_rows, activity_rows = corporate_accounts(client_rows, contact_rows, working, today) if corporate else ([], [])
    at = schema.CONTACTS.keys.index("date")
    contact_rows.sort(key=lambda r: r[at])
    data = {"agents": agent_rows, "clients": client_rows, "contacts": contact_rows,
            "key_dates": key_rows, "referrals": ref_rows, "key_persons": kp_rows, "activities": activity_rows}
    # A second generator, so adding these sheets leaves the rows above as they were.
    extra = random.Random(seed + 1)
    _churn_dates(client_rows, today, extra)
    data["profiles"] = _profiles(client_rows, extra)
    data["handovers"] = _turnover(data, agent_names, today, extra)
    return data


def _set(sheet: schema.Sheet, values: tuple, **changes) -> tuple:
    out = list(values)
    keys = _KEYS.get(sheet.key) or _KEYS.setdefault(sheet.key, tuple(sheet.keys))
    for key, value in changes.items():
        out[keys.index(key)] = value
    return tuple(out)


def _turnover(data: dict[str, list[tuple]], agent_names: list[str], today: date,
              rng: random.Random) -> list[tuple]:
    """Seed 004's turnover: one agent left and handed over, one left without a handover.

    With at least five agents, the second-to-last leaves 30 days ago and hands every
    client to the first; the last (already 在职=否) keeps every 15th client with no
    handover (validate warns, 团队汇总 lists them as 待交接); and one client asked for
    another agent ten days ago.
    """
    if len(agent_names) < 5:
        return []
    left, gone, heir = agent_names[-2], agent_names[-1], agent_names[0]
    active_at = schema.AGENTS.keys.index("agent")
    data["agents"] = [_set(schema.AGENTS, r, active=vocab.NO) if r[active_at] == left else r
                      for r in data["agents"]]
    cid_at, agent_at = schema.CLIENTS.keys.index("client_id"), schema.CLIENTS.keys.index("agent")
    moved = {r[cid_at] for i, r in enumerate(data["clients"], start=1) if i % 15 == 0}
    data["clients"] = [_set(schema.CLIENTS, r, agent=gone) if r[cid_at] in moved else r for r in data["clients"]]
    c_at = schema.CONTACTS.keys.index("client_id")
    data["contacts"] = [_set(schema.CONTACTS, r, agent=gone) if r[c_at] in moved else r for r in data["contacts"]]
    rows = [row(schema.HANDOVERS, date=today - timedelta(days=30), from_agent=left, to_agent=heir,
                reason="离职,全部客户交接")]
    own = [r[cid_at] for r in data["clients"] if r[agent_at] == agent_names[1]]
    if own:
        rows.append(row(schema.HANDOVERS, date=today - timedelta(days=10), from_agent=agent_names[1],
                        to_agent=agent_names[2], client_id=rng.choice(own), reason="客户要求更换顾问"))
    return rows


PROFILE_VALUES = {
    "native_place": ("江苏南京", "浙江杭州", "安徽合肥", "山东济南", "本地"),
    "education": ("大专", "本科", "硕士", "高中"),
    "spouse": ("已婚", "未婚"),
    "children": ("一子", "一女", "一子一女", "无"),
    "hobbies": ("高尔夫", "钓鱼", "书法", "旅游", "摄影", "茶艺"),
    "diet": ("清淡", "偏辣", "素食"),
    "smoking_drinking": ("不吸烟", "喜红酒", "偶尔喝酒"),
    "health": ("良好", "高血压", "腰椎不好"),
    "car": ("奔驰", "大众", "比亚迪", "无车"),
    "organisations": ("商会会员", "校友会", "车友会"),
    "residence": ("市区三居室", "别墅", "单位宿舍"),
    "investment": ("改善型住房", "商铺", "理财为主"),
}


def _profiles(client_rows: list[tuple], rng: random.Random) -> list[tuple]:
    """客户档案 rows for about a third of the clients, each partly filled."""
    cid_at = schema.CLIENTS.keys.index("client_id")
    out = []
    for r in client_rows:
        if rng.random() < 0.35:
            values = {k: rng.choice(v) for k, v in PROFILE_VALUES.items() if rng.random() < 0.6}
            out.append(row(schema.PROFILES, client_id=r[cid_at], **values))
    return out


def _churn_dates(client_rows: list[tuple], today: date, rng: random.Random) -> None:
    """流失日期 for churned clients, most in the last twelve months, a few left blank."""
    stage_at = schema.CLIENTS.keys.index("stage")
    for i, r in enumerate(client_rows):
        if r[stage_at] == vocab.STAGE_CHURNED and rng.random() < 0.9:
            client_rows[i] = _set(schema.CLIENTS, r, churn_date=today - timedelta(days=rng.randint(0, 420)))


# Seed 002's worked example: the key persons and contacts of a large insurer, with
# their formal buying role (A/D/E/U) and attitude to us.
INSURER = "江淮财产保险宿城支公司"
INSURER_PEOPLE = (
    ("华山", "男", "总经理", "A", "支持者", "高"), ("王笋", "男", "副总经理", "D", "支持者", "高"),
    ("管学军", "男", "办公室主任", "D", "中立者", "中"), ("绕群", "女", "科技部总经理", "D", "反对者", "高"),
    ("秦建武", "男", "市场部总经理", "E", "支持者", "中"), ("贺志强", "男", "车险部总经理", "E", "中立者", "中"),
    ("杨海林", "男", "客户部总经理", "E", "中立者", "中"), ("谭力", "男", "科技部主管", "U", "中立者", "低"),
    ("郑勇", "男", "办公室主管", "U", "中立者", "低"), ("海燕", "女", "客户部主管", "U", "中立者", "低"),
    ("徐亚西", "男", "车险部主管", "U", "不支持者", "低"), ("密义交", "女", "办公室联系人", "U", "反对者", "低"),
)


def corporate_accounts(client_rows: list[tuple], contact_rows: list[tuple], working: list[str], today: date
                       ) -> tuple[list[tuple], list[tuple]]:
    """Three corporate accounts (appended to 客户) with their 关键人, and the 活动 calendar.

    No random draws: the rest of the sample stays what the seed made it.
    """
    agent = working[0]
    start = len(client_rows) + 1
    ids = [f"K{start + i:06d}" for i in range(3)]
    accounts = ((ids[0], INSURER, "金融", 680.0, "A"), (ids[1], "宏达物流集团", "物流", 120.0, None),
                (ids[2], "市实验中学", "教育", 45.0, None))
    for cid, name, industry, value, override in accounts:
        client_rows.append(row(schema.CLIENTS, client_id=cid, name=name, phone="0527-84201234", agent=agent,
                               source="营销", stage=vocab.STAGE_DEAL, first_contact=today - timedelta(days=400),
                               industry=industry, company=name, deal_value=value, deal_count=1,
                               last_deal_date=today - timedelta(days=200), satisfaction=4, influence="高",
                               referral_willingness="一般", class_override=override, notes="集团客户"))
    kp = []
    for i, (name, gender, title, role, attitude, influence) in enumerate(INSURER_PEOPLE):
        soon = today + timedelta(days=3 + i)  # a few birthdays fall in the sample's first weeks
        birthday = date(1968 + i, soon.month, soon.day) if i % 3 == 2 else None
        kp.append(row(schema.KEY_PERSONS, client_id=ids[0], name=name, title=title, role=role, attitude=attitude,
                      influence=influence, gender=gender, phone=f"1395270{i:04d}", birthday=birthday,
                      notes="办公室联系人,多次拒绝推广" if name == "密义交" else None))
    # The supporters were seen lately; 管学军 (D, neutral) not for six weeks; 绕群 (D, against) never.
    for name, back, channel in (("华山", 12, vocab.VISIT), ("王笋", 5, vocab.PHONE), ("管学军", 42, vocab.PHONE),
                                ("秦建武", 20, vocab.PHONE)):
        when = datetime(today.year, today.month, today.day, 10) - timedelta(days=back)
        contact_rows.append(row(schema.CONTACTS, client_id=ids[0], date=when, agent=agent, channel=channel,
                                purpose=vocab.KEY_PERSON_TOUCH, outcome="已沟通", key_person=name))
    kp.append(row(schema.KEY_PERSONS, client_id=ids[1], name="周建国", title="行政部经理", role="U",
                  attitude="支持者", influence="中", gender="男", phone="13852700001", notes="唯一联系人"))
    for name, title, role, attitude in (("李秀英", "教务主任", "E", "支持者"), ("陈磊", "总务处长", "E", "中立者"),
                                        ("赵静", "信息中心老师", "U", "赞助者")):
        kp.append(row(schema.KEY_PERSONS, client_id=ids[2], name=name, title=title, role=role, attitude=attitude))
    activities = [
        row(schema.ACTIVITIES, activity_id="HD001", name="中秋业主答谢会", date=date(today.year, 9, 20),
            classes="A,B", place="项目会所", notes="已举办"),
        row(schema.ACTIVITIES, activity_id="HD002", name="年末客户答谢晚宴", date=today + timedelta(days=5),
            classes="A,B", place="凯瑞大酒店三楼"),
        row(schema.ACTIVITIES, activity_id="HD003", name="亲子手工DIY", date=today + timedelta(days=12),
            classes="C", place="项目会所"),
        row(schema.ACTIVITIES, activity_id="HD004", name="新春联谊会", date=today + timedelta(days=68),
            classes=None, place="项目会所", notes="对象类别留空=全部有效客户"),
    ]
    return kp, activities


def write_sample(path: str | Path, clients: int = 300, agents: int = 5, seed: int = 1,
                 today: date | None = None, lang: str = "zh") -> dict[str, int]:
    rows = generate(clients, agents, seed, today)
    write_workbook(path, lang, rows, bulk=True)
    return {k: len(v) for k, v in rows.items()}
