"""Login lockout: too many failures within a window lock the name for a while.

Which failures count is decided by the order attempts were recorded (their row sequence),
never by comparing clock readings with each other: a success stamped while the PC's clock
was ahead would otherwise look "newer" than every failure after the clock is corrected, and
lockout would stay off for the size of the jump. The window is the only use of the clock.

An admin's unlock (or password reset) is recorded as a successful attempt: the failures
before it stop counting, as after a real success, so the officer gets the full number of
tries again instead of being locked by the next typo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
# How many of the latest attempts the decision needs to see: MAX_FAILURES is enough, more
# keeps the audit detail ("failures") meaningful.
RECENT_ATTEMPTS = 4 * MAX_FAILURES


@dataclass(frozen=True)
class Attempt:
    sequence: int  # recording order (the row id): later attempts have higher numbers
    at: datetime
    ok: bool


def failures_since_success(attempts: Iterable[Attempt]) -> list[datetime]:
    """The times of the failures recorded after the latest success, newest first."""
    failures = []
    for attempt in sorted(attempts, key=lambda a: a.sequence, reverse=True):
        if attempt.ok:
            break
        failures.append(attempt.at)
    return failures


def should_lock(failure_times: Sequence[datetime], now: datetime) -> bool:
    """True when MAX_FAILURES failures fall within WINDOW before ``now``.

    A failure stamped after ``now`` (recorded while the clock was ahead) counts: it is recent
    by recording order, and the clock being wrong must never make lockout more lenient.
    """
    recent = [t for t in failure_times if now - t <= WINDOW]
    return len(recent) >= MAX_FAILURES


def attempts_left(failure_times: Sequence[datetime], now: datetime) -> int:
    """How many more failures ``should_lock`` allows before it locks the name (0: locked).

    Shown after a failed sign-in, so an officer knows to stop and ask an admin before the
    last try rather than after it.
    """
    recent = [t for t in failure_times if now - t <= WINDOW]
    return max(0, MAX_FAILURES - len(recent))


def locked_until(now: datetime) -> datetime:
    return now + LOCK_FOR


def effective_lock_end(stored: datetime | None, now: datetime) -> datetime | None:
    """When a stored lock really ends, or None when the name is not locked.

    A lock never lasts longer than LOCK_FOR from ``now``: one stamped while the clock was a
    day ahead would otherwise keep the officer out for a day after the clock is put right.
    """
    if stored is None or stored <= now:
        return None
    return min(stored, now + LOCK_FOR)
