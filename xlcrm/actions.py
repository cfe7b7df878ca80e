"""Next actions (下一步): the ten task families of DOMAIN.md, in priority order.

Each family is a function `(ctx) -> frame of tasks`; `next_actions` runs them in
DOMAIN's order, drops duplicates (the same kind for the same client and day) and the
cadence call on a day the client already gets another call or visit, removes everything for 勿扰/流失 clients except promises, and sorts
overdue first. Frames rather than one object per task because an office of 100,000
clients gets a few hundred thousand tasks a week (see README: benchmarks).

A task row has: due (the rule's date; earlier than today when overdue), date (when
to do it: an overdue task is carried to today), rank (1-10, the family), priority,
kind (also the 短信模板 name), client_id, name, phone, agent, client_class, task,
channel, reason (naming the rule), sms.

Everything here is pure: `today` is a parameter and nothing reads a file or clock.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .calendar import WorkCalendar, calendar_for, lunar_label, occurrences
from .classify import classify, is_deal_client
from .frames import client_table, lookup, plain
from .loader import Book
from .messages import Messages, variables
from .rules import Rules
from .status import reached, status

TASK_COLUMNS = ["date", "due", "overdue_days", "rank", "priority", "kind", "client_id", "name",
                "phone", "agent", "client_class", "task", "channel", "reason", "sms"]
PRIORITY_BY_RANK = {1: "最高", 2: "高", 3: "高", 4: "高", 5: "中", 6: "中", 7: "中", 8: "低", 9: "低", 10: "低"}
SMS_CHANNELS = ("短信", "微信")
PROSPECT_STAGES = ("潜在", "意向", "准客户", "目标")
FOREIGN = "(其他顾问的客户)"
DAY = pd.Timedelta(days=1)


def analyse(book: Book, rules: Rules, today: date) -> pd.DataFrame:
    """Every client with its class and status: the frame the board and tasks start from."""
    clients = client_table(book.clients)
    classes = classify(book, rules, today)
    states = status(book, rules, classes, today)
    return clients.join(classes).join(states)


@dataclass
class Context:
    """What every task family reads. Dates are pandas Timestamps at midnight."""

    book: Book
    rules: Rules
    today: pd.Timestamp
    end: pd.Timestamp
    clients: pd.DataFrame  # analyse()
    contacts: pd.DataFrame
    cal: WorkCalendar
    last_reached_ts: pd.Series  # full timestamp of the last reached touch, by client

    @functools.cached_property
    def active(self) -> pd.DataFrame:
        return self.clients[self.clients["active"]]

    def working_day_on_or_before(self, when: pd.Series) -> pd.Series:
        """Each date moved back to a working day (visits are planned on working days)."""
        days = when.drop_duplicates()
        moved = {d: pd.Timestamp(self.cal.on_or_before(d.date())) for d in days}
        return when.map(moved)

    def in_window(self, when: pd.Series) -> pd.Series:
        return (when >= self.today) & (when <= self.end)


def _tasks(client_id, due, rank: int, kind, task, channel, reason, **extra) -> pd.DataFrame:
    """A task frame; Series arguments are taken by position, never aligned by index."""
    def plain(value):
        return value.to_numpy() if isinstance(value, pd.Series | pd.Index) else value

    frame = pd.DataFrame({"client_id": plain(client_id), "due": plain(due)})
    columns = {"rank": rank, "kind": kind, "task": task, "channel": channel, "reason": reason, **extra}
    for key, value in columns.items():
        frame[key] = plain(value)
    return frame


def _md(ts: pd.Series) -> pd.Series:
    return ts.dt.month.astype(str) + "月" + ts.dt.day.astype(str) + "日"


# 1. Promises (快速响应, seed 001) ------------------------------------------------
def promises(ctx: Context) -> pd.DataFrame:
    c = ctx.contacts[ctx.contacts["promised_date"].notna()]
    later = lookup(c["client_id"], ctx.last_reached_ts)
    open_ = later.isna() | (later <= c["date"])
    c = c[open_ & (c["promised_date"] <= ctx.end)]
    due = c["promised_date"].dt.normalize()
    return _tasks(c["client_id"].to_numpy(), due.to_numpy(), 1, "承诺反馈", "兑现承诺:按时给客户反馈", "电话",
                  ("承诺于" + _md(due) + "反馈(" + _md(c["date"]) + "跟进时承诺,快速响应)").to_numpy(),
                  keep=True)


# 2. Immediate SMS (短信维护, seed 000) ------------------------------------------
IMMEDIATE = {
    "首次来电": ("来电路线", "发送路线/地址短信", "首次来电后{m}分钟内发路线短信", "first_call_sms_minutes"),
    "首次来访": ("来访感谢", "发送来访感谢短信", "首次来访后{m}分钟内发感谢短信", "first_visit_sms_minutes"),
    "成交": ("成交祝贺", "发送成交祝贺短信", "成交当天发祝贺短信", None),
}


def immediate_sms(ctx: Context) -> pd.DataFrame:
    since = ctx.today - pd.Timedelta(days=ctx.rules["missed_sms_days"])
    c = ctx.contacts
    events = c[c["purpose"].isin(list(IMMEDIATE)) & (c["date"] >= since)][["client_id", "date", "purpose"]]
    deals = ctx.clients["last_deal_date"]
    deals = deals[(deals >= since) & (deals <= ctx.end)]
    extra = pd.DataFrame({"client_id": deals.index, "date": deals.to_numpy(), "purpose": "成交"})
    events = pd.concat([events, extra], ignore_index=True)
    events["day"] = events["date"].dt.normalize()
    events = events.sort_values("date").drop_duplicates(["client_id", "day", "purpose"])
    sms = c[c["channel"].isin(SMS_CHANNELS)].groupby("client_id")["date"].max()
    sent_after = lookup(events["client_id"], sms)
    events = events[sent_after.isna() | (sent_after < events["day"])]
    kind = events["purpose"].map({k: v[0] for k, v in IMMEDIATE.items()})
    task = events["purpose"].map({k: v[1] for k, v in IMMEDIATE.items()})
    rules = ctx.rules
    why = events["purpose"].map({k: v[2].format(m=rules[v[3]] if v[3] else "") for k, v in IMMEDIATE.items()})
    missed = events["day"] < ctx.today
    why = why.where(~missed, "已错过: " + why + ",请尽快补发")
    return _tasks(events["client_id"].to_numpy(), events["day"].to_numpy(), 2, kind.to_numpy(),
                  task.to_numpy(), "短信", why.to_numpy())


# 3. Birthdays and key dates ------------------------------------------------------
def _yearly(frame: pd.DataFrame, month: str, day: str, lunar: pd.Series, start: pd.Timestamp,
            end: pd.Timestamp) -> pd.DataFrame:
    """Rows of `frame` repeated once per occurrence of their yearly date, as `when`.

    Occurrences are computed once per distinct (month, day, calendar), not per row.
    """
    frame = frame[frame[month].notna()].copy()
    frame["_lunar"] = lunar.reindex(frame.index).fillna(False).astype(bool).to_numpy()
    frame["_m"] = frame[month].astype(int)
    frame["_d"] = frame[day].astype(int)
    keys = frame[["_m", "_d", "_lunar"]].drop_duplicates()
    s, e = start.date(), end.date()
    triples = list(zip(keys["_m"], keys["_d"], keys["_lunar"], strict=True))
    keys["when"] = [occurrences(m, d, lun, s, e) for m, d, lun in triples]
    keys["label"] = [lunar_label(m, d) if lun else "" for m, d, lun in triples]
    keys = keys.explode("when").dropna(subset=["when"])
    if keys.empty:
        return frame.iloc[0:0].assign(when=pd.Series(dtype="datetime64[ns]"), label="")
    keys["when"] = pd.to_datetime(keys["when"])
    index_name = frame.index.name or "index"
    out = frame.reset_index().merge(keys, on=["_m", "_d", "_lunar"]).set_index(index_name)
    return out


def birthdays(ctx: Context) -> pd.DataFrame:
    invite = ctx.rules["birthday_invite_days"]
    cl = ctx.active
    lunar = cl["birthday_calendar"] == "农历"
    occ = _yearly(cl, "birthday_month", "birthday_day", lunar, ctx.today, ctx.end + pd.Timedelta(days=invite))
    if occ.empty:
        return pd.DataFrame()
    day = _md(occ["when"]) + np.where(occ["label"] != "", "(" + occ["label"] + ")", "")
    cls = occ["client_class"]
    ids = occ.index.to_numpy()
    parts = []
    a = cls == "A"
    visit = ctx.working_day_on_or_before(occ["when"][a])
    parts.append(_tasks(ids[a], visit.to_numpy(), 3, "生日祝福", "生日拜访(带鲜花/蛋糕)", "拜访",
                        ("A类客户生日" + day[a] + ",拜访安排在工作日").to_numpy()))
    parts.append(_tasks(ids[a], (occ["when"][a] - pd.Timedelta(days=invite)).to_numpy(), 3, "生日邀请",
                        "邀请客户参加生日庆祝", "电话",
                        (f"A类客户生日前{invite}天邀请(" + day[a] + "生日)").to_numpy()))
    b = cls == "B"
    parts.append(_tasks(ids[b], occ["when"][b].to_numpy(), 3, "生日祝福", "生日电话祝福+寄贺卡", "电话",
                        ("B类客户生日" + day[b]).to_numpy()))
    cd = cls.isin(["C", "D"])
    parts.append(_tasks(ids[cd], occ["when"][cd].to_numpy(), 3, "生日祝福", "发送生日祝福短信", "短信",
                        (cls[cd] + "类客户生日" + day[cd]).to_numpy()))
    return pd.concat(parts, ignore_index=True)


def key_dates(ctx: Context) -> pd.DataFrame:
    kd = ctx.book.key_dates
    kd = kd[kd["client_id"].isin(ctx.active.index)]
    if kd.empty:
        return pd.DataFrame()
    occ = _yearly(kd, "date_month", "date_day", kd["calendar"] == "农历", ctx.today, ctx.end)
    if occ.empty:
        return pd.DataFrame()
    cls = lookup(occ["client_id"], ctx.clients["client_class"])
    who = occ["who"].fillna("")
    what = who + occ["kind"].fillna("纪念日")
    call = cls.isin(["A", "B"])
    return _tasks(occ["client_id"].to_numpy(), occ["when"].to_numpy(), 3, "家人关怀",
                  np.where(call, "关怀电话:" + what, "发送关怀短信:" + what),
                  np.where(call, "电话", "短信"),
                  (cls + "类客户" + what + "(" + _md(occ["when"]) + ")").to_numpy(),
                  who=who.to_numpy(), type=occ["kind"].fillna("纪念日").to_numpy())


# 4. Holidays (节假日全覆盖) ----------------------------------------------------------
def holidays(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    n_days = ctx.rules["holiday_visit_workdays"]
    horizon = ctx.end + pd.Timedelta(days=60)
    parts = []
    order = cl.sort_values(["agent"]).groupby("agent", sort=False, dropna=False).cumcount()
    for name, first in ctx.cal.holiday_starts(ctx.rules["holidays"], ctx.today.date(), horizon.date()):
        eve = pd.Timestamp(first) - DAY
        a = cl[cl["client_class"] == "A"]
        visit_days = [pd.Timestamp(d) for d in ctx.cal.working_days_before(first, n_days)]
        slot = order.reindex(a.index) % len(visit_days)
        parts.append(_tasks(a.index.to_numpy(), [visit_days[i] for i in slot], 4, "节日祝福",
                            f"{name}节前带礼品拜访", "拜访", f"节假日全覆盖: A类{name}前{n_days}个工作日内拜访",
                            holiday=name))
        b = cl[cl["client_class"] == "B"]
        call_day = pd.Timestamp(ctx.cal.on_or_before(eve.date()))
        parts.append(_tasks(b.index.to_numpy(), call_day, 4, "节日祝福", f"{name}问候电话", "电话",
                            f"节假日全覆盖: B类{name}前电话问候", holiday=name))
        cd = cl[cl["client_class"].isin(["C", "D"])]
        parts.append(_tasks(cd.index.to_numpy(), eve, 4, "节日祝福", f"发送{name}祝福短信", "短信",
                            f"节假日全覆盖: C/D类{name}前一天短信", holiday=name))
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    return out[ctx.in_window(out["due"])]


# 5. Cadence calls (电话维护) --------------------------------------------------------
def cadence_calls(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    cl = cl[(cl["status"] != "沉睡") & cl["due"].notna()]
    anchor = cl["due"].where(cl["due"] > ctx.today, ctx.today)
    span = (ctx.end - anchor).dt.days
    count = np.where(span >= 0, span // cl["cadence"] + 1, 0).astype(int)
    rows = cl.loc[cl.index.repeat(count)]
    k = rows.groupby(level=0).cumcount().to_numpy()
    anchor_r = anchor.loc[rows.index].to_numpy()
    due = anchor_r + pd.to_timedelta(k * rows["cadence"].to_numpy(), unit="D").to_numpy()
    due = np.where(k == 0, rows["due"].to_numpy(), due)
    base = rows["client_class"] + "类每" + rows["cadence"].astype(str) + "天电话维护"
    overdue = (k == 0) & (rows["overdue_days"].to_numpy() > 0)
    why = np.where(overdue, base + ",已逾期" + rows["overdue_days"].astype(str) + "天",
                   np.where(k == 0, base + ",上次联系" + rows["days_since"].astype("Int64").astype(str) + "天前", base))
    return _tasks(rows.index.to_numpy(), due, 5, "维护电话", "维护电话", "电话", why)


# 6. Referrals (转介绍六步) -----------------------------------------------------------
def referrals(ctx: Context) -> pd.DataFrame:
    refs = ctx.book.referrals
    refs = refs[refs["state"].notna() & (refs["state"] != "无效") & refs["referrer_id"].isin(ctx.clients.index)]
    if refs.empty:
        return pd.DataFrame()
    rules = ctx.rules
    referrer = ctx.clients.loc[refs["referrer_id"]]
    agent = referrer["agent"].to_numpy()
    # A referred person registered with another agent is that agent's client: don't name them.
    referred_agent = lookup(refs["referred_client_id"], ctx.clients["agent"])
    foreign = (referred_agent.notna() & (referred_agent.to_numpy() != agent)).to_numpy()
    refs = refs.assign(referred_name=refs["referred_name"].where(~foreign, FOREIGN))
    parts = []
    new = (refs["state"] == "新推荐").to_numpy()
    r = refs[new]
    due = r["date"].dt.normalize() + pd.Timedelta(days=rules["referral_contact_days"])
    parts.append(_tasks(r["referred_client_id"].fillna(r["referral_id"]).to_numpy(), due.to_numpy(), 6,
                        "转介绍联系", "联系被推荐人" + r["referred_name"].fillna(""), "电话",
                        (f"转介绍: 新推荐{rules['referral_contact_days']}天内联系(" + _md(r["date"]) + "推荐,推荐人"
                         + referrer["name"][new].fillna("").to_numpy() + ")").to_numpy(),
                        name=r["referred_name"].to_numpy(), phone=r["referred_phone"].to_numpy(),
                        agent=agent[new], keep=True, client_class=""))
    # Feedback to the referrer within N days of contacting the referred person.
    fb = (refs["state"].isin(["已联系", "已到访", "已成交"]) & refs["feedback_date"].isna()).to_numpy()
    r = refs[fb]
    c = ctx.contacts
    first_touch = (c[reached(c)].groupby("client_id")["date"].min())
    contacted = lookup(r["referred_client_id"], first_touch)
    contacted = contacted.where(contacted >= r["date"], r["date"]).dt.normalize()
    due = contacted + pd.Timedelta(days=rules["referral_feedback_days"])
    parts.append(_tasks(r["referrer_id"].to_numpy(), due.to_numpy(), 6, "转介绍反馈", "向推荐人反馈进展", "电话",
                        (f"转介绍: 联系被推荐人后{rules['referral_feedback_days']}天内反馈推荐人(被推荐人"
                         + r["referred_name"].fillna("") + ")").to_numpy()))
    # Thank the referrer for a referred deal (done once a reward or a 转介绍 touch is logged).
    deal = ((refs["state"] == "已成交") & refs["reward"].isna()).to_numpy()
    r = refs[deal]
    deal_day = lookup(r["referred_client_id"], ctx.clients["last_deal_date"]).fillna(r["date"]).dt.normalize()
    thanks = c[(c["purpose"] == "转介绍") & reached(c)].groupby("client_id")["date"].max()
    thanked = lookup(r["referrer_id"], thanks)
    keep = (thanked.isna() | (thanked < deal_day)) & (deal_day >= ctx.today - pd.Timedelta(days=rules["catch_up_days"]))
    parts.append(_tasks(r["referrer_id"][keep].to_numpy(), deal_day[keep].to_numpy(), 6, "转介绍感谢",
                        "感谢推荐人", "电话", ("转介绍: 推荐的" + r["referred_name"].fillna("") + "已成交,致谢并兑现奖励")[keep].to_numpy()))
    return pd.concat(parts, ignore_index=True)


# 7. Sleeping clients (唤醒沉睡客户) -------------------------------------------------
def sleeping(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    cl = cl[cl["status"] == "沉睡"].sort_values(["agent", "last_reached"], na_position="first")
    days = [pd.Timestamp(d) for d in ctx.cal.working_days(ctx.today.date(), ctx.end.date())]
    if cl.empty or not days:
        return pd.DataFrame()
    slot = cl.groupby("agent", sort=False, dropna=False).cumcount() // ctx.rules["sleeping_per_day"]
    cl = cl[slot < len(days)]
    slot = slot[slot < len(days)]
    why = np.where(cl["last_reached"].isna(), "沉睡客户: 从未有效联系",
                   "沉睡客户: " + cl["days_since"].astype("Int64").astype(str) + "天未有效联系")
    return _tasks(cl.index.to_numpy(), [days[i] for i in slot], 7, "唤醒沉睡", "唤醒沉睡客户", "电话",
                  why + f"(每天最多{ctx.rules['sleeping_per_day']}位,最久未联系优先)")


# 8. Persistence (坚持跟进, seed 001) ----------------------------------------------------
def persistence(ctx: Context) -> pd.DataFrame:
    cl = ctx.active
    need = ctx.rules["persistence_followups"]
    cl = cl[cl["stage"].fillna("潜在").isin(PROSPECT_STAGES) & ~is_deal_client(cl)
            & (cl["reached_count"] < need) & (cl["status"] != "沉睡") & cl["last_reached"].notna()]
    c = ctx.contacts
    planned = c[c["next_follow_up"].notna()].groupby("client_id")["next_follow_up"].last()
    planned = plain(planned).reindex(cl.index)
    use_plan = planned.notna() & (planned > cl["last_reached"])
    fallback = cl["last_reached"] + pd.Timedelta(days=ctx.rules["persistence_days"])
    due = planned.where(use_plan, fallback).dt.normalize()
    count = cl["reached_count"].astype(int)
    why = np.where(use_plan, "按下次跟进日期" + _md(due), f"上次联系后{ctx.rules['persistence_days']}天内跟进")
    why = "未成交客户有效跟进" + count.astype(str) + f"次<{need}次," + why
    return _tasks(cl.index.to_numpy(), due.to_numpy(), 8, "坚持跟进", "第" + (count + 1).astype(str) + "次跟进",
                  "电话", why)


# 9. Satisfaction survey and complaints ------------------------------------------------
def surveys(ctx: Context) -> pd.DataFrame:
    rules = ctx.rules
    cl = ctx.active
    deal = cl["last_deal_date"].dropna().dt.normalize()
    due = deal + pd.Timedelta(days=rules["survey_days"])
    c = ctx.contacts
    done = plain(c[(c["purpose"] == "满意度回访") & reached(c)].groupby("client_id")["date"].max()).reindex(deal.index)
    keep = (done.isna() | (done < deal)) & (due >= ctx.today - pd.Timedelta(days=rules["catch_up_days"]))
    parts = [_tasks(deal.index[keep].to_numpy(), due[keep].to_numpy(), 9, "满意度回访", "满意度回访", "电话",
                    ("成交(" + _md(deal[keep]) + f")后{rules['survey_days']}天满意度回访").to_numpy())]
    comp = c[(c["purpose"] == "投诉") & c["client_id"].isin(cl.index)]
    later = lookup(comp["client_id"], ctx.last_reached_ts)
    comp = comp[later.isna() | (later <= comp["date"])]
    cdue = comp["date"].dt.normalize() + pd.Timedelta(days=rules["complaint_days"])
    parts.append(_tasks(comp["client_id"].to_numpy(), cdue.to_numpy(), 9, "投诉跟进", "投诉跟进回电", "电话",
                        (_md(comp["date"]) + f"投诉,{rules['complaint_days']}天内回电跟进,直至再次联系上").to_numpy()))
    return pd.concat(parts, ignore_index=True)


# 10. Monthly care SMS ------------------------------------------------------------------
def care_sms(ctx: Context) -> pd.DataFrame:
    per_month = ctx.rules["care_sms_per_month"]
    cl = ctx.active
    if cl.empty or per_month == 0:
        return pd.DataFrame()
    c = ctx.contacts
    sms = c[c["channel"].isin(SMS_CHANNELS)]  # sent up to today (ctx.contacts ends today)
    offset = np.array([zlib.crc32(str(i).encode()) for i in cl.index], dtype=np.int64)
    parts = []
    month = ctx.today.replace(day=1)
    while month <= ctx.end:
        length = month.days_in_month
        step = max(1, length // per_month)
        month_end = month + pd.Timedelta(days=length - 1)
        sent = sms[(sms["date"] >= month) & (sms["date"] <= month_end + DAY)].groupby("client_id").size()
        sent = plain(sent).reindex(cl.index, fill_value=0).to_numpy()
        for i in range(per_month):
            day = np.minimum(i * step + offset % step, length - 1)
            due = month + pd.to_timedelta(day, unit="D")
            keep = (sent <= i) & (due >= ctx.today) & (due <= ctx.end)
            parts.append(_tasks(cl.index[keep].to_numpy(), due[keep], 10, "日常关怀", "发送关怀短信", "短信",
                                f"每月至少{per_month}条关怀短信(本月第{i + 1}条)"))
        month = month + pd.offsets.MonthBegin(1)
    return pd.concat(parts, ignore_index=True)


FAMILIES: tuple[Callable[[Context], pd.DataFrame], ...] = (
    promises, immediate_sms, birthdays, key_dates, holidays, cadence_calls, referrals, sleeping,
    persistence, surveys, care_sms,
)


def make_context(book: Book, rules: Rules, today: date, days: int,
                 clients: pd.DataFrame | None = None) -> Context:
    today_ts = pd.Timestamp(today)
    end = today_ts + pd.Timedelta(days=max(days, 1) - 1)
    contacts = book.contacts
    contacts = contacts[contacts["date"] < today_ts + DAY]  # a touch logged for tomorrow hasn't happened
    clients = clients if clients is not None else analyse(book, rules, today)
    last_ts = plain(contacts[reached(contacts)].groupby("client_id")["date"].max())
    return Context(book, rules, today_ts, end, clients, contacts,
                   calendar_for(today - timedelta(days=60), end.date() + timedelta(days=120)), last_ts)


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0 (an index from get_indexer), `default` where the key was unknown."""
    out = np.full(len(at), default, dtype=object)
    found = at >= 0
    out[found] = values[at[found]]
    return out


