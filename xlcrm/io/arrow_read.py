"""The fast path of the loader: a sheet read through Arrow (fastexcel), typed per column.

fastexcel parses a sheet once in Rust and hands over Arrow columns: dates as
timestamps, numbers as doubles, text as strings, each column typed by the schema
(`dtypes` by header name). Cells that don't fit their column come back as cell errors
naming the cell and its raw value, and go through the same `parse_date` / `_number` as
the python-calamine path, so the findings are the same `Sheet!Cell: message` lines.

`read_sheet_arrow` returns None whenever the sheet holds something this path cannot
reproduce exactly (the header is not the first non-empty row, a header with stray spaces,
a boolean or a date typed into a text column, an error cell in a date column, a date
before 1900); the loader then reads that sheet through python-calamine. So the fast path
is an optimisation only: the result is the same frame and the same findings either way
(tests/test_loader.py compares both on generated sheets).

Excel row numbers: fastexcel's frame starts at the sheet's first non-empty row, which is
read from the sheet's XML (`_first_row`, by the loader's reading thread), so `_row` and every finding name the real row.
"""

from __future__ import annotations

import re
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from ..core.records import Finding
from . import schema
from .dates import from_serial
from .schema import Sheet

DTYPES = {"date": "datetime", "monthday": "datetime", "int": "float", "float": "float"}
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF = re.compile(rb'\br="[A-Z]+(\d+)"')
_VALUE = re.compile(rb"<(?:\w+:)?(?:v|is)\b")
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="(\d+)"')
_STRING = re.compile(r"^(?:Expected \w+ but got ')?String\(\"(.*)\"\)'?$", re.S)
_EDGE = r"^[\s\pZ\x1c-\x1f\x85\x0b]|[\s\pZ\x1c-\x1f\x85\x0b]$"
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]+\}|.)", re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
# Text a non-text cell turns into: booleans, date serials, tiny numbers in Rust's notation.
_SUSPECT = r"^(true|false|-?\d+\.\d+|\d{1,7}|-0)$"
_MIN_DATE = pd.Timestamp(1900, 1, 1)


def _first_row(zf: zipfile.ZipFile, part: str, limit: int = 1 << 22) -> int | None:
    buffer = b""
    with zf.open(part) as fh:
        while len(buffer) < limit:
            chunk = fh.read(65536)
            if not chunk:
                break
            buffer += chunk
            start = buffer.find(b"<sheetData")
            if start < 0:
                continue
            for m in _CELL.finditer(buffer, start):
                if m.group(3) is None or not _VALUE.search(m.group(3)):
                    continue
                ref = _REF.search(m.group(1))
                if ref is None:  # cells without references: the row element says where
                    rows = list(_ROW.finditer(buffer, start, m.start()))
                    return int(rows[-1].group(1)) - 1 if rows else None
                return int(ref.group(1)) - 1
            if b"</sheetData>" in buffer:
                return None
    return None


def _unescape(text: str) -> str:
    def one(m: re.Match) -> str:
        s = m.group(1)
        if s.startswith("u{"):
            return chr(int(s[2:-1], 16))
        return _ESCAPES.get(s, s)

    return _ESCAPE.sub(one, text)


