"""Write the weekly workbooks: one per agent, and the team summary with charts.

Brand-new files, so xlsxwriter (faster than openpyxl, with charts, conditional formats
and print settings; see DESIGN.md). Every value from the data is written with
`write_string`/`write_number`/`write_datetime` and the workbook never converts
strings to formulas, so a name typed as `=1+1` stays text. Formatted for print (A4
landscape, header rows repeated, fit to width) as well as for screen.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.sharedstrings import SharedStringTable

from ..core import vocab
from ..core.messages import cap_text
from ..core.weekly import (
    NOT_MET,
    WEEKDAYS,
    AgentWeek,
    WeekInfo,
    WeeklyPlan,
    day_label,
    month_bounds,
    team_summary,
    with_drafts,
)
from . import plainrows, schema
from .package import INVALID_XML, fast_deflate, remove_stale_temps, workbook_lock, write_atomic
from .plainrows import PlainRowsSheet
from .schema import LINE_HEIGHT, wrapped_lines
from .template import HEADER_STYLE, OVERDUE_STYLE, SAFE_OPTIONS

WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
SUMMARY_NAME = "团队汇总"


def safe_filename(name: str, taken: set[str] | None = None) -> str:
    """A file name (without suffix) that is valid on Windows, macOS and Linux."""
    clean = re.sub(r'[\x00-\x1f<>:"/\\|?*]', "_", str(name)).strip().rstrip(". ")
    clean = clean[:80]
    # File names are limited to 255 bytes on most file systems (64 emoji are 256):
    # keep whole characters up to 180 bytes, leaving room for a suffix and "_2".
    while len(clean.encode("utf-8")) > 180:
        clean = clean[:-1]
    clean = clean.rstrip(". ") or "顾问"
    if clean.split(".")[0].upper() in WINDOWS_RESERVED or clean == SUMMARY_NAME:
        clean = "_" + clean
    if taken is not None:
        base, n = clean, 2
        while clean.lower() in taken:
            clean, n = f"{base}_{n}", n + 1
        taken.add(clean.lower())
    return clean


class Sheet:
    """A worksheet written top to bottom: title row, header row, data, print setup."""

    def __init__(self, book: Book, name: str, title: str, headers: Sequence[tuple[str, float]]):
        self.book, self.ws = book, book.wb.add_worksheet(name, PlainRowsSheet if book.plain else None)
        # Data rows are kept as plain cells (io.plainrows) where that is possible.
        self.plain = self.ws if isinstance(self.ws, PlainRowsSheet) else None
        self.width = len(headers)
        self.widths = [w for _h, w in headers]
        self.headers = [h for h, _w in headers]
        self.ws.merge_range(0, 0, 0, max(self.width - 1, 1), title, book.title)
        self.ws.set_row(0, 26)
        for j, (header, width) in enumerate(headers):
            self.ws.write_string(1, j, header, book.header)
            self.ws.set_column(j, j, width)
        self.row = 2
        # The undecorated writers (xlsxwriter's own write_row uses them): the public ones
        # first try to parse A1 notation, a cost paid millions of times here.
        ws = self.ws
        self._string = getattr(ws, "_write_string", ws.write_string)
        self._number = getattr(ws, "_write_number", ws.write_number)
        self._blank = getattr(ws, "_write_blank", ws.write_blank)
        self.ws.freeze_panes(2, 0)
        self.ws.set_landscape()
        self.ws.set_paper(9)  # A4
        # On paper the page header carries the title on every page, so the title row is
        # left out of the print area (else page 1 shows it twice) and only the column
        # headers repeat.
        self.ws.repeat_rows(1)
        self.ws.fit_to_pages(1, 0)
        self.ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        self.ws.set_footer("&C第 &P 页,共 &N 页")
        self.ws.set_header(f'&L&"-,Bold"&12{_escape_hf(title)}', {"margin": 0.3})
        book.sheets.append(self)
        self.below = (0, 0)  # (rows, columns) a chart under the data needs on paper

    def finish(self) -> None:
        rows, cols = self.below
        # The program's 任务编号 (last column) is for `xlcrm collect`, not for reading on
        # paper: leaving it out of the print area lets the rest print larger.
        width = self.width - 1 if self.headers[-1] == TASK_ID_HEADER else self.width
        self.ws.print_area(1, 0, max(self.row - 1 + rows, 2), max(width - 1, cols - 1, 1))

    def write(self, values: Sequence[Any], fmt=None, formats: Sequence[Any] | None = None) -> None:
        # The innermost loop of every report (millions of cells): one dispatch on the
        # value's class, no method call per cell beyond storing it.
        book, ws, row = self.book, self.ws, self.row
        kinds, wrapping = book.kinds, book.wrapping
        string, number, blank = self._string, self._number, self._blank
        plain = self.plain
        cells: list[tuple[int, int, Any, Any]] | None = None if plain is None or not plain.fits(row, len(values)) else []
        lines = 1
        for j, value in enumerate(values):
            f = fmt if formats is None or formats[j] is None else formats[j]
            kind = kinds.get(value.__class__) or book.kind_of(value)
            if kind is _STRING:
                text = str(value)
                if len(text) > _PLAIN_STRING_MAX:
                    string(row, j, cap_text(text), f)
                elif cells is not None:
                    cells.append((j, _PLAIN_STRING, plain.shared_string(text), f))
                else:
                    string(row, j, text, f)
                if f in wrapping and isinstance(value, str):
                    lines = max(lines, wrapped_lines(value, self.widths[j]))
                continue
            if kind is _DATE:
                # The serial number write_datetime would store (the same XML), once per date.
                serial = book.serials.get(value)
                if serial is None:
                    serial = book.serials[value] = book.serial(ws, value)
                value, kind, f = serial, _NUMBER, book.dated.get(id(f), book.date)
            elif kind is _FLOAT and value != value:
                kind = _BLANK  # NaN: a missing number
            elif kind is _BOOL:
                text = "是" if value else "否"
                if cells is not None:
                    cells.append((j, _PLAIN_STRING, plain.shared_string(text), f))
                else:
                    string(row, j, text, f)
                continue
            if kind is _BLANK or not math.isfinite(value := float(value)):  # also ±inf, a numpy NaN
                if cells is None:
                    blank(row, j, None, f)
                elif f is not None:  # a blank without a format is no cell at all
                    cells.append((j, _PLAIN_BLANK, None, f))
            elif cells is not None:
                cells.append((j, _PLAIN_NUMBER, value, f))
            else:
                number(row, j, value, f)
        if cells:
            plain.put_row(row, cells)
        if lines > 1:
            # Applications do not agree on growing a row for wrapped text: say how tall it is.
            ws.set_row(row, LINE_HEIGHT * lines)
        self.row = row + 1

    def band(self, text: str) -> None:
        self.ws.merge_range(self.row, 0, self.row, self.width - 1, text, self.book.band)
        self.row += 1

    def empty(self, text: str = "本周没有此类事项") -> None:
        self.ws.merge_range(self.row, 0, self.row, self.width - 1, text, self.book.muted)
        self.row += 1


def _escape_hf(text: str) -> str:
    return text.replace("&", "&&")


# How Sheet.write writes a value, by its class (Book.kind_of).
_PLAIN_STRING, _PLAIN_NUMBER, _PLAIN_BLANK = plainrows.STRING, plainrows.NUMBER, plainrows.BLANK
# Longer strings are capped (cap_text) and go through xlsxwriter.
_PLAIN_STRING_MAX = plainrows.STRING_MAX
_BLANK, _FLOAT, _DATE, _BOOL, _NUMBER, _STRING = (object() for _ in range(6))


class CleanStrings(SharedStringTable):
    """The shared strings, written without the characters XML cannot hold.

    xlsxwriter writes such a character as `_x0001_`: python-calamine and Excel read the
    character back, openpyxl shows `_x0001_`. Dropped (as the workbook writer does in
    io/package), the text reads the same everywhere. Each distinct string is looked at
    once, when the table is written.
    """

    def _sort_string_data(self) -> None:
        super()._sort_string_data()
        self.string_array = [INVALID_XML.sub("", s) if INVALID_XML.search(s) else s for s in self.string_array]


class Book:
    """An xlsxwriter workbook with the formats every weekly sheet uses."""

    def __init__(self, path: Path, plain: bool = True):
        self.wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
        # Before any sheet takes a reference to it: strings are written without control
        # characters (see CleanStrings).
        self.wb.str_table = CleanStrings()
        # Charts take their cached values from xlsxwriter's table: a book with charts
        # keeps every cell there (plain=False).
        self.plain = plain and plainrows.usable()
        add = self.wb.add_format
        self.title = add({"bold": True, "font_size": 14, "valign": "vcenter"})
        self.header = add(HEADER_STYLE)
        self.band = add({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.muted = add({"italic": True, "font_color": "#808080"})
        self.date = add({"num_format": "yyyy-mm-dd", "valign": "top", "align": "center"})
        self.text = add({"valign": "top"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.overdue = add(OVERDUE_STYLE | {"valign": "top"})
        self.overdue_date = add(OVERDUE_STYLE | {"valign": "top", "num_format": "yyyy-mm-dd", "align": "center"})
        self.bold_date = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "yyyy-mm-dd"})
        # A date written with a row format keeps the row's look and gets a date format.
        self.dated = {id(self.overdue): self.overdue_date, id(self.band): self.bold_date}
        self.percent = add({"num_format": "0%"})
        self.bold_percent = add({"num_format": "0%", "bold": True})
        self.bold = add({"bold": True})
        self.overdue_wrap = add(OVERDUE_STYLE | {"valign": "top", "text_wrap": True})
        self.phone = add({"valign": "top", "num_format": "@"})
        self.sheets: list[Sheet] = []
        self.wrapping = (self.wrap, self.overdue_wrap)
        self.kinds: dict[type, object] = {}
        self.serials: dict[Any, float] = {}  # date -> Excel serial number

    def kind_of(self, value: Any) -> object:
        """How a value of this class is written (decided once per class, then looked up)."""
        if value is None or value is pd.NaT:
            kind = _BLANK
        elif isinstance(value, float):
            kind = _FLOAT  # NaN (a missing number) is blank
        elif isinstance(value, pd.Timestamp | datetime | date):
            kind = _DATE
        elif isinstance(value, bool):
            kind = _BOOL
        elif isinstance(value, int | float) or hasattr(value, "dtype"):
            kind = _NUMBER
        else:
            kind = _STRING
        self.kinds[value.__class__] = kind
        return kind

    @staticmethod
    def serial(ws, value: Any) -> float:
        """The Excel serial number of a date, as xlsxwriter's write_datetime computes it
        (its private helper while it has one; else openpyxl's, the same 1900 system)."""
        moment = pd.Timestamp(value).to_pydatetime()
        convert = getattr(ws, "_convert_date_time", None)
        if convert is not None:
            return convert(moment)
        from openpyxl.utils.datetime import to_excel

        return to_excel(moment)

    def close(self) -> None:
        for sheet in self.sheets:
            sheet.finish()
        self.wb.close()


def _values(column: pd.Series) -> list[Any]:
    """The values of `column` as iterating it gives them (what itertuples yields), built
    in one conversion instead of element by element (Arrow-backed strings iterate slowly)."""
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        return column.to_numpy(dtype=object).tolist()
    if isinstance(dtype, np.dtype) and dtype.kind in "iufbO":
        return column.to_numpy().tolist()
    return list(column)


def _rows(frame: pd.DataFrame, names: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows of `frame`'s columns `names`, as tuples of plain values."""
    return list(zip(*(_values(frame[name]) for name in names), strict=True)) if names else []


PLAN_HEADERS = [(c.zh, c.width) for c in schema.WEEK_PLAN.columns]
# The task fields 本周计划 writes, in this order (then the loop columns).
PLAN_FIELDS = ["date", "priority", "client_id", "name", "client_class", "task", "channel", "reason", "phone", "due",
               "overdue_days", "task_id"]
TASK_ID_HEADER = schema.WEEK_PLAN.column("task_id").zh
SMS_HEADERS = [(c.zh, c.width) for c in schema.WEEK_SMS.columns]
REASON_COL = 7


def _loop_columns(book: Book, s: Sheet, spec: schema.Sheet, start: int) -> None:
    """Dropdowns and date formats of the columns an agent types into (the daily loop),
    on the task rows from `start` down; day bands and empty notes are left alone."""
    if s.row <= start:
        return
    for j, col in enumerate(spec.columns):
        if col.key not in schema.TYPED_LOOP_KEYS:
            continue
        if col.choices:
            s.ws.data_validation(start, j, s.row - 1, j, {"validate": "list", "source": list(col.choices),
                                                          "error_title": col.zh,
                                                          "error_message": f"请从下拉列表选择:{'/'.join(col.choices)}"})
        elif col.kind == "date":
            s.ws.data_validation(start, j, s.row - 1, j, {
                "validate": "date", "criteria": ">", "value": datetime(1900, 1, 1), "error_type": "warning",
                "error_title": col.zh, "error_message": "请输入日期,如 2024-03-05 或 2024/3/5"})
            s.ws.set_column(j, j, col.width, book.date)


def write_agent_workbook(path: Path, plan: WeekInfo, week: AgentWeek) -> Path:
    book = Book(path)
    book.wb.set_properties({"title": f"{week.agent} 每周行动表 {plan.week}", "author": "xlcrm"})
    # Tie the workbook to its master, for `xlcrm collect` (io.identity).
    book.wb.set_custom_property(schema.WEEK_MASTER_PROPERTY, plan.master or "-")
    book.wb.set_custom_property(schema.WEEK_AGENT_PROPERTY, str(week.agent))

    def title(sheet: str) -> str:  # each sheet prints its own name
        return f"{week.agent} · 每周行动表 · {sheet}  {plan.title}"

    s = Sheet(book, "本周计划", title("本周计划"), PLAN_HEADERS)
    days = [plan.monday + pd.Timedelta(days=i) for i in range(7)]
    rows = _rows(week.plan, PLAN_FIELDS)
    on_day: dict[Any, list[tuple[Any, ...]]] = {}
    for r in rows:  # the plan is sorted by date, keeping the planner's order within a day
        on_day.setdefault(r[0], []).append(r)
    loop_blanks = [None] * (len(schema.LOOP_COLUMNS) - 1)
    late_formats = [None] * len(PLAN_HEADERS)
    late_formats[REASON_COL] = late_formats[REASON_COL - 2] = book.overdue_wrap
    due_formats = [None] * len(PLAN_HEADERS)
    due_formats[REASON_COL] = due_formats[REASON_COL - 2] = book.wrap
    for day in days:
        today = on_day.get(pd.Timestamp(day), [])
        s.band(f"{day_label(day)}({len(today)} 项)")
        start = s.row
        for when, priority, cid, name, cls, task, channel, reason, phone, due, overdue_days, task_id in today:
            late = overdue_days > 0
            s.write([when, priority, cid, name, cls, task, channel, reason, phone, due if late else None,
                     *loop_blanks, task_id],
                    book.overdue if late else book.text, late_formats if late else due_formats)
        _loop_columns(book, s, schema.WEEK_PLAN, start)
    if week.unplanned:
        s.band(f"本周未排入: {week.unplanned}(超出每日电话/拜访上限,下周优先安排)")

    s = Sheet(book, "本周关怀", title("本周关怀"), [("日期", 11.5), ("客户编号", 11), ("姓名", 9), ("类别", 5),
                                                 ("事项", 26), ("方式", 6), ("说明", 44)])
    for name, first in plan.holidays:
        s.write([first, "", "", "", f"节日: {name}", "", "本周节日,全部客户都要覆盖"], book.band)
    care_formats = [None] * 4 + [book.wrap, None, book.wrap]
    for values in _rows(week.care, ["due", "client_id", "name", "client_class", "task", "channel", "reason"]):
        s.write(values, book.text, care_formats)
    if week.care.empty and not plan.holidays:
        s.empty()

    s = Sheet(book, "逾期与沉睡", title("逾期与沉睡"), [("客户编号", 11), ("姓名", 9), ("类别", 5), ("跟进状态", 10),
                                                   ("距上次联系天数", 13), ("上次有效联系", 12.5), ("手机", 16)])
    attention = week.attention
    for cid, (name, cls, status, days, last, phone) in zip(
            attention.index, _rows(attention, ["name", "client_class", "status", "days_since", "last_reached", "phone"]),
            strict=True):
        s.write([cid, name, cls, status, None if pd.isna(days) else int(days), last, phone],
                book.overdue if cls == "A" else book.text)
    if week.attention.empty:
        s.empty("没有逾期或沉睡客户")

    s = Sheet(book, "转介绍跟进", title("转介绍跟进"), [("推荐编号", 10), ("推荐人", 9), ("推荐人编号", 11),
                                                   ("被推荐人", 12), ("被推荐人电话", 16), ("推荐日期", 11.5),
                                                   ("状态", 8), ("已反馈推荐人", 12.5), ("本周任务", 40)])
    ref_tasks = week.plan[week.plan["kind"].isin(vocab.REFERRAL_KINDS)]
    by_referrer = ref_tasks.groupby("client_id")["task"].apply(lambda x: "; ".join(dict.fromkeys(x)))
    for r in week.referrals.itertuples(index=False):
        todo = by_referrer.get(r.referral_id, "") or by_referrer.get(r.referrer_id, "")
        s.write([r.referral_id, r.referrer_name, r.referrer_id, r.referred_name, r.referred_phone, r.date, r.state,
                 r.feedback_date, todo], book.text, [None] * 8 + [book.wrap])
    if week.referrals.empty:
        s.empty("没有待跟进的转介绍")

    write_birthday_calendar(book, plan, week)

    s = Sheet(book, "短信草稿", title("短信草稿"), SMS_HEADERS)
    start = s.row
    sms_formats = [None] * 5 + [book.wrap] + [None] * len(schema.LOOP_COLUMNS)
    for *values, task_id in _rows(week.sms, ["date", "client_id", "name", "phone", "kind", "sms", "task_id"]):
        s.write([*values, *loop_blanks, task_id], book.text, sms_formats)
    _loop_columns(book, s, schema.WEEK_SMS, start)
    if week.sms.empty:
        s.empty("本周没有短信任务")

    s = Sheet(book, "关键人", title("关键人"), [("客户编号", 11), ("单位客户", 20), ("姓名", 9), ("职务", 14), ("角色", 12),
                                     ("态度", 9), ("影响力", 7), ("手机", 14), ("本周争取", 11), ("单线联系", 22)])
    account = None
    for r in week.key_persons.itertuples(index=False):
        if r.client_id != account:
            account = r.client_id
            single = f",单线联系: {r.single_thread}" if r.single_thread else ""
            s.band(f"{r.account}({r.client_id}){single}")
        role = f"{r.role} {vocab.KP_ROLE_NAMES[r.role]}" if r.role in vocab.KP_ROLE_NAMES else ""
        against = r.attitude in vocab.KP_AGAINST
        s.write([r.client_id, r.account, r.name, r.title, role, r.attitude, r.influence, r.phone,
                 None if pd.isna(r.next_date) else r.next_date, r.single_thread],
                book.overdue if against else book.text)
    if week.key_persons.empty:
        s.empty("名下没有登记关键人的单位客户")
    book.close()
    return path


CALENDAR_NAME = "生日台历"
CALENDAR_LINES = 7  # items shown in one day's cell; more are counted


def write_birthday_calendar(book: Book, plan: WeekInfo, week: AgentWeek) -> None:
    """生日台历 (seed 000: 每月建立客户生日台历): the month of the week's Monday as a grid.

    Columns Monday to Sunday, one row per calendar week; each day's cell lists the
    agent's clients' birthdays and key dates (lunar dates already converted, with
    their lunar label). The days of this week are shaded. One A4 landscape page.
    """
    first, last = month_bounds(plan.monday)
    ws = book.wb.add_worksheet(CALENDAR_NAME)
    add = book.wb.add_format
    base = {"text_wrap": True, "valign": "top", "border": 1, "font_size": 9}
    day_fmt = add(base)
    week_fmt = add(base | {"bg_color": "#FFF2CC"})
    out_fmt = add(base | {"bg_color": "#F2F2F2", "font_color": "#A6A6A6"})
    title = f"{week.agent} · 生日台历 {first.year}年{first.month}月"
    ws.merge_range(0, 0, 0, 6, title, book.title)
    ws.set_row(0, 26)
    for j in range(7):
        ws.write_string(1, j, f"星期{WEEKDAYS[j]}", book.header)
        ws.set_column(j, j, 21)
    by_day: dict[date, list[str]] = {}
    for when, cls, text in zip(week.month_dates["when"], week.month_dates["client_class"],
                               week.month_dates["text"], strict=True):
        by_day.setdefault(pd.Timestamp(when).date(), []).append(f"[{cls}] {text}" if cls else str(text))
    start = first - timedelta(days=first.weekday())
    sunday = plan.monday + timedelta(days=6)
    row = 2
    day = start
    while day <= last:
        lines_in_row = 1
        for j in range(7):
            when = day + timedelta(days=j)
            items = by_day.get(when, []) if first <= when <= last else []
            shown = items[:CALENDAR_LINES]
            if len(items) > len(shown):
                shown.append(f"…另有 {len(items) - len(shown)} 项")
            label = f"{when.day}" if first <= when <= last else f"{when.month}/{when.day}"
            fmt = out_fmt if not first <= when <= last else week_fmt if plan.monday <= when <= sunday else day_fmt
            ws.write_string(row, j, "\n".join([label, *shown]), fmt)
            lines_in_row = max(lines_in_row, len(shown) + 1)
        ws.set_row(row, max(72, 13 * lines_in_row))
        row += 1
        day += timedelta(days=7)
    count = len(week.month_dates)
    ws.merge_range(row, 0, row, 6, f"本月 {count} 项(生日、家人生日和纪念日;农历日期已换算为公历)。"
                   f"黄色为本周 {plan.monday.month}月{plan.monday.day}日—{sunday.month}月{sunday.day}日。"
                   f"[A]等为客户类别。", book.muted)
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 1)
    ws.print_area(0, 0, row, 6)
    ws.set_header(f"&L{_escape_hf(title)}")


# 团队汇总's columns: (key in team_summary, header, width, summed in the 合计 row).
SUMMARY_COLUMNS = [("agent", "顾问", 10, False), ("clients", "客户数", 7, True),
                   *((c, f"{c}类", 6, True) for c in vocab.CLASSES),
                   ("overdue", "逾期", 6, True), ("a_overdue", "A类逾期", 8, True), ("sleeping", vocab.SLEEPING, 6, True),
                   ("touches_last_week", "上周有效联系", 12, True), ("visits_last_week", "上周拜访", 9, True),
                   ("visit_standard", "拜访标准", 9, False), ("visits_ok", "拜访达标", 9, False),
                   ("last_holiday", "上个节日", 16, False), ("holiday_coverage", "节日覆盖率", 10, False),
                   ("completeness", "资料完整度", 10, False), ("tasks_this_week", "本周任务", 9, True),
                   ("unplanned", vocab.UNPLANNED, 7, True)]
SUMMARY_AT = {key: j for j, (key, *_rest) in enumerate(SUMMARY_COLUMNS)}
PERCENT_KEYS = ("holiday_coverage", "completeness")
FUNNEL_STEPS = [label for label, _states in vocab.FUNNEL]
CLIENT_LIST = [("客户编号", 11), ("姓名", 9), ("负责顾问", 10), ("类别", 5), ("跟进状态", 10), ("距上次联系天数", 13),
               ("上次有效联系", 12), ("手机", 14)]


def write_team_summary(path: Path, plan: WeeklyPlan, summary: dict[str, Any]) -> Path:
    book = Book(path, plain=False)
    book.wb.set_properties({"title": f"团队汇总 {plan.week}", "author": "xlcrm"})
    title = f"团队汇总 · {plan.title}"
    periods = summary["periods"]
    s = Sheet(book, "团队汇总", title, [(header, width) for _k, header, width, _s in SUMMARY_COLUMNS])
    table = summary["summary"]
    first = s.row
    formats = [book.percent if key in PERCENT_KEYS else None for key, *_rest in SUMMARY_COLUMNS]
    for row in table[[key for key, *_rest in SUMMARY_COLUMNS]].itertuples(index=False):
        s.write(list(row), formats=formats)
    last = s.row - 1
    at = SUMMARY_AT
    if last >= first:
        totals = ["合计" if key == "agent" else table[key].sum() if summed else None
                  for key, _h, _w, summed in SUMMARY_COLUMNS]
        # The team's completeness is the mean over its clients, not over the agents.
        totals[at["completeness"]] = ((table["completeness"] * table["clients"]).sum() / table["clients"].sum()
                                      if table["clients"].sum() else None)
        s.write(totals, book.bold, formats=[book.bold_percent if f is not None else None for f in formats])
        s.ws.conditional_format(first, at["a_overdue"], last, at["a_overdue"],
                                {"type": "cell", "criteria": ">", "value": 0, "format": book.overdue})
        s.ws.conditional_format(first, at["visits_ok"], last, at["visits_ok"],
                                {"type": "cell", "criteria": "==", "value": f'"{NOT_MET}"', "format": book.overdue})
        s.ws.conditional_format(first, at["holiday_coverage"], last, at["holiday_coverage"],
                                {"type": "cell", "criteria": "<", "value": 1, "format": book.overdue})
        s.ws.conditional_format(first, at["completeness"], last, at["completeness"],
                                {"type": "cell", "criteria": "<", "value": plan.rules["profile_min_share"],
                                 "format": book.overdue})
        _chart(book, s.ws, "各顾问客户类别", "stacked", [(c + "类", at[c]) for c in vocab.CLASSES], first, last,
               "客户数", f"A{s.row + 3}")
        _chart(book, s.ws, "各顾问逾期客户", "column",
               [("逾期", at["overdue"]), ("A类逾期", at["a_overdue"]), (vocab.SLEEPING, at["sleeping"])], first, last,
               "客户数", f"A{s.row + 20}")
        s.below = (36, 8)

    def title_of(sheet: str) -> str:  # each sheet prints its own name
        return f"团队汇总 · {sheet}  {plan.title}"

    s = Sheet(book, "交接与公海", title_of("交接与公海"), [*CLIENT_LIST, ("逾期天数", 9)])
    waiting = summary["awaiting_handover"]
    s.band(f"待交接: 顾问已离职(在职=否)、还没有交接的客户 {len(waiting)} 位 —— 请在「交接」表登记新顾问")
    _client_rows(s, waiting, "没有待交接的客户")
    pool = summary["reclaim"]
    s.band(f"建议重新分配(公海): {'/'.join(vocab.RECLAIM_CLASSES)}类客户逾期 ≥ {plan.rules['reclaim_overdue_days']} 天"
           f"(规则「建议收回逾期天数」),{len(pool)} 位 —— 主管决定后在「交接」表登记")
    _client_rows(s, pool, "没有逾期这么久的客户", overdue=True)

    s = Sheet(book, "转介绍漏斗", title_of("转介绍漏斗"), [("顾问", 10), *((step, 7) for step in FUNNEL_STEPS),
                                         *((step + "率", 8) for step in FUNNEL_STEPS[1:])])
    total_row = None
    for key, label in (("funnel_week", periods["week"]), ("funnel", periods["year"])):
        s.band(f"{label},按推荐日期")
        if key == "funnel":
            s.write(["顾问", *FUNNEL_STEPS, *(step + "率" for step in FUNNEL_STEPS[1:])], book.header)
        funnel = summary[key]
        for row in funnel.itertuples(index=False):
            s.write(list(row), formats=[None] * 5 + [book.percent] * 3)
        totals = [funnel[c].sum() for c in FUNNEL_STEPS]
        rate = [t / totals[0] if totals[0] else 0 for t in totals[1:]]
        s.write(["合计", *totals, *rate], book.bold, formats=[None] * 5 + [book.bold_percent] * 3)
        total_row = s.row - 1
    s.band("参考: 转介绍成交率约 40%,陌拜约 11%(培训资料)")
    chart = book.wb.add_chart({"type": "bar"})
    chart.add_series({"name": "团队转介绍漏斗", "categories": ["转介绍漏斗", 1, 1, 1, 4],
                      "values": ["转介绍漏斗", total_row, 1, total_row, 4], "data_labels": {"value": True}})
    chart.set_title({"name": f"转介绍漏斗({periods['year']})"})
    chart.set_x_axis({"name": "推荐人数"})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"none": True})
    s.ws.insert_chart(f"A{s.row + 2}", chart, {"x_scale": 1.4})
    s.below = (18, 11)

    reasons = [str(c) for c in summary["churn"].columns[1:]]
    s = Sheet(book, "流失原因", title_of("流失原因"), [("顾问", 10), *((r, 7) for r in reasons)])
    for key, label in (("churn_week", periods["week"]), ("churn", periods["year"])):
        s.band(f"{label},按流失日期")
        if key == "churn":
            s.write(["顾问", *reasons], book.header)
        churn = summary[key]
        for row in churn.itertuples(index=False):
            s.write(list(row))
        s.write(["合计", *(churn[c].sum() for c in churn.columns[1:])], book.bold)
    if summary["churn_undated"]:
        s.empty(f"另有 {summary['churn_undated']} 位流失客户没有填「流失日期」,未计入上表")

    _churn_analysis(book, title_of("流失分析"), periods["year"], summary["churn_analysis"])

    watch = summary["churn_watch"]
    s = Sheet(book, "流失预警", title_of("流失预警"), CLIENT_LIST)
    s.band(f"流失预警: {'/'.join(vocab.CHURN_WATCH_CLASSES)}类客户逾期或沉睡 {len(watch)} 位 —— 优先联系")
    _client_rows(s, watch, "没有逾期或沉睡的A/B类客户")
    book.close()
    return path


