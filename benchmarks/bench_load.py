"""Generate the 100,000-client sample and load it: python-calamine vs openpyxl (read-only).

    python benchmarks/bench_load.py            # about 6 minutes on a 2-core machine

Prints seconds and rows per second for: generating (`xlcrm sample --clients 100000
--agents 200`), xlcrm's loader (python-calamine, typed frames and findings), raw
python-calamine `to_python()` of every sheet, and openpyxl read-only of every sheet.
"""

from __future__ import annotations

import openpyxl
from _common import AGENTS, BIG, CLIENTS, generate, timed
from python_calamine import CalamineWorkbook

from xlcrm.io.loader import load


def main() -> None:
    times: dict[str, float] = {}
    print(f"sample: {CLIENTS} clients, {AGENTS} agents -> {BIG}")
    times["generate (xlcrm sample)"] = generate()
    print(f"{'generate (xlcrm sample)':<48} {times['generate (xlcrm sample)']:8.1f} s")
    with timed("load: xlcrm loader (python-calamine, typed)", times):
        book, findings = load(BIG)
    rows = sum(len(f) for f in book.frames.values())
    with timed("read: python-calamine to_python(), every sheet", times):
        wb = CalamineWorkbook.from_path(str(BIG))
        raw = sum(len(wb.get_sheet_by_name(n).to_python()) for n in wb.sheet_names)
    with timed("read: openpyxl read-only, every sheet", times):
        wb2 = openpyxl.load_workbook(BIG, read_only=True, data_only=True)
        raw2 = sum(sum(1 for _ in ws.iter_rows(values_only=True)) for ws in wb2.worksheets)
        wb2.close()
    print(f"\nrows: {rows:,} data rows ({raw:,} sheet rows by calamine, {raw2:,} by openpyxl); "
          f"findings: {len(findings)}")
    for label in list(times)[1:]:
        print(f"{label:<48} {rows / times[label]:12,.0f} rows/s")
    base = times["read: python-calamine to_python(), every sheet"]
    print(f"\nopenpyxl / calamine = {times['read: openpyxl read-only, every sheet'] / base:.1f}x; "
          f"xlcrm loader / calamine = {times['load: xlcrm loader (python-calamine, typed)'] / base:.2f}x")


if __name__ == "__main__":
    main()
