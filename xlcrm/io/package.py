"""Write the program-owned sheets (我的任务, 客户看板) into a workbook, in place.

The workbook is the office's database, so a refresh must not touch what people
typed. Rather than load and re-save the whole file (openpyxl would rewrite every
part, drop what it doesn't understand and take minutes on a big workbook), this
module edits the package: it replaces the `<sheetData>` of the two owned sheets and
the `ref` of their tables, and copies every other part of the zip unchanged, byte
for byte (user sheets, styles, shared strings, defined names, `xl/vbaProject.bin`).

Cells are written as inline strings, numbers and date serials, styled with the
column styles the template gave the sheet, so neither sharedStrings.xml nor
styles.xml changes. A value from the data that starts with `=` is an inline string,
never a formula. The write is atomic: a temp file beside the workbook, a backup of
the previous file, then `os.replace`.
"""

from __future__ import annotations

import copy
import errno
import math
import os
import posixpath
import re
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from lxml import etree
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import to_excel

from ..core.messages import cap_text
from . import schema
from .errors import RefreshError, WorkbookError

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
EXCEL_ROWS = 1_048_576  # rows a sheet holds in Excel


def check_room(sheet_name: str, last: int, adding: int, hint: str | None = None) -> None:
    """RefreshError when `adding` rows after row `last` would go past Excel's last row:
    such a workbook opens in no spreadsheet program (and xlcrm refuses it as damaged)."""
    if last + adding <= EXCEL_ROWS:
        return
    if hint is None:
        hint = ("请先用 xlcrm archive 主工作簿 --before 日期 把较早的跟进记录移到归档工作簿" if sheet_name in
                (schema.CONTACTS.zh, schema.CONTACTS.en) else "请分到另一个工作簿")
    raise RefreshError(f"「{sheet_name}」已用到第 {last:,} 行,再追加 {adding:,} 行会超过 Excel 每表 "
                       f"{EXCEL_ROWS:,} 行的上限,没有写入;{hint}")


INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NEEDS_ESCAPE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_x")


def is_open_in_excel(path: Path) -> bool:
    # Excel names the lock file after the workbook, dropping the first two characters
    # when the name is long; look for both spellings.
    candidates = {path.with_name("~$" + path.name), path.with_name("~$" + path.name[2:])}
    return any(c.exists() for c in candidates)


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_path(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part name (`xl/worksheets/sheet8.xml`)."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): _resolve("xl/workbook.xml", r.get("Target")) for r in rels.iter(f"{NS_PKG}Relationship")}
    out = {}
    for sheet in workbook.iter(f"{NS_MAIN}sheet"):
        rid = sheet.get(f"{NS_REL}id")
        if rid in targets:
            out[sheet.get("name")] = targets[rid]
    return out


def table_parts(zf: zipfile.ZipFile, sheet_part: str) -> list[str]:
    rels_name = _rels_path(sheet_part)
    if rels_name not in zf.namelist():
        return []
    rels = ElementTree.fromstring(zf.read(rels_name))
    return [_resolve(sheet_part, r.get("Target")) for r in rels.iter(f"{NS_PKG}Relationship")
            if r.get("Type", "").endswith("/table")]


_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
def escape_text(text: str) -> str:
    """Cell text as XML: characters XML can't hold dropped, literal `_xHHHH_` kept literal.

    Excel reads `_x0041_` inside a cell as the escaped character "A"; a literal
    underscore before such a sequence is written `_x005F_` so the text reads back
    exactly as typed.
    """
    if not _NEEDS_ESCAPE.search(text):  # most cells: one scan instead of three passes
        return text
    text = INVALID_XML.sub("", text)
    return escape(_ESCAPE_LIKE.sub(r"_x005F_\1", text))


def _cell(ref: str, value: Any, style: str | None) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, datetime | date):
        serial = to_excel(value)
        return f'<c r="{ref}"{s}><v>{serial!r}</v></c>'  # full precision: a time survives
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return f'<c r="{ref}"{s}/>' if style else ""
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = cap_text(str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape_text(text)}</t></is></c>'


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False)
_MARK = "xlcrm-rows-go-here"


