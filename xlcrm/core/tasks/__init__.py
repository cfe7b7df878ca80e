"""Next actions (下一步): the ten task families of DOMAIN.md, in priority order.

Each family is a function `(ctx) -> frame of tasks` in its own module, named after it
(`tasks.birthdays`, `tasks.sleeping` …); `next_actions` runs them in DOMAIN's order,
removes everything for 勿扰/流失 clients except promises, turns SMS to a landline into
calls, and hands the rest to the planner (core.planner: one row per client, day and
kind of contact; daily capacity; what does not fit is 待排). Frames rather than one object per
task because an office of 100,000 clients gets a few hundred thousand tasks a week.

A task row has: due (the rule's date; earlier than today when overdue), date (when
to do it: an overdue task is carried to today), rank (1-10, the family), priority,
kind (also the 短信模板 name), client_id, name, phone, agent, client_class, task,
channel, reason (naming the rule), sms.

Everything here is pure: `today` is a parameter and nothing reads a file or clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from .. import vocab
from ..calendar import schedule_findings
from ..drafts import drafts
from ..loop import drop_logged
from ..messages import Messages
from ..planner import Plan, Runner, plan, priority_key
from ..records import Book
from ..rules import Rules
from .activities import activities
from .birthdays import birthdays
from .cadence_calls import cadence_calls
from .care_sms import care_sms
from .context import Context, make_context
from .holidays import LOOKAHEAD, holidays
from .immediate_sms import immediate_sms
from .key_dates import key_dates
from .key_persons import key_persons
from .persistence import persistence
from .profile import profile
from .promises import promises
from .referral_asks import referral_asks
from .referrals import referrals
from .sleeping import sleeping
from .surveys import complaints, surveys
from .weekend_sms import weekend_sms

TASK_COLUMNS = ["date", "due", "overdue_days", "rank", "priority", "kind", "client_id", "name",
                "phone", "agent", "client_class", "task", "channel", "reason", "sms", "task_id"]

FAMILIES: tuple[Callable[[Context], pd.DataFrame], ...] = (
    promises, immediate_sms, birthdays, key_dates, key_persons, activities, holidays, cadence_calls,
    referrals, referral_asks, sleeping, persistence, surveys, complaints, care_sms, profile, weekend_sms,
)
# Optional columns a family brings for its drafts and identity: `ref` tells apart two tasks
# of one kind for one client on one day (two key persons of an account, two activities).
EXTRA_COLUMNS = ("kinds", "holiday", "who", "type", "event", "ref", "salute", "activity", "place", "event_date")


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0 (an index from get_indexer), `default` where the key was unknown."""
    out = np.full(len(at), default, dtype=object)
    found = at >= 0
    out[found] = values[at[found]]
    return out


def next_actions(book: Book, rules: Rules, today: date, days: int = 7,
                 clients: pd.DataFrame | None = None, agent: str | None = None,
                 messages: Messages | None = None) -> pd.DataFrame:
    """The planned tasks up to `today + days - 1` (overdue work carried into the window)."""
    return planned_actions(book, rules, today, days, clients, agent, messages).tasks


# With a runner (planned_actions' `run`), these families are computed as a second piece
# of work beside the others: about half the time on 100,000 clients (measured), and few
# rows to hand back (the families with 50,000+ rows stay with the first piece); the
# forked process pays ~0.4 s more for the same work (copy-on-write, sending back).
SECOND_PIECE = (immediate_sms, birthdays, key_dates, referrals, persistence, profile)
SPLIT_CLIENTS = 10_000  # below this, a second process costs more than it saves


def family_frames(ctx: Context, run: Runner | None = None) -> list[pd.DataFrame]:
    """Every family's tasks, in FAMILIES' order; with `run`, in two pieces of work."""
    if run is None or len(ctx.clients) < SPLIT_CLIENTS:
        return [family(ctx) for family in FAMILIES]
    first = [f for f in FAMILIES if f not in SECOND_PIECE]
    second = [f for f in FAMILIES if f in SECOND_PIECE]
    a, b = run([lambda: [f(ctx) for f in first], lambda: [f(ctx) for f in second]])
    made = dict(zip(first, a, strict=True)) | dict(zip(second, b, strict=True))
    return [made[f] for f in FAMILIES]


