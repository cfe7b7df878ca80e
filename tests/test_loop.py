"""The daily loop: ticks in 我的任务 become 跟进记录 rows, once, and the tasks move on."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from defusedxml import ElementTree
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm.core import vocab
from xlcrm.core.loop import task_id, touches_from_tasks, typed_not_ticked
from xlcrm.io import returned, schema
from xlcrm.io.loader import load
from xlcrm.io.package import sheet_parts, table_parts
from xlcrm.io.splice import append_sheet_xml

from .conftest import TODAY, client, make_workbook, run_cli


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def part_of(path: Path, sheet: schema.Sheet) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        names = sheet_parts(zf)
        part = names[schema.find_sheet(list(names), sheet)]
        return {part, *table_parts(zf, part)}


def task_rows(path: Path) -> tuple[openpyxl.Workbook, list[dict], dict[str, int]]:
    wb = openpyxl.load_workbook(path)
    ws = wb["我的任务"]
    header = [c.value for c in ws[1]][: len(schema.MY_TASKS.columns)]
    at = {h: j + 1 for j, h in enumerate(header)}
    out = []
    for i, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        record = dict(zip(header, row, strict=False))
        if any(row) and record.get("优先级") != "汇总":  # the summary line (待排) is not a task
            out.append(record | {"_row": i})
    return wb, out, at


def contact_rows(path: Path) -> list[dict]:
    ws = openpyxl.load_workbook(path)["跟进记录"]
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], r, strict=False)) for r in values[1:] if any(r)]


@pytest.fixture()
def office(tmp_path):
    """K1 (B, last reached 5 days ago: an overdue call), K2 (C, birthday today: an SMS),
    K3 (the referrer of K4, who was contacted on 11-20: a feedback call is due)."""
    return make_workbook(
        tmp_path / "book.xlsx",
        clients=[client("K1", class_override="B"),
                 client("K2", class_override="C", birthday="1990-11-23"),
                 client("K3", name="李推荐", class_override="C"),
                 client("K4", name="赵被荐", class_override="C")],
        contacts=[{"client_id": "K1", "date": datetime(2026, 11, 18, 10), "channel": "电话"},
                  {"client_id": "K2", "date": datetime(2026, 11, 20, 10), "channel": "电话"},
                  {"client_id": "K3", "date": datetime(2026, 11, 20, 10), "channel": "电话"},
                  {"client_id": "K4", "date": datetime(2026, 11, 20, 11), "channel": "电话"}],
        referrals=[{"referral_id": "R1", "referrer_id": "K3", "referred_name": "赵被荐", "date": date(2026, 11, 19),
                    "referred_client_id": "K4", "state": "已联系"}])


def tick(path: Path, which: dict[tuple[str, str], dict[str, object]]) -> None:
    """Type into 我的任务 like an agent: {(客户编号, 任务 prefix): {header: value}}."""
    wb, rows, at = task_rows(path)
    ws = wb["我的任务"]
    hit = set()
    for r in rows:
        for (cid, task), values in which.items():
            if r["客户编号"] == cid and str(r["任务"]).startswith(task) and (cid, task) not in hit:
                hit.add((cid, task))
                for header, value in values.items():
                    ws.cell(r["_row"], at[header]).value = value
    assert hit == set(which), set(which) - hit
    wb.save(path)


def test_ticks_are_logged_once_and_the_tasks_move_on(office):
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    _wb, before, _at = task_rows(office)
    kinds = {(r["客户编号"], r["任务"]) for r in before}
    assert ("K1", "维护电话") in kinds and ("K2", "发送生日祝福短信") in kinds and ("K3", "向推荐人反馈进展") in kinds
    assert all(r["任务编号"] for r in before)
    k1_id = next(r["任务编号"] for r in before if r["客户编号"] == "K1" and r["任务"] == "维护电话")
    tick(office, {("K1", "维护电话"): {"完成": "是", "备注": "客户说下周再约", "下次跟进日期": datetime(2026, 11, 30)},
                  ("K2", "发送生日祝福短信"): {"完成": "是"},
                  ("K3", "向推荐人反馈进展"): {"结果": "已接通", "完成日期": datetime(2026, 11, 22)}})
    saved = parts(office)
    result = run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23")
    assert result.returncode == 0, result.stderr
    assert "记录了 3 次联系" in result.stdout

    logged = [r for r in contact_rows(office) if r["任务编号"]]
    by_client = {r["客户编号"]: r for r in logged}
    assert set(by_client) == {"K1", "K2", "K3"}
    k1, k2, k3 = by_client["K1"], by_client["K2"], by_client["K3"]
    # The overdue call (due 11-21) ticked without 完成日期 was done since the last refresh: today.
    assert (k1["日期"], k1["顾问"], k1["方式"], k1["事由"], k1["结果"]) == (
        datetime(2026, 11, 23), "张伟", "电话", "日常维护", "已接通")
    assert k1["下次跟进日期"] == datetime(2026, 11, 30) and k1["备注"] == "客户说下周再约"
    assert k1["任务编号"] == k1_id == task_id("K1", "维护电话", date(2026, 11, 21))
    assert (k2["日期"], k2["方式"], k2["事由"], k2["结果"]) == (datetime(2026, 11, 23), "短信", "生日", "已发送")
    assert (k3["日期"], k3["事由"], k3["结果"]) == (datetime(2026, 11, 22), "转介绍", "已接通")

    # Only 跟进记录 (sheet + table), 我的任务 and 客户看板 changed; every other part is the same bytes.
    after = parts(office)
    changed = {n for n in after if after[n] != saved.get(n)}
    allowed = part_of(office, schema.CONTACTS) | part_of(office, schema.MY_TASKS) | part_of(office, schema.BOARD)
    assert set(after) == set(saved) and changed <= allowed and part_of(office, schema.CONTACTS) <= changed
    # The old 跟进记录 rows are untouched, the table covers the new rows.
    wb = openpyxl.load_workbook(office)
    assert wb["跟进记录"].tables["Contacts"].ref == f"A1:{schema.column_letter_of(schema.CONTACTS, 'task_id')}8"
    assert wb["跟进记录"]["B2"].value == datetime(2026, 11, 18, 10)
    assert wb["跟进记录"]["B5"].number_format == wb["跟进记录"]["B2"].number_format
    for name in after:
        if name.endswith(".xml"):
            ElementTree.fromstring(after[name])

    _wb, now, _at = task_rows(office)
    left = {(r["客户编号"], r["任务"]) for r in now}
    assert ("K2", "发送生日祝福短信") not in left and ("K3", "向推荐人反馈进展") not in left
    k1_calls = sorted(r["日期"] for r in now if r["客户编号"] == "K1" and r["任务"] == "维护电话")
    assert k1_calls and k1_calls[0] > datetime(2026, 11, 23)  # moved on: next one 3 days later
    board = {r[0]: r for r in wb["客户看板"].iter_rows(min_row=2, values_only=True)}
    assert board["K1"][schema.BOARD.keys.index("status")] == vocab.NORMAL
    assert not any(r["完成"] or r["结果"] for r in now)

    # A second refresh logs nothing new.
    again = run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23")
    assert "记录了 0 次联系" in again.stdout
    assert len(contact_rows(office)) == 7


def test_a_tick_that_reached_nobody_keeps_the_task_for_the_next_try(office):
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    tick(office, {("K1", "维护电话"): {"结果": "未接通"}})
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    _wb, rows, _at = task_rows(office)
    retry = [r for r in rows if r["客户编号"] == "K1" and r["任务"] == "维护电话"][0]
    assert retry["任务编号"] == task_id("K1", "维护电话", date(2026, 11, 21)) + "-2"
    tick(office, {("K1", "维护电话"): {"完成": "是"}})
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    tries = [r for r in contact_rows(office) if r["客户编号"] == "K1" and r["任务编号"]]
    assert [r["结果"] for r in tries] == ["未接通", "已接通"]


def test_the_ribbon_adapter_logs_the_same(office):
    from xlcrm.doors.excel import FileTarget, run_refresh

    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    tick(office, {("K2", "发送生日祝福短信"): {"完成": "是"}})
    target = FileTarget(office, agent="张伟")
    assert run_refresh(target, TODAY, login=None)
    assert "记录了 1 次联系" in target.messages[-1]
    assert [r["事由"] for r in contact_rows(office) if r["任务编号"]] == ["生日"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["K1", "K2", None, "X9"]),
                          st.sampled_from([vocab.PHONE, vocab.SMS, vocab.VISIT, vocab.WECHAT]),
                          st.sampled_from([None, *vocab.OUTCOMES]), st.booleans(),
                          st.integers(-5, 5), st.one_of(st.none(), st.integers(-3, 0)),
                          st.sampled_from([None, "", "  ", "回电"])), max_size=12))
def test_touch_rules(rows):
    frame = pd.DataFrame([{"client_id": c, "channel": ch, "outcome": o, "done": vocab.YES if d else None,
                           "planned": pd.Timestamp(TODAY) + pd.Timedelta(days=p),
                           "done_date": None if dd is None else pd.Timestamp(TODAY) + pd.Timedelta(days=dd),
                           "task_id": None if c is None else task_id(c, vocab.BIRTHDAY_WISH, date(2026, 11, 20 + p)),
                           "notes": n, "_row": i + 2, "task": "x"}
                          for i, (c, ch, o, d, p, dd, n) in enumerate(rows)],
                         columns=["client_id", "channel", "outcome", "done", "planned", "done_date", "task_id",
                                  "notes", "_row", "task"])
    out = touches_from_tasks(frame, TODAY, "张伟", set(), {"K1", "K2"})
    ticked = frame[(frame["done"] == vocab.YES) | frame["outcome"].notna()]
    assert len(out.touches) + out.already + len(out.skipped) == len(ticked)
    # A date or a note typed on a row that is not ticked logs nothing, and is said so.
    typed = frame["done_date"].notna() | frame["notes"].map(lambda n: isinstance(n, str) and bool(n.strip()))
    warned = typed_not_ticked(frame, ["done_date", "promised_date", "next_follow_up", "notes"])
    assert {row for row, _keys, _sheet in warned} == set(frame.loc[typed, "_row"]) - set(ticked["_row"])
    assert out.touches["task_id"].is_unique
    for t in out.touches.to_dict("records"):
        src = ticked[ticked["task_id"] == t["task_id"]].iloc[0]
        assert t["date"] <= datetime(2026, 11, 23) or src["done_date"] is not None
        if src["done_date"] is not None and not pd.isna(src["done_date"]):
            assert t["date"] == src["done_date"]
        elif src["planned"] <= pd.Timestamp(TODAY):
            assert t["date"] == src["planned"]
        else:
            assert t["date"] == datetime(2026, 11, 23)
        want = src["outcome"] if isinstance(src["outcome"], str) else (
            "已发送" if src["channel"] in (vocab.SMS, vocab.WECHAT) else "已拜访" if src["channel"] == vocab.VISIT
            else "已接通")
        assert t["outcome"] == want and t["purpose"] == vocab.BIRTHDAY and t["channel"] == src["channel"]
    # Logging the same rows again with what was logged adds nothing.
    again = touches_from_tasks(frame, TODAY, "张伟", set(out.touches["task_id"]), {"K1", "K2"})
    assert again.touches.empty


def test_append_keeps_every_existing_byte_and_numbers_rows():
    sheet = (b'<worksheet><dimension ref="A1:C3"/><cols><col min="2" max="2" style="7"/></cols><sheetData>'
             b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="3" spans="1:3"><c r="A3" s="4"><v>1</v></c>'
             b'<c r="B3" s="9"><v>46000</v></c></row></sheetData><tableParts count="1"/></worksheet>')
    new, first = append_sheet_xml(sheet, ["A", "B"], [("K1", datetime(2026, 11, 23)), ("=1+1", None)])
    assert first == 4
    assert new.startswith(b'<worksheet><dimension ref="A1:C5"/>')
    assert sheet[sheet.index(b"<cols>"):sheet.index(b"</sheetData>")] in new
    tree = ElementTree.fromstring(new)
    rows = tree.findall("./sheetData/row")
    assert [r.get("r") for r in rows] == ["1", "3", "4", "5"]
    assert rows[2][1].get("s") == "9" and rows[2][0].get("s") == "4"
    assert rows[3][0].get("t") == "inlineStr" and not tree.findall(".//f")
    empty, first = append_sheet_xml(b"<worksheet><sheetData/></worksheet>", ["A"], [("K1",)])
    assert first == 2 and b'<row r="2">' in empty


def test_the_contacts_sheet_without_a_task_number_column_still_loads(tmp_path):
    path = make_workbook(tmp_path / "old.xlsx", clients=[client("K1")],
                         contacts=[{"client_id": "K1", "date": datetime(2026, 11, 18), "channel": "电话"}])
    wb = openpyxl.load_workbook(path)
    ws = wb["跟进记录"]
    ws.tables["Contacts"].ref = "A1:J2"
    ws.delete_cols(11)
    wb.save(path)
    book, findings = load(path)
    assert not [f for f in findings if f.severity != "warning"] and book.contacts["task_id"].isna().all()


def test_logged_touches_close_tasks_without_hand_edits():
    """DOMAIN: the rules read what was logged, whatever the 任务编号 (point 4 of the loop)."""
    from xlcrm.core.rules import DEFAULT_RULES
    from xlcrm.core.tasks import next_actions

    from .conftest import book_of

    def kinds(contacts, state="已联系"):
        book = book_of(
            clients=[client("K3", class_override="C"), client("K4", class_override="C", last_deal_date=date(2026, 10, 25),
                                                              stage="成交", deal_count=1)],
            contacts=[{"client_id": "K4", "date": datetime(2026, 11, 20, 11), "channel": "电话"},
                      {"client_id": "K4", "date": datetime(2026, 11, 22, 9), "channel": "来电", "purpose": "首次来电"},
                      *contacts],
            referrals=[{"referral_id": "R1", "referrer_id": "K3", "referred_name": "赵", "date": date(2026, 11, 19),
                        "referred_client_id": "K4", "state": state}])
        t = next_actions(book, DEFAULT_RULES, TODAY, 7)
        return set(zip(t["client_id"], t["kind"], strict=True))

    assert {("K3", vocab.REFERRAL_FEEDBACK), ("K4", vocab.SURVEY_CALL), ("K4", vocab.ROUTE_SMS)} <= kinds([])
    # The referred person reached on 11-20 counts as contacted even if 状态 still says 新推荐.
    assert ("K3", vocab.REFERRAL_FEEDBACK) in kinds([], state="新推荐")
    assert ("K4", vocab.REFERRAL_CONTACT) not in kinds([], state="新推荐")
    told = {"client_id": "K3", "date": datetime(2026, 11, 21), "channel": "电话", "purpose": "转介绍"}
    assert ("K3", vocab.REFERRAL_FEEDBACK) not in kinds([told])
    assert ("K3", vocab.REFERRAL_FEEDBACK) in kinds([told | {"outcome": "未接通"}])
    assert ("K3", vocab.REFERRAL_FEEDBACK) in kinds([told | {"date": datetime(2026, 11, 19)}])  # before K4 was reached
    survey = {"client_id": "K4", "date": datetime(2026, 11, 23), "channel": "电话", "purpose": "满意度回访"}
    assert ("K4", vocab.SURVEY_CALL) not in kinds([survey])
    sms = {"client_id": "K4", "date": datetime(2026, 11, 22, 9, 5), "channel": "短信", "purpose": "首次来电"}
    assert ("K4", vocab.ROUTE_SMS) not in kinds([sms])


def tick_week(path: Path, sheet: str, which: dict[str, dict[str, object]]) -> None:
    """Type into a weekly workbook's sheet: {客户编号: {header: value}} on its first task row."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[2]]
    at = {h: j + 1 for j, h in enumerate(header) if h}
    done = set()
    for i in range(3, ws.max_row + 1):
        cid = ws.cell(i, at["客户编号"]).value
        if cid in which and cid not in done and ws.cell(i, at["任务编号"]).value:
            done.add(cid)
            for h, v in which[cid].items():
                ws.cell(i, at[h]).value = v
    assert done == set(which)
    wb.save(path)


