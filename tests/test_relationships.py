"""Deeper relationships (issue 15): 关键人, 活动, 请求转介绍, 周末短信, on small workbooks."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

from xlcrm.core import vocab
from xlcrm.core.analysis import analyse
from xlcrm.core.board import board
from xlcrm.core.messages import DEFAULT_TEMPLATES, Messages
from xlcrm.core.rules import DEFAULT_RULES, Rules, read_rules
from xlcrm.core.tasks import next_actions
from xlcrm.io.loader import load
from xlcrm.io.validate import validate

from .conftest import TODAY, book_of, client, make_workbook, run_cli

ACCOUNT = dict(name="江淮财产保险宿城支公司", company="江淮财产保险宿城支公司", gender=None)


def touch(cid, when, channel="电话", outcome="已沟通", **kw):
    return {"client_id": cid, "date": when, "channel": channel, "outcome": outcome, **kw}


def person(name, role, attitude, cid="K1", **kw):
    return {"client_id": cid, "name": name, "role": role, "attitude": attitude, **kw}


def tasks(book, rules=None, today=TODAY, days=7, **kw):
    return next_actions(book, rules or DEFAULT_RULES, today, days, messages=Messages(), **kw)


def of(frame, kind, cid=None):
    """Rows for `kind`, also when the planner merged it into another call (kinds 维护电话、请求转介绍)."""
    kinds = frame["kinds"].fillna(frame["kind"]) if "kinds" in frame else frame["kind"]
    out = frame[kinds.str.split("、").map(lambda ks: kind in ks)]
    return out if cid is None else out[out["client_id"] == cid]


def all_kinds(frame) -> set[str]:
    kinds = frame["kinds"].fillna(frame["kind"]) if "kinds" in frame else frame["kind"]
    return {k for ks in kinds for k in ks.split("、")}


def rules(**values) -> Rules:
    return Rules({**DEFAULT_RULES, **values})


# --- 关键人 -------------------------------------------------------------------------------

@pytest.mark.parametrize("role", vocab.KP_ROLES)
@pytest.mark.parametrize("attitude", (*vocab.KP_ATTITUDES, None))
def test_only_a_and_d_who_are_not_on_our_side_are_won_over(role, attitude):
    book = book_of(clients=[client("K1", class_override="B", **ACCOUNT)],
                   key_persons=[person("管学军", role, attitude, title="办公室主任", phone="13952700002")])
    win = of(tasks(book), vocab.WIN_KEY_PERSON)
    expected = role in ("A", "D") and attitude in ("中立者", "不支持者", "反对者")
    assert len(win) == int(expected)
    if expected:
        t = win.iloc[0]
        assert t["due"].date() == TODAY  # never contacted: today
        assert t["channel"] == "电话" and t["name"] == "管学军" and t["phone"] == "13952700002"
        assert "管学军(办公室主任)" in t["task"] and "江淮财产保险宿城支公司" in t["task"]
        assert f"态度为{attitude}" in t["reason"] and "每30天" in t["reason"]


def test_a_reached_touch_naming_the_key_person_restarts_the_interval():
    people = [person("管学军", "D", "中立者"), person("绕群", "D", "反对者")]
    contacts = [touch("K1", datetime(2026, 11, 3, 10), key_person="管学军"),  # 20 days ago
                touch("K1", datetime(2026, 11, 20, 10), outcome="未接通", key_person="绕群"),  # not reached
                touch("K1", datetime(2026, 11, 21, 10))]  # the account, no key person named
    book = book_of(clients=[client("K1", class_override="B", **ACCOUNT)], key_persons=people, contacts=contacts)
    win = of(tasks(book, days=14), vocab.WIN_KEY_PERSON)
    due = dict(zip(win["name"], (d.date() for d in win["due"]), strict=True))
    assert due == {"管学军": date(2026, 12, 3), "绕群": TODAY}
    assert "上次联系11月3日" in win[win["name"] == "管学军"]["reason"].iloc[0]
    # 规则 关键人跟进天数 = 10: the last touch was 20 days ago, so 10 days overdue.
    win = of(tasks(book, rules(key_person_days=10)), vocab.WIN_KEY_PERSON)
    assert win[win["name"] == "管学军"]["due"].iloc[0].date() == date(2026, 11, 13)
    assert win[win["name"] == "管学军"]["overdue_days"].iloc[0] == 10


def test_two_key_persons_of_one_account_on_one_day_are_two_tasks():
    book = book_of(clients=[client("K1", **ACCOUNT)],
                   key_persons=[person("华山", "A", "中立者"), person("王笋", "D", "不支持者")])
    assert sorted(of(tasks(book), vocab.WIN_KEY_PERSON)["name"]) == ["华山", "王笋"]


def test_key_person_birthdays_are_care_tasks_by_the_accounts_class():
    people = [person("华山", "A", "支持者", title="总经理", birthday=date(1968, 11, 25)),
              person("海燕", "U", "中立者", title="客户部主管", gender="女", birthday="11-26"),
              person("徐亚西", "U", "不支持者", cid="K2", gender="男", birthday="11-27"),
              person("周建国", "U", "支持者", cid="K3", birthday="11-28")]
    book = book_of(clients=[client("K1", class_override="A", **ACCOUNT),
                            client("K2", name="宏达物流集团", gender=None, class_override="C"),
                            client("K3", name="市实验中学", gender=None, class_override="B")],
                   key_persons=people)
    bdays = of(tasks(book), vocab.KEY_PERSON_BIRTHDAY).set_index("name")
    assert bdays.loc["华山", "channel"] == "电话" and bdays.loc["华山", "due"].date() == date(2026, 11, 25)
    assert bdays.loc["海燕", "channel"] == "电话" and bdays.loc["周建国", "channel"] == "电话"  # A and B: a call
    assert bdays.loc["徐亚西", "channel"] == "短信" and bdays.loc["徐亚西", "due"].date() == date(2026, 11, 27)
    assert bdays.loc["徐亚西", "sms"].startswith("徐先生，今天是您的生日")  # his own 性别, not the account's
    assert vocab.KEY_PERSON_BIRTHDAY in vocab.CARE_KINDS


def test_a_key_persons_salutation_is_surname_and_title():
    book = book_of(clients=[client("K1", class_override="C", **ACCOUNT)],
                   key_persons=[person("华山", "A", "支持者", title="总经理", birthday="11-24"),
                                person("管学军", "D", "支持者", title="办公室主任", birthday="11-24")])
    sms = of(tasks(book), vocab.KEY_PERSON_BIRTHDAY).set_index("name")["sms"]
    assert sms["华山"].startswith("华总，") and sms["管学军"].startswith("管主任，")


def test_single_thread_accounts_on_the_board():
    clients = [client("K1", **ACCOUNT), client("K2", name="宏达物流集团"), client("K3", name="市实验中学"),
               client("K4", name="王小明")]
    people = [person("华山", "A", "支持者"), person("王笋", "D", "支持者"), person("谭力", "U", "中立者"),
              person("周建国", "U", "支持者", cid="K2"),
              person("李秀英", "E", "支持者", cid="K3"), person("陈磊", "E", "反对者", cid="K3")]
    book = book_of(clients=clients, key_persons=people)
    a = analyse(book, DEFAULT_RULES, TODAY)
    b = board(a, tasks(book, clients=a)).set_index("client_id")
    assert b.loc["K1", "single_thread"] == "" and b.loc["K1", "key_persons"] == "3人: A1 D1 U1"
    assert b.loc["K2", "single_thread"] == "是: 只有1位关键人"
    assert b.loc["K3", "single_thread"].startswith("是: 没有A/D角色")
    assert b.loc["K3", "key_persons"] == "2人: E2, 反对/不支持1"
    assert b.loc["K4", "single_thread"] == "" and b.loc["K4", "key_persons"] == ""  # a person, not an account


# --- 活动 ---------------------------------------------------------------------------------

def activity(when, classes="A,B", **kw):
    return {"activity_id": "HD1", "name": "年末答谢晚宴", "date": when, "classes": classes, "place": "凯瑞大酒店", **kw}


CLASSED = [client("KA", class_override="A"), client("KB", class_override="B"),
           client("KC", class_override="C"), client("KD", class_override="D")]


def test_invitations_by_class_and_channel_seven_days_before():
    # The activity is on Sunday 12-06: the invitation day is Sunday 11-29; A's visit moves to Friday.
    book = book_of(clients=CLASSED, activities=[activity(date(2026, 12, 6))])
    inv = of(tasks(book), vocab.ACTIVITY_INVITATION).set_index("client_id")
    assert sorted(inv.index) == ["KA", "KB"]
    assert inv.loc["KA", "channel"] == "拜访" and inv.loc["KA", "due"].date() == date(2026, 11, 27)
    assert inv.loc["KB", "channel"] == "电话" and inv.loc["KB", "due"].date() == date(2026, 11, 29)
    assert "年末答谢晚宴" in inv.loc["KB", "task"] and "12月6日" in inv.loc["KB", "task"]


def test_blank_target_classes_invite_everyone_and_c_d_by_sms():
    book = book_of(clients=CLASSED, activities=[activity(date(2026, 11, 30), classes=None)])
    inv = of(tasks(book), vocab.ACTIVITY_INVITATION).set_index("client_id")
    assert sorted(inv.index) == ["KA", "KB", "KC", "KD"]
    assert list(inv.loc[["KC", "KD"], "channel"]) == ["短信", "短信"]
    sms = inv.loc["KC", "sms"]
    assert sms.startswith("王先生您好") and "11月30日" in sms and "「年末答谢晚宴」" in sms and "凯瑞大酒店" in sms


def test_invitation_window_rule_late_invitations_and_past_activities():
    # 11-27 activity: the invitation was due 11-20 (overdue, still useful); a past activity invites nobody.
    book = book_of(clients=CLASSED, activities=[activity(date(2026, 11, 27)),
                                                activity(date(2026, 11, 22), activity_id="HD0")])
    inv = of(tasks(book), vocab.ACTIVITY_INVITATION)
    assert set(inv["ref"]) == {"HD1"}
    assert inv.set_index("client_id").loc["KB", "overdue_days"] == 3
    # 规则 活动邀请提前天数 = 3: a 12-06 activity is invited on 12-03, outside a 7-day window.
    book = book_of(clients=CLASSED, activities=[activity(date(2026, 12, 6))])
    assert of(tasks(book, rules(activity_invite_days=3)), vocab.ACTIVITY_INVITATION).empty
    assert not of(tasks(book, rules(activity_invite_days=3), days=14), vocab.ACTIVITY_INVITATION).empty


def test_a_logged_invitation_closes_it():
    book = book_of(clients=CLASSED, activities=[activity(date(2026, 11, 27))],
                   contacts=[touch("KB", datetime(2026, 11, 21, 9), purpose="活动邀请")])
    assert list(of(tasks(book), vocab.ACTIVITY_INVITATION)["client_id"]) == ["KA"]


def test_two_activity_attendances_make_a_b_client():
    book = book_of(clients=[client("K1")],
                   contacts=[touch("K1", datetime(2026, 9, 20, 19), "活动"), touch("K1", datetime(2026, 5, 1, 19), "活动")])
    a = analyse(book, DEFAULT_RULES, TODAY)
    assert a.loc["K1", "client_class"] == "B" and a.loc["K1", "class_reason"] == "B: 近一年参加活动2次"


# --- 请求转介绍 ------------------------------------------------------------------------------

GOOD = dict(stage="成交", deal_value=100, deal_count=1, last_deal_date=date(2025, 6, 1), satisfaction=5,
            influence="高", referral_willingness="主动")


@pytest.mark.parametrize(("kw", "grade", "reason"), [
    (GOOD, "A", "A: 影响力高、主动推荐、满意度5"),
    ({**GOOD, "satisfaction": 3}, "B", "B: 影响力高、意愿主动"),
    ({**GOOD, "satisfaction": 2}, "C", "C: 满意度2"),
    ({**GOOD, "referral_willingness": "无"}, "C", "C: 无转介绍意愿"),
    ({**GOOD, "influence": "中", "referral_willingness": "一般"}, "B", "B: 影响力中、意愿一般"),
    ({**GOOD, "influence": "低", "referral_willingness": "一般"}, "C", "C: 影响力低、意愿一般"),
    ({**GOOD, "influence": None}, "C", "C: 影响力/意愿未填"),
    ({"stage": "意向", "influence": "高", "referral_willingness": "主动"}, "C", "C: 未成交"),
])
def test_referral_grade_and_its_reason(kw, grade, reason):
    a = analyse(book_of(clients=[client("K1", **kw)]), DEFAULT_RULES, TODAY)
    assert (a.loc["K1", "referral_grade"], a.loc["K1", "referral_reason"]) == (grade, reason)


def test_referred_deals_raise_the_grade():
    clients = [client("K1", **{**GOOD, "influence": "低", "referral_willingness": "一般"}),
               client("K2", stage="成交", deal_value=50), client("K3", stage="成交", deal_value=50)]
    refs = [{"referral_id": f"T{i}", "referrer_id": "K1", "referred_name": "x", "date": date(2025, 1, i),
             "referred_client_id": f"K{i}", "state": "已成交", "reward": "卡"} for i in (2, 3)]
    a = analyse(book_of(clients=clients, referrals=refs), DEFAULT_RULES, TODAY)
    assert (a.loc["K1", "referral_grade"], a.loc["K1", "referral_reason"]) == ("A", "A: 推荐成交2位")
    a = analyse(book_of(clients=clients, referrals=refs[:1]), DEFAULT_RULES, TODAY)
    assert (a.loc["K1", "referral_grade"], a.loc["K1", "referral_reason"]) == ("B", "B: 推荐成交1位")


def test_ask_after_a_reached_touch_with_the_six_step_script():
    book = book_of(clients=[client("K1", **GOOD)], contacts=[touch("K1", datetime(2026, 11, 21, 10))])
    ask = of(tasks(book), vocab.ASK_REFERRAL)
    assert len(ask) == 1 and ask["due"].iloc[0].date() == date(2026, 11, 21)
    assert ask["channel"].iloc[0] == "电话" and "有效联系后" in ask["reason"].iloc[0]
    script = ask["sms"].iloc[0]  # seed 000's steps, in order
    steps = ["觉得我们的服务怎么样", "谢谢您的认可", "姓名、电话和在哪儿工作", "还有其他朋友可以介绍吗", "太感谢您", "第一时间给您反馈"]
    at = [script.index(s) for s in steps]
    assert at == sorted(at) and script.startswith("王先生，")


def test_ask_after_a_deal_and_only_for_grade_a_b():
    deal = {**GOOD, "last_deal_date": date(2026, 11, 20)}
    book = book_of(clients=[client("K1", **deal), client("K2", **{**deal, "satisfaction": 2}),
                            client("K3", **{**deal, "influence": "中", "referral_willingness": "一般"})])
    ask = of(tasks(book), vocab.ASK_REFERRAL).set_index("client_id")
    assert sorted(ask.index) == ["K1", "K3"]
    assert "成交后" in ask.loc["K1", "reason"] and ask.loc["K1", "due"].date() == date(2026, 11, 20)


def test_at_most_one_ask_per_interval():
    def asks(contacts, referrals=(), r=None):
        book = book_of(clients=[client("K1", **GOOD)], contacts=contacts, referrals=referrals)
        return of(tasks(book, r), vocab.ASK_REFERRAL)

    recent = touch("K1", datetime(2026, 11, 21, 10))
    asked = touch("K1", datetime(2026, 8, 28, 10), purpose="请求转介绍")  # 87 days ago
    late = asks([asked, recent])
    assert late["due"].iloc[0].date() == date(2026, 11, 26)  # 90 days after the last ask
    assert asks([touch("K1", datetime(2026, 9, 30, 10), purpose="请求转介绍"), recent]).empty
    assert asks([touch("K1", datetime(2026, 9, 30, 10), purpose="请求转介绍", outcome="未接通"), recent]).size
    # A referral the client made counts as an ask.
    ref = {"referral_id": "T1", "referrer_id": "K1", "referred_name": "x", "date": date(2026, 10, 1), "state": "新推荐"}
    assert asks([recent], [ref]).empty
    # 规则 转介绍请求间隔天数 = 30: the ask of 9-30 is 54 days old, so the client may be asked again.
    assert len(asks([touch("K1", datetime(2026, 9, 30, 10), purpose="请求转介绍"), recent],
                    r=rules(referral_ask_days=30))) == 1
    # A trigger older than 补做回溯天数 (30) is stale.
    assert asks([touch("K1", datetime(2026, 10, 1, 10))]).empty


# --- 周末短信 --------------------------------------------------------------------------------

def test_weekend_sms_on_saturday_for_the_rule_classes():
    book = book_of(clients=CLASSED)
    wk = of(tasks(book, days=14), vocab.WEEKEND_SMS)
    assert list(wk["client_id"]) == ["KA", "KA"]
    assert [d.date() for d in wk["due"]] == [date(2026, 11, 28), date(2026, 12, 5)]
    assert all(d.weekday() == 5 for d in wk["due"])
    assert all(s.startswith("王先生") and "张伟" in s for s in wk["sms"])
    wk = of(tasks(book, rules(weekend_sms_classes=("A", "B"))), vocab.WEEKEND_SMS)
    assert sorted(wk["client_id"]) == ["KA", "KB"]


def test_weekend_sms_rule_reads_class_lists():
    frame = pd.DataFrame({"key": ["周末短信类别"], "value": ["a，b"], "_row": [40]})
    assert read_rules(frame)[0]["weekend_sms_classes"] == ("A", "B")
    frame["value"] = ["A,X"]
    r, findings = read_rules(frame)
    assert r["weekend_sms_classes"] == ("A",) and findings[0].cell == "B40"


def test_no_weekend_sms_when_one_was_sent_that_weekend():
    saturday = date(2026, 11, 28)
    book = book_of(clients=CLASSED, contacts=[touch("KA", datetime(2026, 11, 28, 9), "微信")])
    wk = of(tasks(book, today=saturday, days=8), vocab.WEEKEND_SMS)
    assert [d.date() for d in wk["due"]] == [date(2026, 12, 5)]


def test_weekend_sms_variants_rotate_and_staff_can_add_one():
    clients = [client(f"K{i}", name=f"王{i}", class_override="A") for i in range(12)]
    book = book_of(clients=clients)
    wk = of(tasks(book, days=28), vocab.WEEKEND_SMS)
    assert len(wk) == 12 * 4
    texts = wk["sms"].str.replace(r"王\d+", "", regex=True)
    assert texts.nunique() >= 3  # neighbours get different texts
    for _cid, mine in texts.groupby(wk["client_id"]):
        assert all(a != b for a, b in zip(mine, mine.iloc[1:], strict=False))  # a new text every week
    # One mechanism for every kind: several 短信模板 rows named 周末短信 are its variants.
    extra = "{{称呼}}，周末愉快！{{顾问}}给您推荐一家新开的茶馆，有空去坐坐。"
    bodies = [*DEFAULT_TEMPLATES[vocab.WEEKEND_SMS], extra]
    wk = of(next_actions(book, DEFAULT_RULES, TODAY, 28, messages=Messages({vocab.WEEKEND_SMS: bodies})),
            vocab.WEEKEND_SMS)
    assert wk["sms"].str.contains("新开的茶馆").any() and wk["sms"].str.contains("周末好").any()


# --- 勿扰/流失 --------------------------------------------------------------------------------

@pytest.mark.parametrize("off", [{"do_not_contact": "是"}, {"stage": "流失", "churn_reason": "价格"}])
def test_do_not_contact_and_churned_get_none_of_these(off):
    kw = {**GOOD, "class_override": "A", "birthday": None, **ACCOUNT, **off}
    book = book_of(clients=[client("K1", **kw)], contacts=[touch("K1", datetime(2026, 11, 21, 10))],
                   key_persons=[person("绕群", "D", "反对者", birthday="11-25")],
                   activities=[activity(date(2026, 11, 28), classes=None)])
    kinds = all_kinds(tasks(book, days=14))
    assert not kinds & {vocab.WIN_KEY_PERSON, vocab.KEY_PERSON_BIRTHDAY, vocab.ACTIVITY_INVITATION,
                        vocab.ASK_REFERRAL, vocab.WEEKEND_SMS}
    # … while the same account, active, gets every one of them.
    active = book_of(clients=[client("K1", **{**GOOD, "class_override": "A", **ACCOUNT})],
                     contacts=[touch("K1", datetime(2026, 11, 21, 10))],
                     key_persons=[person("绕群", "D", "反对者", birthday="11-25")],
                     activities=[activity(date(2026, 11, 28), classes=None)])
    assert {vocab.WIN_KEY_PERSON, vocab.KEY_PERSON_BIRTHDAY, vocab.ACTIVITY_INVITATION, vocab.ASK_REFERRAL,
            vocab.WEEKEND_SMS} <= all_kinds(tasks(active, days=14))


# --- Files: template, validate, weekly -------------------------------------------------------

def test_template_has_the_sheets_with_dropdowns_and_legends(tmp_path):
    path = tmp_path / "t.xlsx"
    assert run_cli("new", path).returncode == 0
    wb = openpyxl.load_workbook(path)
    ws = wb["关键人"]
    assert [c.value for c in ws[1]][:6] == ["客户编号", "姓名", "职务", "角色", "态度", "影响力"]
    lists = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert lists["D2"].formula1 == '"A,D,E,U"' and "最终批准者" in lists["D2"].prompt
    assert lists["E2"].formula1 == '"赞助者,支持者,中立者,不支持者,反对者"'
    assert [c.value for c in wb["活动"][1]] == ["活动编号", "名称", "日期", "对象类别", "地点", "备注"]
    assert "关键人" in [c.value for c in wb["跟进记录"][1]]
    names = [r[0].value for r in wb["短信模板"].iter_rows(min_row=2)]
    assert {"争取关键人", "关键人生日", "活动邀请", "请求转介绍", "周末短信"} <= set(names)
    assert names.count("周末短信") == len(DEFAULT_TEMPLATES["周末短信"]) >= 4  # its variants, one row each
    rule_names = [r[0].value for r in wb["规则"].iter_rows(min_row=2)]
    assert {"关键人跟进天数", "活动邀请提前天数", "转介绍请求间隔天数", "周末短信类别"} <= set(rule_names)


def test_a_workbook_without_the_new_sheets_still_loads(tmp_path):
    path = make_workbook(tmp_path / "old.xlsx", clients=[client("K1")])
    wb = openpyxl.load_workbook(path)
    del wb["关键人"]
    del wb["活动"]
    wb.save(path)
    book, findings = load(path)
    assert [f for f in findings + validate(book) if f.severity == "fatal"] == []
    assert book.key_persons.empty and book.activities.empty


def test_validate_reports_bad_key_persons_and_activities(tmp_path):
    path = make_workbook(
        tmp_path / "wb.xlsx", clients=[client("K1", **ACCOUNT)],
        key_persons=[person("华山", "A", None), person("无名", "D", "中立者", cid="K9"), person("华山", "A", "支持者")],
        activities=[activity(date(2026, 12, 1), classes="A,X"), activity(date(2026, 12, 2), classes="B")],
        contacts=[touch("K1", datetime(2026, 11, 20, 10), key_person="王五")])
    result = run_cli("validate", path)
    out = result.stdout + result.stderr
    assert result.returncode == 1
    for line in ("关键人!A3: 客户编号 'K9' 在「客户」表中不存在",
                 "关键人!E2: 关键人 '华山' 是A/D角色但没有填态度",
                 "关键人!B4: 客户 'K1' 的关键人 '华山' 重复登记",
                 "活动!D2: 对象类别 'A,X' 应为 A/B/C/D",
                 "活动!A3: 活动编号 'HD1' 重复",
                 "跟进记录!J2: 关键人 '王五' 不是客户 'K1' 在「关键人」表中的关键人"):
        assert line in out, f"missing {line!r} in\n{out}"


def test_weekly_workbook_lists_key_persons_by_role_and_attitude(tmp_path):
    people = [person("密义交", "U", "反对者", title="办公室联系人"), person("华山", "A", "支持者", title="总经理"),
              person("绕群", "D", "反对者", title="科技部总经理"), person("王笋", "D", "支持者"),
              person("周建国", "U", "支持者", cid="K2")]
    path = make_workbook(tmp_path / "wb.xlsx", key_persons=people,
                         clients=[client("K1", **ACCOUNT), client("K2", name="宏达物流集团", agent="李娜")])
    assert run_cli("weekly", path, "--out", tmp_path / "out", "--week", "2026-11-23", "-q").returncode == 0
    ws = openpyxl.load_workbook(tmp_path / "out" / "2026-W48" / "张伟.xlsx")["关键人"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert rows[0][0].startswith("江淮财产保险宿城支公司(K1)")  # the account's band
    assert [r[2] for r in rows[1:]] == ["华山", "王笋", "绕群", "密义交"]  # A, D (支持 before 反对), U
    assert rows[3][4] == "D 决策者" and rows[3][8] is not None  # 绕群 is to be won over this week
    assert "周建国" not in str(rows)  # another agent's account
    other = openpyxl.load_workbook(tmp_path / "out" / "2026-W48" / "李娜.xlsx")["关键人"]
    assert "只有1位关键人" in str([[c.value for c in r] for r in other.iter_rows()])


def test_refreshing_a_workbook_from_before_the_new_board_columns_widens_its_table(tmp_path, monkeypatch):
    import dataclasses
    import zipfile

    from defusedxml import ElementTree

    from xlcrm.io import schema
    from xlcrm.io.template import write_workbook

    from .conftest import sheet_rows

    old_board = dataclasses.replace(schema.BOARD, columns=schema.BOARD.columns[:9])
    monkeypatch.setattr(schema, "SHEETS", tuple(old_board if s.key == "board" else s for s in schema.SHEETS))
    path = write_workbook(tmp_path / "old.xlsx", "zh", sheet_rows(clients=[client("K1", **ACCOUNT)],
                                                                  key_persons=[person("华山", "A", "支持者")]))
    monkeypatch.undo()
    assert run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith(".xml"):
                ElementTree.fromstring(zf.read(name))
    ws = openpyxl.load_workbook(path)["客户看板"]
    table = ws.tables["Board"]
    headers = [c.zh for c in schema.BOARD.columns]
    assert [c.name for c in table.tableColumns] == headers
    assert table.ref == f"A1:{schema.column_letter_of(schema.BOARD, schema.BOARD.keys[-1])}2"
    assert [c.value for c in ws[1]] == headers
    assert [c.value for c in ws[2]][-2:] == ["1人: A1", "是: 只有1位关键人"]


# --- 任务编号 and the daily loop -----------------------------------------------------------

def test_task_ids_tell_apart_key_persons_and_activities_and_keep_old_numbers():
    import hashlib

    from xlcrm.core.loop import task_id
    due = date(2026, 11, 23)
    assert task_id("K1", "争取关键人", due, "绕群") != task_id("K1", "争取关键人", due, "管学军")
    assert task_id("K1", "活动邀请", due, "HD001") != task_id("K1", "活动邀请", due, "HD002")
    # A task without a ref keeps the number it had before refs existed (already in 跟进记录).
    old = "维护电话-" + hashlib.blake2b(b"K1|\xe7\xbb\xb4\xe6\x8a\xa4\xe7\x94\xb5\xe8\xaf\x9d|2026-11-23",
                                     digest_size=6).hexdigest()
    assert task_id("K1", "维护电话", due) == task_id("K1", "维护电话", due, "") == old


def test_two_activities_on_one_day_are_two_invitations_with_two_numbers():
    from xlcrm.core.loop import with_task_ids
    from xlcrm.core.tasks.activities import activities
    from xlcrm.core.tasks.context import make_context
    book = book_of(clients=[client("K1", class_override="B")],
                   activities=[activity(date(2026, 11, 30), classes="B", activity_id="HD001"),
                               activity(date(2026, 11, 30), classes="B", activity_id="HD002", name="亲子手工DIY")])
    asked = activities(make_context(book, DEFAULT_RULES, TODAY, 7, analyse(book, DEFAULT_RULES, TODAY)))
    assert sorted(asked["ref"]) == ["HD001", "HD002"]
    assert with_task_ids(asked)["task_id"].nunique() == 2  # same client, kind and day: two numbers
    inv = of(tasks(book), vocab.ACTIVITY_INVITATION)
    assert len(inv) == 1 and inv["task"].iloc[0].count("邀请参加") == 2  # the plan: one call naming both


def test_two_key_persons_are_two_tasks_and_a_tick_logs_who(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", class_override="B", **ACCOUNT)],
                         key_persons=[person("绕群", "D", "反对者", title="科技部总经理", phone="13952700003"),
                                      person("管学军", "D", "中立者", title="办公室主任", phone="13952700002")])
    assert run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    wb = openpyxl.load_workbook(path)
    ws = wb["我的任务"]
    header = [c.value for c in ws[1]]
    col = {h: j + 1 for j, h in enumerate(header) if h}
    rows = [r for r in range(2, ws.max_row + 1) if str(ws.cell(r, col["任务"]).value or "").startswith("争取关键人")]
    assert {ws.cell(r, col["姓名"]).value for r in rows} == {"绕群", "管学军"}
    assert len({ws.cell(r, col["任务编号"]).value for r in rows}) == 2  # two numbers
    for r in rows:
        ws.cell(r, col["完成"]).value = "是"
    wb.save(path)
    result = run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23")
    assert result.returncode == 0 and "记录了 2 次联系" in result.stdout, result.stdout + result.stderr
    ws = openpyxl.load_workbook(path)["跟进记录"]
    values = list(ws.iter_rows(values_only=True))
    logged = [dict(zip(values[0], r, strict=False)) for r in values[1:] if any(r)]
    assert sorted(r["关键人"] for r in logged) == ["管学军", "绕群"]
    assert {r["事由"] for r in logged} == {vocab.KEY_PERSON_TOUCH} and all(r["客户编号"] == "K1" for r in logged)
    ws = openpyxl.load_workbook(path)["我的任务"]
    assert not any(str(c.value or "").startswith("争取关键人") for c in ws["F"])  # both won over for 30 days


def test_without_a_key_person_column_the_name_goes_into_notes_and_is_read_back():
    from xlcrm.core.loop import fold_key_person, key_person_of
    touches = pd.DataFrame({"client_id": ["K1", "K1"], "notes": [None, "约了下周"], "key_person": ["绕群", None]})
    folded = fold_key_person(touches)
    assert folded["notes"].tolist() == ["关键人: 绕群", "约了下周"] and folded["key_person"].isna().all()
    assert key_person_of(folded).tolist()[0] == "绕群"
    # … and 争取关键人 counts that touch: no task for 30 days.
    book = book_of(clients=[client("K1", class_override="B", **ACCOUNT)],
                   key_persons=[person("绕群", "D", "反对者")],
                   contacts=[touch("K1", datetime(2026, 11, 20, 10), notes="关键人: 绕群；谈了方案")])
    assert of(tasks(book), vocab.WIN_KEY_PERSON).empty


def test_bad_key_person_and_activity_rows_are_left_out_never_a_traceback(tmp_path):
    """issue 12's promise for the new sheets: `Sheet!Cell: message`, the bad row left out."""
    path = make_workbook(
        tmp_path / "wb.xlsx", clients=[client("K1", class_override="B", **ACCOUNT)],
        key_persons=[person(None, "D", "反对者"), person("绕群", "X", "很反对", birthday="13-45"),
                     person("管学军", "D", "中立者")],
        activities=[activity("2026-13-01", activity_id="HD1"), activity(date(2026, 11, 28), classes="B,X", activity_id="HD2"),
                    activity(date(2026, 11, 29), classes="B", activity_id="HD3", name="=HYPERLINK(\"x\")")])
    result = run_cli("validate", path)
    out = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in out
    for cell in ("关键人!B2", "关键人!D3", "关键人!E3", "关键人!I3", "活动!C2", "活动!D3"):
        assert f"{cell}: " in out, f"missing {cell} in\n{out}"
    result = run_cli("refresh", path, "--agent", "张伟", "--today", "2026-11-23")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "另有" in result.stdout  # the rows left out are counted
    ws = openpyxl.load_workbook(path)["我的任务"]
    tasks_text = [str(c.value) for c in ws["F"][1:] if c.value]
    invitations = [t for t in tasks_text if "邀请参加" in t]
    assert sum(t.count("邀请参加") for t in tasks_text) == 1  # only HD3 (a merged call would name both)
    assert "=HYPERLINK" in invitations[0]  # its name stays text
    assert ws["F2"].data_type != "f" and all(c.data_type != "f" for c in ws["F"])
    won = [t for t in tasks_text if t.startswith("争取关键人")]
    assert len(won) == 1 and "管学军" in won[0]  # no name: left out; 绕群's bad role: not an A/D


