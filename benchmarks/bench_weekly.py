"""`xlcrm weekly` on 100,000 clients / 200 agents against the I/O floor, in one run.

    python benchmarks/bench_weekly.py [--jobs 2]

Times `xlcrm weekly` end to end (a subprocess, as a manager runs it) and per stage,
then the I/O floor on the same machine in the same run: reading every sheet of the
master workbook with python-calamine, plus writing as many cells as the weekly outputs
hold with openpyxl in write-only mode (same number of files). Reports weekly / floor.
Goals: ratio under 2; the whole run under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from datetime import date

import openpyxl
from _common import OUT, TODAY, ensure_big, timed
from python_calamine import CalamineWorkbook

from xlcrm.doors.weekly_run import run_weekly


def count_cells(folder) -> tuple[int, int]:
    cells = files = 0
    for path in folder.glob("*.xlsx"):
        wb = CalamineWorkbook.from_path(str(path))
        files += 1
        for name in wb.sheet_names:
            cells += sum(1 for row in wb.get_sheet_by_name(name).to_python() for v in row if v != "")
    return cells, files


def openpyxl_floor(cells: int, files: int, folder) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    per_file, width = cells // files, 11
    rows = per_file // width
    row = ["王先生", "维护电话", "B类每3天电话维护,已逾期2天", 3.0, "13800138000", "电话",
           "K000001", "2026-11-23", "中", "B", "是"]
    for i in range(files):
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("本周计划")
        for _ in range(rows):
            ws.append(row)
        wb.save(folder / f"{i}.xlsx")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    big = ensure_big()
    out = OUT / "weekly"
    shutil.rmtree(out, ignore_errors=True)
    times: dict[str, float] = {}
    with timed(f"xlcrm weekly end to end (CLI, --jobs {args.jobs})", times):
        subprocess.run([sys.executable, "-m", "xlcrm", "weekly", str(big), "--out", str(out),
                        "--week", TODAY, "--jobs", str(args.jobs), "-q"], check=True, stdout=subprocess.DEVNULL)
    stages = run_weekly(big, OUT / "weekly-stages", date(2026, 11, 23), args.jobs).timings
    for stage, seconds in stages.items():
        print(f"  stage {stage:<40} {seconds:8.1f} s")
    cells, files = count_cells(out / "2026-W48")
    print(f"outputs: {files} files, {cells:,} non-empty cells")
    with timed("floor: read every sheet, python-calamine", times):
        wb = CalamineWorkbook.from_path(str(big))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python()
    with timed("floor: write the same cells, openpyxl write-only", times):
        openpyxl_floor(cells, files, OUT / "floor")
    floor = times["floor: read every sheet, python-calamine"] + times["floor: write the same cells, openpyxl write-only"]
    total = times[f"xlcrm weekly end to end (CLI, --jobs {args.jobs})"]
    print(f"\nweekly {total:.1f} s / floor {floor:.1f} s = {total / floor:.2f}  (goal < 2; run < 120 s)")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"benchmark wall time {time.perf_counter() - start:.0f} s")
