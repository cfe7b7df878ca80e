"""The loader: dates typed every way people type them, phones as text, English headers."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlcrm.io import loader, schema
from xlcrm.io.archive import archive_path
from xlcrm.io.dates import parse_date, parse_month_day
from xlcrm.io.errors import WorkbookError
from xlcrm.io.loader import load
from xlcrm.io.package import sheet_parts

from .conftest import client, make_book, make_workbook


@pytest.mark.parametrize("text", ["2024-03-05", "2024/3/5", "2024.3.5", "2024年3月5日", "20240305",
                                  " 2024 / 03 / 05 ", "45356", 45356, 45356.0])
def test_text_dates(text):
    assert parse_date(text) == datetime(2024, 3, 5)


@pytest.mark.parametrize("text", ["2024-13-01", "2024-02-30", "next tuesday", "3/5", "0"])
def test_not_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


@pytest.mark.parametrize("text,md", [("03-15", (3, 15)), ("3月15日", (3, 15)), ("3/15", (3, 15)),
                                     ("02-29", (2, 29)), ("1990-03-15", (3, 15))])
def test_month_day(text, md):
    assert parse_month_day(text)[1:] == md


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日"]))
def test_every_typed_form_round_trips(day, form):
    text = form.format(y=day.year, m=day.month, d=day.day)
    assert parse_date(text).date() == day


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)))
def test_serial_numbers_round_trip(day):
    serial = (day - date(1899, 12, 30)).days
    assert parse_date(serial).date() == day


def test_loader_reads_typed_frames(tmp_path):
    book, findings = make_book(tmp_path, clients=[
        client("K1", phone="+86 13800138000", birthday="3月15日", deal_value="12.5"),
        client("K2", phone="021-66668888", birthday="1985/3/5", first_contact="2024.3.5"),
        client("K3", phone=13800138000.0, birthday=date(1990, 2, 28)),
    ])
    assert findings == []
    c = book.clients.set_index("client_id")
    assert c.loc["K1", "phone"] == "+86 13800138000"
    assert c.loc["K2", "phone"] == "021-66668888"
    assert c.loc["K3", "phone"] == "13800138000"
    assert (c.loc["K1", "birthday_month"], c.loc["K1", "birthday_day"]) == (3, 15)
    assert c.loc["K2", "birthday"] == datetime(1985, 3, 5)
    assert c.loc["K2", "first_contact"] == datetime(2024, 3, 5)
    assert c.loc["K1", "deal_value"] == 12.5
    assert list(c["_row"]) == [2, 3, 4]


def test_english_headers(tmp_path):
    book, findings = make_book(tmp_path, clients=[client("K1")], lang="en")
    assert findings == []
    assert book.names["clients"] == "Clients"
    assert book.clients["client_id"].tolist() == ["K1"]


def test_contact_datetimes_keep_their_time(tmp_path):
    when = datetime(2026, 11, 20, 9, 30) + timedelta(seconds=0)
    book, _ = make_book(tmp_path, clients=[client("K1")],
                        contacts=[{"client_id": "K1", "date": when, "channel": "电话"}])
    assert book.contacts["date"].iloc[0] == when


@pytest.mark.parametrize("fast", [True, False], ids=["fastexcel", "calamine"])
def test_only_some_sheets_are_read_but_every_sheet_is_checked(tmp_path, monkeypatch, fast):
    monkeypatch.setattr(loader, "FAST", fast)
    touches = [{"client_id": "K1", "date": datetime(2026, 11, 2 + i), "channel": "电话"} for i in range(3)]
    path = make_workbook(tmp_path / "book.xlsx", clients=[client("K1"), client("K2", phone="13900139000")],
                         contacts=touches)
    whole, _ = load(path)
    some, findings = load(path, only=("clients", "agents"))
    assert findings == []
    assert some.clients.equals(whole.clients) and some.agents.equals(whole.agents)
    assert len(whole.contacts) == 3 and some.contacts.empty
    assert some.names["contacts"] == "跟进记录" and "contacts" not in some.letters
    # Nor is the archive of 跟进记录 (xlcrm archive) read: here, one that is not a workbook.
    archive_path(path).write_bytes(b"not a workbook")
    with pytest.raises(WorkbookError):
        load(path)
    opened = []
    real = loader._load
    monkeypatch.setattr(loader, "_load", lambda p, only=None: opened.append(p) or real(p, only))
    assert load(path, only=("clients", "agents"))[0].clients.equals(whole.clients)
    assert opened == [path]
    monkeypatch.setattr(loader, "_load", real)
    archive_path(path).unlink()
    # The sheet not read is still checked: a cell past Excel's last column refuses the file.
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        log = sheet_parts(src)[schema.CONTACTS.zh]
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == log:
                data = data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
                                                     b"</sheetData>")
            dst.writestr(info.filename, data)
    with pytest.raises(WorkbookError):
        load(bad, only=("clients", "agents"))
