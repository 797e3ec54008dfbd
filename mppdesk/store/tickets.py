"""The desk's queue tickets in its store: its own block's numbers and the tickets it called.

Plain reads and writes inside the caller's session (``Store.write()``); which ticket to call
is the pure rule of :mod:`mppdesk.core.queue`, applied by ``mppdesk.desk.tickets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
) -> TicketRow:
    ticket = QueueTicket(
        id=new_id(), number=number, grp=group, label=label, local_date=local_date, seq=seq,
        priority=priority, source=source, status=status, issued_at=issued_at,
        called_at=called_at, officer=officer,
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


def call(
    session: Session, local_date: str, number: str, at: datetime, officer: str
) -> TicketRow | None:
    """Mark the waiting ticket ``number`` called; None when another call took it first."""
    changed = session.execute(
        update(QueueTicket)
        .where(
            QueueTicket.local_date == local_date,
            QueueTicket.number == number,
            QueueTicket.status == "waiting",
        )
        .values(status="called", called_at=at, officer=officer)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
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
    changed = session.execute(
        update(QueueTicket)
        .where(
            QueueTicket.local_date == local_date,
            QueueTicket.number == number,
            QueueTicket.status.in_(NEXT_FROM[state]),
        )
        .values(status=state, **{column: at})
        .execution_options(synchronize_session=False)
    )
    return find(session, local_date, number), changed.rowcount == 1


def day_tickets(session: Session, first: str, last: str) -> list[TicketRow]:
    """The tickets of a range of local days (a day has hundreds, not millions)."""
    rows = session.scalars(
        select(QueueTicket)
        .where(QueueTicket.local_date >= first, QueueTicket.local_date <= last)
        .order_by(QueueTicket.issued_at)
    ).all()
    return [_row(r) for r in rows]
