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

import os
import posixpath
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from . import schema
from .errors import RefreshError, WorkbookError

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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


def _cell(ref: str, value: Any, style: str | None) -> str:
    s = f' s="{style}"' if style else ""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, datetime | date):
        serial = to_excel(value)
        return f'<c r="{ref}"{s}><v>{serial:g}</v></c>'
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, int | float):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    text = _INVALID_XML.sub("", str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _column_styles(xml: str) -> dict[int, str]:
    styles: dict[int, str] = {}
    for col in re.finditer(r"<col\b[^>]*>", xml):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', col.group(0)))
        if "style" in attrs:
            for i in range(int(attrs["min"]), int(attrs["max"]) + 1):
                styles[i - 1] = attrs["style"]
    return styles


def render_sheet(xml: str, rows: Sequence[Sequence[Any]], width: int) -> str:
    """The sheet's XML with its data rows replaced; row 1 (header, selector) is kept."""
    styles = _column_styles(xml)
    header = re.search(r'<row\b[^>]*\br="1"[^>]*?(?:/>|>.*?</row>)', xml, re.S)
    out = [header.group(0)] if header else []
    letters = [get_column_letter(j + 1) for j in range(width)]
    for i, row in enumerate(rows, start=2):
        cells = "".join(_cell(f"{letters[j]}{i}", v, styles.get(j)) for j, v in enumerate(row))
        out.append(f'<row r="{i}">{cells}</row>')
    data = "<sheetData>" + "".join(out) + "</sheetData>"
    new, n = re.subn(r"<sheetData\s*/>|<sheetData\b[^>]*>.*?</sheetData>", lambda _m: data, xml, count=1, flags=re.S)
    if n != 1:
        raise RefreshError("工作表结构无法识别(没有 sheetData)")
    last = max(len(rows) + 1, 2)
    new = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{letters[-1]}{last}"/>', new, count=1)
    return new


def render_table(xml: str, width: int, rows: int) -> str:
    ref = f"A1:{get_column_letter(width)}{max(rows + 1, 2)}"
    xml = re.sub(r'(<table\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml, count=1)
    return re.sub(r'(<autoFilter\b[^>]*?\sref=")[^"]*(")', lambda m: m.group(1) + ref + m.group(2), xml, count=1)


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


def copy_package(src_path: Path, src: zipfile.ZipFile, dst_path: Path, replaced: dict[str, bytes]) -> None:
    """Write `src` to `dst_path` with some parts replaced; the others are copied raw.

    Unchanged parts keep their compressed bytes too, so a refresh of a 40 MB workbook
    neither recompresses 跟进记录 (seconds) nor changes its size. Packages that need
    zip64 fall back to zipfile, which recompresses.
    """
    infos = src.infolist()
    big = len(infos) >= 0xFFFF or any(i.file_size >= 0xFFFFFFFF or i.compress_size >= 0xFFFFFFFF
                                      or i.header_offset >= 0xFFFFFFFF for i in infos)
    if big or src_path.stat().st_size >= 0xFFFFFFFF:
        with zipfile.ZipFile(dst_path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
            for info in infos:
                data = replaced.get(info.filename)
                out.writestr(info, data if data is not None else src.read(info.filename),
                             compress_type=info.compress_type)
        return
    central = []
    with open(src_path, "rb") as raw, open(dst_path, "wb") as out:
        for info in infos:
            name = info.filename.encode("utf-8")
            flags = (info.flag_bits & ~0x08) | (0x800 if not info.filename.isascii() else 0)
            if info.filename in replaced:
                content = replaced[info.filename]
                packer = zlib.compressobj(6, zlib.DEFLATED, -15)
                data = packer.compress(content) + packer.flush()
                method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(content), len(content)
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


# --------------------------------------------------------------------------------------


def replace_owned_sheets(path: str | Path, contents: dict[str, Sequence[Sequence[Any]]],
                         backup: bool = True, stamp: Stamp | None = None,
                         extra: Callable[[zipfile.ZipFile], dict[str, bytes]] | None = None) -> Path | None:
    """Write rows (by sheet key, schema column order) into the owned sheets of `path`.

    With a `stamp`, 我的任务!N1 gets the agent and both sheets' page headers name the
    agent and the day (`stamp_sheet`). `extra(zf)` returns more parts to replace in the
    same atomic write (the daily loop's rows appended to 跟进记录, `io.splice`).
    Returns the backup's path. Raises RefreshError when the workbook is open in
    Excel or lacks an owned sheet.
    """
    path = Path(path)
    if is_open_in_excel(path):
        raise RefreshError(f"{path.name} 正在 Excel 中打开(有 ~$ 锁文件);请先关闭,或在 Excel 里点「刷新我的任务」")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: 无法打开({exc})") from exc
    with zf:
        parts = sheet_parts(zf)
        replaced: dict[str, bytes] = {}
        for key, rows in contents.items():
            sheet = schema.SHEET_BY_KEY[key]
            name = schema.find_sheet(list(parts), sheet)
            if name is None:
                raise RefreshError(f"工作簿缺少程序工作表「{sheet.zh}」;请用 xlcrm new 生成的模板,"
                                   f"或把「{sheet.zh}」表从模板复制过来")
            part = parts[name]
            width = len(sheet.columns)
            sheet_xml = zf.read(part).decode("utf-8")
            tables = {t: zf.read(t).decode("utf-8") for t in table_parts(zf, part)}
            for table, xml in tables.items():
                sheet_xml, tables[table] = migrate_header(sheet_xml, xml, sheet)
            xml = render_sheet(sheet_xml, rows, width)
            if stamp is not None:
                xml = stamp_sheet(xml, sheet, stamp)
            replaced[part] = xml.encode("utf-8")
            for table, xml in tables.items():
                replaced[table] = render_table(xml, width, len(rows)).encode("utf-8")
        if extra is not None:
            replaced.update(extra(zf))
        fd, tmp = tempfile.mkstemp(prefix=".xlcrm-", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        try:
            copy_package(path, zf, Path(tmp), replaced)
        except BaseException:
            os.unlink(tmp)
            raise
    saved = None
    if backup:
        saved = path.with_name(f"{path.stem}.bak{path.suffix}")
        shutil.copy2(path, saved)
    os.replace(tmp, path)
    return saved
