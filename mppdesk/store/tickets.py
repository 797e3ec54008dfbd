"""The desk's queue tickets in its store: its own block's numbers and the tickets it called.

Plain reads and writes inside the caller's session (``Store.write()``); which ticket to call
is the pure rule of :mod:`mppdesk.core.queue`, applied by ``mppdesk.desk.tickets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mppdesk.core import queue
from mppdesk.core.ids import new_id
from mppdesk.store.models import QueueTicket

NEXT_FROM = {"served": ("called",), "done": ("called", "served"), "no_show": ("called",)}


@dataclass(frozen=True)
class TicketRow:
    """A ticket as the desk layer sees it (no ORM object leaves the session)."""

    number: str
    group: str
    label: str
    local_date: str
    seq: int
    priority: str | None
    source: str
    status: str
    issued_at: datetime
    called_at: datetime | None
    served_at: datetime | None
    finished_at: datetime | None
    officer: str | None


def _row(ticket: QueueTicket) -> TicketRow:
    return TicketRow(
        ticket.number, ticket.grp, ticket.label, ticket.local_date, ticket.seq, ticket.priority,
        ticket.source, ticket.status, ticket.issued_at, ticket.called_at, ticket.served_at,
        ticket.finished_at, ticket.officer,
    )


def add(
    session: Session,
    *,
    number: str,
    group: str,
    label: str,
    local_date: str,
    seq: int,
    priority: str | None,
    source: str,
    status: str,
    issued_at: datetime,
    called_at: datetime | None = None,
    officer: str | None = None,
    hub_state: str | None = None,
) -> TicketRow:
    ticket = QueueTicket(
        id=new_id(), number=number, grp=group, label=label, local_date=local_date, seq=seq,
        priority=priority, source=source, status=status, issued_at=issued_at,
        called_at=called_at, officer=officer, hub_state=hub_state,
    )
    session.add(ticket)
    session.flush()
    return _row(ticket)


def waiting(session: Session, local_date: str, group: str) -> dict[str, queue.Waiting]:
    """The group's waiting tickets today by number; ``seq`` is their place in issue order."""
    rows = session.execute(
        select(QueueTicket.number, QueueTicket.priority)
        .where(
            QueueTicket.local_date == local_date,
            QueueTicket.grp == group,
            QueueTicket.status == "waiting",
        )
        .order_by(QueueTicket.issued_at, QueueTicket.seq)
    ).all()
    return {r.number: queue.Waiting(rank, r.priority) for rank, r in enumerate(rows, 1)}


def priority_run(session: Session, local_date: str, group: str) -> int:
    """The rule's count of priority calls in a row for the group today (this desk's calls)."""
    recent = session.execute(
        select(QueueTicket.priority)
        .where(
            QueueTicket.local_date == local_date,
            QueueTicket.grp == group,
            QueueTicket.called_at.is_not(None),
        )
        .order_by(QueueTicket.called_at.desc(), QueueTicket.seq.desc())
        .limit(queue.MAX_PRIORITY_RUN)
    ).all()
    return queue.priority_run(r.priority for r in recent)


def _update(
    session: Session, local_date: str, number: str, only_if: Any, **values: Any
) -> int:
    """Set ``values`` on the ticket ``number`` of the day when ``only_if`` holds; the rows
    changed (0: it did not hold)."""
    changed = session.execute(
        update(QueueTicket)
        .where(QueueTicket.local_date == local_date, QueueTicket.number == number, only_if)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return changed.rowcount


def call(
    session: Session, local_date: str, number: str, at: datetime, officer: str
) -> TicketRow | None:
    """Mark the waiting ticket ``number`` called; None when another call took it first."""
    waiting_still = QueueTicket.status == "waiting"
    moved = _update(
        session, local_date, number, waiting_still, status="called", called_at=at, officer=officer
    )
    if moved != 1:
        return None
    return find(session, local_date, number)


def find(session: Session, local_date: str, number: str) -> TicketRow | None:
    ticket = session.scalars(
        select(QueueTicket).where(
            QueueTicket.local_date == local_date, QueueTicket.number == number
        )
    ).first()
    return _row(ticket) if ticket is not None else None


def step(
    session: Session, local_date: str, number: str, state: str, at: datetime
) -> tuple[TicketRow | None, bool]:
    """One step of a called ticket; (the ticket after it or None when unknown, whether it moved)."""
    column = "served_at" if state == "served" else "finished_at"
    allowed = QueueTicket.status.in_(NEXT_FROM[state])
    moved = _update(session, local_date, number, allowed, status=state, **{column: at})
    return find(session, local_date, number), moved == 1


def day_tickets(session: Session, first: str, last: str) -> list[TicketRow]:
    """The tickets of a range of local days (a day has hundreds, not millions)."""
    rows = session.scalars(
        select(QueueTicket)
        .where(QueueTicket.local_date >= first, QueueTicket.local_date <= last)
        .order_by(QueueTicket.issued_at)
    ).all()
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class UnsentSteps:
    """A hub ticket whose later steps the hub has not acknowledged yet, in their order."""

    local_date: str
    number: str
    officer: str | None
    steps: tuple[str, ...]
    times: tuple[datetime, ...] = ()  # when this desk took each step (its clock)


def _path(ticket: QueueTicket) -> list[str]:
    """The steps this desk took after the call, in order (served only when stamped)."""
    path = ["served"] if ticket.served_at is not None else []
    if ticket.status in ("done", "no_show"):
        path.append(ticket.status)
    return path


def unsent_steps(session: Session, limit: int = 200) -> list[UnsentSteps]:
    """Hub tickets this desk moved further than the hub knows, oldest call first: what to
    send the hub when it answers again (a ticket kept before ``hub_state`` existed: none)."""
    rows = session.scalars(
        select(QueueTicket)
        .where(
            QueueTicket.source == "hub",
            QueueTicket.hub_state.is_not(None),
            QueueTicket.status != QueueTicket.hub_state,
        )
        .order_by(QueueTicket.called_at, QueueTicket.seq)
        .limit(limit)
    ).all()
    out = []
    for ticket in rows:
        path = _path(ticket)
        sent = path.index(ticket.hub_state) + 1 if ticket.hub_state in path else 0
        if path[sent:]:
            times = tuple(
                ticket.served_at if step == "served" else ticket.finished_at
                for step in path[sent:]
            )
            out.append(
                UnsentSteps(
                    ticket.local_date, ticket.number, ticket.officer, tuple(path[sent:]),
                    times,  # type: ignore[arg-type]  # a step in the path has its stamp
                )
            )
    return out


def mark_sent(session: Session, local_date: str, number: str, state: str) -> None:
    """The hub holds ``state`` for this ticket (it said so, or it refused a repeat of it)."""
    _update(session, local_date, number, QueueTicket.source == "hub", hub_state=state)
