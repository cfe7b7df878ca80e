"""`xlcrm import`: other people's client lists and contact logs appended to the master."""

from __future__ import annotations

import csv
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree
from hypothesis import example, given
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from xlcrm.io import schema
from xlcrm.io.importer import _STAMP, _stamp
from xlcrm.io.loader import load
from xlcrm.io.package import sheet_parts, table_parts
from xlcrm.io.phones import parse_phone
from xlcrm.io.validate import validate

from .conftest import ROOT, client, make_workbook, run_cli

SHARED = ROOT.parent / "shared" / "testdata"


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def sheet_and_table_parts(path: Path, *sheets: schema.Sheet) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        names = sheet_parts(zf)
        out: set[str] = set()
        for sheet in sheets:
            part = names[schema.find_sheet(list(names), sheet)]
            out |= {part, *table_parts(zf, part)}
    return out


def master(tmp_path: Path) -> Path:
    """Two clients (one with mobile 13800138000, one at 华润万家) and agents 张伟, 李娜."""
    return make_workbook(tmp_path / "master.xlsx", clients=[
        client("K000001", name="王小明", phone="13800138000"),
        client("K000002", name="赵敏", phone="13911112222", company="华润万家"),
    ])


def write_xlsx(path: Path, rows: list[list], title: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))
        ws.append([])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def clients_of(path: Path, strict: bool = True) -> list[dict]:
    book, findings = load(path)
    assert not strict or not [f for f in findings if f.severity != "warning"], findings
    return book.clients.to_dict("records")


MESSY = [
    ["序号", "联系电话", "出生日期", "置业顾问", "客户姓名", "性别", "公司", "家庭住址"],
    [1, "138-0013-8001", "1985年3月5日", "张伟", "李雷", "先生", "", "人民路 1 号"],
    [2, "+86 139 0013 9002", "1990/7/8", "李娜", "韩梅梅", "F", "", ""],
    [3, "0086 13700137003", "03-15", "张 伟", "陈 静", "女", "", ""],
    [4, 13600136004, "2001.2.3", "李娜", "周杰", "男", "", ""],
    [5, "(+86)135 0013 5005", "", "张伟", "吴军", "", "", ""],
    [6, "13800138000", "", "张伟", "王小明", "", "", ""],  # the master's K000001
    [7, "138 0013 8001", "", "李娜", "李雷二号", "", "", ""],  # the same mobile as row 4
    [8, "", "", "张伟", "赵敏", "", "华润万家", ""],  # name + 单位 of K000002
    [9, "0759-3385375", "", "王五", "郑和", "", "", ""],  # unknown agent
    [10, "13300133010", "1985-13-45", "张伟", "钱七", "", "", ""],  # a bad date
    [11, "13300133011", "", "张伟", "", "", "", ""],  # no name
    [12, "13300133012", "", "张伟", "先生", "", "", ""],  # ten 先生 are ten leads
    [13, "13300133013", "", "张伟", "先生", "", "", ""],
]