@pytest.mark.parametrize("key,value", [("关键人跟进天数", 0), ("关键人跟进天数", "inf"), ("活动邀请提前天数", 1e9),
                                       ("活动邀请提前天数", -3), ("转介绍请求间隔天数", "1e400"), ("转介绍请求间隔天数", 2.5),
                                       ("周末短信类别", "A,X"), ("周末短信类别", 7)])
def test_new_rules_have_ranges_like_the_others(key, value):
    from xlcrm.core.rules import RULE_BY_NAME
    frame = pd.DataFrame({"key": [key], "value": [value], "_row": [31]})
    r, findings = read_rules(frame)
    desc = RULE_BY_NAME[key]
    assert r[desc.alias] == desc.default
    assert [(f.cell, f.code, f.field) for f in findings] in ([("B31", "rule-out-of-range", desc.alias)],
                                                            [("B31", "rule-invalid", desc.alias)])
    assert hasattr(desc.convert, "range")


@pytest.mark.parametrize("kind", [vocab.WIN_KEY_PERSON, vocab.KEY_PERSON_BIRTHDAY, vocab.ACTIVITY_INVITATION,
                                  vocab.ASK_REFERRAL, vocab.WEEKEND_SMS])
def test_every_new_template_renders_in_the_bounded_sandbox(kind):
    """As staff keep them in 短信模板 (not the shipped copies): each variant through the bounded env."""
    from xlcrm.core.messages import variables, variants
    for body in variants(DEFAULT_TEMPLATES[kind]):
        edited = body + "——"  # no longer the shipped text: compiled and rendered with every bound
        m = Messages({kind: [edited]}, rows={kind: 9})
        values = variables("华山", "男", "张伟", date(2026, 11, 23), "江淮财产保险")
        values |= {"称呼": "华总", "活动": "年末客户答谢晚宴", "地点": "凯瑞大酒店", "活动日期": "11月28日"}
        text = m.render(kind, values)
        assert m.findings == [] and text.endswith("——") and "华总" in text and "{{" not in text