def _parse(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise RefreshError(f"程序工作表的 XML 无法解析({exc})") from exc


def _serialize(root: etree._Element) -> str:
    body = etree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body


def sheet_data_span(data: bytes) -> tuple[int, int, int, int] | None:
    """(open tag start, rows start, rows end, close tag end) of `<sheetData>` in a sheet
    part (rows start == rows end == close tag end for `<sheetData/>`); None without one."""
    m = re.search(rb"<sheetData\s*/>|<sheetData\b[^>]*>", data)
    if m is None:
        return None
    if m.group(0).endswith(b"/>"):
        return m.start(), m.end(), m.end(), m.end()
    end = data.find(b"</sheetData>", m.end())
    return None if end < 0 else (m.start(), m.end(), end, end + len(b"</sheetData>"))


def _column_styles(root: etree._Element | str | bytes) -> dict[int, str]:
    """0-based column -> style index from `<cols>` (the sheet's XML or its parsed root)."""
    if isinstance(root, str | bytes):
        root = _parse(root)
    styles: dict[int, str] = {}
    for col in root.iter(f"{NS_MAIN}col"):
        style, lo, hi = col.get("style"), col.get("min"), col.get("max")
        if style and lo and hi and lo.isdigit() and hi.isdigit():
            for i in range(int(lo), min(int(hi), 16384) + 1):
                styles[i - 1] = style
    return styles


def _split_ref(ref: str) -> tuple[int, int]:
    """`K12` -> (11, 12): 1-based column and row."""
    col, row = coordinate_from_string(ref)
    return column_index_from_string(col), row


_SHEET_DATA = re.compile(rb"<(?:(\w+):)?sheetData\b[^>]*?(/?)>")


def _row_end(body: bytes, start: int, close: bytes) -> int:
    """The end of the `<row …>` element starting at `start` (self-closing or not), -1 if none."""
    tag_end = body.find(b">", start)
    if tag_end < 0:
        return -1
    if body[tag_end - 1:tag_end] == b"/":
        return tag_end + 1
    end = body.find(close, tag_end)
    return end + len(close) if end >= 0 else -1


def without_body_rows(xml: bytes) -> bytes:
    """An owned sheet's XML keeping only the first and the last `<row>` of its sheetData
    (the header, and a totals row if the table has one): the rows between are about to be
    replaced, and parsing a 100,000-row 客户看板 into a tree took a gigabyte. The XML as
    it was when its rows can't be told apart safely."""
    m = _SHEET_DATA.search(xml)
    if m is None or m.group(2):
        return xml
    tag = (m.group(1) + b":" if m.group(1) else b"") + b"row"
    close_data = b"</" + (m.group(1) + b":" if m.group(1) else b"") + b"sheetData>"
    end = xml.find(close_data, m.end())
    if end < 0:
        return xml
    body = xml[m.end():end]
    opening = re.compile(b"<" + re.escape(tag) + rb"[\s/>]")
    first = opening.search(body)
    if first is None:
        return xml
    close = b"</" + tag + b">"
    first_end = _row_end(body, first.start(), close)
    last_start = max(body.rfind(b"<" + tag + c) for c in (b" ", b">", b"/", b"\t", b"\n", b"\r"))
    last_end = _row_end(body, last_start, close) if last_start >= 0 else -1
    if first_end < 0 or last_end < 0 or last_start < first_end and last_start != first.start():
        return xml
    kept = body[first.start():first_end] + (body[last_start:last_end] if last_start >= first_end else b"")
    return xml[:m.end()] + kept + xml[end:]


def _numbered_rows(sheet_data: etree._Element) -> list[tuple[int, etree._Element]]:
    """Rows with their row numbers; a row without `r` follows the one before it."""
    out, last = [], 0
    for row in sheet_data.iterchildren(f"{NS_MAIN}row"):
        r = row.get("r")
        last = int(r) if r and r.isdigit() else last + 1
        out.append((last, row))
    return out


def _row_width(row: etree._Element) -> int:
    width, last = 0, 0
    for c in row.iterchildren(f"{NS_MAIN}c"):
        ref = c.get("r")
        last = _split_ref(ref)[0] if ref else last + 1
        width = max(width, last)
    return width


def _move_row(row: etree._Element, number: int) -> None:
    row.set("r", str(number))
    last = 0
    for c in row.iterchildren(f"{NS_MAIN}c"):
        ref = c.get("r")
        last = _split_ref(ref)[0] if ref else last + 1
        c.set("r", f"{get_column_letter(last)}{number}")


def render_sheet(xml: str, rows: Sequence[Sequence[Any]], width: int, totals: bool = False,
                 used: int = 0, heights: Sequence[float | None] = ()) -> str:
    """The sheet's XML with its data rows replaced; row 1 (header, selector) is kept."""
    skeleton, data = render_sheet_parts(xml, rows, width, totals, used, heights)
    head, tail = skeleton.split(ROWS_MARK, 1)
    return head + data.decode("utf-8") + tail


ROWS_MARK = f"<!--{_MARK}-->"


def render_sheet_parts(xml: str, rows: Sequence[Sequence[Any]], width: int, totals: bool = False,
                       used: int = 0, heights: Sequence[float | None] = ()) -> tuple[str, bytes]:
    """The sheet's XML with ROWS_MARK where the data rows go, and those rows (UTF-8).

    `render_sheet` joins them; a caller that edits the rest of the sheet (the stamp) edits
    the small skeleton instead of a string of a million cells (the rows hold only
    `<row>`, `<c>`, `<v>`, `<is>` and `<t>` elements, so no edit can apply to them).

    With `totals` the row after the old data (a table's totals row, switched on in
    Excel) moves below the new data instead of being overwritten. `used` widens the
    `<dimension>` to a column written afterwards (the N1 stamp). `heights` gives a row
    height in points where wrapped text needs more than one line.
    """
    root = _parse(xml)
    sheet_data = root.find(f"{NS_MAIN}sheetData")
    if sheet_data is None:
        raise RefreshError("工作表结构无法识别(没有 sheetData)")
    styles = _column_styles(root)
    numbered = _numbered_rows(sheet_data)
    header = next((row for n, row in numbered if n == 1), None)
    total_row = numbered[-1][1] if totals and len(numbered) > 1 else None
    for child in list(sheet_data):
        sheet_data.remove(child)
    used = max(width, used)
    if header is not None:
        _move_row(header, 1)
        sheet_data.append(header)
        used = max(used, _row_width(header))
    last = max(len(rows) + 1, 2)
    sheet_data.append(etree.Comment(_MARK))
    if total_row is not None:
        last += 1
        _move_row(total_row, last)
        sheet_data.append(total_row)
        used = max(used, _row_width(total_row))
    dimension = root.find(f"{NS_MAIN}dimension")
    if dimension is not None:
        dimension.set("ref", f"A1:{get_column_letter(used)}{last}")
    prefix = f"{sheet_data.prefix}:" if sheet_data.prefix else ""
    data = _rows_bytes(rows, width, styles, heights)
    if prefix:
        data = re.sub(r"<(/?)(row|c|v|is|t)\b", lambda m: f"<{m.group(1)}{prefix}{m.group(2)}",
                      data.decode("utf-8")).encode("utf-8")
    return _serialize(root), data


def _cell_body(style: str | None, value: Any) -> bytes | None:
    """`_cell` after its reference (`" s="3"><v>…`), None for no cell."""
    text = _cell("\x00", value, style)
    return text.split("\x00", 1)[1].encode("utf-8") if text else None


def _height_attr(heights: Sequence[float | None], i: int) -> bytes:
    height = heights[i] if i < len(heights) else None
    return f' ht="{height:g}" customHeight="1"'.encode() if height else b""


def _rows_bytes(rows: Sequence[Sequence[Any]], width: int, styles: dict[int, str],
                heights: Sequence[float | None] = ()) -> bytes:
    """The `<row>`s of `rows` from row 2, each cell as `_cell` writes it, with `heights`.

    A 100,000-client 客户看板 is 1.2 M cells: `io.bulk` builds each distinct value's
    cell once per column and joins references, cells and rows in Arrow.
    """
    lengths = {len(r) for r in rows}
    if len(lengths) == 1 and lengths.pop() <= width:
        from .bulk import _rows_chunks

        try:
            attrs = [_height_attr(heights, i) for i in range(len(rows))] if len(heights) else None
            chunks = _rows_chunks(rows, [styles.get(j) for j in range(width)], 2, _cell_body, typed=True,
                                  row_attrs=attrs)
            return b"".join(chunks)
        except TypeError:  # an unhashable value: written cell by cell below
            pass
    letters = [get_column_letter(j + 1) for j in range(width)]
    out = []
    for i, row in enumerate(rows, start=2):
        cells = "".join(_cell(f"{letters[j]}{i}", v, styles.get(j)) for j, v in enumerate(row))
        size = _height_attr(heights, i - 2).decode()
        out.append(f'<row r="{i}"{size}>{cells}</row>')
    return "".join(out).encode("utf-8")


def table_layout(xml: str | bytes) -> tuple[int, bool]:
    """(number of tableColumns, has a totals row) of a table part."""
    root = _parse(xml)
    columns = root.find(f"{NS_MAIN}tableColumns")
    count = len(columns.findall(f"{NS_MAIN}tableColumn")) if columns is not None else 0
    totals = (root.get("totalsRowCount") or "0") not in ("0", "")
    return count, totals


def render_table(xml: str, width: int, rows: int) -> str:
    """The table part with its ref (and autoFilter ref) fitted to `rows` data rows."""
    root = _parse(xml)
    totals = (root.get("totalsRowCount") or "0") not in ("0", "")
    last = max(rows + 1, 2)
    letter = get_column_letter(width)
    root.set("ref", f"A1:{letter}{last + (1 if totals else 0)}")
    auto = root.find(f"{NS_MAIN}autoFilter")
    if auto is not None:
        auto.set("ref", f"A1:{letter}{last}")
    return _serialize(root)


def prune_calc_chain(xml: bytes, sheet_ids: set[str], keep: set[tuple[str, str]]) -> bytes | None:
    """calcChain.xml without the entries of `sheet_ids` (except cells in `keep`).

    Returns None when nothing is left: the part must then go (an empty chain is invalid).
    """
    root = _parse(xml)
    current = None
    for c in list(root):
        current = c.get("i") or current
        if current in sheet_ids and (current, c.get("r")) not in keep:
            if c.get("i") and c.getnext() is not None and c.getnext().get("i") is None:
                c.getnext().set("i", c.get("i"))  # the next entry inherited this sheet id
            root.remove(c)
    if len(root) == 0:
        return None
    return _serialize(root).encode("utf-8")


_ANY_FORMULA = re.compile(r"<(?:\w+:)?f[\s>/]")


def _formula_cells(xml: str) -> set[str]:
    if not _ANY_FORMULA.search(xml):  # written cells hold values only (a '<' in text is &lt;)
        return set()
    root = _parse(xml)
    return {c.get("r") for c in root.iter(f"{NS_MAIN}c") if c.find(f"{NS_MAIN}f") is not None}


def migrate_header(sheet_xml: str, table_xml: str, sheet: schema.Sheet) -> tuple[str, str]:
    """Header row and table columns of an owned sheet written by an older version.

    When the schema of an owned sheet gained columns (客户看板: 原顾问, 资料完整度), the
    table's column names and the header row are rewritten from the schema, in the
    language the workbook uses, so the table stays valid; cells of the header row to
    the right of the table (the 当前顾问 selector) are kept.
    """
    names = re.findall(r'<tableColumn\b[^>]*\bname="([^"]*)"', table_xml)
    zh = [c.header("zh") for c in sheet.columns]
    en = [c.header("en") for c in sheet.columns]
    if names in (zh, en) or not names:
        return sheet_xml, table_xml
    lang = "en" if names[0] == en[0] and names[0] != zh[0] else "zh"
    headers = en if lang == "en" else zh
    # Column styles (date, percent formats) follow their header, not their old position.
    old_styles = _column_styles(sheet_xml)
    by_name = {n: old_styles[j] for j, n in enumerate(names) if j in old_styles}
    cols = "".join(
        f'<col min="{j + 1}" max="{j + 1}" width="{c.width + 0.71:g}" customWidth="1"'
        + (f' style="{by_name[h]}"' if h in by_name else "") + "/>"
        for j, (c, h) in enumerate(zip(sheet.columns, headers, strict=True)))
    rest = "".join(m.group(0) for m in re.finditer(r"<col\b[^>]*>", sheet_xml)
                   if int(re.search(r'\bmin="(\d+)"', m.group(0)).group(1)) > max(len(names), len(headers)))
    sheet_xml = re.sub(r"<cols>.*?</cols>", lambda _m: f"<cols>{cols}{rest}</cols>", sheet_xml, count=1, flags=re.S)
    columns = "".join(f'<tableColumn id="{i}" name="{escape(h, {chr(34): "&quot;"})}"/>'
                      for i, h in enumerate(headers, start=1))
    table_xml = re.sub(r"<tableColumns\b.*?</tableColumns>", lambda _m: f'<tableColumns count="{len(headers)}">'
                       f"{columns}</tableColumns>", table_xml, count=1, flags=re.S)
    row = re.search(r'<row\b[^>]*\br="1"[^>]*?(?:/>|>(.*?)</row>)', sheet_xml, re.S)
    if row is None:
        return sheet_xml, table_xml
    cells = re.findall(r'<c\b[^>]*?(?:/>|>.*?</c>)', row.group(1) or "", re.S)
    style = re.search(r'\bs="(\d+)"', cells[0]).group(1) if cells and re.search(r'\bs="(\d+)"', cells[0]) else None
    kept = [c for c in cells if _column_index(re.search(r'\br="([A-Z]+)1"', c).group(1)) >= len(headers)]
    new = [_cell(f"{get_column_letter(j + 1)}1", h, style) for j, h in enumerate(headers)]
    open_tag = re.match(r"<row\b[^>]*?(?=/?>)", row.group(0)).group(0)
    open_tag = re.sub(r'\sspans="[^"]*"', "", open_tag)
    sheet_xml = sheet_xml[:row.start()] + open_tag + ">" + "".join(new + kept) + "</row>" + sheet_xml[row.end():]
    return sheet_xml, table_xml


def _column_index(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index - 1


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, sec = date_time
    return (h << 11) | (mi << 5) | (sec // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


try:
    from isal import isal_zlib as _fast_deflate
except ImportError:  # pragma: no cover - a platform without its wheel
    _fast_deflate = zlib


_FAST_DEFLATE = threading.Lock()
_fast_deflating = 0  # blocks open (threads may overlap): zipfile is patched while any is


@contextmanager
def fast_deflate() -> Iterator[None]:
    """Zip parts written meanwhile by zipfile (xlsxwriter's packages) are deflated by ISA-L
    at level 1: about ten times zlib's default level, files about a quarter larger.

    zipfile offers no public way to choose its compressor, so its factory is swapped while
    any such block is open (in any thread; the last one out puts zipfile's own back). On a
    Python whose zipfile lacks it, or without ISA-L, nothing changes (the same files,
    only slower to write).
    """
    global _fast_deflating, _zip_compressor
    if not hasattr(zipfile, "_get_compressor") or _fast_deflate is zlib:
        yield
        return
    with _FAST_DEFLATE:
        if _fast_deflating == 0:
            _zip_compressor = zipfile._get_compressor
            zipfile._get_compressor = _fast_compressor
        _fast_deflating += 1
    try:
        yield
    finally:
        with _FAST_DEFLATE:
            _fast_deflating -= 1
            if _fast_deflating == 0:
                zipfile._get_compressor = _zip_compressor


_zip_compressor = getattr(zipfile, "_get_compressor", None)


def _fast_compressor(compress_type, *args, **kwargs):
    if compress_type == zipfile.ZIP_DEFLATED:
        return _fast_deflate.compressobj(1, _fast_deflate.DEFLATED, -15)
    return _zip_compressor(compress_type, *args, **kwargs)


@dataclass(frozen=True)
class Packed:
    """A part's content already deflated (raw stream), with its CRC-32 and size."""

    data: bytes
    crc: int
    size: int


class Deflater:
    """A part's content deflated (raw stream) as it is added, with its CRC-32 and size.
    Level 1 is ISA-L's (4x zlib's speed, about the same size); other levels are zlib's.

    Small pieces are gathered up to BATCH bytes before they are deflated: ISA-L makes a
    block of each call, so a part added in many small pieces would pack much worse (and
    differently) than the same bytes added at once.
    """

    BATCH = 1 << 20

    def __init__(self, level: int = 1) -> None:
        self.lib = _fast_deflate if level <= 1 else zlib
        self.packer = self.lib.compressobj(level, self.lib.DEFLATED, -15)
        self.out: list[bytes] = []
        self.crc = self.size = 0
        self.waiting: list[bytes] = []
        self.waited = 0

    def add(self, data: bytes | memoryview) -> None:
        if not data:
            return
        self.crc = self.lib.crc32(data, self.crc)
        self.size += len(data)
        if len(data) >= self.BATCH:
            self._flush()
        else:
            self.waiting.append(bytes(data))
            self.waited += len(data)
            if self.waited < self.BATCH:
                return
            data, self.waiting, self.waited = b"".join(self.waiting), [], 0
        self.out.append(self.packer.compress(data))

    def _flush(self) -> None:
        if self.waiting:
            self.out.append(self.packer.compress(b"".join(self.waiting)))
            self.waiting, self.waited = [], 0

    def done(self) -> Packed:
        self._flush()
        self.out.append(self.packer.flush())
        return Packed(b"".join(self.out), self.crc, self.size)


def copy_package(src_path: Path, src: zipfile.ZipFile, dst_path: Path | BinaryIO,
                 replaced: dict[str, Any], level: int = 6) -> None:
    """Write `src` to `dst_path` with some parts replaced; the others are copied raw.

    A part mapped to None is left out. Unchanged parts keep their compressed bytes
    too, so a refresh of a 40 MB workbook neither recompresses 跟进记录 (seconds) nor
    changes its size. Packages that need zip64 fall back to zipfile, which recompresses.
    `level` is the deflate level of the replaced parts; a replaced part may be an
    iterable of byte chunks instead of bytes, or Packed. `dst_path` may be an open file.
    """
    infos = [i for i in src.infolist() if not (i.filename in replaced and replaced[i.filename] is None)]
    big = len(infos) >= 0xFFFF or any(i.file_size >= 0xFFFFFFFF or i.compress_size >= 0xFFFFFFFF
                                      or i.header_offset >= 0xFFFFFFFF for i in infos)
    if big or src_path.stat().st_size >= 0xFFFFFFFF:
        with zipfile.ZipFile(dst_path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
            for info in infos:
                data = replaced.get(info.filename)
                if isinstance(data, Packed):  # zipfile deflates it again
                    data = zlib.decompress(data.data, -15)
                elif data is not None and not isinstance(data, bytes):
                    data = b"".join(data)
                # A copy: writestr sets the sizes and CRC of the ZipInfo it is given, and `src`
                # reads its parts by these (a second copy from the same ZipFile would fail).
                out.writestr(copy.copy(info), data if data is not None else src.read(info.filename),
                             compress_type=info.compress_type)
        return
    central = []
    target = open(dst_path, "wb") if isinstance(dst_path, str | os.PathLike) else nullcontext(dst_path)  # noqa: SIM115
    with open(src_path, "rb") as raw, target as out:
        for info in infos:
            name = info.filename.encode("utf-8")
            flags = (info.flag_bits & ~0x08) | (0x800 if not info.filename.isascii() else 0)
            if info.filename in replaced:
                packed = replaced[info.filename]
                if not isinstance(packed, Packed):
                    # An iterable of chunks (io.bulk) is compressed as it comes, never held whole.
                    deflater = Deflater(level)
                    for chunk in [packed] if isinstance(packed, bytes) else packed:
                        deflater.add(chunk)
                    packed = deflater.done()
                data, crc, size, method = packed.data, packed.crc, packed.size, zipfile.ZIP_DEFLATED
            else:
                raw.seek(info.header_offset)
                header = raw.read(30)
                if header[:4] != b"PK\x03\x04":
                    raise WorkbookError(f"{src_path}: 压缩包结构损坏({info.filename})")
                name_len, extra_len = struct.unpack("<HH", header[26:30])
                raw.seek(info.header_offset + 30 + name_len + extra_len)
                data = raw.read(info.compress_size)
                method, crc, size = info.compress_type, info.CRC, info.file_size
            offset = out.tell()
            t, d = _dos_time(info.date_time)
            out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, t, d, crc, len(data), size,
                                  len(name), 0) + name)
            out.write(data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, t, d, crc, len(data),
                                       size, len(name), 0, 0, 0, 0, info.external_attr, offset) + name)
        start = out.tell()
        directory = b"".join(central)
        out.write(directory)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), len(directory),
                              start, 0))


