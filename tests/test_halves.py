"""The biggest sheet, read in two halves at once (io/halves), reads as one read of it.

Every workbook is loaded twice on the fast path: with the cut (CUT_MIN 0, so even a
small sheet is cut) and without it; frames (values and dtypes), column letters and
findings must be equal. A spy counts the cuts that were actually joined, so a test
cannot pass by never cutting.
"""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlcrm.io import halves, loader, schema
from xlcrm.io.errors import WorkbookError
from xlcrm.io.template import write_workbook

from .conftest import client, make_workbook
from .test_loader_arrow import assert_same, cell, spy_on


def load_cut_and_whole(path, monkeypatch):
    joined = spy_on(monkeypatch, halves, "joined", halves.joined, [],
                    lambda sheet, first, second, cut_row: cut_row)
    monkeypatch.setattr(loader, "THREADS", 2)
    monkeypatch.setattr(loader, "BIG_SHEET", 0)
    monkeypatch.setattr(halves, "CUT_MIN", 0)
    cut = loader.load(path)
    monkeypatch.setattr(halves, "CUT_MIN", 1 << 62)
    whole = loader.load(path)
    return cut, whole, joined


def contacts(n: int, **extra) -> list[dict]:
    channels = ["电话", "短信", "拜访", "微信", "活动"]
    rows = []
    for i in range(n):
        row = {"client_id": f"K{i % 7 + 1}", "date": date(2026, 1 + i % 12, 1 + i % 28),
               "channel": channels[i % 5], "outcome": "已接通" if i % 3 else "未接通", "notes": f"第{i}次"}
        row.update({k: v(i) for k, v in extra.items()})
        rows.append(row)
    return rows


def test_contacts_cut_in_two_read_as_one(tmp_path, monkeypatch):
    path = make_workbook(tmp_path / "c.xlsx", clients=[client(f"K{i}") for i in range(1, 8)],
                         contacts=contacts(400))
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert len(joined) == 1 and 100 < joined[0] < 300
    frame = cut[0].contacts
    assert frame["_row"].tolist() == list(range(2, 402))
    assert isinstance(frame["client_id"].dtype, pd.CategoricalDtype)


def test_bad_cells_in_both_halves_are_named_in_order(tmp_path, monkeypatch):
    """Bad dates, unknown choices and blank ids above and below the cut: one list, column by
    column and row by row, with the Excel rows of the whole sheet."""
    bad = {"date": lambda i: "2026-13-45" if i % 50 == 7 else date(2026, 3, 1 + i % 28),
           "channel": lambda i: "飞鸽" if i % 60 == 3 else "电话",
           "client_id": lambda i: None if i in (5, 390) else "K1",
           "next_follow_up": lambda i: "true" if i % 70 == 1 else None}
    path = make_workbook(tmp_path / "b.xlsx", clients=[client("K1")], contacts=contacts(400, **bad))
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert joined
    cells = [f.cell for f in cut[1] if f.sheet == "跟进记录"]
    assert len(cells) > 10
    date_col = schema.column_letter_of(schema.CONTACTS, "date")
    rows = [int(c[len(date_col):]) for c in cells if c.startswith(date_col)]
    assert rows == sorted(rows) and rows[0] < joined[0] <= rows[-1]


def test_a_column_blank_below_the_cut_and_text_only_above(tmp_path, monkeypatch):
    """A date column with values only above the cut, other client ids above the cut than
    below: the dtypes one read gives (datetime, the sorted categories of the whole column)."""
    extra = {"promised_date": lambda i: date(2026, 12, 1) if i < 50 else None,
             "client_id": lambda i: f"K{i % 3 + 1}" if i < 150 else None if i < 250 else f"K{i % 4 + 4}"}
    path = make_workbook(tmp_path / "d.xlsx", clients=[client(f"K{i}") for i in range(1, 8)],
                         contacts=contacts(400, **extra))
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert joined


def test_shared_strings_as_excel_saves_them(tmp_path, monkeypatch):
    """Strings in a shared table (as Excel saves them): both halves take the table along;
    a required column missing is said once, not once a half."""
    import xlsxwriter

    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("跟进记录")
    keys = ["client_id", "date", "outcome", "notes"]  # no 方式: a required column missing
    ws.write_row(0, 0, [schema.CONTACTS.column(k).zh for k in keys])
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for i, row in enumerate(contacts(300), start=1):
        ws.write_row(i, 0, [row["client_id"]])
        ws.write_datetime(i, 1, datetime.combine(row["date"], datetime.min.time()), day)
        ws.write_row(i, 2, [row["outcome"], row["notes"]])
    wb.close()
    with zipfile.ZipFile(path) as zf:
        assert b't="s"' in zf.read("xl/worksheets/sheet1.xml")
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert joined and len(cut[0].contacts) == 300
    assert [f.field for f in cut[1] if f.code == "column-missing"] == ["channel"]
    assert cut[0].contacts["client_id"].cat.categories.tolist() == [f"K{i}" for i in range(1, 8)]
    # A strings table past STRINGS_MAX (each half's reader would parse it again): read whole.
    monkeypatch.setattr(halves, "STRINGS_MAX", 10)
    joined.clear()
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert not joined


def _edited(src, out, part_of, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info.filename, edit(data) if info.filename == part_of else data)
    return out


def _contacts_part(path) -> str:
    from xlcrm.io.package import sheet_parts

    with zipfile.ZipFile(path) as zf:
        return sheet_parts(zf)["跟进记录"]


