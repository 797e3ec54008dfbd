"""Which waiting ticket a counter calls next: the queue's priority rule, pure.

The rule (the same on the hub and on a desk numbering from its own block, because both call
this module): **priority first, at most three in a row.** A waiting ticket with a priority
category (lansia, disabilitas, ibu hamil, membawa balita — ``resources/queue/priorities.yaml``)
is called before every regular ticket of its group, oldest first; but once ``MAX_PRIORITY_RUN``
priority tickets of the group were called in a row while a regular ticket waited, the oldest
regular ticket goes next. Priority service is the promise of every MPP's service standard; the
cap keeps a morning of priority arrivals from stopping the regular line altogether.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_PRIORITY_RUN = 3


@dataclass(frozen=True)
class Waiting:
    """One waiting ticket as the rule sees it: its place in the group's sequence and category."""

    seq: int
    priority: str | None = None


def priority_run(recent_called: Iterable[str | None]) -> int:
    """How many priority tickets were called in a row, from the group's calls newest first."""
    run = 0
    for priority in recent_called:
        if not priority:
            break
        run += 1
    return run


def next_to_call(
    waiting: Sequence[Waiting], run: int, max_run: int = MAX_PRIORITY_RUN
) -> Waiting | None:
    """The ticket to call now, or None when nobody waits.

    ``run`` is ``priority_run`` of the group's calls so far today.
    """
    if not waiting:
        return None
    ordered = sorted(waiting, key=lambda w: w.seq)
    first_priority = next((w for w in ordered if w.priority), None)
    first_regular = next((w for w in ordered if not w.priority), None)
    if first_priority is None:
        return first_regular
    if first_regular is not None and run >= max_run:
        return first_regular
    return first_priority


def call_order(
    waiting: Sequence[Waiting], run: int, max_run: int = MAX_PRIORITY_RUN
) -> list[Waiting]:
    """The order the rule would call every waiting ticket in if nobody else arrived."""
    left = list(waiting)
    order: list[Waiting] = []
    while left:
        chosen = next_to_call(left, run, max_run)
        assert chosen is not None
        order.append(chosen)
        left.remove(chosen)
        run = run + 1 if chosen.priority else 0
    return order


def ahead_of(
    waiting: Sequence[Waiting], seq: int, run: int, max_run: int = MAX_PRIORITY_RUN
) -> int:
    """How many of ``waiting`` the rule calls before the ticket ``seq`` (the slip's "ahead")."""
    for index, ticket in enumerate(call_order(waiting, run, max_run)):
        if ticket.seq == seq:
            return index
    return len(waiting)
