"""The planner: turns the task families' wish list into a plan an agent can work from.

DOMAIN: Planning capacity. One row per client per day per kind of contact (a visit
absorbs a call the same day and the reasons are joined; a key person of a corporate
account, with their own name and phone, is a person of their own; an SMS stays its own row;
distinct tasks sharing client, day and kind become one row naming both). Each agent
gets at most 规则 每日电话上限 calls and 每日拜访上限 visits per working day.
Fixed-date tasks keep their dates; flexible ones (vocab.TaskKind.flexible, and any
overdue task but a promise or an activity invitation) fill what capacity is left by priority: promises, then
rank, then class A→D, then most overdue, spilling to the next working day. What does
not fit in the window is returned as `unplanned` (待排), never dropped silently.

Used by refresh, the ribbon and weekly alike (through `tasks.planned_actions`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import vocab
from .loop import JOIN_SEP, with_task_ids
from .records import Finding
from .rules import Rules

_JOIN = "；"
TALK, MESSAGE = "talk", "message"
# Columns joined (unique values, in priority order) when rows merge.
_JOINED = {"kinds": "、", "task": _JOIN, "reason": _JOIN, "holiday": "、", "who": "、", "type": "、", "event": "、"}


@dataclass
class Plan:
    tasks: pd.DataFrame  # one row per client per day per kind of contact
    unplanned: pd.DataFrame  # flexible tasks that did not fit in the window (待排)
    findings: list[Finding] = field(default_factory=list)  # e.g. a year with no holiday schedule

    def unplanned_count(self, agent: str | None = None) -> int:
        if agent is None:
            return len(self.unplanned)
        return int((self.unplanned["agent"] == agent).sum())


def contact_kind(channel: pd.Series) -> pd.Series:
    return pd.Series(np.where(channel.isin(vocab.TALK_CHANNELS), TALK, MESSAGE), index=channel.index)


def priority_key(tasks: pd.DataFrame) -> pd.DataFrame:
    """Sort columns: promises first, then rank, then class A→D, then most overdue."""
    urgency = tasks["urgency"] if "urgency" in tasks else tasks["overdue_days"]
    return pd.DataFrame({
        "_promise": (tasks["kind"] != vocab.PROMISE).astype(int),
        "_rank": tasks["rank"].astype(int),
        # Positions in CLASSES (-1 for a blank or unknown class): a dict map over Arrow strings
        # cost ~35 ms a call on 300,000 tasks.
        "_class": _class_order(tasks["client_class"]),
        "_urgency": -pd.to_numeric(urgency, errors="coerce").fillna(0.0),
    }, index=tasks.index)


_CLASSES = pd.Index(list(vocab.CLASSES), dtype=object)


def _class_order(client_class: pd.Series) -> np.ndarray:
    codes = _CLASSES.get_indexer(client_class.to_numpy(dtype=object))
    return np.where(codes < 0, len(vocab.CLASSES), codes)


# A runner computes a list of pieces of work (functions without arguments) and returns
# their results in order, maybe in other processes (the doors pass one; see doors/forked).
Runner = Callable[[list[Callable[[], Any]]], list[Any]]
SPLIT_MIN = 20_000  # tasks: below this, planning two halves apart costs more than it saves


def plan(tasks: pd.DataFrame, rules: Rules, today: pd.Timestamp, end: pd.Timestamp,
         is_working_day: Callable, run: Runner | None = None) -> Plan:
    """Place `tasks` (with due, date, overdue_days, rank, kind, client_id, agent, channel …).

    With `run`, the agents are planned in two groups by it (each agent's capacity is its
    own, so the groups do not meet): the same rows, each agent's in the same order.
    """
    if tasks.empty:
        return Plan(tasks, tasks.iloc[0:0])
    if run is not None and len(tasks) >= SPLIT_MIN:
        first = _agent_halves(tasks["agent"])
        parts = run([lambda: _plan(tasks[first], rules, today, end, is_working_day),
                     lambda: _plan(tasks[~first], rules, today, end, is_working_day)])
        out = pd.concat([p[0] for p in parts], ignore_index=True)
        unplanned = pd.concat([p[1] for p in parts])
        # What did not fit, in the order one plan of everyone gives (rows equal in all of
        # these are one client's, so one group's, already in their order).
        unplanned = unplanned.assign(**priority_key(unplanned)).sort_values(
            ["_promise", "_rank", "_class", "_urgency", "due", "client_id"], kind="stable"
        ).drop(columns=["_promise", "_rank", "_class", "_urgency"])
    else:
        out, unplanned = _plan(tasks, rules, today, end, is_working_day)
    return Plan(out.drop(columns=["_contact", "_who"]).reset_index(drop=True),
                unplanned.drop(columns=["_contact", "_who"]).reset_index(drop=True))


def _agent_halves(agent: pd.Series) -> np.ndarray:
    """Rows of the first of two groups of agents with about as many tasks each."""
    codes, _names = pd.factorize(agent, use_na_sentinel=False)
    counts = np.bincount(codes)
    group = np.zeros(len(counts), dtype=bool)
    load = [0, 0]
    for c in np.argsort(-counts, kind="stable"):  # the biggest first, to the lighter group
        g = 0 if load[0] <= load[1] else 1
        group[c] = g == 0
        load[g] += counts[c]
    return group[codes]


def _plan(tasks: pd.DataFrame, rules: Rules, today: pd.Timestamp, end: pd.Timestamp,
          is_working_day: Callable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The placed rows and what did not fit (待排), with the helper columns still on."""
    tasks = tasks.copy()
    tasks["_contact"] = contact_kind(tasks["channel"])
    # Who is contacted: a key person of an account (their own name and phone) is not the
    # account's contact, so a call to each stays its own row.
    tasks["_who"] = tasks["name"].fillna("").astype(str) + "|" + tasks["phone"].fillna("").astype(str)
    tasks["kinds"] = tasks["kind"]  # every kind a merged row stands for, top priority first
    # An overdue invitation stays today: moved later it could fall after the activity.
    flexible = (tasks["kind"].isin(vocab.FLEXIBLE_KINDS)
                | ((tasks["overdue_days"] > 0) & ~tasks["kind"].isin((vocab.PROMISE, vocab.ACTIVITY_INVITATION))))
    movable = flexible & (tasks["_contact"] == TALK)
    fixed = merge_rows(tasks[~movable])
    placed, unplanned = _place(tasks[movable], fixed, rules, today, end, is_working_day)
    out = merge_rows(pd.concat([fixed, placed], ignore_index=True)) if len(placed) else fixed
    return out, unplanned