# --- Whose tasks: N1 and the printed page header (issue 13) -------------------------
# A refresh stamps the owned sheets with the agent and the day: 我的任务!N1 (the selector)
# shows whose tasks these are, and the page header of both sheets says it on paper.


@dataclass(frozen=True)
class Stamp:
    agent: str
    today: date


HEADER_ORDER_AFTER = ("rowBreaks", "colBreaks", "customProperties", "cellWatches", "ignoredErrors",
                      "smartTags", "drawing", "legacyDrawing", "legacyDrawingHF", "drawingHF", "picture",
                      "oleObjects", "controls", "webPublishItems", "tableParts", "extLst")


def _header_text(text: str) -> str:
    return text.replace("&", "&&")  # a literal & in a page header is written &&


def page_header(sheet: schema.Sheet, stamp: Stamp) -> tuple[str, str]:
    """(left, right) page-header sections in Excel's header codes."""
    agent = _header_text(str(stamp.agent)[:60])
    left = f"{sheet.zh} · {agent}" if sheet.key == "my_tasks" else f"{sheet.zh}({agent} 刷新)"
    return f'&"-,Bold"&12{left}', f"{stamp.today:%Y-%m-%d} 刷新"


def set_page_header(xml: str, left: str, right: str) -> str:
    """The sheet XML with its odd-page header replaced (the footer is kept)."""
    header = f"<oddHeader>{escape('&L' + left + '&R' + right)}</oddHeader>"
    if re.search(r"<headerFooter\b[^>]*/>", xml):
        return re.sub(r"<headerFooter\b([^>]*)/>", lambda m: f"<headerFooter{m.group(1)}>{header}</headerFooter>",
                      xml, count=1)
    if "<headerFooter" in xml:
        xml = re.sub(r"<oddHeader\b[^>]*(?:/>|>.*?</oddHeader>)", "", xml, count=1, flags=re.S)
        return re.sub(r"(<headerFooter\b[^>]*>)", lambda m: m.group(1) + header, xml, count=1)
    block = f"<headerFooter>{header}</headerFooter>"
    for name in HEADER_ORDER_AFTER:
        m = re.search(rf"<{name}\b", xml)
        if m:
            return xml[:m.start()] + block + xml[m.start():]
    return xml.replace("</worksheet>", block + "</worksheet>", 1)


