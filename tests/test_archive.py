"""`xlcrm archive`: older 跟进记录 rows move to the archive beside the master, byte for byte;
the master changes nowhere else; the loader reads both; validate warns near Excel's limit."""

from __future__ import annotations

import os
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from defusedxml import ElementTree

from xlcrm.doors.cli import cli
from xlcrm.doors.refresh import compute_refresh
from xlcrm.io import archive as archive_mod
from xlcrm.io import package, schema
from xlcrm.io.archive import _ROW, _sheet_data, archive_master, archive_path
from xlcrm.io.errors import RefreshError
from xlcrm.io.loader import load
from xlcrm.io.validate import validate

from .conftest import TODAY, client, make_workbook, run_cli
from .test_loop import contact_rows, part_of, parts, task_rows, tick


def contacts_part(path: Path) -> str:
    return sorted(p for p in part_of(path, schema.CONTACTS) if "/worksheets/" in p)[0]


def row_bytes(path: Path) -> dict[int, bytes]:
    """Excel row -> the raw `<row>` element of 跟进记录."""
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(contacts_part(path))
    start, end = _sheet_data(xml)
    return {int(archive_mod._ROW_R.search(m.group(0)).group(2)): m.group(0) for m in _ROW.finditer(xml, start, end)}


def frame_rows(book) -> list[tuple]:
    c = book.contacts.drop(columns="_row")
    c["client_id"] = c["client_id"].astype(object)
    return sorted(map(repr, c.itertuples(index=False)))


def outcome(path: Path) -> tuple[str, str]:
    book, found = load(path)
    result = compute_refresh(book, [f for f in found if f.severity == "fatal"], "张伟", TODAY)
    return result.tasks.to_csv(index=False), result.board.to_csv(index=False)


@pytest.fixture()
def office(tmp_path):
    contacts = [{"client_id": f"K{i % 3 + 1}", "date": datetime(2025, 1 + i % 12, 1 + i, 10), "channel": "电话",
                 "notes": f"第{i}次 =SUM(A1)" if i % 4 == 0 else None} for i in range(12)]
    contacts += [{"client_id": "K1", "date": "2026/11/18", "channel": "电话"},
                 {"client_id": "K2", "date": "不知道哪天", "channel": "电话"},
                 {"client_id": "K3", "date": datetime(2026, 11, 20, 10), "channel": "短信"}]
    return make_workbook(tmp_path / "客户.xlsx", clients=[client("K1", class_override="B"), client("K2"),
                                                          client("K3", birthday="1990-11-23")],
                         contacts=contacts)


def test_archive_moves_rows_byte_for_byte_and_changes_nothing_else(office):
    before_parts = parts(office)
    before_rows = row_bytes(office)
    book, _ = load(office)
    expected_history = frame_rows(book)
    moved = sorted(int(r) for r, d in zip(book.contacts["_row"], book.contacts["date"], strict=True)
                   if d == d and d < pd.Timestamp(2026, 1, 1))
    assert len(moved) == 12

    r = run_cli("archive", office, "--before", "2026-01-01")
    assert r.returncode == 0, r.stderr
    assert "12 行" in r.stdout
    archive = archive_path(office)
    assert archive.name == "客户-跟进记录归档.xlsx" and archive.exists()

    # Every moved row is in the archive byte for byte (they were rows 2..13 and stay so).
    archived = row_bytes(archive)
    assert [archived[n] for n in sorted(archived) if n > 1] == [before_rows[n] for n in moved]
    # The master keeps its header and the rows that stay, moved up; nothing else changed.
    after_parts = parts(office)
    changed = {n for n in after_parts if after_parts[n] != before_parts[n]}
    assert set(after_parts) == set(before_parts)
    assert changed == part_of(office, schema.CONTACTS)
    kept = row_bytes(office)
    assert sorted(kept) == [1, 2, 3, 4]
    assert kept[1] == before_rows[1]
    assert [archive_mod.renumber(before_rows[n], n - 12) for n in (14, 15, 16)] == [kept[2], kept[3], kept[4]]
    for name, data in after_parts.items():
        if name.endswith((".xml", ".rels")):
            ElementTree.fromstring(data)
    # The loader sees the whole history, the bad date still a finding in the master.
    book2, findings = load(office)
    assert frame_rows(book2) == expected_history
    assert any(f.sheet == "跟进记录" and f.cell == "B3" for f in findings)
    # Both files open in openpyxl with the table covering their rows.
    assert openpyxl.load_workbook(office)["跟进记录"].tables["Contacts"].ref.endswith("4")
    wb = openpyxl.load_workbook(archive)
    assert wb["跟进记录"].max_row == 13 and wb["客户"].max_row == 1
    assert wb["跟进记录"]["E2"].value is None or isinstance(wb["跟进记录"]["E2"].value, str)