def _text_values(arr: pa.Array, reader: Any = None, name: str = "", column: int = -1,
                 rows: np.ndarray | None = None) -> np.ndarray | None:
    """Stripped strings (None for blank) as an object array, as the calamine path words them.

    A number, date or boolean in a text column arrives as text in Rust's notation
    (`45356` for a date, `true`); such values are looked up once more with the cell's
    real type (a second read of that one column) and worded as `_text` words them.
    None when that is not possible.
    """
    from .loader import _text

    encoded = _dictionary(arr)
    # The values a column holds, each once: a suspect value anywhere shows in its dictionary.
    if pc.any(pc.match_substring_regex(encoded.dictionary, _SUSPECT)).as_py():
        suspect = pc.fill_null(pc.match_substring_regex(arr, _SUSPECT), False)
        where = np.flatnonzero(suspect.to_numpy(zero_copy_only=False))
        kinds = _cell_kinds(reader, name, column) if reader is not None else None
        if kinds is None:
            return None
        values = arr.to_numpy(zero_copy_only=False).copy()
        exact: dict[int, float] | None = None
        for i in where:
            detail = kinds.get(int(rows[i]) if rows is not None else int(i))
            text = values[i]
            if detail is None:  # no error reading it as a boolean: a boolean or a number cell
                if text in ("true", "false"):
                    values[i] = _text(text == "true")
                    continue
                if exact is None:  # the text of a fraction is rounded: read the numbers themselves
                    exact = _numbers(reader, name, column)
                number = exact.get(int(rows[i]) if rows is not None else int(i))
                if number is None:
                    return None
                values[i] = _text(number)
            elif detail.startswith("DateTime(") and "is_1904: false" in detail:
                serial = float(re.search(r"value: ([-0-9.e+]+)", detail).group(1))
                values[i] = _text(from_serial(serial))
            elif not _STRING.match(detail):
                return None
        # Only values with whitespace at either end need Python's own strip.
        edges = pc.fill_null(pc.match_substring_regex(arr, _EDGE), False).to_numpy(zero_copy_only=False)
        out = values.astype(object)
        for i in np.flatnonzero(edges):
            if out[i] is not None:
                out[i] = out[i].strip() or None
        out[np.equal(out, "")] = None
        return out
    # The usual case: strip each distinct value once and spread it by code (a million
    # contact rows hold a few hundred thousand distinct strings at most).
    unique, codes = _encoded(arr, encoded)
    return unique[codes]


def _dictionary(arr: pa.Array) -> pa.DictionaryArray:
    encoded = pc.dictionary_encode(arr)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return encoded


