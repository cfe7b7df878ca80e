"""io/append (what `xlcrm import` writes with): new rows go under the last row with a
value in the table's columns; rows already below it (formatted, or holding values beyond
the table) are merged, not lost; everything above stays byte for byte."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl

from xlcrm.io import schema
from xlcrm.io.append import append_rows

from .conftest import client, make_workbook
from .filecheck import check_file
from .test_loop import part_of, parts


def _rewrite(path: Path, part: str, change) -> None:
    with zipfile.ZipFile(path) as zf:
        items = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            out.writestr(info, change(data) if info.filename == part else data)


def _sheet_part(path: Path, sheet: schema.Sheet) -> str:
    return next(p for p in part_of(path, sheet) if "/worksheets/" in p)


def test_rows_go_under_the_last_value_and_rows_below_are_merged(tmp_path):
    path = make_workbook(tmp_path / "b.xlsx", clients=[client("K1"), client("K2", phone="13800138002")])
    part = _sheet_part(path, schema.CLIENTS)
    # Below the data: row 4 formatted tall and empty, row 5 with a note far right of the table.
    extra = (b'<row r="4" ht="30" customHeight="1"><c r="B4" s="0"/></row>'
             b'<row r="5"><c r="AC5" t="inlineStr"><is><t>\xe8\xa1\xa8\xe5\xa4\x96\xe5\xa4\x87\xe6\xb3\xa8</t></is></c></row>')
    _rewrite(path, part, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:AC5"',
                                            xml.replace(b"</sheetData>", extra + b"</sheetData>")))
    before = parts(path)[part]
    above = before[:before.index(b'<row r="4"')]

    append_rows(path, "clients", [client(f"N{i}", phone=f"1390000000{i}") for i in range(3)])

    after = parts(path)[part]
    start = after.index(b"<sheetData>") + len(b"<sheetData>")
    assert after[start:after.index(b'<row r="4"')] == above[above.index(b"<sheetData>") + len(b"<sheetData>"):]
    ws = openpyxl.load_workbook(path)["客户"]
    assert [ws.cell(r, 1).value for r in range(2, 8)] == ["K1", "K2", "N0", "N1", "N2", None]
    assert ws.row_dimensions[4].height == 30  # the tall row keeps its height
    assert ws["AC5"].value == "表外备注"  # and the value beyond the table is still there
    assert ws.tables[next(iter(ws.tables))].ref.endswith("6")
    assert b'<dimension ref="A1:AC6"' in after
    check_file(path)


def test_a_sheet_without_a_table_finds_its_header_below_a_title(tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(["老客户名单(2026)"])
    ws.append(["客户编号", "姓名", "手机", "负责顾问"])
    ws.append(["K1", "王小明", "13800138000", "张伟"])
    ws.append([None, None, None, None, "表外"])  # a value outside the header's columns
    wb.save(path)
    append_rows(path, "clients", [client("N1", phone="13900000001")])
    rows = check_file(path)["客户"]
    assert rows[:3] == [["老客户名单(2026)"], ["客户编号", "姓名", "手机", "负责顾问"],
                        ["K1", "王小明", "13800138000", "张伟"]]
    assert rows[3] == ["N1", "王小明", "13900000001", "张伟", "表外"]  # merged into row 4


def test_an_empty_sheet_data_gets_its_first_rows(tmp_path):
    path = make_workbook(tmp_path / "e.xlsx", clients=[])
    part = _sheet_part(path, schema.CLIENTS)
    _rewrite(path, part, lambda xml: re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", xml, flags=re.S))
    with zipfile.ZipFile(path) as zf:
        assert b"<sheetData/>" in zf.read(part)
    # No header row left in the sheet, but the table still names the columns.
    append_rows(path, "clients", [client("N1")])
    ws = openpyxl.load_workbook(path)["客户"]
    assert ws["A2"].value == "N1" and ws["B2"].value == "王小明"


def test_under_a_bare_header_the_new_rows_do_not_take_the_headers_look(tmp_path):
    path = make_workbook(tmp_path / "h.xlsx", clients=[])
    append_rows(path, "clients", [client("N1")])
    ws = openpyxl.load_workbook(path)["客户"]
    assert ws["A1"].value == "客户编号" and ws["A2"].value == "N1" and ws["A3"].value is None
    assert ws["A1"].font.b and not ws["A2"].font.b


def test_a_row_without_a_number_below_the_data_is_kept(tmp_path):
    # Rows may leave out r="…"; one below the data keeps its place and its value.
    path = make_workbook(tmp_path / "n.xlsx", clients=[client("K1")])
    part = _sheet_part(path, schema.CLIENTS)
    bare = b'<row><c r="AC3" t="inlineStr"><is><t>note</t></is></c></row>'
    _rewrite(path, part, lambda xml: xml.replace(b"</sheetData>", bare + b"</sheetData>"))
    append_rows(path, "clients", [client("N1", phone="13900000001")])
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part)
    assert bare in xml and xml.index(bare) < xml.index(b"<t>N1</t>")


def test_pieces_pack_as_well_as_the_whole():
    # ISA-L makes a block of each call: small pieces are gathered first, so a part handed
    # over in pieces (appended rows, views of the old sheet) packs like one piece.
    import zlib

    from xlcrm.io.package import Deflater

    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>K%d</t></is></c></row>' % (i, i, i)
                    for i in range(2, 3000))
    whole, pieces = Deflater(), Deflater()
    whole.add(rows)
    for k in range(0, len(rows), 97):
        pieces.add(memoryview(rows)[k:k + 97])
    a, b = whole.done(), pieces.done()
    assert (b.crc, b.size) == (a.crc, a.size) == (zlib.crc32(rows), len(rows))
    assert zlib.decompress(b.data, -15) == rows and b.data == a.data
