"""Cell-by-cell snapshots of the files xlcrm writes, to prove a rewrite changes nothing.

`snapshot(path)` reads a workbook with openpyxl (values, number formats, merged cells,
tables, data validations, conditional formats, freeze panes, column widths) into plain
JSON-able data. `python -m tests.golden` regenerates tests/data/golden_300.json.gz from
the 300-client sample: the sample itself, a refresh for the first agent and the weekly
workbooks. It was generated with the implementation before issue 17 (main at 6b46bd2, run from an export of that commit: the loader on
python-calamine and the sample written cell by cell by xlsxwriter) and must not be
regenerated to make a failing comparison pass.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from datetime import date, datetime, time
from pathlib import Path

import openpyxl

GOLDEN = Path(__file__).resolve().parent / "data" / "golden_300.json.gz"
TODAY = date(2026, 11, 23)


def _value(v):
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    return v


def snapshot(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and c.number_format == "General":
                    continue
                cells[c.coordinate] = [_value(c.value), c.number_format, bool(c.font.b),
                                       c.fill.fgColor.rgb if c.fill.fill_type else None]
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "tables": sorted([t.name, t.ref, [c.name for c in t.tableColumns],
                              t.tableStyleInfo.name if t.tableStyleInfo else None] for t in ws.tables.values()),
            "validations": sorted([str(dv.sqref), dv.type, dv.formula1, dv.error, dv.prompt]
                                  for dv in ws.data_validations.dataValidation),
            "conditional": sorted([str(rng.sqref), [r.formula for r in rules]]
                                  for rng, rules in ws.conditional_formatting._cf_rules.items()),
            "freeze": ws.freeze_panes,
            "widths": {k: d.width for k, d in sorted(ws.column_dimensions.items()) if d.width},
        }
    return out


def outputs(folder: Path) -> dict:
    """Write the sample, refresh it for its first agent and run weekly; snapshot all three."""
    from xlcrm.doors.refresh import agent_names, refresh_file
    from xlcrm.doors.weekly_run import run_weekly
    from xlcrm.io.loader import load
    from xlcrm.io.sample import write_sample

    sample = folder / "sample.xlsx"
    write_sample(sample, 300, 5, 1, TODAY)
    result = {"sample": snapshot(sample)}
    refreshed = folder / "refreshed.xlsx"
    shutil.copy(sample, refreshed)
    book, _ = load(refreshed)
    refresh_file(refreshed, agent_names(book)[0], TODAY)
    result["refresh"] = {k: v for k, v in snapshot(refreshed).items() if k in ("我的任务", "客户看板")}
    weekly = run_weekly(sample, folder / "weekly", TODAY, 1)
    result["weekly"] = {p.name: snapshot(p) for p in sorted(weekly.files)}
    return json.loads(json.dumps(result, ensure_ascii=False))


def main() -> None:
    import tempfile

    from xlcrm.io import loader

    loader.FAST = False  # the reference outputs come from the python-calamine path

    with tempfile.TemporaryDirectory() as tmp:
        data = outputs(Path(tmp))
    GOLDEN.parent.mkdir(exist_ok=True)
    with gzip.open(GOLDEN, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(data, fh, ensure_ascii=False, sort_keys=True)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
