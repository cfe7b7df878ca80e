"""Classification and status (DOMAIN: Classification, Maintenance standard)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm.core.analysis import analyse
from xlcrm.core.rules import DEFAULT_RULES, read_rules

from .conftest import TODAY, book_of, client


def _classes(book, rules=DEFAULT_RULES, today=TODAY):
    a = analyse(book, rules, today)
    return dict(zip(a.index, zip(a["client_class"], a["class_reason"], strict=True), strict=True)), a


def deal(cid, value, **kw):
    return client(cid, stage="成交", deal_value=value, deal_count=1, **kw)


def test_top_shares_of_lifetime_value():
    book = book_of(clients=[deal("K1", 100), deal("K2", 50), deal("K3", 40), deal("K4", 30), deal("K5", 20)])
    got, _ = _classes(book)
    assert got["K1"] == ("A", "A: 终生价值前20%")
    assert got["K2"] == got["K3"] == ("B", "B: 终生价值前50%")
    assert got["K4"] == got["K5"] == ("C", "C: 成交客户")


def test_referred_deals_count_and_add_to_lifetime_value():
    refs = [{"referral_id": f"T{i}", "referrer_id": "K6", "referred_name": n, "date": date(2026, 1, 1),
             "referred_client_id": cid, "state": "已成交"} for i, (n, cid) in enumerate([("甲", "K7"), ("乙", "K8")])]
    refs.append({"referral_id": "T9", "referrer_id": "K9", "referred_name": "丙", "date": date(2026, 1, 1),
                 "referred_client_id": "K10", "state": "已成交"})
    book = book_of(clients=[client("K6"), deal("K7", 5), deal("K8", 5), deal("K9", 1), deal("K10", 2),
                            deal("K11", 3), deal("K12", 4), deal("K13", 50)], referrals=refs)
    got, a = _classes(book)
    assert got["K6"] == ("A", "A: 推荐成交2位")
    assert a.loc["K9", "lifetime_value"] == 3  # 1 own + 2 referred
    assert got["K9"] == ("B", "B: 推荐成交1位")
    assert a.loc["K6", "lifetime_value"] == 10


def test_influence_high_with_one_referred_deal_is_a():
    book = book_of(clients=[client("K1", influence="高"), deal("K2", 1)],
                   referrals=[{"referral_id": "T1", "referrer_id": "K1", "referred_name": "甲",
                               "date": date(2026, 1, 1), "referred_client_id": "K2", "state": "已成交"}])
    assert _classes(book)[0]["K1"] == ("A", "A: 影响力高且推荐成交1位")


def test_manual_class_wins_and_prospects_fall_to_c_and_d():
    book = book_of(
        clients=[deal("K1", 999, class_override="D"), client("K2", stage="准客户"), client("K3", stage="目标"),
                 client("K4", stage="潜在"), client("K5", stage="流失", churn_reason="价格"), client("K6")],
        contacts=[{"client_id": "K6", "date": datetime(2026, m, 1), "channel": "活动"} for m in (3, 9)])
    got, _ = _classes(book)
    assert got["K1"] == ("D", "手动")
    assert got["K2"] == ("C", "C: 准客户") and got["K3"] == ("C", "C: 目标")
    assert got["K4"] == ("D", "D: 潜在") and got["K5"] == ("D", "D: 流失")
    assert got["K6"] == ("B", "B: 近一年参加活动2次")


def test_changing_a_rule_changes_the_class():
    book = book_of(clients=[deal("K1", 100), deal("K2", 50), deal("K3", 40), deal("K4", 30), deal("K5", 20)])
    rules, findings = read_rules(book.frames["rules"].assign(
        value=book.frames["rules"]["value"].where(book.frames["rules"]["key"] != "A类终生价值前比例", "40%")))
    assert findings == []
    got, _ = _classes(book, rules)
    assert got["K2"][0] == "A"


def touch(cid, when, channel="电话", outcome="已沟通", **kw):
    return {"client_id": cid, "date": when, "channel": channel, "outcome": outcome, **kw}


def test_status_from_last_reached_touch_and_cadence():
    b = {"class_override": "B"}
    book = book_of(
        clients=[client("K1", **b), client("K2", **b), client("K3", **b), client("K4", **b), client("K5", **b),
                 client("K6", **b, do_not_contact="是"), client("K7", **b, stage="流失"), client("K8", **b)],
        contacts=[touch("K1", datetime(2026, 11, 20, 10)), touch("K2", datetime(2026, 11, 18)),
                  touch("K3", datetime(2026, 11, 22)),
                  touch("K4", datetime(2026, 11, 18)), touch("K4", datetime(2026, 11, 22), outcome="未接通"),
                  touch("K4", datetime(2026, 11, 23), channel="短信"),
                  touch("K5", datetime(2026, 8, 1)), touch("K6", datetime(2026, 11, 22)),
                  touch("K7", datetime(2026, 11, 22))])
    a = analyse(book, DEFAULT_RULES, TODAY)
    assert a.loc["K1", "status"] == "今日到期"
    assert a.loc["K2", "status"] == "逾期2天" and a.loc["K2", "overdue_days"] == 2
    assert a.loc["K3", "status"] == "正常"
    assert a.loc["K4", "status"] == "逾期2天"  # 未接通 and a one-way SMS are not maintenance
    assert a.loc["K5", "status"] == "沉睡"
    assert a.loc["K6", "status"] == "勿扰"
    assert a.loc["K7", "status"] == "流失"
    assert a.loc["K8", "status"] == "沉睡"  # first contact 2025-01-01, never reached since


def test_b_cadence_3_to_5_changes_status():
    book = book_of(clients=[client("K1", class_override="B")],
                   contacts=[touch("K1", datetime(2026, 11, 18))],
                   rules=[("B类联系周期天数", "5", "")])
    rules, _ = read_rules(book.frames["rules"])
    assert rules["cadence_b"] == 5 and rules["cadence_a"] == 1  # missing rows fall back
    assert analyse(book, rules, TODAY).loc["K1", "status"] == "今日到期"
    assert analyse(book, DEFAULT_RULES, TODAY).loc["K1", "status"] == "逾期2天"


def test_bad_rule_value_is_a_finding_at_its_cell():
    book = book_of(clients=[client("K1")], rules=[("B类联系周期天数", "三天", ""), ("未知", "1", "")])
    rules, findings = read_rules(book.frames["rules"], "规则")
    assert rules["cadence_b"] == 3
    assert [str(f) for f in findings] == ["规则!B2: 规则 'B类联系周期天数' 的值 '三天' 无效,使用默认值 3",
                                          "规则!A3: 未知规则 '未知',已忽略"]


STATUSES = ("正常", "今日到期", "沉睡", "勿扰", "流失")

client_strategy = st.fixed_dictionaries({
    "class_override": st.sampled_from([None, "A", "B", "C", "D"]),
    "stage": st.sampled_from(["潜在", "意向", "成交", "流失"]),
    "do_not_contact": st.sampled_from([None, "是", "否"]),
    "touches": st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["电话", "短信", "拜访", "微信"]),
                                  st.sampled_from(["已沟通", "未接通", None])), max_size=6),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(client_strategy, min_size=1, max_size=6), st.booleans())
def test_every_client_has_exactly_one_status_and_a_reached_touch_today_is_never_overdue(specs, touch_today):
    clients, contacts = [], []
    for i, spec in enumerate(specs):
        cid = f"K{i}"
        clients.append(client(cid, class_override=spec["class_override"], stage=spec["stage"],
                              do_not_contact=spec["do_not_contact"]))
        for back, channel, outcome in spec["touches"]:
            contacts.append(touch(cid, datetime(2026, 11, 23) - timedelta(days=back), channel, outcome))
        if touch_today:
            contacts.append(touch(cid, datetime(2026, 11, 23, 9), "电话", "已沟通"))
    a = analyse(book_of(clients=clients, contacts=contacts), DEFAULT_RULES, TODAY)
    assert len(a) == len(specs)
    for cid, label in a["status"].items():
        assert label in STATUSES or (label.startswith("逾期") and label.endswith("天")), label
        spec = specs[int(cid[1:])]
        if spec["stage"] == "流失":
            assert label == "流失"
        elif spec["do_not_contact"] == "是":
            assert label == "勿扰"
        elif touch_today:
            assert label in ("正常", "今日到期") if a.loc[cid, "cadence"] > 0 else True
            assert not label.startswith("逾期")
