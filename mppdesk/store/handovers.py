"""Handovers to agencies without an API: what is still to hand over, and recording one.

A manual agency's outbox entries wait in ``pending`` (the worker never sends them). The
handover list shows them; recording a handover sets the entry ``done`` (so it leaves the send
queue and retention can purge it like any finished one), marks the submission accepted and
received by the agency, and keeps who received the files in ``handovers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from mppdesk.core.states import AgencyStatus, OutboxState, SubmissionStatus
from mppdesk.store.models import Handover, OutboxEntry, Submission


def waiting(
    session: Session, agency: str, until_local_date: str, limit: int = 2000
) -> list[Submission]:
    """The agency's submissions taken in on or before that day whose files are still to hand
    over (entry ``pending``; a ``held`` one waits for its approval first), oldest first."""
    query = (
        select(Submission)
        .join(OutboxEntry, OutboxEntry.submission_id == Submission.id)
        .where(
            OutboxEntry.agency == agency,
            OutboxEntry.state == OutboxState.PENDING,
            Submission.local_date <= until_local_date,
            Submission.purged_at.is_(None),
        )
        .options(selectinload(Submission.checklist), selectinload(Submission.outbox))
        .order_by(Submission.finalized_at, Submission.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def handed_over_on(
    session: Session, agency: str, local_date: str
) -> list[tuple[Submission, Handover]]:
    """The agency's submissions handed over that day, with who received them."""
    rows = session.execute(
        select(Submission, Handover)
        .join(Handover, Handover.submission_id == Submission.id)
        .where(Handover.agency == agency, Handover.local_date == local_date)
        .options(selectinload(Submission.checklist), selectinload(Submission.outbox))
        .order_by(Handover.handed_at, Submission.id)
    )
    return [(submission, handover) for submission, handover in rows]


def find_submission(session: Session, reference: str) -> Submission | None:
    """A submission by its id or by its tracking number (any case, spaces around)."""
    found = session.get(Submission, reference)
    if found is None:
        tracking = reference.strip().upper()
        found = session.scalar(select(Submission).where(Submission.tracking_number == tracking))
    return found


def get(session: Session, submission_id: str) -> Handover | None:
    return session.get(Handover, submission_id)


@dataclass(frozen=True)
class HandoverState:
    """Where a submission stands for a handover: its entry's state for that agency."""

    submission: Submission
    entry: OutboxEntry | None


def state_of(session: Session, submission: Submission) -> HandoverState:
    entry = session.scalar(
        select(OutboxEntry).where(
            OutboxEntry.submission_id == submission.id, OutboxEntry.agency == submission.agency
        )
    )
    return HandoverState(submission, entry)


def record(
    session: Session,
    submission: Submission,
    entry: OutboxEntry,
    *,
    received_by: str,
    reference: str | None,
    officer: str,
    now: datetime,
    local_date: str,
) -> Handover:
    """The files are with the agency: the entry is done and the receiver is kept."""
    entry.state = OutboxState.DONE
    entry.delivered_at = now
    entry.agency_ref = reference or entry.agency_ref
    entry.agency_status = AgencyStatus.RECEIVED
    entry.next_attempt_at = None
    entry.next_status_check_at = None  # nobody to ask: the agency has no API
    entry.last_error_class = None
    entry.last_error_message = None
    entry.lease_owner = None
    entry.lease_expires_at = None
    submission.agency_ref = reference or submission.agency_ref
    submission.agency_status = AgencyStatus.RECEIVED
    submission.agency_updated_at = now
    if submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.SENT):
        submission.status = SubmissionStatus.ACCEPTED
    handover = Handover(
        submission_id=submission.id,
        agency=entry.agency,
        received_by=received_by,
        reference=reference,
        officer=officer,
        handed_at=now,
        local_date=local_date,
    )
    session.add(handover)
    session.flush()
    return handover
