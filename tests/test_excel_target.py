"""ExcelTarget driven end to end through a fake xlwings book built from a real workbook file.

The fake implements only what ExcelTarget calls: book.sheets (iterate, by name),
sheet.range(cell) / range(a, b) with .value read/write and clear_contents, sheet.tables
(name, data_body_range, resize), book.save, book.app (screen_updating, alert) and the
native flags book.api.ReadOnly / Saved (Windows COM names) or .read_only.get() (macOS).
Extend it here when ExcelTarget learns a new call.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries

from xlcrm.doors.excel import READ_ONLY_NOTE, UNSAVED_NOTE, ExcelTarget, run_refresh
from xlcrm.io import schema

from .conftest import TODAY, client, make_workbook


class FakeRange:
    def __init__(self, sheet: FakeSheet, top: int, left: int, bottom: int | None = None, right: int | None = None):
        self.sheet, self.top, self.left = sheet, top, left
        self.bottom, self.right = bottom or top, right or left

    @property
    def value(self):
        if (self.top, self.left) == (self.bottom, self.right):
            return self.sheet.cells.get((self.top, self.left))
        return [[self.sheet.cells.get((r, c)) for c in range(self.left, self.right + 1)]
                for r in range(self.top, self.bottom + 1)]

    @value.setter
    def value(self, data) -> None:
        rows = data if isinstance(data, list) and data and isinstance(data[0], list) else [[data]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                self.sheet.cells[(self.top + i, self.left + j)] = v

    @property
    def row(self) -> int:
        return self.top

    @property
    def column(self) -> int:
        return self.left

    @property
    def last_cell(self) -> FakeRange:
        return FakeRange(self.sheet, self.bottom, self.right)

    def __getitem__(self, at: tuple[int, int]) -> FakeRange:  # range[i, j]: a cell, from the top left
        return FakeRange(self.sheet, self.top + at[0], self.left + at[1])

    def clear_contents(self) -> None:
        for r in range(self.top, self.bottom + 1):
            for c in range(self.left, self.right + 1):
                self.sheet.cells.pop((r, c), None)


class FakeTable:
    def __init__(self, sheet: FakeSheet, name: str, ref: str):
        self.sheet, self.name = sheet, name
        self.left, self.top, self.right, self.bottom = range_boundaries(ref)

    @property
    def range(self) -> FakeRange:  # the whole table, header included
        return FakeRange(self.sheet, self.top, self.left, self.bottom, self.right)

    @property
    def data_body_range(self):
        if self.bottom <= self.top:
            return None  # xlwings: a table without data rows has no body
        return FakeRange(self.sheet, self.top + 1, self.left, self.bottom, self.right)

    def resize(self, rng: FakeRange) -> None:
        self.top, self.left, self.bottom, self.right = rng.top, rng.left, rng.bottom, rng.right


class FakeApi:
    """The native sheet / book object: page setup, workbook flags (Windows spellings)."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class MacFlag:
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value

    def set(self, value):
        self.value = value


class FakeSheet:
    def __init__(self, name: str, cells: dict, tables: list[tuple[str, str]]):
        self.name, self.cells = name, cells
        self.tables = [FakeTable(self, n, ref) for n, ref in tables]
        self.api = FakeApi(PageSetup=FakeApi(LeftHeader="", RightHeader=""),
                           page_setup_object=FakeApi(left_header=MacFlag(""), right_header=MacFlag("")))

    def range(self, a, b=None) -> FakeRange:
        if b is None:
            return FakeRange(self, *a)
        return FakeRange(self, a[0], a[1], b[0], b[1])


class FakeSheets(list):
    def __getitem__(self, key):
        if isinstance(key, str):
            return next(s for s in self if s.name == key)
        return super().__getitem__(key)


class FakeApp:
    def __init__(self):
        self.screen_updating = True
        self.alerts: list[tuple[str, str]] = []

    def alert(self, prompt: str, title: str = "") -> None:
        assert self.screen_updating  # never leave Excel frozen
        self.alerts.append((prompt, title))


class FakeBook:
    """An open workbook: the file's cells plus edits made in the window (unsaved until save())."""

    def __init__(self, path: Path, read_only: bool = False, saved: bool = True, mac: bool = False):
        self.fullname = str(path)
        self.app = FakeApp()
        self.saves = 0
        self.pending: list = []  # edits typed in the window: callables applied to the file on save
        wb = openpyxl.load_workbook(path)
        self.sheets = FakeSheets()
        for ws in wb.worksheets:
            cells = {(c.row, c.column): c.value for row in ws.iter_rows() for c in row if c.value is not None}
            self.sheets.append(FakeSheet(ws.title, cells, [(t.name, t.ref) for t in ws.tables.values()]))
        flags = {"read_only": read_only, "saved": saved}
        self.api = (FakeApi(read_only=MacFlag(read_only), saved=MacFlag(saved)) if mac
                    else FakeApi(ReadOnly=flags["read_only"], Saved=flags["saved"]))

    def save(self) -> None:
        assert not (self.api.ReadOnly if hasattr(self.api, "ReadOnly") else self.api.read_only.get()), \
            "Excel cannot save a read-only workbook in place"
        for edit in self.pending:
            edit(Path(self.fullname))
        self.pending.clear()
        self.saves += 1

    def table_rows(self, sheet: schema.Sheet) -> list[tuple]:
        s = self.sheets[sheet.zh]
        (t,) = [t for t in s.tables if t.name == sheet.table]
        return [tuple(s.cells.get((r, c)) for c in range(t.left, t.right + 1)) for r in range(t.top + 1, t.bottom + 1)]