def test_a_merged_row_lists_each_tasks_own_number_top_first():
    from xlcrm.core.loop import JOIN_SEP, task_id, with_task_ids
    book = book_of(clients=[client("K1", class_override="B")],
                   contacts=[touch("K1", datetime(2026, 11, 10, 10), promised_date=date(2026, 11, 20))])
    row = with_task_ids(tasks(book))
    row = row[row["client_id"] == "K1"].iloc[0]
    assert row["kinds"].startswith("承诺反馈、维护电话") and row["due"].date() == date(2026, 11, 13)  # the call's
    ids = row["task_id"].split(JOIN_SEP)
    assert ids[0] == task_id("K1", "承诺反馈", date(2026, 11, 20))  # the promise's own number first
    assert task_id("K1", "维护电话", date(2026, 11, 13)) in ids


def test_ticking_a_merged_row_closes_every_task_it_stands_for():
    # KB's promise, cadence call and the activity invitation fall on 11-23: one call, one row.
    from xlcrm.core.loop import with_task_ids
    kw = dict(clients=[client("KB", class_override="B")], activities=[activity(date(2026, 11, 30))])
    before = [touch("KB", datetime(2026, 11, 20, 10), promised_date=date(2026, 11, 23))]
    row = with_task_ids(tasks(book_of(contacts=before, **kw)))
    row = row[(row["client_id"] == "KB") & (row["date"] == pd.Timestamp(TODAY))]
    assert len(row) == 1 and vocab.ACTIVITY_INVITATION in row.iloc[0]["kinds"], row[["kinds", "task_id"]]
    logged = touch("KB", datetime(2026, 11, 23, 10), outcome="已接通", purpose="日常维护",
                   task_id=row.iloc[0]["task_id"])
    after = tasks(book_of(contacts=[*before, logged], **kw))
    assert of(after, vocab.ACTIVITY_INVITATION, "KB").empty
    assert of(after, vocab.PROMISE, "KB").empty


def test_a_invitation_visits_beyond_the_visit_cap_or_already_late_become_calls():
    a_clients = [client(f"A{i}", class_override="A") for i in range(6)]
    # Activity 12-02 (Wed): invitation day 11-25 (Wed); 每日拜访上限 4 → four visits, two calls.
    inv = of(tasks(book_of(clients=a_clients, activities=[activity(date(2026, 12, 2))])),
             vocab.ACTIVITY_INVITATION)
    assert (inv["channel"] == vocab.VISIT).sum() == 4 and (inv["channel"] == vocab.PHONE).sum() == 2
    assert set(inv["date"].dt.date) == {date(2026, 11, 25)}
    # Activity 11-28: the invitation visit day (Fri 11-20) has passed: a call today, shown overdue.
    inv = of(tasks(book_of(clients=a_clients[:2], activities=[activity(date(2026, 11, 28))])),
             vocab.ACTIVITY_INVITATION)
    assert list(inv["channel"]) == [vocab.PHONE] * 2 and set(inv["date"].dt.date) == {TODAY}
    assert (inv["overdue_days"] > 0).all()