def planned_actions(book: Book, rules: Rules, today: date, days: int = 7,
                    clients: pd.DataFrame | None = None, agent: str | None = None,
                    messages: Messages | None = None, run: Runner | None = None) -> Plan:
    """Every family's tasks, placed by the planner: the tasks and what did not fit (待排).

    With `agent`, only that agent's tasks. With `messages`, SMS drafts are rendered.
    Sorted by day, then promises first, rank, class A→D and most overdue. With `run`
    (core.planner.Runner), the families and the planner are computed in pieces by it.
    """
    ctx = make_context(book, rules, today, days, clients)
    findings = schedule_findings(book, ctx.cal, ctx.today.date(), (ctx.end + LOOKAHEAD).date())
    frames = [f for f in family_frames(ctx, run) if not f.empty]
    if not frames:
        empty = pd.DataFrame(columns=TASK_COLUMNS)
        return Plan(empty, empty, findings)
    tasks = pd.concat(frames, ignore_index=True)
    tasks["due"] = pd.to_datetime(tasks["due"]).dt.normalize()
    info = ctx.clients
    keep = tasks["keep"].fillna(False).astype(bool).to_numpy() if "keep" in tasks else False
    # One hash lookup of the clients for every column, and one filter: each pass over
    # this frame (300,000 rows, 20 string columns) costs about 0.1 s on 100,000 clients.
    at = info.index.get_indexer(tasks["client_id"].to_numpy())
    active = _take(info["active"].to_numpy(), at, False).astype(bool)
    wanted = (tasks["due"] <= ctx.end).to_numpy() & (keep | active)
    tasks, at = tasks[wanted], at[wanted]
    for col in ("name", "phone", "agent", "client_class"):
        # Referral tasks bring their own name, phone and agent (the referred person's).
        values = info[col].to_numpy()
        mapped = pd.Series(_take(values, at, None), index=tasks.index, dtype=object)
        tasks[col] = tasks[col].where(tasks[col].notna(), mapped) if col in tasks else mapped
    if agent is not None:
        tasks = tasks[tasks["agent"] == agent]
    if "ref" in tasks:
        tasks["ref"] = tasks["ref"].fillna("")
    tasks = call_landlines(tasks)
    tasks = drop_logged(tasks, book.contacts)  # a task number in 跟进记录 is done (the daily loop)
    if "task_id" not in tasks:
        tasks["task_id"] = None
    tasks["date"] = tasks["due"].where(tasks["due"] >= ctx.today, ctx.today)
    tasks["overdue_days"] = (ctx.today - tasks["due"]).dt.days.clip(lower=0)
    planned = plan(tasks, rules, ctx.today, ctx.end, ctx.cal.is_working_day, run)
    tasks = planned.tasks
    tasks["priority"] = tasks["rank"].map(vocab.PRIORITY_BY_RANK)
    tasks = tasks.assign(**priority_key(tasks)).sort_values(
        ["date", "_promise", "_rank", "_class", "_urgency", "agent", "client_id"], kind="stable")
    tasks["sms"] = ""
    if messages is not None:
        tasks["sms"] = drafts(tasks, info, messages, rules["office_address"])
    extra = [c for c in EXTRA_COLUMNS if c in tasks]
    return Plan(tasks[TASK_COLUMNS + extra].reset_index(drop=True), planned.unplanned, findings)


def is_mobile(phone: pd.Series) -> pd.Series:
    """A Chinese mobile number (1[3-9] and 9 digits, with or without +86)."""
    # Each distinct number once: a week's tasks name the same clients' phones many times.
    codes, numbers = pd.factorize(phone.fillna("").astype(str).to_numpy(dtype=object))
    # Python's \s and \d spelled out in RE2's terms, so pandas runs Arrow's kernels
    # (with \s it falls back to Python's re, five times slower): the same numbers match.
    digits = pd.Series(numbers, dtype="str").str.replace(r"[\t\n\v\f\r\x1c-\x1f\x85\pZ\-()（）]", "", regex=True)
    mobile = digits.str.fullmatch(r"(?:\+?86|0086)?1[3-9]\p{Nd}{9}").fillna(False).to_numpy(dtype=bool)
    return pd.Series(mobile[codes] if len(codes) else np.zeros(0, dtype=bool), index=phone.index)


def call_landlines(tasks: pd.DataFrame) -> pd.DataFrame:
    """No SMS draft to a landline: an SMS task to a fixed-line number becomes a call."""
    phone = tasks["phone"].fillna("").astype(str).str.strip()
    landline = tasks["channel"].isin(vocab.SMS_CHANNELS) & (phone != "") & ~is_mobile(phone)
    if not landline.any():
        return tasks
    tasks = tasks.copy()
    tasks.loc[landline, "channel"] = vocab.PHONE
    tasks.loc[landline, "task"] = "电话代替短信(固定电话): " + tasks.loc[landline, "task"].astype(str)
    return tasks
