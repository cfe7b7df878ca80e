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


class WorkCalendar:
    """China's public holidays and working days (weekends, holidays, 调休 workdays)."""

    def __init__(self, years: range) -> None:
        self._cn = holidays_lib.China(years=list(years), language="zh_CN")

    def is_working_day(self, when: date) -> bool:
        return self._cn.is_working_day(when)

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
        for when, label in sorted(self._cn.items()):
            for name in str(label).split("; "):
                if name in wanted and start <= when <= end and (
                        self._cn.get(when - timedelta(days=1)) is None
                        or name not in str(self._cn.get(when - timedelta(days=1)))):
                    found.append((name, when))
        return found


def calendar_for(start: date, end: date) -> WorkCalendar:
    return _calendar(start.year - 1, end.year + 1)


@lru_cache(maxsize=16)
def _calendar(first: int, last: int) -> WorkCalendar:
    return WorkCalendar(range(first, last + 1))
