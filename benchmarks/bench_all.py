"""Every xlcrm command on the 100,000-client workbook against the I/O floor, in one run.

    python benchmarks/bench_all.py            # generates benchmarks/out/big.xlsx first if missing
    python benchmarks/bench_all.py --skip-sample

Each step runs as its own process; the table gives its wall time and the peak resident
memory of its largest process (from wait4, so a weekly worker counts too):

- read floor: fastexcel (Arrow) reading every sheet of the master, nothing else;
- write floor: xlsxwriter in constant_memory mode writing as many files and non-empty
  cells as `xlcrm weekly` wrote, in as many processes as --jobs;
- xlcrm validate, xlcrm refresh (one agent, a fresh copy, a cold process),
  xlcrm weekly --jobs 2, xlcrm sample --clients 100000;
- xlcrm collect of the weekly books (ten of them ticked), xlcrm import of 100,000 new
  clients and of 30,000 touches, xlcrm archive (each on a copy): time and memory only;
- the 2 M-row case: the big sample plus an archive of ~1 M older 跟进记录 rows beside it
  (`xlcrm archive`): the read floor of both files, and refresh (which reads both).

Then the ratios the issue sets: validate / read floor (≤ 1.3), refresh / read floor (≤ 1.5),
weekly / (read floor + write floor) (≤ 1.3). The machine is shared and noisy: only ratios
from the same run mean anything.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import AGENTS, BIG, CLIENTS, OUT, TODAY, ensure_big

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
ARCHIVE_BEFORE = "2026-06-01"
TICKED_BOOKS = 10
TOUCHES = 30_000  # imported into the big master: all its 跟进记录 has room for below Excel's last row

READ_FLOOR = """
import sys, fastexcel
rows = 0
for path in sys.argv[1:]:
    reader = fastexcel.read_excel(path)
    for name in reader.sheet_names:
        rows += reader.load_sheet(name).to_arrow().num_rows
print(rows)
"""

WRITE_FLOOR = """
import sys, datetime
from concurrent.futures import ProcessPoolExecutor
import xlsxwriter

def one(args):
    path, cells = args
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("本周计划")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    row = ["王先生", "维护电话", "B类每3天电话维护,已逾期2天", 3.0, "13800138000", "电话",
           "K000001", None, "中", "B", "是"]
    day = datetime.datetime(2026, 11, 23)
    r = 0
    while cells > 0:
        for j, v in enumerate(row[: min(len(row), cells)]):
            if v is None:
                ws.write_datetime(r, j, day, date)
            else:
                ws.write(r, j, v)
        cells -= len(row)
        r += 1
    wb.close()

