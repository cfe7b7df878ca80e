"""What every task family reads, and the helpers they share.

A task frame has one row per task: client_id, due (the rule's date), rank and kind
(from the vocabulary), task, channel, reason, plus optional columns a family brings
(name, phone, agent for a referred person; holiday, who, type for SMS drafts; keep
for tasks that survive 勿扰/流失).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .. import vocab
from ..analysis import analyse
from ..calendar import WorkCalendar, calendar_for, holiday_rows, lunar_label, occurrences
from ..frames import plain_index
from ..records import Book
from ..rules import Rules
from ..status import reached, with_reached

DAY = pd.Timedelta(days=1)
_RANK = {k.name: k.rank for k in vocab.TASK_KINDS}


@dataclass
class Context:
    """What every task family reads. Dates are pandas Timestamps at midnight."""

    book: Book
    rules: Rules
    today: pd.Timestamp
    end: pd.Timestamp
    clients: pd.DataFrame  # analyse()
    contacts: pd.DataFrame  # up to today, with `_reached`
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


def make_context(book: Book, rules: Rules, today: date, days: int,
                 clients: pd.DataFrame | None = None) -> Context:
    today_ts = pd.Timestamp(today)
    end = today_ts + pd.Timedelta(days=max(days, 1) - 1)
    contacts = with_reached(book.contacts)
    contacts = contacts[contacts["date"] < today_ts + DAY]  # a touch logged for tomorrow hasn't happened
    clients = clients if clients is not None else analyse(book, rules, today)
    last_ts = plain_index(contacts[["client_id", "date"]][reached(contacts)].groupby("client_id")["date"].max())
    return Context(book, rules, today_ts, end, clients, contacts,
                   calendar_for(today - timedelta(days=60), end.date() + timedelta(days=120),
                                holiday_rows(book)), last_ts)


def _values(value):
    return value.to_numpy() if isinstance(value, pd.Series | pd.Index) else value


def task_frame(client_id, due, kind, task, channel, reason, **extra) -> pd.DataFrame:
    """A task frame; Series arguments are taken by position, never aligned by index.

    `kind` is one task kind or one per row; the rank follows from the vocabulary.
    """
    frame = pd.DataFrame({"client_id": _values(client_id), "due": _values(due)})
    kind = _values(kind)
    rank = _RANK[kind] if isinstance(kind, str) else pd.Series(kind, dtype=object).map(_RANK).to_numpy()
    columns = {"rank": rank, "kind": kind, "task": task, "channel": channel, "reason": reason, **extra}
    for key, value in columns.items():
        frame[key] = _values(value)
    return frame


def month_day(ts: pd.Series) -> pd.Series:
    """3月5日 for each timestamp."""
    return ts.dt.month.astype(str) + "月" + ts.dt.day.astype(str) + "日"


def yearly(frame: pd.DataFrame, month: str, day: str, lunar: pd.Series, start: pd.Timestamp,
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


def labelled_day(occ: pd.DataFrame) -> pd.Series:
    """3月5日, or 3月5日(农历正月十五) for a lunar date."""
    return month_day(occ["when"]) + np.where(occ["label"] != "", "(" + occ["label"] + ")", "")