def _encoded(arr: pa.Array, encoded: pa.DictionaryArray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct stripped values (None last) and each row's index into them."""
    if encoded is None:
        encoded = _dictionary(arr)
    words = encoded.dictionary.to_numpy(zero_copy_only=False)
    unique = np.array([(w.strip() or None) for w in words] + [None], dtype=object)
    codes = pc.fill_null(encoded.indices, len(words)).to_numpy(zero_copy_only=False)
    return unique, codes


def categorical(arr: pa.Array, encoded: pa.DictionaryArray | None = None) -> pd.Categorical | None:
    """The client ids of 跟进记录 as `astype("category")` makes them, without hashing a million strings."""
    unique, codes = _encoded(arr, encoded)
    cats = sorted({v for v in unique if v is not None})
    if not cats:
        return None  # pandas gives an all-blank column object categories: let it
    where = {v: i for i, v in enumerate(cats)}
    remap = np.array([where[v] if v is not None else -1 for v in unique], dtype=np.int64)
    return pd.Categorical.from_codes(remap[codes], categories=pd.Index(cats, dtype="str"))


def _cell_kinds(reader: Any, name: str, column: int) -> dict[int, str] | None:
    """For one column: frame row -> fastexcel's description of each cell that isn't a boolean."""
    try:
        sheet = reader.load_sheet(name, header_row=0, use_columns=[column], dtypes={column: "boolean"})
        _, errors = sheet.to_arrow_with_errors()
    except Exception:
        return None
    return {err.offset_position[0]: _detail(err.detail) for err in (errors.errors if errors else [])}


def _numbers(reader: Any, name: str, column: int) -> dict[int, float]:
    """For one column: frame row -> the cell's number (read as a float column)."""
    try:
        sheet = reader.load_sheet(name, header_row=0, use_columns=[column], dtypes={column: "float"})
        batch = sheet.to_arrow()
    except Exception:
        return {}
    if not isinstance(batch, pa.RecordBatch):
        batch = pa.record_batch(batch)
    values = batch.column(0).to_pylist()
    return {i: v for i, v in enumerate(values) if v is not None}


def _detail(detail: str) -> str:
    m = re.match(r"^Expected \w+ but got '(.*?)'?$", detail, re.S)
    return m.group(1) if m else detail


def read_sheet_arrow(reader: Any, name: str, sheet: Sheet, first_row: int
                     ) -> tuple[pd.DataFrame, dict[str, str], list[Finding]] | None:
    """Read one sheet through fastexcel; None when the python-calamine path must read it."""
    from . import loader

    aliases = schema.header_map(sheet)
    dtypes = {alias: DTYPES.get(sheet.column(key).kind, "string") for alias, key in aliases.items()}
    loaded = reader.load_sheet(name, header_row=0, dtypes=dtypes)
    infos = loaded.available_columns()
    positions: dict[str, int] = {}
    index: dict[str, int] = {}
    for info in infos:
        stripped = info.name.strip() if isinstance(info.name, str) else info.name
        dup = re.fullmatch(r"(.*)_\d+", stripped) if isinstance(stripped, str) else None
        if stripped not in aliases and dup and dup.group(1).strip() in aliases:
            return None  # fastexcel renamed a repeated header: the slow path words the finding
        if stripped in aliases:
            if stripped != info.name:
                return None  # a header with stray spaces: its dtype was guessed
            if aliases[stripped] in positions:
                return None  # a duplicate header: the slow path words the finding
            positions[aliases[stripped]] = info.absolute_index
            index[aliases[stripped]] = info.index
    if not positions:
        return None  # a title above the header, or no header: the slow path finds it
    batch, errors = loaded.to_arrow_with_errors()
    if not isinstance(batch, pa.RecordBatch):
        batch = pa.record_batch(batch)
    header_row = first_row + 1  # 1-based Excel row of the header
    cols = batch.columns
    # A row is kept when any of its cells has a value (as the calamine path: '' is empty).
    mask = None
    for arr in cols:
        valid = pc.is_valid(arr)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            valid = pc.and_(valid, pc.not_equal(arr, ""))
        valid = pc.fill_null(valid, False)
        mask = valid if mask is None else pc.or_(mask, valid)
    for info, arr in zip(infos, cols, strict=False):
        if isinstance(info.name, str) and info.name.startswith("__UNNAMED__") and pc.any(
                pc.fill_null(pc.is_valid(arr), False)).as_py():
            return None  # a column without header holds data: the slow path warns about it
    height = batch.num_rows
    keep_mask = mask.to_numpy(zero_copy_only=False).copy() if mask is not None else np.zeros(height, dtype=bool)
    # Cells that did not fit their column's type, by (frame row, column index in the frame).
    bad_cells: dict[int, dict[int, str]] = {}
    for err in (errors.errors if errors else []):
        row, col = err.offset_position
        m = _STRING.match(err.detail)
        if m is None:
            return None  # an error cell or a boolean in a date or number column
        text = _unescape(m.group(1))
        bad_cells.setdefault(col, {})[row] = text
        if text != "":  # a text cell in a typed column still makes its row non-empty
            keep_mask[row] = True
    keep = np.flatnonzero(keep_mask)
    letters = {key: get_column_letter(j + 1) for key, j in positions.items()}
    width = max((i.absolute_index for i in infos), default=-1) + 1
    findings = loader._missing_columns(sheet, name, positions, width, header_row)
    rows = np.asarray(header_row + 1 + keep, dtype=np.int64)
    data: dict[str, Any] = {"_row": rows.tolist()}
    for col in sheet.columns:
        if col.key not in positions:
            values, bad = loader._convert(col, [None] * len(keep))
            loader._store(data, col, values)
            continue
        arr = cols[index[col.key]]
        if len(keep) != height:
            arr = arr.filter(pa.array(keep_mask))
        fixes = bad_cells.get(index[col.key], {})
        if sheet.key == "contacts" and col.key == "client_id" and not fixes and len(arr) and (
                arr.null_count != len(arr)) and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                                                 ) and not pc.any(pc.match_substring_regex(
                                                     (encoded := _dictionary(arr)).dictionary, _SUSPECT)).as_py():
            ids = categorical(arr, encoded)  # the ids straight to categories, not via a million strings
            if ids is not None:
                data[col.key] = pd.Series(ids)
                continue
        converted = _convert(col, arr, keep, fixes, (reader, name, positions[col.key]))
        if converted is None:
            return None
        values, bad = converted
        for i, code, message in bad:
            findings.append(Finding(name, f"{letters[col.key]}{int(rows[i])}", message, "error", code, col.key))
        data.update(values)
    return loader._frame(sheet, data), letters, findings


