"""Any cell content: findings, never an exception, all the way to tasks and weekly sections."""

from __future__ import annotations

from datetime import date, datetime

from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm.core.analysis import analyse
from xlcrm.core.board import board
from xlcrm.core.messages import DEFAULT_TEMPLATES, Messages
from xlcrm.core.rules import DEFAULT_RULES, RULE_DESCS
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
                                                                  "成交", "流失", "电话", "短信", "投诉", "新推荐", "已成交", "D", "中立者", "反对者"]),
    st.integers(-5, 50000), st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)), st.booleans(),
)


def sheet_rows(sheet, n):
    return st.lists(st.lists(cell, min_size=len(sheet.columns), max_size=len(sheet.columns)), max_size=n)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet_rows(schema.CLIENTS, 5), sheet_rows(schema.CONTACTS, 8), sheet_rows(schema.REFERRALS, 3),
       sheet_rows(schema.KEY_DATES, 3), sheet_rows(schema.HANDOVERS, 3), sheet_rows(schema.PROFILES, 3),
       sheet_rows(schema.KEY_PERSONS, 3), sheet_rows(schema.ACTIVITIES, 2), sheet_rows(schema.HOLIDAYS, 4))
def test_garbage_cells_never_raise(clients, contacts, referrals, key_dates, handovers, profiles, key_persons,
                                   activities, holidays):
    data = {"clients": clients, "contacts": contacts, "referrals": referrals, "key_dates": key_dates,
            "handovers": handovers, "profiles": profiles, "key_persons": key_persons, "activities": activities,
            "holidays": holidays,
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


rule_value = st.one_of(
    st.none(), st.text(max_size=6), st.sampled_from(["inf", "-inf", "nan", "1e400", "0", "1e9", "1e15", "1e12",
                                                     "1000000", "-3", "2.5", "50%", "120%", "春节,中秋节", ""]),
    st.integers(-10**6, 10**16), st.floats(allow_nan=False, allow_infinity=False),
)
template_body = st.one_of(
    st.text(max_size=20), st.sampled_from([
        "{{ 9**(9**9) }}", "{{ 10**100000 }}", "{{ 'a' * 999999999 }}", "{{称呼}}", "{% if %}", "{{ x }}",
        "{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(1) }}", "{{ 1/0 }}", "{{ ''.__class__ }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ '%999999999s' % 1 }}", "{{ 姓名 * 3 }}", "{{ range(10)|sum }}"]),
)


def garbage_rules_and_templates(draw_rules, draw_templates):
    from xlcrm.core.rules import RULE_DESCS

    rules = [(d.key, v, "") for d, v in zip(RULE_DESCS, draw_rules, strict=False)]
    from xlcrm.core.messages import DEFAULT_TEMPLATES

    names = list(DEFAULT_TEMPLATES)
    templates = [(n, body) for n, body in zip(names, draw_templates, strict=False)]
    return rules, templates


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet_rows(schema.CLIENTS, 4), sheet_rows(schema.CONTACTS, 6),
       st.lists(rule_value, min_size=len(RULE_DESCS), max_size=len(RULE_DESCS)),
       st.lists(template_body, min_size=len(DEFAULT_TEMPLATES), max_size=len(DEFAULT_TEMPLATES)))
def test_garbage_rules_and_templates_never_raise(clients, contacts, rule_values, bodies):
    """规则 and 短信模板 values of any kind: validate, refresh and weekly still run, in bounded time."""
    import time

    from xlcrm.core.rules import read_rules
    from xlcrm.doors.refresh import compute_refresh, messages_for
    from xlcrm.io.validate import leave_out_bad_rows

    rules_rows, template_rows = garbage_rules_and_templates(rule_values, bodies)
    data = {**default_rows(), "clients": clients, "contacts": contacts,
            "agents": [["张伟", None, None, None, None, "是"]], "rules": rules_rows, "templates": template_rows}
    frames, letters, findings = {}, {}, []
    for sheet in schema.USER_SHEETS:
        raw = [[c.zh for c in sheet.columns]] + [list(r) + [None] * (len(sheet.columns) - len(r))
                                                 for r in data.get(sheet.key, [])]
        frames[sheet.key], letters[sheet.key], found = read_sheet(raw, sheet, sheet.zh)
        findings += found
    book = new_book(frames, letters=letters)
    started = time.monotonic()
    # validate
    rules, rule_findings = read_rules(book.frames.get("rules"), "规则")
    for f in validate(book) + rule_findings:
        assert str(f).startswith(f.sheet + "!") or f.cell == ""
    for f in rule_findings:
        assert f.cell.startswith(("A", "B"))
    # refresh
    today = date(2026, 11, 23)
    try:
        result = compute_refresh(book, findings, "张伟", today)
    except Exception as exc:  # only a clear refusal may stop a refresh
        from xlcrm.io.errors import RefreshError
        assert isinstance(exc, RefreshError), repr(exc)
    else:
        for frame, sheet in ((result.tasks, schema.MY_TASKS), (result.board, schema.BOARD)):
            xml = render_sheet('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                               '<sheetData/></worksheet>', frame_rows(frame, sheet), len(sheet.columns))
            ElementTree.fromstring(xml.encode())
        assert all(len(s) <= 32767 for s in result.tasks["sms"])
    # weekly
    clean, _left = leave_out_bad_rows(book)
    plan = weekly_plan(clean, rules, today, messages_for(clean))
    team_summary(plan)
    for week in agent_weeks(plan):
        assert all(len(s) <= 32767 for s in week.sms["sms"]) if "sms" in week.sms else True
    assert time.monotonic() - started < 60
