"""Read a workbook into a `Book` of typed pandas frames, with findings for bad cells.

Sheets are read through fastexcel (Arrow, io/arrow_read) in parallel threads, each one
checked by the package guard first; the biggest sheet is read in two halves at once
(io/halves); python-calamine reads whatever the fast path declines. Every frame has its
columns under the schema's English keys plus `_row`, the Excel row the record came
from, so every finding can say `跟进记录!B17`. Headers are accepted in Chinese or
English; columns the schema doesn't know are left alone.

    book, findings = load("workbook/sample.xlsx")
    book.clients["class_override"]
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import zipfile
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from ..core.records import Book, Finding
from . import schema
from .arrow_read import read_sheet_arrow
from .dates import parse_date, parse_month_day
from .errors import WorkbookError
from .guard import check_package
from .schema import Sheet

# Read through Arrow (fastexcel) where it gives the same result; tests switch it off, and
# XLCRM_LOADER=calamine does for a whole process (the golden outputs are written that way).
FAST = os.environ.get("XLCRM_LOADER", "arrow") != "calamine"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Program-owned sheets read back for what agents typed into them (完成, 结果 …: the daily loop).
TICKED_SHEETS = ("my_tasks",)
# Threads that check and read sheets at once (fastexcel and zlib release the GIL).
THREADS = max(1, min(4, os.cpu_count() or 1))
BIG_SHEET = 32 << 20  # bytes of sheet XML above which a sheet's error cells are looked for apart


def empty_frame(sheet: Sheet) -> pd.DataFrame:
    frame = pd.DataFrame({key: pd.Series(dtype=object) for key in sheet.keys})
    for col in sheet.columns:
        if col.kind == "date":
            frame[col.key] = pd.Series(dtype="datetime64[ns]")
        elif col.kind == "monthday":
            frame[col.key] = pd.Series(dtype="datetime64[ns]")
            frame[col.key + "_month"] = pd.Series(dtype="Int64")
            frame[col.key + "_day"] = pd.Series(dtype="Int64")
        elif col.kind in ("int", "float"):
            frame[col.key] = pd.Series(dtype=float)
    frame["_row"] = pd.Series(dtype=int)
    return frame


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()
    return text or None


_BAD = object()


def _date_or_bad(value: Any) -> Any:
    try:
        return parse_date(value)
    except (ValueError, OverflowError):
        return _BAD


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    return float(str(value).strip().replace(",", ""))


MAX_NUMBER = {"int": 1_000_000, "float": 1e9}


def _number_problem(col: schema.Column, number: float) -> str | None:
    """Why a number can't be used in `col`, or None (every numeric column counts or measures)."""
    if not math.isfinite(number):
        return "不是有效数字"
    if number < 0:
        return "不能为负数"
    if number > MAX_NUMBER[col.kind]:
        return f"超出范围(最大 {MAX_NUMBER[col.kind]:,g})"
    if col.kind == "int" and not number.is_integer():
        return "应为整数"
    return None


def check_readable(path: Path) -> dict[str, dict[str, str]]:
    """Raise WorkbookError with one clear line if `path` is not a workbook we can open.

    Returns the cells a reader would see as blank though they hold an error value or
    an uncalculated formula, by worksheet part (see guard.check_package).
    """
    check_file(path)
    return check_package(path)  # sizes, ratios, used ranges and CRCs, before any reader runs


def check_file(path: Path) -> None:
    """WorkbookError (one line) unless `path` is a zip package with a workbook part."""
    if not path.exists():
        raise WorkbookError(f"{path}: 文件不存在")
    if path.is_dir():
        raise WorkbookError(f"{path}: 这是一个文件夹,不是工作簿")
    with path.open("rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        raise WorkbookError(f"{path}: 工作簿受密码保护或是旧版 .xls 格式,请在 Excel 中另存为无密码的 .xlsx")
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path}: 不是 Excel 工作簿(.xlsx/.xlsm),或文件已损坏")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise WorkbookError(f"{path}: 压缩包里没有 xl/workbook.xml,不是 Excel 工作簿")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise WorkbookError(f"{path}: 文件已损坏({exc})") from exc


def _open(path: Path):
    """The calamine workbook of `path`, after the package checks (see `_open_checked`)."""
    return _open_checked(path)[0]


def _open_checked(path: Path):
    odd = check_readable(path)
    return _calamine(path), odd


def _calamine(path: Path):
    """python-calamine's workbook; call only after check_readable."""
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several private error types
        raise WorkbookError(f"{path}: 无法读取工作簿({exc})") from exc