def test_collect_logs_returned_weekly_workbooks_once_and_refuses_strangers(office, tmp_path):
    out = tmp_path / "reports"
    assert run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    agent_book = out / "2026-W48" / "张伟.xlsx"
    wb = openpyxl.load_workbook(agent_book)
    plan_header = [c.value for c in wb["本周计划"][2]]
    assert plan_header == [c.zh for c in schema.WEEK_PLAN.columns]
    assert [c.value for c in wb["短信草稿"][2]] == [c.zh for c in schema.WEEK_SMS.columns]
    tick_week(agent_book, "本周计划", {"K1": {"完成": "是", "完成日期": datetime(2026, 11, 24)},
                                     "K3": {"结果": "未接通"}})
    tick_week(agent_book, "短信草稿", {"K2": {"完成": "是"}})
    before = parts(office)

    result = run_cli("collect", office, out)
    assert result.returncode == 0, result.stderr
    assert "张伟.xlsx: 记录 3 次联系,已在跟进记录 0 次" in result.stdout and "共记录 3 次联系" in result.stdout
    logged = {r["客户编号"]: r for r in contact_rows(office) if r["任务编号"]}
    assert (logged["K1"]["日期"], logged["K1"]["顾问"], logged["K1"]["结果"]) == (datetime(2026, 11, 24), "张伟", "已接通")
    assert (logged["K2"]["方式"], logged["K2"]["事由"], logged["K2"]["结果"]) == ("短信", "生日", "已发送")
    assert logged["K3"]["结果"] == "未接通" and logged["K3"]["事由"] == "转介绍"
    after = parts(office)
    changed = {n for n in after if after[n] != before[n]}
    assert set(after) == set(before) and changed == part_of(office, schema.CONTACTS)

    again = run_cli("collect", office, agent_book)
    assert again.returncode == 0 and "记录 0 次联系,已在跟进记录 3 次" in again.stdout
    assert parts(office) == after
    quiet = run_cli("collect", office, agent_book, "-q")  # nothing went wrong: nothing to say
    assert (quiet.returncode, quiet.stdout) == (0, "")

    other = make_workbook(tmp_path / "other.xlsx", clients=[client("K1")])
    other_before = parts(other)
    refused = run_cli("collect", other, agent_book)
    assert refused.returncode == 1 and "由另一个主工作簿生成" in refused.stdout and "Traceback" not in refused.stderr
    assert parts(other) == other_before
    quiet = run_cli("collect", "-q", other, agent_book)  # a refusal is a problem: still said
    assert quiet.returncode == 1 and quiet.stdout.splitlines() == [line for line in refused.stdout.splitlines()
                                                                   if "没有导入" in line]

    # Re-running weekly for the week refuses to overwrite the ticked workbook, unless --force.
    ticked = agent_book.read_bytes()
    again = run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q")
    assert again.returncode == 1 and "张伟.xlsx" in again.stderr and "--force" in again.stderr
    assert agent_book.read_bytes() == ticked
    forced = run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "2026-W48" / "张伟.bak.xlsx").read_bytes() == ticked
    assert agent_book.read_bytes() != ticked


