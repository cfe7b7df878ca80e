"""The Monday batch, computed: each agent's week and the team summary (DOMAIN: Weekly workbooks).

Pure: `weekly_plan(book, rules, monday)` computes tasks for the whole office once (as
of Monday, Monday to Sunday, overdue items carried to Monday); `agent_week` cuts one
agent's sections out of it, holding nothing of another agent's clients; and
`team_summary` counts per agent. `report_writer` turns these into workbooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from . import vocab
from .analysis import analyse
from .board import foreign, mask_foreign
from .calendar import calendar_for, holiday_rows
from .drafts import drafts, needs_draft
from .frames import lookup
from .handover import awaiting_handover, reclaim
from .key_persons import known, sort_key_persons
from .loop import with_task_ids
from .messages import Messages
from .planner import Runner, unplanned_summary
from .records import Book
from .rules import Rules
from .status import churned as status_churned
from .status import is_overdue, reached
from .tasks import planned_actions
from .tasks.context import yearly
from .tasks.holidays import COVERAGE_DAYS

WEEKDAYS = "一二三四五六日"
MET, NOT_MET = "达标", "未达标"


def week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def coming_monday(today: date) -> date:
    """Today if it is a Monday, else the next Monday."""
    return today + timedelta(days=(7 - today.weekday()) % 7)


def iso_week(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日 星期{WEEKDAYS[day.weekday()]}"


@dataclass(frozen=True)
class WeekInfo:
    """What a written workbook needs to know about the week (small: sent to worker processes)."""

    monday: date
    week: str
    title: str
    holidays: tuple[tuple[str, date], ...]
    master: str = ""  # the master workbook's number, carried back by `xlcrm collect`


@dataclass
class WeeklyPlan:
    monday: date
    clients: pd.DataFrame  # analyse() as of Monday
    tasks: pd.DataFrame  # every agent's tasks Monday..Sunday
    book: Book
    rules: Rules
    holidays: list[tuple[str, date]] = field(default_factory=list)
    unplanned: pd.DataFrame = field(default_factory=pd.DataFrame)  # 待排: did not fit this week
    findings: list = field(default_factory=list)  # e.g. a year with no official holiday schedule
    messages: Messages = field(default_factory=Messages)  # the SMS drafts' templates (with_drafts)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def week(self) -> str:
        return iso_week(self.monday)

    @property
    def title(self) -> str:
        s = self.sunday
        return f"{self.week}({self.monday.month}月{self.monday.day}日—{s.month}月{s.day}日)"

    @property
    def info(self) -> WeekInfo:
        return WeekInfo(self.monday, self.week, self.title, tuple(self.holidays))

    def active_agents(self) -> list[str]:
        agents = self.book.agents
        active = agents[agents["active"].fillna(vocab.YES) != vocab.NO]["agent"].dropna()
        return list(dict.fromkeys(active))


def weekly_plan(book: Book, rules: Rules, monday: date, messages: Messages | None = None,
                run: Runner | None = None) -> WeeklyPlan:
    """The week's plan; SMS drafts are rendered later, agent by agent (`with_drafts`), so
    that the weekly writer's processes render their own agents' drafts. `run`: see
    tasks.planned_actions."""
    clients = analyse(book, rules, monday)
    planned = planned_actions(book, rules, monday, 7, clients=clients, run=run)
    planned.tasks = with_task_ids(planned.tasks)
    cal = calendar_for(monday, monday + timedelta(days=6), holiday_rows(book))
    found = cal.holiday_starts(rules["holidays"], monday, monday + timedelta(days=6))
    return WeeklyPlan(monday, clients, planned.tasks, book, rules, found, planned.unplanned, planned.findings,
                      messages or Messages())


@dataclass
class AgentWeek:
    """One agent's sections; every frame holds only this agent's clients."""

    agent: str
    plan: pd.DataFrame
    care: pd.DataFrame
    attention: pd.DataFrame
    referrals: pd.DataFrame
    sms: pd.DataFrame
    month_dates: pd.DataFrame = field(default_factory=pd.DataFrame)  # 生日台历: when, client_id, text
    unplanned: str = ""  # the 本周计划 footer: 待排 N 条(…)
    key_persons: pd.DataFrame = field(default_factory=pd.DataFrame)  # their accounts' 关键人
    drafted: bool = False  # `sms` holds the drafts (with_drafts), not only the tasks that get one


def agent_weeks(plan: WeeklyPlan, agents: list[str] | None = None, drafts: bool = True) -> list[AgentWeek]:
    """Every active agent's sections, split from the office-wide frames in one pass each.

    Without `drafts`, each week's `sms` holds the tasks that get a draft, not yet written:
    `with_drafts` renders them (the weekly writer does, in the process that writes the book).
    """
    cl = plan.clients
    tasks = plan.tasks
    # A task about a client who belongs to someone else (a referred person registered with
    # another agent) keeps its work but loses the client's id, name, phone and SMS.
    own_sms = needs_draft(tasks) & ~foreign(tasks, cl, "client_id", "agent")
    tasks = mask_foreign(tasks, cl, "client_id",
                         {"client_id": vocab.FOREIGN, "name": vocab.FOREIGN, "phone": "", "sms": ""})
    tasks = tasks.sort_values(["agent", "date"], kind="stable")  # keeps the planner's order within a day
    by_agent = {a: f for a, f in tasks.groupby("agent", sort=False)}
    # Each agent's care and SMS rows, split in one pass each (not filtered agent by agent).
    care_by = {a: f for a, f in tasks[tasks["kind"].isin(vocab.CARE_KINDS)].groupby("agent", sort=False)}
    sms_by = {a: f for a, f in tasks[own_sms.reindex(tasks.index)].groupby("agent", sort=False)}

    attention = cl[is_overdue(cl["status"]) | (cl["status"] == vocab.SLEEPING)]
    attention = attention.assign(is_sleeping=attention["status"] == vocab.SLEEPING).sort_values(
        ["is_sleeping", "client_class", "days_since"], ascending=[True, True, False])
    attention_by = {a: f for a, f in attention.groupby("agent", sort=False)}

    refs = plan.book.referrals
    refs = refs.assign(agent=lookup(refs["referrer_id"], cl["agent"]),
                       referrer_name=lookup(refs["referrer_id"], cl["name"]))
    open_refs = refs[refs["state"].isin(vocab.REF_OPEN)
                     | (refs["state"].isin(vocab.REF_REACHED) & refs["feedback_date"].isna())]
    open_refs = mask_foreign(open_refs, cl, "referred_client_id", {
        "referred_name": vocab.FOREIGN, "referred_phone": "", "referred_client_id": "", "referred_company": ""})
    refs_by = {a: f for a, f in open_refs.sort_values("date").groupby("agent", sort=False)}

    dates = month_dates(plan)
    dates_by = {a: f for a, f in dates.groupby("agent", sort=False)}
    kp = key_persons_by_agent(plan)

    empty_tasks = tasks.iloc[0:0]
    unplanned = plan.unplanned
    unplanned_by = {a: f for a, f in unplanned.groupby("agent", sort=False)} if len(unplanned) else {}
    out = []
    for agent in agents if agents is not None else plan.active_agents():
        week_plan = by_agent.get(agent, empty_tasks)
        out.append(AgentWeek(
            agent, week_plan, care_by.get(agent, empty_tasks),
            attention_by.get(agent, attention.iloc[0:0]), refs_by.get(agent, open_refs.iloc[0:0]),
            sms_by.get(agent, empty_tasks),
            month_dates=dates_by.get(agent, dates.iloc[0:0]),
            unplanned=unplanned_summary(unplanned_by.get(agent, unplanned.iloc[0:0])),
            key_persons=kp.get(agent, pd.DataFrame())))
    return [with_drafts(week, plan) for week in out] if drafts else out


def with_drafts(week: AgentWeek, plan: WeeklyPlan) -> AgentWeek:
    """The week with its SMS drafts written (rows whose draft comes out empty are left out);
    problems with a template go to `plan.messages.findings`."""
    if week.drafted:
        return week
    texts = drafts(week.sms, plan.clients, plan.messages, plan.rules["office_address"])
    return replace(week, sms=week.sms.assign(sms=texts)[texts != ""], drafted=True)


def month_bounds(monday: date) -> tuple[date, date]:
    """First and last day of the month of `monday` (the 生日台历's month)."""
    first = monday.replace(day=1)
    last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    return first, last


def month_dates(plan: WeeklyPlan) -> pd.DataFrame:
    """Birthdays and key dates of the active clients in the month of the plan's Monday.

    Seed 000: 每月建立客户生日台历. Lunar dates are converted to that year's solar date
    and keep their lunar label. Columns: agent, when, client_id, client_class, text.
    """
    first, last = month_bounds(plan.monday)
    start, end = pd.Timestamp(first), pd.Timestamp(last)
    cl = plan.clients[plan.clients["active"]]
    columns = ["agent", "when", "client_id", "client_class", "text"]
    parts = []
    births = yearly(cl, "birthday_month", "birthday_day", cl["birthday_calendar"] == vocab.LUNAR, start, end)
    if not births.empty:
        text = births["name"].fillna("") + " 生日" + np.where(births["label"] != "", "(" + births["label"] + ")", "")
        parts.append(pd.DataFrame({"agent": births["agent"].to_numpy(), "when": births["when"].to_numpy(),
                                   "client_id": births.index.to_numpy(),
                                   "client_class": births["client_class"].to_numpy(), "text": text.to_numpy()}))
    kd = plan.book.key_dates
    kd = kd[kd["client_id"].isin(cl.index)]
    if not kd.empty:
        dates = yearly(kd, "date_month", "date_day", kd["calendar"] == vocab.LUNAR, start, end)
        if not dates.empty:
            ids = dates["client_id"]
            what = np.where((dates["kind"] == vocab.KEYDATE_KINDS[0]) & dates["who"].notna(),
                            dates["who"].fillna("") + "生日", dates["kind"].fillna(vocab.KEYDATE_DEFAULT))
            text = (lookup(ids, cl["name"]).fillna("") + " " + what
                    + np.where(dates["label"] != "", "(" + dates["label"] + ")", ""))
            parts.append(pd.DataFrame({"agent": lookup(ids, cl["agent"]).to_numpy(), "when": dates["when"].to_numpy(),
                                       "client_id": ids.to_numpy(),
                                       "client_class": lookup(ids, cl["client_class"]).to_numpy(),
                                       "text": text.to_numpy()}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "when" else object) for c in columns})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["when", "client_class", "client_id"], kind="stable")[columns].reset_index(drop=True)


