"""Issue 12: nothing lost, nothing hangs, no traceback (DOMAIN: Reliability expectations)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlcrm.io import package, schema
from xlcrm.io.errors import RefreshError

from .conftest import ROOT, client, make_workbook, run_cli, to_pdf
from .filecheck import audit, check_file

REFRESH = ("--agent", "张伟", "--today", "2026-11-23")


def refresh(path: Path) -> subprocess.CompletedProcess:
    return run_cli("refresh", path, *REFRESH)


def task_rows_read_only(path: Path, sheet: str = "我的任务") -> int:
    wb = openpyxl.load_workbook(path, read_only=True)
    n = sum(1 for r in wb[sheet].iter_rows(values_only=True) if any(v is not None for v in r))
    wb.close()
    return n


# 1 ------------------------------------------------------------------------------------------
def test_sample_refuses_to_overwrite_without_force(tmp_path):
    path = make_workbook(tmp_path / "office.xlsx", clients=[client("K1")])
    before = path.read_bytes()
    result = run_cli("sample", path, "--clients", "3")
    assert result.returncode == 1 and "--force" in result.stderr
    assert path.read_bytes() == before
    assert run_cli("sample", path, "--clients", "3", "--force").returncode == 0
    assert path.read_bytes() != before


# 2 ------------------------------------------------------------------------------------------
def test_refresh_of_an_openpyxl_saved_workbook_keeps_dimension_right(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client(f"K{i}", stage="成交") for i in range(1, 6)])
    wb = openpyxl.load_workbook(path)
    wb.save(path)  # openpyxl writes <dimension ref="…" /> with a space
    assert refresh(path).returncode == 0
    with zipfile.ZipFile(path) as zf:
        part = package.sheet_parts(zf)["我的任务"]
        xml = zf.read(part).decode()
    rows = task_rows_read_only(path)
    assert rows > 2, "read-only mode sees the tasks, not one row"
    assert rows == task_rows_read_only(path) and rows == sum(
        1 for r in openpyxl.load_workbook(path)["我的任务"].iter_rows(values_only=True) if any(r))
    # the dimension covers the selector in row 1 (beyond the 11 task columns)
    ref = xml.split('<dimension ref="')[1].split('"')[0]
    from openpyxl.utils.cell import range_boundaries
    header = next(openpyxl.load_workbook(path)["我的任务"].iter_rows(min_row=1, max_row=1))
    width = max(c.column for c in header if c.value is not None)
    assert width > len(schema.MY_TASKS.columns)
    assert range_boundaries(ref)[2] >= width
    check_file(path)


def test_render_sheet_handles_rows_without_r_and_prefixed_xml():
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = (f'<x:worksheet xmlns:x="{ns}"><x:dimension ref="A1"/><x:sheetData>'
           '<x:row><x:c t="inlineStr"><x:is><x:t>头</x:t></x:is></x:c><x:c/><x:c t="inlineStr"><x:is><x:t>张伟</x:t>'
           '</x:is></x:c></x:row><x:row><x:c><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    out = package.render_sheet(xml, [("a", 2), ("b", 3)], 2)
    from lxml import etree
    root = etree.fromstring(out.encode())
    rows = root.findall(f"{{{ns}}}sheetData/{{{ns}}}row")
    assert [r.get("r") for r in rows] == ["1", "2", "3"]
    assert rows[0].findall(f"{{{ns}}}c")[2].get("r") == "C1"  # header row (selector) kept
    assert root.find(f"{{{ns}}}dimension").get("ref") == "A1:C3"


# 3 ------------------------------------------------------------------------------------------
def _edit_table(path: Path, sheet: str, edit) -> None:
    with zipfile.ZipFile(path) as zf:
        part = package.sheet_parts(zf)[sheet]
        table = package.table_parts(zf, part)[0]
        replaced = {table: edit(zf.read(table).decode()).encode()}
        tmp = path.with_name("edited.xlsx")
        package.copy_package(path, zf, tmp, replaced)
    os.replace(tmp, path)


def test_a_column_added_to_an_owned_table_is_refused_not_lost(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])

    def add_column(xml: str) -> str:
        count = xml.count("<tableColumn ")
        xml = xml.replace(f'count="{count}"', f'count="{count + 1}"')
        return xml.replace("</tableColumns>", f'<tableColumn id="{count + 1}" name="备注"/></tableColumns>')

    _edit_table(path, "我的任务", add_column)
    before = path.read_bytes()
    result = refresh(path)
    assert result.returncode == 1 and "加了列" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_a_totals_row_on_the_board_stays_a_totals_row(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client(f"K{i}") for i in range(1, 4)])
    _edit_table(path, "客户看板", lambda xml: xml.replace("<table ", '<table totalsRowCount="1" ', 1))
    assert refresh(path).returncode == 0
    with zipfile.ZipFile(path) as zf:
        part = package.sheet_parts(zf)["客户看板"]
        table = zf.read(package.table_parts(zf, part)[0]).decode()
    ref = table.split(' ref="')[1].split('"')[0]
    assert ref.endswith("5")  # header + 3 clients + totals row
    ws = openpyxl.load_workbook(path)["客户看板"]
    ids = [ws.cell(r, 1).value for r in range(2, 5)]
    assert sorted(ids) == ["K1", "K2", "K3"]
    check_file(path)


# 4 ------------------------------------------------------------------------------------------
def test_calc_chain_entries_of_owned_sheets_are_dropped(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    with zipfile.ZipFile(path) as zf:
        ids = package._sheet_ids(zf)
        parts = package.sheet_parts(zf)
        owned = ids[parts["我的任务"]]
        user = ids[parts["客户"]]
        chain = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 f'<c r="B2" i="{owned}"/><c r="C2"/><c r="Z9" i="{user}"/></calcChain>').encode()
        types = zf.read("[Content_Types].xml").decode().replace(
            "</Types>", '<Override PartName="/xl/calcChain.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>').encode()
        tmp = path.with_name("c.xlsx")
        package.copy_package(path, zf, tmp, {"[Content_Types].xml": types})
    with zipfile.ZipFile(tmp, "a") as zf:
        zf.writestr("xl/calcChain.xml", chain)
    os.replace(tmp, path)
    assert refresh(path).returncode == 0
    with zipfile.ZipFile(path) as zf:
        kept = zf.read("xl/calcChain.xml").decode()
    assert 'r="B2"' not in kept and 'r="C2"' not in kept and f'r="Z9" i="{user}"' in kept
    # with nothing left the part goes, with its content type
    only_owned = package.prune_calc_chain(chain, {owned, user}, set())
    assert only_owned is None


# 5 ------------------------------------------------------------------------------------------
def test_permissions_kept_read_only_refused_and_a_read_only_backup_is_no_obstacle(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    os.chmod(path, 0o664)
    assert refresh(path).returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    bak = tmp_path / "book.bak.xlsx"
    os.chmod(bak, 0o444)
    assert refresh(path).returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o664
    assert not list(tmp_path.glob(".xlcrm-*"))
    os.chmod(path, 0o444)
    before = path.read_bytes()
    result = refresh(path)
    assert result.returncode == 1 and "只读" in result.stderr
    assert path.read_bytes() == before


# 6 ------------------------------------------------------------------------------------------
def test_a_failed_backup_keeps_the_old_backup_and_leaves_no_temp(tmp_path, monkeypatch):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    package.replace_owned_sheets(path, {"my_tasks": [], "board": []})
    bak = tmp_path / "book.bak.xlsx"
    old_bak, old = bak.read_bytes(), path.read_bytes()

    def full_disk(src, dst, *a, **k):
        Path(dst).write_bytes(b"PK\x03\x04 half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(package.shutil, "copyfile", full_disk)
    with pytest.raises(RefreshError, match="磁盘空间不足"):
        package.replace_owned_sheets(path, {"my_tasks": [], "board": []})
    assert bak.read_bytes() == old_bak and zipfile.is_zipfile(bak)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.bak.xlsx", "book.xlsx"]


def test_stale_temp_files_from_a_killed_run_are_removed(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    (tmp_path / ".xlcrm-book-abc123.xlsx").write_bytes(b"half")
    (tmp_path / ".xlcrm-other-abc123.xlsx").write_bytes(b"someone else's")
    assert refresh(path).returncode == 0
    assert not (tmp_path / ".xlcrm-book-abc123.xlsx").exists()
    assert (tmp_path / ".xlcrm-other-abc123.xlsx").exists()


def test_weekly_writes_through_temp_names(tmp_path, monkeypatch):
    from xlcrm.io import reports

    calls = []
    real = reports.write_atomic

    def spy(path, write, mode=None):
        calls.append(path.name)
        return real(path, write, mode)

    monkeypatch.setattr(reports, "write_atomic", spy)
    from xlcrm.doors.weekly_run import run_weekly
    src = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    result = run_weekly(src, tmp_path / "out", date(2026, 11, 23))
    assert sorted(calls) == sorted(p.name for p in result.files)
    assert not list((tmp_path / "out").rglob(".xlcrm-*"))


# 7 ------------------------------------------------------------------------------------------
def test_refresh_through_a_symlink_updates_the_target(tmp_path):
    target = make_workbook(tmp_path / "real.xlsx", clients=[client("K1", stage="成交")])
    link = tmp_path / "link.xlsx"
    link.symlink_to(target)
    before = target.read_bytes()
    assert refresh(link).returncode == 0
    assert link.is_symlink() and target.read_bytes() != before
    assert (tmp_path / "real.bak.xlsx").exists()


# 8 ------------------------------------------------------------------------------------------
def test_a_second_refresh_waits_for_the_lock(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    with package.workbook_lock(path):
        result = subprocess.run(
            [sys.executable, "-c", "import xlcrm.io.package as p, sys;"
             f"p.workbook_lock.__defaults__ = (0.5,); from xlcrm.doors.cli import cli; cli({list(('refresh', str(path), *REFRESH))!r})"],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1 and "另一个 xlcrm 刷新" in result.stderr, result.stderr
    assert not package.lock_path(path).exists()
    # two at once: both finish, one after the other, and the backup is a full workbook
    results = []
    threads = [threading.Thread(target=lambda: results.append(refresh(path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.returncode for r in results)
    assert codes in ([0, 0], [0, 1]), [r.stderr for r in results]
    assert zipfile.is_zipfile(path) and zipfile.is_zipfile(tmp_path / "book.bak.xlsx")


# 9 ------------------------------------------------------------------------------------------
def test_escape_like_text_and_over_long_cells(tmp_path):
    odd = "_x0041_x_x0042_"
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", note=odd) if "note" in schema.CLIENTS.keys
                                                          else client("K1", name="王" + odd)])
    xml = package.render_sheet('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                               '<sheetData/></worksheet>', [(odd, "x" * 40000)], 2)
    tmp = tmp_path / "one.xlsx"
    wb = openpyxl.Workbook()
    wb.save(tmp)
    with zipfile.ZipFile(tmp) as zf:
        part = package.sheet_parts(zf)["Sheet"]
        package.copy_package(tmp, zf, tmp_path / "two.xlsx", {part: xml.encode()})
    # Excel and python-calamine unescape _xHHHH_ in every string; the literal underscore
    # is written _x005F_ so they read the text as typed. (openpyxl leaves inline strings
    # unescaped, so it shows the escaped form: its limitation, not a data change.)
    assert "_x005F_x0041_" in xml
    from python_calamine import CalamineWorkbook
    back = CalamineWorkbook.from_path(str(tmp_path / "two.xlsx")).get_sheet_by_index(0).to_python(skip_empty_area=False)[1]
    assert back[0] == odd
    assert len(back[1]) == 32767 and back[1].endswith("已截断)")
    ws = openpyxl.load_workbook(tmp_path / "two.xlsx")["Sheet"]
    assert len(ws["B2"].value) == 32767
    check_file(path)


def test_a_draft_from_a_very_long_name_is_capped_with_a_finding(tmp_path):
    long_name = "王" + "长" * 40000
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", name=long_name[:32000], stage="成交")],
                         contacts=[{"client_id": "K1", "date": date(2026, 11, 23), "channel": "来访",
                                    "agent": "张伟", "result": "成交"}] if False else [],
                         templates=[("维护电话", "{{姓名}}{{姓名}}")])
    from xlcrm.core.messages import Messages, variables
    m = Messages({"维护电话": "{{姓名}}"}, rows={"维护电话": 5})
    text = m.render("维护电话", variables(long_name, "男", "张伟", date(2026, 11, 23)))
    assert len(text) <= 32767 and m.findings and m.findings[0].cell == "B5"
    assert refresh(path).returncode == 0
    check_file(path)


# 10 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key,value", [("A类联系周期天数", "inf"), ("A类联系周期天数", "1e400"), ("B类联系周期天数", 0),
                                       ("节前拜访工作日数", 0), ("沉睡天数", 1e15), ("任务天数", 1e12),
                                       ("任务天数", 1000000), ("每月关怀短信数", 1e9), ("活动统计天数", 1e9),
                                       ("A类终生价值前比例", "nan")])
def test_out_of_range_rules_are_findings_and_defaults_are_used(tmp_path, key, value):
    from xlcrm.io.template import default_rows
    rules = [r if r[0] != key else (key, value, *r[2:]) for r in default_rows()["rules"]]
    row = next(i for i, r in enumerate(rules, start=2) if r[0] == key)
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")], rules=rules)
    result = run_cli("validate", path)
    assert result.returncode == 1 and f"规则!B{row}" in result.stderr and "Traceback" not in result.stderr
    started = time.monotonic()
    assert refresh(path).returncode == 0
    assert run_cli("weekly", path, "--out", tmp_path / "out", "--today", "2026-11-23", "-q").returncode == 0
    assert time.monotonic() - started < 120


# 11 -----------------------------------------------------------------------------------------
def test_a_client_without_a_name_is_left_out_and_counted(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx",
                         clients=[client("K1", name=None, stage="成交", deal_date=date(2026, 11, 23))
                                  if "deal_date" in schema.CLIENTS.keys else client("K1", name=None),
                                  client("K2", stage="成交")])
    result = refresh(path)
    assert result.returncode == 0 and "客户!B2" in result.stderr and "另有 1 行" in result.stdout
    ws = openpyxl.load_workbook(path)["客户看板"]
    assert [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value] == ["K2"]
    result = run_cli("weekly", path, "--out", tmp_path / "out", "--today", "2026-11-23", "-q")
    assert result.returncode == 0 and "另有 1 行" in result.stdout


# 12 -----------------------------------------------------------------------------------------
def _variant(base: Path, out: Path, edit) -> Path:
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, edit(info.filename, src.read(info.filename)))
    return out


@pytest.mark.parametrize("kind", ["far-cell", "dimension", "big-string", "damaged"])
def test_dangerous_packages_are_refused_before_reading(tmp_path, kind):
    base = make_workbook(tmp_path / "base.xlsx", clients=[client("K1")])
    path = tmp_path / "bad.xlsx"
    if kind == "damaged":
        data = bytearray(base.read_bytes())
        info = zipfile.ZipFile(base).getinfo("xl/worksheets/sheet1.xml")
        start = info.header_offset + 30 + len(info.filename) + 20
        for i in range(start, start + 40):
            data[i] ^= 0x55
        path.write_bytes(bytes(data))
    else:
        def edit(name, data):
            if kind == "far-cell" and name == "xl/worksheets/sheet1.xml":
                return data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                     b"</sheetData>")
            if kind == "dimension" and name == "xl/worksheets/sheet1.xml":
                return data.replace(b'<dimension ref="', b'<dimension ref="A1:XFD1048576" x="')
            if kind == "big-string" and name == "xl/sharedStrings.xml":
                return data.replace(b"</sst>", b"<si><t>" + b"a" * (1100 << 20) + b"</t></si></sst>")
            return data
        _variant(base, path, edit)
    for command in (("validate", path), ("refresh", path, *REFRESH),
                    ("weekly", path, "--out", tmp_path / "out", "-q")):
        result = run_cli(*command)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


# 13 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", ["{{ 9**(9**9) }}", "{% macro f(n) %}{{ f(n+1) }}{% endmacro %}{{ f(1) }}",
                                  "{{ 10**100000 }}", "{{ 'a' * 999999999 }}",
                                  "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                                  "{% for c in 'a'*30000 %}{% for d in 'a'*30000 %}{% endfor %}{% endfor %}",
                                  "{{ 'a'.ljust(999999999) }}", "{{ 'a'|center(999999999) }}",
                                  "{{ '%999999999s' % 1 }}", "{% set x = 'a'*30000 %}{% for i in range(99) %}{{x}}{% endfor %}"])
def test_hostile_templates_are_bounded_findings(body):
    from xlcrm.core.messages import DEFAULT_TEMPLATES, Messages, variables
    started = time.monotonic()
    m = Messages({"维护电话": body}, rows={"维护电话": 7})
    text = m.render("维护电话", variables("王小明", "男", "张伟", date(2026, 11, 23)))
    assert time.monotonic() - started < 5
    assert text == DEFAULT_TEMPLATES["维护电话"].replace("{{称呼}}", "王先生").replace("{{顾问}}", "张伟")
    assert [f.cell for f in m.findings] == ["B7"]


# 14 -----------------------------------------------------------------------------------------
def test_cli_refusals_are_one_clear_line(tmp_path):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1")])
    for day in ("0001-01-01", "9999-12-31"):
        r = refresh_with_today(path, day)
        assert r.returncode == 2 and "--today" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("weekly", path, "--out", tmp_path / "o", "--week", "W48")
    assert r.returncode == 2 and "--week" in r.stderr and "--today" not in r.stderr
    r = run_cli("new", tmp_path / "nodir" / "x.xlsx")
    assert r.returncode == 1 and "不存在" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("new", tmp_path / "a.csv")
    assert r.returncode == 1 and ".xlsx" in r.stderr and not (tmp_path / "a.csv").exists()
    readonly = tmp_path / "ro"
    readonly.mkdir()
    os.chmod(readonly, 0o555)
    try:
        r = run_cli("weekly", path, "--out", readonly / "sub", "--today", "2026-11-23", "-q")
        if os.geteuid() != 0:  # root writes anywhere
            assert r.returncode == 1 and "Traceback" not in r.stderr
    finally:
        os.chmod(readonly, 0o755)


def refresh_with_today(path, day):
    return run_cli("refresh", path, "--agent", "张伟", "--today", day)


def test_long_agent_names_make_valid_file_names(tmp_path):
    emoji = "😀" * 64
    agents = [{"agent": emoji, "active": "是"}, {"agent": emoji + "x", "active": "是"}]
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", agent=emoji)], agents=agents)
    r = run_cli("weekly", path, "--out", tmp_path / "out", "--today", "2026-11-23", "-q")
    assert r.returncode == 0, r.stderr
    names = [p.name for p in (tmp_path / "out").rglob("*.xlsx")]
    assert len(names) == 3 and all(len(n.encode()) <= 255 for n in names)


# 15 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "nan", -1e308, 2.5, -2, 1e20])
def test_bad_numbers_are_findings(tmp_path, value):
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1", deal_count=value)])
    r = run_cli("validate", path)
    col = schema.column_letter_of(schema.CLIENTS, "deal_count")
    assert r.returncode == 1 and f"客户!{col}2" in r.stderr


def test_error_cells_duplicate_headers_and_headerless_columns_are_findings(tmp_path):
    base = make_workbook(tmp_path / "base.xlsx", clients=[client("K1", company="甲公司")])
    company = schema.column_letter_of(schema.CLIENTS, "company")
    name_col = schema.column_letter_of(schema.CLIENTS, "name")

    def edit(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        import re
        data = re.sub(rb'<c r="' + company.encode() + rb'2"[^>]*>.*?</c>',
                      f'<c r="{company}2" t="e"><v>#REF!</v></c>'.encode(), data, count=1)
        return data.replace(b"</row></sheetData>", b'<c r="ZZ2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')
    path = _variant(base, tmp_path / "bad.xlsx", edit)
    r = run_cli("validate", path)
    assert r.returncode == 1 and f"客户!{company}2" in r.stderr and "#REF!" in r.stderr, r.stderr
    assert "客户!ZZ2" in r.stderr
    wb = openpyxl.load_workbook(base)
    ws = wb["客户"]
    ws.cell(1, ws.max_column + 1, "姓名")
    wb.save(base)
    r = run_cli("validate", base)
    assert r.returncode == 1 and "重复" in r.stderr and name_col + "1" not in r.stderr.split("重复")[0][-8:]


# 16 -----------------------------------------------------------------------------------------
def test_help_and_click_messages_are_chinese():
    for command in ("new", "sample", "validate", "import", "refresh", "weekly", "collect", "build-addin"):
        r = run_cli(command, "--help")
        assert "用法:" in r.stdout and "选项:" in r.stdout and r.stdout.count("Example:") == 1
        assert "Show this message" not in r.stdout
    r = run_cli("refresh")
    assert r.returncode == 2 and "缺少参数" in r.stderr and "Missing" not in r.stderr
    r = run_cli("refresh", "x.xlsx", "--agent", "a", "--bogus")
    assert "没有选项" in r.stderr


# Checked by ---------------------------------------------------------------------------------
def test_every_written_file_reads_the_same_everywhere(tmp_path):
    made = []
    new = tmp_path / "new.xlsx"
    assert run_cli("new", new).returncode == 0
    made.append(new)
    imported = tmp_path / "imported.xlsx"
    shutil.copy(new, imported)
    (tmp_path / "list.csv").write_text("姓名,手机\n王小明,13800138000\n李娜娜,13900139000\n", encoding="utf-8")
    assert run_cli("import", imported, tmp_path / "list.csv", "--add-agents", "--agent", "张伟").returncode in (0, 1)
    made.append(imported)
    sample = tmp_path / "sample.xlsx"
    assert run_cli("sample", sample, "--clients", "40", "--agents", "2", "--today", "2026-11-23").returncode == 0
    agent = openpyxl.load_workbook(sample, read_only=True)["顾问"]["A2"].value
    kept = openpyxl.load_workbook(sample, read_only=True)
    assert kept["关键人"].max_row > 10 and kept["活动"].max_row > 3  # the new sheets are in the check too
    assert run_cli("refresh", sample, "--agent", agent, "--today", "2026-11-23").returncode == 0
    made += [sample, tmp_path / "sample.bak.xlsx"]
    assert run_cli("weekly", sample, "--out", tmp_path / "out", "--today", "2026-11-23", "-q").returncode == 0
    made += sorted((tmp_path / "out").rglob("*.xlsx"))
    addin = tmp_path / "xlcrm.xlam"
    if run_cli("build-addin", addin).returncode == 0:
        made.append(addin)
    advisory = {}
    for path in made:
        if path.suffix == ".xlam":
            from .filecheck import strict_xml
            strict_xml(path)
            continue
        check_file(path)
        advisory[path.name] = audit(path)
    print("openxml-audit:", {k: v[:3] for k, v in advisory.items()})
    for path in (sample, made[-2] if made[-1].suffix == ".xlam" else made[-1]):
        to_pdf(path, tmp_path)
    assert not list(tmp_path.rglob(".xlcrm-*"))
    shutil.rmtree(tmp_path / "out")


def test_cell_serial_keeps_the_time_of_day():
    from datetime import datetime as dt

    from openpyxl.utils.datetime import from_excel

    from xlcrm.io.package import _cell

    xml = _cell("B2", dt(2026, 11, 23, 9, 30, 15), None)
    serial = float(xml.split("<v>")[1].split("</v>")[0])
    assert from_excel(serial) == dt(2026, 11, 23, 9, 30, 15)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.integers(1, 400), st.sampled_from([0, 1, 6, 9]))
def test_guard_inflates_every_part_exactly(tmp_path_factory, piece, repeat, level):
    """The guard's own inflater (ISA-L, from the raw bytes) gives zipfile's bytes, in
    pieces of at most CHUNK, and refuses a part whose CRC does not match."""
    from xlcrm.io import guard

    data = piece * repeat * 50
    path = tmp_path_factory.mktemp("zip") / "p.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if level else zipfile.ZIP_STORED,
                         compresslevel=level or None) as zf:
        zf.writestr("a.txt", b"x")
        zf.writestr("xl/worksheets/sheet1.xml", data)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        chunks = list(guard.member_chunks(zf, info))
        assert b"".join(chunks) == data and all(len(c) <= guard.CHUNK for c in chunks)
        info.CRC ^= 1
        with pytest.raises(zipfile.BadZipFile):
            list(guard.member_chunks(zf, info))


@pytest.mark.parametrize("past", [0, 1, 8, 20, 100, 5000])
@pytest.mark.parametrize("level", [1, 6, 9])
def test_guard_inflates_parts_just_past_a_chunk(tmp_path, past, level):
    """A part a few bytes longer than a multiple of the guard's CHUNK: the inflater holds
    back output it could not hand over, and the last bytes must still come out (they
    were dropped once, and a good workbook was refused as damaged)."""
    import random

    from xlcrm.io import guard

    rnd = random.Random(past * 10 + level)
    xml = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" s="4"><v>%d</v></c></row>'
                   % (i, i, rnd.randint(0, 3000), i, rnd.randint(40000, 46000)) for i in range(1, 40000))
    data = xml[:2 * guard.CHUNK + past]
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("xl/sharedStrings.xml", data)
    with zipfile.ZipFile(path) as zf:
        assert b"".join(guard.member_chunks(zf, zf.getinfo("xl/sharedStrings.xml"))) == data
