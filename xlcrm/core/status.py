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

from . import vocab
from .frames import client_table, plain_index
from .records import Book
from .rules import Rules


def reached(contacts: pd.DataFrame) -> pd.Series:
    """Contacts where the client was reached in a two-way touch."""
    if "_reached" in contacts:  # computed once by with_reached
        return contacts["_reached"]
    return (~contacts["outcome"].isin(vocab.NOT_REACHED) & ~contacts["channel"].isin(vocab.ONE_WAY)
            & contacts["date"].notna())


def with_reached(contacts: pd.DataFrame) -> pd.DataFrame:
    """The contacts with the derived column `_reached` (like `_row`, not from the sheet).

    A new frame: the Book's own frame is left as loaded.
    """
    if "_reached" in contacts:
        return contacts
    return contacts.assign(_reached=reached(contacts).to_numpy())


def churned(clients: pd.DataFrame) -> pd.Series:
    return (clients["stage"] == vocab.STAGE_CHURNED) | clients["churn_reason"].notna()


def do_not_contact(clients: pd.DataFrame) -> pd.Series:
    return clients["do_not_contact"] == vocab.YES


def inactive(clients: pd.DataFrame) -> pd.Series:
    """勿扰 or 流失: nothing is generated for them except explicit promises."""
    return do_not_contact(clients) | churned(clients)


def is_overdue(labels: pd.Series) -> pd.Series:
    """Status labels that say 逾期N天."""
    return labels.str.startswith(vocab.OVERDUE_PREFIX)


def status(book: Book, rules: Rules, classes: pd.DataFrame, today: date,
           contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Frame indexed by client_id: last_reached, days_since, cadence, due, status, overdue_days."""
    clients = client_table(book.clients)
    contacts = with_reached(book.contacts if contacts is None else contacts)
    today_ts = pd.Timestamp(today)
    touches = contacts[["client_id", "date"]][reached(contacts) & (contacts["date"] < today_ts + pd.Timedelta(days=1))]
    per_client = touches.groupby("client_id", observed=True)["date"].agg(["max", "size"])  # one grouping
    last = plain_index(per_client["max"]).reindex(clients.index)
    reached_count = plain_index(per_client["size"]).reindex(clients.index, fill_value=0)
    first = clients["first_contact"].where(clients["first_contact"] <= today_ts)
    last_reached = pd.concat([last.dt.normalize(), first.dt.normalize()], axis=1).max(axis=1)
    days_since = (today_ts - last_reached).dt.days
    cadence = classes["client_class"].map(
        {c: rules.cadence(c) for c in vocab.CLASSES}).reindex(clients.index).astype(int)
    due = last_reached + pd.to_timedelta(cadence, unit="D")
    overdue = days_since - cadence

    sleeping = last_reached.isna() | (days_since >= rules["sleeping_days"])
    label = np.select(
        [churned(clients), do_not_contact(clients), sleeping, overdue > 0, overdue == 0],
        [vocab.CHURNED, vocab.DO_NOT_CONTACT, vocab.SLEEPING,
         vocab.OVERDUE_PREFIX + overdue.fillna(0).astype(int).astype(str) + vocab.OVERDUE_SUFFIX,
         vocab.DUE_TODAY],
        vocab.NORMAL)
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