def next_actions(book: Book, rules: Rules, today: date, days: int = 7,
                 clients: pd.DataFrame | None = None, agent: str | None = None,
                 messages: Messages | None = None) -> pd.DataFrame:
    """Tasks due up to `today + days - 1` (and open overdue ones), sorted overdue first.

    With `agent`, only that agent's tasks. With `messages`, SMS drafts are rendered.
    """
    ctx = make_context(book, rules, today, days, clients)
    frames = [f for f in (family(ctx) for family in FAMILIES) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=TASK_COLUMNS)
    tasks = pd.concat(frames, ignore_index=True)
    tasks["due"] = pd.to_datetime(tasks["due"]).dt.normalize()
    tasks = tasks[tasks["due"] <= ctx.end]
    info = ctx.clients
    keep = tasks["keep"].fillna(False).astype(bool) if "keep" in tasks else pd.Series(False, index=tasks.index)
    at = info.index.get_indexer(tasks["client_id"].to_numpy())
    active = _take(info["active"].to_numpy(), at, False).astype(bool)
    tasks = tasks[keep.to_numpy() | active]
    at = info.index.get_indexer(tasks["client_id"].to_numpy())  # one hash lookup for all columns
    for col in ("name", "phone", "agent", "client_class"):
        # Referral tasks bring their own name, phone and agent (the referred person's).
        values = info[col].to_numpy()
        mapped = pd.Series(_take(values, at, None), index=tasks.index, dtype=object)
        tasks[col] = tasks[col].where(tasks[col].notna(), mapped) if col in tasks else mapped
    if agent is not None:
        tasks = tasks[tasks["agent"] == agent]
    tasks = tasks.sort_values(["rank"], kind="stable").drop_duplicates(["client_id", "due", "kind"])
    tasks = tasks[~subsumed_calls(tasks)]
    tasks["date"] = tasks["due"].where(tasks["due"] >= ctx.today, ctx.today)
    tasks["overdue_days"] = (ctx.today - tasks["due"]).dt.days.clip(lower=0)
    tasks["priority"] = tasks["rank"].map(PRIORITY_BY_RANK)
    tasks["_late"] = tasks["overdue_days"] > 0
    tasks = tasks.sort_values(["_late", "date", "rank", "agent", "client_id"],
                              ascending=[False, True, True, True, True], kind="stable")
    tasks["sms"] = ""
    if messages is not None:
        tasks["sms"] = drafts(tasks, info, messages)
    extra = [c for c in ("holiday", "who", "type") if c in tasks]
    return tasks[TASK_COLUMNS + extra].reset_index(drop=True)