def merge_rows(tasks: pd.DataFrame) -> pd.DataFrame:
    """One row per (agent, client, day, contact kind); a visit absorbs a call, texts joined."""
    if tasks.empty:
        return tasks
    # The priority order and the duplicates found on the key columns alone, then the rows
    # taken once in that order (sorting the whole frame, then splitting it, took it twice).
    keys = ["agent", "client_id", "date", "_contact"] + (["_who"] if "_who" in tasks else [])
    order = priority_key(tasks).reset_index(drop=True).sort_values(
        ["_promise", "_rank", "_class", "_urgency"], kind="stable").index.to_numpy()
    dup = tasks[keys].take(order).duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return tasks.take(order)
    single, multi = tasks.take(order[~dup]), tasks.take(order[dup])
    # The merged row's 任务编号 lists each task's own number (made from that task's kind,
    # due date and ref, not from the joined row's earliest due date), the top task's first,
    # so a tick on it closes all of them on the next refresh.
    multi = with_task_ids(multi)
    # Vectorised per group (a loop over groups took 20 of 37 s on 20,000 clients): the
    # first row of each group in priority order, then each merged column from its group.
    gid = multi.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()  # by first appearance
    firsts = np.unique(gid, return_index=True)[1]
    merged = multi.iloc[firsts].copy()

    def per_group(values: pd.Series, how: str) -> np.ndarray:
        return getattr(values.reset_index(drop=True).groupby(gid), how)().to_numpy()

    def joined(values: np.ndarray, mask: np.ndarray, sep: str) -> np.ndarray:
        """Per group: the distinct `values[mask]` in order, joined by `sep` ('' for none)."""
        out = np.full(len(firsts), "", dtype=object)
        g, v = gid[mask], values[mask]
        if not len(g):
            return out
        codes, distinct = pd.factorize(v)
        first = np.sort(np.unique(g.astype(np.int64) * (len(distinct) + 1) + codes, return_index=True)[1])
        order = np.argsort(g[first], kind="stable")  # by group, each group's values in order
        gs, vs = g[first][order], v[first][order]
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        ends = np.r_[starts[1:], len(gs)]
        one = ends - starts == 1  # most groups hold one distinct value: no join
        out[gs[starts[one]]] = vs[starts[one]]
        for start, end in zip(starts[~one].tolist(), ends[~one].tolist(), strict=True):
            out[gs[start]] = sep.join(vs[start:end])
        return out

    def texts(col: str) -> np.ndarray:
        """Where `multi[col]` holds a non-empty string."""
        column = multi[col]
        if isinstance(column.dtype, pd.StringDtype):
            return (column.notna() & (column != "")).to_numpy(dtype=bool, na_value=False)
        values = column.to_numpy(dtype=object)
        return np.fromiter((isinstance(v, str) and v != "" for v in values), dtype=bool, count=len(values))

    visit = per_group(multi["channel"] == vocab.VISIT, "any")
    merged["channel"] = np.where(visit, vocab.VISIT, merged["channel"].to_numpy(dtype=object))
    merged["rank"] = per_group(multi["rank"], "min")
    merged["due"] = per_group(multi["due"], "min")
    merged["overdue_days"] = per_group(multi["overdue_days"], "max")
    ids = np.array([str(t) for t in multi["task_id"]], dtype=object)
    merged["task_id"] = joined(ids, np.ones(len(ids), dtype=bool), JOIN_SEP)
    if "keep" in multi:
        merged["keep"] = per_group(multi["keep"].fillna(False).astype(bool), "any")
    for col, sep in _JOINED.items():
        if col not in multi:
            continue
        merged[col] = joined(multi[col].to_numpy(dtype=object), texts(col), sep)
    merged = merged.reindex(columns=tasks.columns)
    return pd.concat([single, merged], ignore_index=True)


