"""Next actions: each of DOMAIN's ten task families, with exact dates, channels and reasons."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm.core.calendar import lunar_to_solar, occurrences, solar_to_lunar
from xlcrm.core.messages import Messages, salutation
from xlcrm.core.rules import DEFAULT_RULES
from xlcrm.core.tasks import next_actions

from .conftest import TODAY, book_of, client


def touch(cid, when, channel="电话", outcome="已沟通", **kw):
    return {"client_id": cid, "date": when, "channel": channel, "outcome": outcome, **kw}


def tasks_of(book, today=TODAY, days=7, messages=None, **kw):
    return next_actions(book, DEFAULT_RULES, today, days, messages=messages, **kw)


def dates(frame):
    return [d.date() for d in frame["due"]]


def only(frame, kind, cid=None):
    kinds = frame["kinds"] if "kinds" in frame else frame["kind"]
    out = frame[kinds.str.split("、").apply(lambda ks: kind in ks)]
    return out[out["client_id"] == cid] if cid else out


def recent(cid):  # a reached touch yesterday: keeps cadence/sleeping tasks out of the way
    return touch(cid, datetime(2026, 11, 22, 10))


def test_overdue_promise_is_first_and_top_priority():
    book = book_of(clients=[client("K1", class_override="C"), client("K2", class_override="A")],
                   contacts=[touch("K1", datetime(2026, 11, 18, 10), promised_date=date(2026, 11, 20)),
                             touch("K2", datetime(2026, 11, 22, 10))])
    t = tasks_of(book)
    first = t.iloc[0]
    assert (first["client_id"], first["kind"], first["priority"], first["channel"]) == ("K1", "承诺反馈", "最高", "电话")
    assert first["due"].date() == date(2026, 11, 20) and first["overdue_days"] == 3
    assert first["date"].date() == TODAY  # carried to today
    assert "承诺于11月20日反馈" in first["reason"]


def test_promise_kept_by_a_later_reached_touch_disappears():
    book = book_of(clients=[client("K1")],
                   contacts=[touch("K1", datetime(2026, 11, 18, 10), promised_date=date(2026, 11, 20)),
                             touch("K1", datetime(2026, 11, 21, 10))])
    assert only(tasks_of(book), "承诺反馈").empty


def test_promises_survive_do_not_contact_but_nothing_else_does():
    book = book_of(clients=[client("K1", do_not_contact="是", class_override="A", birthday=date(1980, 11, 24))],
                   contacts=[touch("K1", datetime(2026, 11, 18, 10), promised_date=date(2026, 11, 25))])
    t = tasks_of(book)
    assert t["kind"].tolist() == ["承诺反馈"] and dates(t) == [date(2026, 11, 25)]


def test_immediate_sms_after_first_call_and_missed_when_no_sms_followed():
    book = book_of(
        clients=[client("K1", name="王大明", gender="男"), client("K2", name="李梅", gender="女"),
                 client("K3", name="欧阳娜娜", gender="女")],
        contacts=[touch("K1", datetime(2026, 11, 23, 9, 0), "来电", purpose="首次来电"),
                  touch("K2", datetime(2026, 11, 20, 15), "来访", purpose="首次来访"),
                  touch("K3", datetime(2026, 11, 20, 15), "来访", purpose="首次来访"),
                  touch("K3", datetime(2026, 11, 20, 15, 20), "短信")])
    t = tasks_of(book, messages=Messages())
    k1 = only(t, "来电路线", "K1").iloc[0]
    assert (k1["channel"], k1["due"].date(), k1["reason"]) == ("短信", TODAY, "首次来电后10分钟内发路线短信")
    assert k1["sms"].startswith("王先生您好")
    k2 = only(t, "来访感谢", "K2").iloc[0]
    assert k2["reason"].startswith("已错过") and k2["overdue_days"] == 3
    assert "李女士" in k2["sms"]
    assert only(t, "来访感谢", "K3").empty


def test_deal_day_congratulation_sms():
    book = book_of(clients=[client("K1", stage="成交", deal_value=100, last_deal_date=date(2026, 11, 23))],
                   contacts=[recent("K1")])
    t = only(tasks_of(book), "成交祝贺")
    assert dates(t) == [TODAY] and t.iloc[0]["channel"] == "短信"


def test_a_birthday_invitation_21_days_before_and_visit_on_a_working_day():
    # 2026-12-14 is a Monday: invitation on 11-23; 2026-11-28 is a Saturday: visit on Friday 11-27.
    book = book_of(clients=[client("K1", class_override="A", birthday=date(1980, 12, 14)),
                            client("K2", class_override="A", birthday="11-28")],
                   contacts=[recent("K1"), recent("K2")])
    t = tasks_of(book)
    invite = only(t, "生日邀请", "K1").iloc[0]
    assert (invite["due"].date(), invite["channel"]) == (TODAY, "电话")
    # The A client's cadence call that day is absorbed into the same row, reasons joined.
    assert invite["reason"] == "A类客户生日前21天邀请(12月14日生日)；A类每1天电话维护,上次联系1天前"
    visit = only(t, "生日祝福", "K2").iloc[0]
    assert (visit["due"].date(), visit["channel"]) == (date(2026, 11, 27), "拜访")


def test_b_birthday_call_and_cd_birthday_sms():
    book = book_of(clients=[client("K1", class_override="B", birthday=date(1975, 11, 25)),
                            client("K2", class_override="D", birthday="11月26日", name="司马光", gender="男")],
                   contacts=[recent("K1"), recent("K2")])
    t = tasks_of(book, messages=Messages())
    b = only(t, "生日祝福", "K1").iloc[0]
    assert (b["due"].date(), b["channel"], b["task"]) == (date(2026, 11, 25), "电话", "生日电话祝福+寄贺卡；维护电话")
    d = only(t, "生日祝福", "K2").iloc[0]
    assert (d["due"].date(), d["channel"]) == (date(2026, 11, 26), "短信")
    assert d["sms"].startswith("司马先生")


def test_lunar_birthday_on_mid_autumn():
    # 农历八月十五 falls on 2026-09-25 (the holidays package's 中秋节 agrees).
    book = book_of(clients=[client("K1", class_override="C", birthday=date(1970, 8, 15), birthday_calendar="农历")],
                   contacts=[touch("K1", datetime(2026, 9, 20, 10))])
    t = only(tasks_of(book, today=date(2026, 9, 21)), "生日祝福")
    assert dates(t) == [date(2026, 9, 25)]
    assert "农历八月十五" in t.iloc[0]["reason"]


def test_lunar_fall_backs():
    # A 30th in a 29-day lunar month is kept on the 29th (the month's last day).
    assert lunar_to_solar(2026, 8, 30) == lunar_to_solar(2026, 8, 29)
    # A birthday recorded in a leap month is kept in the ordinary month of that number.
    assert lunar_to_solar(2025, -6, 10) == lunar_to_solar(2025, 6, 10)
    # Solar Feb 29 falls on Feb 28 in other years.
    assert occurrences(2, 29, False, date(2027, 1, 1), date(2027, 12, 31)) == (date(2027, 2, 28),)
    assert occurrences(2, 29, False, date(2028, 1, 1), date(2028, 12, 31)) == (date(2028, 2, 29),)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)))
def test_lunar_conversion_round_trips(day):
    year, month, lunar_day = solar_to_lunar(day)
    if month > 0:  # leap months map to the ordinary month by design
        assert lunar_to_solar(year, month, lunar_day) == day


def test_family_dates_call_for_ab_and_sms_for_cd():
    book = book_of(clients=[client("K1", class_override="B"), client("K2", class_override="C")],
                   contacts=[recent("K1"), recent("K2")],
                   key_dates=[{"client_id": "K1", "kind": "家人生日", "who": "妻子", "date": date(1982, 11, 24)},
                              {"client_id": "K2", "kind": "纪念日", "date": "11-27"}])
    t = tasks_of(book, messages=Messages())
    k1 = only(t, "家人关怀", "K1").iloc[0]
    assert (k1["due"].date(), k1["channel"], k1["task"]) == (date(2026, 11, 24), "电话", "关怀电话:妻子家人生日")
    k2 = only(t, "家人关怀", "K2").iloc[0]
    assert (k2["due"].date(), k2["channel"]) == (date(2026, 11, 27), "短信")
    assert "纪念日" in k2["sms"]


def test_spring_festival_with_make_up_workday():
    # 春节 2026 starts 02-17; 02-16 (除夕) is a holiday, 02-15 a Sunday, 02-14 a 调休 Saturday workday.
    clients = [client(f"A{i}", class_override="A") for i in range(3)]
    clients += [client("B1", class_override="B"), client("C1", class_override="C")]
    book = book_of(clients=clients, contacts=[touch(c["client_id"], datetime(2026, 2, 8, 10)) for c in clients])
    t = tasks_of(book, today=date(2026, 2, 9), days=8)
    visits = only(t, "节日祝福")
    visits = visits[visits["channel"] == "拜访"].sort_values("client_id")
    assert dates(visits) == [date(2026, 2, 12), date(2026, 2, 13), date(2026, 2, 14)]
    b = only(t, "节日祝福", "B1").iloc[0]
    assert (b["due"].date(), b["channel"]) == (date(2026, 2, 14), "电话")
    c = only(t, "节日祝福", "C1").iloc[0]
    assert (c["due"].date(), c["channel"], c["reason"]) == (date(2026, 2, 16), "短信", "节假日全覆盖: C/D类春节前一天短信；每月至少2条关怀短信(本月第2条)")


def test_cadence_calls_overdue_then_projected():
    book = book_of(clients=[client("K1", class_override="B")], contacts=[touch("K1", datetime(2026, 11, 18, 10))])
    t = only(tasks_of(book), "维护电话")
    assert dates(t) == [date(2026, 11, 21), date(2026, 11, 26)]  # 11-29 is a Sunday: next week
    assert t.iloc[0]["reason"] == "B类每3天电话维护,已逾期2天"


def test_referral_steps():
    book = book_of(
        clients=[client("K1", stage="成交", deal_value=10), client("K2", stage="成交", deal_value=5,
                                                                    last_deal_date=date(2026, 11, 22))],
        contacts=[recent("K1"), recent("K2")],
        referrals=[
            {"referral_id": "T1", "referrer_id": "K1", "referred_name": "赵六", "referred_phone": "13900000000",
             "date": date(2026, 11, 19), "state": "新推荐"},
            {"referral_id": "T2", "referrer_id": "K1", "referred_name": "钱七", "date": date(2026, 11, 20),
             "state": "已联系"},
            {"referral_id": "T3", "referrer_id": "K1", "referred_name": "王小明", "date": date(2026, 11, 1),
             "referred_client_id": "K2", "state": "已成交", "feedback_date": date(2026, 11, 3)},
        ])
    t = tasks_of(book)
    contact = only(t, "转介绍联系").iloc[0]
    assert (contact["client_id"], contact["name"], contact["phone"], contact["agent"]) == ("T1", "赵六", "13900000000", "张伟")
    assert contact["due"].date() == date(2026, 11, 21) and contact["overdue_days"] == 2
    feedback = only(t, "转介绍反馈", "K1").iloc[0]
    # The overdue thanks (deal 11-22) is carried to today and joins the feedback call: one row.
    assert feedback["date"].date() == date(2026, 11, 23) and "钱七" in feedback["reason"]
    thanks = only(t, "转介绍感谢", "K1").iloc[0]
    assert thanks["due"].date() == date(2026, 11, 22)


def test_sleeping_clients_at_most_five_a_day_oldest_first():
    clients = [client(f"S{i}", class_override="C") for i in range(7)]
    contacts = [touch(f"S{i}", datetime(2026, 5, 1 + i, 10)) for i in range(7)]
    t = only(tasks_of(book_of(clients=clients, contacts=contacts)), "唤醒沉睡")
    assert t["client_id"].tolist() == [f"S{i}" for i in range(7)]
    assert dates(t) == [TODAY] * 5 + [date(2026, 11, 24)] * 2


def test_persistence_follow_ups():
    book = book_of(clients=[client("P1", stage="意向"), client("P2", stage="意向"),
                            client("P3", stage="意向")],
                   contacts=[touch("P1", datetime(2026, 11, 20, 10), next_follow_up=date(2026, 11, 25)),
                             touch("P2", datetime(2026, 11, 19, 10))]
                   + [touch("P3", datetime(2026, 11, d, 10)) for d in range(16, 21)])
    t = tasks_of(book)
    p1 = only(t, "坚持跟进", "P1").iloc[0]
    assert (p1["due"].date(), p1["task"]) == (date(2026, 11, 25), "第2次跟进")
    assert dates(only(t, "坚持跟进", "P2")) == [date(2026, 11, 26)]
    assert only(t, "坚持跟进", "P3").empty  # five reached follow-ups already


def test_survey_30_days_after_deal_and_complaint_follow_up():
    book = book_of(
        clients=[client("K1", stage="成交", deal_value=5, last_deal_date=date(2026, 10, 25)),
                 client("K2"), client("K3")],
        contacts=[recent("K1"), touch("K2", datetime(2026, 11, 22, 10), purpose="投诉"),
                  touch("K3", datetime(2026, 11, 22, 10), purpose="投诉"), touch("K3", datetime(2026, 11, 22, 16))])
    t = tasks_of(book)
    assert dates(only(t, "满意度回访", "K1")) == [date(2026, 11, 24)]
    assert dates(only(t, "投诉跟进", "K2")) == [TODAY]
    assert only(t, "投诉跟进", "K3").empty


def test_monthly_care_sms_two_per_month_minus_those_sent():
    book = book_of(clients=[client("K1"), client("K2")],
                   contacts=[recent("K1"), recent("K2"), touch("K2", datetime(2026, 11, 1, 9), "短信")])
    t = tasks_of(book, today=date(2026, 11, 1), days=30)
    k1 = only(t, "日常关怀", "K1")
    assert len(k1) == 2
    assert k1["due"].iloc[0].day <= 15 < k1["due"].iloc[1].day
    assert len(only(t, "日常关怀", "K2")) == 1


def test_agent_filter_and_order():
    book = book_of(clients=[client("K1", agent="张伟", class_override="B"), client("K2", agent="李娜", class_override="B")],
                   contacts=[touch("K1", datetime(2026, 11, 15)), touch("K2", datetime(2026, 11, 15))])
    t = tasks_of(book, agent="李娜")
    assert set(t["agent"]) == {"李娜"}
    late = t["overdue_days"] > 0
    assert late.iloc[: late.sum()].all()  # overdue first


def test_salutation():
    assert salutation("王小明", "男") == "王先生"
    assert salutation("李娜", "女") == "李女士"
    assert salutation("欧阳修", "男") == "欧阳先生"
    assert salutation("司马", "女") == "司女士"  # a two-character name is surname + given name
    assert salutation("张三", None) == "张三"


def test_template_error_and_unsafe_template_fall_back_with_a_finding():
    book = book_of(clients=[client("K1", birthday="11-24", class_override="D")], contacts=[recent("K1")],
                   templates=[("生日祝福", "{{ 称呼 ")])
    from xlcrm.doors.refresh import messages_for

    messages = messages_for(book)
    t = only(tasks_of(book, messages=messages), "生日祝福")
    assert t.iloc[0]["sms"].startswith("王先生您好,今天是您的生日".replace(",", "，"))
    assert messages.findings and messages.findings[0].cell == "B2" and "生日祝福" in messages.findings[0].message

    unsafe = Messages({"日常关怀": "{{ ''.__class__.__mro__[1].__subclasses__() }}"})
    text = unsafe.render("日常关怀", {"称呼": "王先生", "顾问": "张伟"})
    assert "subclasses" not in text and text.startswith("王先生您好")
    assert "日常关怀" in unsafe.findings[0].message


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([None, "是"]), st.sampled_from(["意向", "成交", "流失"]),
                          st.integers(0, 200), st.booleans()), min_size=1, max_size=6))
def test_nothing_for_do_not_contact_or_churned_clients_but_promises(specs):
    clients, contacts = [], []
    for i, (dnc, stage, back, promise) in enumerate(specs):
        cid = f"K{i}"
        clients.append(client(cid, do_not_contact=dnc, stage=stage, birthday="11-25", deal_value=3 if stage == "成交" else None,
                              last_deal_date=date(2026, 10, 24) if stage == "成交" else None))
        when = datetime(2026, 11, 23, 8) - pd.Timedelta(days=back)
        contacts.append(touch(cid, when, purpose="投诉", promised_date=(when + pd.Timedelta(days=1)).date() if promise else None))
    t = tasks_of(book_of(clients=clients, contacts=contacts))
    for cid, kind in zip(t["client_id"], t["kind"], strict=True):
        dnc, stage, _, _ = specs[int(cid[1:])]
        if dnc == "是" or stage == "流失":
            assert kind == "承诺反馈"


_TEXT = st.lists(st.sampled_from(list("您好，我是。\r\n {}%#ab-") + ["{{", "}}", "{%", "{#"]), max_size=12).map("".join)
_NAMES = st.sampled_from(["称呼", "顾问", "日期", "单位", "活动", "没有这个变量", "姓名 | upper", "顾问|length",
                          " 称呼 ", "顾问 ~ 单位"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_TEXT, _NAMES.map(lambda n: "{{" + n + "}}")), max_size=8),
       st.sampled_from(["王先生", "", "{{顾问}}", "x" * 40]))
def test_plain_templates_render_as_jinja_renders_them(pieces, salute):
    """A template of text and {{变量}} only is rendered by joining strings; whatever the
    text (line breaks, braces, a missing or filtered variable, a syntax error), the result
    and the findings are what the Jinja2 sandbox gives."""
    from xlcrm.core.messages import variables

    values = variables("王小明", "男", "张伟", date(2026, 11, 23), "甲公司") | {"称呼": salute}
    _assert_joined_as_rendered("日常关怀", "".join(pieces), values, 3)


def _assert_joined_as_rendered(kind: str, body: str, values: dict, pick: int) -> None:
    """The template rendered by joining strings and by the Jinja2 sandbox: same text, same findings."""
    from xlcrm.core import messages as mod
    from xlcrm.core.messages import Messages

    fast = Messages({kind: body})
    real = mod.plain_parts
    try:
        mod.plain_parts = lambda env, source: None
        slow = Messages({kind: body})
    finally:
        mod.plain_parts = real
    assert fast.render(kind, values, pick) == slow.render(kind, values, pick)
    assert fast.findings == slow.findings


_PLAIN = st.lists(st.one_of(_TEXT, _NAMES.map(lambda n: "{{" + n + "}}")), max_size=4).map("".join)
_TESTS = st.sampled_from(["地点", "称呼", "没有这个变量", " 活动 ", "地点 and 活动", "not 地点", "地点|length"])


@st.composite
def _if_template(draw):
    """Text, variables and `{% if %}` blocks (some with else, elif, trimming, nesting)."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        out.append(draw(_PLAIN))
        test, dash = draw(_TESTS), draw(st.sampled_from(["", "-"]))
        block = "{%" + dash + " if " + test + " %}" + draw(_PLAIN)
        if draw(st.booleans()):
            block += "{% if 称呼 %}" + draw(_PLAIN) + "{% endif %}"
        tail = draw(st.sampled_from(["", "{% else %}", "{% elif 顾问 %}"]))
        block += (tail + draw(_PLAIN) if tail else "") + "{% endif " + dash + "%}"
        out.append(block)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(_if_template(), st.sampled_from(["会所", "", None, 0, "  "]), st.sampled_from(["王先生", ""]))
def test_templates_with_if_render_as_jinja_renders_them(body, place, salute):
    """`{% if 变量 %}…{% else %}…{% endif %}` is joined too (the shipped 活动邀请 has one):
    text and findings as the Jinja2 sandbox gives them, whatever the test and the value."""
    from xlcrm.core.messages import variables

    values = variables("王小明", "男", "张伟", date(2026, 11, 23), "甲公司") | {
        "称呼": salute, "地点": place, "活动": "茶会"}
    _assert_joined_as_rendered("活动邀请", body, values, 1)


def test_the_shipped_invitation_is_joined_not_rendered():
    from xlcrm.core import messages as mod
    from xlcrm.core.messages import Messages

    m = Messages()
    template = m._compiled["活动邀请"][0]
    assert mod.plain_parts(mod._DEFAULT_ENV, mod.DEFAULT_TEMPLATES["活动邀请"]) is not None
    assert id(template) in m._plain