def subsumed_calls(tasks: pd.DataFrame) -> pd.Series:
    """Cadence calls on a day the client already gets another call or visit: that one counts."""
    talk = tasks["channel"].isin(["电话", "拜访"])
    other = tasks[talk & (tasks["kind"] != "维护电话")][["client_id", "due"]].drop_duplicates()
    key = pd.MultiIndex.from_frame(tasks[["client_id", "due"]])
    busy = key.isin(pd.MultiIndex.from_frame(other)) if len(other) else pd.Series(False, index=tasks.index).to_numpy()
    return pd.Series(busy, index=tasks.index) & (tasks["kind"] == "维护电话")


def drafts(tasks: pd.DataFrame, clients: pd.DataFrame, messages: Messages) -> pd.Series:
    """SMS drafts for tasks on 短信/微信; empty text for the others."""
    out = pd.Series("", index=tasks.index, dtype=object)
    sms = tasks[tasks["channel"].isin(SMS_CHANNELS)]
    if sms.empty:
        return out
    gender = lookup(sms["client_id"], clients["gender"])
    company = lookup(sms["client_id"], clients["company"])
    cols = {c: sms[c] if c in sms else pd.Series("", index=sms.index) for c in ("holiday", "who", "type")}
    texts = []
    for kind, name, sex, agent, due, comp, hol, who, typ in zip(
            sms["kind"], sms["name"], gender, sms["agent"], sms["due"], company,
            cols["holiday"], cols["who"], cols["type"], strict=True):
        texts.append(messages.render(kind, variables(
            name, sex if isinstance(sex, str) else None, agent, due.date(),
            comp if isinstance(comp, str) else None, hol if isinstance(hol, str) else "",
            who if isinstance(who, str) else "", typ if isinstance(typ, str) else "")))
    out.loc[sms.index] = texts
    return out


def board(clients: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """客户看板: every client with class, status and the next step."""
    first = tasks.drop_duplicates("client_id").set_index("client_id")
    out = clients[["name", "agent", "client_class", "class_reason", "status", "days_since"]].copy()
    out["next_task"] = first["task"].reindex(out.index)
    out["next_date"] = first["due"].reindex(out.index)
    fallback = out["next_task"].isna() & clients["active"] & clients["due"].notna()
    out.loc[fallback, "next_task"] = "维护电话"
    out.loc[fallback, "next_date"] = clients.loc[fallback, "due"]
    return out.reset_index()
