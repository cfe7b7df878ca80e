"""An xlsxwriter worksheet whose data rows are kept as plain tuples and written as XML
in one pass: the same bytes xlsxwriter writes, at a fraction of its cost per cell.

xlsxwriter keeps every cell as a named tuple in a dict of dicts and, when the workbook
is closed, writes each one through several method calls (cell reference, attribute
escaping, type dispatch by class name): about two thirds of the weekly books' write
time went there (measured, 40 books of ~32,000 cells each). A report row is written
once, top to bottom, as strings, numbers and formatted blanks; `PlainRowsSheet.put_row`
stores it as `(column, code, value, format)` tuples and `_write_rows` writes it with one
f-string per cell, resolving each format's style index the first time it is met, in
the order xlsxwriter would: the styles, the shared strings and the sheet XML come out
byte for byte as before (tests/test_plainrows.py compares them).

Everything else (title rows, bands, merged ranges, the calendar's cells, row heights,
validations, print setup) goes through xlsxwriter's own API and table. Where the two
meet, the later write wins as in the table: a plain row written over a row the table
already holds goes into the table; a row holding both kinds is handed to the table
before it is written; what reads the table (autofit, chart caches) gets every plain
row moved there first (a hyperlink's cell is written through the API, so its row is
the table's already). Depends on xlsxwriter's private row writer (`_write_row`,
`_calculate_spans`, `row_spans`, `row_info`, `table`; 3.3 and later): `usable()`
checks they are there, else `Sheet` writes every cell through the API.
"""

from __future__ import annotations

import functools
from typing import Any

from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

STRING, NUMBER, BLANK = 0, 1, 2
# A longer string goes through xlsxwriter (it truncates past 32,767 UTF-16 units).
STRING_MAX = 32_767 // 2
_TUPLES = {STRING: CellStringTuple, NUMBER: CellNumberTuple}


@functools.cache
def usable() -> bool:
    """The private parts of xlsxwriter this class builds on are present (3.3 and later)."""
    try:
        sheet = Worksheet()
    except Exception:  # noqa: BLE001 - whatever it is, the API path works
        return False
    return (all(hasattr(sheet, name) for name in ("_write_row", "_calculate_spans", "_write_rows",
                                                  "_check_dimensions", "_write_cell", "_write_empty_row",
                                                  "_get_range_data", "autofit", "str_table"))
            and isinstance(getattr(sheet, "row_info", None), dict) and isinstance(getattr(sheet, "table", None), dict)
            and isinstance(getattr(sheet, "col_info", None), dict))