def add_client(cid: str, agent: str = "张伟"):
    def edit(path: Path) -> None:
        wb = openpyxl.load_workbook(path)
        ws = wb["客户"]
        row = ws.max_row + 1
        for j, key in enumerate(schema.CLIENTS.keys, start=1):
            ws.cell(row, j, client(cid, agent=agent, class_override="A").get(key))
        (t,) = ws.tables.values()
        t.ref = f"A1:{openpyxl.utils.get_column_letter(len(schema.CLIENTS.keys))}{row}"
        wb.save(path)
    return edit


@pytest.fixture
def master(tmp_path):
    path = make_workbook(tmp_path / "master.xlsx",
                         clients=[client("K1", class_override="B"), client("K2", agent="李娜", name="=1+1")],
                         contacts=[{"client_id": "K1", "date": datetime(2026, 11, 10), "channel": "电话"}])
    return path


def select(book: FakeBook, agent: str | None) -> None:
    book.sheets["我的任务"].cells[(1, schema.SELECTOR_COL + 2)] = agent


def test_writable_book_gets_tasks_n1_and_page_header_and_is_saved(master):
    before = master.read_bytes()
    book = FakeBook(master)
    select(book, "张伟")
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    tasks = book.table_rows(schema.MY_TASKS)
    assert tasks[-1][1] == "汇总" and "待排" in tasks[-1][5]  # the summary line comes last
    tasks = tasks[:-1]
    assert tasks and {r[2] for r in tasks} == {"K1"}
    assert book.sheets["我的任务"].cells[(1, schema.SELECTOR_COL + 2)] == "张伟"
    setup = book.sheets["我的任务"].api.PageSetup
    assert "张伟" in setup.LeftHeader and "2026-11-23" in setup.RightHeader
    assert "张伟" in book.sheets["客户看板"].api.PageSetup.LeftHeader
    board = book.table_rows(schema.BOARD)
    assert {r[0] for r in board} == {"K1", "K2"}
    assert "'=1+1" in {r[1] for r in board}  # formula-looking text is kept as text
    assert book.saves == 1  # saved after writing, not before (nothing was unsaved)
    assert master.read_bytes() == before  # the file itself is Excel's to save
    (prompt, title), = book.app.alerts
    assert prompt.startswith("已为 张伟 写入") and title == "刷新我的任务" and "只读" not in prompt


def test_fewer_rows_than_before_leave_nothing_behind(master):
    book = FakeBook(master)
    select(book, "张伟")
    sheet = book.sheets["我的任务"]
    for r in range(2, 40):
        sheet.cells[(r, 1)] = "旧任务"
    (table,) = sheet.tables
    table.bottom = 39
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    assert table.bottom == len(book.table_rows(schema.MY_TASKS)) + 1
    assert "旧任务" not in {v for (r, c), v in sheet.cells.items() if c == 1}


def test_unsaved_edits_are_saved_before_computing(master):
    book = FakeBook(master, saved=False)
    book.pending.append(add_client("K9"))  # typed in the window, not yet in the file
    select(book, "张伟")
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    assert "K9" in {r[2] for r in book.table_rows(schema.MY_TASKS)}
    assert book.saves == 2  # before computing, and after writing


@pytest.mark.parametrize("mac", [False, True])
def test_read_only_book_computes_from_the_saved_file_and_does_not_save(master, mac):
    before = master.read_bytes()
    book = FakeBook(master, read_only=True, saved=False, mac=mac)
    book.pending.append(add_client("K9"))  # someone's unsaved typing in a read-only window
    select(book, "张伟")
    assert run_refresh(ExcelTarget(book, mac=mac), TODAY, login=None)
    tasks = book.table_rows(schema.MY_TASKS)
    assert tasks and "K9" not in {r[2] for r in tasks}  # computed from the saved file
    assert book.saves == 0 and master.read_bytes() == before
    (prompt, _), = book.app.alerts
    assert prompt.startswith("已为 张伟 写入") and READ_ONLY_NOTE in prompt and UNSAVED_NOTE in prompt
    assert "完成" in READ_ONLY_NOTE and "没有保存" in READ_ONLY_NOTE
    if mac:
        assert "张伟" in book.sheets["我的任务"].api.page_setup_object.left_header.get()


