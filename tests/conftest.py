"""Small real workbooks for tests: rows as dicts keyed by the schema's English keys."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from xlcrm.io import schema
from xlcrm.io.loader import load
from xlcrm.io.template import write_workbook

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 23)  # a Monday


def rows(sheet: schema.Sheet, dicts: list[dict]) -> list[tuple]:
    for d in dicts:
        unknown = set(d) - set(sheet.keys)
        assert not unknown, f"unknown keys {unknown} for {sheet.key}"
    return [tuple(d.get(k) for k in sheet.keys) for d in dicts]


AGENTS = [{"agent": "张伟", "login": "zhangwei", "active": "是"},
          {"agent": "李娜", "login": "lina", "active": "是"}]


def client(cid: str, **kw) -> dict:
    base = {"client_id": cid, "name": "王小明", "gender": "男", "phone": "13800138000", "agent": "张伟",
            "stage": "意向", "first_contact": date(2025, 1, 1)}
    base.update(kw)
    return base


def sheet_rows(clients=(), contacts=(), referrals=(), key_dates=(), agents=None, rules=None,
               templates=None, handovers=(), profiles=(), key_persons=(), activities=(),
               holidays=()) -> dict[str, list[tuple]]:
    """Rows by sheet key from dicts; 规则 and 短信模板 only when given."""
    data = {
        "clients": rows(schema.CLIENTS, list(clients)),
        "contacts": rows(schema.CONTACTS, list(contacts)),
        "referrals": rows(schema.REFERRALS, list(referrals)),
        "key_dates": rows(schema.KEY_DATES, list(key_dates)),
        "agents": rows(schema.AGENTS, list(AGENTS if agents is None else agents)),
        "handovers": rows(schema.HANDOVERS, list(handovers)),
        "profiles": rows(schema.PROFILES, list(profiles)),
        "key_persons": rows(schema.KEY_PERSONS, list(key_persons)),
        "activities": rows(schema.ACTIVITIES, list(activities)),
        "holidays": rows(schema.HOLIDAYS, list(holidays)),
    }
    if rules is not None:
        data["rules"] = rules
    if templates is not None:
        data["templates"] = templates
    return data


def make_workbook(path: Path, lang="zh", **sheets) -> Path:
    write_workbook(path, lang, sheet_rows(**sheets))
    return path


def make_book(tmp_path: Path, **kw):
    path = make_workbook(tmp_path / "book.xlsx", **kw)
    book, findings = load(path)
    return book, findings


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xlcrm", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(path: Path, outdir: Path, infilter: str | None = None) -> Path:
    exe = soffice()
    if exe is None:
        pytest.skip("LibreOffice is not installed (.ci/run installs it)")
    extra = [f"--infilter={infilter}"] if infilter else []
    subprocess.run([exe, "--headless", f"-env:UserInstallation=file://{outdir}/lo-profile", *extra,
                    "--convert-to", "pdf", "--outdir", str(outdir), str(path)],
                   check=True, capture_output=True, timeout=300)
    pdf = outdir / (path.stem + ".pdf")
    assert pdf.exists() and pdf.stat().st_size > 1000
    return pdf


@pytest.fixture(scope="session")
def sample_path(tmp_path_factory) -> Path:
    """A freshly generated 300-client sample (the same as workbook/sample.xlsx)."""
    from xlcrm.io.sample import write_sample

    path = tmp_path_factory.mktemp("sample") / "sample.xlsx"
    write_sample(path, 300, 5, 1, TODAY)
    return path


def book_of(clients=(), contacts=(), referrals=(), key_dates=(), agents=None, rules=None, templates=None,
            handovers=(), profiles=(), key_persons=(), activities=(), holidays=()):
    """A Book built in memory through the loader's own row reader (no file)."""
    from xlcrm.io.loader import new_book, read_sheet
    from xlcrm.io.template import default_rows

    data = default_rows() | sheet_rows(clients, contacts, referrals, key_dates, agents, rules, templates,
                                       handovers, profiles, key_persons, activities, holidays)
    frames, letters = {}, {}
    for sheet in schema.USER_SHEETS:
        raw = [[c.zh for c in sheet.columns]] + [list(r) for r in data[sheet.key]]
        frame, cols, findings = read_sheet(raw, sheet, sheet.zh)
        assert not findings, findings
        frames[sheet.key], letters[sheet.key] = frame, cols
    return new_book(frames, letters=letters)
