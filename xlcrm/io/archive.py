"""`xlcrm archive`: move older 跟进记录 rows into an archive workbook beside the master.

Excel holds 1,048,576 rows a sheet; a large office logs that many touches in about a
year. The archive is `<master stem>-跟进记录归档<suffix>` beside the master. It is
append-only: rows are added below its last row, nothing in it is ever rewritten.

The first archive is the master's own package with every sheet cut down to its header
rows (calcChain dropped): so the same styles and shared strings stand behind the
moved rows, and each moved `<row>` is carried byte for byte (only its row number
changes when it lands on another row). Later archives append below: a shared-string
cell then becomes an inline string with the same text and a cell style is kept when
both packages' styles.xml are the same bytes, else taken from the archive's last row.

In the master only 跟进记录's sheet part (its rows below the moved ones move up) and its
table's `ref` change; every other part keeps its bytes. A 跟进记录 with formulas or
merged cells is refused (moving rows would silently break their references).

Atomic: both new files are written to temp names beside their targets first; then the
archive is renamed into place, then the master (with the master's previous bytes kept
as NAME.bak). If renaming the master fails, the previous archive is put back. A process
killed between the two renames leaves a journal beside the master (`.NAME.xlcrm-archive`:
both files' size and time before and after) with the new master and the previous archive
under names no stale-temp cleaning takes; the next command that takes the workbook's lock
(refresh, archive, import) finishes the move, or puts the archive back when the master
was saved since (`finish_interrupted`), so no row stays in both files. Until then the
loader warns.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from array import array
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .errors import RefreshError, WorkbookError
from .package import (
    TEMP_PREFIX,
    Deflater,
    _copy_bytes,
    _no_space,
    _remove_part,
    check_room,
    check_writable,
    copy_package,
    is_open_in_excel,
    sheet_data_span,
    sheet_parts,
    table_parts,
    target_of,
    workbook_lock,
    write_atomic,
)
from .splice import _grow_ref, _styles, table_rows

ARCHIVE_TAG = "-跟进记录归档"
WARN_SHARE = 0.9  # validate warns from 90% of Excel's row limit

_ROW = re.compile(rb"<row\b[^>]*?/>|<row\b.*?</row>", re.S)
_ROW_R = re.compile(rb'(<row\b[^>]*?\sr=")(\d+)(")')
_ROW_AT = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_CELL_R = re.compile(rb'(<c\b[^>]*?\sr="[A-Z]+)(\d+)(")')
_SHARED = re.compile(rb'<c\b([^>]*?)\st="s"([^>]*)>\s*<v>(\d+)</v>\s*</c>')
_CELL_OPEN = re.compile(rb'<c\b[^>]*?\sr="([A-Z]+)\d+"[^>]*>')
_STYLE = re.compile(rb'\ss="\d+"')
_PHONETIC = re.compile(rb"<rPh\b.*?</rPh>", re.S)
_SI = re.compile(rb"<si>(.*?)</si>|<si/>", re.S)
_T = re.compile(rb"<t\b[^>]*>(.*?)</t>|<t\b[^>]*/>", re.S)


def archive_path(master: str | Path) -> Path:
    """The archive beside `master`: 客户.xlsx -> 客户-跟进记录归档.xlsx."""
    master = Path(master)
    return master.with_name(f"{master.stem}{ARCHIVE_TAG}{master.suffix}")


def master_of(archive: str | Path) -> Path | None:
    """The master an archive belongs to (客户-跟进记录归档.xlsx -> 客户.xlsx), None for a master."""
    archive = Path(archive)
    if not archive.stem.endswith(ARCHIVE_TAG):
        return None
    return archive.with_name(f"{archive.stem[:-len(ARCHIVE_TAG)]}{archive.suffix}")


@dataclass(frozen=True)
class Archived:
    moved: int
    kept: int
    archive: Path
    backup: Path | None


def _sheet_data(xml: bytes) -> tuple[int, int]:
    """(start, end) of the inside of <sheetData>…</sheetData>; (-1, -1) when empty/absent."""
    span = sheet_data_span(xml)
    return (-1, -1) if span is None or span[1] == span[3] else (span[1], span[2])


def _no_row_numbers() -> RefreshError:
    return RefreshError("跟进记录的行没有行号(r),无法归档;请在 Excel 中打开并保存一次后再试")


def _head_rows(xml: bytes, start: int, end: int, header: int) -> list[bytes]:
    """The `<row>`s down to the header row (rows come in order: the scan stops there)."""
    out = []
    for m in _ROW.finditer(xml, start, end):
        r = _ROW_R.search(m.group(0))
        if r is None:
            raise _no_row_numbers()
        if int(r.group(2)) > header:
            break
        out.append(m.group(0))
    return out


def _row_starts(xml: bytes, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """The Excel row number of each `<row>` in sheetData and where it starts, plus `end`.

    sheetData holds only rows (and the white space between them, if any), so a row ends
    where the next one starts: 16 bytes a row instead of a bytes object each (a million
    rows is 350 MB of XML).
    """
    numbers, starts = array("q"), array("q")
    for m in _ROW_AT.finditer(xml, start, end):
        starts.append(m.start())
        numbers.append(int(m.group(1)))
    if len(numbers) != xml.count(b"<row", start, end):
        raise _no_row_numbers()
    starts.append(end)
    return np.frombuffer(numbers, dtype=np.int64), np.frombuffer(starts, dtype=np.int64)


def renumber(row: bytes, number: int) -> bytes:
    """A `<row>` with its own and its cells' row numbers set to `number`."""
    n = str(number).encode()
    row = _ROW_R.sub(lambda m: m.group(1) + n + m.group(3), row, count=1)
    return _CELL_R.sub(lambda m: m.group(1) + n + m.group(3), row)