def set_header_cell(xml: str, column: int, value: str) -> str:
    """Row 1 of the sheet XML with the cell in `column` (0-based) set to `value`."""
    ref = f"{get_column_letter(column + 1)}1"
    row = re.search(r'<row\b[^>]*\br="1"[^>]*?(?:/>|>(.*?)</row>)', xml, re.S)
    if row is None:
        return xml
    cells = re.findall(r'<c\b[^>]*?\br="[A-Z]+1"[^>]*?(?:/>|>.*?</c>)', row.group(1) or "", re.S)
    style = ""
    kept = []
    for cell in cells:
        if f'r="{ref}"' in cell:
            style = (re.search(r'\bs="(\d+)"', cell) or [None, None])[1] or ""
        else:
            kept.append(cell)
    kept.append(_cell(ref, value, style or None))

    def col_of(cell: str) -> int:
        letters = re.search(r'\br="([A-Z]+)1"', cell).group(1)
        return sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(letters)))

    open_tag = re.match(r"<row\b[^>]*?(?=/?>)", row.group(0)).group(0)
    open_tag = re.sub(r'\sspans="[^"]*"', "", open_tag)
    new_row = f"{open_tag}>{''.join(sorted(kept, key=col_of))}</row>"
    return xml[:row.start()] + new_row + xml[row.end():]