def key_persons_by_agent(plan: WeeklyPlan) -> dict[str, pd.DataFrame]:
    """Each agent's accounts' key persons, by account, role (A, D, E, U) and attitude, with
    the account's name and 单线联系 reason and the next 争取关键人 date of this week."""
    cl = plan.clients
    kp = known(plan.book.key_persons)
    kp = kp[kp["client_id"].isin(cl.index)].drop_duplicates(["client_id", "name"])
    if kp.empty:
        return {}
    kp = sort_key_persons(kp.assign(agent=lookup(kp["client_id"], cl["agent"]),
                                    account=lookup(kp["client_id"], cl["name"]),
                                    single_thread=lookup(kp["client_id"], cl["single_thread"])))
    tasks = plan.tasks[plan.tasks["kind"] == vocab.WIN_KEY_PERSON]
    if "ref" in tasks:
        nxt = tasks.groupby(["client_id", "ref"])["date"].min()
        at = pd.MultiIndex.from_arrays([kp["client_id"], kp["name"]])
        kp["next_date"] = nxt.reindex(at).to_numpy()
    else:
        kp["next_date"] = pd.NaT
    return {a: f for a, f in kp.groupby("agent", sort=False)}


def team_summary(plan: WeeklyPlan) -> dict[str, pd.DataFrame]:
    """Per-agent counts against the maintenance standard, the referral funnel and churn."""
    cl = plan.clients
    agents = plan.active_agents()
    rules = plan.rules
    monday = pd.Timestamp(plan.monday)
    by_agent = cl.groupby("agent")
    classes = pd.crosstab(cl["agent"], cl["client_class"]).reindex(index=agents, columns=list(vocab.CLASSES),
                                                                   fill_value=0)
    overdue = is_overdue(cl["status"])
    out = pd.DataFrame(index=pd.Index(agents, name="agent"))
    out["clients"] = by_agent.size().reindex(agents, fill_value=0)
    for c in vocab.CLASSES:
        out[c] = classes[c]
    out["overdue"] = overdue.groupby(cl["agent"]).sum().reindex(agents, fill_value=0)
    out["a_overdue"] = (overdue & (cl["client_class"] == "A")).groupby(cl["agent"]).sum().reindex(agents, fill_value=0)
    out["sleeping"] = (cl["status"] == vocab.SLEEPING).groupby(cl["agent"]).sum().reindex(agents, fill_value=0)

    contacts = plan.book.contacts
    last_week = contacts[(contacts["date"] >= monday - pd.Timedelta(days=7)) & (contacts["date"] < monday)]
    owner = last_week["client_id"].map(cl["agent"].to_dict())
    ok = reached(last_week)
    out["touches_last_week"] = ok.groupby(owner).sum().reindex(agents, fill_value=0)
    visits = ok & (last_week["channel"] == vocab.VISIT)
    out["visits_last_week"] = visits.groupby(owner).sum().reindex(agents, fill_value=0)
    out["visit_standard"] = rules["visits_per_week"]
    out["visits_ok"] = np.where(out["visits_last_week"] >= rules["visits_per_week"], MET, NOT_MET)

    # Holiday coverage: of the agent's active clients, the share reached around the last holiday
    # (an unanswered call, 未接通/拒接/空号, is no coverage; a sent SMS is, for C/D).
    cal = calendar_for(plan.monday - timedelta(days=400), plan.monday, holiday_rows(plan.book))
    past = cal.holiday_starts(rules["holidays"], plan.monday - timedelta(days=366), plan.monday - timedelta(days=1))
    out["last_holiday"] = ""
    out["holiday_coverage"] = np.nan
    if past:
        name, first = past[-1]
        start, end = pd.Timestamp(first) - COVERAGE_DAYS, pd.Timestamp(first) + pd.Timedelta(days=1)
        around = contacts[(contacts["date"] >= start) & (contacts["date"] < end)
                          & ~contacts["outcome"].isin(vocab.NOT_REACHED)]
        active = cl[cl["active"]]
        covered = active.index.isin(around["client_id"])
        out["last_holiday"] = f"{name}({first.month}月{first.day}日)"
        out["holiday_coverage"] = pd.Series(covered, index=active.index).groupby(active["agent"]).mean().reindex(agents)
    out["tasks_this_week"] = plan.tasks.groupby("agent").size().reindex(agents, fill_value=0)
    out["unplanned"] = (plan.unplanned.groupby("agent").size().reindex(agents, fill_value=0)
                        if len(plan.unplanned) else 0)

    out["completeness"] = cl.groupby("agent")["completeness"].mean().reindex(agents)

    week, year = periods(plan.monday)
    refs = plan.book.referrals
    refs = refs.assign(agent=lookup(refs["referrer_id"], cl["agent"]))
    funnels = {key: funnel(refs[(refs["date"] >= start) & (refs["date"] < end)], agents)
               for key, (_label, start, end) in (("week", week), ("year", year))}

    churned = cl[status_churned(cl)]
    reasons = churned["churn_reason"].fillna(vocab.CHURN_REASON_MISSING)
    churn = {}
    for key, (_label, start, end) in (("week", week), ("year", year)):
        hit = (churned["churn_date"] >= start) & (churned["churn_date"] < end)
        churn[key] = churn_table(churned.loc[hit, "agent"], reasons[hit], agents)
    undated = int(churned["churn_date"].isna().sum())

    columns = ["name", "agent", "client_class", "status", "days_since", "last_reached", "phone"]
    waiting = cl[awaiting_handover(cl, plan.book.agents)].sort_values(["agent", "client_class"])
    pool = cl[reclaim(cl, rules["reclaim_overdue_days"])].sort_values(
        ["agent", "client_class", "overdue_days"], ascending=[True, True, False])
    watch = cl[cl["active"] & cl["client_class"].isin(vocab.CHURN_WATCH_CLASSES)
               & (is_overdue(cl["status"]) | (cl["status"] == vocab.SLEEPING))].sort_values(
        ["client_class", "agent", "days_since"], ascending=[True, True, False])
    return {
        "summary": out.reset_index(),
        "periods": {"week": week[0], "year": year[0]},
        "funnel": funnels["year"], "funnel_week": funnels["week"],
        "churn": churn["year"], "churn_week": churn["week"], "churn_undated": undated,
        "churn_analysis": churn_analysis(churned, year[1], year[2]),
        "awaiting_handover": waiting[columns].reset_index(),
        "reclaim": pool[columns + ["overdue_days"]].reset_index(),
        "churn_watch": watch[columns].reset_index(),
    }