class PlainRowsSheet(Worksheet):
    """A worksheet with rows of plain cells (`put_row`) beside xlsxwriter's table."""

    def __init__(self) -> None:
        super().__init__()
        self.plain: dict[int, list[tuple[int, int, Any, Any]]] = {}

    def shared_string(self, text: str) -> int:
        """The shared-strings index of `text` (assigned in the order of writing, as
        write_string does)."""
        return self.str_table._get_shared_string_index(text)

    def fits(self, row: int, width: int) -> bool:
        """Cells 0..width-1 of `row` are inside the sheet (else write them through the API,
        which drops what falls outside)."""
        return row < self.xls_rowmax and width <= self.xls_colmax

    def put_row(self, row: int, cells: list[tuple[int, int, Any, Any]]) -> None:
        """Store a row of `(column, code, value, format)`, columns ascending and inside
        the sheet (`fits`); code STRING (value: a shared-strings index), NUMBER (a finite
        float) or BLANK (format set). Written over cells already there, it wins."""
        self._check_dimensions(row, cells[0][0])
        self._check_dimensions(row, cells[-1][0])
        if self.table.get(row):  # the table holds cells of this row: the later ones go there too
            self._into_table(row, cells, over=True)
        elif row in self.plain:
            merged = {c[0]: c for c in self.plain[row]} | {c[0]: c for c in cells}
            self.plain[row] = [merged[col] for col in sorted(merged)]
        else:
            self.plain[row] = cells

    def _into_table(self, row: int, cells: list[tuple[int, int, Any, Any]], over: bool) -> None:
        table = self.table[row]
        for col, code, value, fmt in cells:
            if over or col not in table:
                table[col] = CellBlankTuple(fmt) if code == BLANK else _TUPLES[code](value, fmt)

    def _to_table(self, row: int) -> None:
        """Hand a row's plain cells to xlsxwriter's table, under any written there since."""
        self._into_table(row, self.plain.pop(row), over=False)

    def _all_to_table(self) -> None:
        for row in list(self.plain):
            self._to_table(row)

    # What reads xlsxwriter's table sees every cell (hyperlinks need not: their cells are
    # written through the API, so their rows are the table's).
    def autofit(self, *args: Any, **kwargs: Any) -> Any:
        self._all_to_table()
        return super().autofit(*args, **kwargs)

    def _get_range_data(self, *args: Any, **kwargs: Any) -> Any:
        self._all_to_table()
        return super()._get_range_data(*args, **kwargs)

    def _calculate_spans(self) -> None:
        for row in [r for r in self.plain if self.table.get(r)]:
            self._to_table(row)
        super()._calculate_spans()
        if not self.plain:
            return
        blocks: dict[int, tuple[int, int]] = {}
        for row, cells in self.plain.items():
            lo, hi = blocks.get(row // 16, (cells[0][0], cells[-1][0]))
            blocks[row // 16] = (min(lo, cells[0][0]), max(hi, cells[-1][0]))
        for block, (lo, hi) in blocks.items():
            if block in self.row_spans:
                a, b = (int(x) for x in self.row_spans[block].split(":"))
                lo, hi = min(lo, a - 1), max(hi, b - 1)
            self.row_spans[block] = f"{lo + 1}:{hi + 1}"

    def _write_rows(self) -> None:
        if not self.plain:
            super()._write_rows()
            return
        self._calculate_spans()
        plain, table, write = self.plain, self.table, self.fh.write
        letters = [xl_col_to_name(c) for c in range(self.dim_colmax + 1)]
        styles: dict[Any, str] = {}  # format -> ' s="N"', resolved when first met
        for row_num in range(self.dim_rowmin, self.dim_rowmax + 1):
            cells = plain.get(row_num)
            info = self.row_info.get(row_num)
            span = self.row_spans.get(row_num // 16)
            if cells is None:
                if info is not None or row_num in self.comments or table.get(row_num):
                    self._write_table_row(row_num, span, info)
                continue
            self._write_row(row_num, span, info)
            r = str(row_num + 1)
            parts = []
            for col, code, value, fmt in cells:
                if fmt is None:
                    style = self._fallback_style(row_num, col, info)
                else:
                    style = styles.get(fmt)
                    if style is None:
                        style = styles[fmt] = f' s="{fmt._get_xf_index()}"'
                if code == STRING:
                    parts.append(f'<c r="{letters[col]}{r}"{style} t="s"><v>{value}</v></c>')
                elif code == NUMBER:
                    parts.append(f'<c r="{letters[col]}{r}"{style}><v>{value:.16G}</v></c>')
                else:
                    parts.append(f'<c r="{letters[col]}{r}"{style}/>')
            write("".join(parts))
            write("</row>")

    def _fallback_style(self, row: int, col: int, info: Any) -> str:
        """A cell without a format takes its row's format, else its column's (as
        xlsxwriter's _write_cell does)."""
        if info is not None and info.row_format:
            return f' s="{info.row_format._get_xf_index()}"'
        col_info = self.col_info.get(col)
        if col_info is not None and col_info.column_format is not None:
            return f' s="{col_info.column_format._get_xf_index()}"'
        return ""

    def _write_table_row(self, row_num: int, span: str | None, info: Any) -> None:
        """One row from xlsxwriter's table, as its `_write_rows` writes it."""
        cells = self.table.get(row_num)
        if cells:
            self._write_row(row_num, span, info)
            for col_num in range(self.dim_colmin, self.dim_colmax + 1):
                if col_num in cells:
                    self._write_cell(row_num, col_num, cells[col_num])
            self._xml_end_tag("row")
        else:  # attributes (height, format) or comments only
            self._write_empty_row(row_num, span, info)
