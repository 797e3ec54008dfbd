"""Supervisor review decisions: the latest one on the submission, every one in its own table.

Also what corrections and cancellations read and write (``mppdesk.desk.corrections``): who
supersedes a submission, the submission a correction is pre-filled from, the approval
queue (held, not returned, with the applicant's name) and the returns an officer still owes
a correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.orm import Session, aliased

from mppdesk.core.states import OutboxState, ReviewState, SubmissionStatus
from mppdesk.store.models import (
    ATTENTION_SQL,
    Applicant,
    Attachment,
    ChecklistItem,
    OutboxEntry,
    ReviewDecision,
    Submission,
    Visit,
)


@dataclass(frozen=True)
class ReviewTarget:
    """What a decision needs to know about its submission before it is taken."""

    id: str
    tracking_number: str
    status: str
    review_state: str
    desk: str
    officer: str = ""  # who took it in: never the one who approves it
    superseded_by: str | None = None  # tracking number of the correction or cancellation


_Later = aliased(Submission)


def targets(session: Session, submission_ids: Sequence[str]) -> dict[str, ReviewTarget]:
    rows = session.execute(
        select(
            Submission.id,
            Submission.tracking_number,
            Submission.status,
            Submission.review_state,
            Visit.desk,
            Submission.officer,
            _Later.tracking_number,
        )
        .join(Visit, Visit.id == Submission.visit_id)
        .outerjoin(_Later, _Later.supersedes_id == Submission.id)
        .where(Submission.id.in_(list(submission_ids)))
    ).all()
    return {row[0]: ReviewTarget(*row) for row in rows}


def resolve(session: Session, reference: str) -> str | None:
    """The id of the submission ``reference`` names: its id or its tracking number (the
    number the officer and the citizen know; any case)."""
    text = reference.strip()
    if not text:
        return None
    return session.scalar(
        select(Submission.id).where(
            or_(Submission.id == text, Submission.tracking_number == text.upper())
        )
    )


def record_decision(
    session: Session,
    submission_id: str,
    decision: str,
    reason: str | None,
    actor: str,
    at: datetime,
    released: int,
) -> None:
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(review_state=decision, review_reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        insert(ReviewDecision).values(
            submission_id=submission_id,
            decision=decision,
            reason=reason,
            actor=actor,
            decided_at=at,
            released=released,
        )
    )


# --- corrections and cancellations ------------------------------------------------------


@dataclass(frozen=True)
class Superseder:
    """The submission that replaced another: a correction, or a cancellation."""

    id: str
    tracking_number: str
    cancellation: bool


def is_cancellation(answers: Any) -> bool:
    return isinstance(answers, dict) and answers.get("_cancel") is True


def superseders(session: Session, submission_ids: Sequence[str]) -> dict[str, Superseder]:
    """For each of ``submission_ids`` that was superseded: by which submission."""
    if not submission_ids:
        return {}
    rows = session.execute(
        select(
            Submission.supersedes_id,
            Submission.id,
            Submission.tracking_number,
            Submission.answers,
        ).where(Submission.supersedes_id.in_(list(submission_ids)))
    ).all()
    return {row[0]: Superseder(row[1], row[2], is_cancellation(row[3])) for row in rows}


def tracking_numbers(session: Session, submission_ids: Sequence[str]) -> dict[str, str]:
    if not submission_ids:
        return {}
    rows = session.execute(
        select(Submission.id, Submission.tracking_number).where(
            Submission.id.in_(list(submission_ids))
        )
    ).all()
    return {row[0]: row[1] for row in rows}


def supersede(session: Session, submission_id: str) -> int:
    """Mark a submission superseded and withdraw every entry not sent and not in flight.

    Returns the entries withdrawn. An entry in flight is left to its sender: the worker's
    claim never takes a superseded submission's entry again (``outbox.claim_many``), and a
    correction waits until no entry of the one it replaces is in flight.
    """
    session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(status=SubmissionStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    withdrawn = session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.submission_id == submission_id,
            OutboxEntry.state.in_([str(s) for s in WITHDRAWABLE]),
        )
        .values(state=OutboxState.SUPERSEDED, next_attempt_at=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    return int(withdrawn.rowcount or 0)


# Not sent, not being sent: what a correction withdraws (``in_flight`` is the sender's).
WITHDRAWABLE = (
    OutboxState.HELD,
    OutboxState.PENDING,
    OutboxState.PAUSED,
    OutboxState.FAILED,
    OutboxState.FLAGGED,
)


@dataclass(frozen=True)
class SourceSubmission:
    """A stored submission as a correction or cancellation starts from it."""

    id: str
    visit_id: str
    tracking_number: str
    service: str
    agency: str
    status: str
    desk: str
    officer: str
    applicant_id: str
    id_kind: str
    id_number: str
    applicant_name: str
    profile: dict[str, Any]
    answers: dict[str, Any]
    checklist: dict[str, str]
    attachments: tuple[tuple[str, str, int, str], ...]  # name, sha256, size, content type
    proxy: dict[str, Any] | None
    payloads: dict[str, bytes]  # agency endpoint -> the frozen body
    entry_states: dict[str, str]  # agency endpoint -> outbox state
    superseded_by: Superseder | None
    purged: bool
    review_reason: str | None = None


def source(session: Session, submission_id: str) -> SourceSubmission | None:
    submission = session.get(Submission, submission_id)
    if submission is None:
        return None
    visit = session.get(Visit, submission.visit_id)
    applicant = session.get(Applicant, submission.applicant_id)
    if visit is None or applicant is None:
        return None
    checklist = session.execute(
        select(ChecklistItem.requirement_id, ChecklistItem.state)
        .where(ChecklistItem.submission_id == submission_id, ChecklistItem.applies.is_(True))
        .order_by(ChecklistItem.position)
    ).all()
    attachments = session.execute(
        select(Attachment.name, Attachment.sha256, Attachment.size, Attachment.content_type)
        .where(Attachment.submission_id == submission_id)
        .order_by(Attachment.id)
    ).all()
    entries = session.execute(
        select(OutboxEntry.agency, OutboxEntry.payload, OutboxEntry.state).where(
            OutboxEntry.submission_id == submission_id
        )
    ).all()
    return SourceSubmission(
        id=submission.id,
        visit_id=visit.id,
        tracking_number=submission.tracking_number,
        service=submission.service,
        agency=submission.agency,
        status=submission.status,
        desk=visit.desk,
        officer=submission.officer,
        applicant_id=applicant.id,
        id_kind=applicant.id_kind,
        id_number=applicant.id_number,
        applicant_name=applicant.name,
        profile=dict(applicant.profile or {}),
        answers=dict(submission.answers or {}),
        checklist={row[0]: row[1] for row in checklist},
        attachments=tuple((r[0], r[1], int(r[2]), r[3]) for r in attachments),
        proxy=dict(visit.proxy) if visit.proxy else None,
        payloads={row[0]: bytes(row[1]) for row in entries},
        entry_states={row[0]: row[2] for row in entries},
        superseded_by=superseders(session, [submission.id]).get(submission.id),
        purged=submission.purged_at is not None or applicant.purged_at is not None,
        review_reason=submission.review_reason,
    )


@dataclass(frozen=True)
class Cancellation:
    """The rows of one cancellation, planned by ``mppdesk.desk.corrections.cancel``."""

    submission_id: str
    visit_id: str
    cancels: SourceSubmission
    tracking_number: str
    desk: str
    officer: str
    at: datetime
    local_date: str
    form_version: str
    answers: dict[str, Any]
    status: str
    entries: list[dict[str, Any]]  # id, agency, payload, payload_sha256


def insert_cancellation(session: Session, cancellation: Cancellation) -> None:
    """The cancellation's visit, submission and outbox entries (pending, sent first)."""
    c, cancelled = cancellation, cancellation.cancels
    session.add(
        Visit(
            id=c.visit_id,
            ticket="",
            desk=c.desk,
            officer=c.officer,
            applicant_id=cancelled.applicant_id,
            proxy=None,
            status="finalized",
            draft=None,
            ticket_at=None,
            started_at=c.at,
            finalized_at=c.at,
            local_date=c.local_date,
            updated_at=c.at,
        )
    )
    session.flush()
    session.add(
        Submission(
            id=c.submission_id,
            visit_id=c.visit_id,
            position=0,
            service=cancelled.service,
            agency=cancelled.agency,
            tracking_number=c.tracking_number,
            form_version=c.form_version,
            status=c.status,
            review_state=ReviewState.UNREVIEWED,
            review_reason=None,
            applicant_id=cancelled.applicant_id,
            answers=dict(c.answers),
            fee=None,
            sla_due=date.fromisoformat(c.local_date),
            finalized_at=c.at,
            local_date=c.local_date,
            officer=c.officer,
            supersedes_id=cancelled.id,
        )
    )
    session.flush()
    for entry in c.entries:
        session.add(
            OutboxEntry(
                id=entry["id"],
                submission_id=c.submission_id,
                agency=entry["agency"],
                state=OutboxState.PENDING,
                payload=entry["payload"],
                payload_sha256=entry["payload_sha256"],
                attempts=0,
                created_at=c.at,
                next_attempt_at=c.at,
                attachments_acked={},
            )
        )
    session.flush()


