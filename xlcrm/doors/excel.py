"""The ribbon button's door: `xlcrm.main()` and the adapters it writes through.

`run_refresh(target, today, login)` is everything the button does; a *target* is the
workbook seen through four operations (prepare, selected_agent, write, tell).
`ExcelTarget` talks to Excel through xlwings (tests drive it through a fake book);
`FileTarget` does the same on a file (through `io.package`). Both share `compute_refresh` with `xlcrm refresh`.

The daily loop: the ticks of 我的任务 are read from the saved file (`prepare` saves the
open workbook first), turned into 跟进记录 rows by `refresh.log_ticks`, and handed to
`target.append_contacts` before the tasks are recomputed and written.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from openpyxl.utils import column_index_from_string

from ..io import schema
from ..io.errors import RefreshError, WorkbookError
from ..io.loader import load
from ..io.package import Stamp, check_room, page_header, replace_owned_sheets
from ..io.splice import appended_parts
from ..io.validate import errors, fatal
from .refresh import compute_refresh, log_ticks, my_task_ticks, resolve_agent

FORMULA_STARTS = ("=", "+", "-", "@")


class Target(Protocol):
    path: Path

    def prepare(self) -> None: ...

    def selected_agent(self) -> str | None: ...

    def label(self, agent: str, today: date) -> None: ...

    def append_contacts(self, letters: list[str], rows: list[tuple]) -> None:
        """Append rows (values for the 跟进记录 columns `letters`) to the 跟进记录 table."""

    def write(self, contents: dict[str, list[tuple]]) -> None: ...

    def tell(self, message: str) -> None: ...


def as_text_for_excel(value: Any) -> Any:
    """A value Excel will keep as typed: text that looks like a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def run_refresh(target: Target, today: date, login: str | None) -> bool:
    """Refresh 我的任务 and 客户看板 of `target`; tells the user what happened."""
    try:
        target.prepare()
        book, findings = load(target.path)
        if fatal(findings):  # compute_refresh says why
            compute_refresh(book, findings, target.selected_agent(), today, login=login)
        who = resolve_agent(book, target.selected_agent(), login)
        ticks = log_ticks(book, my_task_ticks(book, today), book.sheet_name("my_tasks"), who, today)
        result = compute_refresh(ticks.book, findings + ticks.findings, who, today, login=login)
        result.logged = ticks.logged
        target.label(result.agent, today)  # N1 and the printed page header say whose tasks these are
        if ticks.rows:
            target.append_contacts(ticks.letters, ticks.rows)
        target.write({"my_tasks": result.task_rows, "board": result.board_rows})
    except (RefreshError, WorkbookError) as exc:
        target.tell(f"没有刷新: {exc}")
        return False
    message = f"已为 {result.agent} 写入{result.summary};记录了 {result.touches} 次联系到跟进记录。"
    skipped = [f for f in result.findings if f.code == "tick-skipped"]
    if skipped:  # the rows are rewritten: the agent must hear that these were not logged
        message += f"\n有 {len(skipped)} 行没有记录到跟进记录,例如 {skipped[0]}"
    problems = errors(result.findings)
    if problems:
        message += f"\n数据有 {len(problems)} 处问题,例如 {problems[0]};运行 xlcrm validate 查看全部。"
    target.tell(message)
    return True


@dataclass
class FileTarget:
    """A workbook file on disk: the same operations as Excel, for tests and scripts."""

    path: Path
    agent: str | None = None
    messages: list[str] = field(default_factory=list)
    stamp: Stamp | None = None
    pending: tuple[list[str], list[tuple]] | None = None  # 跟进记录 rows, appended by write()

    def prepare(self) -> None:
        pass

    def selected_agent(self) -> str | None:
        if self.agent is not None:
            return self.agent
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(self.path))
        name = schema.find_sheet(list(wb.sheet_names), schema.MY_TASKS)
        if name is None:
            return None
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        head = list(rows[0]) if rows else []
        # Right of the 当前顾问 label (where the template puts it, or an older layout's place).
        labels = [j for j, v in enumerate(head) if isinstance(v, str) and v.strip() in
                  (schema.SELECTOR_LABEL, schema.SELECTOR_LABEL_EN)]
        col = labels[0] + 1 if labels else schema.SELECTOR_COL + 1
        value = head[col] if len(head) > col else None
        return str(value).strip() if value else None

    def label(self, agent: str, today: date) -> None:
        self.stamp = Stamp(agent, today)

    def append_contacts(self, letters: list[str], rows: list[tuple]) -> None:
        self.pending = (letters, rows)

    def write(self, contents: dict[str, list[tuple]]) -> None:
        pending, self.pending = self.pending, None
        extra = None
        if pending:
            name = _contacts_name(self.path)

            def extra(zf):
                return appended_parts(zf, name, *pending)[0]

        replace_owned_sheets(self.path, contents, stamp=self.stamp, extra=extra)

    def tell(self, message: str) -> None:
        self.messages.append(message)


READ_ONLY_NOTE = ("这个工作簿是只读打开的(别人正在编辑):任务按共享盘上已保存的文件计算,"
                  "只写进这个窗口,没有保存;在这里勾的「完成」无法记入跟进记录,"
                  "请在可编辑时再勾,或告诉办公室。")
UNSAVED_NOTE = "这个只读窗口里未保存的改动没有算进去。"


