"""Dates the way people type them into Excel.

Excel hands us real dates for cells formatted as dates, but staff also type
`2024/3/5`, `2024.3.5`, `2024年3月5日`, paste serial numbers, or give a birthday as
just `03-15` / `3月15日`. `parse_date` and `parse_month_day` understand all of these
and raise `ValueError` for anything else, so the loader can name the cell.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache

from openpyxl.utils.datetime import from_excel

_YMD = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
                  r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_MD = re.compile(r"^\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def from_serial(serial: float) -> datetime:
    """An Excel serial number as a datetime (openpyxl keeps Excel's 1900 leap-year rule)."""
    if not 1 <= serial < 2958466:
        raise ValueError(f"{serial} is not a date serial")
    return from_excel(serial)


@lru_cache(maxsize=65536)
def _parse_text(text: str) -> datetime:
    m = _YMD.match(text)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        return datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    m = _COMPACT.match(text)
    if m:
        return datetime(int(m[1]), int(m[2]), int(m[3]))
    stripped = text.strip()
    try:
        return from_serial(float(stripped))
    except ValueError:
        pass
    raise ValueError(text)


def parse_date(value: object) -> datetime | None:
    """A cell value as a datetime (None for an empty cell); ValueError if not a date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        if value != value:  # NaN
            return None
        return from_serial(value)
    text = str(value).strip()
    if not text:
        return None
    return _parse_text(text)


def parse_month_day(value: object) -> tuple[datetime | None, int, int]:
    """A birthday-like cell: (full date or None, month, day). ValueError if neither."""
    if isinstance(value, str):
        m = _MD.match(value)
        if m:
            month, day = int(m[1]), int(m[2])
            date(2000, month, day)  # validates (2000 is a leap year: 02-29 is fine)
            return None, month, day
    full = parse_date(value)
    if full is None:
        raise ValueError("empty")
    return full, full.month, full.day


def parse_today(text: str | None, clock: date | None = None) -> date:
    """The `--today` option: a typed date, or the clock when not given."""
    if text:
        parsed = parse_date(text)
        if parsed is None:
            raise ValueError(text)
        return parsed.date()
    return clock or date.today()
