"""Supervisor review decisions: the latest one on the submission, every one in its own table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mppdesk.store.models import ReviewDecision, Submission, Visit


@dataclass(frozen=True)
class ReviewTarget:
    """What a decision needs to know about its submission before it is taken."""

    id: str
    tracking_number: str
    status: str
    review_state: str
    desk: str


def targets(session: Session, submission_ids: Sequence[str]) -> dict[str, ReviewTarget]:
    rows = session.execute(
        select(
            Submission.id,
            Submission.tracking_number,
            Submission.status,
            Submission.review_state,
            Visit.desk,
        )
        .join(Visit, Visit.id == Submission.visit_id)
        .where(Submission.id.in_(list(submission_ids)))
    ).all()
    return {row[0]: ReviewTarget(*row) for row in rows}


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
