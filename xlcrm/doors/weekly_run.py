"""`xlcrm weekly` behind the CLI: load, compute the week, write the workbooks, time each stage."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..core.records import Finding
from ..core.rules import read_rules
from ..core.weekly import agent_weeks, iso_week, team_summary, weekly_plan
from ..io.loader import load
from ..io.reports import write_weekly
from ..io.validate import fatal, validate
from .refresh import messages_for


@dataclass
class WeeklyResult:
    week: str
    folder: Path
    files: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fatal: bool = False


def run_weekly(path: str | Path, out_dir: str | Path, monday: date, jobs: int = 1,
               progress: Callable[..., None] | None = None) -> WeeklyResult:
    result = WeeklyResult(iso_week(monday), Path(out_dir) / iso_week(monday))
    t0 = time.perf_counter()
    book, findings = load(path)
    t1 = time.perf_counter()
    findings += validate(book)
    result.findings = findings
    if fatal(findings):
        result.fatal = True
        return result
    rules, rule_findings = read_rules(book.frames.get("rules"), book.sheet_name("rules"))
    messages = messages_for(book)
    plan = weekly_plan(book, rules, monday, messages)
    summary = team_summary(plan)
    weeks = agent_weeks(plan)
    result.findings += rule_findings + messages.findings
    t2 = time.perf_counter()
    if progress:
        progress("start", len(weeks))
    result.files = write_weekly(plan, out_dir, summary, weeks, jobs,
                                (lambda _name: progress("done")) if progress else None)
    t3 = time.perf_counter()
    result.timings = {"read": t1 - t0, "compute": t2 - t1, "write": t3 - t2}
    return result
