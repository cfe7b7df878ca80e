"""`xlcrm weekly`: agent workbooks and the team summary, read back with openpyxl."""

from __future__ import annotations

import struct
import subprocess
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from xlcrm.core.weekly import coming_monday, iso_week, week_monday
from xlcrm.io import schema
from xlcrm.io.reports import safe_filename

from .conftest import client, make_workbook, run_cli, to_pdf


def touch(cid, when, channel="电话", outcome="已沟通", **kw):
    return {"client_id": cid, "date": when, "channel": channel, "outcome": outcome, **kw}


AGENTS = [{"agent": "张伟", "active": "是"}, {"agent": "李娜", "active": "是"},
          {"agent": "CON", "active": "是"}, {"agent": "离职的人", "active": "否"}]


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("weekly")
    path = make_workbook(
        tmp / "office.xlsx", agents=AGENTS,
        clients=[
            client("客Z1", name="赵一", agent="张伟", class_override="B", phone="13811110001"),
            client("客Z2", name="=cmd|' /C calc'!A0", agent="张伟", class_override="A", phone="13811110002",
                   birthday=date(1980, 11, 28)),
            client("客Z3", name="钱三", agent="张伟", class_override="C", phone="13811110003"),
            client("客L1", name="孙四", agent="李娜", class_override="B", phone="13922220001"),
            client("客L2", name="李五", agent="李娜", class_override="D", phone="13922220002", stage="成交",
                   deal_value=9, churn_reason="价格"),
            client("客C1", name="周六", agent="CON", class_override="C", phone="13733330001"),
        ],
        contacts=[touch("客Z1", datetime(2026, 11, 18, 10)), touch("客Z2", datetime(2026, 11, 22, 10)),
                  touch("客Z3", datetime(2026, 11, 20, 10), promised_date=date(2026, 11, 25)),
                  touch("客L1", datetime(2026, 11, 16, 10), "拜访"), touch("客L1", datetime(2026, 11, 17, 10), "拜访"),
                  touch("客C1", datetime(2026, 5, 1, 10))],
        referrals=[{"referral_id": "T1", "referrer_id": "客Z1", "referred_name": "孙四", "date": date(2026, 11, 10),
                    "referred_client_id": "客L1", "state": "已联系"},
                   {"referral_id": "T2", "referrer_id": "客L1", "referred_name": "吴七", "date": date(2026, 11, 20),
                    "state": "新推荐", "referred_phone": "13655550000"}],
    )
    out = tmp / "reports"
    result = run_cli("weekly", path, "--out", out, "--week", "2026-11-25", "-q")
    assert result.returncode == 0, result.stderr
    return path, out / "2026-W48", result


def values(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def test_files_per_active_agent_and_summary(office):
    _, folder, result = office
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["张伟.xlsx", "李娜.xlsx", "_CON.xlsx", "团队汇总.xlsx"])
    assert str(folder) in result.stdout


def test_agent_plan_has_the_right_tasks_on_the_right_days(office):
    _, folder, _ = office
    sheets = values(folder / "张伟.xlsx")
    assert list(sheets) == ["本周计划", "本周关怀", "逾期与沉睡", "转介绍跟进", "生日台历", "短信草稿", "关键人"]
    plan = sheets["本周计划"]
    assert "张伟" in plan[0][0] and "2026-W48" in plan[0][0]
    rows = [r for r in plan[2:] if r[2]]
    by_client = {}
    for r in rows:
        by_client.setdefault((r[2], r[5]), []).append(r[0].date())
    # B client last reached 11-18: overdue since 11-21, carried to Monday, then every 3 days
    # (11-29 is a Sunday: next week). One row per client and day: other calls join it.
    z1 = sorted(r[0].date() for r in rows if r[2] == "客Z1" and "维护电话" in r[5])
    assert z1 == [date(2026, 11, 23), date(2026, 11, 26)]
    overdue = next(r for r in rows if r[2] == "客Z1" and "维护电话" in r[5])
    assert overdue[9].date() <= date(2026, 11, 21)  # 原定日期: the earliest of the joined tasks
    assert by_client[("客Z3", "兑现承诺:按时给客户反馈")] == [date(2026, 11, 25)]
    # A client's birthday on Saturday 11-28: the visit is on Friday.
    assert [r[0].date() for r in rows if r[2] == "客Z2" and "生日拜访(带鲜花/蛋糕)" in r[5]] == [date(2026, 11, 27)]
    bands = [r[0] for r in plan if isinstance(r[0], str) and "星期" in r[0]]
    assert len(bands) == 7 and bands[0].startswith("11月23日 星期一")
    care = sheets["本周关怀"]
    assert any(r[4] and "生日拜访(带鲜花/蛋糕)" in r[4] for r in care)