def _client_rows(s: Sheet, frame: pd.DataFrame, none: str, overdue: bool = False) -> None:
    if frame.empty:
        s.empty(none)
        return
    names = ["client_id", "name", "agent", "client_class", "status", "days_since", "last_reached", "phone"]
    for r in _rows(frame, [*names, "overdue_days"] if overdue else names):
        values = list(r)
        values[5] = None if pd.isna(r[5]) else int(r[5])
        if overdue:
            values[8] = int(r[8])
        s.write(values, s.book.overdue if r[3] == "A" else s.book.text)


def _churn_analysis(book: Book, title: str, period: str, analysis: dict[str, pd.DataFrame]) -> None:
    """流失分析: the last twelve months by month and class (with a chart), by reason, by agent."""
    classes = [f"{c}类" for c in vocab.CLASSES]
    s = Sheet(book, "流失分析", title, [("月份", 12), *((c, 7) for c in classes), ("合计", 7)])
    s.band(f"{period},按流失日期")
    by_month = analysis["by_month"]
    first = s.row
    for row in by_month.itertuples(index=False):
        s.write(list(row))
    last = s.row - 1
    s.write(["合计", *(by_month[c].sum() for c in by_month.columns[1:])], book.bold)
    chart = book.wb.add_chart({"type": "column", "subtype": "stacked"})
    for j, name in enumerate(classes, start=1):
        chart.add_series({"name": name, "categories": [s.ws.name, first, 0, last, 0],
                          "values": [s.ws.name, first, j, last, j]})
    chart.set_title({"name": "每月流失客户(按终生价值类别)"})
    chart.set_y_axis({"name": "流失客户数"})
    s.ws.insert_chart(1, 7, chart, {"x_scale": 1.2})
    s.below = (0, 16)  # the chart sits to the right of the table

    s.band("按流失原因")
    s.write(["流失原因", "人数"], book.header)
    by_reason = analysis["by_reason"]
    for r in by_reason.itertuples(index=False):
        s.write([r.reason, r.count])
    s.write(["合计", by_reason["count"].sum()], book.bold)

    s.band("按顾问(当前负责顾问)")
    s.write(["顾问", *classes, "合计"], book.header)
    by_agent = analysis["by_agent"]
    for row in by_agent.itertuples(index=False):
        s.write(list(row))
    if by_agent.empty:
        s.empty("近12个月没有流失客户")


