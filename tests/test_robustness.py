"""Any cell content: findings, never an exception, all the way to tasks and weekly sections."""

from __future__ import annotations

from datetime import date, datetime

from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm.core.analysis import analyse
from xlcrm.core.board import board
from xlcrm.core.messages import Messages
from xlcrm.core.rules import DEFAULT_RULES
from xlcrm.core.tasks import next_actions
from xlcrm.core.weekly import agent_weeks, team_summary, weekly_plan
from xlcrm.doors.refresh import frame_rows
from xlcrm.io import schema
from xlcrm.io.loader import new_book, read_sheet
from xlcrm.io.package import render_sheet
from xlcrm.io.template import default_rows
from xlcrm.io.validate import validate

cell = st.one_of(
    st.none(), st.just(""), st.text(max_size=8), st.sampled_from(["=1+1", "+86", "-", "@x", "2024/3/5", "3月15日",
                                                                  "2024-13-01", "K1", "K2", "张伟", "是", "A", "农历",
                                                                  "成交", "流失", "电话", "短信", "投诉", "新推荐", "已成交"]),
    st.integers(-5, 50000), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)), st.booleans(),
)


def sheet_rows(sheet, n):
    return st.lists(st.lists(cell, min_size=len(sheet.columns), max_size=len(sheet.columns)), max_size=n)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet_rows(schema.CLIENTS, 5), sheet_rows(schema.CONTACTS, 8), sheet_rows(schema.REFERRALS, 3),
       sheet_rows(schema.KEY_DATES, 3), sheet_rows(schema.HANDOVERS, 3), sheet_rows(schema.PROFILES, 3))
def test_garbage_cells_never_raise(clients, contacts, referrals, key_dates, handovers, profiles):
    data = {"clients": clients, "contacts": contacts, "referrals": referrals, "key_dates": key_dates,
            "handovers": handovers, "profiles": profiles,
            "agents": [["张伟", None, None, None, None, "是"]], **default_rows()}
    frames, letters, findings = {}, {}, []
    for sheet in schema.USER_SHEETS:
        raw = [[c.zh for c in sheet.columns]] + [list(r) for r in data[sheet.key]]
        frames[sheet.key], letters[sheet.key], found = read_sheet(raw, sheet, sheet.zh)
        findings += found
    book = new_book(frames, letters=letters)
    findings += validate(book)
    for finding in findings:
        assert str(finding).startswith(finding.sheet + "!")
    today = date(2026, 11, 23)
    clients_frame = analyse(book, DEFAULT_RULES, today)
    tasks = next_actions(book, DEFAULT_RULES, today, 7, clients=clients_frame, messages=Messages())
    empty_sheet = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>'
    for frame, sheet in ((tasks, schema.MY_TASKS), (board(clients_frame, tasks), schema.BOARD)):
        xml = render_sheet(empty_sheet, frame_rows(frame, sheet), len(sheet.columns))
        ElementTree.fromstring(xml.encode())  # well-formed
        assert "<f>" not in xml  # nothing from the data becomes a formula
        assert "<v>inf" not in xml and "<v>nan" not in xml and "<v>-inf" not in xml  # only finite numbers
    plan = weekly_plan(book, DEFAULT_RULES, today)
    team_summary(plan)
    agent_weeks(plan)