def test_team_summary_totals_equal_source_counts(office):
    _, folder, _ = office
    wb = openpyxl.load_workbook(folder / "团队汇总.xlsx")
    rows = [r for r in wb["团队汇总"].iter_rows(min_row=3, values_only=True) if r[0]]
    table = {r[0]: r for r in rows}
    assert set(table) == {"张伟", "李娜", "CON", "合计"}
    assert table["张伟"][1:6] == (3, 1, 1, 1, 0)  # clients, A, B, C, D
    assert table["李娜"][1] == 2 and table["合计"][1] == 6
    assert table["张伟"][6] == 1  # Z1 overdue
    assert table["CON"][8] == 1  # C1 asleep
    assert table["李娜"][10] == 2 and table["李娜"][12] == "达标"  # two visits last week
    assert table["张伟"][12] == "未达标"
    funnel = {r[0]: r for r in wb["转介绍漏斗"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert funnel["张伟"][1:5] == (1, 1, 0, 0) and funnel["李娜"][1:5] == (1, 0, 0, 0)
    churn = list(wb["流失原因"].iter_rows(min_row=2, values_only=True))
    # 李五 churned (价格) with no 流失日期: in neither period, counted apart.
    assert churn[0][:2] == ("顾问", "价格") and ("李娜", 0) in [r[:2] for r in churn]
    assert any(r[0] and "1 位流失客户没有填「流失日期」" in r[0] for r in churn)
    charts = [c for ws in wb for c in ws._charts]
    assert len(charts) == 4  # classes, overdue, referral funnel, churn by month
    with zipfile.ZipFile(folder / "团队汇总.xlsx") as zf:
        assert sum(n.startswith("xl/charts/chart") for n in zf.namelist()) == 4


def test_print_settings(office):
    _, folder, _ = office
    for name in ("张伟.xlsx", "团队汇总.xlsx"):
        for ws in openpyxl.load_workbook(folder / name):
            assert ws.page_setup.orientation == "landscape"
            assert ws.page_setup.paperSize in (9, "9")
            if ws.title == "生日台历":  # one page: nothing to repeat
                assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight in (1, None)
                continue
            # The page header carries the title on every page; the title row (row 1) stays
            # off the paper so page 1 does not print it twice; the column headers repeat.
            assert ws.print_title_rows == "$2:$2"
            assert ws.print_area.split("!")[1].startswith("$A$2:")
            title = ws["A1"].value
            assert ws.title in title and ws.oddHeader.left.text.endswith(title)
            assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (1, None)


def test_long_reasons_wrap_in_rows_tall_enough(office):
    from xlcrm.io.reports import LINE_HEIGHT, wrapped_lines

    _, folder, _ = office
    ws = openpyxl.load_workbook(folder / "张伟.xlsx")["本周计划"]
    reason = [c.value for c in ws[2]].index("原因")
    width = ws.column_dimensions["H"].width
    checked = 0
    for row in ws.iter_rows(min_row=3):
        cell = row[reason]
        if isinstance(cell.value, str) and cell.value:
            assert cell.alignment.wrap_text
            lines = wrapped_lines(cell.value, width)
            assert (ws.row_dimensions[cell.row].height or LINE_HEIGHT) >= LINE_HEIGHT * lines
            checked += 1
    assert checked
    assert wrapped_lines("短" * 40, 40) == 2 and wrapped_lines("a" * 30, 40) == 1


def test_privacy_and_formula_text_in_every_output(office):
    _, folder, _ = office
    clients = {"张伟": ["客Z1", "赵一", "13811110001", "客Z2", "13811110002", "客Z3", "钱三", "13811110003"],
               "李娜": ["客L1", "孙四", "13922220001", "客L2", "李五", "13922220002", "吴七"],
               "_CON": ["客C1", "周六", "13733330001"]}
    for agent, own in clients.items():
        with zipfile.ZipFile(folder / f"{agent}.xlsx") as zf:
            text = "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))
        assert own[0] in text  # the agent's own clients are there
        others = [v for a, vs in clients.items() if a != agent for v in vs]
        for value in others:
            assert value not in text, f"{value} leaked into {agent}.xlsx"
    for path in folder.iterdir():
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("xl/worksheets/"):
                    assert "<f>" not in zf.read(name).decode()
    plan = values(folder / "张伟.xlsx")["本周计划"]
    assert "=cmd|' /C calc'!A0" in [r[3] for r in plan]
    refs = values(folder / "张伟.xlsx")["转介绍跟进"]
    assert any(r[3] == "(其他顾问的客户)" for r in refs)


def test_pdf_of_each_kind_names_agent_and_week(office, tmp_path):
    _, folder, _ = office
    for name, needle in (("张伟.xlsx", "张伟"), ("团队汇总.xlsx", "团队汇总")):
        pdf = to_pdf(folder / name, tmp_path)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert needle in text and "2026-W48" in text


def test_parallel_jobs_write_the_same_files(office, tmp_path):
    path, folder, _ = office
    assert run_cli("weekly", path, "--out", tmp_path, "--week", "2026-11-23", "--jobs", "2", "-q").returncode == 0
    for file in folder.iterdir():
        assert values(file) == values(tmp_path / "2026-W48" / file.name)


def test_weeks_and_file_names():
    assert week_monday(date(2026, 11, 29)) == date(2026, 11, 23)
    assert coming_monday(date(2026, 11, 24)) == date(2026, 11, 30)
    assert coming_monday(date(2026, 11, 23)) == date(2026, 11, 23)
    assert iso_week(date(2026, 12, 28)) == "2026-W53" and iso_week(date(2027, 1, 4)) == "2027-W01"
    taken: set[str] = set()
    assert safe_filename("a/b\\c:d*e?", taken) == "a_b_c_d_e_"
    assert safe_filename("lpt1", taken) == "_lpt1"
    assert safe_filename("张伟. ", taken) == "张伟"
    assert safe_filename("张伟", taken) == "张伟_2"
    assert safe_filename("..", taken) == "顾问"


def _parts(folder):
    """Every XML part of every workbook in `folder`, but the creation time."""
    import re

    out = {}
    for file in sorted(folder.glob("*.xlsx")):
        with zipfile.ZipFile(file) as zf:
            for part in zf.namelist():
                data = zf.read(part)
                if part == "docProps/core.xml":
                    data = re.sub(rb"<dcterms:(created|modified)[^<]*<", b"", data)
                out[file.name, part] = data
    return out


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_worker_processes_write_byte_identical_files(office, tmp_path, monkeypatch, start):
    """Forked workers read the week from memory, spawned ones get it pickled: either way
    every part of every workbook is what one process writes, 团队汇总 included."""
    import multiprocessing

    from xlcrm.doors.weekly_run import run_weekly

    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start} here")
    path, _, _ = office
    one = run_weekly(path, tmp_path / "one", date(2026, 11, 23), 1)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: [start])
    two = run_weekly(path, tmp_path / "two", date(2026, 11, 23), 2)
    assert [p.name for p in two.files] == [p.name for p in one.files]
    assert two.files[-1].name == "团队汇总.xlsx"
    parts = _parts(one.folder)
    assert len(parts) > 40 and parts == _parts(two.folder)