def _header_row(zf: zipfile.ZipFile, part: str) -> int:
    tops = [table_rows(zf.read(t))[0] for t in table_parts(zf, part)]
    return min(tops) if tops else 1


def _set_dimension(xml: bytes, last: int) -> bytes:
    m = re.search(rb'<dimension ref="([^"]*)"\s*/>', xml[:4096])
    if not m:
        return xml
    ref = m.group(1).decode()
    if ":" not in ref:
        return xml
    start, end = ref.split(":")
    col = re.match(r"[A-Z]+", end).group(0)
    new = f"{start}:{col}{max(last, int(re.sub(r'[A-Z]+', '', start) or 1))}".encode()
    return xml[:m.start(1)] + new + xml[m.end(1):]


def _set_table_last(xml: bytes, header: int, last: int) -> bytes:
    return _table_ref(xml, max(last, header + 1))


def _table_ref(xml: bytes, last: int) -> bytes:
    def fix(m: re.Match) -> bytes:
        a, b = m.group(2).decode().split(":")
        col = re.match(r"[A-Z]+", b).group(0)
        return m.group(1) + f"{a}:{col}{last}".encode() + m.group(3)

    xml = re.sub(rb'(<table\b[^>]*?\sref=")([^"]*)(")', fix, xml, count=1)
    return re.sub(rb'(<autoFilter\b[^>]*?\sref=")([^"]*)(")', fix, xml, count=1)


def _shared_strings(zf: zipfile.ZipFile) -> list[bytes] | None:
    """The text of each shared string (XML-escaped, as stored), or None if there is none."""
    name = "xl/sharedStrings.xml"
    if name not in zf.namelist():
        return None
    out = []
    for m in _SI.finditer(zf.read(name)):
        inner = _PHONETIC.sub(b"", m.group(1) or b"")  # furigana runs are not the text
        out.append(b"".join(t.group(1) or b"" for t in _T.finditer(inner)))
    return out


def _inline(row: bytes, strings: list[bytes] | None) -> bytes:
    """Shared-string cells of `row` as inline strings with the same text."""
    if strings is None:
        return row

    def one(m: re.Match) -> bytes:
        text = strings[int(m.group(3))]
        return (b"<c" + m.group(1) + b' t="inlineStr"' + m.group(2) + b'><is><t xml:space="preserve">' + text
                + b"</t></is></c>")

    return _SHARED.sub(one, row)


def _restyle(row: bytes, styles: dict[str, str]) -> bytes:
    def one(m: re.Match) -> bytes:
        tag = _STYLE.sub(b"", m.group(0))
        style = styles.get(m.group(1).decode())
        if not style:
            return tag
        return tag[:2] + f' s="{style}"'.encode() + tag[2:]

    return _CELL_OPEN.sub(one, row)


