"""io.plainrows: report rows kept as plain cells are written as the same bytes
xlsxwriter writes for them, and read back the same everywhere."""

from __future__ import annotations

import math
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm.io import plainrows, reports

HEADERS = [("日期", 11), ("编号", 10), ("说明", 20), ("数", 8), ("备注", 30)]


def _book(path: Path, rows: list[tuple[str, list]], plain: bool) -> Path:
    """A report book: rows written through Sheet.write, with bands between (merged
    ranges through xlsxwriter), a column format set after the rows and a cell written
    through xlsxwriter's API into a plain row."""
    book = reports.Book(path, plain=plain)
    s = reports.Sheet(book, "本周计划", "标题 & <测试>", HEADERS)
    for what, values in rows:
        if what == "band":
            s.band(str(values[0]))
        elif what == "wrap":
            s.write(values, book.text, [None, None, book.wrap, None, book.wrap])
        elif what == "gap":  # a row with a height and no cells
            s.ws.set_row(s.row, 40)
            s.row += 1
        elif what == "api":  # a row written through xlsxwriter's API, one cell
            s.ws.write_string(s.row, 0, str(values[0]))
            s.row += 1
        elif what == "api-first":  # an API cell, then a report row over the same row
            s.ws.write_string(s.row, 1, "先写的格")
            s.write(values, book.text)
        elif what == "rewrite":  # a report row written over the row above (a band or a row)
            s.row = max(s.row - 1, 2)
            s.write(values[:3], book.overdue)
        elif what == "rowfmt":  # a row format, then a row whose cells have none
            s.ws.set_row(s.row, None, book.bold)
            s.write(values)
        elif what == "bare":
            s.write(values)  # no format: a cell takes the column's format
        else:
            s.write(values, book.overdue if what == "late" else book.text)
    s.ws.set_column(4, 4, 30, book.date)
    s2 = reports.Sheet(book, "另一页", "第二页", HEADERS)
    s2.write(["共用的字", 1, None, "x", 2.5], book.text)
    s2.ws.write_string(2, 6, "API 写的格")  # same row as a plain row: both must be written
    book.close()
    return path


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _same_bytes(tmp_path: Path, rows: list[tuple[str, list]]) -> None:
    a = _parts(_book(tmp_path / "plain.xlsx", rows, plain=True))
    b = _parts(_book(tmp_path / "table.xlsx", rows, plain=False))
    assert a.keys() == b.keys()
    differ = [n for n in a if a[n] != b[n]]
    assert not differ, f"parts differ: {differ}"


def test_the_plain_path_is_used():
    assert plainrows.usable()
    book = reports.Book(Path("/dev/null"), plain=True)
    s = reports.Sheet(book, "a", "t", HEADERS)
    s.write(["x", 1, None, date(2026, 1, 2), True], book.text)
    assert isinstance(s.ws, plainrows.PlainRowsSheet) and 2 in s.ws.plain
    assert not s.ws.table.get(2)


ROWS = [
    ("task", [date(2026, 11, 23), "C001", "电话维护 & <回访>", 3, None]),
    ("late", [pd.Timestamp("2026-11-20"), "C002", "=1+1", np.int64(7), float("nan")]),
    ("band", ["11月24日 星期二(2 项)"]),
    ("wrap", [datetime(2026, 11, 24, 9, 30), "C003", "一行很长的说明," * 12, 0.1 + 0.2, "第一行\n第二行"]),
    ("task", [None, None, None, None, None]),  # only formatted blanks
    ("bare", ["无格式", None, True, False, pd.NaT]),  # blanks without a format are no cells
    ("task", ["", " 前后空格 ", "\x01控制字符_x0041_", -0.0, 1e300]),
    ("task", ["大数", 2**70, -2**70, math.pi, 12345678901234567890]),
    ("task", ["长", "字" * 20_000, "字" * 40_000, 1, 2]),  # long strings: xlsxwriter's path, capped
]


def test_same_bytes_as_xlsxwriter(tmp_path):
    _same_bytes(tmp_path, ROWS * 3)


