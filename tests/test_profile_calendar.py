"""资料完整度 with its monthly 补全资料 task, and the 生日台历 month grid."""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from xlcrm.core import vocab
from xlcrm.core.analysis import analyse
from xlcrm.core.profile import CLIENT_FIELDS
from xlcrm.core.rules import DEFAULT_RULES, read_rules
from xlcrm.core.tasks import next_actions
from xlcrm.core.weekly import team_summary, weekly_plan

from .conftest import TODAY, book_of, client, make_workbook, run_cli

# client() fills 性别, 手机, 首次接触日期 (3 of the 11 客户 profile fields).
BARE = dict(gender="男", phone="13800138000", first_contact=date(2025, 1, 1))
FULL = dict(BARE, source="来电", birthday=date(1980, 5, 6), industry="金融", company="招商银行", title="经理",
            income=30, influence="中", referral_willingness="一般")


def test_completeness_is_the_share_of_profile_fields_filled():
    book = book_of(clients=[client("K1", **FULL), client("K2")])
    cl = analyse(book, DEFAULT_RULES, TODAY)
    assert len(CLIENT_FIELDS) == 11
    assert cl.loc["K1", "completeness"] == 1.0
    assert cl.loc["K2", "completeness"] == pytest.approx(3 / 11)


def test_profile_sheet_counts_when_the_office_keeps_it():
    book = book_of(clients=[client("K1", **FULL), client("K2")],
                   profiles=[{"client_id": "K2", "native_place": "江苏南京", "hobbies": "钓鱼", "car": "大众"}])
    cl = analyse(book, DEFAULT_RULES, TODAY)
    # 11 + 12 fields: K1 has no 客户档案 row (11 of 23), K2 has 3 + 3.
    assert cl.loc["K1", "completeness"] == pytest.approx(11 / 23)
    assert cl.loc["K2", "completeness"] == pytest.approx(6 / 23)


def test_average_completeness_per_agent_in_team_summary():
    book = book_of(clients=[client("K1", **FULL), client("K2"), client("K3", agent="李娜")])
    out = team_summary(weekly_plan(book, DEFAULT_RULES, TODAY))["summary"].set_index("agent")
    assert out.loc["张伟", "completeness"] == pytest.approx((1 + 3 / 11) / 2)
    assert out.loc["李娜", "completeness"] == pytest.approx(3 / 11)


def _profile_tasks(book, today=TODAY, days=31, rules=DEFAULT_RULES):
    tasks = next_actions(book, rules, today, days)
    return tasks[tasks["kind"] == vocab.COMPLETE_PROFILE]


def test_monthly_profile_task_for_a_and_b_under_half():
    book = book_of(clients=[client("KA", class_override="A"), client("KB", class_override="B"),
                            client("KC", class_override="C"), client("KF", class_override="A", **FULL),
                            client("KX", class_override="B", do_not_contact="是")])
    tasks = _profile_tasks(book, date(2026, 12, 1))
    assert sorted(tasks["client_id"]) == ["KA", "KB"]  # one each in December
    assert (tasks["due"].dt.month == 12).all() and tasks["channel"].eq(vocab.PHONE).all()
    assert tasks["reason"].str.contains("资料完整度27%,低于50%").all()
    again = _profile_tasks(book, date(2026, 12, 1))
    assert list(again["due"]) == list(tasks["due"])  # a stable day: the same on every refresh
    # A lower threshold from 规则 stops them.
    rules, _ = read_rules(book_of(rules=[("资料补全阈值", "20%", "")]).frames["rules"])
    assert _profile_tasks(book, date(2026, 12, 1), rules=rules).empty


ZHANG = [{"agent": "张伟", "active": "是"}]


def test_birthday_calendar_grid_with_lunar_birthday(tmp_path):
    # Week of Monday 2026-09-28: the calendar is September 2026 (Monday 8-31 .. Sunday 10-4).
    # 农历八月十五 1975 → 2026-09-25 (中秋); a solar birthday on 9-1; a family birthday on 9-30;
    # an October birthday stays off the September calendar.
    path = make_workbook(tmp_path / "book.xlsx", agents=ZHANG, clients=[
        client("K1", name="王一", class_override="A", birthday=date(1975, 8, 15), birthday_calendar="农历"),
        client("K2", name="李二", class_override="C", birthday="9月1日"),
        client("K3", name="赵三", class_override="D", birthday=date(1990, 10, 3)),
    ], key_dates=[{"client_id": "K2", "kind": "家人生日", "who": "妻子", "date": date(1985, 9, 30)}])
    out = tmp_path / "out"
    result = run_cli("weekly", path, "--out", out, "--week", "2026-09-28", "-q")
    assert result.returncode == 0, result.stderr
    ws = openpyxl.load_workbook(out / "2026-W40" / "张伟.xlsx")["生日台历"]
    assert ws["A1"].value == "张伟 · 生日台历 2026年9月"
    assert [ws.cell(2, j).value for j in range(1, 8)] == [f"星期{d}" for d in "一二三四五六日"]
    grid = {}
    for row in ws.iter_rows(min_row=3, max_row=7, max_col=7):
        for cell in row:
            first, *items = str(cell.value).split("\n")
            grid[first] = items
    assert ws["A3"].value.split("\n")[0] == "8/31"  # the grid starts on the Monday before the 1st
    assert ws["B3"].value.split("\n")[0] == "1" and grid["1"] == ["[C] 李二 生日"]
    assert grid["25"] == ["[A] 王一 生日(农历八月十五)"] and ws.cell(6, 5).value.startswith("25")
    assert grid["30"] == ["[C] 李二 妻子生日"] and ws.cell(7, 3).value.startswith("30")
    assert "10/3" in grid and grid["10/3"] == []  # October days are greyed, empty
    assert all(not v for k, v in grid.items() if k not in ("1", "25", "30"))
    assert ws.cell(7, 1).fill.fgColor.rgb.endswith("FFF2CC")  # this week (9-28) is shaded
    # One A4 page: fit to page, 1 x 1 (Excel's default when the counts are omitted).
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToHeight in (None, 1) and ws.page_setup.fitToWidth in (None, 1)
