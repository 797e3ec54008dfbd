"""Working-day arithmetic for service level (SLA) due dates.

Pure: the holidays come in as a set, so the rule is testable without any data package.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import date, timedelta


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
