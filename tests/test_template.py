"""`xlcrm new`: every sheet, table, dropdown, frozen header and default rule."""

from __future__ import annotations

import openpyxl

from xlcrm.core.rules import RULE_DESCS as RULES
from xlcrm.io import schema

from .conftest import run_cli, to_pdf


def test_new_writes_every_sheet_as_a_table_with_exact_headers(tmp_path):
    path = tmp_path / "new.xlsx"
    result = run_cli("new", path)
    assert result.returncode == 0, result.stderr
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [s.zh for s in schema.SHEETS]
    for sheet in schema.SHEETS:
        ws = wb[sheet.zh]
        assert list(ws.tables) == [sheet.table]
        table = ws.tables[sheet.table]
        assert table.ref.startswith("A1:")
        headers = [c.value for c in ws[1][: len(sheet.columns)]]
        assert headers == [c.zh for c in sheet.columns]
        assert ws.freeze_panes == "A2"
        assert ws.column_dimensions["A"].width >= 6


def test_new_has_dropdowns_for_every_vocabulary_and_agents(tmp_path):
    path = tmp_path / "new.xlsx"
    run_cli("new", path)
    wb = openpyxl.load_workbook(path)
    ws = wb["客户"]
    lists = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            for rng in str(dv.sqref).split():
                lists[rng.split(":")[0].rstrip("0123456789")] = dv.formula1
    letter = {c.key: schema.column_letter_of(schema.CLIENTS, c.key) for c in schema.CLIENTS.columns}
    assert lists[letter["gender"]] == '"男,女"'
    assert "流失" in lists[letter["stage"]]
    assert lists[letter["class_override"]] == '"A,B,C,D"'
    assert lists[letter["agent"]].startswith("'顾问'!$A$2")
    for key in ("source", "influence", "referral_willingness", "do_not_contact", "birthday_calendar",
                "churn_reason"):
        assert key and lists[letter[key]].startswith('"')
    contacts = wb["跟进记录"]
    kinds = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in contacts.data_validations.dataValidation
             if dv.type == "list"}
    assert "拜访" in kinds["D"] and "投诉" in kinds["E"]


def test_new_formats_dates_and_phones(tmp_path):
    path = tmp_path / "new.xlsx"
    run_cli("new", path)
    ws = openpyxl.load_workbook(path)["客户"]
    phone = schema.column_letter_of(schema.CLIENTS, "phone")
    first = schema.column_letter_of(schema.CLIENTS, "first_contact")
    assert ws.column_dimensions[phone].number_format == "@"
    assert ws.column_dimensions[first].number_format == "yyyy-mm-dd"


def test_rules_sheet_holds_every_default_with_a_description(tmp_path):
    path = tmp_path / "new.xlsx"
    run_cli("new", path)
    ws = openpyxl.load_workbook(path)["规则"]
    values = {r[0]: (r[1], r[2]) for r in ws.iter_rows(min_row=2, values_only=True)}
    for rule in RULES:
        assert rule.key in values, rule.key
        assert values[rule.key][1]
    assert values["B类联系周期天数"][0] == "3"
    templates = {r[0] for r in openpyxl.load_workbook(path)["短信模板"].iter_rows(min_row=2, values_only=True)}
    assert {"生日祝福", "节日祝福", "日常关怀", "来电路线", "来访感谢", "成交祝贺"} <= templates


def test_new_in_english(tmp_path):
    path = tmp_path / "en.xlsx"
    assert run_cli("new", path, "--lang", "en").returncode == 0
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [s.en for s in schema.SHEETS]
    assert [c.value for c in wb["Clients"][1][:3]] == ["client_id", "name", "gender"]
    assert run_cli("validate", path).returncode == 0


def test_new_refuses_to_overwrite(tmp_path):
    path = tmp_path / "new.xlsx"
    path.write_text("keep me")
    result = run_cli("new", path)
    assert result.returncode == 1 and "已存在" in result.stderr
    assert path.read_text() == "keep me"


def test_new_opens_in_libreoffice(tmp_path):
    path = tmp_path / "new.xlsx"
    run_cli("new", path)
    to_pdf(path, tmp_path)