def _chart(book: Book, ws, title: str, kind: str, series: list[tuple[str, int]], first: int, last: int,
           y_name: str, where: str) -> None:
    chart = book.wb.add_chart({"type": "column", "subtype": "stacked"} if kind == "stacked" else {"type": "column"})
    for name, col in series:
        chart.add_series({"name": name, "categories": [ws.name, first, 0, last, 0],
                          "values": [ws.name, first, col, last, col]})
    chart.set_title({"name": title})
    chart.set_y_axis({"name": y_name})
    ws.insert_chart(where, chart, {"x_scale": 1.1})


@contextmanager
def _collected_once() -> Iterator[None]:
    """No garbage collection while a workbook is written, one young-generation pass after.

    xlsxwriter keeps a tuple per cell in cyclic structures: the collector would run
    every few hundred cells and walk them again and again (a third of the write time,
    measured); the workbook's garbage is all young, so collecting generation 0 after
    it frees it without walking everything else the process holds.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect(0)


def _write_one(args: tuple[Path, WeekInfo, AgentWeek]) -> Path:
    path, plan, week = args
    # A temp name first, renamed when complete: a full disk never leaves half a workbook.
    with _collected_once(), fast_deflate():
        return write_atomic(path, lambda tmp: write_agent_workbook(tmp, plan, week))


def agent_paths(folder: Path, weeks: list[AgentWeek]) -> list[Path]:
    """Where each agent's workbook goes (names safe on every system, never two alike)."""
    taken: set[str] = set()
    return [folder / f"{safe_filename(w.agent, taken)}.xlsx" for w in weeks]