def test_excel_adapter_lays_rows_out_over_the_table_columns():
    from xlcrm.doors.excel import contact_matrix, next_table_row

    matrix, first = contact_matrix(["A", "B", "D"], [("K1", datetime(2026, 11, 23), "=x"), ("K2", None, "ok")])
    assert first == 1 and matrix == [["K1", datetime(2026, 11, 23), None, "'=x"], ["K2", None, None, "ok"]]
    assert next_table_row(2, [None, None, None]) == 2  # the empty body row of a new table is filled
    assert next_table_row(2, ["K1", None]) == 3
    assert next_table_row(9, [["K1"], ["K2"]]) == 10


def test_collect_logs_a_task_once_when_two_returned_files_carry_it(office, tmp_path):
    """The same workbook sent back twice (a copy under another name) in one collect: the
    second file's tick is already in 跟进记录 by the time it is read."""
    out = tmp_path / "reports"
    assert run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    agent_book = out / "2026-W48" / "张伟.xlsx"
    tick_week(agent_book, "本周计划", {"K1": {"完成": "是"}})
    copy = tmp_path / "张伟(副本).xlsx"
    shutil.copy(agent_book, copy)
    before = len(contact_rows(office))
    result = run_cli("collect", office, agent_book, copy)
    assert result.returncode == 0, result.stderr
    assert "张伟.xlsx: 记录 1 次联系,已在跟进记录 0 次" in result.stdout
    assert "张伟(副本).xlsx: 记录 0 次联系,已在跟进记录 1 次" in result.stdout
    assert len(contact_rows(office)) == before + 1


