"""Purging personal data that is no longer needed (UU 27/2022: no longer than the purpose).

Only submissions the agency reports completed (or rejected), delivered whole and older than
the install's retention period lose their personal data; the row, its tracking number,
checklist states and the payload's hash stay for the record and the audit trail. A submission
superseded (corrected or cancelled) before anything of it was sent is finished too: it will
never be sent, and it is purged once the retention period has passed since its supersession.
So is the cancellation of such a submission: recorded at the desk, never sent (there was
nothing at any agency to cancel), it has no outbox entry and no agency status to wait for;
left out, it kept the applicant from ever being forgotten.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from mppdesk.core.states import AgencyStatus, OutboxState, SubmissionStatus
from mppdesk.store.models import (
    Applicant,
    ApplicantChange,
    ApplicantNameToken,
    Attachment,
    AuditEvent,
    Handover,
    LoginAttempt,
    OutboxEntry,
    Submission,
    Visit,
)

_FINISHED = (AgencyStatus.COMPLETED.value, AgencyStatus.REJECTED.value)


# Moments the store records as they happen (never planned times such as next attempts or
# leases, which lie in the future by design).
_RECORDED_AT = (
    AuditEvent.at,
    LoginAttempt.at,
    Visit.updated_at,
    Submission.finalized_at,
    Submission.agency_updated_at,
    OutboxEntry.created_at,
    OutboxEntry.last_attempt_at,
    OutboxEntry.delivered_at,
)


def newest_record_at(session: Session) -> datetime | None:
    """The latest moment anything in the store was recorded, or None for an empty store.

    Purge compares the clock with it: a clock far ahead of everything the desk ever wrote is
    more likely wrong than right, and purging by it would erase data still within retention.
    """
    newest: datetime | None = None
    for column in _RECORDED_AT:
        value = session.scalar(select(func.max(column)))
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest


_Later = aliased(Submission)


def purge_candidates(
    session: Session, finished_before: datetime, limit: int = 10_000
) -> list[Submission]:
    """Submissions whose personal data is past retention: finished at (or handed over to)
    the agency with every entry settled, superseded before any of it was sent, or the
    unsent cancellation of such a one."""
    # Settled: delivered, or withdrawn unsent because the submission was superseded.
    unsettled = exists().where(
        OutboxEntry.submission_id == Submission.id,
        OutboxEntry.state.not_in((OutboxState.DONE, OutboxState.SUPERSEDED)),
    )
    no_entries = ~exists().where(OutboxEntry.submission_id == Submission.id)
    handed_over = exists().where(Handover.submission_id == Submission.id)
    finished = and_(
        # finished at the agency, or handed over by hand to one without an API
        or_(Submission.agency_status.in_(_FINISHED), handed_over),
        Submission.agency_updated_at < finished_before,
        ~no_entries,
    )
    # Superseded and never sent: no entry other than a withdrawn one, nothing from an agency,
    # and the correction or cancellation that replaced it is older than the retention.
    sent_or_due = exists().where(
        OutboxEntry.submission_id == Submission.id,
        OutboxEntry.state != OutboxState.SUPERSEDED,
    )
    superseded_at = (
        select(func.max(_Later.finalized_at))
        .where(_Later.supersedes_id == Submission.id)
        .scalar_subquery()
    )
    withdrawn = and_(
        Submission.status == SubmissionStatus.SUPERSEDED,
        Submission.agency_status.is_(None),
        ~handed_over,
        ~sent_or_due,
        superseded_at < finished_before,
    )
    # A cancellation that never went out (``mppdesk.desk.corrections.cancel``: the cancelled
    # one reached no agency): no entry at all, finished when it was recorded.
    unsent_cancellation = and_(
        Submission.supersedes_id.is_not(None),
        Submission.answers["_cancel"].as_boolean().is_(True),
        Submission.agency_status.is_(None),
        ~handed_over,
        no_entries,
        Submission.finalized_at < finished_before,
    )
    return list(
        session.scalars(
            select(Submission)
            .where(
                or_(finished, withdrawn, unsent_cancellation),
                Submission.purged_at.is_(None),
                ~unsettled,
            )
            .order_by(func.coalesce(Submission.agency_updated_at, Submission.finalized_at))
            .limit(limit)
        )
    )


def purge_submission(session: Session, submission: Submission, now: datetime) -> list[str]:
    """Blank the submission's personal data; returns attachment hashes no longer referenced."""
    submission.answers = {}
    submission.purged_at = now
    submission.collected_by = None
    submission.agency_message = None
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.submission_id == submission.id)
        .values(payload=b"", agency_message=None, last_error_message=None)
        .execution_options(synchronize_session=False)
    )
    hashes = list(
        session.scalars(select(Attachment.sha256).where(Attachment.submission_id == submission.id))
    )
    session.flush()
    unreferenced = []
    for digest in hashes:
        still_used = session.scalar(
            select(func.count())
            .select_from(Attachment)
            .join(Submission, Submission.id == Attachment.submission_id)
            .where(Attachment.sha256 == digest, Submission.purged_at.is_(None))
        )
        if not still_used:
            unreferenced.append(digest)
    return unreferenced


def purge_orphan_applicant(session: Session, applicant_id: str, now: datetime) -> bool:
    """Forget an applicant whose every submission is purged and who has no open visit."""
    live = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.applicant_id == applicant_id, Submission.purged_at.is_(None))
    )
    drafts = session.scalar(
        select(func.count())
        .select_from(Visit)
        .where(Visit.applicant_id == applicant_id, Visit.status == "draft")
    )
    if live or drafts:
        return False
    applicant = session.get(Applicant, applicant_id)
    if applicant is None:
        return False
    applicant.profile = {}
    applicant.purged_at = now
    applicant.name = ""
    applicant.name_key = ""
    applicant.id_number = f"purged:{applicant.id}"
    session.execute(
        delete(ApplicantNameToken).where(ApplicantNameToken.applicant_id == applicant_id)
    )
    session.execute(delete(ApplicantChange).where(ApplicantChange.applicant_id == applicant_id))
    session.execute(
        update(Visit)
        .where(Visit.applicant_id == applicant_id)
        .values(proxy=None)
        .execution_options(synchronize_session=False)
    )
    return True