def stamp_sheet(xml: str, sheet: schema.Sheet, stamp: Stamp) -> str:
    if sheet.key == "my_tasks":
        xml = set_header_cell(xml, schema.SELECTOR_COL + 1, stamp.agent)
    return set_page_header(xml, *page_header(sheet, stamp))


# --- files on disk: temp + rename, permissions, lock, stale temps --------------------------

TEMP_PREFIX = ".xlcrm-"
_HELD: set[str] = set()


def target_of(path: str | Path) -> Path:
    """The real file behind `path` (a symbolic link is followed, so its target is updated)."""
    return Path(os.path.realpath(path))


def lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.xlcrm-lock")


@contextmanager
def workbook_lock(path: str | Path, timeout: float = 5.0) -> Iterator[None]:
    """Hold a lock beside the workbook so two refreshes of one file cannot both write.

    The second waits up to `timeout` seconds, then is refused with one line. Nested
    use in one process is a no-op.
    """
    path = target_of(path)
    key = str(path)
    if key in _HELD:
        yield
        return
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_path(path)), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise RefreshError(f"{path.name} 正在被另一个 xlcrm 刷新写入;请等它完成后再试") from None
    except OSError as exc:
        raise RefreshError(f"无法在 {path.parent} 建立锁文件({exc.strerror});文件夹是否只读?") from None
    _HELD.add(key)
    try:
        from .archive import finish_interrupted

        finish_interrupted(path)  # before its temp file would be taken for a stale one
        remove_stale_temps(path.parent, path.stem)
        yield
    finally:
        _HELD.discard(key)
        # Unlinked while still held, so no file is left behind: a contender that opened
        # the old file sees it unlinked after locking it and starts over on a new one.
        with suppress(OSError):
            os.unlink(lock_path(path))
        lock.release()


