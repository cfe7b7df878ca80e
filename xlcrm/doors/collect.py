"""`xlcrm collect MASTER PATH…`: returned weekly workbooks flow back into 跟进记录.

Each weekly workbook carries its master's number (`io.identity`); one from another
master is refused with one line. The ticks of every accepted workbook are logged like
a refresh logs 我的任务 (`refresh.log_ticks`), a 任务编号 at most once across all files
and the master, and appended to 跟进记录 in one atomic write.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from ..core.records import Finding
from ..io import schema
from ..io.errors import RefreshError, WorkbookError
from ..io.identity import custom_properties, master_identity
from ..io.loader import load
from ..io.package import replace_owned_sheets
from ..io.reports import SUMMARY_NAME
from ..io.returned import week_rows
from ..io.splice import appended_parts
from ..io.validate import fatal, validate
from .refresh import Logbook, log_ticks


@dataclass
class CollectResult:
    touches: int = 0
    lines: list[str] = field(default_factory=list)  # one per file
    refused: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the lines of the refused files

    def refuse(self, path: Path, why: str) -> None:
        line = f"{path.name}: 没有导入{why}"
        self.lines.append(line)
        self.problems.append(line)
        self.refused.append(path)


def weekly_files(paths: list[Path]) -> list[Path]:
    """The files given, and the weekly workbooks inside the folders given."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*.xlsx") if not f.name.startswith("~$") and ".bak" not in f.stem
                          and f.stem != SUMMARY_NAME)
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def collect_files(master: str | Path, paths: list[Path], today: date) -> CollectResult:
    master = Path(master)
    book, findings = load(master)
    findings += validate(book)
    if fatal(findings):
        raise RefreshError("; ".join(str(f) for f in fatal(findings)[:5]))
    identity = master_identity(master)
    logbook = Logbook.of(book)  # every file's ticks against 跟进记录 and the files before it
    result = CollectResult()
    letters: list[str] = []
    rows: list[tuple] = []
    for path in weekly_files(paths):
        try:
            props = custom_properties(path)
        except WorkbookError as exc:
            result.refuse(path, f"({exc})")
            continue
        source = props.get(schema.WEEK_MASTER_PROPERTY)
        if not source:
            result.refuse(path, ",这不是 xlcrm weekly 生成的每周行动表")
            continue
        if source != identity:
            result.refuse(path, f",这份每周行动表是由另一个主工作簿生成的,不是 {master.name}")
            continue
        try:
            read = week_rows(path, typed_only=True)
        except WorkbookError as exc:
            result.refuse(path, f"({exc})")
            continue
        result.findings += _in_file(path, read.findings)
        agent = props.get(schema.WEEK_AGENT_PROPERTY) or None
        if not read.total:
            result.lines.append(f"{path.name}: 没有任务行")
            continue
        ticks = log_ticks(book, read.rows, path.name, agent, today, logbook)
        result.findings += [f for f in ticks.findings if f.code != "tick-skipped"]  # about the master
        result.findings += _in_file(path, [f for f in ticks.findings if f.code == "tick-skipped"])
        letters = ticks.letters
        rows += ticks.rows
        result.touches += len(ticks.rows)
        result.lines.append(f"{path.name}: 记录 {len(ticks.rows)} 次联系,已在跟进记录 {ticks.logged.already} 次"
                            + (f",{len(ticks.logged.skipped)} 行未记录" if ticks.logged.skipped else ""))
    if rows:
        name = book.sheet_name("contacts")
        book = ticks = None  # the frames are not needed to append: their memory is
        replace_owned_sheets(master, {}, extra=lambda zf: appended_parts(zf, name, letters, rows)[0])
    return result


def _in_file(path: Path, findings: list[Finding]) -> list[Finding]:
    """Findings about a returned workbook's cells, named as Excel names a cell of another
    workbook (`[张伟.xlsx]本周计划!K7`): collect reads many books with the same sheets."""
    return [replace(f, sheet=f"[{path.name}]{f.sheet}") for f in findings]