def test_rows_without_numbers_are_read_whole(tmp_path, monkeypatch):
    base = make_workbook(tmp_path / "n.xlsx", clients=[client("K1")], contacts=contacts(300))
    path = _edited(base, tmp_path / "norow.xlsx", _contacts_part(base),
                   lambda data: re.sub(rb'(<row\b[^>]*?) r="\d+"', rb"\1", data))
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert not joined
    assert len(cut[0].contacts) == 300


def test_a_damaged_second_half_refuses_the_workbook(tmp_path, monkeypatch):
    """The first half is read before the check reaches the end: a CRC error further on
    still refuses the workbook in one line."""
    base = make_workbook(tmp_path / "ok.xlsx", clients=[client("K1")], contacts=contacts(400))
    part = _contacts_part(base)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
    with zipfile.ZipFile(bad) as zf:
        info = zf.getinfo(part)
    raw = bytearray(bad.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size - 40] ^= 0x55  # flip bits near the end of the sheet's stream
    bad.write_bytes(bytes(raw))
    monkeypatch.setattr(loader, "THREADS", 2)
    monkeypatch.setattr(loader, "BIG_SHEET", 0)
    monkeypatch.setattr(halves, "CUT_MIN", 0)
    with pytest.raises(WorkbookError, match="损坏"):
        loader.load(bad)


def test_a_far_cell_in_the_first_half_is_never_handed_to_a_reader(tmp_path, monkeypatch):
    base = make_workbook(tmp_path / "ok.xlsx", clients=[client("K1")], contacts=contacts(400))
    """A cell far outside the grid near the top: the cut must not hand the first half to a
    reader (python-calamine would allocate the whole range and abort the process)."""
    far = b'<c r="XFD1048576" t="inlineStr"><is><t>z</t></is></c></row>'
    path = _edited(base, tmp_path / "far.xlsx", _contacts_part(base),
                   lambda data: re.sub(rb'(<row\b[^>]*? r="60"[^>]*>.*?)</row>', lambda m: m.group(1) + far,
                                       data, count=1, flags=re.S))
    handed: list = []
    real = halves.Halves._cut

    def cut(self, max_row, max_col):
        real(self, max_row, max_col)
        handed.append(self.first_done)

    monkeypatch.setattr(halves.Halves, "_cut", cut)
    monkeypatch.setattr(loader, "THREADS", 2)
    monkeypatch.setattr(loader, "BIG_SHEET", 0)
    monkeypatch.setattr(halves, "CUT_MIN", 0)
    with pytest.raises(WorkbookError, match="太大|超出"):
        loader.load(path)
    assert handed and not any(handed)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(cell, min_size=9, max_size=9), min_size=4, max_size=40))
def test_garbage_contacts_cut_read_as_one(tmp_path, monkeypatch, grid):
    path = tmp_path / "g.xlsx"
    write_workbook(path, "zh", {"contacts": [tuple(r) for r in grid]})
    cut, whole, _ = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)


@pytest.mark.parametrize("chunk", [7, 61, 1000, 9000])
def test_any_chunking_of_the_stream_cuts_the_same(tmp_path, monkeypatch, chunk):
    """The guard hands the XML over in chunks of any size: a row tag or the header row
    split between two chunks still cuts cleanly (or the sheet is read whole)."""
    from xlcrm.io import guard

    path = make_workbook(tmp_path / "k.xlsx", clients=[client(f"K{i}") for i in range(1, 8)],
                         contacts=contacts(300))
    monkeypatch.setattr(guard, "CHUNK", chunk)
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert joined


def test_a_middle_after_sheet_data_gives_up_the_cut_early(tmp_path, monkeypatch):
    """A sheet whose XML is mostly other things after its rows (a big extLst): the middle
    falls after </sheetData>, so nothing is cut, and the tail is not held and searched
    again chunk after chunk (it was, quadratically, in review)."""
    import os

    from xlcrm.io import guard

    base = make_workbook(tmp_path / "ok.xlsx", clients=[client("K1")], contacts=contacts(300))
    tail = (b'<extLst><ext uri="{X}" xmlns:q="urn:q">'
            + b"".join(b'<q:i a="%s"/>' % os.urandom(8).hex().encode() for _ in range(20000)) + b"</ext></extLst>")
    path = _edited(base, tmp_path / "tail.xlsx", _contacts_part(base),
                   lambda data: data.replace(b"</worksheet>", tail + b"</worksheet>"))
    held: list[int] = []
    real = halves.Halves.__call__

    def spy(self, chunk, max_row, max_col):
        real(self, chunk, max_row, max_col)
        held.append(len(self.pending))

    monkeypatch.setattr(halves.Halves, "__call__", spy)
    monkeypatch.setattr(guard, "CHUNK", 4096)
    cut, whole, joined = load_cut_and_whole(path, monkeypatch)
    assert_same(cut, whole)
    assert not joined
    assert held and max(held) < 64 << 10


def test_fast_deflate_blocks_overlapping_in_threads_leave_zipfile_as_it_was():
    """Two threads' blocks overlap (A enters, B enters, A leaves, B leaves): ISA-L stays
    in use until the last one leaves, then zipfile's own compressor is back."""
    import threading

    from xlcrm.io.package import fast_deflate

    real = zipfile._get_compressor
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    during: list[bool] = []

    def a():
        with fast_deflate():
            a_in.set()
            b_in.wait()
        a_out.set()

    def b():
        a_in.wait()
        with fast_deflate():
            b_in.set()
            a_out.wait()
            during.append(zipfile._get_compressor is not real)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert during == [True]
        assert zipfile._get_compressor is real
    finally:
        zipfile._get_compressor = real
