"""The 节假日 sheet (DOMAIN: Holidays sheet): office-typed days off and 调休 workdays
override the holiday library; a plan reaching a year with no official schedule warns."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import openpyxl

from tests.conftest import book_of, client, make_workbook, run_cli
from tests.test_actions import tasks_of, touch
from xlcrm.core import vocab
from xlcrm.core.calendar import WorkCalendar, calendar_for, holiday_rows, uncovered_years
from xlcrm.io.loader import load
from xlcrm.io.validate import validate

# An office's 2027 schedule typed in (the library only projects 2027: no 调休, and it
# puts 除夕 02-05 off). Here 春节 is 02-06..02-12, with 调休 workdays Sun 01-31 and Sat 02-20.
SPRING_2027 = [{"date": date(2027, 2, 6) + timedelta(days=i), "name": "春节", "type": vocab.DAY_OFF}
               for i in range(7)] + [
    {"date": date(2027, 1, 31), "name": "春节", "type": vocab.MAKEUP_WORKDAY},
    {"date": date(2027, 2, 20), "name": "春节", "type": vocab.MAKEUP_WORKDAY}]


def calendar_of(rows) -> WorkCalendar:
    return calendar_for(date(2026, 12, 1), date(2027, 3, 1), holiday_rows(book_of(holidays=rows)))


def test_typed_schedule_replaces_the_projected_year():
    plain, typed = calendar_of([]), calendar_of(SPRING_2027)
    assert not plain.is_working_day(date(2027, 2, 5))  # the library's projected 除夕
    assert typed.is_working_day(date(2027, 2, 5))  # the office's schedule has no 除夕 off
    assert not plain.is_working_day(date(2027, 2, 10)) and typed.is_working_day(date(2027, 2, 15))
    assert not typed.is_working_day(date(2027, 2, 11)) and not typed.is_working_day(date(2027, 2, 12))
    assert not plain.is_working_day(date(2027, 1, 31)) and typed.is_working_day(date(2027, 1, 31))
    assert typed.is_working_day(date(2027, 2, 20)) and not typed.is_working_day(date(2027, 2, 21))
    assert typed.holiday_starts(("春节",), date(2027, 1, 1), date(2027, 3, 1)) == [("春节", date(2027, 2, 6))]
    # 元旦 2027 was projected by the library and not typed: the typed year replaces it.
    assert not plain.is_working_day(date(2027, 1, 1)) and typed.is_working_day(date(2027, 1, 1))
    assert uncovered_years(plain, date(2026, 11, 23), date(2027, 1, 5)) == [2027]
    assert uncovered_years(typed, date(2026, 11, 23), date(2027, 1, 5)) == []


def test_rows_overlay_a_year_with_official_dates():
    rows = [{"date": date(2026, 11, 25), "name": "公司年会", "type": vocab.DAY_OFF},
            {"date": date(2026, 10, 8), "name": "国庆节", "type": vocab.MAKEUP_WORKDAY}]
    cal = calendar_for(date(2026, 9, 1), date(2026, 12, 31), holiday_rows(book_of(holidays=rows)))
    assert not cal.is_working_day(date(2026, 11, 25))  # the office's own day off
    assert cal.is_working_day(date(2026, 10, 8))  # typed back to work
    assert not cal.is_working_day(date(2026, 10, 1))  # the official schedule stays
    assert cal.is_working_day(date(2026, 9, 20))  # and its official 调休 Sunday too
    assert cal.holiday_name(date(2026, 11, 25)) == "公司年会"


def test_later_row_for_the_same_date_wins():
    rows = [{"date": date(2026, 11, 25), "name": "公司年会", "type": vocab.DAY_OFF},
            {"date": date(2026, 11, 25), "name": "公司年会", "type": vocab.MAKEUP_WORKDAY}]
    cal = calendar_for(date(2026, 9, 1), date(2026, 12, 31), holiday_rows(book_of(holidays=rows)))
    assert cal.is_working_day(date(2026, 11, 25))


def test_holiday_visits_follow_the_typed_schedule():
    clients = [client(f"A{i}", class_override="A") for i in range(3)]
    contacts = [touch(c["client_id"], datetime(2027, 1, 27, 10)) for c in clients]
    visit_days = {}
    for label, rows in (("library", []), ("typed", SPRING_2027)):
        book = book_of(clients=clients, contacts=contacts, holidays=rows)
        t = tasks_of(book, today=date(2027, 2, 1), days=7)
        visits = t[(t["channel"] == vocab.VISIT) & t["kinds"].str.contains(vocab.HOLIDAY_WISH)]
        assert sorted(visits["client_id"]) == ["A0", "A1", "A2"], label
        visit_days[label] = set(visits["date"].dt.date)
    # Library: 除夕 02-05 is off, so the three working days before 春节 are 02-02..02-04.
    assert visit_days["library"] == {date(2027, 2, 2), date(2027, 2, 3), date(2027, 2, 4)}
    assert visit_days["typed"] == {date(2027, 2, 3), date(2027, 2, 4), date(2027, 2, 5)}


def test_refresh_warns_when_the_window_reaches_a_year_without_a_schedule(tmp_path):
    kw = {"clients": [client("K1")], "contacts": [touch("K1", datetime(2026, 11, 20, 10))]}
    bare = make_workbook(tmp_path / "bare.xlsx", **kw)
    typed = make_workbook(tmp_path / "typed.xlsx", holidays=SPRING_2027, **kw)
    out = run_cli("refresh", bare, "--agent", "张伟", "--today", "2026-11-23")
    assert out.returncode == 0, out.stderr
    assert "节假日!A1" in out.stderr and "2027 年的官方放假安排" in out.stderr
    out = run_cli("refresh", typed, "--agent", "张伟", "--today", "2026-11-23")
    assert out.returncode == 0, out.stderr
    assert "官方放假安排" not in out.stdout + out.stderr
    # Early in a year the library covers, nothing to say.
    out = run_cli("refresh", bare, "--agent", "张伟", "--today", "2026-03-02")
    assert out.returncode == 0 and "官方放假安排" not in out.stdout + out.stderr


def test_weekly_warns_too(tmp_path):
    path = make_workbook(tmp_path / "bare.xlsx", clients=[client("K1")])
    out = run_cli("weekly", path, "--out", tmp_path / "out", "--week", "2026-12-21")
    assert out.returncode == 0, out.stderr
    assert "2027 年的官方放假安排" in out.stdout + out.stderr


def test_validate_flags_conflicts_and_weekday_workdays(tmp_path):
    rows = [{"date": date(2027, 2, 13), "name": "春节", "type": vocab.DAY_OFF},  # a Saturday
            {"date": date(2027, 2, 13), "name": "春节", "type": vocab.MAKEUP_WORKDAY},  # row 3
            {"date": date(2027, 2, 17), "name": "春节", "type": vocab.MAKEUP_WORKDAY}]  # a Wednesday, row 4
    book, findings = load(make_workbook(tmp_path / "h.xlsx", clients=[client("K1")], holidays=rows))
    assert not findings
    found = {(f.cell, f.code) for f in validate(book) if f.sheet == "节假日"}
    assert found == {("C3", "holiday-conflict"), ("A4", "holiday-weekday-workday")}


def test_bad_type_is_a_finding_and_the_row_is_ignored(tmp_path):
    rows = [{"date": date(2027, 2, 8), "name": "春节", "type": "休息"}]
    path = make_workbook(tmp_path / "h.xlsx", clients=[client("K1")], holidays=rows)
    out = run_cli("validate", path)
    assert "节假日!C2" in out.stdout + out.stderr
    book, _ = load(path)
    assert holiday_rows(book) == ()


def test_template_has_the_sheet_with_a_type_dropdown(tmp_path):
    path = tmp_path / "new.xlsx"
    assert run_cli("new", path).returncode == 0
    ws = openpyxl.load_workbook(path)["节假日"]
    assert [c.value for c in ws[1]][:3] == ["日期", "名称", "类型"]
    formulas = [dv.formula1 for dv in ws.data_validations.dataValidation]
    assert any(vocab.DAY_OFF in (f or "") and vocab.MAKEUP_WORKDAY in (f or "") for f in formulas)
