"""Append rows to a sheet people type into (客户, 跟进记录, 顾问 …), in place.

The only write into a user sheet is appending rows. Like `package.replace_owned_sheets`,
this edits the package rather than re-saving it: the sheet's `<sheetData>` gets new
`<row>` elements after the last row with a value, the table's `ref` (and its
autoFilter) grows to cover them, and every other part of the zip is copied raw, byte
for byte. Cells are inline strings, numbers and date serials styled like the last
data row of their column (or the column's own style), so sharedStrings.xml and
styles.xml are untouched. Columns are found by the table's header names, so a
workbook whose columns were reordered, renamed to English or extended still works.
The write is atomic: temp file beside the workbook, NAME.bak.xlsx, then os.replace.

    append_rows("客户维护.xlsx", "clients", [{"client_id": "K000301", "name": "王芳", ...}])
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from html import unescape  # XML text: &amp; and character references (&#23458;) alike
from pathlib import Path
from typing import Any

from defusedxml import ElementTree
from openpyxl.utils import column_index_from_string, get_column_letter

from . import schema
from .errors import RefreshError, WorkbookError
from .package import (
    NS_MAIN,
    TEMP_PREFIX,
    _cell,
    _column_styles,
    check_room,
    check_writable,
    copy_package,
    is_open_in_excel,
    sheet_data_span,
    sheet_parts,
    table_parts,
    workbook_lock,
    write_atomic,
)

_ROW = re.compile(r'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(r'<c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_VALUE = re.compile(r"<v>|<is>|<f[ >]")
_REF = re.compile(r"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?")

Row = Mapping[str, Any] | Sequence[Any]


def _table_ref(xml: str) -> tuple[int, int, int, int] | None:
    m = re.search(r'<table\b[^>]*?\sref="([^"]+)"', xml)
    if not m:
        return None
    r = _REF.fullmatch(m.group(1))
    if not r:
        return None
    c1, r1 = column_index_from_string(r[1]), int(r[2])
    c2, r2 = (column_index_from_string(r[3]), int(r[4])) if r[3] else (c1, r1)
    return c1, r1, c2, r2


def _table_headers(xml: str) -> list[str]:
    root = ElementTree.fromstring(xml.encode("utf-8"))
    return [c.get("name", "") for c in root.iter(f"{NS_MAIN}tableColumn")]


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{NS_MAIN}t")) for si in root.iter(f"{NS_MAIN}si")]


def _header_from_sheet(zf: zipfile.ZipFile, xml: str, aliases: dict[str, str]) -> tuple[int, dict[int, str]]:
    """(header row, column index -> header) for a sheet without a table: the first row naming our columns."""
    sst: list[str] | None = None
    for m in _ROW.finditer(xml):
        cells: dict[int, str] = {}
        for c in re.finditer(r'<c\b([^>]*?)\br="([A-Z]+)\d+"([^>]*?)(?:/>|>(.*?)</c>)', xml[m.start():m.end()], re.S):
            attrs, body = c.group(1) + c.group(3), c.group(4) or ""
            v = re.search(r"<v>(.*?)</v>", body, re.S)
            if 't="s"' in attrs and v:
                sst = _shared_strings(zf) if sst is None else sst
                text = sst[int(v.group(1))] if int(v.group(1)) < len(sst) else ""
            else:
                text = unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", body, re.S))) or (
                    unescape(v.group(1)) if v else "")
            cells[column_index_from_string(c.group(2))] = text
        if any(t.strip() in aliases for t in cells.values()):
            return int(m.group(1)), cells
        if int(m.group(1)) > 20:
            break
    raise RefreshError("找不到表头行,无法追加")


def _sheet_data(data: bytes) -> tuple[int, int, int, int]:
    span = sheet_data_span(data)
    if span is None:
        raise RefreshError("工作表结构无法识别(没有 sheetData)")
    return span


def _last_row(data: bytes, start: int, end: int, first_col: int, last_col: int, below: int
              ) -> tuple[int, str | None, int]:
    """The last row (> below) with a value in the columns, that row's XML, and where the
    rows after it begin. Rows come in order, so the search walks back from the end and
    stops at the first such row (or at row `below`): a sheet of a million rows is not
    split into rows to add a few."""
    pos = end
    keep: int | None = None  # a row without a number: it and everything above stay as they are
    while (at := data.rfind(b"<row", start, pos)) >= 0:
        m = _ROW.match(data[at:pos].decode("utf-8"))
        if m is None:
            keep = pos if keep is None else keep
        else:
            r = int(m.group(1))
            if r <= below:
                break
            if m.group(2) and _VALUE.search(m.group(2)):
                for c in _CELL.finditer(m.group(2)):
                    if first_col <= column_index_from_string(c.group(1)) <= last_col and _VALUE.search(c.group(0)):
                        return r, m.group(2), pos if keep is None else keep
        pos = at
    return below, None, pos if keep is None else keep


def _render_rows(tail: str, start: int, new_rows: list[dict[int, str]]) -> str:
    """New rows (column index -> cell XML) at `start`…, merged with the rows of `tail` (the
    sheet's rows from `start` on: formatted empty rows, values beyond the table)."""
    existing = {int(r.group(1)): r for r in _ROW.finditer(tail)}
    out: list[str] = []
    end = start + len(new_rows) - 1
    for i, cells in enumerate(new_rows):
        r = start + i
        merged = dict(cells)
        old = existing.get(r)
        attrs = ""
        if old is not None:
            for c in _CELL.finditer(old.group(2) or ""):
                j = column_index_from_string(c.group(1))
                if j not in merged and _VALUE.search(c.group(0)):
                    merged[j] = c.group(0)
            ht = re.search(r'\s(ht="[^"]*"\s+customHeight="1")', old.group(0)[:200])
            attrs = " " + ht.group(1) if ht else ""
        out.append(f'<row r="{r}"{attrs}>' + "".join(merged[j] for j in sorted(merged) if merged[j]) + "</row>")
    rest = [row.group(0) for row in _ROW.finditer(tail) if int(row.group(1)) > end]
    return "".join(out) + "".join(rest)


def _first_rows(data: bytes, start: int, end: int, rows: int = 25) -> str:
    """The sheet's XML down to about its first `rows` rows (where a header row is looked for)."""
    pos = start
    for _ in range(rows):
        at = data.find(b"</row>", pos, end)
        if at < 0:
            return data[:end].decode("utf-8")
        pos = at + len(b"</row>")
    return data[:pos].decode("utf-8")


def _grow_dimension(xml: str, last_row: int, last_col: int) -> str:
    def repl(m: re.Match) -> str:
        r = _REF.fullmatch(m.group(1))
        if not r:
            return m.group(0)
        c2 = max(column_index_from_string(r[3] or r[1]), last_col)
        r2 = max(int(r[4] or r[2]), last_row)
        return f'<dimension ref="{r[1]}{r[2]}:{get_column_letter(c2)}{r2}"/>'
    return re.sub(r'<dimension ref="([^"]*)"\s*/>', repl, xml, count=1)


def _grow_table(xml: str, c1: int, r1: int, c2: int, last_row: int) -> str:
    ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{last_row}"
    xml = re.sub(r'(<table\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml, count=1)
    return re.sub(r'(<autoFilter\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml, count=1)


def _append_sheet(zf: zipfile.ZipFile, part: str, sheet: schema.Sheet, rows: Sequence[Row],
                  replaced: dict[str, Any]) -> int:
    data = zf.read(part)
    opened, first, stop, closed = _sheet_data(data)
    aliases = schema.header_map(sheet)
    tables = table_parts(zf, part)
    table_xml = zf.read(tables[0]).decode("utf-8") if tables else None
    ref = _table_ref(table_xml) if table_xml else None
    if ref is not None:
        c1, r1, c2, r2 = ref
        if re.search(r'<table\b[^>]*\btotalsRowCount="[1-9]', table_xml):
            raise RefreshError(f"「{sheet.zh}」表带汇总行,无法在其后追加;请在 Excel 中取消汇总行")
        headers = {c1 + k: h for k, h in enumerate(_table_headers(table_xml))}
    else:
        r1, headers = _header_from_sheet(zf, _first_rows(data, first, stop), aliases)
        c1, c2, r2 = min(headers), max(headers), r1
    letters = {}
    for j, header in headers.items():
        key = aliases.get(header.strip()) or aliases.get(header.strip().lower())
        if key is not None:
            letters.setdefault(key, j)
    missing = [c.zh for c in sheet.columns if c.required and c.key not in letters]
    if missing:
        raise RefreshError(f"「{sheet.zh}」表缺少列 {'、'.join(missing)},无法追加")
    last, last_body, cut = _last_row(data, first, stop, c1, c2, r1)
    # The column styles from <cols>: the sheet parsed without its rows.
    styles = {j + 1: s for j, s in _column_styles(data[:first] + data[stop:]).items()}
    if last_body:
        for c in _CELL.finditer(last_body):
            s = re.search(r'\ss="(\d+)"', c.group(0))
            if s:
                styles[column_index_from_string(c.group(1))] = s.group(1)
    check_room(sheet.zh, last, len(rows))
    start = last + 1
    new_rows: list[dict[int, str]] = []
    for i, row in enumerate(rows):
        values = row if isinstance(row, Mapping) else dict(zip(sheet.keys, row, strict=False))
        cells: dict[int, str] = {}
        for key, value in values.items():
            j = letters.get(key)
            if j is None:
                continue
            cells[j] = _cell(f"{get_column_letter(j)}{start + i}", value, styles.get(j))
        new_rows.append(cells)
    end = start + len(rows) - 1
    top = _grow_dimension(data[:opened].decode("utf-8"), end, c2)
    added = _render_rows(data[cut:stop].decode("utf-8"), start, new_rows)
    # The rows already there go to the writer as a view of the part read (a million-row
    # 跟进记录 is 350 MB: neither copied nor joined; copy_package deflates piece by piece).
    view = memoryview(data)
    replaced[part] = [top.encode("utf-8"), b"<sheetData>", view[first:cut], added.encode("utf-8"),
                      b"</sheetData>", view[closed:]]
    if table_xml is not None and ref is not None:
        replaced[tables[0]] = _grow_table(table_xml, c1, r1, c2, max(end, r2)).encode("utf-8")
    return start


def append_tables(path: str | Path, contents: Mapping[str, Sequence[Row]], backup: bool = True) -> Path | None:
    """Append rows to several user sheets at once (one atomic write). Returns the backup's path.

    `contents` maps a sheet key (`clients`, `contacts`, `agents` …) to rows: dicts by
    column key, or sequences in the schema's column order. Raises RefreshError when the
    workbook is open in Excel, read-only, or lacks a sheet or a required column.
    """
    path = Path(path)
    target = path.resolve()  # a symbolic link: write the file it points to
    if is_open_in_excel(path):
        raise RefreshError(f"{path.name} 正在 Excel 中打开(有 ~$ 锁文件);请先关闭再导入")
    if target.exists():
        check_writable(target)  # read-only refused, also for root
    with workbook_lock(target):
        return _append_locked(path, target, contents, backup)


def _append_locked(path: Path, target: Path, contents: Mapping[str, Sequence[Row]], backup: bool) -> Path | None:
    try:
        zf = zipfile.ZipFile(target)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: 无法打开({exc})") from exc
    with zf:
        parts = sheet_parts(zf)
        replaced: dict[str, Any] = {}  # part -> bytes, or its pieces
        for key, rows in contents.items():
            if not rows:
                continue
            sheet = schema.SHEET_BY_KEY[key]
            name = schema.find_sheet(list(parts), sheet)
            if name is None:
                raise RefreshError(f"工作簿缺少工作表「{sheet.zh}」")
            _append_sheet(zf, parts[name], sheet, rows, replaced)
        if not replaced:
            return None
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{target.stem}-", suffix=target.suffix, dir=target.parent)
        os.close(fd)
        try:
            copy_package(target, zf, Path(tmp), replaced)
            shutil.copymode(target, tmp)
        except BaseException:
            os.unlink(tmp)
            raise
    saved = None
    try:
        if backup:  # temp + rename: a full disk never truncates the previous backup
            saved = target.with_name(f"{target.stem}.bak{target.suffix}")
            write_atomic(saved, lambda dst: shutil.copyfile(target, dst), stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return saved


def append_rows(path: str | Path, sheet_key: str, rows: Sequence[Row]) -> Path:
    """Append `rows` to one user sheet; returns the workbook's path."""
    append_tables(path, {sheet_key: rows})
    return Path(path)
