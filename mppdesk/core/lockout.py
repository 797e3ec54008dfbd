"""Login lockout: too many failures within a window lock the name for a while."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


def should_lock(failure_times: Sequence[datetime], now: datetime) -> bool:
    """True when MAX_FAILURES failures fall within WINDOW before ``now``."""
    recent = [t for t in failure_times if now - t <= WINDOW]
    return len(recent) >= MAX_FAILURES


def locked_until(now: datetime) -> datetime:
    return now + LOCK_FOR