def test_collect_reads_what_was_typed_and_says_so_for_untouched_books(office, tmp_path):
    """Only rows an agent typed into are typed cell by cell: an untouched book still says
    it had nothing to log (not "没有任务行"), and a bad date typed on a row that was not
    ticked is still reported at its cell."""
    out = tmp_path / "reports"
    assert run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    book = out / "2026-W48" / "张伟.xlsx"
    untouched = tmp_path / "untouched" / "张伟.xlsx"
    untouched.parent.mkdir()
    shutil.copy(book, untouched)
    tick_week(book, "本周计划", {"K1": {"完成日期": "11月32日"}, "K3": {"完成": "是"}})
    wb = openpyxl.load_workbook(book)
    ws = wb["本周计划"]
    header = [c.value for c in ws[2]]
    bad = next(f"{openpyxl.utils.get_column_letter(header.index('完成日期') + 1)}{r}" for r in range(3, ws.max_row + 1)
               if ws.cell(r, header.index("完成日期") + 1).value == "11月32日")
    rows = returned.week_rows(book, typed_only=True)
    assert rows.total == len(returned.week_rows(book).rows) > 2 and len(rows.rows) == 2
    assert returned.is_ticked(book) and not returned.is_ticked(untouched)
    result = run_cli("collect", office, untouched)
    assert result.returncode == 0 and "张伟.xlsx: 记录 0 次联系,已在跟进记录 0 次" in result.stdout, result.stdout
    result = run_cli("collect", office, book)
    assert result.returncode == 0 and "张伟.xlsx: 记录 1 次联系" in result.stdout
    assert f"本周计划!{bad}" in result.stdout + result.stderr and "11月32日" in result.stdout + result.stderr