# --- the approval queue and the officer's returns -------------------------------------


@dataclass(frozen=True)
class QueueLine:
    """One submission waiting for a supervisor's approval."""

    id: str
    tracking_number: str
    applicant_name: str
    service: str
    agency: str
    officer: str
    desk: str
    finalized_at: datetime
    review_state: str
    review_reason: str | None
    status: str = SubmissionStatus.HELD


def _queue_where(desk: str | None) -> list[Any]:
    where = [
        Submission.status == SubmissionStatus.HELD,
        Submission.review_state != ReviewState.RETURNED,  # the officer's turn, not approval's
    ]
    if desk is not None:
        where.append(Visit.desk == desk)
    return where


def approval_queue(
    session: Session, desk: str | None = None, limit: int = 500
) -> tuple[int, list[QueueLine]]:
    """Held submissions not returned, oldest first (at most ``limit``), and how many in all."""
    where = _queue_where(desk)
    total = session.scalar(
        select(func.count())
        .select_from(Submission)
        .join(Visit, Visit.id == Submission.visit_id)
        .where(*where)
    )
    rows = session.execute(
        select(
            Submission.id,
            Submission.tracking_number,
            Applicant.name,
            Submission.service,
            Submission.agency,
            Submission.officer,
            Visit.desk,
            Submission.finalized_at,
            Submission.review_state,
            Submission.review_reason,
        )
        .join(Visit, Visit.id == Submission.visit_id)
        .join(Applicant, Applicant.id == Submission.applicant_id)
        .where(*where)
        .order_by(Submission.finalized_at, Submission.id)
        .limit(limit)
    ).all()
    return int(total or 0), [QueueLine(*row) for row in rows]


def open_returns(session: Session, desk: str | None = None) -> int:
    """Returned submissions no correction or cancellation has replaced yet."""
    stmt = (
        select(func.count())
        .select_from(Submission)
        .where(
            # The partial index's own WHERE (models.ATTENTION_SQL: superseded ones are out),
            # so the count reads only the small index of submissions needing a look.
            text(f"({ATTENTION_SQL})"),
            Submission.review_state == ReviewState.RETURNED,
        )
    )
    if desk is not None:
        on_desk = select(Visit.id).where(Visit.id == Submission.visit_id, Visit.desk == desk)
        stmt = stmt.where(on_desk.exists())
    return int(session.scalar(stmt) or 0)