def test_every_kind_of_value_is_written_as_before(tmp_path):
    """The writer picks a cell writer by the value's class: each class still lands as
    the value it was (numbers of every numpy width, dates of every kind, NaN/NaT/None
    blank, booleans as 是/否, text verbatim and never a formula, over-long text capped)."""
    import numpy as np
    import pandas as pd

    from xlcrm.core.messages import CAP_MARKER, CELL_LIMIT
    from xlcrm.io.reports import Book, Sheet

    values = [1, 2.5, np.int64(3), np.float64(4.5), np.int32(5), float("nan"), np.float64("nan"), None, pd.NaT,
              True, np.bool_(False), date(2026, 11, 23), datetime(2026, 11, 24, 12), pd.Timestamp("2026-11-25"),
              "=1+1", "长" * (CELL_LIMIT + 5), pd.NA, "  空格 "]
    book = Book(tmp_path / "v.xlsx")
    s = Sheet(book, "表", "标题", [(f"c{j}", 10) for j in range(len(values))])
    s.write(values, book.text)
    s.write(list(reversed(values)), book.overdue)  # the same classes again, from the cache
    odd = [float("inf"), np.float32("nan"), np.float64("-inf"), "控\x01制\x0b符\ufffe", "x_x0041_y"]
    s.write(odd, book.text)
    book.close()
    # No number for ±inf; what XML cannot hold is dropped; the same in every reader, through
    # the plain rows and through xlsxwriter's API alike.
    from .filecheck import check_file
    assert check_file(tmp_path / "v.xlsx")["表"][4] == [None, None, None, "控制符", "x_x0041_y"]
    api = Book(tmp_path / "api.xlsx", plain=False)
    Sheet(api, "表", "标题", [(f"c{j}", 10) for j in range(len(odd))]).write(odd, api.text)
    api.close()
    assert check_file(tmp_path / "api.xlsx")["表"][2] == [None, None, None, "控制符", "x_x0041_y"]
    ws = openpyxl.load_workbook(tmp_path / "v.xlsx")["表"]
    expected = [1, 2.5, 3, 4.5, 5, None, None, None, None, "是", 0, datetime(2026, 11, 23), datetime(2026, 11, 24, 12),
                datetime(2026, 11, 25), "=1+1", "长" * (CELL_LIMIT - len(CAP_MARKER)) + CAP_MARKER, "<NA>", "  空格 "]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3, max_row=4)]
    assert rows == [expected, list(reversed(expected))]
    assert ws.cell(3, 12).number_format == "yyyy-mm-dd" and ws.cell(4, 7).number_format == "yyyy-mm-dd"
    overdue = ws.cell(4, 1).fill.fgColor.rgb
    assert overdue not in (None, "00000000") and ws.cell(3, 1).fill.fill_type is None
    # Blanks and dates keep the row's look (a date gets the row's format with a date format).
    assert ws.cell(4, 8).fill.fgColor.rgb == ws.cell(4, 7).fill.fgColor.rgb == overdue


