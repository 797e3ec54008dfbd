"""Working-day arithmetic for service level (SLA) due dates, and the holiday table.

Pure: the holidays come in as a set, so the rule is testable without any data package; the
table is parsed from a document (``resources/holidays.toml`` plus the install's
``<data dir>/holidays.toml``, read by ``mppdesk.forms.indonesia``), never from a file here.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


def is_working_day(day: date, holidays: Container[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Container[date]) -> date:
    """The date ``days`` working days after ``start``.

    Zero working days means "the same day" if ``start`` is a working day, else the next
    working day (a request taken on a Saturday is due on Monday at the earliest).
    """
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    while not is_working_day(current, holidays):
        current += timedelta(days=1)
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


# --- the holiday table -----------------------------------------------------------------------

HOLIDAY_KINDS = ("libur_nasional", "cuti_bersama")
_MAX_DAYS_PER_YEAR = 120  # far above any SKB: a file with more is not a holiday list


class HolidayFileError(ValueError):
    """A holiday file that cannot be used: what is wrong, where (for the officer's message)."""


@dataclass(frozen=True)
class HolidayTable:
    """Holidays by year and kind, from the shipped file plus the install's own.

    ``covers(year)`` says whether a real list exists for a year; a desk computing an SLA
    across a year it does not cover warns instead of silently counting fewer holidays.
    """

    days: dict[int, dict[str, frozenset[date]]] = field(default_factory=dict)

    def covers(self, year: int) -> bool:
        return year in self.days

    def of(self, year: int, *, cuti_bersama: bool = True) -> frozenset[date]:
        kinds = self.days.get(year, {})
        out = set(kinds.get("libur_nasional", ()))
        if cuti_bersama:
            out |= kinds.get("cuti_bersama", frozenset())
        return frozenset(out)

    def merged(self, other: HolidayTable) -> HolidayTable:
        """This table with ``other``'s days added (an install extends the shipped list)."""
        years = dict(self.days)
        for year, kinds in other.days.items():
            mine = years.get(year, {})
            years[year] = {
                kind: mine.get(kind, frozenset()) | kinds.get(kind, frozenset())
                for kind in HOLIDAY_KINDS
            }
        return HolidayTable(years)


def parse_holidays(document: dict[str, Any], source: str) -> HolidayTable:
    """A parsed holiday TOML document as a table; ``HolidayFileError`` names what is wrong.

    Every key is a year (1900-2200) holding ``libur_nasional`` and/or ``cuti_bersama``, lists
    of ISO dates within that year. Unknown kinds, dates of another year and absurd lengths
    are refused rather than guessed at: a wrong holiday moves every due date after it.
    """
    years: dict[int, dict[str, frozenset[date]]] = {}
    for key, kinds in document.items():
        if not (isinstance(key, str) and key.isdigit() and 1900 <= int(key) <= 2200):
            raise HolidayFileError(f"{source}: [{key}] is not a year")
        if not isinstance(kinds, dict):
            raise HolidayFileError(f"{source}: [{key}] must be a table of lists")
        year = int(key)
        parsed: dict[str, frozenset[date]] = {}
        for kind, values in kinds.items():
            if kind not in HOLIDAY_KINDS:
                raise HolidayFileError(
                    f"{source}: [{key}] {kind} is not one of {', '.join(HOLIDAY_KINDS)}"
                )
            if not isinstance(values, list) or len(values) > _MAX_DAYS_PER_YEAR:
                raise HolidayFileError(f"{source}: [{key}] {kind} must be a list of dates")
            days = set()
            for value in values:
                try:
                    day = date.fromisoformat(value) if isinstance(value, str) else None
                except ValueError:
                    day = None
                if day is None or day.year != year:
                    raise HolidayFileError(
                        f"{source}: [{key}] {kind}: {value!r} is not a date of {year}"
                    )
                days.add(day)
            parsed[kind] = frozenset(days)
        years[year] = parsed
    return HolidayTable(years)
