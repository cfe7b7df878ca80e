"""Append rows to a table people type into (跟进记录), without re-serialising its sheet.

The daily loop's only write into a user sheet is appending touches. A 跟进记录 of a
million rows is ~100 MB of XML: parsing it into a tree (openpyxl) takes minutes and
rewrites every row. Here the sheet part stays bytes: the new `<row>`s are spliced in
just before `</sheetData>`, the `<dimension>` near the top and the table's `ref` are
grown, and nothing else changes: every existing row keeps its bytes, every other
part of the package is copied raw by `package.copy_package`.

Cells are inline strings, numbers and date serials, styled like the same column of
the last existing row (else the column's style), so styles.xml and sharedStrings.xml
stay as they were. A value starting with `=` is text, never a formula.

    parts = appended_parts(zf, "跟进记录", letters, rows)  # {part name: new bytes or pieces}
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl.utils import column_index_from_string, get_column_letter

from .errors import RefreshError
from .package import _cell, check_room, sheet_parts, table_parts

_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_CELL_STYLE = re.compile(rb'<c\b[^>]*?\sr="([A-Z]+)\d+"[^>]*?>|<c\b[^>]*?\sr="([A-Z]+)\d+"[^>]*?/>')
_STYLE_ATTR = re.compile(rb'\ss="(\d+)"')
_COL = re.compile(rb"<col\b[^>]*>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_REF = re.compile(r"^([A-Z]+)(\d+):([A-Z]+)(\d+)$")


def _last_row(data: bytes, end: int) -> tuple[int, int]:
    """(number, offset) of the last `<row>` before `end`; (1, -1) when none but the header."""
    at = data.rfind(b"<row", 0, end)
    while at >= 0 and data[at + 4:at + 5] not in (b" ", b">", b"/", b"\t", b"\n", b"\r"):
        at = data.rfind(b"<row", 0, at)  # <rowBreaks> etc. never sit inside sheetData, but be safe
    if at < 0:
        return 0, -1
    match = _ROW_NUMBER.match(data, at)
    if match:
        return int(match.group(1)), at
    return data.count(b"<row ", 0, end) + data.count(b"<row>", 0, end), at  # rows without r: count them


def _styles(data: bytes, last_at: int, end: int) -> dict[str, str]:
    """Column letter -> style id: the column defaults, overridden by the last row's cells."""
    out: dict[str, str] = {}
    head_end = data.find(b"<sheetData")
    for col in _COL.finditer(data, 0, head_end if head_end >= 0 else 0):
        attrs = dict(_ATTR.findall(col.group(0)))
        if b"style" in attrs and b"min" in attrs and b"max" in attrs:
            for i in range(int(attrs[b"min"]), min(int(attrs[b"max"]), 200) + 1):
                out[get_column_letter(i)] = attrs[b"style"].decode()
    if last_at >= 0:
        for cell in _CELL_STYLE.finditer(data, last_at, end):
            letter = (cell.group(1) or cell.group(2)).decode()
            style = _STYLE_ATTR.search(cell.group(0))
            if style:
                out[letter] = style.group(1).decode()
    return out


def _grow_ref(ref: str, last: int) -> str:
    m = _REF.match(ref)
    if not m:
        return ref
    return f"{m.group(1)}{m.group(2)}:{m.group(3)}{max(int(m.group(4)), last)}"


def append_sheet_xml(data: bytes, letters: Sequence[str], rows: Sequence[Sequence[Any]],
                     header: int = 1) -> tuple[bytes, int]:
    """The sheet's XML with `rows` appended (cell j of a row goes to column letters[j]).

    Rows start below the last existing row (blank rows at the end of a table are
    filled, as typing would); `header` is the table's header row, whose styles are
    not copied. Returns the new bytes and the first new row's number.
    """
    pieces, first = _appended_pieces(data, letters, rows, header)
    return b"".join(pieces), first


def _appended_pieces(data: bytes, letters: Sequence[str], rows: Sequence[Sequence[Any]],
                     header: int) -> tuple[list[Any], int]:
    """`append_sheet_xml` as pieces (views of `data`, and the new rows): a million-row
    sheet is 350 MB, and the package writer deflates it piece by piece uncopied."""
    end = data.rfind(b"</sheetData>")
    if end < 0:
        empty = re.search(rb"<sheetData\s*/>", data)
        if not empty:
            raise RefreshError("跟进记录工作表结构无法识别(没有 sheetData)")
        data = data[:empty.start()] + b"<sheetData></sheetData>" + data[empty.end():]
        end = data.rfind(b"</sheetData>")
    last, last_at = _last_row(data, end)
    styles = _styles(data, last_at if last > header else -1, end)
    first = max(last, header) + 1
    order = sorted(range(len(letters)), key=lambda j: column_index_from_string(letters[j]))
    out = []
    for i, row in enumerate(rows, start=first):
        cells = "".join(_cell(f"{letters[j]}{i}", row[j], styles.get(letters[j])) for j in order)
        out.append(f'<row r="{i}">{cells}</row>')
    new_last = first + len(rows) - 1
    body = "".join(out).encode("utf-8")
    view = memoryview(data)
    dim = re.search(rb'<dimension ref="([^"]*)"\s*/>', data[:min(4096, end)])
    if dim:
        ref = _grow_ref(dim.group(1).decode(), new_last).encode()
        return [view[:dim.start(1)], ref, view[dim.end(1):end], body, view[end:]], first
    return [view[:end], body, view[end:]], first


def append_table_xml(xml: bytes, last: int) -> bytes:
    """The table part with its `ref` (and its autoFilter's) grown to row `last`."""
    def grow(m: re.Match) -> bytes:
        return m.group(1) + _grow_ref(m.group(2).decode(), last).encode() + m.group(3)

    xml = re.sub(rb'(<table\b[^>]*?\sref=")([^"]*)(")', grow, xml, count=1)
    return re.sub(rb'(<autoFilter\b[^>]*?\sref=")([^"]*)(")', grow, xml, count=1)


def table_rows(xml: bytes) -> tuple[int, int]:
    """(header row, last row) of a table part."""
    m = re.search(rb'<table\b[^>]*?\sref="[A-Z]+(\d+):[A-Z]+(\d+)"', xml)
    return (int(m.group(1)), int(m.group(2))) if m else (1, 1)


def appended_parts(zf: zipfile.ZipFile, sheet_name: str, letters: Sequence[str],
                   rows: Sequence[Sequence[Any]]) -> tuple[dict[str, Any], int]:
    """{part: new bytes, or the sheet's in pieces} appending `rows` to the sheet
    `sheet_name` and its table, and the first new row's number. Only the sheet part and
    its table part change (`package.copy_package` writes pieces as they come)."""
    if not rows:
        return {}, 0
    parts = sheet_parts(zf)
    if sheet_name not in parts:
        raise RefreshError(f"工作簿缺少「{sheet_name}」表")
    part = parts[sheet_name]
    tables = table_parts(zf, part)
    table_xml = {t: zf.read(t) for t in tables}
    header = min((table_rows(x)[0] for x in table_xml.values()), default=1)
    data, first = _appended_pieces(zf.read(part), letters, rows, header)
    check_room(sheet_name, first - 1, len(rows))
    last = first + len(rows) - 1
    out = {part: data}
    for name, xml in table_xml.items():
        out[name] = append_table_xml(xml, last)
    return out, first