def _refuse_unsafe(xml: bytes, start: int, end: int) -> None:
    if re.search(rb"<(?:\w+:)?f\b", xml[start:end]):
        raise RefreshError("「跟进记录」里有公式;移动行会改变公式引用的单元格。请先把公式转换为值后再归档")
    if re.search(rb"<(?:\w+:)?mergeCell\b", xml[end:]):
        raise RefreshError("「跟进记录」里有合并单元格;请先取消合并后再归档")


def moved_rows(book, before: date) -> set[int]:
    """Excel rows of 跟进记录 dated before `before` (undated or unreadable rows stay)."""
    contacts = book.contacts
    if contacts.empty:
        return set()
    live = contacts[contacts["_row"] > 0]
    dates = pd.to_datetime(live["date"], errors="coerce")
    return set(live.loc[dates < pd.Timestamp(before), "_row"].astype(int))


def master_parts(zf: zipfile.ZipFile, name: str, moved: set[int]) -> tuple[dict[str, Any], list[bytes], int]:
    """The master's new 跟进记录 (and table) parts, the moved `<row>`s in order, rows kept.

    The sheet part comes deflated as it is made (io.package.Packed): the rows that stay
    are never all held at once beside the old XML.
    """
    part = sheet_parts(zf)[name]
    xml = zf.read(part)
    start, end = _sheet_data(xml)
    if start < 0:
        return {}, [], 0
    _refuse_unsafe(xml, start, end)
    header = _header_row(zf, part)
    numbers, starts = _row_starts(xml, start, end)
    goes = (numbers > header) & np.isin(numbers, np.fromiter(moved, dtype=np.int64, count=len(moved)))
    shift = np.cumsum(goes)  # rows moved out at or above each row
    stays = np.flatnonzero(~goes)
    new_numbers = np.where(numbers > header, numbers - shift, numbers)[stays]
    last = int(max(header, new_numbers.max(initial=header)))
    view = memoryview(xml)
    sheet = Deflater(6)  # as copy_package packs: the master's biggest part stays as small
    sheet.add(_set_dimension(xml[:start], last))
    sheet.add(view[start:starts[0]] if len(numbers) else b"")
    for i, number in zip(stays.tolist(), new_numbers.tolist(), strict=True):
        row = view[starts[i]:starts[i + 1]]
        sheet.add(row if number == numbers[i] else renumber(row.tobytes(), number))
    sheet.add(view[end:])
    out: dict[str, Any] = {part: sheet.done()}
    for t in table_parts(zf, part):
        out[t] = _set_table_last(zf.read(t), header, last)
    gone = [xml[starts[i]:starts[i + 1]].rstrip() for i in np.flatnonzero(goes).tolist()]  # without the white space after
    view.release()
    return out, gone, int(np.count_nonzero(numbers[stays] > header))


def new_archive_parts(zf: zipfile.ZipFile, name: str, rows: list[bytes]) -> dict[str, bytes | None]:
    """The master's package cut down to header rows, with `rows` under 跟进记录's header."""
    parts = sheet_parts(zf)
    out: dict[str, bytes | None] = {}
    for sheet_name, part in parts.items():
        xml = zf.read(part)
        start, end = _sheet_data(xml)
        header = _header_row(zf, part)
        if start < 0:
            continue
        body = _head_rows(xml, start, end, header)
        last = header
        if sheet_name == name:
            for i, row in enumerate(rows, start=header + 1):
                n = int(_ROW_R.search(row).group(2))
                body.append(row if n == i else renumber(row, i))
                last = i
        out[part] = _set_dimension(xml[:start] + b"".join(body) + xml[end:], last)
        for t in table_parts(zf, part):
            out[t] = _set_table_last(zf.read(t), header, last)
    if "xl/calcChain.xml" in zf.namelist():
        _remove_part(zf, "xl/calcChain.xml", out)
    return out