def test_a_note_typed_without_a_tick_is_not_logged_and_the_agent_is_told_where(office, tmp_path):
    """Only 完成=是 or a 结果 makes a touch. A note or a date typed alone is left out, and
    the message names the row's 完成 cell: in 我的任务 (rewritten by the refresh), and in a
    returned workbook's 短信草稿, whose 完成 is not in 我的任务's column, named with its file."""
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    _wb, rows, at = task_rows(office)
    first = rows[0]
    tick(office, {(first["客户编号"], first["任务"]): {"备注": "客户说月底再打", "下次跟进日期": "11.30"}})
    before = len(contact_rows(office))
    result = run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23")
    done = openpyxl.utils.get_column_letter(at["完成"])
    assert result.returncode == 0
    assert (f"我的任务!{done}{first['_row']}: 填了「下次跟进日期」、「备注」,但没有填「完成」(是)或「结果」"
            in result.stdout + result.stderr), result.stdout + result.stderr
    assert len(contact_rows(office)) == before

    out = tmp_path / "reports"
    assert run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    book = out / "2026-W48" / "张伟.xlsx"
    tick_week(book, "短信草稿", {"K2": {"备注": "生日当天再发"}})
    ws = openpyxl.load_workbook(book)["短信草稿"]
    header = [c.value for c in ws[2]]
    row = next(r for r in range(3, ws.max_row + 1) if ws.cell(r, header.index("备注") + 1).value == "生日当天再发")
    result = run_cli("collect", office, book)
    said = result.stdout + result.stderr
    assert result.returncode == 0 and "张伟.xlsx: 记录 0 次联系,已在跟进记录 0 次,1 行未记录" in said, said
    letter = openpyxl.utils.get_column_letter(header.index("完成") + 1)
    assert letter != done and f"[张伟.xlsx]短信草稿!{letter}{row}: 填了「备注」" in said, said
    assert len(contact_rows(office)) == before


