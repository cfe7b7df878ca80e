"""流失分析 and the 团队汇总 corrections (DOMAIN: Churn analysis; Weekly workbooks)."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from xlcrm.core.rules import DEFAULT_RULES
from xlcrm.core.weekly import periods, team_summary, weekly_plan

from .conftest import TODAY, book_of, client, make_workbook, run_cli

AGENTS = [{"agent": "张伟", "active": "是"}, {"agent": "李娜", "active": "是"}]


def churned(cid, agent, when, reason, **kw):
    return client(cid, agent=agent, stage="流失", churn_reason=reason, churn_date=when, **kw)


CLIENTS = [
    # A deal client who churned keeps its lifetime-value class (A by 手动类别 here).
    churned("K1", "张伟", date(2026, 11, 18), "服务", class_override="A"),
    churned("K2", "张伟", date(2026, 3, 5), "价格", deal_value=50),
    churned("K3", "李娜", date(2025, 12, 1), "价格"),  # first day of the window
    churned("K4", "李娜", date(2025, 11, 30), "产品"),  # the day before it: older than 12 months
    churned("K5", "李娜", None, "自然"),  # no 流失日期: counted apart
    client("K6", agent="李娜", stage="流失", churn_date=date(2026, 10, 2)),  # no reason: 未填
    client("K7", agent="张伟", class_override="B"),
]


@pytest.fixture(scope="module")
def summary():
    return team_summary(weekly_plan(book_of(clients=CLIENTS, agents=AGENTS), DEFAULT_RULES, TODAY))


def test_periods_are_labelled_week_and_twelve_whole_months():
    week, year = periods(TODAY)
    assert week[0] == "上周(11月16日—11月22日)" and (week[1], week[2]) == (datetime(2026, 11, 16), datetime(2026, 11, 23))
    assert year[0] == "近12个月(2025年12月—2026年11月)" and year[1] == datetime(2025, 12, 1)
    assert periods(date(2026, 6, 1))[1][0] == "近12个月(2025年6月—2026年5月)"


def test_churn_by_month_and_class(summary):
    by_month = summary["churn_analysis"]["by_month"].set_index("month")
    assert len(by_month) == 12 and by_month.index[0] == "2025年12月" and by_month.index[-1] == "2026年11月"
    assert by_month.loc["2026年11月", "A"] == 1
    # The only deal client has the top lifetime value: A, not D, after churning.
    assert by_month.loc["2026年3月", "A"] == 1 and by_month.loc["2026年3月", "合计"] == 1
    assert by_month.loc["2025年12月", "D"] == 1 and by_month.loc["2026年10月", "D"] == 1
    assert by_month["合计"].sum() == 4  # K4 is older, K5 has no date


def test_churn_reasons_in_vocabulary_order_with_total(summary):
    year = summary["churn"].set_index("agent")
    assert list(year.columns) == ["价格", "服务", "产品", "利益", "自然", "其他", "未填", "合计"]
    assert year.loc["张伟"].tolist() == [1, 1, 0, 0, 0, 0, 0, 2]
    assert year.loc["李娜"].tolist() == [1, 0, 0, 0, 0, 0, 1, 2]
    week = summary["churn_week"].set_index("agent")
    assert week.loc["张伟", "服务"] == 1 and week["合计"].sum() == 1
    assert summary["churn_undated"] == 1
    reasons = summary["churn_analysis"]["by_reason"].set_index("reason")["count"]
    assert reasons.to_dict() == {"价格": 2, "服务": 1, "产品": 0, "利益": 0, "自然": 0, "其他": 0, "未填": 1}
    by_agent = summary["churn_analysis"]["by_agent"].set_index("agent")
    assert by_agent.loc["张伟", "合计"] == 2 and by_agent.loc["李娜", "D"] == 2


def test_churn_watch_lists_a_and_b_overdue_or_sleeping(summary):
    # K7 (B) has never been reached since 2025-01-01: sleeping; churned ones are not watched.
    assert list(summary["churn_watch"]["client_id"]) == ["K7"]


def test_team_summary_workbook_labels_periods_and_totals(tmp_path):
    contacts = [{"client_id": "K7", "date": datetime(2026, 11, d, 10), "channel": "拜访", "outcome": "已拜访"}
                for d in (17, 19)]
    referrals = [{"referral_id": "T1", "referrer_id": "K7", "referred_name": "新人", "date": date(2026, 11, 18),
                  "state": "已联系"},
                 {"referral_id": "T2", "referrer_id": "K7", "referred_name": "老人", "date": date(2026, 2, 1),
                  "state": "已成交"}]
    path = make_workbook(tmp_path / "book.xlsx", clients=CLIENTS, agents=AGENTS, contacts=contacts,
                         referrals=referrals)
    out = tmp_path / "out"
    assert run_cli("weekly", path, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    wb = openpyxl.load_workbook(out / "2026-W48" / "团队汇总.xlsx")
    main = [list(r) for r in wb["团队汇总"].iter_rows(values_only=True)]
    header = main[1]
    total = next(r for r in main if r[0] == "合计")
    assert total[header.index("上周拜访")] == 2
    assert total[header.index("资料完整度")] is not None
    funnel = [list(r) for r in wb["转介绍漏斗"].iter_rows(values_only=True)]
    bands = [r[0] for r in funnel if r[0] and str(r[0]).startswith(("上周", "近12个月"))]
    assert bands == ["上周(11月16日—11月22日),按推荐日期", "近12个月(2025年12月—2026年11月),按推荐日期"]
    totals = [r for r in funnel if r[0] == "合计"]
    assert [t[1] for t in totals] == [1, 2] and [t[4] for t in totals] == [0, 1]
    churn = [list(r) for r in wb["流失原因"].iter_rows(values_only=True)]
    assert churn[1][:9] == ["顾问", "价格", "服务", "产品", "利益", "自然", "其他", "未填", "合计"]
    assert [r for r in churn if r[0] == "合计"][-1][1:9] == [2, 1, 0, 0, 0, 0, 1, 4]
    # The class chart counts clients: its y axis says so.
    charts = wb["团队汇总"]._charts
    assert charts and all(c.y_axis.title is not None for c in charts)
    titles = {"".join(r.t for p in c.y_axis.title.tx.rich.p for r in (p.r or [])) for c in charts}
    assert titles == {"客户数"}
    assert "流失分析" in wb.sheetnames and "流失预警" in wb.sheetnames and "交接与公海" in wb.sheetnames
    assert wb["流失分析"]._charts
