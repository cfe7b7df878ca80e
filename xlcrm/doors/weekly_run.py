"""`xlcrm weekly` behind the CLI: load, compute the week, write the workbooks, time each stage."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..core.records import Finding
from ..core.rules import read_rules
from ..core.weekly import agent_weeks, iso_week, weekly_plan
from ..io.errors import RefreshError
from ..io.identity import master_identity
from ..io.loader import load
from ..io.package import write_atomic
from ..io.reports import agent_paths, write_weekly
from ..io.returned import is_ticked
from ..io.validate import fatal, leave_out_bad_rows, validate
from .forked import kept, runner_for
from .refresh import messages_for


@dataclass
class WeeklyResult:
    week: str
    folder: Path
    files: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fatal: bool = False
    left_out: int = 0  # rows left out because a required value is missing


def backup_path(path: Path) -> Path:
    """NAME.bak.xlsx, or NAME.bak-2.xlsx … when that is taken: a backup is never overwritten."""
    candidate, n = path.with_name(f"{path.stem}.bak{path.suffix}"), 2
    while candidate.exists():
        candidate, n = path.with_name(f"{path.stem}.bak-{n}{path.suffix}"), n + 1
    return candidate


def _planned(book, rules, monday: date, run) -> tuple:
    """The book without its incomplete rows, how many were left out, messages, the week's plan."""
    book, left_out = leave_out_bad_rows(book)
    messages = messages_for(book)
    return book, left_out, messages, weekly_plan(book, rules, monday, messages, run=run)


def run_weekly(path: str | Path, out_dir: str | Path, monday: date, jobs: int = 1,
               progress: Callable[..., None] | None = None, force: bool = False) -> WeeklyResult:
    """Write the week's workbooks. A workbook already there that an agent has ticked is
    not overwritten: RefreshError naming them, unless `force` (then NAME.bak.xlsx keeps it)."""
    result = WeeklyResult(iso_week(monday), Path(out_dir) / iso_week(monday))
    t0 = time.perf_counter()
    book, findings = load(path)
    t1 = time.perf_counter()
    result.findings = findings
    if fatal(findings):
        result.fatal = True
        return result
    rules, rule_findings = read_rules(book.frames.get("rules"), book.sheet_name("rules"))
    # The checks run beside the week's plan (a forked process on a big office): they
    # read the same book and neither needs the other.
    run = runner_for(len(book.clients))
    planned, checked = run([kept(lambda: _planned(book, rules, monday, run)), lambda: validate(book)])
    findings += checked
    if fatal(findings):
        result.fatal = True
        return result
    book, result.left_out, messages, plan = planned.get()
    weeks = agent_weeks(plan, drafts=False)  # each writing process renders its books' SMS drafts
    ticked = [p for p in agent_paths(result.folder, weeks) if p.exists() and is_ticked(p)]
    if ticked and not force:
        raise RefreshError(f"{len(ticked)} 份每周行动表已有顾问填写的完成情况,没有覆盖: "
                           + "、".join(p.name for p in ticked)
                           + ";请先用 xlcrm collect 导入,或加 --force 覆盖(会保留 .bak 备份)")
    for p in ticked:  # temp + rename: a full disk never leaves half a backup
        write_atomic(backup_path(p), lambda dst, src=p: shutil.copyfile(src, dst))
    t2 = time.perf_counter()
    if progress:
        progress("start", len(weeks))
    result.files = write_weekly(plan, out_dir, None, weeks, jobs,
                                (lambda _name: progress("done")) if progress else None, master_identity(path))
    result.findings += rule_findings + messages.findings + plan.findings
    t3 = time.perf_counter()
    result.timings = {"read": t1 - t0, "compute": t2 - t1, "write": t3 - t2}
    return result
