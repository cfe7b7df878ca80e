"""Refresh an agent's 我的任务 and the 客户看板: the work behind the ribbon button.

`xlcrm refresh` and the ribbon's `main()` run the same `compute_refresh`; they differ
only in where the rows go (a file on disk through `writers`, or the open workbook
through xlwings).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core import vocab
from ..core.analysis import analyse
from ..core.board import board
from ..core.drafts import drafts
from ..core.loop import (
    TOUCH_KEYS,
    Logged,
    fold_key_person,
    ticked,
    touches_from_tasks,
    typed_not_ticked,
    with_task_ids,
)
from ..core.messages import Messages
from ..core.planner import unplanned_summary
from ..core.records import Book, Finding
from ..core.rules import Rules, read_rules
from ..core.tasks import planned_actions
from ..io import schema
from ..io.errors import RefreshError
from ..io.loader import load, with_rows
from ..io.package import Stamp, check_writable, replace_owned_sheets, target_of, workbook_lock
from ..io.splice import appended_parts
from ..io.validate import fatal, leave_out_bad_rows, validate
from .forked import kept, runner_for


@dataclass
class RefreshResult:
    agent: str
    today: date
    tasks: pd.DataFrame
    board: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    unplanned: pd.DataFrame = field(default_factory=pd.DataFrame)  # this agent's 待排
    left_out: int = 0  # rows left out because a required value is missing

    @property
    def summary(self) -> str:
        """The 我的任务 summary line: tasks planned, and what did not fit (待排)."""
        late = int((self.tasks["overdue_days"] > 0).sum()) if len(self.tasks) else 0
        text = f"共 {len(self.tasks)} 条任务(其中逾期 {late} 条);{unplanned_summary(self.unplanned)}"
        if len(self.unplanned):
            text += ",超出每日电话/拜访上限,将在之后的刷新中排入"
        return text
    logged: Logged | None = None  # the ticks of 我的任务 logged into 跟进记录 first

    @property
    def touches(self) -> int:
        return 0 if self.logged is None else len(self.logged.touches)

    @property
    def task_rows(self) -> list[tuple]:
        """The tasks, then one summary row (优先级 汇总) saying how many are 待排."""
        rows = frame_rows(self.tasks, schema.MY_TASKS)
        keys = schema.MY_TASKS.keys
        line = [None] * len(keys)
        line[keys.index("priority")] = "汇总"
        line[keys.index("task")] = self.summary
        return rows + [tuple(line)]

    @property
    def board_rows(self) -> list[tuple]:
        return frame_rows(self.board, schema.BOARD)


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _column_values(col: pd.Series) -> list:
    """A column as plain Python values (None for blank), converted a column at a time."""
    blank = col.isna().to_numpy()
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        values = np.asarray(col.array.to_pydatetime(), dtype=object)
        values[blank] = None
        return values.tolist()
    values = col.to_numpy(dtype=object, na_value=None).copy()  # may be a read-only view
    if col.dtype == object:  # may hold Timestamps, numpy scalars, NaN
        return [_cell_value(v) for v in values]
    values[blank] = None
    return values.tolist()


def frame_rows(frame: pd.DataFrame, sheet: schema.Sheet) -> list[tuple]:
    """A frame's rows in the sheet's column order, as plain Python values."""
    if not len(frame):
        return []
    cols = [_column_values(frame[k]) if k in frame else [None] * len(frame) for k in sheet.keys]
    return list(zip(*cols, strict=True))


def messages_for(book: Book) -> Messages:
    t = book.frames.get("templates")
    if t is None or t.empty:
        return Messages(sheet=book.sheet_name("templates"))
    t = t[t["name"].notna()]
    bodies: dict[str, list[str]] = {}
    for name, body in zip(t["name"], t["body"].fillna(""), strict=True):
        bodies.setdefault(name, []).append(body)  # rows with the same 模板名 are variants
    return Messages(bodies, book.sheet_name("templates"), dict(zip(t["name"], t["_row"], strict=True)))


def agent_names(book: Book) -> list[str]:
    return [a for a in book.agents["agent"].dropna().tolist()]


def resolve_agent(book: Book, agent: str | None, login: str | None = None) -> str:
    """The agent by name, else by OS login; RefreshError naming the known agents."""
    known = agent_names(book)
    if agent:
        agent = agent.strip()
        if agent in known:
            return agent
        raise RefreshError(f"顾问 '{agent}' 不在「{book.sheet_name('agents')}」表中;可选: {'、'.join(known) or '(无)'}")
    if login:
        agents = book.agents
        hit = agents[agents["login"].fillna("").str.lower() == login.lower()]
        if len(hit):
            return hit["agent"].iloc[0]
    raise RefreshError(f"没有选择顾问:请在「我的任务」表的「{schema.SELECTOR_LABEL}」格选择顾问,"
                       f"或在「顾问」表填写登录名;可选: {'、'.join(known) or '(无)'}")


def compute_refresh(book: Book, load_findings: list[Finding], agent: str | None, today: date,
                    days: int | None = None, login: str | None = None) -> RefreshResult:
    t0 = time.perf_counter()
    rules, rule_findings = read_rules(book.frames.get("rules"), book.sheet_name("rules"))
    # The checks and the clients' classes and states are independent: on a big office a
    # forked process checks while this one analyses (doors/forked). Whatever analysing a
    # book with a fatal problem raises waits until the problem itself has been said.
    run = runner_for(len(book.clients))
    prepared, checked = run([kept(lambda: _analysed(book, rules, today)), lambda: validate(book)])
    findings = load_findings + checked
    if fatal(findings):
        raise RefreshError("; ".join(str(f) for f in fatal(findings)[:5]))
    book, left_out, clients = prepared.get()
    findings += rule_findings
    who = resolve_agent(book, agent, login)
    messages = messages_for(book)
    planned = planned_actions(book, rules, today, days or rules["task_days"], clients=clients, run=run)
    all_tasks = planned.tasks
    tasks = with_task_ids(all_tasks[all_tasks["agent"] == who]).reset_index(drop=True)
    tasks["sms"] = drafts(tasks, clients, messages, rules["office_address"])
    findings += messages.findings + planned.findings
    result = RefreshResult(who, today, tasks, board(clients, all_tasks), findings,
                           unplanned=planned.unplanned[planned.unplanned["agent"] == who], left_out=left_out)
    result.timings["compute"] = time.perf_counter() - t0
    return result


def _analysed(book: Book, rules: Rules, today: date) -> tuple[Book, int, pd.DataFrame]:
    """The book without its incomplete rows, how many were left out, and analyse()."""
    book, left_out = leave_out_bad_rows(book)
    return book, left_out, analyse(book, rules, today)


@dataclass
class TickLog:
    """Ticked task rows turned into 跟进记录 rows, ready to append."""

    logged: Logged
    book: Book  # the Book with the new rows, for the rules to read
    letters: list[str]  # 跟进记录 column letter of each value of a row
    rows: list[tuple]
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Logbook:
    """What `log_ticks` checks ticks against, kept across several batches (collect's
    files): the 任务编号 in 跟进记录 so far and the known clients. Built once, a
    million-row log is not turned into a set again for every returned workbook."""

    logged_ids: set[str]
    known: set[str]

    @classmethod
    def of(cls, book: Book) -> Logbook:
        contacts = book.contacts
        logged = set(contacts["task_id"].dropna().astype(str)) if "task_id" in contacts else set()
        return cls(logged, set(book.clients["client_id"].dropna()))


TYPED_ALONE = [k for k in schema.TYPED_LOOP_KEYS if k not in ("done", "outcome")]  # the dates and 备注


def _not_logged(typed: list[str]) -> str:
    head = schema.MY_TASKS.column
    done, outcome = head("done").zh, head("outcome").zh
    return (f"填了{'、'.join(f'「{head(k).zh}」' for k in typed)},但没有填「{done}」({vocab.YES})或「{outcome}」:"
            f"这一行没有记录到跟进记录;要记录,请连同「{done}」或「{outcome}」一起填")


def log_ticks(book: Book, rows: pd.DataFrame, sheet_name: str, agent: str | None, today: date,
              logbook: Logbook | None = None) -> TickLog:
    """The 跟进记录 rows for the ticked rows of a task sheet (`rows`: loop columns, `planned`).

    Without `logbook`, the returned TickLog's book has the new rows (for the rules to
    read); with it, the book is returned as it was and `logbook` learns the new 任务编号.
    """
    letters_of = book.letters.get("contacts", {})
    keys = [k for k in TOUCH_KEYS if k in letters_of]
    letters = [letters_of[k] for k in keys]
    unticked = [(row, _not_logged(typed), sheet) for row, typed, sheet in typed_not_ticked(rows, TYPED_ALONE)]
    done_at = dict(zip(rows["_sheet"], rows["_done_at"], strict=True)) if "_done_at" in rows else {}

    def skipped(entries: list[tuple[int, str, str | None]]) -> list[Finding]:
        return [Finding(sheet or sheet_name, f"{done_at.get(sheet) or schema.column_letter_of(schema.MY_TASKS, 'done')}"
                        f"{row}", why, "warning", "tick-skipped") for row, why, sheet in entries]

    if not len(rows) or not ticked(rows).any():  # nothing ticked: nothing to check against
        return TickLog(Logged(pd.DataFrame(columns=list(TOUCH_KEYS)), skipped=unticked), book, letters, [],
                       skipped(unticked))
    contacts = book.contacts
    if logbook is None:
        logbook = Logbook.of(book)
        new_book = True
    else:
        new_book = False
    logged = touches_from_tasks(rows, today, agent, logbook.logged_ids, logbook.known)
    logged.skipped = sorted(logged.skipped + unticked, key=lambda e: (str(e[2] or ""), e[0]))
    findings = skipped(logged.skipped)
    if "key_person" not in letters_of:  # an older 跟进记录: the key person goes into 备注
        logged.touches = fold_key_person(logged.touches)
    if len(logged.touches) and "task_id" not in letters_of:
        findings.append(Finding(book.sheet_name("contacts"), "", "没有「任务编号」列:已记录的任务无法防止重复记录;"
                                "请在表格最右加一列「任务编号」", "warning", "column-missing", "task_id"))
    values = [tuple(_cell_value(r[k]) for k in keys) for r in logged.touches.to_dict("records")]
    if not new_book:
        logbook.logged_ids.update(logged.touches["task_id"].dropna().astype(str))
        return TickLog(logged, book, letters, values, findings)
    first = max(int(contacts["_row"].max()) + 1, 2) if len(contacts) else 2  # archived rows have _row 0
    with_new = with_rows(book, "contacts", logged.touches, first) if values else book
    return TickLog(logged, with_new, letters, values, findings)


def my_task_ticks(book: Book, today: date) -> pd.DataFrame:
    """我的任务's rows with `planned`: a row dated today or later was planned for that day;
    an older row (overdue when it was listed) was done since the last refresh: today."""
    rows = book.frames.get("my_tasks")
    if rows is None or rows.empty:
        return pd.DataFrame()
    today_ts = pd.Timestamp(today)
    return rows.assign(planned=rows["due"].where(rows["due"] >= today_ts, today_ts))


def refresh_file(path: str | Path, agent: str | None, today: date, days: int | None = None,
                 login: str | None = None) -> RefreshResult:
    """Log the ticks of 我的任务 into 跟进记录, then compute and write 我的任务 and 客户看板."""
    path = target_of(path)
    if not path.is_file():
        load(path)  # raises the one-line WorkbookError
    # The lock covers read and write: a second refresh of the same file waits, then
    # refreshes the first one's result instead of overwriting it (or logging ticks twice).
    with workbook_lock(path):
        t0 = time.perf_counter()
        book, findings = load(path)
        check_writable(path)
        t1 = time.perf_counter()
        if fatal(findings):  # compute_refresh says why
            compute_refresh(book, findings, agent, today, days, login)
        who = resolve_agent(book, agent, login)
        ticks = log_ticks(book, my_task_ticks(book, today), book.sheet_name("my_tasks"), who, today)
        result = compute_refresh(ticks.book, findings + ticks.findings, who, today, days, login)
        result.logged = ticks.logged
        t2 = time.perf_counter()
        contacts_name = book.sheet_name("contacts")

        def append(zf):
            return appended_parts(zf, contacts_name, ticks.letters, ticks.rows)[0]

        replace_owned_sheets(path, {"my_tasks": result.task_rows, "board": result.board_rows},
                             stamp=Stamp(result.agent, today), extra=append if ticks.rows else None)
    result.timings.update(read=t1 - t0, write=time.perf_counter() - t2)
    return result
