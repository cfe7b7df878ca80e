"""What an agent sees on screen and on paper: wrapped text gets rows tall enough,
and the weekly plan prints without the program's 任务编号."""

from __future__ import annotations

import openpyxl

from tests.conftest import TODAY, run_cli
from xlcrm.io import schema


def test_refreshed_rows_are_tall_enough_for_wrapped_drafts(sample_path, tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(sample_path.read_bytes())
    agent = openpyxl.load_workbook(path, read_only=True)["顾问"]["A2"].value
    out = run_cli("refresh", path, "--agent", agent, "--today", TODAY.isoformat())
    assert out.returncode == 0, out.stderr
    ws = openpyxl.load_workbook(path)["我的任务"]
    sms_col = [c.value for c in ws[1]].index("短信草稿") + 1
    checked = 0
    for row in range(2, ws.max_row + 1):
        text = ws.cell(row, sms_col).value
        lines = schema.wrapped_lines(text, schema.MY_TASKS.column("sms").width) if text else 1
        height = ws.row_dimensions[row].height
        if lines > 1:
            assert height is not None and height >= schema.LINE_HEIGHT * min(lines, schema.MAX_LINES)
            checked += 1
    assert checked > 5


def test_weekly_plan_prints_without_the_task_number(sample_path, tmp_path):
    out = run_cli("weekly", sample_path, "--out", tmp_path, "--week", TODAY.isoformat())
    assert out.returncode == 0, out.stderr
    book = next(p for p in (tmp_path / "2026-W48").glob("*.xlsx") if p.stem != "团队汇总")
    wb = openpyxl.load_workbook(book)
    for name in ("本周计划", "短信草稿"):
        ws = wb[name]
        headers = [c.value for c in ws[2]]
        area = ws.print_area if isinstance(ws.print_area, str) else ws.print_area[0]
        last_printed = area.split("!")[-1].split(":")[1].split("$")[1]
        printed = headers[:openpyxl.utils.column_index_from_string(last_printed)]
        assert "任务编号" in headers and "任务编号" not in printed and "备注" in printed, (name, printed)