def test_date_serials_do_not_depend_on_xlsxwriters_private_helper():
    """The weekly writer takes a date's serial from xlsxwriter's private helper for speed;
    without it (a later xlsxwriter) openpyxl's public conversion gives the same numbers."""
    from datetime import datetime as dt

    import pandas as pd
    import xlsxwriter

    from xlcrm.io.reports import Book

    ws = xlsxwriter.Workbook(None, {"in_memory": True}).add_worksheet()

    class Bare:  # a worksheet without _convert_date_time
        pass

    for value in (dt(2026, 11, 23, 9, 30), dt(1900, 3, 1), dt(2027, 2, 6), pd.Timestamp("2026-12-31 23:59:59")):
        assert Book.serial(Bare(), value) == Book.serial(ws, value)


def test_weekly_books_are_deflated_fast_and_read_back_whole(office, tmp_path):
    """The weekly books are deflated by ISA-L at level 1 (zlib's default level is ten times
    slower): every part is a valid deflate stream whose CRC checks, the stream is ISA-L's
    (not what zlib writes for the same bytes), and zipfile's own compressor is back after."""
    import zlib

    from isal import isal_zlib

    from xlcrm.doors.weekly_run import run_weekly

    before = zipfile._get_compressor
    result = run_weekly(office[0], tmp_path, date(2026, 11, 23), 1)
    assert zipfile._get_compressor is before
    book = next(p for p in result.files if p.name != "团队汇总.xlsx")
    with zipfile.ZipFile(book) as zf:
        assert zf.testzip() is None
        info = max(zf.infolist(), key=lambda i: i.file_size)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        data = zf.read(info)
        with open(book, "rb") as raw:
            raw.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", raw.read(4))
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            stored = raw.read(info.compress_size)
    fast = isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
    slow = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert stored == fast.compress(data) + fast.flush()
    assert stored != slow.compress(data) + slow.flush()


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_template_problems_found_while_writing_reach_the_summary(tmp_path, monkeypatch, start):
    """SMS drafts are rendered by the processes that write the books: a template that fails
    there is still reported, once, as with one process, and the draft falls back to the
    shipped wording."""
    import multiprocessing

    from xlcrm.doors.weekly_run import run_weekly

    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start} here")
    clients = [client(f"客{i}", name=f"王{i}", agent=("张伟", "李娜")[i % 2], phone=f"1381111{i:04d}",
                      birthday=date(1980, 11, 24 + i % 4)) for i in range(8)]
    path = make_workbook(tmp_path / "t.xlsx", agents=AGENTS, clients=clients,
                         templates=[("生日祝福", "{{ 称呼 // 0 }}")])
    one = run_weekly(path, tmp_path / "one", date(2026, 11, 23), 1)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: [start])
    two = run_weekly(path, tmp_path / "two", date(2026, 11, 23), 2)
    said = [str(f) for f in two.findings if "生日祝福" in f.message]
    assert said == [str(f) for f in one.findings if "生日祝福" in f.message]
    assert len(said) == 1 and "无法生成" in said[0], said
    assert _parts(one.folder) == _parts(two.folder)
    book = openpyxl.load_workbook(two.folder / "张伟.xlsx")
    drafts = [c.value for c in book[schema.WEEK_SMS.zh]["F"] if isinstance(c.value, str) and "生日" in c.value]
    assert drafts and all("王" in d for d in drafts)


def test_weekly_says_what_validation_found(tmp_path):
    # The checks run beside the plan (a forked process on a big office): what they find is
    # still said, row and cell, and the books are written.
    path = make_workbook(tmp_path / "wb.xlsx", clients=[client("K1")],
                         contacts=[touch("K1", datetime(2026, 11, 18, 10)), touch("K404", datetime(2026, 11, 19, 10))])
    result = run_cli("weekly", path, "--out", tmp_path / "out", "--week", "2026-11-23")
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "跟进记录!A3" in said and "'K404' 在「客户」表中不存在" in said
