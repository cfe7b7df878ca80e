"""The planner (DOMAIN: Planning capacity) and the rule fixes of issue 11."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TODAY, book_of, client
from tests.test_actions import only, recent, tasks_of, touch
from xlcrm.core import vocab
from xlcrm.core.analysis import analyse
from xlcrm.core.calendar import calendar_for
from xlcrm.core.messages import Messages
from xlcrm.core.rules import DEFAULT_RULES, Rules, read_rules
from xlcrm.core.tasks import planned_actions
from xlcrm.core.weekly import team_summary, weekly_plan
from xlcrm.io.loader import load


def rules_with(**kw) -> Rules:
    return Rules(DEFAULT_RULES | kw)


def test_capacity_spills_to_next_working_day_and_counts_unplanned():
    # 12 overdue C clients, 5 calls a day over Mon-Fri; one promise due today comes first.
    clients = [client(f"C{i:02d}", class_override="C", stage="成交") for i in range(12)]
    clients.append(client("P1", class_override="D", stage="成交"))
    contacts = [touch(f"C{i:02d}", datetime(2026, 10, 20 + i % 5, 10)) for i in range(12)]
    contacts.append(touch("P1", datetime(2026, 11, 20, 10), promised_date=date(2026, 11, 23)))
    plan = planned_actions(book_of(clients=clients, contacts=contacts), rules_with(calls_per_day=5), TODAY, 3)
    t = plan.tasks
    calls = t[t["channel"] == vocab.PHONE]
    per_day = calls.groupby("date").size()
    assert per_day.max() <= 5 and per_day.sum() == 13 and plan.unplanned.empty
    monday = t[t["date"] == pd.Timestamp(TODAY)]
    assert monday.iloc[0]["kind"] == vocab.PROMISE  # promises first
    # 3 working days x 5 calls = 15 >= 13: everything fits; with 3 a day, 13 - 9 = 4 are 待排.
    small = planned_actions(book_of(clients=clients, contacts=contacts), rules_with(calls_per_day=3), TODAY, 3)
    small_calls = small.tasks[small.tasks["channel"] == vocab.PHONE]
    assert small_calls.groupby("date").size().max() <= 3 and len(small_calls) == 9
    assert len(small.unplanned) == 13 - 9 and set(small.unplanned["kind"]) == {vocab.CADENCE_CALL}
    # the most overdue go first: the planned ones are no less overdue than the 待排 ones
    placed = small.tasks[small.tasks["kind"] == vocab.CADENCE_CALL]["overdue_days"]
    assert placed.min() >= small.unplanned["overdue_days"].max()


def test_promise_keeps_its_date_even_beyond_capacity():
    clients = [client(f"P{i}", class_override="D") for i in range(4)]
    contacts = [touch(f"P{i}", datetime(2026, 11, 20, 10), promised_date=date(2026, 11, 23)) for i in range(4)]
    plan = planned_actions(book_of(clients=clients, contacts=contacts), rules_with(calls_per_day=2), TODAY, 1)
    assert (plan.tasks["kind"] == vocab.PROMISE).sum() == 4 and plan.unplanned.empty


def test_visit_absorbs_a_call_and_sms_stays_its_own_row():
    # A client, birthday Friday 11-27 (visit), cadence call daily; a care SMS the same day stays separate.
    book = book_of(clients=[client("K1", class_override="A", birthday="11-27")], contacts=[recent("K1")])
    t = planned_actions(book, DEFAULT_RULES, TODAY, 7).tasks
    friday = t[(t["client_id"] == "K1") & (t["date"] == pd.Timestamp(2026, 11, 27))]
    talk = friday[friday["channel"].isin(vocab.TALK_CHANNELS)]
    assert len(talk) == 1 and talk.iloc[0]["channel"] == vocab.VISIT
    assert "维护电话" in talk.iloc[0]["kinds"] and "；" in talk.iloc[0]["reason"]


def test_two_key_dates_one_day_become_one_row_naming_both():
    book = book_of(clients=[client("K1", class_override="C")], contacts=[recent("K1")],
                   key_dates=[{"client_id": "K1", "kind": "升学", "who": "儿子", "date": date(2010, 11, 25)},
                              {"client_id": "K1", "kind": "家人生日", "who": "女儿", "date": date(2012, 11, 25)}])
    t = only(tasks_of(book, messages=Messages()), vocab.FAMILY_CARE, "K1")
    assert len(t) == 1
    assert "儿子升学" in t.iloc[0]["task"] and "女儿家人生日" in t.iloc[0]["task"]
    assert "您女儿的生日" in t.iloc[0]["sms"] and "您儿子的升学之喜" in t.iloc[0]["sms"]
    assert "家人生日" not in t.iloc[0]["sms"]


def test_two_referrals_feedback_for_one_referrer_name_both():
    book = book_of(clients=[client("K1", stage="成交", deal_value=10)], contacts=[recent("K1")], referrals=[
        {"referral_id": "T1", "referrer_id": "K1", "referred_name": "钱七", "date": date(2026, 11, 20), "state": "已联系"},
        {"referral_id": "T2", "referrer_id": "K1", "referred_name": "孙八", "date": date(2026, 11, 20), "state": "已联系"}])
    t = only(tasks_of(book), vocab.REFERRAL_FEEDBACK, "K1")
    assert len(t) == 1 and "钱七" in t.iloc[0]["reason"] and "孙八" in t.iloc[0]["reason"]


def test_sample_plan_respects_capacity_for_every_agent_and_day(sample_path):
    book, _ = load(sample_path)
    rules, _ = read_rules(book.frames.get("rules"))
    plan = planned_actions(book, rules, TODAY, 7)
    t = plan.tasks
    cal = calendar_for(TODAY, TODAY)
    work = t[[cal.is_working_day(d.date()) for d in t["date"]]]
    flexible_kinds = set(vocab.FLEXIBLE_KINDS)
    for (agent, day), day_tasks in work.groupby(["agent", "date"]):
        # A row is fixed-date when its top kind is (a flexible call merged into a fixed
        # activity-invitation visit rides along without a slot of its own).
        fixed = day_tasks[~day_tasks["kind"].isin(flexible_kinds)]
        calls = (day_tasks["channel"] == vocab.PHONE).sum()
        visits = (day_tasks["channel"] == vocab.VISIT).sum()
        # fixed-date work keeps its date even over capacity; flexible work only fills what is left
        assert calls <= max(rules["calls_per_day"], (fixed["channel"] == vocab.PHONE).sum()), (agent, day)
        assert visits <= max(rules["visits_per_day"], (fixed["channel"] == vocab.VISIT).sum()), (agent, day)
    talk = t[t["channel"].isin(vocab.TALK_CHANNELS)]
    # nobody twice a day (the key persons of one account are people of their own)
    assert not talk.duplicated(["agent", "client_id", "name", "date"]).any()
    for _day, day_tasks in t.groupby(["agent", "date"]):
        promise = (day_tasks["kind"] == vocab.PROMISE).to_numpy()
        assert not promise.any() or promise[: promise.sum()].all()  # promises on top of the day
    # 待排: what did not fit = flexible talk work asked for minus what was placed
    assert len(plan.unplanned) > 0 or t.groupby(["agent", "date"]).size().max() <= rules["calls_per_day"]
    for row in plan.unplanned.itertuples():
        assert row.kind in flexible_kinds or row.overdue_days > 0


def test_care_sms_caught_up_within_the_month():
    book = book_of(clients=[client("K1")], contacts=[recent("K1")])
    t = only(tasks_of(book, today=date(2026, 11, 28), days=7), vocab.CARE_SMS, "K1")
    november = t[t["date"].dt.month == 11]
    assert len(november) >= 1 and "补发" in november.iloc[0]["reason"]


def test_missed_holiday_visit_replanned_before_the_holiday():
    # 春节 2026: 放假 from 02-15; working days before it 02-12, 02-13 and the 调休 Saturday 02-14.
    clients = [client(f"A{i}", class_override="A") for i in range(3)]
    book = book_of(clients=clients, contacts=[touch(c["client_id"], datetime(2026, 2, 12, 10)) for c in clients])
    t = tasks_of(book, today=date(2026, 2, 13), days=3)
    visits = t[(t["channel"] == vocab.VISIT) & t["kinds"].str.contains(vocab.HOLIDAY_WISH)]
    assert sorted(visits["client_id"]) == ["A0", "A1", "A2"]
    assert set(visits["date"].dt.date) <= {date(2026, 2, 13), date(2026, 2, 14)}


def test_top_share_ties_and_zero_values():
    clients = [client(f"K{i}", stage="成交") for i in range(10)]  # ten deals, no 成交金额
    a = analyse(book_of(clients=clients), DEFAULT_RULES, TODAY)
    assert (a["client_class"] == "A").sum() == 0
    clients = [client(f"K{i}", stage="成交", deal_value=5) for i in range(10)]  # ten equal values
    a = analyse(book_of(clients=clients), DEFAULT_RULES, TODAY)
    assert (a["client_class"] == "A").sum() == 2 and (a["client_class"] == "B").sum() == 3


def test_do_not_contact_referred_person_gets_no_task():
    book = book_of(clients=[client("K1", stage="成交", deal_value=10), client("K2", do_not_contact="是")],
                   contacts=[recent("K1")],
                   referrals=[{"referral_id": "T1", "referrer_id": "K1", "referred_name": "王小明",
                               "referred_client_id": "K2", "date": date(2026, 11, 19), "state": "新推荐"}])
    t = tasks_of(book)
    assert only(t, vocab.REFERRAL_CONTACT).empty


def test_sms_before_the_event_does_not_count():
    book = book_of(clients=[client("K1")], contacts=[
        touch("K1", datetime(2026, 11, 23, 8), "短信", "已发送"),
        touch("K1", datetime(2026, 11, 23, 9, 30), "来电", purpose="首次来电")])
    assert len(only(tasks_of(book), vocab.ROUTE_SMS, "K1")) == 1


def test_deal_logged_as_touch_gets_the_survey():
    book = book_of(clients=[client("K1")], contacts=[touch("K1", datetime(2026, 10, 25, 10), "拜访", purpose="成交"),
                                                     recent("K1")])
    assert [d.date() for d in only(tasks_of(book), vocab.SURVEY_CALL, "K1")["due"]] == [date(2026, 11, 24)]


def test_holiday_coverage_counts_reached_touches_only():
    # 国庆节 2026-10-01: one client called but not reached, one reached.
    book = book_of(clients=[client("K1", class_override="B"), client("K2", class_override="B")], contacts=[
        touch("K1", datetime(2026, 9, 29, 10), outcome="未接通"), touch("K2", datetime(2026, 9, 29, 10))])
    summary = team_summary(weekly_plan(book, DEFAULT_RULES, TODAY))["summary"].set_index("agent")
    assert summary.loc["张伟", "holiday_coverage"] == pytest.approx(0.5)


def test_unknown_holiday_names_are_a_finding_at_their_cell():
    frame = pd.DataFrame({"key": ["覆盖节日"], "value": ["春节,中秋,除夕,圣诞节"], "_row": [7]})
    rules, findings = read_rules(frame)
    assert rules["holidays"] == ("春节",)
    assert [f.cell for f in findings] == ["B7"] and "中秋" in findings[0].message and "中秋节" in findings[0].message


def test_route_sms_gives_the_office_address_and_landlines_get_a_call():
    book = book_of(clients=[client("K1"), client("K2", phone="021-66668888")], contacts=[
        touch("K1", datetime(2026, 11, 23, 9, 30), "来电", purpose="首次来电"),
        touch("K2", datetime(2026, 11, 23, 9, 30), "来电", purpose="首次来电")])
    t = planned_actions(book, rules_with(office_address="人民路1号售楼处"), TODAY, 7, messages=Messages()).tasks
    k1 = only(t, vocab.ROUTE_SMS, "K1").iloc[0]
    assert "人民路1号售楼处" in k1["sms"]
    k2 = only(t, vocab.ROUTE_SMS, "K2").iloc[0]
    assert k2["channel"] == vocab.PHONE and k2["sms"] == ""


def test_care_sms_wording_varies_by_client_and_month():
    clients = [client(f"K{i}", name=f"王{i}") for i in range(12)]
    t = only(tasks_of(book_of(clients=clients, contacts=[recent(c["client_id"]) for c in clients]),
                      today=date(2026, 11, 1), days=30, messages=Messages()), vocab.CARE_SMS)
    bodies = {s.split("您好", 1)[-1] for s in t["sms"]}
    assert len(bodies) >= 3
    assert not any(w in s for s in t["sms"] for w in ("天气", "添衣", "保暖"))


def test_holiday_visit_already_logged_is_not_replanned():
    # A0's 春节 visit was done (and logged 事由 节日) on its 02-12 slot; A1 was only called;
    # B0 got a 节日 call early. Refreshed on 02-13, only A1 still needs the visit, B0 no call.
    clients = [client("A0", class_override="A"), client("A1", class_override="A"),
               client("B0", class_override="B"), client("B1", class_override="B")]
    contacts = [touch("A0", datetime(2026, 2, 12, 10), channel=vocab.VISIT, purpose=vocab.HOLIDAY),
                touch("A1", datetime(2026, 2, 12, 10), purpose=vocab.HOLIDAY),
                touch("B0", datetime(2026, 2, 11, 10), purpose=vocab.HOLIDAY),
                touch("B1", datetime(2026, 2, 11, 10), purpose=vocab.HOLIDAY, outcome="未接通")]
    t = tasks_of(book_of(clients=clients, contacts=contacts), today=date(2026, 2, 13), days=3)
    festive = t[t["kinds"].str.contains(vocab.HOLIDAY_WISH)]
    assert sorted(festive.loc[festive["channel"] == vocab.VISIT, "client_id"]) == ["A1"]
    assert sorted(festive.loc[festive["channel"] == vocab.PHONE, "client_id"]) == ["B1"]


@st.composite
def typed_mobiles(draw):
    """A mobile as people type it: a prefix, separators (Unicode spaces too), full-width digits."""
    digits = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    out = draw(st.sampled_from(["", "+86", "86", "0086", "+86 ", "(+86)"]))
    for i, d in enumerate(digits):
        wide = i >= 2 and draw(st.booleans()) and draw(st.booleans())
        out += chr(ord(d) + 0xFEE0) if wide else d
        out += draw(st.sampled_from(["", "", "", " ", "-", "\u3000", "\xa0", "\u2003", "\t"]))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789１３８+-() （）\u3000\xa0\t86", max_size=20),
                          typed_mobiles()), max_size=20))
def test_is_mobile_reads_numbers_as_pythons_regex_does(phones):
    """SMS to a landline becomes a call: the vectorised (RE2) test agrees with Python's
    regular expressions, Unicode spaces and digits included."""
    import re

    from xlcrm.core.tasks import is_mobile

    def reference(v):
        digits = re.sub(r"[\s\-()（）]", "", "" if v is None else str(v))
        digits = re.sub(r"^(\+?86|0086)(?=1)", "", digits)
        return re.fullmatch(r"1[3-9]\d{9}", digits) is not None

    got = is_mobile(pd.Series(phones, dtype=object)).tolist()
    assert got == [reference(v) for v in phones]
