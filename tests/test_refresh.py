"""`xlcrm refresh`: 我的任务 and 客户看板 written; everything a person typed untouched."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlwings

from xlcrm.io import schema
from xlcrm.io.template import write_workbook

from .conftest import TODAY, client, make_workbook, rows, run_cli, to_pdf


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def owned_parts(path: Path) -> set[str]:
    from xlcrm.io.package import sheet_parts, table_parts

    with zipfile.ZipFile(path) as zf:
        names = sheet_parts(zf)
        out = set()
        for sheet in (schema.MY_TASKS, schema.BOARD):
            part = names[schema.find_sheet(list(names), sheet)]
            out |= {part, *table_parts(zf, part)}
    return out


def task_sheet(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path)["我的任务"]
    values = list(ws.iter_rows(values_only=True))
    header = [h for h in values[0][: len(schema.MY_TASKS.columns)]]
    rows = [dict(zip(header, r, strict=False)) for r in values[1:] if any(r)]
    assert rows and rows[-1]["优先级"] == "汇总" and "待排" in rows[-1]["任务"]  # the summary line comes last
    return rows[:-1]


def test_refresh_of_the_sample_changes_only_the_owned_sheets(tmp_path, sample_path):
    path = tmp_path / "sample.xlsx"
    shutil.copy(sample_path, path)
    agent = openpyxl.load_workbook(path, read_only=True)["顾问"]["A2"].value
    before = parts(path)
    result = run_cli("refresh", path, "--agent", agent, "--today", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert f"已为 {agent} 写入" in result.stdout
    after = parts(path)
    owned = owned_parts(path)
    assert set(before) == set(after)
    changed = {n for n in before if before[n] != after[n]}
    assert changed and changed <= owned, changed - owned
    # The backup is the previous file, byte for byte.
    assert parts(tmp_path / "sample.bak.xlsx") == before

    wb = openpyxl.load_workbook(path)
    old = openpyxl.load_workbook(tmp_path / "sample.bak.xlsx")
    for sheet in schema.USER_SHEETS:
        a, b = old[sheet.zh], wb[sheet.zh]
        assert [[(c.value, c.number_format, c.font.b, c.fill.fgColor.rgb) for c in r] for r in a.iter_rows()] == \
               [[(c.value, c.number_format, c.font.b, c.fill.fgColor.rgb) for c in r] for r in b.iter_rows()]
        assert len(a.data_validations.dataValidation) == len(b.data_validations.dataValidation)
    tasks = task_sheet(path)
    assert tasks and {t["日期"].date() for t in tasks} <= {date(2026, 11, d) for d in range(1, 30)} | {
        t["日期"].date() for t in tasks if t["日期"].date() < TODAY}
    board = list(wb["客户看板"].iter_rows(min_row=2, values_only=True))
    assert len(board) == 300
    assert wb["我的任务"].tables["MyTasks"].ref == \
        f"A1:{schema.column_letter_of(schema.MY_TASKS, 'task_id')}{len(tasks) + 2}"  # tasks and the summary line
    assert wb["我的任务"].freeze_panes == "A2"
    to_pdf(path, tmp_path)


def test_refresh_writes_exact_tasks_and_keeps_formula_text_as_text(tmp_path):
    path = make_workbook(
        tmp_path / "book.xlsx",
        clients=[client("K1", name="=HYPERLINK(\"x\")", class_override="B", phone="+86 13800138000"),
                 client("K2", agent="李娜", class_override="B")],
        contacts=[{"client_id": "K1", "date": datetime(2026, 11, 18, 10), "channel": "电话", "outcome": "已沟通"},
                  {"client_id": "K2", "date": datetime(2026, 11, 18, 10), "channel": "电话", "outcome": "已沟通"}])
    result = run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23")
    assert result.returncode == 0, result.stderr
    tasks = task_sheet(path)
    calls = [t for t in tasks if t["任务"] == "维护电话"]
    assert [t["日期"].date() for t in calls] == [date(2026, 11, 21), date(2026, 11, 26)]  # 11-29 is a Sunday: next week
    assert calls[0]["原因"] == "B类每3天电话维护,已逾期2天"
    assert {t["客户编号"] for t in tasks} == {"K1"}
    assert calls[0]["姓名"] == '=HYPERLINK("x")' and calls[0]["手机"] == "+86 13800138000"
    with zipfile.ZipFile(path) as zf:
        xml = "".join(zf.read(n).decode() for n in owned_parts(path) if "worksheets" in n)
    assert "<f>" not in xml and "=HYPERLINK" in xml


def test_refresh_keeps_the_vba_project_of_an_xlsm(tmp_path):
    vba = Path(xlwings.__file__).parent / "quickstart.xlsm"
    with zipfile.ZipFile(vba) as zf:
        (tmp_path / "vbaProject.bin").write_bytes(zf.read("xl/vbaProject.bin"))
    path = tmp_path / "book.xlsm"
    write_workbook(path, "zh", {"clients": rows(schema.CLIENTS, [client("K1")]),
                                "agents": rows(schema.AGENTS, [{"agent": "张伟"}])},
                   vba_project=tmp_path / "vbaProject.bin")
    before = parts(path)
    assert run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    after = parts(path)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"] == (tmp_path / "vbaProject.bin").read_bytes()
    assert (tmp_path / "book.bak.xlsm").exists()


def test_refresh_refuses_an_open_workbook_and_an_unknown_agent(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    before = path.read_bytes()
    result = run_cli("refresh", path, "--agent", "王五")
    assert result.returncode == 1 and "张伟、李娜" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "~$book.xlsx").write_text("lock")
    result = run_cli("refresh", path, "--agent", "张伟")
    assert result.returncode == 1 and "正在 Excel 中打开" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("bad", ["2026-13-01", "明天"])
def test_refresh_bad_today_is_a_usage_error(tmp_path, bad):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    result = run_cli("refresh", path, "--agent", "张伟", "--today", bad)
    assert result.returncode == 2 and "--today" in result.stderr and "Traceback" not in result.stderr


def test_second_refresh_parses_only_the_header_and_last_row_of_the_old_sheets(tmp_path, sample_path, monkeypatch):
    """A refresh replaces the rows of 我的任务 and 客户看板 written by the one before; it
    parses only their header (and a totals row: tests/test_hardening.py), not 100,000 old
    rows (a gigabyte as a tree). The result is byte for byte what parsing the whole old
    sheet gave."""
    from xlcrm.doors.refresh import refresh_file
    from xlcrm.io import package

    first = tmp_path / "first.xlsx"
    shutil.copy(sample_path, first)
    refresh_file(first, "孔娟博", TODAY)
    seen = []
    real = package.without_body_rows
    monkeypatch.setattr(package, "without_body_rows", lambda xml: seen.append(len(real(xml)) < len(xml)) or real(xml))
    outputs = []
    for trim in (True, False):
        path = tmp_path / f"again-{trim}.xlsx"
        shutil.copy(first, path)
        if not trim:
            monkeypatch.setattr(package, "without_body_rows", lambda xml: xml)
        refresh_file(path, "石华勇", TODAY)
        outputs.append({n: b for n, b in parts(path).items() if n in owned_parts(path)})
    assert any(seen), "the old rows were not cut before parsing"
    assert outputs[0] == outputs[1]
