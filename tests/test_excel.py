"""Inside Excel: the UDFs, the ribbon's main() through its file adapter, and the add-in build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
from defusedxml import ElementTree

from xlcrm.doors import udfs
from xlcrm.doors.excel import FileTarget, as_text_for_excel, run_refresh
from xlcrm.io import schema

from .conftest import ROOT, TODAY, client, make_workbook, run_cli, to_pdf


def xlwings_shaped(path, sheet):
    """A table range the way xlwings hands it to a UDF: rows of values, floats, datetimes, None."""
    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    rows = []
    for row in ws.iter_rows(values_only=True):
        rows.append([float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row])
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    return rows


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory, sample_path):
    path = tmp_path_factory.mktemp("excel") / "sample.xlsx"
    shutil.copy(sample_path, path)
    agent = openpyxl.load_workbook(path, read_only=True)["顾问"]["A2"].value
    assert run_cli("refresh", path, "--agent", agent, "--today", "2026-11-23").returncode == 0
    board = {r[0]: r for r in openpyxl.load_workbook(path)["客户看板"].iter_rows(min_row=2, values_only=True)}
    ranges = {s: xlwings_shaped(path, s) for s in ("客户", "转介绍", "跟进记录", "关怀日期", "规则", "交接", "客户档案",
                                                   "活动", "关键人")}
    return path, agent, board, ranges


def column(result):
    assert result[0][0] in ("类别", "类别依据", "跟进状态", "下一步")
    return [r[0] for r in result[1:]]


def test_udf_class_and_status_match_the_cli(refreshed):
    _, _, board, r = refreshed
    today = datetime(2026, 11, 23)
    ids = [row[0] for row in r["客户"][1:]]
    classes = column(udfs.crm_class(r["客户"], r["转介绍"], r["跟进记录"], today, r["规则"]))
    reasons = column(udfs.crm_class_reason(r["客户"], r["转介绍"], r["跟进记录"], today))
    states = column(udfs.crm_status(r["客户"], r["转介绍"], r["跟进记录"], 46349.0))  # TODAY() as a serial
    assert len(classes) == len(ids) == 300
    for cid, cls, why, state in zip(ids, classes, reasons, states, strict=True):
        assert (cls, why, state) == tuple(board[cid][schema.BOARD.keys.index(k)] for k in ("client_class", "class_reason", "status"))


def test_udf_next_matches_the_cli(refreshed):
    _, _, board, r = refreshed
    steps = column(udfs.crm_next(r["客户"], r["转介绍"], r["跟进记录"], datetime(2026, 11, 23), r["关怀日期"],
                                 r["规则"], r["交接"], r["客户档案"], r["活动"], r["关键人"]))
    ids = [row[0] for row in r["客户"][1:]]
    checked = 0
    for cid, step in zip(ids, steps, strict=True):
        task, when = (board[cid][schema.BOARD.keys.index(k)] for k in ("next_task", "next_date"))
        expected = f"{when:%Y-%m-%d} {task}" if task else ""
        assert step == expected
        checked += bool(task)
    assert checked > 250


def test_scalar_udfs():
    assert udfs.crm_cadence("B") == 3 and udfs.crm_cadence("a") == 1
    rules = [["规则", "值", "说明"], ["B类联系周期天数", 5.0, None]]
    assert udfs.crm_cadence("B", rules) == 5
    assert udfs.crm_overdue("B", datetime(2026, 11, 18), datetime(2026, 11, 23)) == "逾期2天"
    assert udfs.crm_overdue("B", datetime(2026, 11, 18), datetime(2026, 11, 23), rules) == "今日到期"
    assert udfs.crm_overdue("C", None, datetime(2026, 11, 23)) == "沉睡"
    assert udfs.crm_salutation("欧阳娜娜", "女") == "欧阳女士"
    assert udfs.crm_salutation("张三", None) == "张三"


@pytest.mark.parametrize("call,expected", [
    (lambda: udfs.crm_class([["姓名", "负责顾问"], ["王", "张伟"]]), "#缺少列:客户编号"),
    (lambda: udfs.crm_class(None), "#缺少参数:客户"),
    (lambda: udfs.crm_class([[1.0, 2.0], [3.0, 4.0]]), "#缺少表头:客户"),
    (lambda: udfs.crm_status([["客户编号", "姓名", "负责顾问"], ["K1", "王", "张伟"]], None, None, "明天"), "#日期无效:明天"),
    (lambda: udfs.crm_cadence("Z"), "#类别无效:Z"),
])
def test_bad_arguments_give_excel_style_errors(call, expected):
    assert str(call()).startswith(expected)


def test_class_spill_is_aligned_with_blank_rows():
    rows = [["客户编号", "姓名", "负责顾问", "手动类别"], ["K1", "王", "张伟", "A"], [None, None, None, None],
            ["K2", "李", "张伟", None]]
    assert udfs.crm_class(rows, None, None, datetime(2026, 11, 23)) == [["类别"], ["A"], [""], ["D"]]


def test_main_through_the_file_adapter_writes_what_refresh_writes(tmp_path, sample_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    shutil.copy(sample_path, a)
    shutil.copy(sample_path, b)
    agent = openpyxl.load_workbook(a, read_only=True)["顾问"]["A3"].value
    assert run_cli("refresh", a, "--agent", agent, "--today", "2026-11-23").returncode == 0
    # The ribbon finds the agent from the 我的任务 selector cell (right of 当前顾问).
    wb = openpyxl.load_workbook(b)
    wb["我的任务"].cell(1, schema.SELECTOR_COL + 2).value = agent
    wb.save(b)
    target = FileTarget(b)
    assert target.selected_agent() == agent
    assert run_refresh(target, TODAY, login=None)
    assert f"已为 {agent} 写入" in target.messages[0]
    tasks_a = list(openpyxl.load_workbook(a)["我的任务"].iter_rows(min_row=2, values_only=True))
    tasks_b = list(openpyxl.load_workbook(b)["我的任务"].iter_rows(min_row=2, values_only=True))
    assert [r[:11] for r in tasks_a] == [r[:11] for r in tasks_b] and len(tasks_a) > 50


def test_main_finds_the_agent_by_login_and_explains_problems(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", class_override="B")],
                         contacts=[{"client_id": "K1", "date": datetime(2026, 11, 18), "channel": "电话"}])
    fresh = tmp_path / "fresh.xlsx"
    shutil.copy(path, fresh)
    target = FileTarget(fresh)
    assert run_refresh(target, TODAY, login="LINA")
    assert "李娜" in target.messages[-1]
    # After the refresh the selector (N1) says whose tasks these are, and wins over the login.
    assert FileTarget(fresh).selected_agent() == "李娜"
    assert not run_refresh(FileTarget(path), TODAY, login="nobody")
    none = FileTarget(path)
    run_refresh(none, TODAY, login="nobody")
    assert "没有选择顾问" in none.messages[-1] and "张伟、李娜" in none.messages[-1]
    bad = FileTarget(path, agent="王五")
    assert not run_refresh(bad, TODAY, login=None) and "王五" in bad.messages[-1]


def test_formula_looking_text_is_quoted_for_excel():
    assert as_text_for_excel("=SUM(A1)") == "'=SUM(A1)"
    assert as_text_for_excel("+86 138") == "'+86 138"
    assert as_text_for_excel("王先生") == "王先生" and as_text_for_excel(3) == 3


def test_build_addin(tmp_path):
    out = tmp_path / "xlcrm.xlam"
    result = run_cli("build-addin", out)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as zf:
        ui = ElementTree.fromstring(zf.read("customUI/customUI.xml"))
        assert zf.read("customUI/customUI.xml") == (ROOT / "macros" / "customUI.xml").read_bytes()
    ns = "{http://schemas.microsoft.com/office/2006/01/customui}"
    tab = next(ui.iter(f"{ns}tab"))
    buttons = list(ui.iter(f"{ns}button"))
    assert tab.get("label") == "客户维护"
    assert [b.get("label") for b in buttons] == ["刷新我的任务"]
    olevba = subprocess.run([sys.executable, "-m", "oletools.olevba", "--decode", str(out)],
                            capture_output=True, text=True, timeout=120).stdout
    for button in buttons:
        module, macro = button.get("onAction").split(".")
        assert f"VBA MACRO {module}.bas" in olevba
        assert f"Sub {macro}(control As IRibbonControl)" in olevba
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in olevba
    to_pdf(out, tmp_path, infilter="Calc MS Excel 2007 VBA XML")


def test_build_addin_refuses_another_name(tmp_path):
    result = run_cli("build-addin", tmp_path / "crm.xlam")
    assert result.returncode == 1 and "xlcrm.xlam" in result.stderr


def test_udf_today_defaults_to_the_clock(monkeypatch):
    monkeypatch.setattr(udfs, "_today", lambda: date(2026, 11, 21))
    rows = [["客户编号", "姓名", "负责顾问", "手动类别", "首次接触日期"], ["K1", "王", "张伟", "B", datetime(2026, 11, 18)]]
    assert udfs.crm_status(rows)[1][0] == "今日到期"
