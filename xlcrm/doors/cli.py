"""The `xlcrm` command: new | sample | validate | import | refresh | weekly | collect | archive | build-addin.

Each command is load -> validate -> compute -> write in a few lines over the library;
library errors become one clear line and an exit code, never a traceback. Every
message and `--help` is Chinese (click's own messages through `zh.install()`).
Exit codes: validate 0 clean / 1 findings / 2 not a workbook; the writing commands
0 written (findings listed and counted), 1 refused (usage error, read-only, locked…),
2 not a readable workbook.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from ..core.records import Finding
from ..io.errors import RefreshError, WorkbookError
from . import zh

zh.install()


class Refused(click.ClickException):
    """A refused operation: one Chinese line, exit code 1."""

    def show(self, file=None) -> None:
        click.echo(f"错误: {self.format_message()}", err=True)


def _echo_findings(findings: list[Finding], limit: int = 200) -> None:
    for finding in findings[:limit]:
        click.echo(str(finding), err=True)
    if len(findings) > limit:
        click.echo(f"…… 另有 {len(findings) - limit} 条问题未列出", err=True)


def _left_out(count: int) -> str:
    return f";另有 {count} 行缺少必填项,已跳过(见上方问题)" if count else ""


def friendly(func: Callable) -> Callable:
    """Turn library errors into one line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WorkbookError as exc:
            click.echo(f"错误: {exc}", err=True)
            sys.exit(2)
        except RefreshError as exc:
            click.echo(f"错误: {exc}", err=True)
            sys.exit(1)
        except PermissionError as exc:
            click.echo(f"错误: 无法写入 {exc.filename}(文件或文件夹是只读的,或在 Excel 中打开?)", err=True)
            sys.exit(1)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"错误: 无法写入{where}({exc.strerror or exc})", err=True)
            sys.exit(1)

    return wrapper


def today_option(func: Callable) -> Callable:
    return click.option("--today", metavar="YYYY-MM-DD", default=None,
                        help="把这一天当作今天(默认今天的日期),例如 2026-11-23")(func)


def _today(text: str | None, option: str = "--today"):
    from datetime import date

    from ..io.dates import parse_today

    try:
        day = parse_today(text)
    except (ValueError, OverflowError):
        raise click.BadParameter(f"'{text}' 不是日期,请写成 2026-11-23", param_hint=option) from None
    if not date(1900, 1, 1) <= day <= date(2200, 12, 31):
        raise click.BadParameter(f"'{text}' 超出可用范围(1900-01-01 至 2200-12-31)", param_hint=option)
    return day


