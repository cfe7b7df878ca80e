"""Rows written as sheet XML directly: the sample's million 跟进记录 rows in seconds.

xlsxwriter spends ~8 µs a cell in Python (a method call, a type check, a format lookup
and a write per cell); `xlcrm sample --clients 100000` has ~8 million cells. Here the
workbook is first written by xlsxwriter with every sheet's layout (table, formats,
validations) but no data rows; then each sheet's rows are turned into `<row>` XML a
column at a time (a string's cell body is built once per distinct value) and spliced
in before `</sheetData>`, and the package is rewritten once.

The cells are those xlsxwriter writes: the column's format as the cell style
(`Format.xf_index`), numbers as `%.16G`, dates and times as Excel serials computed the
way xlsxwriter computes them (epoch 1899-12-31, the 1900 leap-year bug), text as inline
strings with `&`, `<`, `>` escaped and `xml:space="preserve"` for edge whitespace.
tests/test_golden.py holds the result cell by cell against the cell-by-cell writer.
"""

from __future__ import annotations

import itertools
import os
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.utils import get_column_letter

from .package import INVALID_XML, copy_package, sheet_parts, table_parts, write_atomic
from .splice import _grow_ref, append_table_xml

EPOCH = datetime(1899, 12, 31)
CHUNK = 100_000
_EDGE_SPACE = re.compile(r"^\s|\s$")


def _text_body(style: str, text: str) -> str:
    text = INVALID_XML.sub("", text)
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return f'"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _serial(value: date) -> float:
    if not isinstance(value, datetime):
        value = datetime.fromordinal(value.toordinal())
    delta = value - EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    return serial + 1 if serial > 59 else serial


def _body(style: str, v: Any) -> bytes | None:
    """A cell after its reference (`" s="3"><v>…</v></c>`), None for a blank cell."""
    if v is None or v == "" or v != v:  # NaN: xlsxwriter writes no cell for it either
        return None
    if isinstance(v, str):
        text = _text_body(style, v)
    elif isinstance(v, date):
        text = f'"{style}><v>{_serial(v):.16G}</v></c>'
    elif isinstance(v, int | float):
        text = f'"{style}><v>{v:.16G}</v></c>'
    else:
        text = _text_body(style, str(v))
    return text.encode("utf-8")


def _datetimes(values: Sequence[Any]) -> np.ndarray | None:
    """Excel serials of a column of datetimes and blanks (NaN for blank), computed as
    xlsxwriter computes them; None when the column holds anything else."""
    if not all(v is None or type(v) is datetime for v in values):
        return None
    stamps = pd.DatetimeIndex(values).as_unit("us")  # pandas converts in C; numpy takes 1.4 µs a value
    blank = np.asarray(stamps.isna())
    micros = (stamps - pd.Timestamp(EPOCH)).to_numpy(dtype="timedelta64[us]", na_value=np.timedelta64(0, "us")
                                                     ).astype(np.int64)
    days, rest = np.divmod(micros, 86_400_000_000)
    seconds, fraction = np.divmod(rest, 1_000_000)
    serial = days + (seconds.astype(float) + fraction.astype(float) / 1e6) / (60 * 60 * 24)
    serial = np.where(serial > 59, serial + 1, serial)
    return np.where(blank, np.nan, serial)