def test_a_second_archive_appends_and_refresh_sees_the_same(office, tmp_path):
    plan_before = outcome(office)
    assert run_cli("archive", office, "--before", "2025-06-01").returncode == 0
    archive = archive_path(office)
    first = row_bytes(archive)
    assert run_cli("archive", office, "--before", "2026-01-01").returncode == 0
    second = row_bytes(archive)
    assert {n: second[n] for n in first} == first  # append-only: the rows already there keep their bytes
    assert len(second) == 13 and len(row_bytes(office)) == 4
    texts = [r["备注"] for r in contact_rows(archive)]
    assert "第0次 =SUM(A1)" in texts and "第8次 =SUM(A1)" in texts  # a shared or inline string, still text
    assert outcome(office) == plan_before  # tasks and board (last contact, counts) see the archive
    # Nothing more to move: exit 0, no file touched.
    saved = parts(office)
    r = run_cli("archive", office, "--before", "2026-01-01")
    assert r.returncode == 0 and "未改动" in r.stdout and parts(office) == saved


def test_the_daily_loop_still_appends_after_an_archive(office):
    assert run_cli("archive", office, "--before", "2026-01-01").returncode == 0
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    _wb, rows, _at = task_rows(office)
    task = next(r for r in rows if r["客户编号"] == "K1")
    tick(office, {("K1", task["任务"]): {"完成": "是"}})
    r = run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23")
    assert r.returncode == 0, r.stderr
    logged = contact_rows(office)
    assert len(logged) == 4 and logged[-1]["任务编号"] and logged[0]["日期"] == "2026/11/18"
    assert sorted(row_bytes(office)) == [1, 2, 3, 4, 5]
    assert len(load(office)[0].contacts) == 16


def test_interleaved_old_and_new_rows_move_apart_in_order(tmp_path):
    # Old and new touches alternate down the sheet: a row that stays moves up by the number
    # of rows moved out above it; the moved rows land in the archive in their order, under
    # the header; a second archive appends below them.
    contacts = [{"client_id": f"K{i % 2 + 1}", "channel": "电话", "notes": f"行{i}",
                 "date": datetime(2025 if i % 3 else 2026, 1 + i % 12, 1 + i % 28, 10)} for i in range(40)]
    path = make_workbook(tmp_path / "客户.xlsx", clients=[client("K1"), client("K2")], contacts=contacts)
    before = row_bytes(path)
    history = frame_rows(load(path)[0])
    when = {n: contacts[n - 2]["date"] for n in before if n > 1}
    archived: list[int] = []  # rows of the original sheet now in the archive, in order
    for cut in (datetime(2025, 7, 1), datetime(2026, 1, 1)):
        moved = [n for n in sorted(when) if when[n] < cut and n not in archived]
        result = archive_master(path, cut.date())
        assert result.moved == len(moved) > 0
        if not archived:  # the first archive carries the rows byte for byte, renumbered
            rows = row_bytes(archive_path(path))
            assert [rows[k + 2] for k in range(len(moved))] == [
                archive_mod.renumber(before[n], k + 2) for k, n in enumerate(moved)]
        archived += moved
        assert [r["备注"] for r in contact_rows(archive_path(path))] == [f"行{n - 2}" for n in archived]
        stay = [n for n in sorted(when) if n not in archived]
        kept = row_bytes(path)
        assert result.kept == len(stay) and sorted(kept) == list(range(1, len(stay) + 2))
        assert [kept[k + 2] for k in range(len(stay))] == [
            archive_mod.renumber(before[n], k + 2) for k, n in enumerate(stay)]
    assert len(archived) == 26 and frame_rows(load(path)[0]) == history