def _output_path(path: Path, force: bool) -> None:
    """Refuse an existing file without --force, a missing folder, and a suffix that is not a workbook."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise Refused(f"{path}: 文件名应以 .xlsx 结尾(例如 客户维护.xlsx)")
    if not path.parent.is_dir():
        raise Refused(f"文件夹 {path.parent} 不存在;请先建立文件夹或换一个位置")
    if path.exists() and not force:
        raise Refused(f"{path} 已存在;加 --force 覆盖(原文件会被替换)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xlcrm")
def cli() -> None:
    """xlcrm: 客户维护和拓展 —— 用一个 Excel 工作簿管理客户维护、跟进和转介绍。"""


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="工作表名和表头用中文(zh)或英文(en)。")
@click.option("--force", is_flag=True, help="PATH 已存在时覆盖它。")
@friendly
def new(path: Path, lang: str, force: bool) -> None:
    """生成空白主工作簿:所有工作表、下拉选项和默认规则。

    Example:

        xlcrm new 客户维护.xlsx
    """
    from ..io.package import write_atomic
    from ..io.template import write_workbook

    _output_path(path, force)
    write_atomic(path, lambda tmp: write_workbook(tmp, lang))
    click.echo(f"已生成空白工作簿 {path}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--clients", default=300, show_default=True, type=click.IntRange(1, 1_000_000), help="客户数。")
@click.option("--agents", default=5, show_default=True, type=click.IntRange(1, 1000), help="顾问数。")
@click.option("--seed", default=1, show_default=True, help="随机种子:同一种子生成同一个工作簿。")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="工作表名和表头用中文(zh)或英文(en)。")
@click.option("--force", is_flag=True, help="PATH 已存在时覆盖它(会替换原工作簿!)。")
@today_option
@friendly
def sample(path: Path, clients: int, agents: int, seed: int, lang: str, force: bool, today: str | None) -> None:
    """生成一个逼真的示例工作簿(同一种子结果相同)。已有文件不会被覆盖,除非加 --force。

    Example:

        xlcrm sample workbook/sample.xlsx --clients 300 --agents 5 --today 2026-11-23
    """
    from ..io.package import write_atomic
    from ..io.sample import write_sample

    _output_path(path, force)
    day = _today(today)
    counts: dict[str, int] = {}
    write_atomic(path, lambda tmp: counts.update(write_sample(tmp, clients, agents, seed, day, lang)))
    from ..io.schema import SHEET_BY_KEY

    click.echo(f"已生成示例工作簿 {path}: " + ", ".join(
        f"{SHEET_BY_KEY[k].zh if k in SHEET_BY_KEY else k} {v}" for k, v in counts.items()))


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@friendly
def validate(path: Path) -> None:
    """检查工作簿,逐条列出问题(工作表!单元格: 说明)。

    退出码: 0 没有错误;1 有错误;2 不是可读取的工作簿。

    Example:

        xlcrm validate workbook/sample.xlsx
    """
    from ..core.records import Finding
    from ..io.archive import master_of
    from ..io.loader import load
    from ..io.validate import errors
    from ..io.validate import validate as run_checks

    master = master_of(path)
    if master is not None and master.exists():
        # An archive's 客户编号 refer to its master's 客户: check them together.
        click.echo(f"{path.name} 是 {master.name} 的跟进记录归档,与主表一起检查")
        path = master
    book, findings = load(path)
    checks = run_checks(book)
    if master is not None and path != master:  # an archive without its master beside it
        checks = [f for f in checks if f.code != "client-unknown"]
        findings.append(Finding(book.sheet_name("contacts"), "", f"{path.name} 是跟进记录归档,旁边没有主表 "
                                f"{master.name}:客户编号无法核对", "warning", "archive-alone"))
    findings = findings + checks
    from ..core.rules import read_rules

    findings += read_rules(book.frames.get("rules"), book.sheet_name("rules"))[1]
    _echo_findings(findings)
    if errors(findings):
        click.echo(f"{path}: {len(errors(findings))} 个错误", err=True)
        sys.exit(1)
    counts = ", ".join(f"{book.sheet_name(k)} {len(book.frames[k])}" for k in book.letters)
    click.echo(f"{path}: 没有错误 ({counts})")


def _show_value(value) -> str:
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _echo_plan(result, preview: int) -> None:
    from openpyxl.utils import get_column_letter

    from ..io import schema

    plan, source, sheet = result.plan, result.source, result.target_sheet
    where = f"工作表「{source.sheet}」," if source.sheet else ""
    encoding = f",编码 {source.encoding}" if source.encoding else ""
    click.echo(f"源文件 {source.label}({where}表头在第 {plan.header_at + 1} 行{encoding})→ 追加到「{sheet.zh}」")
    others = [s for s in source.sheets if s != source.sheet]
    if others:
        click.echo(f"  其他工作表(用 --sheet 选择):{'、'.join(others)}")
    click.echo("列映射:")
    unmapped, ignored = [], []
    for j, (header, key) in enumerate(zip(plan.headers, plan.keys, strict=True)):
        label = f"{get_column_letter(j + 1)} {header or '(无表头)'}"
        if key is None and header:
            unmapped.append(header)
        elif key == "" and header:
            ignored.append(header)
        elif key:
            if key.startswith("lookup_"):
                field = f"用于查找客户({schema.CLIENTS.column(key[7:]).zh})"
            else:
                field = sheet.column(key).zh
            click.echo(f"  {label} → {field}")
    if unmapped:
        click.echo(f"未映射(内容写入 备注):{'、'.join(unmapped)}")
    if ignored:
        click.echo(f"忽略:{'、'.join(ignored)}")
    for remark in plan.remarks:
        click.echo(f"说明:{remark}")
    if result.new_agents:
        click.echo(f"新增顾问(--add-agents):{'、'.join(result.new_agents)}")
    if result.rows and preview:
        keys = [c.key for c in sheet.columns if any(r.get(c.key) not in (None, "") for r in result.rows[:preview])]
        click.echo(f"预览(前 {min(preview, len(result.rows))} 行):")
        click.echo("  " + " | ".join(sheet.column(k).zh for k in keys))
        for row in result.rows[:preview]:
            click.echo("  " + " | ".join(_show_value(row.get(k)) for k in keys))


@cli.command("import")
@click.argument("master", type=click.Path(path_type=Path))
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--sheet", default=None, help="导入 SOURCE 的哪张工作表(默认: 第一张能认出表头的)。")
@click.option("--map", "maps", multiple=True, metavar="列=字段",
              help="把源文件的列对应到字段,例如 --map 联系电话=手机;写成 列= 则忽略该列。可重复。")
@click.option("--dry-run", is_flag=True, help="只显示列映射、预览和问题,不写入。")
@click.option("--add-agents", is_flag=True, help="顾问表里没有的顾问自动添加,而不是拒绝这些行。")
@click.option("--agent", "agents", multiple=True, metavar="NAME",
              help="没有负责顾问的行分给此顾问;重复使用则轮流分配。")
@click.option("--preview", default=5, show_default=True, type=click.IntRange(0, 1000), help="预览的行数。")
@friendly
def import_command(master: Path, source: Path, sheet: str | None, maps: tuple[str, ...], dry_run: bool,
                   add_agents: bool, agents: tuple[str, ...], preview: int) -> None:
    """把已有的客户名单或跟进记录(.xlsx/.xlsm/.csv)追加到 MASTER。

    表头按同义词识别(客户姓名→姓名,联系电话→手机,置业顾问→负责顾问 …);含
    跟进日期/方式/跟进内容的名单进「跟进记录」,其余进「客户」。手机号会规范化,文本日期
    会识别,自动分配客户编号。有问题的行和重复(同手机,或同姓名+单位)列为 SOURCE!单元格,
    不导入。退出码: 0 全部导入或只是重复;1 有行因错误未导入(或拒绝导入);2 文件不可读。

    Example:

        xlcrm import 客户维护.xlsx 老客户名单.xlsx --dry-run

        xlcrm import 客户维护.xlsx 名单.csv --agent 张伟 --agent 李娜
    """
    from ..io.errors import RefreshError as WriteRefused
    from ..io.importer import ImportRefused, plan_import, write_import
    from ..io.validate import errors

    try:
        result = plan_import(master, source, sheet, maps, agents, add_agents)
    except ImportRefused as exc:
        raise Refused(str(exc)) from None
    _echo_plan(result, preview)
    _echo_findings(result.findings)
    counts = f"导入 {len(result.rows)} 行,跳过 {result.skipped} 行(有错误),重复 {result.duplicates} 行未导入"
    if dry_run:
        click.echo(f"试运行(--dry-run),未写入:将{counts}")
    else:
        try:
            backup = write_import(result)
        except WriteRefused as exc:
            raise Refused(str(exc)) from None
        saved = f";原文件备份为 {backup.name}" if backup else ""
        click.echo(f"{master}: {counts}{saved}")
    if errors(result.findings):
        sys.exit(1)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--agent", required=True, help="要写入哪位顾问的任务。")
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="显示今天起多少天的任务(默认: 规则表的 任务天数,7)。")
@click.option("--quiet", "-q", is_flag=True, help="只输出问题。")
@today_option
@friendly
def refresh(path: Path, agent: str, days: int | None, quiet: bool, today: str | None) -> None:
    """把「我的任务」中打勾的行记入「跟进记录」,再写入一位顾问的「我的任务」和全部客户的「客户看板」。

    与功能区按钮「刷新我的任务」相同,但不需要 Excel。「我的任务」中 完成=是 或填了 结果 的
    每一行成为「跟进记录」的一行新记录(同一任务编号不会重复记录);然后重新计算任务和看板。
    只追加「跟进记录」并改写两张程序工作表;原文件保存为 NAME.bak.xlsx。退出码: 0 已写入
    (有问题的行被跳过并计数);1 拒绝写入(只读、正在刷新、缺少工作表等);2 不是可读取的工作簿。

    Example:

        xlcrm refresh workbook/sample.xlsx --agent 张伟 --today 2026-11-23
    """
    from .refresh import refresh_file

    try:
        result = refresh_file(path, agent, _today(today), days)
    except RefreshError as exc:
        raise Refused(str(exc)) from None
    _echo_findings(result.findings, limit=20)
    if not quiet:
        click.echo(f"{path}: 记录了 {result.touches} 次联系到跟进记录;已为 {result.agent} 写入{result.summary};"
                   f"客户看板 {len(result.board)} 位客户{_left_out(result.left_out)}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="周报文件夹;每个 ISO 周在其中建一个子文件夹。")
@click.option("--week", metavar="YYYY-MM-DD", default=None,
              help="要计划的那一周中的任意一天(默认: 下一个星期一)。")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=1, show_default=True,
              help="并行写顾问周报的进程数。")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度条。")
@click.option("--force", is_flag=True,
              help="覆盖已填了 完成/结果 的顾问周报(每个保留一份 .bak 副本)。")
@today_option
@friendly
def weekly(path: Path, out_dir: Path, week: str | None, jobs: int, quiet: bool, force: bool,
           today: str | None) -> None:
    """为每位在职顾问生成每周行动表,并生成团队汇总。

    文件写到 OUT/<ISO 周>/<顾问>.xlsx 和 OUT/<ISO 周>/团队汇总.xlsx。已填了 完成/结果 的顾问
    周报不会被覆盖(请先 collect),除非加 --force(会保留 NAME.bak.xlsx)。退出码: 0 已写入
    (有问题的行被跳过并计数);1 拒绝(缺少工作表或列、文件夹不可写、周报已有打勾等);
    2 不是可读取的工作簿。

    Example:

        xlcrm weekly workbook/sample.xlsx --out reports --week 2026-11-23
    """
    from ..core.weekly import coming_monday, week_monday
    from .weekly_run import run_weekly

    monday = week_monday(_today(week, "--week")) if week else coming_monday(_today(today))
    bar = None

    def progress(event: str, total: int = 0) -> None:
        nonlocal bar
        if quiet:
            return
        if event == "start":
            from tqdm import tqdm

            bar = tqdm(total=total, unit="位顾问", desc="生成周报", file=sys.stderr, leave=False,
                       disable=None)  # no bar when stderr is a log file, not a terminal
        elif bar is not None:
            bar.update(1)

    try:
        result = run_weekly(path, out_dir, monday, jobs, progress, force)
    except RefreshError as exc:
        raise Refused(str(exc)) from None
    if bar is not None:
        bar.close()
    _echo_findings(result.findings, limit=20)
    if result.fatal:
        sys.exit(1)
    click.echo(f"{result.folder}: {len(result.files) - 1} 位顾问的每周行动表和团队汇总 ({result.week})"
               f"{_left_out(result.left_out)}")
    for file in result.files:
        click.echo(f"  {file}")


@cli.command()
@click.argument("master", type=click.Path(path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="只输出问题(被拒绝的文件和有问题的行)。")
@today_option
@friendly
def collect(master: Path, paths: tuple[Path, ...], quiet: bool, today: str | None) -> None:
    """把交回的每周行动表中打勾的行记入主工作簿的「跟进记录」。

    PATHS 是 xlcrm weekly 生成的每周行动表,或放这些文件的文件夹。「本周计划」或「短信草稿」
    中 完成=是 或填了 结果 的每一行成为「跟进记录」的一行新记录;已记录的任务编号不会重复记录。
    来自其他主工作簿的行动表会被拒绝。只追加「跟进记录」;原主工作簿保存为 NAME.bak.xlsx。
    退出码: 0 已记录;1 拒绝;2 文件不可读。

    Example:

        xlcrm collect workbook/sample.xlsx reports/2026-W48
    """
    from .collect import collect_files

    try:
        result = collect_files(master, list(paths), _today(today))
    except RefreshError as exc:
        raise Refused(str(exc)) from None
    _echo_findings(result.findings, limit=20)
    for line in result.problems if quiet else result.lines:
        click.echo(line)
    if not quiet:
        click.echo(f"{master}: 共记录 {result.touches} 次联系到跟进记录"
                   + (f",{len(result.refused)} 份被拒绝" if result.refused else ""))
    if result.refused:
        sys.exit(1)


@cli.command()
@click.argument("master", type=click.Path(path_type=Path))
@click.option("--before", required=True, metavar="YYYY-MM-DD",
              help="把日期早于这一天的跟进记录移到归档工作簿,例如 2026-01-01")
@friendly
def archive(master: Path, before: str) -> None:
    """把「跟进记录」中日期早于 --before 的行移到主工作簿旁的归档工作簿。

    Excel 每张表最多 1,048,576 行;validate 从 90% 起提醒。归档工作簿名为
    「主工作簿名-跟进记录归档.xlsx」,与主工作簿放在同一文件夹;已存在时只在末尾追加,
    从不改写已有的行。xlcrm 读取主工作簿时也读取归档,规则仍看到全部历史(最近联系日期、次数)。
    先写归档、再写主工作簿(都先写临时文件再改名),原主工作簿保存为 NAME.bak.xlsx;
    日期为空或无法识别的行留在主工作簿。「跟进记录」有公式或合并单元格时拒绝。
    退出码: 0 已归档(或没有要移动的行);1 拒绝(只读、被锁、在 Excel 中打开等);2 文件不可读。

    Example:

        xlcrm archive workbook/sample.xlsx --before 2026-01-01
    """
    from ..io.archive import archive_master

    day = _today(before, "--before")
    try:
        result = archive_master(master, day)
    except RefreshError as exc:
        raise Refused(str(exc)) from None
    if not result.moved:
        click.echo(f"{master}: 没有早于 {day} 的跟进记录,未改动")
        return
    click.echo(f"{master}: 已把 {result.moved} 行跟进记录(早于 {day})移到 {result.archive.name};"
               f"主工作簿还有 {result.kept} 行;原文件保存为 {result.backup.name}")


@cli.command("build-addin")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path), default=Path("xlcrm.xlam"))
@click.option("--ribbon", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="使用的功能区 XML(默认: macros/customUI.xml)。")
@click.option("--interpreter-win", default=None, metavar="PATH",
              help="Windows 上按钮启动的 Python(默认: 本 Python 旁的 pythonw.exe)。")
@click.option("--interpreter-mac", default=None, metavar="PATH",
              help="macOS 上按钮启动的 Python(默认: 本 Python)。")
@click.option("--pythonpath", default=None, metavar="DIRS",
              help="加入 sys.path 的文件夹,用 ';' 分隔(默认: xlcrm 所在文件夹)。")
def build_addin_command(out: Path, ribbon: Path | None, interpreter_win: str | None,
                        interpreter_mac: str | None, pythonpath: str | None) -> None:
    """生成 Excel 加载项 xlcrm.xlam:带「客户维护」选项卡和「刷新我的任务」按钮。

    The add-in's settings sheet (myaddin.conf) names the Python the button runs: by
    default the Python running this command, so run it from the environment where
    xlcrm is installed, on the computer that will use the add-in.

    \b
    Example:
        xlcrm build-addin dist/xlcrm.xlam
        xlcrm build-addin xlcrm.xlam --interpreter-win "C:\\xlcrm-venv\\Scripts\\pythonw.exe"
    """
    from .addin import AddinError, build_addin, environment_config

    config = environment_config(interpreter_win=interpreter_win, interpreter_mac=interpreter_mac,
                                pythonpath=pythonpath)
    try:
        path = build_addin(out, ribbon, config)
    except AddinError as exc:
        raise Refused(str(exc)) from None
    click.echo(f"已生成加载项 {path}")
    click.echo(f"  配置表 myaddin.conf: Interpreter_Win = {config.interpreter_win or '(空)'}")
    click.echo(f"                       Interpreter_Mac = {config.interpreter_mac or '(空)'}")
    click.echo(f"                       PYTHONPATH      = {config.pythonpath or '(空)'}")
    if not (config.interpreter_win or config.interpreter_mac):
        click.echo("注意: 这台电脑不是 Windows 或 macOS,按钮会运行 PATH 里的 python;"
                   "请用 --interpreter-win / --interpreter-mac 指定装有 xlcrm 的 Python", err=True)


_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])[ \\t]*\\n[ \\t]*(?=[{_CJK}])")


def _join_cjk_lines(text: str | None) -> str | None:
    """A Chinese sentence broken over two docstring lines: click would re-wrap it with a
    space in the middle (已填了 完成); joining the lines first keeps the sentence whole."""
    return _CJK_BREAK.sub("", text) if text else text


for _command in cli.commands.values():
    _command.help = _join_cjk_lines(_command.help)
    for _param in _command.params:
        if isinstance(_param, click.Option):
            _param.help = _join_cjk_lines(_param.help)




def main() -> None:
    """The `xlcrm` program: `cli` run as a command, then the process ends without tearing
    down its heap (freeing a 100,000-client book object by object takes a few tenths of
    a second, after everything is written, flushed and closed)."""
    import os

    try:
        cli()
        code: int | str | None = 0
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):  # SystemExit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`xlcrm … | head`)
            pass
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