def test_messy_chinese_list_with_a_title_row(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "老客户.xlsx", MESSY, title="2024年客户名单(内部)")
    result = run_cli("import", path, src)
    assert result.returncode == 1, result.stderr  # rows were left out for errors
    out = result.stdout + result.stderr
    assert "表头在第 3 行" in out
    assert "客户姓名 → 姓名" in out and "置业顾问 → 负责顾问" in out and "联系电话 → 手机" in out
    assert "未映射(内容写入 备注):家庭住址" in out and "忽略:序号" in out
    assert "老客户.xlsx!B9: 手机 13800138000 与 客户!D2 重复,未导入" in out
    assert "老客户.xlsx!B10: 手机 13800138001 与 老客户.xlsx!B4 重复,未导入" in out
    assert "老客户.xlsx!E11: 姓名+单位「赵敏 / 华润万家」与 客户!B3 重复,未导入" in out
    assert "老客户.xlsx!D12: 负责顾问 '王五' 不在「顾问」表中" in out
    assert "老客户.xlsx!C13: 生日 '1985-13-45' 不是日期" in out
    assert "老客户.xlsx!E14: 姓名为空" in out
    assert "导入 7 行,跳过 3 行(有错误),重复 3 行未导入" in out
    rows = {r["name"]: r for r in clients_of(path)}
    assert len(rows) == 2 + 6  # the two 先生 are two people: names collide in this dict only
    assert rows["李雷"]["phone"] == "13800138001" and rows["李雷"]["gender"] == "男"
    assert rows["李雷"]["birthday"] == datetime(1985, 3, 5) and rows["李雷"]["notes"] == "家庭住址: 人民路 1 号"
    assert rows["韩梅梅"]["phone"] == "13900139002" and rows["韩梅梅"]["gender"] == "女"
    assert rows["陈静"]["phone"] == "13700137003" and rows["陈静"]["agent"] == "张伟"
    assert (rows["陈静"]["birthday_month"], rows["陈静"]["birthday_day"]) == (3, 15)
    assert rows["周杰"]["phone"] == "13600136004" and rows["周杰"]["birthday"] == datetime(2001, 2, 3)
    assert rows["吴军"]["phone"] == "13500135005"
    ids = [r["client_id"] for r in clients_of(path)]
    assert ids == ["K000001", "K000002", "K000003", "K000004", "K000005", "K000006", "K000007", "K000008",
                   "K000009"]
    assert sum(1 for r in clients_of(path) if r["name"] == "先生") == 2
    # Importing the same list again imports nothing new: every good row is now a duplicate.
    again = run_cli("import", path, src)
    assert "导入 0 行" in again.stdout and "重复 10 行未导入" in again.stdout


def test_import_changes_only_the_clients_and_agents_sheets_and_reads_everywhere(tmp_path):
    path = master(tmp_path)
    src = tmp_path / "list.csv"  # a CSV cell starting with = is text, and must stay text
    src.write_text('姓名,手机,业务员,登记日期\n"=HYPERLINK(""x"")",13300000001,新人,2024年3月5日\n'
                   '孙悟空,13300000002,张伟,2024/3/6 14:30\n', encoding="utf-8")
    before = parts(path)
    result = run_cli("import", path, src, "--add-agents")
    assert result.returncode == 0, result.stderr
    after = parts(path)
    changed = {n for n in before if before[n] != after[n]}
    assert changed <= sheet_and_table_parts(path, schema.CLIENTS, schema.AGENTS), changed
    assert parts(tmp_path / "master.bak.xlsx") == before
    for name, data in after.items():
        if name.endswith((".xml", ".rels")):
            ElementTree.fromstring(data)  # strict XML parse of every part
    for read_only in (False, True):
        wb = openpyxl.load_workbook(path, read_only=read_only)
        values = [r for r in wb["客户"].iter_rows(values_only=True)]
        assert values[3][1] == '=HYPERLINK("x")' and values[3][4] == "新人"
        assert values[4][7] == datetime(2024, 3, 6, 14, 30)
    last = schema.column_letter_of(schema.CLIENTS, schema.CLIENTS.keys[-1])
    assert openpyxl.load_workbook(path)["客户"].tables["Clients"].ref == f"A1:{last}5"
    cal = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("顾问").to_python()
    assert cal[-1][0] == "新人"
    book, findings = load(path)
    assert not [f for f in findings + validate(book) if f.severity != "warning"]