def write_weekly(plan: WeeklyPlan, out_dir: str | Path, summary: dict[str, pd.DataFrame] | None,
                 weeks: list[AgentWeek], jobs: int = 1,
                 progress: Callable[[str], None] | None = None, master: str = "") -> list[Path]:
    """Write every agent's workbook and the team summary into OUT/<ISO week>/ (`summary`
    None: team_summary(plan), made by the process that writes it)."""
    folder = Path(out_dir) / plan.week
    folder.mkdir(parents=True, exist_ok=True)
    with workbook_lock(folder / f"{SUMMARY_NAME}.xlsx"):
        remove_stale_temps(folder)  # left by a killed run; ours are safe under the lock
        return _write_all(plan, folder, summary, weeks, jobs, progress, master)


# What forked workers write, set just before they are forked: they find it in memory
# (copy-on-write) instead of being sent every agent's frames through a pipe.
_FORKED: tuple[list[tuple[Path, WeekInfo, AgentWeek]], WeeklyPlan, dict[str, Any] | None, Path] | None = None
SUMMARY_ITEM = -1  # the work item that writes 团队汇总


def _write_forked(i: int) -> tuple[Path, list]:
    """Write one work item; with what its SMS drafts found wrong with a template."""
    assert _FORKED is not None
    work, plan, summary, folder = _FORKED
    if i == SUMMARY_ITEM:
        return _write_summary(plan, summary, folder), []
    path, info, week = work[i]
    return _write_one((path, info, with_drafts(week, plan))), plan.messages.findings


