"""The biggest sheet read in two halves at once: two fastexcel readers on two cores.

fastexcel parses a sheet on one core: a million-row 跟进记录 keeps it busy ~4 s while
the other core has little else to do. The package guard inflates every part anyway, so
as it streams the sheet's XML, `Halves` cuts it at the first row past the middle into
two workbooks (in memory) that are copies of the package but for that sheet:

- the first holds the sheet's rows above the cut;
- the second holds the sheet's header row, renumbered to stand just above the cut,
  then the rows from the cut on (Excel row numbers stay as they are).

Each half is read by `read_sheet_arrow` like any sheet, and `joined` puts the frames
and findings together: the same frame, column letters and findings as one read of the
whole sheet (tests/test_halves.py compares them). The first half is handed to a reader
as soon as the guard has checked every cell in it; the second once the whole part is
checked (CRC included). Nothing is cut, and the sheet is read whole, when its XML is
not laid out as expected (rows without numbers, the header row not found near the top,
the middle falling outside sheetData) or when a half reads differently (`None`).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import union_categoricals

from .guard import within_limits
from .package import Deflater, Packed, copy_package
from .schema import Sheet

CUT_MIN = 64 << 20  # bytes of sheet XML from which a sheet is read in halves
# Each half's reader parses the shared strings again: a workbook saved by Excel with a big
# strings table (a million typed notes) is read whole rather than hold it twice more.
STRINGS_MAX = 16 << 20
_HEAD_LIMIT = 8 << 20  # the sheet's head and header row must come within this
_CARRY = 8192  # bytes kept back so that a row tag is never cut between two chunks
# Sheets written with a namespace prefix (<x:sheetData>) are not cut (the loader reads them whole).
_SHEET_DATA = re.compile(rb"<sheetData\b[^>]*?(/?)>")
_ROW_TAG = re.compile(rb"<row[\s>/]")
_END = b"</sheetData"
_CLOSING = b"</sheetData></worksheet>"
_CELL_ROW = re.compile(r"^[A-Z]{1,3}(\d+)$")
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b"<sheetData/></worksheet>")


class Halves:
    """A guard sink (`scan_part(..., sink=halves)`) that cuts a worksheet's XML in two.

    `header_row` is the sheet's header row (1-based). When the first half is complete and
    its cells checked, `on_first(packed)` is called (from the scanning thread); after the
    scan, `second()` gives the other half, or None when the sheet could not be cut.
    """

    def __init__(self, size: int, header_row: int, on_first: Callable[[Packed], None]) -> None:
        self.mid = size // 2
        self.header_row = header_row
        self.on_first = on_first
        self.failed = False
        self.cut_row = 0  # the first Excel row of the second half
        self.seen = 0  # bytes of XML given to a half (or kept in `pending`)
        self.pending = b""
        self.head: bytes | None = None  # the sheet's XML up to and including <sheetData …>
        self.header: bytes | None = None  # the header row's element
        number = str(header_row).encode()
        self.header_element = re.compile(rb'<row\b[^>]*?\sr="' + number + rb'"[^>]*>.*?</row>', re.S)
        self.cell_ref = re.compile(rb'(<c\b[^>]*?\sr="[A-Z]{1,3})' + number + rb'"')
        self.piece: Deflater | None = Deflater()
        self.first_done = False

    def __call__(self, chunk: bytes, max_row: int, max_col: int) -> None:
        if self.failed:
            return
        self.pending += chunk
        self.seen += len(chunk)
        if self.head is None and not self._find_head():
            return
        if self.header is None and not self._find_header():
            return
        if self.first_done:
            self.piece.add(self.pending)
            self.pending = b""
            return
        if self.seen > self.mid:
            self._cut(max_row, max_col)
            return
        if _END in self.pending:  # sheetData ends before the middle: nothing to cut
            self._fail()
            return
        keep = min(len(self.pending), _CARRY)
        self.piece.add(self.pending[:len(self.pending) - keep])
        self.pending = self.pending[len(self.pending) - keep:]

    def second(self) -> Packed | None:
        """The second half, once the whole part has been scanned (None: not cut)."""
        if self.failed or not self.first_done:
            return None
        self.piece.add(self.pending)
        self.pending = b""
        return self.piece.done()

    def _fail(self) -> None:
        self.failed, self.piece, self.pending = True, None, b""

    def _find_head(self) -> bool:
        m = _SHEET_DATA.search(self.pending)
        if m is None:
            if len(self.pending) > _HEAD_LIMIT:
                self._fail()
            return False
        if m.group(1) or b"<worksheet" not in self.pending[:m.start()]:  # empty, or not as expected
            self._fail()
            return False
        self.head = self.pending[:m.end()]
        self.piece.add(self.head)
        self.pending = self.pending[m.end():]
        return True

    def _find_header(self) -> bool:
        m = self.header_element.search(self.pending)
        if m is None:
            if len(self.pending) > _HEAD_LIMIT or _END in self.pending:
                self._fail()
            return False
        self.header = m.group(0)
        return True

    def _cut(self, max_row: int, max_col: int) -> None:
        """Cut at the first row tag past the middle; hand the first half over."""
        start = max(0, len(self.pending) - (self.seen - self.mid))
        m = _ROW_TAG.search(self.pending, start)
        if m is None:
            if _END in self.pending:
                self._fail()  # the middle falls after sheetData: a sheet of mostly other XML
            return  # the next chunk brings it (a tag is never cut: _CARRY is kept back)
        at = m.start()
        tag = re.match(rb"<[^>]*>", self.pending[at:at + 4096])
        if tag is None and len(self.pending) - at < 4096:
            return  # the tag goes on in the next chunk
        number = re.search(rb'\sr="(\d+)"', tag.group(0)) if tag else None
        if number is None or _END in self.pending[start:at] or not within_limits(max_row, max_col):
            self._fail()  # rows without numbers, or cells the guard is about to refuse
            return
        self.cut_row = int(number.group(1))
        if self.cut_row <= self.header_row + 1:
            self._fail()
            return
        self.piece.add(self.pending[:at] + _CLOSING)
        first = self.piece.done()
        above = str(self.cut_row - 1).encode()
        header = re.sub(rb'(^<[^>]*?\sr=")\d+"', rb"\g<1>" + above + b'"', self.header, count=1)
        header = self.cell_ref.sub(rb"\g<1>" + above + b'"', header)
        self.piece = Deflater()
        self.piece.add(self.head + header)
        self.pending = self.pending[at:]
        self.first_done = True
        self.on_first(first)


def workbook_with(path: Path, part: str, sheet: Packed, others: list[str]) -> bytes:
    """The package at `path` with `part` replaced and its other worksheets emptied."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zf:
        replaced: dict[str, Any] = {p: EMPTY_SHEET for p in others if p != part}
        replaced[part] = sheet
        copy_package(path, zf, out, replaced, level=1)
    return out.getvalue()


