"""Read a returned weekly workbook: what the agent typed into 本周计划 and 短信草稿.

The sheets are laid out for print (a title row, a header row, day bands, task rows),
so rows are found by their 任务编号 and typed by the loader's own `read_sheet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from ..core import loop, vocab
from ..core.records import Finding
from . import schema
from .loader import _open, read_sheet


def _header_at(rows: list[list[Any]], spec: schema.Sheet) -> int | None:
    aliases = schema.header_map(spec)
    for i, row in enumerate(rows[:10]):
        if sum(1 for v in row if isinstance(v, str) and v.strip() in aliases) >= 3:
            return i
    return None


@dataclass
class WeekRows:
    """The task rows read from a returned weekly workbook (see `week_rows`)."""

    rows: pd.DataFrame
    findings: list[Finding]
    total: int  # task rows in the workbook, typed into or not


def week_rows(path: str | Path, typed_only: bool = False) -> WeekRows:
    """Every task row of 本周计划 then 短信草稿 (loop columns, client_id, channel, kind,
    `planned` = the row's 日期, `_row`, `_sheet`, `_done_at` = the letter of its 完成), the
    findings for bad typed cells, and how many task rows there are. With `typed_only`, only
    the rows with a value outside the program's own columns (`_agents_columns`): the only
    ones that can be logged or carry a typed mistake, and the only ones worth typing cell by
    cell (most rows of most returned workbooks are untouched)."""
    wb = _open(Path(path))
    names = list(wb.sheet_names)
    frames: list[pd.DataFrame] = []
    findings: list[Finding] = []
    total = 0
    for spec in (schema.WEEK_PLAN, schema.WEEK_SMS):
        name = schema.find_sheet(names, spec)
        if name is None:
            continue
        rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        at = _header_at(rows, spec)
        if at is None:
            continue
        header = [str(v).strip() for v in rows[at]]
        try:
            j = header.index(spec.column("task_id").zh)
        except ValueError:
            continue
        keep = [i for i in range(at + 1, len(rows)) if len(rows[i]) > j and str(rows[i][j] or "").strip()]
        total += len(keep)
        if typed_only:  # only rows with a cell outside the program's own columns
            columns = _agents_columns(header, max((len(rows[i]) for i in keep), default=0), spec)
            if columns:
                cells = itemgetter(*columns, columns[-1])  # a tuple even for one column
                width = columns[-1] + 1
                keep = [i for i in keep if (not _BLANK.issuperset(cells(rows[i])) if len(rows[i]) >= width
                                            else _typed_into(rows[i], columns))]
            else:
                keep = []
        frame, _letters, found = read_sheet([rows[at]] + [rows[i] for i in keep], spec, name)
        frame["_row"] = [i + 1 for i in keep]
        # read_sheet numbers the rows it is given from 2 (its header is row 1): put findings
        # at the real row (the weekly book's header is on row 2, below the title).
        real = {1: at + 1} | {2 + n: i + 1 for n, i in enumerate(keep)}
        findings += [Finding(f.sheet, _moved(f.cell, real), f.message, "warning", f.code, f.field) for f in found]
        frame["_sheet"] = name
        done = spec.column("done").zh  # where this sheet has 完成, for messages about a row
        frame["_done_at"] = (get_column_letter(header.index(done) + 1) if done in header
                             else schema.column_letter_of(spec, "done"))
        frame["planned"] = frame["date"]
        if spec is schema.WEEK_SMS:
            frame["channel"] = vocab.SMS
        else:
            frame["kind"] = [k.name if (k := loop.kind_of(t)) else None for t in frame["task_id"]]
        frames.append(frame)
    if not frames:
        return WeekRows(pd.DataFrame(), findings, total)
    return WeekRows(pd.concat(frames, ignore_index=True), findings, total)


def _agents_columns(header: list[str], width: int, spec: schema.Sheet) -> list[int]:
    """The columns an agent may type into: the loop columns (完成, 结果, the dates, 备注),
    columns without a header or with one xlcrm does not know, and any right of the header."""
    program = {h for c in spec.columns if c.key not in schema.TYPED_LOOP_KEYS for h in (c.zh, c.en)}
    return [j for j in range(width) if j >= len(header) or header[j] not in program]


_BLANK = frozenset(("", None))  # what an untouched cell reads as (0 and False are values)


def _typed_into(row: list[Any], columns: list[int]) -> bool:
    """Whether any of `columns` holds a value (0 and False are values; "" and None are not)."""
    return any((v := row[j]) is not None and v != "" for j in columns if j < len(row))


def _moved(cell: str, real: dict[int, int]) -> str:
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    return f"{letters}{real.get(int(digits), digits)}" if digits else cell


def is_ticked(path: str | Path) -> bool:
    """Has an agent marked anything in this weekly workbook?"""
    rows = week_rows(path, typed_only=True).rows
    return bool(len(rows)) and bool(loop.ticked(rows).any())
