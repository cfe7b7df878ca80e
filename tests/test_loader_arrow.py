"""The Arrow (fastexcel) path of the loader gives the same frames and findings as python-calamine.

Each workbook is loaded twice, with `loader.FAST` on and off, and every frame, column
letter and finding must be equal. A spy counts the sheets the fast path actually read,
so a test cannot pass by always falling back.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm.io import arrow_read, loader, schema
from xlcrm.io.template import write_workbook

from .conftest import client, make_workbook


def spy_on(monkeypatch, owner, name: str, real, seen: list, what) -> list:
    """owner.name becomes `real` that also appends what(*args) whenever it returns a result."""

    def spy(*args):
        out = real(*args)
        if out is not None:
            seen.append(what(*args))
        return out

    monkeypatch.setattr(owner, name, spy)
    return seen


def load_both(path, monkeypatch):
    used = spy_on(monkeypatch, loader, "read_sheet_arrow", arrow_read.read_sheet_arrow, [],
                  lambda reader, name, sheet, first_row: sheet.key)
    monkeypatch.setattr(loader, "FAST", True)
    fast = loader.load(path)
    monkeypatch.setattr(loader, "FAST", False)
    slow = loader.load(path)
    monkeypatch.setattr(loader, "FAST", True)
    return fast, slow, used


def assert_same(fast, slow):
    (fbook, ffind), (sbook, sfind) = fast, slow
    assert [str(f) for f in ffind] == [str(f) for f in sfind]
    assert ffind == sfind
    assert fbook.letters == sbook.letters
    assert fbook.bad_cells == sbook.bad_cells
    assert set(fbook.frames) == set(sbook.frames)
    for key in sbook.frames:
        pd.testing.assert_frame_equal(fbook.frames[key], sbook.frames[key], check_exact=True, obj=key)


def test_sample_reads_the_same_through_arrow(sample_path, monkeypatch):
    fast, slow, used = load_both(sample_path, monkeypatch)
    assert_same(fast, slow)
    assert {"clients", "contacts", "key_dates", "referrals", "agents"} <= set(used)
    assert len(fast[0].contacts) > 2000


def test_bad_cells_are_named_the_same(tmp_path, monkeypatch):
    path = make_workbook(tmp_path / "b.xlsx", clients=[
        client("K1", birthday="3月15日", deal_value="1,200", first_contact="2024.3.5"),
        client("K2", birthday="13月40日", deal_value="很多", first_contact="2024-13-01"),
        client("K3", phone=13800138000.0, stage="不知道", satisfaction=9),
        client("K4", name='名字 "带引号" \\ 和\n换行', first_contact="2025/1/2 9:30"),
    ], contacts=[{"client_id": "K1", "date": "2026年3月5日", "channel": "电话"},
                 {"client_id": "K2", "date": "昨天", "channel": "飞鸽"}])
    fast, slow, used = load_both(path, monkeypatch)
    assert_same(fast, slow)
    assert {"clients", "contacts"} <= set(used)
    cells = {f.cell: f.message for f in fast[1] if f.sheet == "客户"}
    assert "首次接触日期 '2024-13-01' 不是日期" in cells.values()
    assert any(f.sheet == "跟进记录" and f.cell == "B3" and "'昨天'" in f.message for f in fast[1])


def _shifted(path, top: int, left: int, blank_row: bool):
    """A 客户 sheet whose header starts at row top+1, column left+1, with a gap row."""
    wb = xlsxwriter.Workbook(str(path))
    for sheet in schema.USER_SHEETS:
        ws = wb.add_worksheet(sheet.zh)
        ws.write_row(top, left, [c.zh for c in sheet.columns])
        if sheet.key == "clients":
            r = top + 1
            for cid, when in (("K1", datetime(2025, 1, 1)), ("K2", "2025-02-30"), ("K3", None)):
                if blank_row and cid == "K3":
                    r += 1
                ws.write_row(r, left, [cid, "王", "男", "13800138000", "张伟", "来电", "意向"])
                if when is not None:
                    ws.write(r, left + sheet.keys.index("first_contact"), when)
                r += 1
        if sheet.key == "agents":
            ws.write_row(top + 1, left, ["张伟", "zw", "", "", "", "是"])
    wb.close()
    return path


@pytest.mark.parametrize("top,left,blank_row", [(0, 0, False), (2, 0, True), (4, 2, True)])
def test_header_below_row_one_keeps_excel_rows(tmp_path, monkeypatch, top, left, blank_row):
    path = _shifted(tmp_path / "s.xlsx", top, left, blank_row)
    fast, slow, used = load_both(path, monkeypatch)
    assert_same(fast, slow)
    assert "clients" in used
    rows = fast[0].clients["_row"].tolist()
    assert rows == [top + 2, top + 3, top + 5 if blank_row else top + 4]
    letter = chr(ord("A") + left + schema.CLIENTS.keys.index("first_contact"))
    assert any(f.cell == f"{letter}{top + 3}" and "2025-02-30" in f.message for f in fast[1])


def test_a_title_row_above_the_header_falls_back(tmp_path, monkeypatch):
    path = tmp_path / "t.xlsx"
    data = {"clients": [tuple(client("K1").get(k) for k in schema.CLIENTS.keys)]}
    write_workbook(path, "zh", data)
    fast, slow, _ = load_both(path, monkeypatch)
    assert_same(fast, slow)


cell = st.one_of(
    st.none(), st.just(""), st.just("  "), st.text(max_size=8),
    st.sampled_from(["2024/3/5", "3月15日", "2024-13-01", "K1", "张伟", "电话", "意向", "1,200", "是",
                     "true", "45000", "0.00001"]),
    st.integers(-5, 2_900_000), st.floats(-1e6, 2_900_000, allow_nan=False, width=32),
    st.booleans(), st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0, second=0)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cell, min_size=9, max_size=9), min_size=1, max_size=6))
def test_garbage_contacts_read_the_same(tmp_path, monkeypatch, grid):
    path = tmp_path / "g.xlsx"
    write_workbook(path, "zh", {"contacts": [tuple(r) for r in grid]})
    fast, slow, _ = load_both(path, monkeypatch)
    assert_same(fast, slow)


@pytest.mark.parametrize("value", ["nan", "inf", "Infinity", -2, 2.5, 1e20, "1_000", "+5"])
def test_numbers_out_of_range_read_the_same(tmp_path, monkeypatch, value):
    path = make_workbook(tmp_path / "n.xlsx", clients=[client("K1", deal_count=value), client("K2")])
    fast, slow, _ = load_both(path, monkeypatch)
    assert_same(fast, slow)


@pytest.mark.parametrize("duplicate,headerless", [(True, False), (False, True), (True, True)])
def test_duplicate_and_headerless_columns_read_the_same(tmp_path, monkeypatch, duplicate, headerless):
    import openpyxl

    path = make_workbook(tmp_path / "d.xlsx", clients=[client("K1"), client("K2")])
    wb = openpyxl.load_workbook(path)
    ws = wb["客户"]
    width = ws.max_column
    if duplicate:
        ws.cell(1, width + 1, "姓名")
        ws.cell(2, width + 1, "重名")
    if headerless:
        ws.cell(3, width + 3, "没有表头")
    wb.save(path)
    fast, slow, _ = load_both(path, monkeypatch)
    assert_same(fast, slow)
    codes = {f.code for f in fast[1]}
    assert ("header-duplicate" in codes) == duplicate and ("column-no-header" in codes) == headerless


@pytest.mark.parametrize("threads", [1, 2])
def test_threaded_read_checks_and_reports_every_sheet(tmp_path, monkeypatch, threads):
    """Sheets are checked and read by parallel threads; the biggest one's error cells are
    looked for apart (BIG_SHEET 0 makes every workbook take that path): the findings are the
    python-calamine path's, and a sheet with a cell far outside Excel's grid is still refused
    before any reader opens it."""
    import re
    import zipfile

    from xlcrm.io.errors import WorkbookError

    base = make_workbook(tmp_path / "base.xlsx", clients=[client("K1", company="甲公司")],
                         contacts=[{"client_id": "K1", "date": date(2026, 11, 2), "channel": "电话",
                                    "outcome": "已沟通"}] * 3)
    company = schema.column_letter_of(schema.CLIENTS, "company")
    outcome = schema.column_letter_of(schema.CONTACTS, "outcome")

    def variant(out, edit):
        with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, edit(info.filename, src.read(info.filename)))
        return out

    def errors(name, data):  # #REF! in 客户, a formula without a cached value in 跟进记录
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(rb'<c r="' + company.encode() + rb'2"[^>]*>.*?</c>',
                          f'<c r="{company}2" t="e"><v>#REF!</v></c>'.encode(), data, count=1)
        if name == "xl/worksheets/sheet3.xml":
            return re.sub(rb'<c r="' + outcome.encode() + rb'3"[^>]*>.*?</c>',
                          f'<c r="{outcome}3"><f>1+1</f></c>'.encode(), data, count=1)
        return data

    bad = variant(tmp_path / "errors.xlsx", errors)
    monkeypatch.setattr(loader, "THREADS", threads)
    monkeypatch.setattr(loader, "BIG_SHEET", 0)
    fast = sorted(map(str, loader.load(bad)[1]))
    monkeypatch.setattr(loader, "FAST", False)
    slow = sorted(map(str, loader.load(bad)[1]))
    monkeypatch.setattr(loader, "FAST", True)
    assert fast == slow
    assert any(f.startswith(f"客户!{company}2") and "#REF!" in f for f in fast), fast
    assert any(f.startswith(f"跟进记录!{outcome}3") and "公式" in f for f in fast), fast

    far = variant(tmp_path / "far.xlsx", lambda name, data: data.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>z</t></is></c></row></sheetData>')
        if name == "xl/worksheets/sheet3.xml" else data)
    with pytest.raises(WorkbookError, match="太大|超出"):
        loader.load(far)