def _values(series: pd.Series) -> list:
    """The values iterating `series` gives, as a list; an Arrow-backed column without the
    per-element scalar conversion of its iterator (same values, the dtype's own blank)."""
    if isinstance(series.array, pd.arrays.ArrowExtensionArray):
        return series.to_numpy(dtype=object, na_value=series.dtype.na_value).tolist()
    return list(series)


_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


def _ns(dates: pd.Series) -> list[int]:
    """Datetimes as int64 nanoseconds (NaT as _NAT)."""
    return dates.to_numpy(dtype="datetime64[ns]").view(np.int64).tolist()


def _lists(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    return [_values(frame[c]) for c in columns]


def _place(flex: pd.DataFrame, fixed: pd.DataFrame, rules: Rules, today: pd.Timestamp, end: pd.Timestamp,
           is_working_day: Callable) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Greedy: by priority, each flexible talk task on the first working day it fits."""
    if flex.empty:
        return flex, flex
    # Days as int64 nanoseconds: the loop below compares and hashes them 100,000s of times.
    days = [d.value for d in pd.date_range(today, end) if is_working_day(d.date())]
    limits = {vocab.PHONE: rules["calls_per_day"], vocab.VISIT: rules["visits_per_day"]}
    wake_limit = rules["sleeping_per_day"]
    used: dict[tuple, int] = {}
    talk = fixed[fixed["_contact"] == TALK]
    busy: dict[tuple, list] = {}  # (agent, client, who) -> sorted days with a talk row
    for agent, client, who, channel, day in zip(*_lists(talk, ["agent", "client_id", "_who", "channel"]),
                                                _ns(talk["date"]), strict=True):
        used[(agent, day, channel)] = used.get((agent, day, channel), 0) + 1
        bisect.insort(busy.setdefault((agent, client, who), []), day)
    free: dict[tuple, list] = {}  # (agent, channel) -> days with capacity left, sorted

    def open_days(agent, channel) -> list:
        key = (agent, channel)
        if key not in free:
            cap = limits.get(channel, limits[vocab.PHONE])
            free[key] = [d for d in days if used.get((agent, d, channel), 0) < cap]
        return free[key]

    wake_used: dict[tuple, int] = {}
    flex = flex.assign(**priority_key(flex)).sort_values(
        ["_promise", "_rank", "_class", "_urgency", "due", "client_id"], kind="stable")
    earliest = flex["due"].where(flex["due"] >= today, today)
    dates, fits = [], []
    for agent, client, who, channel, kind, first in zip(
            *_lists(flex, ["agent", "client_id", "_who", "channel", "kind"]), _ns(earliest), strict=True):
        own = busy.get((agent, client, who), [])
        i = bisect.bisect_left(own, first)
        merge_day = own[i] if i < len(own) else None
        avail = open_days(agent, channel)
        j = bisect.bisect_left(avail, first)
        slot = None
        if kind == vocab.WAKE_UP:  # 沉睡唤醒每日上限 on top of the call capacity
            while j < len(avail) and wake_used.get((agent, avail[j]), 0) >= wake_limit:
                j += 1
        slot = avail[j] if j < len(avail) else None
        if merge_day is not None and (slot is None or merge_day <= slot):
            dates.append(merge_day)  # the client already gets a call or visit that day
            fits.append(True)
            continue
        if slot is None:
            dates.append(_NAT)
            fits.append(False)
            continue
        dates.append(slot)
        fits.append(True)
        key = (agent, slot, channel)
        used[key] = used.get(key, 0) + 1
        if used[key] >= limits.get(channel, limits[vocab.PHONE]):
            avail.pop(j)
        if kind == vocab.WAKE_UP:
            wake_used[(agent, slot)] = wake_used.get((agent, slot), 0) + 1
        bisect.insort(busy.setdefault((agent, client, who), []), slot)
    flex = flex.drop(columns=["_promise", "_rank", "_class", "_urgency"])
    flex["date"] = pd.Series(np.array(dates, dtype=np.int64).view("datetime64[ns]"), index=flex.index)
    fits = np.array(fits, dtype=bool)
    return flex[fits], flex[~fits]


def unplanned_summary(unplanned: pd.DataFrame) -> str:
    """待排 N 条(维护电话 30、唤醒沉睡 12): what did not fit, by kind."""
    if unplanned.empty:
        return f"{vocab.UNPLANNED} 0 条"
    counts = unplanned["kind"].value_counts()
    return f"{vocab.UNPLANNED} {len(unplanned)} 条(" + "、".join(f"{k} {n}" for k, n in counts.items()) + ")"
