"""Follow-up status from the last *reached* touch and the class cadence.

DOMAIN: Maintenance standard. A touch counts as maintenance only if the client was
reached: its 结果 is not 未接通/拒接/空号, and it was a two-way touch. SMS and e-mail
are one-way (nobody knows the client read them), so they never reset the call
cadence; otherwise the monthly care SMS would keep every client "normal" forever.
The client's 首次接触日期 counts as a touch, so a client registered yesterday isn't
asleep. Status, first match wins: 流失, 勿扰, 沉睡 (no reached touch for >= 90 days or
never), 逾期N天, 今日到期, 正常.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .frames import client_table, plain
from .loader import Book
from .rules import Rules
from .schema import NOT_REACHED

ONE_WAY = ("短信", "邮件")


def reached(contacts: pd.DataFrame) -> pd.Series:
    """Contacts where the client was reached in a two-way touch."""
    if "_reached" in contacts:  # computed once by mark_reached
        return contacts["_reached"]
    return ~contacts["outcome"].isin(NOT_REACHED) & ~contacts["channel"].isin(ONE_WAY) & contacts["date"].notna()


def mark_reached(book: Book) -> None:
    """Add the derived column `_reached` to the contacts (like `_row`, not from the sheet)."""
    contacts = book.contacts
    if "_reached" not in contacts:
        book.frames["contacts"] = contacts.assign(_reached=reached(contacts).to_numpy())


def inactive(clients: pd.DataFrame) -> pd.Series:
    """勿扰 or 流失: nothing is generated for them except explicit promises."""
    return ((clients["do_not_contact"] == "是") | (clients["stage"] == "流失")
            | clients["churn_reason"].notna())


def status(book: Book, rules: Rules, classes: pd.DataFrame, today: date) -> pd.DataFrame:
    """Frame indexed by client_id: last_reached, days_since, cadence, due, status, overdue_days."""
    clients = client_table(book.clients)
    mark_reached(book)
    contacts = book.contacts
    today_ts = pd.Timestamp(today)
    touches = contacts[reached(contacts) & (contacts["date"] < today_ts + pd.Timedelta(days=1))]
    last = plain(touches.groupby("client_id")["date"].max()).reindex(clients.index)
    reached_count = plain(touches.groupby("client_id").size()).reindex(clients.index, fill_value=0)
    first = clients["first_contact"].where(clients["first_contact"] <= today_ts)
    last_reached = pd.concat([last.dt.normalize(), first.dt.normalize()], axis=1).max(axis=1)
    days_since = (today_ts - last_reached).dt.days
    cadence = classes["client_class"].map(
        {c: rules.cadence(c) for c in "ABCD"}).reindex(clients.index).astype(int)
    due = last_reached + pd.to_timedelta(cadence, unit="D")
    overdue = days_since - cadence

    churned = (clients["stage"] == "流失") | clients["churn_reason"].notna()
    dnc = clients["do_not_contact"] == "是"
    sleeping = last_reached.isna() | (days_since >= rules["sleeping_days"])
    label = np.select(
        [churned, dnc, sleeping, overdue > 0, overdue == 0],
        ["流失", "勿扰", "沉睡", "逾期" + overdue.fillna(0).astype(int).astype(str) + "天", "今日到期"],
        "正常")
    out = pd.DataFrame(index=clients.index)
    out["last_reached"] = last_reached
    out["days_since"] = days_since
    out["reached_count"] = reached_count
    out["cadence"] = cadence
    out["due"] = due
    out["status"] = label
    out["overdue_days"] = overdue.where(overdue > 0, 0).fillna(0).astype(int)
    out["active"] = ~inactive(clients)
    return out