def _find_header(rows: list[list[Any]], aliases: dict[str, str]) -> int | None:
    for i, row in enumerate(rows[:20]):
        if sum(1 for v in row if isinstance(v, str) and v.strip() in aliases) >= 1:
            return i
    return None


def read_sheet(rows: list[list[Any]], sheet: Sheet, name: str
               ) -> tuple[pd.DataFrame, dict[str, str], list[Finding]]:
    """Turn a sheet's raw cell rows into a typed frame, its column letters and findings."""
    findings: list[Finding] = []
    aliases = schema.header_map(sheet)
    header_at = _find_header(rows, aliases)
    if header_at is None:
        findings.append(_no_header(sheet, name))
        return empty_frame(sheet), {}, findings
    positions: dict[str, int] = {}
    for j, value in enumerate(rows[header_at]):
        if isinstance(value, str) and value.strip() in aliases:
            key = aliases[value.strip()]
            if key in positions:
                findings.append(Finding(name, f"{get_column_letter(j + 1)}{header_at + 1}",
                                        f"表头「{value.strip()}」重复(已在 {get_column_letter(positions[key] + 1)}"
                                        f"{header_at + 1}),此列内容被忽略", "error", "header-duplicate", key))
                continue
            positions[key] = j
    body = rows[header_at + 1:]
    first_row = header_at + 2  # Excel rows are 1-based, plus the header
    keep = [i for i, r in enumerate(body) if any(v != "" and v is not None for v in r)]
    width = max((len(r) for r in rows), default=0)
    kept = body if len(keep) == len(body) else [body[i] for i in keep]
    # One transpose in C instead of a Python loop per column (UDF ranges may be ragged).
    columns = list(zip(*(r if len(r) == width else list(r) + [None] * (width - len(r)) for r in kept),
                       strict=True)) if kept else [() for _ in range(width)]
    letters = {key: get_column_letter(j + 1) for key, j in positions.items()}
    header_row = rows[header_at]
    for j in range(width):
        if j < len(header_row) and header_row[j] not in (None, ""):
            continue
        hit = next((i for i, r in enumerate(kept) if j < len(r) and r[j] not in (None, "")), None)
        if hit is not None:
            findings.append(Finding(name, f"{get_column_letter(j + 1)}{first_row + keep[hit]}",
                                    "此列没有表头,其中的内容被忽略", "warning", "column-no-header"))
    findings += _missing_columns(sheet, name, positions, len(rows[header_at]), header_at + 1)
    data: dict[str, Any] = {"_row": [first_row + i for i in keep]}
    for col in sheet.columns:
        j = positions.get(col.key)
        raw = list(columns[j]) if j is not None else [None] * len(keep)
        values, bad = _convert(col, raw)
        for i, code, message in bad:
            findings.append(Finding(name, f"{letters[col.key]}{first_row + keep[i]}", message, "error", code,
                                    col.key))
        _store(data, col, values)
    return _frame(sheet, data), letters, findings


def _no_header(sheet: Sheet, name: str) -> Finding:
    return Finding(name, "A1", f"找不到表头(应有 {'、'.join(c.zh for c in sheet.columns[:4])} …)",
                   "fatal", "header-missing")


def _missing_columns(sheet: Sheet, name: str, positions: dict[str, int], width: int, header_row: int
                     ) -> list[Finding]:
    where = f"{get_column_letter(width + 1)}{header_row}"
    return [Finding(name, where, f"缺少必填列「{col.zh}」({col.english})", "fatal", "column-missing", col.key)
            for col in sheet.columns if col.required and col.key not in positions]


def _store(data: dict[str, Any], col: schema.Column, values: Any) -> None:
    if col.kind == "monthday":
        full, months, days = values
        data[col.key] = pd.to_datetime(pd.Series(full, dtype=object), errors="coerce")
        data[col.key + "_month"] = pd.array(months, dtype="Int64")
        data[col.key + "_day"] = pd.array(days, dtype="Int64")
    elif col.kind == "date":
        data[col.key] = pd.to_datetime(pd.Series(values, dtype=object), errors="coerce")
    elif col.kind in ("int", "float"):
        data[col.key] = pd.Series(values, dtype=float)
    else:
        data[col.key] = pd.Series(values, dtype=object)


