"""The counter's own queries: visit drafts and which services this desk uses most.

A visit in progress lives in a ``visits`` row with ``status = 'draft'`` and its whole
in-progress state in ``draft`` (JSON), so a crash of the app loses at most the last few
keystrokes. Finalizing turns the same row into the finalized visit (``desk.intake``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mppdesk.store.models import Submission, Visit

DRAFT = "draft"


def save_draft(
    session: Session,
    *,
    visit_id: str,
    desk: str,
    officer: str,
    ticket: str,
    state: Mapping[str, Any],
    now: datetime,
    local_date: str,
) -> str:
    """Create or update the draft row; "created", "updated", or "finalized" (left alone).

    A draft save that arrives after the visit was finalized must not reopen it.
    """
    visit = session.get(Visit, visit_id)
    if visit is None:
        session.add(
            Visit(
                id=visit_id,
                ticket=ticket[:32],
                desk=desk,
                officer=officer,
                status=DRAFT,
                draft=dict(state),
                started_at=now,
                local_date=local_date,
                updated_at=now,
            )
        )
        session.flush()
        return "created"
    if visit.status != DRAFT:
        return "finalized"
    visit.ticket = ticket[:32]
    visit.draft = dict(state)
    visit.updated_at = now
    return "updated"


def latest_draft(session: Session, desk: str, officer: str) -> Visit | None:
    return session.scalar(
        select(Visit)
        .where(Visit.status == DRAFT, Visit.desk == desk, Visit.officer == officer)
        .order_by(Visit.updated_at.desc())
        .limit(1)
    )


def delete_draft(session: Session, visit_id: str) -> bool:
    """Remove a draft (never a finalized visit); True if a row went."""
    result = session.execute(delete(Visit).where(Visit.id == visit_id, Visit.status == DRAFT))
    return bool(result.rowcount)


def recent_services(session: Session, officer: str, limit: int = 8) -> list[str]:
    """Service codes this officer finalized most recently, newest first."""
    last = func.max(Submission.finalized_at)
    rows = session.execute(
        select(Submission.service, last)
        .where(Submission.officer == officer)
        .group_by(Submission.service)
        .order_by(last.desc())
        .limit(limit)
    )
    return [row[0] for row in rows]


def service_counts(session: Session, since_local_date: str) -> dict[str, int]:
    """Submissions per service since a local day (YYYY-MM-DD), for "popular first"."""
    rows = session.execute(
        select(Submission.service, func.count())
        .where(Submission.local_date >= since_local_date)
        .group_by(Submission.service)
    )
    return {row[0]: int(row[1]) for row in rows}