def test_english_export_with_round_robin_agents(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "export.xlsx", [
        ["Full Name", "Mobile Phone", "Company", "Date of Birth", "Notes", "Lead Source"],
        ["Ann Lee", "+86 13100000001", "Acme", "1980-01-02", "vip", "来电"],
        ["Bob Wu", "131-0000-0002", "Acme", "", "", "Google"],
        ["Cat Ma", "13100000003", "", "", "", ""],
    ])
    result = run_cli("import", path, src, "--agent", "张伟", "--agent", "李娜")
    assert result.returncode == 0, result.stderr
    assert "Full Name → 姓名" in result.stdout and "Company → 单位" in result.stdout
    new = clients_of(path)[2:]
    assert [(r["name"], r["agent"], r["phone"]) for r in new] == [
        ("Ann Lee", "张伟", "13100000001"), ("Bob Wu", "李娜", "13100000002"), ("Cat Ma", "张伟", "13100000003")]
    assert new[0]["source"] == "来电" and new[0]["birthday"] == datetime(1980, 1, 2) and new[0]["notes"] == "vip"
    assert new[1]["source"] is None and new[1]["notes"] == "来源: Google"  # not in the vocabulary: kept in 备注


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_utf8(tmp_path, encoding):
    path = master(tmp_path)
    src = tmp_path / "名单.csv"
    with src.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows([["客户名字", "手机号码", "负责人", "单位名称"],
                                  ["欧阳娜娜", "13200000001", "李娜", "湛江 海鲜 酒家"],
                                  ["司马光", "132 0000 0002", "张伟", ""]])
    result = run_cli("import", path, src)
    assert result.returncode == 0, result.stderr
    new = clients_of(path)[2:]
    assert [(r["name"], r["phone"], r["agent"], r["company"]) for r in new] == [
        ("欧阳娜娜", "13200000001", "李娜", "湛江 海鲜 酒家"), ("司马光", "13200000002", "张伟", None)]
    assert {"gbk": "GBK", "utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8"}[encoding] in result.stdout


def test_dry_run_changes_nothing(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "list.xlsx", MESSY)
    before = path.read_bytes()
    result = run_cli("import", path, src, "--dry-run", "--add-agents")
    assert "试运行(--dry-run),未写入:将导入 8 行" in result.stdout
    assert path.read_bytes() == before
    assert not (tmp_path / "master.bak.xlsx").exists()


def test_a_list_without_agents_is_refused_naming_the_column(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "leads.xlsx", [["客户姓名", "客户手机号"], ["莫先生", "15397228186"]])
    before = path.read_bytes()
    result = run_cli("import", path, src)
    assert result.returncode == 1
    assert "负责顾问" in result.stderr and "--agent" in result.stderr
    assert path.read_bytes() == before
    refused = run_cli("import", path, src, "--agent", "不存在的人")
    assert refused.returncode == 1 and "--add-agents" in refused.stderr


def test_map_overrides_and_bad_map(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "list.xlsx", [["名称", "老板", "号码", "跟单"], ["好又多", "黄老板", "13312345678", "张伟"]])
    result = run_cli("import", path, src, "--map", "老板=姓名", "--map", "号码=手机", "--map", "跟单=负责顾问")
    assert result.returncode == 0, result.stderr
    new = clients_of(path)[2]
    assert (new["name"], new["phone"], new["company"], new["agent"]) == ("黄老板", "13312345678", "好又多", "张伟")
    bad = run_cli("import", path, src, "--map", "老板=年龄")
    assert bad.returncode == 1 and "年龄" in bad.stderr
    missing = run_cli("import", path, src, "--map", "没有这列=姓名")
    assert missing.returncode == 1 and "没有这列" in missing.stderr