folder, files, cells, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
work = [(f"{folder}/{i}.xlsx", cells // files + (1 if i < cells % files else 0)) for i in range(files)]
with ProcessPoolExecutor(jobs) as pool:
    list(pool.map(one, work, chunksize=max(1, files // (jobs * 8))))
"""


def run(label: str, args: list[str], results: dict[str, tuple[float, float]]) -> None:
    """Run one step as a child process; record wall seconds and peak MB (largest process)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: validate/refresh found rows to report, still a full run
        raise SystemExit(f"{label} failed ({code}):\n{err[-2000:]}")
    results[label] = (seconds, usage.ru_maxrss / 1024)
    print(f"{label:<58} {seconds:8.1f} s {usage.ru_maxrss / 1024:8.0f} MB", flush=True)


def weekly_size(folder: Path) -> tuple[int, int]:
    import fastexcel

    files = cells = 0
    for path in sorted(folder.glob("*.xlsx")):
        reader = fastexcel.read_excel(str(path))
        files += 1
        for name in reader.sheet_names:
            batch = reader.load_sheet(name, header_row=None).to_arrow()
            for column in batch.columns:
                cells += len(column) - column.null_count
    return files, cells


sys.path.insert(0, str(ROOT))  # this tree's xlcrm, not an installed one
from xlcrm.io.archive import archive_path  # noqa: E402


def ensure_two_million() -> tuple[Path, Path]:
    """A master of ~1 M contact rows (the big sample) plus an archive of ~1 M older rows.

    The archive comes from a second sample a year earlier (seed 2, the same client ids),
    all of whose 跟进记录 rows `xlcrm archive` moves out; it is then placed beside a copy
    of the big sample under the name the loader looks for.
    """
    master = OUT / "big-2m.xlsx"
    archive = archive_path(master)
    if master.exists() and archive.exists():
        return master, archive
    older = OUT / "older.xlsx"
    print("generating the 2 M-row case (a year-older sample, archived) …", flush=True)
    subprocess.run([PY, "-m", "xlcrm", "sample", str(older), "--clients", str(CLIENTS), "--agents", str(AGENTS),
                    "--seed", "2", "--today", "2025-11-23", "--force"], check=True)
    subprocess.run([PY, "-m", "xlcrm", "archive", str(older), "--before", "2025-11-24"], check=True)
    shutil.copy(BIG, master)
    os.replace(archive_path(older), archive)
    return master, archive


def ticked_books(weekly: Path, folder: Path, ticked: int) -> Path:
    """The weekly books as agents return them: the first `ticked` with every dated row of
    本周计划 ticked 完成=是 (through openpyxl, as Excel would save them), the rest as written."""
    import openpyxl

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, book in enumerate(sorted(weekly.glob("*.xlsx"))):
        if i >= ticked or book.stem == "团队汇总":
            shutil.copy(book, folder / book.name)
            continue
        wb = openpyxl.load_workbook(book)
        ws = wb["本周计划"]
        done = [c.value for c in ws[2]].index("完成") + 1
        for r in range(3, ws.max_row + 1):
            if hasattr(ws.cell(r, 1).value, "year"):
                ws.cell(r, done).value = "是"
        wb.save(folder / book.name)
    return folder


def import_sources(big: Path) -> dict[str, Path]:
    """Two lists to import into the big master: 100,000 new clients (a CSV with other
    headers, as an office's own export) and 30,000 touches of its clients (what its
    1,016,455-row 跟进记录 still has room for below Excel's 1,048,576 rows)."""
    import csv
    import random

    import fastexcel

    reader = fastexcel.read_excel(str(big))
    agents = reader.load_sheet("顾问").to_pandas()["顾问"].tolist()
    ids = reader.load_sheet("客户", use_columns=[0]).to_pandas()["客户编号"].tolist()
    rng = random.Random(5)
    clients, log = OUT / "import-clients.csv", OUT / "import-log.csv"
    with open(clients, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["客户姓名", "性别", "手机号码", "置业顾问", "来源", "备注"])
        for i in range(100_000):
            out.writerow([rng.choice("王李张刘陈杨黄赵") + rng.choice("伟芳娜敏静强磊洋") + str(i % 97),
                          rng.choice("男女"), f"1{rng.choice((39, 58, 86))}{i:08d}", rng.choice(agents),
                          rng.choice(("来电", "来访", "活动")), f"=备注 {i}" if i % 1000 == 0 else ""])
    with open(log, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["跟进日期", "客户编号", "跟进方式", "跟进内容"])
        for i in range(TOUCHES):
            out.writerow([f"2026/{rng.randint(1, 10)}/{rng.randint(1, 28)} {rng.randint(8, 19)}:{rng.randint(0, 59):02d}",
                          rng.choice(ids), rng.choice(("电话", "微信", "拜访")), f"回访 {i % 50}"])
    return {"(100,000 new clients)": clients, f"({TOUCHES:,} touches into the 1 M-row log)": log}


def first_agent(path: Path) -> str:
    import fastexcel

    agents = fastexcel.read_excel(str(path)).load_sheet("顾问").to_arrow()
    return agents.column(0)[0].as_py()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--skip-2m", action="store_true", help="skip the master + archive (2 M rows) case")
    args = parser.parse_args()
    big = ensure_big()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{big.name}: {big.stat().st_size / 1e6:.0f} MB, {CLIENTS:,} clients, {AGENTS} agents")
    results: dict[str, tuple[float, float]] = {}
    run("read floor: fastexcel, every sheet", [PY, "-c", READ_FLOOR, str(big)], results)
    run("xlcrm validate", [PY, "-m", "xlcrm", "validate", str(big)], results)
    work = OUT / "refresh.xlsx"
    shutil.copy(big, work)
    run("xlcrm refresh --agent (one agent, cold)",
        [PY, "-m", "xlcrm", "refresh", str(work), "--agent", first_agent(big), "--today", TODAY, "-q"], results)
    out = OUT / "weekly"
    shutil.rmtree(out, ignore_errors=True)
    run(f"xlcrm weekly --jobs {args.jobs}", [PY, "-m", "xlcrm", "weekly", str(big), "--out", str(out), "--week",
                                             TODAY, "--jobs", str(args.jobs), "-q"], results)
    files, cells = weekly_size(next(out.iterdir()))
    floor_dir = OUT / "write-floor"
    shutil.rmtree(floor_dir, ignore_errors=True)
    floor_dir.mkdir(parents=True)
    run(f"write floor: xlsxwriter constant_memory, {args.jobs} processes",
        [PY, "-c", WRITE_FLOOR, str(floor_dir), str(files), str(cells), str(args.jobs)], results)
    # The other commands that read the whole office: memory (≤ 2 GB) and time, no floor ratio.
    returned = ticked_books(next(out.iterdir()), OUT / "returned", TICKED_BOOKS)
    collected = OUT / "collect.xlsx"
    shutil.copy(big, collected)
    run(f"xlcrm collect ({files} weekly books, {TICKED_BOOKS} of them ticked)",
        [PY, "-m", "xlcrm", "collect", str(collected), str(returned), "--today", "2026-11-29", "-q"], results)
    for what, source in import_sources(big).items():
        imported = OUT / "import.xlsx"
        shutil.copy(big, imported)
        run(f"xlcrm import {what}", [PY, "-m", "xlcrm", "import", str(imported), str(source)], results)
    archived = OUT / "archive.xlsx"
    shutil.copy(big, archived)
    archive_path(archived).unlink(missing_ok=True)
    run(f"xlcrm archive --before {ARCHIVE_BEFORE} (~40% of 跟进记录)",
        [PY, "-m", "xlcrm", "archive", str(archived), "--before", ARCHIVE_BEFORE], results)
    if not args.skip_sample:
        run(f"xlcrm sample --clients {CLIENTS}", [PY, "-m", "xlcrm", "sample", str(OUT / "sample-bench.xlsx"),
                                                  "--clients", str(CLIENTS), "--agents", str(AGENTS), "--seed", "1",
                                                  "--today", TODAY, "--force"], results)
    if not args.skip_2m:
        master, archive = ensure_two_million()
        run("read floor 2M: fastexcel, every sheet of master + archive", [PY, "-c", READ_FLOOR, str(master),
                                                                        str(archive)], results)
        work = OUT / "refresh-2m.xlsx"
        shutil.copy(master, work)
        shutil.copy(archive, archive_path(work))
        run("xlcrm refresh 2M: master + archive (one agent, cold)",
            [PY, "-m", "xlcrm", "refresh", str(work), "--agent", first_agent(master), "--today", TODAY, "-q"],
            results)
    read = results["read floor: fastexcel, every sheet"][0]
    write = results[f"write floor: xlsxwriter constant_memory, {args.jobs} processes"][0]
    print(f"\nweekly wrote {files} files, {cells:,} non-empty cells (the write floor writes the same)")
    print(f"validate / read floor            = {results['xlcrm validate'][0] / read:5.2f}  (goal ≤ 1.3)")
    print(f"refresh / read floor             = "
          f"{results['xlcrm refresh --agent (one agent, cold)'][0] / read:5.2f}  (goal ≤ 1.5)")
    print(f"weekly / (read + write floor)    = "
          f"{results[f'xlcrm weekly --jobs {args.jobs}'][0] / (read + write):5.2f}  (goal ≤ 1.3)")
    if not args.skip_2m:
        print(f"refresh 2M / read floor 2M       = "
              f"{results['xlcrm refresh 2M: master + archive (one agent, cold)'][0] / results['read floor 2M: fastexcel, every sheet of master + archive'][0]:5.2f}  (goal ≤ 1.5)")
    peak = max(mb for _, mb in results.values())
    print(f"largest peak memory              = {peak:5.0f} MB (goal ≤ 2048)")
    if not args.skip_sample:
        s, mb = results[f"xlcrm sample --clients {CLIENTS}"]
        print(f"sample --clients {CLIENTS}        = {s:5.1f} s, {mb:.0f} MB (goal ≤ 30 s, ≤ 1536 MB)")


if __name__ == "__main__":
    main()
