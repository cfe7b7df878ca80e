"""Every file xlcrm writes: strict XML, the same rows in openpyxl (normal and read-only)
and python-calamine, and LibreOffice converts it. `openxml_audit` is advisory."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
from lxml import etree


def strict_xml(path: Path) -> None:
    parser = etree.XMLParser(resolve_entities=False, huge_tree=True, recover=False)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(zf.read(name), parser)  # raises on anything malformed


def _norm(value):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool):
        return value
    return value


def _trim(rows: list[list]) -> list[list]:
    rows = [[_norm(v) for v in r] for r in rows]
    rows = [r[: max((i + 1 for i, v in enumerate(r) if v is not None), default=0)] for r in rows]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def same_rows_everywhere(path: Path) -> dict[str, list[list]]:
    """Rows of each sheet, asserting openpyxl normal == read-only == python-calamine."""
    from python_calamine import CalamineWorkbook

    normal = openpyxl.load_workbook(path)
    fast = openpyxl.load_workbook(path, read_only=True)
    cal = CalamineWorkbook.from_path(str(path))
    out = {}
    for ws in normal.worksheets:
        a = _trim([list(r) for r in ws.iter_rows(values_only=True)])
        b = _trim([list(r) for r in fast[ws.title].iter_rows(values_only=True)])
        c = _trim(cal.get_sheet_by_name(ws.title).to_python(skip_empty_area=True))
        assert a == b, f"{path.name}!{ws.title}: openpyxl read-only differs ({len(a)} vs {len(b)} rows)"
        # calamine drops leading empty rows/columns of the used area; compare from the first value
        assert [r for r in a if r] == [r for r in c if r] or _shifted(a, c), \
            f"{path.name}!{ws.title}: python-calamine differs"
        out[ws.title] = a
    fast.close()
    return out


def _shifted(a: list[list], c: list[list]) -> bool:
    flat_a = [v for r in a for v in r if v is not None]
    flat_c = [v for r in c for v in r if v is not None]
    return flat_a == flat_c


def audit(path: Path) -> list[str]:
    """openxml-audit's errors (advisory: reported, not asserted)."""
    try:
        from openxml_audit import OpenXmlValidator
    except ImportError:
        return ["openxml-audit not installed"]
    result = OpenXmlValidator().validate(str(path))
    return [str(e) for e in getattr(result, "errors", [])]


def check_file(path: Path) -> dict[str, list[list]]:
    strict_xml(path)
    return same_rows_everywhere(path)
