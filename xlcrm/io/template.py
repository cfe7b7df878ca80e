"""Write a master workbook: every sheet as an Excel Table, with dropdowns and formats.

`xlcrm new` writes it empty (plus the 规则 defaults and the 短信模板 defaults);
`xlcrm sample` writes the same layout filled with generated rows. xlsxwriter writes
brand-new files fast (DESIGN.md) and never turns a string into a formula
(`strings_to_formulas` is off), so text starting with `=` stays text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from ..core import vocab
from ..core.messages import DEFAULT_TEMPLATES, variants
from ..core.rules import RULE_DESCS, display
from . import schema
from .schema import Sheet

MAX_ROW = 1_048_575  # last 0-based row of a sheet: validations cover the whole column
SAFE_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "use_zip64": True,
}
HEADER_STYLE = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "valign": "vcenter",
                "border": 1, "text_wrap": True}
OVERDUE_STYLE = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}


def default_rows() -> dict[str, list[tuple]]:
    """The rows a new workbook starts with: every rule default and every template."""
    return {
        "rules": [(r.key, display(r.default), r.description) for r in RULE_DESCS],
        # A kind with several variants gets one row per variant, all under its name.
        "templates": [(name, body) for name, bodies in DEFAULT_TEMPLATES.items() for body in variants(bodies)],
    }


class Formats:
    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.header = wb.add_format(HEADER_STYLE)
        self.date = wb.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.text = wb.add_format({"num_format": "@"})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})
        self.overdue = wb.add_format(OVERDUE_STYLE)
        self.percent = wb.add_format({"num_format": "0%"})

    def for_column(self, sheet: Sheet, col: schema.Column):
        if col.kind in ("date", "monthday"):
            return self.datetime if (sheet.key, col.key) == ("contacts", "date") else self.date
        if col.kind == "phone":
            return self.text
        if col.key in schema.WRAPPED_KEYS:
            return self.wrap
        if (sheet.key, col.key) == ("board", "completeness"):
            return self.percent
        return None


# Columns whose dropdown lists the agents of 顾问.
AGENT_COLUMNS = {"clients": ("agent",), "handovers": ("from_agent", "to_agent")}


def _agent_list_source(lang: str) -> str:
    agents = schema.AGENTS
    return f"='{agents.name(lang)}'!$A$2:$A$2000"


def write_sheet(wb: xlsxwriter.Workbook, fmt: Formats, sheet: Sheet, rows: Sequence[Sequence[Any]],
                lang: str, later: list | None = None) -> None:
    """One sheet; with `later`, the rows are not written through xlsxwriter but queued
    as (sheet name, rows, column formats) for `bulk_rows` to splice in after close."""
    ws = wb.add_worksheet(sheet.name(lang))
    cols = sheet.columns
    # xlsxwriter records every cell of a table's range (9 M entries, 1.3 GB for a million
    # rows): with `later` the table is added for one row and grown when the rows are spliced.
    n = 1 if later is not None else max(len(rows), 1)
    ws.add_table(0, 0, n, len(cols) - 1, {
        "name": sheet.table,
        "style": "Table Style Medium 2",
        "columns": [{"header": c.header(lang), "header_format": fmt.header} for c in cols],
    })
    ws.set_row(0, 30)
    ws.freeze_panes(1, 0)
    formats = [fmt.for_column(sheet, c) for c in cols]
    for j, col in enumerate(cols):
        ws.set_column(j, j, col.width, formats[j])
        hint = {"input_title": col.zh, "input_message": col.hint} if col.hint else {}
        if col.choices:
            ws.data_validation(1, j, MAX_ROW, j, {
                "validate": "list", "source": list(col.choices), "ignore_blank": True,
                "error_title": col.zh, "error_message": f"请从下拉列表选择:{'/'.join(col.choices)}", **hint,
            })
        elif hint and not sheet.owned:
            ws.data_validation(1, j, MAX_ROW, j, {"validate": "any", **hint})
        elif col.kind in ("date",) and (not sheet.owned or col.key in schema.TYPED_LOOP_KEYS):
            ws.data_validation(1, j, MAX_ROW, j, {
                "validate": "date", "criteria": ">", "value": datetime(1900, 1, 1),
                "error_type": "warning", "error_title": col.zh,
                "error_message": "请输入日期,如 2024-03-05 或 2024/3/5",
            })
    for key in AGENT_COLUMNS.get(sheet.key, ()):
        j = sheet.keys.index(key)
        ws.data_validation(1, j, MAX_ROW, j, {
            "validate": "list", "source": _agent_list_source(lang),
            "error_title": sheet.column(key).zh,
            "error_message": f"{sheet.column(key).zh}必须是「{schema.AGENTS.name(lang)}」表中的人",
        })
    if later is not None and rows:
        later.append((sheet.name(lang), rows, formats))
    else:
        write_rows(ws, sheet, rows, formats)
    if sheet.key == "my_tasks":
        last = schema.column_letter_of(sheet, "done")
        ws.conditional_format(1, 0, 100000, len(cols) - 1, {
            "type": "formula", "format": fmt.overdue,
            "criteria": f'=AND($A2<>"",$A2<TODAY(),${last}2<>"{vocab.YES}")'})
        ws.write_string(0, schema.SELECTOR_COL, schema.SELECTOR_LABEL if lang == "zh" else schema.SELECTOR_LABEL_EN, fmt.header)
        ws.set_column(schema.SELECTOR_COL, schema.SELECTOR_COL, 10)
        ws.set_column(schema.SELECTOR_COL + 1, schema.SELECTOR_COL + 1, 12)
        ws.data_validation(0, schema.SELECTOR_COL + 1, 0, schema.SELECTOR_COL + 1, {
            "validate": "list", "source": _agent_list_source(lang),
            "input_title": "选择顾问", "input_message": "选择后点击「刷新我的任务」"})
    if sheet.key == "board":
        status = schema.column_letter_of(sheet, "status")
        ws.conditional_format(1, 0, 200000, len(cols) - 1, {
            "type": "formula", "format": fmt.overdue,
            "criteria": f'=LEFT(${status}2,{len(vocab.OVERDUE_PREFIX)})="{vocab.OVERDUE_PREFIX}"'})
    if sheet.owned:
        ws.set_tab_color("#70AD47")
        print_setup(ws, sheet, lang)


PAPER_A4 = 9


def print_setup(ws, sheet: Sheet, lang: str) -> None:
    """A4 landscape, one page wide, header row on every page, the table only.

    The page header names the sheet until the first refresh, which writes the agent
    and the day into it (io/package.py `stamp_sheet`).
    """
    ws.set_paper(PAPER_A4)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.print_area(0, 0, MAX_ROW - 1, len(sheet.columns) - 1)  # not the 当前顾问 selector (M1:N1)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.set_header(f'&L&"-,Bold"&12{sheet.name(lang)}&R打印于 &D', {"margin": 0.3})
    ws.set_footer("&C第 &P 页,共 &N 页", {"margin": 0.3})


def write_rows(ws, sheet: Sheet, rows: Iterable[Sequence[Any]], formats: list) -> None:
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, datetime | date):
                ws.write_datetime(i, j, value, formats[j])
            elif isinstance(value, int | float):
                ws.write_number(i, j, value, formats[j])
            else:
                ws.write_string(i, j, str(value), formats[j])


def write_workbook(path: str | Path, lang: str = "zh", rows: dict[str, Sequence[Sequence[Any]]] | None = None,
                   vba_project: str | Path | None = None, master_id: str | None = None, bulk: bool = False) -> Path:
    """Write a master workbook with every sheet of the schema; `rows` by sheet key.

    `vba_project` (a vbaProject.bin) makes a macro workbook; give PATH a .xlsm suffix.
    `master_id` is the number weekly workbooks carry back (`io.identity`; random by default).
    `bulk` writes the rows as sheet XML directly (`bulk_rows`: the same cells, styles and
    values, ~10x faster than xlsxwriter's cell-by-cell path; the sample uses it).
    """
    path = Path(path)
    data = default_rows()
    data.update(rows or {})
    wb = xlsxwriter.Workbook(str(path), SAFE_OPTIONS)
    wb.set_properties({"title": "客户维护和拓展", "comments": "xlcrm"})
    wb.set_custom_property(schema.MASTER_ID_PROPERTY, master_id or uuid.uuid4().hex)
    if vba_project is not None:
        wb.add_vba_project(str(vba_project))
    fmt = Formats(wb)
    later: list | None = [] if bulk else None
    for sheet in schema.SHEETS:
        write_sheet(wb, fmt, sheet, data.get(sheet.key, []), lang, later)
    wb.close()
    if later:
        from .bulk import splice_rows

        splice_rows(path, later)
    return path