def _frame(sheet: Sheet, data: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(data)
    if sheet.key == "contacts" and not isinstance(frame["client_id"].dtype, pd.CategoricalDtype):
        # A million contact rows are grouped by client again and again: categorical codes
        # make each groupby/isin several times faster than hashing the id strings.
        frame["client_id"] = frame["client_id"].astype("category")
    return frame


def _convert(col: schema.Column, raw: list[Any]):
    """Convert one column's raw values; returns (values, [(index, code, message)])."""
    bad: list[tuple[int, str, str]] = []
    if col.kind == "date":
        # Most cells are real dates already: only the others go through parse_date.
        out: list[Any] = [v if v.__class__ is datetime else None if v is None or v.__class__ is str and not v
                          else _date_or_bad(v) for v in raw]
        for i, v in enumerate(out):
            if v is _BAD:
                bad.append((i, "date-invalid", f"{col.zh} '{raw[i]}' 不是日期"))
                out[i] = None
        return out, bad
    if col.kind == "monthday":
        full: list[Any] = []
        months: list[Any] = []
        days: list[Any] = []
        for i, v in enumerate(raw):
            f = m = d = None
            if v not in (None, ""):
                try:
                    f, m, d = parse_month_day(v)
                except (ValueError, OverflowError):
                    bad.append((i, "date-invalid", f"{col.zh} '{v}' 不是日期(可写 1990-03-15 或 03-15)"))
            full.append(f)
            months.append(m)
            days.append(d)
        return (full, months, days), bad
    if col.kind in ("int", "float"):
        out = []
        for i, v in enumerate(raw):
            try:
                number = _number(v)
            except (ValueError, TypeError, OverflowError):
                bad.append((i, "number-invalid", f"{col.zh} '{v}' 不是数字"))
                number = None
            if number is not None:
                problem = _number_problem(col, number)
                if problem:
                    bad.append((i, "number-out-of-range", f"{col.zh} '{v}' {problem}"))
                    number = None
            if number is not None and col.choices and _text(number) not in col.choices:
                bad.append((i, "number-out-of-range", f"{col.zh} '{v}' 不在允许范围({'/'.join(col.choices)})内"))
                number = None
            out.append(number)
        return out, bad
    # Strings (nearly every cell) stay inline; numbers and dates go through _text.
    out = [(v.strip() or None) if v.__class__ is str else _text(v) for v in raw]
    if col.kind == "enum":
        allowed = set(col.choices)
        for i, v in enumerate(out):
            if v is not None and v not in allowed:
                bad.append((i, "enum-invalid", f"{col.zh} '{v}' 不在可选值({'/'.join(col.choices)})中"))
                out[i] = None
    return out, bad


def load(path: str | Path, archives: bool = True,
         only: Collection[str] | None = None) -> tuple[Book, list[Finding]]:
    """Load a workbook. Raises WorkbookError only for a file that isn't a workbook.

    With `archives`, the 跟进记录 rows of the archive beside it (`xlcrm archive`) come
    first in `contacts`, with `_row` 0 (they are not in the master's sheet); findings
    in the archive name it as `[文件名]跟进记录!B7`. The archive is read while the
    master is (each through its own threads).

    With `only` (sheet keys), just those sheets are read; the others are still checked
    (the guard) and found by name, and their frames are empty. An import of a client
    list needs neither 跟进记录 nor its archive: a million rows it would read for nothing.
    """
    path = Path(path)
    archive = None
    if only is not None and "contacts" not in only:
        archives = False
    if archives:
        from .archive import archive_path

        archive = archive_path(path)
        archive = archive if archive.exists() else None
    if archive is None:
        return _load(path, only)
    with ThreadPoolExecutor(1) as pool:
        old = pool.submit(_load, archive, only)
        book, findings = _load(path, only)
        if "contacts" not in book.letters:
            return book, findings
        from .archive import interrupted_finding

        half_done = interrupted_finding(path, book.sheet_name("contacts"))
        return _with_archive(book, findings + ([half_done] if half_done else []), archive, old.result())


def _with_archive(book: Book, findings: list[Finding], archive: Path,
                  loaded: tuple[Book, list[Finding]]) -> tuple[Book, list[Finding]]:
    old, found = loaded
    name = old.sheet_name("contacts")
    label = f"[{archive.name}]{name}"
    for f in found:
        if f.sheet == name:
            findings.append(replace(f, sheet=label, severity="warning" if f.severity == "fatal" else f.severity))
    rows = old.contacts
    if rows.empty:
        return book, findings
    rows = rows.assign(_row=0)
    live = book.contacts
    a, b = rows["client_id"], live["client_id"]
    if all(isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.inferred_type in ("string", "empty")
           for s in (a, b)):
        # The ids' categories united (as the halves of one sheet are), not two million ids
        # turned into strings and back: the same categories, sorted, the same codes.
        from .halves import _union

        ids = _union(a.array, b.array).remove_unused_categories()
        both = pd.concat([rows.assign(client_id=0), live.assign(client_id=0)], ignore_index=True)
        both["client_id"] = ids
    else:
        both = pd.concat([rows.astype({"client_id": object}), live.astype({"client_id": object})], ignore_index=True)
        both["client_id"] = both["client_id"].astype("category")
    return replace(book, frames=book.frames | {"contacts": both}), findings


def _read_it(sheet: Sheet, only: Collection[str] | None) -> bool:
    """Whether the loader reads `sheet`: ours only for what agents tick; `only`'s sheets."""
    if sheet.owned and sheet.key not in TICKED_SHEETS:
        return False  # written by us; nothing to read
    return only is None or sheet.key in only


def _load(path: Path, only: Collection[str] | None = None) -> tuple[Book, list[Finding]]:
    check_file(path)
    fast = _fast_sheets(path, only) if FAST else None
    if fast is not None:
        return _assemble(path, *fast, only=only)
    odd = check_package(path)  # the guard runs before any reader touches the file
    parts: dict[str, str] = {}
    if odd:
        from .package import sheet_parts

        try:
            with zipfile.ZipFile(path) as zf:
                parts = sheet_parts(zf)
        except Exception:  # noqa: BLE001 - the reader below reports a broken workbook
            parts = {}
    return _assemble(path, None, odd, parts, {}, only=only)  # every sheet through python-calamine


def _read_fast(reader, name: str, sheet: Sheet, first_row: int):
    """A sheet through fastexcel, or None where python-calamine must read it."""
    try:
        return read_sheet_arrow(reader, name, sheet, first_row)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: B036 - fastexcel panics (pyo3) are BaseExceptions
        return None  # whatever fastexcel refuses, python-calamine reads and words


class _Budget:
    """Sheet XML bytes being read at once, across threads (and the master and its archive):
    a reader holds about 1.5 bytes of memory per byte of sheet XML while it parses, so two
    million-row sheets are read one after the other, a big and a small one together."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used = limit, 0
        self.free = threading.Condition()

    @contextmanager
    def taking(self, size: int) -> Iterator[None]:
        with self.free:
            self.free.wait_for(lambda: self.used == 0 or self.used + size <= self.limit)
            self.used += size
        try:
            yield
        finally:
            with self.free:
                self.used -= size
                self.free.notify_all()


READ_BUDGET = _Budget(512 << 20)


def _fast_sheets(path: Path, only: Collection[str] | None = None):
    """Check and read the sheets in parallel threads (fastexcel releases the GIL).

    The package's small parts are checked first, then each worksheet is checked by the
    thread that reads it, just before reading it (only a regex looks at its first 4 MB
    for the header row before that): no reader ever opens an unchecked part
    (a sheet whose cells span too far would abort the process), and the big 跟进记录
    sheet is read while the others are checked and read. (names, odd cells by part,
    parts, reads by sheet name), or None for the sequential path.
    """
    from .guard import (
        DAMAGED,
        check_sizes,
        check_total,
        damaged,
        is_worksheet,
        odd_cells_of,
        scan_part,
    )
    from .halves import CUT_MIN, STRINGS_MAX, Halves, joined, workbook_with
    from .package import sheet_parts

    try:
        with zipfile.ZipFile(path) as zf:
            check_sizes(zf, path)
            infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
            read = 0
            for info in infos.values():
                if not is_worksheet(info.filename):
                    read += scan_part(zf, info, path)[0]
            check_total(read, path)
            try:
                parts = sheet_parts(zf)
            except Exception:  # noqa: BLE001 - the sequential path reports a broken workbook
                return None
    except WorkbookError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise damaged(path, exc) from None
    try:
        import fastexcel

        logging.getLogger("fastexcel").setLevel(logging.ERROR)
        readers = queue.SimpleQueue()
        first = fastexcel.read_excel(str(path))
        names = list(first.sheet_names)
        readers.put(first)
    except Exception:  # noqa: BLE001 - anything fastexcel can't open, python-calamine words
        return None
    wanted = {}
    for sheet in schema.SHEETS:
        name = schema.find_sheet(names, sheet)
        if name is not None and _read_it(sheet, only):
            wanted[parts.get(name)] = (sheet, name)

    def whole(part: str, first_row: int, budget: bool = True):
        """Read one of our sheets through a pooled fastexcel reader of the file."""
        sheet, name = wanted[part]
        try:
            reader = readers.get_nowait()
        except queue.Empty:
            try:
                reader = fastexcel.read_excel(str(path))
            except Exception:  # noqa: BLE001 - python-calamine reads this sheet instead
                return None
        try:
            with READ_BUDGET.taking(infos[part].file_size) if budget else nullcontext():
                return _read_fast(reader, name, sheet, first_row)
        finally:
            readers.put(reader)

    def half(part: str, packed, first_row: int):
        """Read one half of a sheet cut by io/halves (None: read the sheet whole)."""
        sheet, name = wanted[part]
        try:
            reader = fastexcel.read_excel(workbook_with(path, part, packed, worksheets))
        except Exception:  # noqa: BLE001 - the whole sheet is read instead
            return None
        return _read_fast(reader, name, sheet, first_row)

    def one(part: str, big: bool):
        """Check a worksheet, then read it if it is one of ours (the biggest in two halves)."""
        from .arrow_read import _first_row

        job = wanted.get(part)
        with zipfile.ZipFile(path) as zf:
            first_row = _first_row(zf, part) if job else None
            if part == cut and first_row is not None:
                # Both halves are read under the whole sheet's share of the budget.
                with READ_BUDGET.taking(infos[part].file_size):
                    return cut_in_two(zf, part, first_row)
            size, odd = scan_part(zf, infos[part], path, odd_cells=not big)
        if first_row is None:
            return size, odd, None
        return size, odd, (job[1], whole(part, first_row))

    def cut_in_two(zf: zipfile.ZipFile, part: str, first_row: int):
        """Check the sheet, cutting it as it goes; read the halves (or, not cut, the whole)."""
        firsts: list[Future] = []
        halves = Halves(infos[part].file_size, first_row + 1,
                        lambda packed: firsts.append(first_pool.submit(half, part, packed, first_row)))
        try:
            size, odd = scan_part(zf, infos[part], path, odd_cells=False, sink=halves)
        except BaseException:
            for reading in firsts:  # the budget is not given back while a half is still read
                reading.exception()
            raise
        second = halves.second()
        if second is None:
            return size, odd, (wanted[part][1], whole(part, first_row, budget=False))
        lower = half(part, second, halves.cut_row - 2)
        return size, odd, (wanted[part][1], _Cut(firsts[0].result(), lower, halves.cut_row, first_row))

    def odd_only(part: str):
        with zipfile.ZipFile(path) as zf:
            return 0, odd_cells_of(zf, infos[part], path), None

    # The biggest sheet first; its error cells are looked for by another thread while it is read.
    sheets = sorted((p for p in infos if is_worksheet(p)), key=lambda p: -infos[p].file_size)
    big = sheets[0] if sheets and THREADS > 1 and infos[sheets[0]].file_size > BIG_SHEET else None
    # The biggest sheet, when it is big enough, is cut in two as it is checked (io/halves):
    # its first half is read by a thread of its own from the moment the check hands it
    # over (not queued behind the other sheets), the second by the thread that checked it.
    strings = sum(i.file_size for p, i in infos.items() if p.lower().endswith("sharedstrings.xml"))
    cut = big if big in wanted and infos[big].file_size >= CUT_MIN and strings <= STRINGS_MAX else None
    worksheets = [p for p in infos if is_worksheet(p)]
    odd_by_part: dict[str, dict[str, str]] = {}
    reads = {}
    with ThreadPoolExecutor(THREADS) as pool, ThreadPoolExecutor(1) as first_pool:
        # The error-cell scan of the biggest sheet comes last: run beside its check, the two
        # would take turns holding the GIL and delay the read everything waits for.
        futures = [(part, pool.submit(one, part, part == big)) for part in sheets[:1]]
        futures += [(part, pool.submit(one, part, False)) for part in sheets[1:]]
        futures += [(big, pool.submit(odd_only, big))] if big in wanted else []  # unread: no cells to word
        try:
            for part, future in futures:
                size, odd, got = future.result()
                read += size
                if odd:
                    odd_by_part.setdefault(part, {}).update(odd)
                if got is not None and isinstance(got[1], _Cut):
                    halves = got[1]
                    got = (got[0], joined(wanted[part][0], halves.first, halves.second, halves.cut_row))
                    if got[1] is None:  # the halves read differently: the whole sheet, as usual
                        got = (got[0], whole(part, halves.first_row))
                if got is not None:
                    reads[got[0]] = got[1]
        except BaseException as exc:
            for _part, future in futures:
                future.cancel()
            if isinstance(exc, DAMAGED):
                raise damaged(path, exc) from None  # e.g. the file replaced while it was read
            raise
    check_total(read, path)
    return names, odd_by_part, parts, reads


@dataclass
class _Cut:
    """A sheet read in two halves: each half's read, where the second begins (Excel row)
    and the header's row (0-based) to read the sheet whole should they disagree."""

    first: Any
    second: Any
    cut_row: int
    first_row: int


def _assemble(path: Path, names, odd: dict[str, dict[str, str]], parts: dict[str, str],
              reads: dict[str, Any], only: Collection[str] | None = None) -> tuple[Book, list[Finding]]:
    """The Book from the sheets read (python-calamine reads any sheet not in `reads`)."""
    wb = _calamine(path) if names is None else None
    try:
        names = list(wb.sheet_names) if wb is not None else names
        frames: dict[str, pd.DataFrame] = {}
        sheet_names: dict[str, str] = {}
        letters: dict[str, dict[str, str]] = {}
        findings: list[Finding] = []
        book_bad: set[tuple[str, str]] = set()
        for sheet in schema.SHEETS:
            name = schema.find_sheet(names, sheet)
            if name is None:
                if not sheet.owned and not sheet.optional:
                    findings.append(Finding(sheet.zh, "", f"缺少工作表「{sheet.zh}」({sheet.en})", "fatal",
                                            "sheet-missing"))
                continue
            sheet_names[sheet.key] = name
            if not _read_it(sheet, only):
                continue
            read = reads.get(name)
            if read is None:
                wb = wb or _calamine(path)
                read = read_sheet(wb.get_sheet_by_name(name).to_python(skip_empty_area=False), sheet, name)
            frame, cols, found = read
            if sheet.owned:  # a missing column of 我的任务 only means nothing was ticked there
                found = [f for f in found if f.severity != "fatal"]
            else:
                for ref, what in odd.get(parts.get(name, ""), {}).items():
                    found.append(Finding(name, ref, f"单元格是{what},读取时按空白处理", "error", "cell-unreadable"))
            frames[sheet.key] = frame
            letters[sheet.key] = cols
            findings.extend(found)
            book_bad.update((sheet.key, f.cell) for f in found)
    except WorkbookError:
        raise
    except Exception as exc:  # calamine's own parse errors for a damaged sheet
        raise WorkbookError(f"{path}: 无法读取工作簿({exc})") from exc
    return new_book(frames, sheet_names, letters, path, book_bad), findings


def new_book(frames: dict[str, pd.DataFrame], names: dict[str, str] | None = None,
             letters: dict[str, dict[str, str]] | None = None, path: Path | None = None,
             bad_cells: set[tuple[str, str]] | None = None) -> Book:
    """A Book with a frame for every user sheet of the schema (empty when not given)."""
    frames = dict(frames)
    for sheet in schema.USER_SHEETS:
        frames.setdefault(sheet.key, empty_frame(sheet))
    names = {s.key: s.zh for s in schema.SHEETS} | (names or {})
    return Book(frames, names, letters or {}, path, bad_cells or set())


def with_rows(book: Book, key: str, rows: pd.DataFrame, first_row: int) -> Book:
    """A Book whose `key` frame has `rows` (schema keys as columns) appended, typed as the
    loader types them, at Excel rows `first_row`…; the given Book is left as it was."""
    sheet = schema.SHEET_BY_KEY[key]
    raw: list[list[Any]] = [[c.zh for c in sheet.columns]]
    raw += [[_raw(r.get(k)) for k in sheet.keys] for r in rows.to_dict("records")]
    frame, _letters, _found = read_sheet(raw, sheet, sheet.zh)
    frame["_row"] = range(first_row, first_row + len(frame))
    old = book.frames[key]
    both = pd.concat([old.astype({"client_id": object}) if key == "contacts" else old, frame], ignore_index=True)
    if key == "contacts":
        both["client_id"] = both["client_id"].astype("category")
    return replace(book, frames=book.frames | {key: both})


def _raw(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def cell_of(book: Book, sheet_key: str, column_key: str, row: int) -> str:
    """The A1 reference of a value, e.g. `E7` (the template's layout when not loaded)."""
    letter = book.letters.get(sheet_key, {}).get(column_key)
    if letter is None:
        letter = schema.column_letter_of(schema.SHEET_BY_KEY[sheet_key], column_key)
    return f"{letter}{row}"
