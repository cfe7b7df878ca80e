"""doors.forked: pieces of the compute in forked processes, and the engine computed in
pieces (families in two groups, the planner's agents in two groups) gives the same plan."""

from __future__ import annotations

import os
from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TODAY
from xlcrm.core import planner, tasks
from xlcrm.core.rules import Rules, read_rules
from xlcrm.core.tasks import planned_actions
from xlcrm.doors import forked
from xlcrm.io.loader import load

needs_fork = pytest.mark.skipif(not forked.available(), reason="forked pieces run on Linux with 2+ cores")


@pytest.fixture()
def in_pieces(monkeypatch):
    """Every office computed in pieces, however small (the 300-client sample too)."""
    monkeypatch.setattr(forked, "PARALLEL_CLIENTS", 0)
    monkeypatch.setattr(planner, "SPLIT_MIN", 0)
    monkeypatch.setattr(tasks, "SPLIT_CLIENTS", 0)


@needs_fork
def test_pieces_run_in_other_processes_and_come_back_in_order():
    here = os.getpid()
    got = forked.in_parallel([lambda: ("a", os.getpid()), lambda: ("b", os.getpid()), lambda: ("c", os.getpid())])
    assert [g[0] for g in got] == ["a", "b", "c"]
    assert got[0][1] == here and got[1][1] != here and got[2][1] != here and got[1][1] != got[2][1]


@needs_fork
def test_a_piece_that_fails_elsewhere_is_computed_here():
    here = os.getpid()

    def dies_in_a_child():
        if os.getpid() != here:
            os._exit(9)  # killed, out of memory …
        return "computed here"

    def unpicklable():
        return lambda: os.getpid()  # a lambda cannot be sent back

    got = forked.in_parallel([lambda: 1, dies_in_a_child, unpicklable])
    assert got[:2] == [1, "computed here"] and got[2]() == here


@needs_fork
def test_an_error_is_raised_here_as_it_would_be_without_forking():
    def bad():
        raise ValueError("坏数据")

    with pytest.raises(ValueError, match="坏数据"):
        forked.in_parallel([lambda: 1, bad])
    with pytest.raises(ValueError, match="坏数据"):
        forked.in_parallel([bad, lambda: 1])  # the children are waited for, then it raises


def test_in_turn_is_the_fallback():
    assert forked.in_turn([lambda: 1, lambda: 2]) == [1, 2]


@pytest.fixture(scope="module")
def office(sample_path):
    book, _ = load(sample_path)
    return book


def _same_plan(book, rules, day, run):
    one = planned_actions(book, rules, day, 7)
    calls = []

    def counted(pieces):
        calls.append(len(pieces))
        return run(pieces)

    pieces = planned_actions(book, rules, day, 7, run=counted)
    assert calls == [2, 2]  # the families in two pieces, then the planner's two groups
    pd.testing.assert_frame_equal(one.tasks, pieces.tasks)
    pd.testing.assert_frame_equal(one.unplanned, pieces.unplanned)
    assert one.findings == pieces.findings
    return one


@needs_fork
def test_forked_pieces_give_the_same_plan(office, in_pieces):
    rules, _ = read_rules(office.frames.get("rules"))
    plan = _same_plan(office, Rules(rules | {"calls_per_day": 4, "visits_per_day": 1}), TODAY, forked.in_parallel)
    assert len(plan.tasks) > 100 and plan.tasks["agent"].nunique() >= 3


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.integers(0, 400), calls=st.integers(1, 40), visits=st.integers(0, 5), sleeping=st.integers(0, 10))
def test_any_day_and_capacity_planned_in_pieces_is_the_same(office, in_pieces, days, calls, visits, sleeping):
    # The pieces in turn (no fork): the split and the join are what is tested here.
    rules, _ = read_rules(office.frames.get("rules"))
    rules = Rules(rules | {"calls_per_day": calls, "visits_per_day": visits, "sleeping_per_day": sleeping})
    plan = _same_plan(office, rules, TODAY + timedelta(days=days), forked.in_turn)
    assert len(plan.unplanned) or calls > 3 or plan.tasks.empty  # small capacities leave work unplanned


@needs_fork
def test_refresh_checked_and_analysed_in_two_processes_is_the_same(sample_path, request):
    from xlcrm.doors import refresh

    book, found = load(sample_path)
    agent = book.agents["agent"].iloc[0]
    one = refresh.compute_refresh(book, list(found), agent, TODAY)
    request.getfixturevalue("in_pieces")  # after the one-process run above
    two = refresh.compute_refresh(book, list(found), agent, TODAY)
    pd.testing.assert_frame_equal(one.tasks, two.tasks)
    pd.testing.assert_frame_equal(one.board, two.board)
    pd.testing.assert_frame_equal(one.unplanned, two.unplanned)
    assert one.findings == two.findings and one.left_out == two.left_out and len(one.tasks) > 10


@needs_fork
def test_a_fatal_problem_is_said_before_what_analysing_it_raised(tmp_path, monkeypatch):
    import openpyxl

    from tests.conftest import client, make_workbook
    from xlcrm.doors import refresh
    from xlcrm.io.errors import RefreshError

    path = make_workbook(tmp_path / "wb.xlsx", clients=[client("K1"), client("K2", name="")])
    wb = openpyxl.load_workbook(path)
    wb["客户"]["E1"] = "顾问姓名"  # the required 负责顾问 header renamed: analysing would fail
    wb.save(path)
    book, found = load(path)
    monkeypatch.setattr(forked, "PARALLEL_CLIENTS", 0)

    def breaks(*_args):
        raise ValueError("analysing broke")

    monkeypatch.setattr(refresh, "analyse", breaks)  # as it might on a book that is not whole
    with pytest.raises(RefreshError, match="缺少必填列「负责顾问」"):
        refresh.compute_refresh(book, found, "张伟", TODAY)
    with pytest.raises(ValueError, match="analysing broke"):  # no fatal finding: the error itself
        refresh.compute_refresh(book, [f for f in found if f.severity != "fatal"], "张伟", TODAY)


@needs_fork
def test_weekly_checked_and_planned_in_pieces_writes_the_same_books(sample_path, tmp_path, monkeypatch, request):
    import zipfile

    from xlcrm.doors.weekly_run import run_weekly

    def books(out):
        result = run_weekly(sample_path, out, TODAY, jobs=1)
        parts = {}
        for f in sorted(result.files):
            with zipfile.ZipFile(f) as z:
                parts.update({(f.name, n): z.read(n) for n in z.namelist() if n != "docProps/core.xml"})
        return result, parts

    one, one_parts = books(tmp_path / "one")
    calls = []
    request.getfixturevalue("in_pieces")
    real = forked.in_parallel
    monkeypatch.setattr(forked, "in_parallel", lambda pieces: calls.append(len(pieces)) or real(pieces))
    two, two_parts = books(tmp_path / "two")
    assert calls == [2, 2, 2]  # checks beside the plan; families; the planner's agents
    assert one.findings == two.findings and one.left_out == two.left_out
    assert one_parts.keys() == two_parts.keys() and len(one_parts) > 20
    assert [k for k in one_parts if one_parts[k] != two_parts[k]] == []