def remove_stale_temps(folder: Path, stem: str | None = None) -> None:
    """Delete temp files a killed run left in `folder` (only ours, only for `stem` if given)."""
    pattern = f"{TEMP_PREFIX}{stem}-*" if stem is not None else f"{TEMP_PREFIX}*"
    for stale in folder.glob(pattern):
        with suppress(OSError):
            stale.unlink()


def check_writable(path: Path) -> None:
    """Refuse a read-only workbook (also for root, who could write it anyway)."""
    mode = path.stat().st_mode
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise RefreshError(f"{path.name} 是只读文件;请先取消只读(属性/chmod)后再刷新")
    if not os.access(path.parent, os.W_OK):
        raise RefreshError(f"文件夹 {path.parent} 不可写;无法保存 {path.name}")


def _no_space(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def write_temp(path: Path, write: Callable[[Path], Any], mode: int | None = None) -> Path:
    """Call `write(tmp)` for a temp file beside `path` and return it, ready to be renamed.

    On any failure the temp file is removed (a full disk is one clear RefreshError).
    `mode` sets its permission bits (default: those of `path`, else 0644 less the umask).
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, _mode_for(path) if mode is None else mode)
    except BaseException as exc:
        with suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError) and _no_space(exc):
            raise RefreshError(f"磁盘空间不足,{path.name} 没有写入(原文件未改动)") from None
        raise
    return tmp


def write_atomic(path: Path, write: Callable[[Path], Any], mode: int | None = None) -> Path:
    """Call `write(tmp)` for a temp file beside `path`, then rename it onto `path`.

    On any failure the temp file is removed and `path` is untouched.
    """
    tmp = write_temp(path, write, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return path


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


# --- the refresh write ----------------------------------------------------------------------

def _remove_part(zf: zipfile.ZipFile, part: str, replaced: dict[str, bytes | None]) -> None:
    """Drop `part` with its content-type override and workbook relationship."""
    replaced[part] = None
    types = _parse(replaced.get("[Content_Types].xml") or zf.read("[Content_Types].xml"))
    for o in list(types):
        if (o.get("PartName") or "").lstrip("/") == part:
            types.remove(o)
    replaced["[Content_Types].xml"] = _serialize(types).encode("utf-8")
    rels_name = "xl/_rels/workbook.xml.rels"
    rels = _parse(replaced.get(rels_name) or zf.read(rels_name))
    for r in list(rels):
        if _resolve("xl/workbook.xml", r.get("Target") or "") == part:
            rels.remove(r)
    replaced[rels_name] = _serialize(rels).encode("utf-8")


def _sheet_ids(zf: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> sheetId, as calcChain.xml's `i` refers to sheets."""
    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): _resolve("xl/workbook.xml", r.get("Target")) for r in rels.iter(f"{NS_PKG}Relationship")}
    return {targets[s.get(f"{NS_REL}id")]: s.get("sheetId") for s in workbook.iter(f"{NS_MAIN}sheet")
            if s.get(f"{NS_REL}id") in targets}