def column_cells(letter: str, style: str, values: Sequence[Any], numbers: pa.Array,
                 body: Callable[[str, Any], bytes | None] = _body, typed: bool = False) -> pa.Array:
    """The `<c r=…>` XML of one column as an Arrow binary array (null: no cell).

    Each distinct value's XML is built once by `body` (pandas factorizes the column; with
    `typed`, 1, 1.0 and True stay apart, else they are one cell as to xlsxwriter); a
    column of datetimes is converted with numpy when `body` is xlsxwriter's.
    """
    serials = _datetimes(values) if body is _body else None
    if serials is not None:
        codes, uniques = pd.factorize(serials, use_na_sentinel=True)
        head = f'"{style}><v>'.encode()
        bodies = [head + b"%.16G</v></c>" % x for x in uniques]
        blank = None
    else:
        if typed and set(map(type, values)) == {str}:
            typed = False  # text only: the values themselves tell the cells apart
        keys = [(type(v), v) for v in values] if typed else values
        keyed = np.empty(len(keys), dtype=object)
        keyed[:] = keys
        codes, uniques = pd.factorize(keyed, use_na_sentinel=False)
        bodies = [body(style, k[1] if typed else k) for k in uniques]
        blank = None
    cells = pa.array(bodies + [blank], pa.binary())
    codes = np.asarray(codes)
    codes[codes < 0] = len(uniques)
    taken = cells.take(pa.array(codes))
    return pc.binary_join_element_wise(f'<c r="{letter}'.encode(), numbers, taken, b"",
                                       null_handling="emit_null")


def _rows_chunks(rows: Sequence[Sequence[Any]], styles: list[str], first: int,
                 body: Callable[[str, Any], bytes | None] = _body, typed: bool = False,
                 row_attrs: Sequence[bytes] | None = None) -> Iterator[bytes]:
    width = len(styles)
    letters = [get_column_letter(j + 1) for j in range(width)]
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        columns = list(zip(*chunk, strict=True))
        numbers = pc.cast(pc.cast(pa.array(np.arange(first + start, first + start + len(chunk))), pa.string()),
                          pa.binary())
        cells = [column_cells(letters[j], styles[j], columns[j], numbers, body, typed)
                 for j in range(min(width, len(columns)))]
        del columns
        attrs = pa.array(row_attrs[start:start + CHUNK], pa.binary()) if row_attrs is not None else b'"'
        if row_attrs is not None:  # each row's own attributes after its number (ht=…)
            attrs = pc.binary_join_element_wise(b'"', attrs, b"")
        joined = pc.binary_join_element_wise(b'<row r="', numbers, attrs, b">", *cells, b"</row>", b"",
                                             null_handling="replace", null_replacement=b"")
        offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1, offset=joined.offset * 4)
        yield joined.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]


def rows_xml(rows: Sequence[Sequence[Any]], styles: list[str], first: int) -> bytes:
    """`<row>` elements for `rows` (Excel row `first` onwards): each cell's XML after its
    reference is built once per distinct value of its column, and Arrow joins the
    references, cells and rows in C++, 100,000 rows at a time."""
    return b"".join(_rows_chunks(rows, styles, first))


def splice_rows(path: str | Path, queued: list[tuple[str, Sequence[Sequence[Any]], list]]) -> None:
    """Write each (sheet name, rows, column formats) below its sheet's header row."""
    path = Path(path)
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        replaced: dict[str, Any] = {}
        for name, rows, formats in queued:
            part = parts[name]
            xml = zf.read(part)
            styles = [f' s="{f.xf_index}"' if f is not None and f.xf_index else "" for f in formats]
            end = xml.rfind(b"</sheetData>")
            if end < 0:
                m = re.search(rb"<sheetData\s*/>", xml)
                xml = xml[:m.start()] + b"<sheetData></sheetData>" + xml[m.end():]
                end = xml.rfind(b"</sheetData>")
            dim = re.search(rb'<dimension ref="([^"]*)"\s*/>', xml[:4096])
            if dim:
                grown = _grow_ref(dim.group(1).decode(), len(rows) + 1).encode()
                xml = xml[:dim.start(1)] + grown + xml[dim.end(1):]
                end += len(grown) - len(dim.group(1))
            replaced[part] = itertools.chain([xml[:end]], _rows_chunks(rows, styles, 2), [xml[end:]])
            for table in table_parts(zf, part):
                replaced[table] = append_table_xml(zf.read(table), max(len(rows) + 1, 2))
        mode = os.stat(path).st_mode & 0o777

        def write(tmp: Path) -> None:
            copy_package(path, zf, tmp, replaced, level=1)

        write_atomic(path, write, mode)
