"""Calendar facts: lunar birthdays, Chinese public holidays and working days.

Lunar dates go through lunar-python; holidays and 调休 make-up working days through
the `holidays` package (China), never a hand-written list.

Lunar fall-backs (DOMAIN: lunar dates are converted to the solar date of the year
in question): a birthday on the 30th of a lunar month that has only 29 days that
year is kept on the 29th, the month's last day; a birthday recorded in a leap month
(闰月) is celebrated in the ordinary month of the same number, as families do. A
solar 2月29日 falls on 2月28日 in other years.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays as holidays_lib
from lunar_python import LunarYear, Solar
from lunar_python.util import LunarUtil

from .records import Finding
from .vocab import DAY_OFF, MAKEUP_WORKDAY


@lru_cache(maxsize=512)
def _lunar_year(year: int) -> dict[int, tuple[date, int]]:
    """Ordinary lunar month -> (solar date of its first day, days in it), for one lunar year.

    lunar-python recomputes a year's astronomy on every lookup of another year, so
    each year is asked once and kept here.
    """
    months: dict[int, tuple[date, int]] = {}
    for month in LunarYear.fromYear(year).getMonths():
        if month.getYear() == year and month.getMonth() > 0:
            first = Solar.fromJulianDay(month.getFirstJulianDay())
            months[month.getMonth()] = (date(first.getYear(), first.getMonth(), first.getDay()),
                                        month.getDayCount())
    return months


def lunar_to_solar(year: int, month: int, day: int) -> date:
    """The solar date of lunar `year`-`month`-`day` (ordinary month, clamped day)."""
    first, days_in_month = _lunar_year(year)[abs(month)]
    return first + timedelta(days=min(day, days_in_month) - 1)


def solar_to_lunar(when: date) -> tuple[int, int, int]:
    """(lunar year, month, day) of a solar date; month is negative in a leap month."""
    lunar = Solar.fromYmd(when.year, when.month, when.day).getLunar()
    return lunar.getYear(), lunar.getMonth(), lunar.getDay()


def solar_in_year(year: int, month: int, day: int) -> date:
    if month == 2 and day == 29:
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


@lru_cache(maxsize=65536)
def occurrences(month: int, day: int, lunar: bool, start: date, end: date) -> tuple[date, ...]:
    """Every date in [start, end] on which a yearly date (solar or lunar) falls."""
    out = []
    for year in range(start.year - 1, end.year + 1):
        try:
            when = lunar_to_solar(year, month, day) if lunar else solar_in_year(year, month, day)
        except ValueError:
            continue
        if start <= when <= end:
            out.append(when)
    return tuple(sorted(set(out)))


def lunar_label(month: int, day: int) -> str:
    """农历八月十五 style label (lunar-python's month and day names)."""
    return f"农历{LunarUtil.MONTH[abs(month)]}月{LunarUtil.DAY[day]}"


# One row of the 节假日 sheet: (date, name, 放假 or 调休上班).
HolidayRow = tuple[date, str, str]


class WorkCalendar:
    """China's public holidays and working days (weekends, holidays, 调休 workdays).

    `rows` come from the office's 节假日 sheet and override the library: a 放假 row makes
    its date a named day off, a 调休上班 row makes its date a working day. For a year the
    library only projects (no official schedule), the sheet's rows replace the library's
    guesses entirely as soon as the sheet has a 放假 row in that year: an office that typed
    in next year's official schedule gets exactly that schedule.
    """

    def __init__(self, years: range, rows: tuple[HolidayRow, ...] = ()) -> None:
        cn = holidays_lib.China(years=list(years), language="zh_CN")
        official = set(cn.special_public_holidays)
        typed_years = {when.year for when, _name, kind in rows if kind == DAY_OFF}
        self._off: dict[date, str] = {
            when: str(label) for when, label in cn.items()
            if when.year in official or when.year not in typed_years}
        self._workdays: set[date] = {
            when for when in getattr(cn, "weekend_workdays", ())
            if when.year in official or when.year not in typed_years}
        for when, name, kind in rows:
            if kind == DAY_OFF:
                self._workdays.discard(when)
                previous = self._off.get(when)
                self._off[when] = name if not previous or name in previous.split("; ") \
                    else f"{name}; {previous}"
            elif kind == MAKEUP_WORKDAY:
                self._off.pop(when, None)
                self._workdays.add(when)
        self.covered_years = frozenset(official | typed_years)

    def is_working_day(self, when: date) -> bool:
        if when in self._workdays:
            return True
        return when.weekday() < 5 and when not in self._off

    def holiday_name(self, when: date) -> str | None:
        return self._off.get(when)

    def on_or_before(self, when: date) -> date:
        """The working day on or before `when` (visits are planned on working days)."""
        while not self.is_working_day(when):
            when -= timedelta(days=1)
        return when

    def on_or_after(self, when: date) -> date:
        """The working day on or after `when` (flexible work moves forward)."""
        while not self.is_working_day(when):
            when += timedelta(days=1)
        return when

    def working_days_before(self, when: date, n: int) -> list[date]:
        """The `n` working days before `when`, earliest first."""
        days: list[date] = []
        cursor = when - timedelta(days=1)
        while len(days) < n:
            if self.is_working_day(cursor):
                days.append(cursor)
            cursor -= timedelta(days=1)
        return sorted(days)

    def working_days(self, start: date, end: date) -> list[date]:
        return [start + timedelta(days=i) for i in range((end - start).days + 1)
                if self.is_working_day(start + timedelta(days=i))]

    def holiday_starts(self, names: tuple[str, ...], start: date, end: date) -> list[tuple[str, date]]:
        """(name, first day) of each named holiday whose first day is in [start, end]."""
        wanted = set(names)
        found: list[tuple[str, date]] = []
        for when, label in sorted(self._off.items()):
            for name in label.split("; "):
                if name in wanted and start <= when <= end and (
                        name not in self._off.get(when - timedelta(days=1), "").split("; ")):
                    found.append((name, when))
        return found


def calendar_for(start: date, end: date, rows: tuple[HolidayRow, ...] = ()) -> WorkCalendar:
    return _calendar(start.year - 1, end.year + 1, rows)


@lru_cache(maxsize=16)
def _calendar(first: int, last: int, rows: tuple[HolidayRow, ...]) -> WorkCalendar:
    return WorkCalendar(range(first, last + 1), rows)


def holiday_rows(book) -> tuple[HolidayRow, ...]:
    """The 节假日 sheet's rows (already validated by the loader), as calendar overrides."""
    frame = book.frames.get("holidays")
    if frame is None or frame.empty:
        return ()
    frame = frame.dropna(subset=["date", "name", "type"])
    return tuple(dict.fromkeys(  # sheet order: a later row for the same date wins
        (when.date() if hasattr(when, "date") else when, str(name).strip(), str(kind))
        for when, name, kind in zip(frame["date"], frame["name"], frame["type"], strict=True)))


def uncovered_years(cal: WorkCalendar, start: date, end: date) -> list[int]:
    """Years in [start, end] with neither official library dates nor 节假日 放假 rows."""
    return [year for year in range(start.year, end.year + 1) if year not in cal.covered_years]


def schedule_findings(book, cal: WorkCalendar, start: date, end: date) -> list[Finding]:
    """A warning for each year the planning window reaches with no official schedule."""
    sheet = book.sheet_name("holidays")  # the schema's name when the workbook lacks the sheet
    where = (f"请在「{sheet}」表" if "holidays" in book.letters else
             f"请从 xlcrm new 生成的工作簿复制「{sheet}」表,")
    return [Finding(sheet, "A1",
                    f"计划范围已到 {year} 年,但还没有 {year} 年的官方放假安排:节日任务按推算日期安排,"
                    f"调休上班日按休息日处理。{where}按国务院办公厅公布的通知填写 {year} 年的"
                    f"放假日期和调休上班日期(类型:{DAY_OFF} / {MAKEUP_WORKDAY})",
                    "warning", "holiday-schedule-missing", "date")
            for year in uncovered_years(cal, start, end)]