def _row_of(cell: str) -> int:
    m = _CELL_ROW.match(cell)
    return int(m.group(1)) if m else 0


def joined(sheet: Sheet, first: tuple | None, second: tuple | None, cut_row: int) -> tuple | None:
    """One sheet's (frame, letters, findings) from its two halves; None if they disagree."""
    if first is None or second is None:
        return None
    frame1, letters1, found1 = first
    frame2, letters2, found2 = second
    if letters1 != letters2 or list(frame1.columns) != list(frame2.columns):
        return None
    # The second half repeats the header's findings (a missing column) on its copied header;
    # a cell's findings come column by column, then row by row, as from one read.
    header = [f for f in found1 if _row_of(f.cell) < cut_row and f.code == "column-missing"]
    order = {col.key: i for i, col in enumerate(sheet.columns)}
    cells = [f for f in found1 if f not in header] + [f for f in found2 if _row_of(f.cell) >= cut_row]
    found = header + sorted(cells, key=lambda f: order.get(f.field, len(order)))
    columns = {}
    for col in frame1.columns:
        a, b = frame1[col], frame2[col]
        if isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype):
            columns[col] = pd.Series(_union(a.array, b.array))
        else:
            columns[col] = pd.concat([a, b], ignore_index=True)
    frame = pd.DataFrame(columns)
    if list(frame.dtypes) != [_common(a, b) for a, b in zip(frame1.dtypes, frame2.dtypes, strict=True)]:
        return None
    return frame, letters1, found


def _union(a: pd.Categorical, b: pd.Categorical) -> pd.Categorical:
    """Both halves' categories, sorted, as one read gives them (an empty half adds none)."""
    if len(a.categories) == 0 and len(b.categories):
        a = pd.Categorical.from_codes([-1] * len(a), categories=b.categories)
    elif len(b.categories) == 0 and len(a.categories):
        b = pd.Categorical.from_codes([-1] * len(b), categories=a.categories)
    return union_categoricals([a, b], sort_categories=True)


def _common(a, b):
    """The dtype pandas gives two concatenated columns (dates: the finer unit)."""
    if isinstance(a, pd.CategoricalDtype):
        return "category"
    return pd.concat([pd.Series([], dtype=a), pd.Series([], dtype=b)]).dtype