def test_contact_log_goes_to_the_contacts_sheet(tmp_path):
    path = master(tmp_path)
    src = write_xlsx(tmp_path / "log.xlsx", [
        ["跟进日期", "客户姓名", "跟进方式", "跟进内容", "跟进人"],
        ["2025/3/17 17:25:28", "王小明", "微信", "约周末看房", "张伟"],
        [datetime(2025, 3, 18, 9, 0), "赵敏", "电话回访", "满意", "李娜"],
        ["2025/3/19", "不认识", "电话", "", "张伟"],
    ])
    result = run_cli("import", path, src)
    assert result.returncode == 1  # the unknown client
    assert "→ 追加到「跟进记录」" in result.stdout
    assert "log.xlsx!B4: 客户 '不认识' 在「客户」表中找不到" in result.stderr
    book, _ = load(path)
    rows = book.contacts[["client_id", "date", "channel", "notes", "agent"]].to_dict("records")
    assert rows == [
        {"client_id": "K000001", "date": datetime(2025, 3, 17, 17, 25, 28), "channel": "微信", "notes": "约周末看房",
         "agent": "张伟"},
        {"client_id": "K000002", "date": datetime(2025, 3, 18, 9, 0), "channel": "电话", "notes": "满意",
         "agent": "李娜"},
    ]
    again = run_cli("import", path, src)
    assert "重复 2 行未导入" in again.stdout
    # Once archived, a repeat is named by the archive it is in (its rows have no row in the master).
    assert run_cli("archive", path, "--before", "2026-01-01").returncode == 0
    archived = run_cli("import", path, src)
    assert "重复 2 行未导入" in archived.stdout
    assert f"与 [{path.stem}-跟进记录归档.xlsx]跟进记录 重复" in archived.stderr, archived.stderr
    assert "跟进记录!B0" not in archived.stderr and "!A0" not in archived.stderr


def test_validate_reports_duplicate_mobiles(tmp_path):
    path = make_workbook(tmp_path / "m.xlsx", clients=[client("K1", phone="13800138000"),
                                                        client("K2", phone="+86 138-0013-8000")])
    result = run_cli("validate", path)
    assert "客户!D3: 手机 13800138000 重复(与 D2 相同)" in result.stderr


MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(MOBILES, st.sampled_from(["{m}", "{a}-{b}-{c}", "+86 {m}", "0086 {a} {b} {c}", "(+86){a} {b} {c}",
                                 "86-{m}", " {a} {b} {c} "]))
def test_every_notation_of_a_mobile_is_the_same_mobile(mobile, notation):
    typed = notation.format(m=mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
    phone = parse_phone(typed)
    assert (phone.text, phone.mobile, phone.recognised) == (mobile, mobile, True)
    assert parse_phone(float(mobile)).mobile == mobile


def test_landlines_and_two_numbers_in_a_cell():
    assert parse_phone("0759-3385375").text == "0759-3385375"
    assert parse_phone(3492299.0).text == "3492299"
    two = parse_phone("13800138000/13900139000")
    assert (two.text, two.others) == ("13800138000", ("13900139000",))
    assert not parse_phone("1").recognised


@pytest.mark.parametrize("name", sorted(p.name for p in (SHARED / "import").glob("*.xlsx"))
                         if (SHARED / "import").is_dir() else ["(no testdata)"])
def test_real_third_party_lists_import_without_a_traceback(tmp_path, name):
    source = SHARED / "import" / name
    if not source.exists():
        pytest.skip("../shared/testdata is not here")
    path = master(tmp_path)
    result = run_cli("import", path, source, "--agent", "张伟", "--agent", "李娜", "--add-agents")
    assert "Traceback" not in result.stderr and result.returncode in (0, 1), result.stderr
    assert "导入 " in result.stdout
    book, findings = load(path)
    assert not [f for f in findings + validate(book) if f.severity == "error"]
    names = set(book.clients["name"])
    if name == "store-assignments-export.xlsx":
        # 姓名 there is the sales rep: reps become agents, stores the clients.
        assert "袁辰龙" in set(book.agents["agent"]) and "袁辰龙" not in names
        assert "华润万家大超高州太阳城店" in names
    if name == "zhanjiang-shops.xlsx":
        assert "唐勇" in names  # padded 唐 勇
    before = path.read_bytes()
    again = run_cli("import", path, source, "--agent", "张伟", "--add-agents")
    assert "导入 0 行" in again.stdout
    assert path.read_bytes() != before or "导入 0 行" in again.stdout


def test_real_vba_crm_and_its_log(tmp_path):
    source = SHARED / "foreign-loan-crm.xlsm"
    if not source.exists():
        pytest.skip("../shared/testdata is not here")
    path = master(tmp_path)
    shutil.copy(path, tmp_path / "orig.xlsx")
    refused = run_cli("import", path, source)
    assert refused.returncode == 1 and "负责顾问" in refused.stderr
    result = run_cli("import", path, source, "--agent", "张伟")
    assert result.returncode == 0 and "导入 1000 行" in result.stdout, result.stderr
    log = run_cli("import", path, source, "--sheet", "LogSheet")
    assert log.returncode == 0 and "追加到「跟进记录」" in log.stdout and "导入 12 行" in log.stdout, log.stderr
    book, _ = load(path)
    assert len(book.clients) == 1002 and len(book.contacts) == 12


@given(st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)))
@example(datetime(2025, 3, 17, 17, 25, 28, 500_000))  # ties go to the even second, as pandas rounds
@example(datetime(2025, 3, 17, 17, 25, 29, 500_000))
@example(datetime(2025, 12, 31, 23, 59, 59, 999_999))
@example(datetime(1969, 12, 31, 23, 59, 59, 500_000))
def test_an_imported_touch_is_stamped_as_the_masters_touches_are(when):
    """A row of the list and a touch of the master are the same touch when their stamps are
    equal: the list's is made a row at a time, the master's a column at a time (pandas)."""
    import pandas as pd

    assert _stamp(when) == pd.Series([when]).dt.round("s").dt.strftime(_STAMP).iloc[0]
    assert _stamp(when) == _stamp(pd.Timestamp(when))