def test_no_agent_selected_falls_back_to_login_then_explains(master):
    book = FakeBook(master)
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login="LINA")
    assert book.sheets["我的任务"].cells[(1, schema.SELECTOR_COL + 2)] == "李娜"
    other = FakeBook(master)
    assert not run_refresh(ExcelTarget(other, mac=False), TODAY, login="nobody")
    (prompt, _), = other.app.alerts
    assert "没有选择顾问" in prompt and "张伟、李娜" in prompt
    assert other.table_rows(schema.MY_TASKS) == [(None,) * len(schema.MY_TASKS.columns)]  # untouched
    assert other.saves == 0 and other.app.screen_updating


def test_unknown_agent_is_named(master):
    book = FakeBook(master)
    select(book, "王五")
    assert not run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    (prompt, _), = book.app.alerts
    assert prompt.startswith("没有刷新") and "王五" in prompt and book.saves == 0


def test_data_errors_are_reported_not_raised(tmp_path):
    path = make_workbook(tmp_path / "bad.xlsx", clients=[client("K1", class_override="B"),
                                                         client("K1", name="重复"), client("K3", agent="不存在")])
    book = FakeBook(path)
    select(book, "张伟")
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    (prompt, _), = book.app.alerts
    assert prompt.startswith("已为 张伟 写入") and "数据有 2 处问题" in prompt
    assert "客户!A3" in prompt and "xlcrm validate" in prompt


def test_an_unsaved_new_workbook_is_refused(tmp_path):
    path = make_workbook(tmp_path / "x.xlsx", clients=[client("K1")])
    book = FakeBook(path)
    book.fullname = "工作簿1"
    assert not run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    assert "请先保存" in book.app.alerts[0][0]


def test_a_missing_owned_sheet_is_named(master, tmp_path):
    book = FakeBook(master)
    book.sheets[:] = [s for s in book.sheets if s.name != "客户看板"]
    select(book, "张伟")
    assert not run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    assert "客户看板" in book.app.alerts[0][0] and book.app.screen_updating


def test_fake_reads_like_the_file(master, tmp_path):
    copy = tmp_path / "copy.xlsx"
    shutil.copy(master, copy)
    book = FakeBook(copy)
    assert book.table_rows(schema.CLIENTS)[0][0] == "K1"


def tick_first_task(path: Path) -> str:
    """Type 完成=是 on the first task row of 我的任务 in the file, as an agent would; its 任务编号."""
    wb = openpyxl.load_workbook(path)
    ws = wb["我的任务"]
    at = next(r for r in range(1, ws.max_row + 1) if "任务编号" in [c.value for c in ws[r]])
    header = {c.value: c.column for c in ws[at]}
    row = next(r for r in range(at + 1, ws.max_row + 1) if ws.cell(r, header["任务编号"]).value)
    ws.cell(row, header["完成"]).value = "是"
    wb.save(path)
    return ws.cell(row, header["任务编号"]).value


def test_the_ribbon_appends_ticks_to_the_contacts_table_and_never_past_excels_last_row(master, monkeypatch):
    from xlcrm.io import package

    from .conftest import run_cli

    assert run_cli("refresh", master, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    done = tick_first_task(master)
    monkeypatch.setattr(package, "EXCEL_ROWS", 2)  # 跟进记录 has its header and one row: no room
    book = FakeBook(master)
    select(book, "张伟")
    contacts = book.table_rows(schema.CONTACTS)
    tasks = dict(book.sheets["我的任务"].cells)
    assert not run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    (prompt, _title), = book.app.alerts
    assert prompt.startswith("没有刷新") and "已用到第 2 行,再追加 1 行" in prompt and "xlcrm archive" in prompt
    assert book.table_rows(schema.CONTACTS) == contacts and book.sheets["我的任务"].cells == tasks  # the tick stays
    monkeypatch.setattr(package, "EXCEL_ROWS", 3)  # room for the one row
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    assert "记录了 1 次联系" in book.app.alerts[-1][0]
    rows = book.table_rows(schema.CONTACTS)
    assert rows[:-1] == contacts and len(rows) == 2
    assert done in rows[-1] and "K1" in rows[-1] and "张伟" in rows[-1], rows[-1]


def test_the_ribbon_says_which_typed_rows_were_not_logged(master):
    """我的任务 is rewritten by the button: a note typed without 完成 or 结果 is not logged,
    and the agent reads that in the message box, with the cell."""
    from .conftest import run_cli

    assert run_cli("refresh", master, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    wb = openpyxl.load_workbook(master)
    ws = wb["我的任务"]
    at = next(r for r in range(1, ws.max_row + 1) if "任务编号" in [c.value for c in ws[r]])
    header = {c.value: c.column for c in ws[at]}
    ws.cell(at + 1, header["备注"]).value = "明天上午再打"
    wb.save(master)
    book = FakeBook(master)
    select(book, "张伟")
    assert run_refresh(ExcelTarget(book, mac=False), TODAY, login=None)
    (prompt, _title), = book.app.alerts
    done = openpyxl.utils.get_column_letter(header["完成"])
    assert "记录了 0 次联系" in prompt
    assert f"有 1 行没有记录到跟进记录,例如 我的任务!{done}{at + 1}: 填了「备注」" in prompt, prompt