class ExcelTarget:
    """The open workbook in Excel, through xlwings.

    Everything here is plain xlwings (sheets, ranges, tables, save, alert) and is
    tested through a fake book; the workbook flags and the page header go through the
    native object (`book.api`, COM on Windows, AppleScript on macOS) in `_flag` and
    `_page_header`, the only platform-specific lines.
    """

    def __init__(self, book: Any, mac: bool | None = None) -> None:
        self.book = book
        self.path = Path(book.fullname)
        self.mac = sys.platform == "darwin" if mac is None else mac
        self.read_only = False
        self.notes: list[str] = []
        self.stamp: Stamp | None = None

    def _flag(self, windows: str, mac: str) -> bool:
        api = self.book.api
        return bool(getattr(api, mac).get()) if self.mac else bool(getattr(api, windows))

    def prepare(self) -> None:
        if not self.path.exists():
            raise RefreshError("请先保存工作簿(另存为 .xlsx 或 .xlsm),再刷新")
        self.read_only = self._flag("ReadOnly", "read_only")
        saved = self._flag("Saved", "saved")
        if self.read_only:
            # Someone else has the master open: compute from the saved file, leave it alone.
            self.notes.append(READ_ONLY_NOTE)
            if not saved:
                self.notes.append(UNSAVED_NOTE)
        elif not saved:
            self.book.save()  # the computation reads the file: make it current

    def _sheet(self, spec: schema.Sheet):
        names = [s.name for s in self.book.sheets]
        name = schema.find_sheet(names, spec)
        if name is None:
            raise RefreshError(f"工作簿缺少「{spec.zh}」表")
        return self.book.sheets[name]

    def selected_agent(self) -> str | None:
        value = self._sheet(schema.MY_TASKS).range((1, schema.SELECTOR_COL + 2)).value
        return str(value).strip() if value else None

    def label(self, agent: str, today: date) -> None:
        self.stamp = Stamp(agent, today)

    def _page_header(self, sheet: Any, left: str, right: str) -> None:
        setup = sheet.api.PageSetup if not self.mac else sheet.api.page_setup_object
        if self.mac:
            setup.left_header.set(left)
            setup.right_header.set(right)
        else:
            setup.LeftHeader, setup.RightHeader = left, right

    def _write_rows(self, sheet: Any, spec: schema.Sheet, rows: list[tuple]) -> None:
        width = len(spec.columns)
        table = next((t for t in sheet.tables if t.name == spec.table), None)
        if table is not None and table.data_body_range is not None:
            table.data_body_range.clear_contents()
        if rows:
            sheet.range((2, 1)).value = [[as_text_for_excel(v) for v in row] for row in rows]
        if table is not None:
            table.resize(sheet.range((1, 1), (max(len(rows), 1) + 1, width)))

    def write(self, contents: dict[str, list[tuple]]) -> None:
        app = self.book.app
        app.screen_updating = False
        try:
            for key, rows in contents.items():
                spec = schema.SHEET_BY_KEY[key]
                sheet = self._sheet(spec)
                self._write_rows(sheet, spec, rows)
                if self.stamp is not None:
                    if key == "my_tasks":
                        sheet.range((1, schema.SELECTOR_COL + 2)).value = self.stamp.agent
                    left, right = page_header(spec, self.stamp)
                    self._page_header(sheet, left, right)
        finally:
            app.screen_updating = True
        if not self.read_only:
            self.book.save()

    def tell(self, message: str) -> None:
        self.book.app.alert("\n".join([message, *self.notes]), title="刷新我的任务")

    # The daily loop: append the logged ticks to the 跟进记录 table of the open workbook.
    def append_contacts(self, letters: list[str], rows: list[tuple]) -> None:
        sheet = self._sheet(schema.CONTACTS)
        table = next((t for t in sheet.tables if t.name == schema.CONTACTS.table), None)
        matrix, first_col = contact_matrix(letters, rows)
        start = next_table_row(table.range.last_cell.row if table is not None else sheet.used_range.last_cell.row,
                               table.data_body_range.value if table is not None and table.data_body_range else None)
        check_room(sheet.name, start - 1, len(rows))
        sheet.range((start, first_col)).value = matrix
        if table is not None:
            top = table.range[0, 0]
            table.resize(sheet.range((top.row, top.column), (start + len(rows) - 1, table.range.last_cell.column)))


def _contacts_name(path: Path) -> str:
    from python_calamine import CalamineWorkbook

    names = list(CalamineWorkbook.from_path(str(path)).sheet_names)
    return schema.find_sheet(names, schema.CONTACTS) or schema.CONTACTS.zh


def contact_matrix(letters: list[str], rows: list[tuple]) -> tuple[list[list[Any]], int]:
    """Rows laid out over the columns letters[0]…letters[-1] (blank where no value), as
    Excel takes them, and the first column's number: what ExcelTarget writes."""
    cols = [column_index_from_string(x) for x in letters]
    first, last = min(cols), max(cols)
    out = []
    for row in rows:
        line: list[Any] = [None] * (last - first + 1)
        for c, v in zip(cols, row, strict=True):
            line[c - first] = as_text_for_excel(v)
        out.append(line)
    return out, first


def next_table_row(last_row: int, body: Any) -> int:
    """Where appended rows start: after the table, or on its one blank body row."""
    if isinstance(body, list) and body and not isinstance(body[0], list):
        body = [body]
    if isinstance(body, list) and len(body) == 1 and all(v in (None, "") for v in body[0]):
        return last_row
    return last_row + 1


def main() -> None:  # pragma: no cover - the ribbon button; run_refresh is tested
    import xlwings as xw

    run_refresh(ExcelTarget(xw.Book.caller()), date.today(), getpass.getuser())