def test_collect_reports_what_was_typed_anywhere_even_a_zero(office, tmp_path):
    """A 0 pasted into 完成日期, or a note typed right of the table (no header), is not a
    touch, but it is a value the agent put there: collect names its cell."""
    out = tmp_path / "reports"
    assert run_cli("weekly", office, "--out", out, "--week", "2026-11-23", "-q").returncode == 0
    book = out / "2026-W48" / "张伟.xlsx"
    wb = openpyxl.load_workbook(book)
    ws = wb["本周计划"]
    header = [c.value for c in ws[2]]
    first, second = [r for r in range(3, ws.max_row + 1) if ws.cell(r, header.index("任务编号") + 1).value][:2]
    ws.cell(first, header.index("完成日期") + 1).value = 0
    right = len(header) + 2
    ws.cell(second, right).value = "客户说下周再打"
    wb.save(book)
    result = run_cli("collect", office, book)
    said = result.stdout + result.stderr
    date_at = openpyxl.utils.get_column_letter(header.index("完成日期") + 1)
    assert result.returncode == 0 and f"[张伟.xlsx]本周计划!{date_at}{first}: 完成日期 '0" in said, said
    assert f"[张伟.xlsx]本周计划!{openpyxl.utils.get_column_letter(right)}{second}: 此列没有表头" in said, said