def periods(monday: date) -> tuple[tuple[str, pd.Timestamp, pd.Timestamp], tuple[str, pd.Timestamp, pd.Timestamp]]:
    """(label, start, end) of the week before `monday` and of the twelve calendar months up to it.

    The summary is made on Monday: "上周" is the last full week; the twelve months are
    whole months, the current one included up to Sunday.
    """
    end = pd.Timestamp(monday)
    week_start = end - pd.Timedelta(days=7)
    last = end - pd.Timedelta(days=1)
    year_start = (end.replace(day=1) - pd.DateOffset(months=11)) if end.day > 1 else \
        (end - pd.DateOffset(months=12))
    week = (f"上周({week_start.month}月{week_start.day}日—{last.month}月{last.day}日)", week_start, end)
    year = (f"近12个月({year_start.year}年{year_start.month}月—{last.year}年{last.month}月)", year_start, end)
    return week, year


def funnel(refs: pd.DataFrame, agents: list[str]) -> pd.DataFrame:
    """推荐 → 联系 → 到访 → 成交 per agent (of the referrer), with each step's share of 推荐."""
    out = pd.DataFrame(index=pd.Index(agents, name="agent"))
    for label, states in vocab.FUNNEL:
        hit = refs if states is None else refs[refs["state"].isin(states)]
        out[label] = hit.groupby("agent").size().reindex(agents, fill_value=0)
    base = out["推荐"].replace(0, np.nan)
    for label, _ in vocab.FUNNEL[1:]:
        out[label + "率"] = (out[label] / base).fillna(0.0)
    return out.reset_index()


