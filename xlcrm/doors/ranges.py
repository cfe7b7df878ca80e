"""Excel ranges (as xlwings hands them to a UDF) in, one aligned column out.

xlwings passes a table range such as `客户[#All]` as a list of rows, header first,
with dates as `datetime` and empty cells as `None`. These functions read such ranges
through the loader's own row reader, run the same core as the CLI, and return one
value per input row, so the result spills beside the table. Problems become a short
Excel-style error string (`#缺少列:客户编号`) instead of a traceback in a cell.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from ..core import vocab
from ..core.analysis import analyse
from ..core.board import board
from ..core.records import Book
from ..core.rules import DEFAULT_RULES, Rules, read_rules
from ..core.tasks import next_actions
from ..io import schema
from ..io.dates import parse_date
from ..io.loader import new_book, read_sheet


class RangeError(Exception):
    """Bad UDF input; str() is the Excel-style error text shown in the cell."""


def _rows(value: Any) -> list[list[Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        return [[value]]
    if value and not isinstance(value[0], list | tuple):
        return [list(value)]
    return [list(r) for r in value]


def _sheet(value: Any, sheet: schema.Sheet, required: bool) -> tuple[pd.DataFrame, dict[str, str]]:
    rows = _rows(value)
    if not rows:
        if required:
            raise RangeError(f"#缺少参数:{sheet.zh}")
        rows = [[c.zh for c in sheet.columns]]
    frame, letters, findings = read_sheet(rows, sheet, sheet.zh)
    for finding in findings:
        if finding.code == "header-missing":
            raise RangeError(f"#缺少表头:{sheet.zh}(请引用 {sheet.table}[#All])")
        if finding.code == "column-missing":
            raise RangeError(f"#缺少列:{sheet.column(finding.field).zh}")
    return frame, letters


def book_from_ranges(clients: Any, referrals: Any = None, contacts: Any = None, key_dates: Any = None,
                     rules: Any = None, handovers: Any = None, profiles: Any = None, activities: Any = None,
                     key_persons: Any = None) -> tuple[Book, Rules]:
    frames, letters = {}, {}
    for key, value, required in (("clients", clients, True), ("referrals", referrals, False),
                                 ("contacts", contacts, False), ("key_dates", key_dates, False),
                                 ("handovers", handovers, False), ("profiles", profiles, False),
                                 ("activities", activities, False), ("key_persons", key_persons, False)):
        frames[key], letters[key] = _sheet(value, schema.SHEET_BY_KEY[key], required)
    book = new_book(frames, letters=letters)
    if rules is None:
        return book, DEFAULT_RULES
    rule_frame, _ = _sheet(rules, schema.RULES_SHEET, False)
    return book, read_rules(rule_frame)[0]


def day(value: Any, clock: date) -> date:
    """A date argument (datetime, serial number or text), or `clock` when empty."""
    if value in (None, ""):
        return clock
    try:
        parsed = parse_date(value)
    except ValueError:
        raise RangeError(f"#日期无效:{value}") from None
    return parsed.date() if parsed else clock


def aligned(book: Book, values: pd.Series, header: str, n_rows: int) -> list[list[Any]]:
    """One value per input row (header row first), placed by each client's Excel row."""
    out: list[list[Any]] = [[""] for _ in range(max(n_rows, 1))]
    clients = book.clients
    header_row = int(clients["_row"].min()) - 1 if len(clients) else 1
    out[header_row - 1] = [header]
    for cid, row in zip(clients["client_id"], clients["_row"], strict=True):
        value = values.get(cid, "") if cid is not None else ""
        out[row - 1] = ["" if value is None or (isinstance(value, float) and value != value) else value]
    return out


def class_column(clients, referrals, contacts, today, rules, clock: date, with_reason: bool = False):
    book, r = book_from_ranges(clients, referrals, contacts, rules=rules)
    a = analyse(book, r, day(today, clock))
    col = "class_reason" if with_reason else "client_class"
    return aligned(book, a[col], "类别依据" if with_reason else "类别", len(_rows(clients)))


def status_column(clients, referrals, contacts, today, rules, clock: date):
    book, r = book_from_ranges(clients, referrals, contacts, rules=rules)
    a = analyse(book, r, day(today, clock))
    return aligned(book, a["status"], "跟进状态", len(_rows(clients)))


def next_column(clients, referrals, contacts, today, key_dates, rules, clock: date, handovers=None, profiles=None,
                activities=None, key_persons=None):
    book, r = book_from_ranges(clients, referrals, contacts, key_dates, rules, handovers, profiles, activities,
                               key_persons)
    when = day(today, clock)
    a = analyse(book, r, when)
    steps = board(a, next_actions(book, r, when, r["task_days"], clients=a)).set_index("client_id")
    text = steps["next_date"].dt.strftime("%Y-%m-%d").fillna("") + " " + steps["next_task"].fillna("")
    return aligned(book, text.str.strip(), "下一步", len(_rows(clients)))


def cadence(client_class: Any, rules: Any = None) -> int:
    cls = str(client_class or "").strip().upper()
    if cls not in vocab.CLASSES:
        raise RangeError(f"#类别无效:{client_class}")
    r = DEFAULT_RULES if rules is None else read_rules(_sheet(rules, schema.RULES_SHEET, False)[0])[0]
    return r.cadence(cls)


def overdue(client_class: Any, last_contact: Any, today: Any, rules: Any, clock: date) -> str:
    """The status of a client of `client_class` last reached on `last_contact`."""
    cls = str(client_class or "").strip().upper()
    if cls not in vocab.CLASSES:
        raise RangeError(f"#类别无效:{client_class}")
    last = day(last_contact, date.min) if last_contact not in (None, "") else None
    header = [c.zh for c in schema.CLIENTS.columns]
    row = {"client_id": "X", "name": "-", "agent": "-", "class_override": cls, "first_contact": last}
    clients = [header, [row.get(c.key) for c in schema.CLIENTS.columns]]
    return status_column(clients, None, None, today, rules, clock)[1][0]