def owned_parts_replaced(zf: zipfile.ZipFile, contents: dict[str, Sequence[Sequence[Any]]],
                         stamp: Stamp | None = None) -> dict[str, bytes | None]:
    """The new bytes of the owned sheets, their tables and calcChain.xml (None: drop)."""
    parts = sheet_parts(zf)
    replaced: dict[str, bytes | None] = {}
    formulas: dict[str, set[str]] = {}
    for key, rows in contents.items():
        sheet = schema.SHEET_BY_KEY[key]
        name = schema.find_sheet(list(parts), sheet)
        if name is None:
            raise RefreshError(f"工作簿缺少程序工作表「{sheet.zh}」;请用 xlcrm new 生成的模板,"
                               f"或把「{sheet.zh}」表从模板复制过来")
        part = parts[name]
        width = len(sheet.columns)
        totals = False
        sheet_xml = without_body_rows(zf.read(part)).decode("utf-8")
        tables = {t: zf.read(t).decode("utf-8") for t in table_parts(zf, part)}
        for table, table_xml in tables.items():
            count, has_totals = table_layout(table_xml)
            if count > width:
                raise RefreshError(f"「{name}」的表格被加了列(现有 {count} 列,应为 {width} 列);这是程序工作表,"
                                   f"刷新会覆盖其中的内容:请把新增列的内容移到其他工作表并删除该列后再刷新")
            totals = totals or has_totals
            # an owned sheet written by an older version gets the schema's new columns
            sheet_xml, tables[table] = migrate_header(sheet_xml, table_xml, sheet)
        stamped = stamp is not None and sheet.key == "my_tasks"
        skeleton, data = render_sheet_parts(sheet_xml, rows, width, totals,
                                            used=schema.SELECTOR_COL + 2 if stamped else 0,
                                            heights=schema.row_heights(sheet, rows))
        if stamp is not None:
            skeleton = stamp_sheet(skeleton, sheet, stamp)
        head, tail = skeleton.split(ROWS_MARK, 1)
        replaced[part] = head.encode("utf-8") + data + tail.encode("utf-8")
        formulas[part] = _formula_cells(skeleton)  # written rows hold values only
        for table, table_xml in tables.items():
            replaced[table] = render_table(table_xml, width, len(rows)).encode("utf-8")
    chain = "xl/calcChain.xml"
    if chain in zf.namelist():
        ids = _sheet_ids(zf)
        owned = {ids[p]: p for p in formulas if p in ids}
        keep = {(i, r) for i, p in owned.items() for r in formulas[p]}
        pruned = prune_calc_chain(zf.read(chain), set(owned), keep)
        if pruned is None:
            _remove_part(zf, chain, replaced)
        else:
            replaced[chain] = pruned
    return replaced