def churn_table(agent: pd.Series, reason: pd.Series, agents: list[str]) -> pd.DataFrame:
    """Churned clients per agent by 流失原因, in vocabulary order (未填 last), with 合计."""
    columns = [*vocab.CHURN_REASONS, vocab.CHURN_REASON_MISSING]
    rows = list(dict.fromkeys([*agents, *agent.dropna()]))
    table = pd.crosstab(agent, reason).reindex(index=rows, columns=columns, fill_value=0)
    table.index.name = "agent"
    table["合计"] = table.sum(axis=1)
    return table.reset_index()


def churn_analysis(churned: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """流失分析: churned clients with a 流失日期 in [start, end), by month x class, reason, agent.

    The class is the lifetime-value class (a churned client who bought keeps A/B/C).
    """
    hit = churned[(churned["churn_date"] >= start) & (churned["churn_date"] < end)]
    months = pd.period_range(start, end - pd.Timedelta(days=1), freq="M")
    month = hit["churn_date"].dt.to_period("M")
    by_month = pd.crosstab(month, hit["client_class"]).reindex(index=months, columns=list(vocab.CLASSES),
                                                                fill_value=0)
    by_month.index = [f"{p.year}年{p.month}月" for p in months]
    by_month.index.name = "month"
    by_month["合计"] = by_month.sum(axis=1)
    reasons = hit["churn_reason"].fillna(vocab.CHURN_REASON_MISSING)
    by_reason = reasons.value_counts().reindex([*vocab.CHURN_REASONS, vocab.CHURN_REASON_MISSING], fill_value=0)
    by_agent = pd.crosstab(hit["agent"], hit["client_class"]).reindex(columns=list(vocab.CLASSES), fill_value=0)
    by_agent["合计"] = by_agent.sum(axis=1)
    return {"by_month": by_month.reset_index(),
            "by_reason": by_reason.rename_axis("reason").reset_index(name="count"),
            "by_agent": by_agent.rename_axis("agent").reset_index()}