def _convert(col: schema.Column, arr: pa.Array, keep: np.ndarray, fixes: dict[int, str],
             source: tuple[Any, str, int] = (None, "", -1)):
    """Typed pandas values for `data` and [(kept index, code, message)]; None to fall back."""
    from . import loader

    fixed = {}
    if fixes:
        where = {int(r): i for i, r in enumerate(keep)}
        fixed = {where[r]: text for r, text in fixes.items() if r in where}
    if col.kind in ("date", "monthday"):
        if pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type):
            if pc.any(pc.less(arr, pa.scalar(_MIN_DATE, arr.type))).as_py():
                return None  # a number Excel can't show as a date: the slow path words it
            series = pd.Series(arr.to_pandas(), dtype="datetime64[us]") if len(arr) else pd.Series(
                [], dtype="datetime64[us]")
        else:  # an empty column comes back as nulls of another type
            if arr.null_count != len(arr):
                return None
            series = pd.Series(pd.NaT, index=range(len(arr)), dtype="datetime64[us]")
        order = sorted(fixed)
        out, bad = loader._convert(col, [fixed[i] for i in order])
        bad = [(order[k], code, message) for k, code, message in bad]
        full = out if col.kind == "date" else out[0]
        if order:  # one assignment for every fixed cell, not one per cell
            series.iloc[order] = pd.to_datetime(pd.Series(full, dtype=object), errors="coerce").to_numpy(
                dtype="datetime64[us]")
        if col.kind == "date":
            return {col.key: _as_loader_dates(series)}, bad
        months = series.dt.month.astype("Int64").array
        days = series.dt.day.astype("Int64").array
        if order:
            months[order] = pd.array(out[1], dtype="Int64")
            days[order] = pd.array(out[2], dtype="Int64")
        return {col.key: _as_loader_dates(series), col.key + "_month": months, col.key + "_day": days}, bad
    if col.kind in ("int", "float"):
        if not (pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type)):
            if arr.null_count != len(arr):
                return None
            values = np.full(len(arr), np.nan)
        else:
            values = arr.to_numpy(zero_copy_only=False).astype(float)
            if pa.types.is_floating(arr.type) and not np.isfinite(values[~np.isnan(values)]).all() or (
                    pa.types.is_floating(arr.type) and pc.any(pc.is_nan(arr)).as_py()):
                return None  # 'nan', 'inf' typed as text: fastexcel parsed them; the slow path words them
        raw = [None] * len(arr)
        for i, text in fixed.items():
            raw[i] = text
        present = ~np.isnan(values)
        if col.choices:
            odd = present
        else:  # what loader._number_problem refuses: negative, too large, a fraction in a count
            with np.errstate(invalid="ignore"):
                odd = ~np.isfinite(values) & present | (values < 0) | (values > loader.MAX_NUMBER[col.kind])
                if col.kind == "int":
                    odd |= present & (np.floor(values) != values)
        check = sorted(set(fixed) | set(np.flatnonzero(odd).tolist()))
        subset = [raw[i] if i in fixed else float(values[i]) for i in check]
        converted, bad = loader._convert(col, subset)
        for k, i in enumerate(check):
            values[i] = np.nan if converted[k] is None else converted[k]
        bad = [(check[k], code, message) for k, code, message in bad]
        return {col.key: pd.Series(values, dtype=float)}, bad
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        if arr.null_count != len(arr):
            return None
    text = _text_values(arr, *source, keep) if arr.null_count != len(arr) else np.full(len(arr), None, dtype=object)
    if text is None:
        return None
    bad = []
    if col.kind == "enum":
        series = pd.Series(text, dtype=object)
        for i in np.flatnonzero((series.notna() & ~series.isin(col.choices)).to_numpy()):
            bad.append((int(i), "enum-invalid", f"{col.zh} '{text[i]}' 不在可选值({'/'.join(col.choices)})中"))
            text[i] = None
    return {col.key: pd.Series(text, dtype=object)}, bad


def _as_loader_dates(series: pd.Series) -> pd.Series:
    """The dtype the python-calamine path produces: pandas infers seconds when all are blank."""
    series = series.reset_index(drop=True)
    return series.astype("datetime64[s]" if series.isna().all() else "datetime64[us]")