def test_a_touch_already_in_the_master_is_named_by_its_first_row(tmp_path):
    when = datetime(2025, 3, 17, 17, 25, 28)
    touch = {"client_id": "K000001", "date": when, "channel": "电话", "notes": "约 周末看房"}
    path = make_workbook(tmp_path / "master.xlsx", clients=[client("K000001", name="王小明")],
                         contacts=[touch | {"notes": "别的事"}, touch, touch | {"notes": "约周末 看房"}])
    src = write_xlsx(tmp_path / "log.xlsx", [["客户编号", "跟进日期", "跟进内容"],
                                             ["K000001", "2025/3/17 17:25:28", "约周末看房"]])
    result = run_cli("import", path, src)
    assert result.returncode == 0 and "重复 1 行未导入" in result.stdout
    assert "log.xlsx!B2: 这条跟进与 跟进记录!B3 重复" in result.stderr, result.stderr


def test_a_problem_in_a_sheet_the_import_does_not_touch_does_not_stop_it(tmp_path):
    """Only 客户 and 顾问 are read for a client list (and 跟进记录 for a log): a 转介绍 without
    its 推荐编号 column is for validate and refresh to report, not a reason to refuse."""
    path = master(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb[schema.REFERRALS.zh]
    ws.cell(1, 1).value = None
    wb.save(path)
    assert run_cli("validate", path).returncode == 1
    src = write_xlsx(tmp_path / "list.xlsx", [["客户姓名", "手机", "置业顾问"], ["黄蓉", "13312345678", "张伟"]])
    result = run_cli("import", path, src)
    assert result.returncode == 0, result.stderr
    assert [c["name"] for c in clients_of(path, strict=False)] == ["王小明", "赵敏", "黄蓉"]
    log = write_xlsx(tmp_path / "log.xlsx", [["跟进日期", "客户姓名", "跟进方式"], ["2025/3/17 10:00", "黄蓉", "电话"]])
    assert run_cli("import", path, log).returncode == 0
    # A sheet the import reads is still checked: 客户 without 姓名 refuses it.
    ws = openpyxl.load_workbook(path)
    ws[schema.CLIENTS.zh].cell(1, 2).value = None
    ws.save(path)
    before = path.read_bytes()
    refused = run_cli("import", path, src)
    assert refused.returncode == 1 and "不是完整的 xlcrm 工作簿" in refused.stderr and path.read_bytes() == before