def _copy_bytes(src: Path) -> Callable[[Path], None]:
    def write(dst: Path) -> None:
        shutil.copyfile(src, dst)
    return write


def replace_owned_sheets(path: str | Path, contents: dict[str, Sequence[Sequence[Any]]],
                         backup: bool = True, stamp: Stamp | None = None,
                         extra: Callable[[zipfile.ZipFile], dict[str, Any]] | None = None) -> Path | None:
    """Write rows (by sheet key, schema column order) into the owned sheets of `path`.

    Follows a symbolic link to its target, keeps the file's permissions, refuses a
    read-only file, holds the lock beside the workbook, and writes both the backup and
    the workbook to temp names first, so neither is ever left half-written. With a
    `stamp`, 我的任务!N1 gets the agent and both sheets' page headers name the agent
    and the day (`stamp_sheet`). `extra(zf)` returns more parts to replace in the
    same atomic write (the daily loop's rows appended to 跟进记录, `io.splice`).
    Returns the backup's path. Raises RefreshError when the write cannot go ahead.
    """
    path = target_of(path)
    if is_open_in_excel(path):
        raise RefreshError(f"{path.name} 正在 Excel 中打开(有 ~$ 锁文件);请先关闭,或在 Excel 里点「刷新我的任务」")
    if not path.exists():
        raise WorkbookError(f"{path}: 文件不存在")
    check_writable(path)
    with workbook_lock(path):
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(f"{path}: 无法打开({exc})") from exc
        with zf:
            replaced = owned_parts_replaced(zf, contents, stamp)
            if extra is not None:
                replaced.update(extra(zf))
            # Deflate level 1: the rewritten sheets are rewritten again on the next refresh;
            # a 100,000-row 客户看板 packs in 0.3 s instead of 0.85 s, 9 MB instead of 7 MB.
            tmp = write_temp(path, lambda dst: copy_package(path, zf, dst, replaced, level=1),
                             stat.S_IMODE(path.stat().st_mode))
        saved = None
        try:
            if backup:
                saved = path.with_name(f"{path.stem}.bak{path.suffix}")
                write_atomic(saved, _copy_bytes(path), stat.S_IMODE(path.stat().st_mode))
            os.replace(tmp, path)
        finally:
            with suppress(OSError):
                tmp.unlink()
    return saved