def _write_summary(plan: WeeklyPlan, summary: dict[str, Any] | None, folder: Path) -> Path:
    """团队汇总; its counts are made here when not given (in the process that writes it)."""
    if summary is None:
        summary = team_summary(plan)
    with _collected_once(), fast_deflate():
        return write_atomic(folder / f"{SUMMARY_NAME}.xlsx", lambda tmp: write_team_summary(tmp, plan, summary))


def _write_all(plan: WeeklyPlan, folder: Path, summary: dict[str, pd.DataFrame], weeks: list[AgentWeek],
               jobs: int, progress: Callable[[str], None] | None, master: str) -> list[Path]:
    global _FORKED
    info = replace(plan.info, master=master)
    work = [(path, info, w) for path, w in zip(agent_paths(folder, weeks), weeks, strict=True)]
    written: list[Path] = []
    if jobs > 1 and len(work) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if "fork" in multiprocessing.get_all_start_methods():
            # 团队汇总 (the largest file) first, beside the agents' workbooks, one item at
            # a time so that both processes stay busy to the end. Each process renders the
            # SMS drafts of the books it writes and says what it found wrong with a template.
            _FORKED = (work, plan, summary, folder)
            try:
                with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                    summary_done = pool.submit(_write_forked, SUMMARY_ITEM)
                    for done in [pool.submit(_write_forked, i) for i in range(len(work))]:
                        path, found = done.result()
                        written.append(path)
                        plan.messages.findings.extend(f for f in found if f not in plan.messages.findings)
                        if progress:
                            progress(path.stem)
                    written.append(summary_done.result()[0])
            finally:
                _FORKED = None
            return written
        work = [(path, info, with_drafts(week, plan)) for path, info, week in work]
        # Not the plan: it holds the whole book, too big to send to each process.
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for path in pool.map(_write_one, work, chunksize=max(1, len(work) // (jobs * 8))):
                written.append(path)
                if progress:
                    progress(path.stem)
    else:
        for path, info, week in work:
            written.append(_write_one((path, info, with_drafts(week, plan))))
            if progress:
                progress(path.stem)
    written.append(_write_summary(plan, summary, folder))
    return written
