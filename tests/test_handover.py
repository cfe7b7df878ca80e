"""交接 and 公海 (DOMAIN: Handover and public pool), on small workbooks."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree

from xlcrm.core.analysis import analyse
from xlcrm.core.board import board
from xlcrm.core.rules import DEFAULT_RULES, read_rules
from xlcrm.core.tasks import next_actions
from xlcrm.core.weekly import team_summary, weekly_plan
from xlcrm.io.loader import load
from xlcrm.io.validate import validate

from .conftest import TODAY, book_of, client, make_workbook, run_cli

AGENTS = [{"agent": "张伟", "active": "否"}, {"agent": "李娜", "active": "是"}, {"agent": "王强", "active": "是"},
          {"agent": "赵敏", "active": "否"}]


def handover(when, src, dst, cid=None, reason=None):
    return {"date": when, "from_agent": src, "to_agent": dst, "client_id": cid, "reason": reason}


def test_handovers_apply_in_date_order_not_sheet_order():
    # Typed out of order: K1 goes 张伟 → 李娜 on 11-01, then all of 李娜's clients go to 王强 on 11-10.
    book = book_of(clients=[client("K1", agent="张伟"), client("K2", agent="张伟"), client("K3", agent="李娜")],
                   agents=AGENTS,
                   handovers=[handover(date(2026, 11, 10), "李娜", "王强"),
                              handover(date(2026, 11, 1), "张伟", "李娜", "K1")])
    cl = analyse(book, DEFAULT_RULES, TODAY)
    assert cl.loc["K1", "agent"] == "王强" and cl.loc["K1", "original_agent"] == "李娜"
    assert cl.loc["K3", "agent"] == "王强" and cl.loc["K3", "original_agent"] == "李娜"
    assert cl.loc["K2", "agent"] == "张伟" and pd.isna(cl.loc["K2", "original_agent"])  # only K1 was named
    assert cl.loc["K1", "registered_agent"] == "张伟"  # 客户 is never edited: the history stays
    # As of 11-05 only the first handover has happened.
    early = analyse(book, DEFAULT_RULES, date(2026, 11, 5))
    assert early.loc["K1", "agent"] == "李娜" and early.loc["K3", "agent"] == "李娜"
    # Before either, nothing moved and there is no 原顾问.
    before = analyse(book, DEFAULT_RULES, date(2026, 10, 31))
    assert before.loc["K1", "agent"] == "张伟" and before["original_agent"].isna().all()


def test_all_clients_handover_moves_every_client_and_their_tasks():
    book = book_of(clients=[client(f"K{i}", agent="张伟", class_override="B") for i in range(1, 4)]
                   + [client("K9", agent="李娜", class_override="B")],
                   agents=AGENTS, handovers=[handover(date(2026, 11, 1), "张伟", "王强", reason="离职")])
    cl = analyse(book, DEFAULT_RULES, TODAY)
    assert list(cl["agent"]) == ["王强", "王强", "王强", "李娜"]
    tasks = next_actions(book, DEFAULT_RULES, TODAY, 7, clients=cl)
    assert set(tasks.loc[tasks["client_id"].isin(["K1", "K2", "K3"]), "agent"]) == {"王强"}
    b = board(cl, tasks).set_index("client_id")
    assert b.loc["K1", "agent"] == "王强" and b.loc["K1", "original_agent"] == "张伟"
    assert pd.isna(b.loc["K9", "original_agent"])
    assert not [f for f in validate(book) if f.code == "handover-missing"]


def test_departed_agent_without_handover_is_a_finding_and_a_summary_list(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", agents=AGENTS,
                         clients=[client("K1", agent="赵敏", name="钱一"), client("K2", agent="李娜"),
                                  client("K3", agent="赵敏", stage="流失", churn_reason="价格")])
    book, findings = load(path)
    found = [f for f in validate(book) if f.code == "handover-missing"]
    assert [str(f) for f in found] == ["客户!E2: 顾问 '赵敏' 已离职(在职=否),名下客户 K1 还没有交接:请在「交接」表登记新顾问"]
    assert found[0].severity == "warning"
    summary = team_summary(weekly_plan(book, DEFAULT_RULES, TODAY))
    assert list(summary["awaiting_handover"]["client_id"]) == ["K1"]
    assert "赵敏" not in list(summary["summary"]["agent"])  # a departed agent gets no workbook
    out = tmp_path / "out"
    result = run_cli("weekly", path, "--out", out, "--week", "2026-11-23", "-q")
    assert result.returncode == 0, result.stderr
    rows = [list(r) for r in openpyxl.load_workbook(out / "2026-W48" / "团队汇总.xlsx")["交接与公海"]
            .iter_rows(values_only=True)]
    assert rows[2][0].startswith("待交接") and "1 位" in rows[2][0]
    assert rows[3][:3] == ["K1", "钱一", "赵敏"]


def test_a_planned_handover_is_not_missing_but_applies_only_on_its_day():
    book = book_of(clients=[client("K1", agent="赵敏")], agents=AGENTS,
                   handovers=[handover(date(2026, 12, 1), "赵敏", "李娜")])
    assert not [f for f in validate(book) if f.code == "handover-missing"]
    assert analyse(book, DEFAULT_RULES, TODAY).loc["K1", "agent"] == "赵敏"
    assert analyse(book, DEFAULT_RULES, date(2026, 12, 1)).loc["K1", "agent"] == "李娜"


def test_handover_naming_unknown_agent_or_client_is_reported(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", agents=AGENTS, clients=[client("K1", agent="李娜")],
                         handovers=[handover(date(2026, 11, 1), "李娜", "不存在", "K404")])
    book, _ = load(path)
    found = {(f.code, f.sheet, f.cell) for f in validate(book)}
    assert ("agent-unknown", "交接", "C2") in found and ("client-unknown", "交接", "D2") in found


def _overdue_office(rules=None):
    # K_A: A overdue 30 days (cadence 1: last touch 31 days ago), K_C: C overdue 29 days
    # (cadence 12: last touch 41 days ago), K_D: D long overdue (never reclaimed).
    return book_of(
        clients=[client("K_A", agent="李娜", class_override="A", first_contact=date(2025, 1, 1)),
                 client("K_C", agent="李娜", class_override="C", first_contact=date(2025, 1, 1)),
                 client("K_D", agent="李娜", class_override="D", first_contact=date(2025, 1, 1))],
        contacts=[{"client_id": "K_A", "date": datetime(2026, 10, 23, 10), "channel": "电话", "outcome": "已沟通"},
                  {"client_id": "K_C", "date": datetime(2026, 10, 13, 10), "channel": "电话", "outcome": "已沟通"},
                  {"client_id": "K_D", "date": datetime(2026, 9, 1, 10), "channel": "电话", "outcome": "已沟通"}],
        agents=AGENTS, rules=rules)


def test_public_pool_threshold_comes_from_rules():
    book = _overdue_office()
    pool = team_summary(weekly_plan(book, DEFAULT_RULES, TODAY))["reclaim"]
    assert list(pool["client_id"]) == ["K_A"] and list(pool["overdue_days"]) == [30]
    rules, findings = read_rules(_overdue_office(rules=[("建议收回逾期天数", "29", "")]).frames["rules"])
    assert not findings and rules["reclaim_overdue_days"] == 29
    pool = team_summary(weekly_plan(book, rules, TODAY))["reclaim"]
    assert sorted(pool["client_id"]) == ["K_A", "K_C"]


def test_refresh_of_a_workbook_made_before_the_board_gained_columns(tmp_path):
    """An older template's 客户看板 table has 9 columns; the refresh rewrites its header."""
    import shutil
    import subprocess
    import zipfile

    from xlcrm.io import schema

    root = Path(__file__).resolve().parent.parent
    old = tmp_path / "old.xlsx"
    made = subprocess.run(["git", "-C", str(root), "show", "d8cb9ff:workbook/sample.xlsx"], capture_output=True)
    if made.returncode != 0:
        pytest.skip("the older sample is not in this checkout's history")
    old.write_bytes(made.stdout)
    path = tmp_path / "copy.xlsx"
    shutil.copy(old, path)
    assert run_cli("refresh", path, "--agent", "孔娟博", "--today", "2026-11-23").returncode == 0
    wb = openpyxl.load_workbook(path)
    ws = wb["客户看板"]
    assert [c.value for c in ws[1]][:len(schema.BOARD.columns)] == [c.zh for c in schema.BOARD.columns]
    table = ws.tables["Board"]
    assert [c.name for c in table.tableColumns] == [c.zh for c in schema.BOARD.columns]
    assert table.ref == f"A1:{schema.column_letter_of(schema.BOARD, schema.BOARD.keys[-1])}301"
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(zf.read(name))
    rows = list(openpyxl.load_workbook(path, read_only=True)["客户看板"].iter_rows(values_only=True))
    assert len(rows) == 301 and rows[0][3] == "原顾问"
    dates = openpyxl.load_workbook(path)["客户看板"]
    at = schema.BOARD.keys.index("next_date") + 1
    assert any(dates.cell(r, at).is_date for r in range(2, 302))  # the date style followed its header