def test_later_writes_win_as_in_the_table(tmp_path):
    row = [date(2026, 11, 23), "C001", "说明", 3, "备注"]
    _same_bytes(tmp_path, [("task", row), ("rewrite", ["改", None, 9]), ("band", ["一组"]), ("rewrite", row),
                           ("api-first", row), ("rowfmt", ["无格式", 1, None, None, "x"]), ("rewrite", row)])


def _extra_book(path: Path, plain: bool, extra) -> Path:
    book = reports.Book(path, plain=plain)
    s = reports.Sheet(book, "本周计划", "标题", HEADERS)
    for i in range(20):
        s.write([f"第{i}行", i, "说明" * (i % 4), float(i) / 3, None], book.text)
    extra(book, s)
    book.close()
    return path


def _same_bytes_with(tmp_path: Path, extra) -> None:
    a = _parts(_extra_book(tmp_path / "plain.xlsx", True, extra))
    b = _parts(_extra_book(tmp_path / "table.xlsx", False, extra))
    assert a.keys() == b.keys() and [n for n in a if a[n] != b[n]] == []


def test_what_reads_the_table_sees_plain_cells(tmp_path):
    def chart(book, s):
        c = book.wb.add_chart({"type": "column"})
        c.add_series({"categories": [s.ws.name, 2, 0, 21, 0], "values": [s.ws.name, 2, 1, 21, 1]})
        s.ws.insert_chart("G2", c)

    _same_bytes_with(tmp_path, lambda book, s: s.ws.autofit())
    _same_bytes_with(tmp_path, chart)
    _same_bytes_with(tmp_path, lambda book, s: s.ws.write_url(5, 0, "https://example.invalid/x", string="链接"))
    _same_bytes_with(tmp_path, lambda book, s: s.ws.write_url(6, 7, "internal:'本周计划'!A1"))


def test_rows_outside_the_sheet(tmp_path):
    def far(book, s):
        s.row = 1_048_575  # the last row: fits; the next one does not
        s.write(["最后一行", 1], book.text)
        s.write(["界外", 2], book.text)
        s.row = 30
        s.write(list(range(16_390)), book.text)  # wider than the sheet: xlsxwriter drops the rest

    _same_bytes_with(tmp_path, far)


def test_many_rows_spans_and_heights(tmp_path):
    # Several 16-row blocks (the rows' spans), bands inside blocks, heights of wrapped rows.
    # Blocks of plain rows only (their spans are the plain rows' own), narrower than the
    # header; bands and empty tall rows in others.
    rows = []
    for i in range(100):
        if i in (3, 60):
            rows.append(("band", [f"第{i}组"]))
        if i in (40, 41, 77):
            rows.append(("gap", []))
        if i in (20, 90):
            rows.append(("api", ["窄行"]))
        width = 1 + i % 3 if i < 50 else 2 + i % 4
        values = [f"v{i}-{j}" if j < width else None for j in range(5)]
        rows.append(("wrap" if i % 3 == 0 else "task", values))
    _same_bytes(tmp_path, rows)


_VALUES = st.one_of(
    st.none(), st.text(max_size=40), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=False),
    st.booleans(), st.dates(date(1900, 3, 1), date(2100, 1, 1)), st.just(pd.NaT),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["task", "late", "band", "wrap", "bare", "gap", "api", "api-first",
                                           "rewrite", "rowfmt"]),
                          st.lists(_VALUES, min_size=5, max_size=5)), max_size=30))
def test_same_bytes_for_any_rows(tmp_path, rows):
    _same_bytes(tmp_path, rows)


def test_reads_the_same_everywhere(tmp_path):
    from tests.filecheck import check_file

    # A control character is dropped (reports.CleanStrings): xlsxwriter would write it as
    # _x0001_, which openpyxl shows as typed and calamine decodes.
    rows = check_file(_book(tmp_path / "plain.xlsx", ROWS, plain=True))
    assert ["控制字符_x0041_" in v for r in rows["本周计划"] for v in r if isinstance(v, str)].count(True) == 1
    assert rows["本周计划"][2][:3] == [datetime(2026, 11, 23), "C001", "电话维护 & <回访>"]
    assert rows["本周计划"][3][2] == "=1+1"
    assert rows["另一页"][2][6] == "API 写的格"