def appended_archive_parts(arch: zipfile.ZipFile, master: zipfile.ZipFile, name: str, rows: list[bytes]
                           ) -> dict[str, bytes]:
    """The existing archive's 跟进记录 with `rows` (from the master) appended below."""
    parts = sheet_parts(arch)
    target = schema.find_sheet(list(parts), schema.CONTACTS)
    if target is None:
        raise RefreshError(f"归档工作簿里没有「{schema.CONTACTS.zh}」表;请检查归档文件")
    part = parts[target]
    xml = arch.read(part)
    start, end = _sheet_data(xml)
    if start < 0:
        xml = re.sub(rb"<sheetData\s*/>", b"<sheetData></sheetData>", xml, count=1)
        start, end = _sheet_data(xml)
    header = _header_row(arch, part)
    last = max(header, int(_row_starts(xml, start, end)[0].max(initial=header)))
    name_of = Path(arch.filename).name if arch.filename else "归档工作簿"
    check_room(f"{name_of} 的{target}", last, len(rows),
               f"请把 {name_of} 改名保存(例如加上年份;改名后 xlcrm 不再读取它),再归档,较早的记录会移到新的归档工作簿")
    strings = _shared_strings(master)
    same_styles = ("xl/styles.xml" in arch.namelist() and "xl/styles.xml" in master.namelist()
                   and arch.read("xl/styles.xml") == master.read("xl/styles.xml"))
    styles = None
    if not same_styles:
        last_at = xml.rfind(b"<row", start, end) if last > header else -1
        styles = _styles(xml, last_at, end)
    body = []
    for i, row in enumerate(rows, start=last + 1):
        row = _inline(row, strings)
        if styles is not None:
            row = _restyle(row, styles)
        body.append(renumber(row, i))
    new_last = last + len(rows)
    sheet = xml[:end] + b"".join(body) + xml[end:]
    m = re.search(rb'<dimension ref="([^"]*)"\s*/>', sheet[:4096])
    if m:
        sheet = sheet[:m.start(1)] + _grow_ref(m.group(1).decode(), new_last).encode() + sheet[m.end(1):]
    out = {part: sheet}
    for t in table_parts(arch, part):
        out[t] = _table_ref(arch.read(t), new_last)
    return out


def journal_path(master: Path) -> Path:
    return master.with_name(f".{master.name}.xlcrm-archive")


def pending_path(master: Path) -> Path:
    """The new master while an archive moves rows (not a stale temp: the journal needs it)."""
    return master.with_name(f".{master.name}.xlcrm-archive-new{master.suffix}")


def kept_path(master: Path) -> Path:
    """The archive as it was before the move, until the new master is in place."""
    return master.with_name(f".{master.name}.xlcrm-archive-old{master.suffix}")