def test_a_failed_master_write_leaves_both_files_as_they_were(office, monkeypatch):
    assert run_cli("archive", office, "--before", "2025-06-01").returncode == 0
    archive = archive_path(office)
    saved_master, saved_archive = parts(office), parts(archive)
    real = os.replace

    def failing(src, dst):
        if Path(dst) == office:
            raise OSError(5, "I/O error")
        return real(src, dst)

    monkeypatch.setattr(archive_mod.os, "replace", failing)
    with pytest.raises(OSError):
        archive_master(office, date(2026, 1, 1))
    assert parts(office) == saved_master and parts(archive) == saved_archive
    assert not [p for p in office.parent.iterdir() if p.name.startswith(".xlcrm-")]


def test_rows_without_numbers_are_refused(office, tmp_path):
    # Rows may leave out r="…" (they follow one another); moving them cannot say where to.
    import re

    part = contacts_part(office)
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(office) as src, zipfile.ZipFile(bare, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                data = re.sub(rb'(<row\b[^>]*?)\sr="14"', rb"\1", data)
            dst.writestr(info, data)
    saved = parts(bare)
    with pytest.raises(RefreshError, match="行号"):
        archive_master(bare, date(2026, 1, 1))
    assert parts(bare) == saved and not archive_path(bare).exists()


def test_formulas_in_the_contacts_sheet_are_refused(office):
    wb = openpyxl.load_workbook(office)
    wb["跟进记录"]["H20"] = "=1+1"
    wb.save(office)
    saved = parts(office)
    r = run_cli("archive", office, "--before", "2026-01-01")
    assert r.returncode == 1 and "公式" in r.stderr and parts(office) == saved
    assert not archive_path(office).exists()
    with pytest.raises(RefreshError):
        archive_master(office, date(2026, 1, 1))


def test_validate_warns_near_excels_row_limit(office, monkeypatch):
    book, _ = load(office)
    assert not [f for f in validate(book) if f.code == "rows-near-limit"]
    monkeypatch.setattr(package, "EXCEL_ROWS", 17)  # the last row is 16: 94%
    hits = [f for f in validate(book) if f.code == "rows-near-limit"]
    assert len(hits) == 1 and "xlcrm archive" in hits[0].message and hits[0].severity == "warning"
    monkeypatch.setattr(package, "EXCEL_ROWS", 18)  # 89%: not yet
    assert not [f for f in validate(book) if f.code == "rows-near-limit"]


def test_nothing_is_appended_past_excels_last_row(office, tmp_path, monkeypatch):
    """A sheet past row 1,048,576 opens nowhere: import and the daily loop refuse, and say
    to archive, instead of writing it. (Excel's limit made 17 rows: the last row is 16.)"""
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode == 0
    _wb, rows, _at = task_rows(office)
    tick(office, {(r["客户编号"], r["任务"]): {"完成": "是"} for r in rows[:2]})
    log = tmp_path / "log.csv"
    log.write_text("客户编号,跟进日期,跟进方式,跟进内容\nK1,2026/11/21 10:00,电话,一\nK2,2026/11/21 11:00,电话,二\n",
                   encoding="utf-8")
    saved = parts(office)
    monkeypatch.setattr(package, "EXCEL_ROWS", 17)
    runner = CliRunner()
    for command in (["import", str(office), str(log)],
                    ["refresh", str(office), "--agent", "张伟", "--today", "2026-11-23"]):
        result = runner.invoke(cli, command)
        assert result.exit_code == 1, (command, result.output)
        assert "已用到第 16 行,再追加 2 行会超过 Excel 每表 17 行的上限" in result.output, result.output
        assert "xlcrm archive" in result.output and isinstance(result.exception, SystemExit)
        assert parts(office) == saved  # the ticks are still in 我的任务, for after the archive
    monkeypatch.setattr(package, "EXCEL_ROWS", 18)  # room for two rows: the ticks are logged
    result = runner.invoke(cli, ["refresh", str(office), "--agent", "张伟", "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    assert len(contact_rows(office)) == 17


def test_an_archive_is_never_filled_past_excels_last_row(office, monkeypatch):
    assert archive_master(office, date(2026, 1, 1)).moved == 12  # the archive's last row is 13
    saved, archived = parts(office), parts(archive_path(office))
    monkeypatch.setattr(package, "EXCEL_ROWS", 13)
    with pytest.raises(RefreshError, match="客户-跟进记录归档.xlsx 的跟进记录」已用到第 13 行,再追加 1 行") as refused:
        archive_master(office, date(2026, 11, 19))  # would move the row of 2026/11/18
    assert "改名" in str(refused.value)
    assert parts(office) == saved and parts(archive_path(office)) == archived
    assert not archive_mod.journal_path(office).exists()
    monkeypatch.setattr(package, "EXCEL_ROWS", 14)
    assert archive_master(office, date(2026, 11, 19)).moved == 1


def test_bad_before_date_is_a_usage_error(office):
    r = run_cli("archive", office, "--before", "2026-13-01")
    assert r.returncode == 2 and "--before" in r.stderr
    assert not archive_path(office).exists()


def test_both_files_read_the_same_everywhere(office):
    from .filecheck import check_file

    assert run_cli("archive", office, "--before", "2025-06-01").returncode == 0
    assert run_cli("archive", office, "--before", "2026-01-01").returncode == 0
    for path in (office, archive_path(office)):
        rows = check_file(path)  # strict XML, openpyxl normal/read-only, calamine, LibreOffice
        assert rows


def _killed_archive(office: Path, killed_at: int) -> None:
    """Run `xlcrm archive` in a process that dies (os._exit) at its `killed_at`-th os.replace:
    1 the backup, 2 the new master to its pending name, 3 the journal, 4 the archive,
    5 the master."""
    import subprocess
    import sys

    script = ("import os, sys\n"
              "from datetime import date\n"
              "from xlcrm.io import archive\n"
              "real, calls = os.replace, []\n"
              "def replace(a, b):\n"
              "    calls.append(b)\n"
              f"    if len(calls) == {killed_at}:\n"
              "        os._exit(9)\n"
              "    real(a, b)\n"
              "archive.os.replace = replace\n"
              "archive.archive_master(sys.argv[1], date(2026, 1, 1))\n")
    r = subprocess.run([sys.executable, "-c", script, str(office)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert r.returncode == 9, r.stderr


@pytest.mark.parametrize("killed_at", [2, 4, 5])
def test_archive_killed_between_its_renames_is_finished_by_the_next_locked_command(office, killed_at):
    """Killed after renaming the archive but before the master (5), the moved rows are in
    both files: the loader warns, and the next command that takes the lock puts the new
    master in place. Killed before the archive's rename (2, 4): nothing moved, and what
    the run left beside the master is cleared."""
    before = load(office)[0].contacts
    _killed_archive(office, killed_at)
    journal = archive_mod.journal_path(office)
    assert journal.exists() == (killed_at > 3)
    book, found = load(office)
    half = [f for f in found if f.code == "archive-interrupted"]
    if killed_at == 5:
        assert half and len(book.contacts) > len(before)  # the moved rows counted twice, and said so
    else:
        assert not archive_path(office).exists() and len(book.contacts) == len(before)
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode in (0, 1)
    assert not journal.exists() and not list(office.parent.glob(".xlcrm-*"))
    assert not list(office.parent.glob(f".{office.name}.xlcrm-archive*"))
    book, found = load(office)
    assert not [f for f in found if f.code == "archive-interrupted"]
    assert len(book.contacts) == len(before)  # every row once: master + archive
    if killed_at == 5:
        master_only = load(office, archives=False)[0].contacts
        assert not (master_only["date"] < pd.Timestamp(2026, 1, 1)).any() and len(master_only) == 3


def test_archive_killed_then_master_saved_puts_the_archive_back(office):
    """Killed between the renames, then the master saved (in Excel) before any locked
    command: the new master can't be put in place without losing that save, so the archive
    goes back to how it was and the rows are only in the saved master. When neither file
    is as the journal left it, the journal stays and archive refuses to guess."""
    before = load(office)[0].contacts
    assert archive_master(office, date(2025, 6, 1)).moved > 0  # an archive exists already
    archived_before = archive_path(office).read_bytes()
    _killed_archive(office, 5)
    st = office.stat()
    os.utime(office, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # saved since
    assert run_cli("refresh", office, "--agent", "张伟", "--today", "2026-11-23").returncode in (0, 1)
    assert archive_path(office).read_bytes() == archived_before
    assert not archive_mod.journal_path(office).exists()
    assert len(load(office)[0].contacts) == len(before)

    _killed_archive(office, 5)
    for path in (office, archive_path(office)):  # both changed since: nobody can tell
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 7_000_000_000))
    assert archive_mod.finish_interrupted(office) == "unknown"
    assert any(f.code == "archive-interrupted" for f in load(office)[1])
    r = run_cli("archive", office, "--before", "2026-01-01")
    assert r.returncode == 1 and "无法判断" in r.stderr


def test_validate_on_an_archive_checks_it_with_its_master(office, tmp_path):
    assert archive_master(office, date(2026, 1, 1)).moved > 0
    arch = archive_path(office)
    r = run_cli("validate", arch)
    assert f"是 {office.name} 的跟进记录归档" in r.stdout
    assert "不存在" not in r.stderr, r.stderr  # its 客户编号 are the master's clients
    alone = tmp_path / "alone"
    alone.mkdir()
    moved = alone / arch.name
    os.replace(arch, moved)
    r = run_cli("validate", moved)
    assert "旁边没有主表" in r.stderr and "在「客户」表中不存在" not in r.stderr, r.stderr


def test_master_and_archive_ids_are_one_sorted_set_of_categories(office):
    # K2's rows all move to the archive, A0 only in the master, K1/K3 in both: the ids'
    # categories are united and sorted (as reading one sheet gives them), codes intact.
    wb = openpyxl.load_workbook(office)
    ws = wb["跟进记录"]
    ws.append(["A0", datetime(2026, 11, 21, 9), None, "电话"])
    wb.save(office)
    assert run_cli("archive", office, "--before", "2026-01-01").returncode == 0
    book, _ = load(office)
    ids = book.contacts["client_id"]
    assert isinstance(ids.dtype, pd.CategoricalDtype)
    assert list(ids.cat.categories) == sorted(set(ids.dropna().astype(str)))
    old, _ = load(archive_path(office), archives=False)
    live, _ = load(office, archives=False)
    assert ids.astype(object).tolist() == (old.contacts["client_id"].astype(object).tolist()
                                            + live.contacts["client_id"].astype(object).tolist())
    assert ids.astype(object).tolist()[-1] == "A0"


def test_a_master_that_needs_zip64_is_archived_too(office):
    # 65,535 parts and more take zip64, which zipfile writes: a part deflated ahead
    # (the master's 跟进记录) is handed over inflated, not refused.
    with zipfile.ZipFile(office, "a") as zf:
        for i in range(0xFFFF - len(zf.infolist())):
            zf.writestr(f"customXml/pad{i}.bin", b"")
    before = row_bytes(office)
    result = archive_master(office, date(2026, 1, 1))
    assert result.moved == 12 and len(zipfile.ZipFile(office).infolist()) >= 0xFFFF
    assert row_bytes(office)[2] == archive_mod.renumber(before[14], 2)