def _identity(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _write_journal(journal: Path, data: dict) -> None:
    """The journal, whole or not at all (temp, fsync, rename)."""
    tmp = journal.with_name(journal.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, journal)


def finish_interrupted(master: Path) -> str | None:
    """Settle an archive a killed process left between its two renames (call holding the
    master's lock, before stale temps are removed). None when there was none; else
    'completed' (the new master put in place), 'undone' (the archive was never replaced:
    nothing had moved), 'restored' (the master was saved since: the archive is put back
    as it was, so the rows are only in the master, with the edits) or 'unknown' (neither
    file is as the journal left it: the journal stays, and archive refuses to run).
    """
    journal = journal_path(master)
    if not journal.exists():
        for orphan in (pending_path(master), kept_path(master)):  # killed before the journal was written
            with suppress(OSError):
                orphan.unlink()
        return None
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        before, after = data["archive_before"], data["archive_after"]
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"
    archive, pending, kept = archive_path(master), pending_path(master), kept_path(master)
    now = _identity(archive)
    outcome = "unknown"
    if now == after and now is not None:
        if _identity(master) == data.get("master_after"):
            outcome = "completed"  # killed after the master's rename, before the journal went
        elif _identity(master) == data.get("master_before") and pending.exists():
            os.replace(pending, master)
            outcome = "completed"
        elif kept.exists():
            os.replace(kept, archive)
            outcome = "restored"
        elif before is None:
            archive.unlink()
            outcome = "restored"
    elif now == before:
        outcome = "undone"
    if outcome != "unknown":
        for leftover in (pending, kept, journal):
            with suppress(OSError):
                leftover.unlink()
    return outcome


def interrupted_finding(master: Path, sheet: str):
    """A warning for a load while a killed archive's journal is still there, else None."""
    from ..core.records import Finding

    if not journal_path(master).exists():
        return None
    return Finding(sheet, "", f"上次归档(xlcrm archive)在移动记录时被中断:部分{sheet}可能同时在主表和归档中,"
                   "本次结果会把它们算两次;下一次 xlcrm refresh、import 或 archive 会自动完成或撤销这次归档",
                   "warning", "archive-interrupted")


def _temp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def archive_master(master: str | Path, before: date) -> Archived:
    """Move 跟进记录 rows dated before `before` from `master` into its archive."""
    from .loader import load

    master = target_of(master)
    if not master.exists():
        raise WorkbookError(f"{master}: 文件不存在")
    if is_open_in_excel(master):
        raise RefreshError(f"{master.name} 正在 Excel 中打开(有 ~$ 锁文件);请先关闭后再归档")
    check_writable(master)
    archive = archive_path(master)
    if archive.exists():
        check_writable(archive)
    with workbook_lock(master), workbook_lock(archive):
        if journal_path(master).exists():  # finish_interrupted could not tell what had moved
            raise RefreshError(f"上次归档被中断,且 {master.name} 和 {archive.name} 此后都被改动过,无法判断哪些记录已移走;"
                               f"请核对两个文件(重复的记录留一份)后删除 {journal_path(master).name},再归档")
        book, findings = load(master, archives=False)
        if any(f.severity == "fatal" and f.sheet == book.sheet_name("contacts") for f in findings):
            raise RefreshError(f"「{book.sheet_name('contacts')}」表缺少必填列,无法归档(先运行 xlcrm validate)")
        moved = moved_rows(book, before)
        name = book.sheet_name("contacts")
        if not moved:
            return Archived(0, len(book.contacts), archive, None)
        del book, findings  # the frames are not needed to move rows: their memory is
        made: list[Path] = []
        try:
            with zipfile.ZipFile(master) as zf:
                replaced, rows, kept = master_parts(zf, name, moved)
                arch_tmp = _temp_beside(archive)
                made.append(arch_tmp)
                if archive.exists():
                    with zipfile.ZipFile(archive) as az:
                        copy_package(archive, az, arch_tmp, appended_archive_parts(az, zf, name, rows))
                    os.chmod(arch_tmp, stat.S_IMODE(archive.stat().st_mode))
                else:
                    copy_package(master, zf, arch_tmp, new_archive_parts(zf, name, rows))
                    os.chmod(arch_tmp, stat.S_IMODE(master.stat().st_mode))
                master_tmp = _temp_beside(master)
                made.append(master_tmp)
                copy_package(master, zf, master_tmp, replaced)
                os.chmod(master_tmp, stat.S_IMODE(master.stat().st_mode))
            backup = master.with_name(f"{master.stem}.bak{master.suffix}")
            write_atomic(backup, _copy_bytes(master), stat.S_IMODE(master.stat().st_mode))
            # For a process killed between the two renames: the new master and the archive
            # as it was sit under names no stale-temp cleaning takes, and a journal says
            # how each file looked before and after (finish_interrupted reads it).
            pending, kept_copy, journal = pending_path(master), kept_path(master), journal_path(master)
            os.replace(master_tmp, pending)
            made.append(pending)
            archive_before = _identity(archive)
            if archive_before is not None:  # kept until the master is in place, to put back on failure
                shutil.copyfile(archive, kept_copy)
                made.append(kept_copy)
            made.append(journal)
            _write_journal(journal, {"archive_before": archive_before, "archive_after": _identity(arch_tmp),
                                     "master_before": _identity(master), "master_after": _identity(pending)})
            os.replace(arch_tmp, archive)
            try:
                os.replace(pending, master)
            except BaseException:
                if archive_before is not None:
                    os.replace(kept_copy, archive)
                else:
                    archive.unlink()
                raise
        except OSError as exc:
            if _no_space(exc):
                raise RefreshError(f"磁盘空间不足,没有归档({master.name} 未改动)") from None
            raise
        finally:
            for tmp in made:
                with suppress(OSError):
                    tmp.unlink()
    return Archived(len(rows), kept, archive, backup)
