"""The outbox: one entry per (submission, agency endpoint), leased while in flight.

The sync worker claims due entries with a lease that expires, so a crashed worker never
leaves anything "sending" forever: an expired lease makes the entry due again, and the
agency's idempotency key makes the repeat harmless. Results are recorded only by the lease
holder, except a delivery, which is recorded whoever learns of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from mppdesk.core.states import (
    TERMINAL_AGENCY_STATUSES,
    OutboxState,
    ReviewState,
    SubmissionStatus,
)
from mppdesk.core.sync_policy import EntryView, wait_horizon
from mppdesk.store.billing import awaits_payment
from mppdesk.store.models import Attachment, OutboxEntry, Submission


@dataclass(frozen=True)
class SendJob:
    """What the worker needs to deliver one entry, read inside a short transaction."""

    entry_id: str
    submission_id: str
    agency: str
    payload: bytes
    attempts: int
    attachments: tuple[tuple[str, str, str, int], ...]  # name, sha256, content_type, size
    acked: dict[str, str]
    delivered: bool  # the POST already succeeded; only attachments remain
    protocol_errors: int = 0  # answers outside the protocol in a row so far


def _view(entry: OutboxEntry) -> EntryView:
    return EntryView(
        id=entry.id,
        agency=entry.agency,
        state=entry.state,
        next_attempt_at=entry.next_attempt_at,
        lease_expires_at=entry.lease_expires_at,
        created_at=entry.created_at,
        attempts=entry.attempts,
    )


def _due_clause(now: datetime, max_wait_s: float | None, lease_s: float | None) -> Any:
    """Pending and due, or in flight with an expired lease; a time further ahead than any
    wait the desk sets (``max_wait_s``, ``lease_s``) counts as due: a clock jump wrote it
    (the rule is ``sync_policy.is_due``; this is the same rule in SQL)."""
    pending_due = OutboxEntry.next_attempt_at <= now
    if max_wait_s is not None:
        pending_due = or_(pending_due, OutboxEntry.next_attempt_at > wait_horizon(now, max_wait_s))
    lease_over = or_(OutboxEntry.lease_expires_at.is_(None), OutboxEntry.lease_expires_at <= now)
    if lease_s is not None:
        lease_over = or_(lease_over, OutboxEntry.lease_expires_at > wait_horizon(now, lease_s))
    return or_(
        and_(
            OutboxEntry.state == OutboxState.PENDING,
            or_(OutboxEntry.next_attempt_at.is_(None), pending_due),
        ),
        and_(OutboxEntry.state == OutboxState.IN_FLIGHT, lease_over),
    )


def due_candidates(
    session: Session,
    now: datetime,
    per_agency_limit: int,
    *,
    max_wait_s: float | None = None,
    lease_s: float | None = None,
    skip_agencies: Iterable[str] = (),
) -> list[EntryView]:
    """Entries that may be sent now, oldest first, at most ``per_agency_limit`` per agency
    (except those of ``skip_agencies``, e.g. agencies busy sending already)."""
    due = _due_clause(now, max_wait_s, lease_s)
    skip = set(skip_agencies)
    agencies = [
        a
        for a in session.scalars(select(OutboxEntry.agency).where(due).distinct())
        if a not in skip
    ]
    views: list[EntryView] = []
    for agency in agencies:
        rows = session.scalars(
            select(OutboxEntry)
            .where(due, OutboxEntry.agency == agency)
            .order_by(OutboxEntry.created_at, OutboxEntry.id)
            .limit(per_agency_limit)
        )
        views.extend(_view(row) for row in rows)
    return views


def claim_many(
    session: Session,
    entry_ids: Sequence[str],
    owner: str,
    now: datetime,
    lease_s: float,
    *,
    max_wait_s: float | None = None,
) -> list[str]:
    """Take the lease on every due entry of ``entry_ids`` in one statement; the ids taken.

    A due entry whose submission was superseded meanwhile is withdrawn instead (state
    ``superseded``: never sent), and a correction whose superseded submission is still in
    flight to the same agency waits a second, so the agency never gets the correction first.
    """
    if not entry_ids:
        return []
    ids = list(entry_ids)
    due = _due_clause(now, max_wait_s, lease_s)
    superseded = select(Submission.id).where(Submission.supersedes_id == OutboxEntry.submission_id)
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(ids), due, superseded.exists())
        .values(
            state=OutboxState.SUPERSEDED,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    prior = aliased(OutboxEntry)
    waiting = (
        select(prior.id)
        .join(Submission, Submission.supersedes_id == prior.submission_id)
        .where(
            Submission.id == OutboxEntry.submission_id,
            prior.agency == OutboxEntry.agency,
            prior.state == OutboxState.IN_FLIGHT,
        )
        .exists()
    )
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(ids), due, waiting)
        .values(next_attempt_at=now + timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
    taken = session.scalars(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(ids), due)
        .values(
            state=OutboxState.IN_FLIGHT,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=lease_s),
            last_attempt_at=now,
        )
        .returning(OutboxEntry.id)
        .execution_options(synchronize_session=False)
    ).all()
    order = {entry_id: i for i, entry_id in enumerate(entry_ids)}
    return sorted(taken, key=lambda entry_id: order.get(entry_id, 0))


def send_jobs(session: Session, entry_ids: Sequence[str]) -> dict[str, SendJob]:
    """The send jobs of a claimed batch, read in two queries."""
    if not entry_ids:
        return {}
    entries = list(session.scalars(select(OutboxEntry).where(OutboxEntry.id.in_(list(entry_ids)))))
    by_submission: dict[str, list[tuple[str, str, str, int]]] = {}
    rows = session.execute(
        select(
            Attachment.submission_id,
            Attachment.name,
            Attachment.sha256,
            Attachment.content_type,
            Attachment.size,
        )
        .where(Attachment.submission_id.in_([e.submission_id for e in entries]))
        .order_by(Attachment.name)
    ).all()
    for submission_id, *attachment in rows:
        by_submission.setdefault(submission_id, []).append(tuple(attachment))
    return {
        entry.id: SendJob(
            entry_id=entry.id,
            submission_id=entry.submission_id,
            agency=entry.agency,
            payload=entry.payload,
            attempts=entry.attempts,
            attachments=tuple(by_submission.get(entry.submission_id, ())),
            acked=dict(entry.attachments_acked or {}),
            delivered=entry.delivered_at is not None,
            protocol_errors=entry.protocol_errors or 0,
        )
        for entry in entries
    }


def _owned(session: Session, entry_id: str, owner: str) -> OutboxEntry | None:
    entry = session.get(OutboxEntry, entry_id)
    if entry is None or entry.state != OutboxState.IN_FLIGHT or entry.lease_owner != owner:
        return None
    return entry


def _release(entry: OutboxEntry) -> None:
    entry.lease_owner = None
    entry.lease_expires_at = None


def record_posted(
    session: Session,
    entry_id: str,
    now: datetime,
    agency_ref: str | None,
    agency_status: str | None,
    status_check_at: datetime | None = None,
) -> None:
    """The agency stored the submission (201, or 200 for a replay)."""
    entry = session.get(OutboxEntry, entry_id)
    if entry is None:
        return
    if entry.delivered_at is None:
        entry.delivered_at = now
    entry.agency_ref = agency_ref or entry.agency_ref
    entry.agency_status = agency_status or entry.agency_status
    entry.protocol_errors = 0
    if status_check_at is not None and entry.next_status_check_at is None:
        # The agency holds it: its status is pulled even while attachments still wait.
        entry.next_status_check_at = status_check_at
    submission = session.get(Submission, entry.submission_id)
    if submission is not None:
        submission.agency_ref = entry.agency_ref
        submission.agency_status = entry.agency_status
        submission.agency_updated_at = now
        if submission.status in (SubmissionStatus.QUEUED, SubmissionStatus.HELD):
            submission.status = SubmissionStatus.SENT


def record_attachment_acked(session: Session, entry_id: str, name: str, sha256: str) -> None:
    entry = session.get(OutboxEntry, entry_id)
    if entry is None:
        return
    acked = dict(entry.attachments_acked or {})
    acked[name] = sha256
    entry.attachments_acked = acked
    entry.protocol_errors = 0


def record_delivered_many(
    session: Session,
    items: Sequence[tuple[str, str, str | None, str | None]],
    now: datetime,
    status_check_at: datetime,
) -> None:
    """Many entries delivered whole: (entry id, submission id, agency ref, agency status).

    Two executemany statements instead of the ORM's per-object work: the sync worker records
    deliveries in batches and this is its hot path.
    """
    if not items:
        return
    outbox_table = OutboxEntry.__table__
    submissions = Submission.__table__
    session.execute(
        update(outbox_table)
        .where(outbox_table.c.id == bindparam("b_id"))
        .values(
            state=OutboxState.DONE,
            delivered_at=func.coalesce(outbox_table.c.delivered_at, bindparam("b_now")),
            agency_ref=func.coalesce(bindparam("b_ref"), outbox_table.c.agency_ref),
            agency_status=func.coalesce(bindparam("b_status"), outbox_table.c.agency_status),
            last_error_class=None,
            last_error_message=None,
            protocol_errors=0,
            next_attempt_at=None,
            next_status_check_at=bindparam("b_check"),
            lease_owner=None,
            lease_expires_at=None,
        ),
        [
            {
                "b_id": entry_id,
                "b_now": now,
                "b_ref": ref,
                "b_status": status,
                "b_check": status_check_at,
            }
            for entry_id, _submission_id, ref, status in items
        ],
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(submissions)
        .where(submissions.c.id == bindparam("b_id"))
        .values(
            agency_ref=func.coalesce(bindparam("b_ref"), submissions.c.agency_ref),
            agency_status=func.coalesce(bindparam("b_status"), submissions.c.agency_status),
            agency_updated_at=bindparam("b_now"),
            status=case(
                (
                    # Not an IN list: an expanding parameter cannot go into executemany.
                    or_(
                        submissions.c.status == SubmissionStatus.QUEUED.value,
                        submissions.c.status == SubmissionStatus.HELD.value,
                        submissions.c.status == SubmissionStatus.SENT.value,
                    ),
                    SubmissionStatus.ACCEPTED.value,
                ),
                else_=submissions.c.status,
            ),
        ),
        [
            {"b_id": submission_id, "b_ref": ref, "b_status": status, "b_now": now}
            for _entry_id, submission_id, ref, status in items
        ],
        execution_options={"synchronize_session": False},
    )


def record_retry(
    session: Session,
    entry_id: str,
    owner: str,
    next_attempt_at: datetime,
    error_class: str,
    error_message: str,
    count_attempt: bool = True,
    *,
    protocol: bool = False,
    flag_after: int | None = None,
) -> bool:
    """A transient failure: due again at ``next_attempt_at``.

    ``protocol`` marks an answer outside the protocol: those are counted, and the
    ``flag_after``-th in a row flags the entry for a supervisor instead (see ``flag``).
    """
    entry = _owned(session, entry_id, owner)
    if entry is None:
        return False
    if count_attempt:
        entry.attempts += 1
    entry.protocol_errors = (entry.protocol_errors or 0) + 1 if protocol else 0
    if protocol and flag_after is not None and entry.protocol_errors >= flag_after:
        _flag(
            session,
            entry,
            error_class,
            f"{entry.protocol_errors} answers in a row outside the protocol; last: "
            + error_message,
        )
        return True
    entry.state = OutboxState.PENDING
    entry.next_attempt_at = next_attempt_at
    entry.last_error_class = error_class
    entry.last_error_message = error_message[:2000]
    _release(entry)
    return True


def _flag(session: Session, entry: OutboxEntry, error_class: str, message: str) -> None:
    entry.state = OutboxState.FLAGGED
    entry.next_attempt_at = None
    entry.last_error_class = error_class[:32]
    entry.last_error_message = message[:2000]
    _release(entry)
    submission = session.get(Submission, entry.submission_id)
    if submission is not None:
        # On the supervisor's attention list; the submission's own status stays what the
        # agency said (never "rejected": the agency did not refuse anything).
        submission.review_state = ReviewState.FLAGGED
        submission.review_reason = message[:2000]


def flag(
    session: Session,
    entry_id: str,
    error_class: str,
    message: str,
    *,
    owner: str | None = None,
) -> bool:
    """Flag an entry for a supervisor: ``local_fault`` (this PC cannot read what it must
    send), ``lost_at_agency`` (the agency no longer knows a submission it accepted) or a
    protocol error class after too many. With ``owner``, only while that worker holds the
    lease; a lost submission (a delivered entry, no lease) is flagged by whoever learns it.
    """
    entry = (
        _owned(session, entry_id, owner)
        if owner is not None
        else session.get(OutboxEntry, entry_id)
    )
    if entry is None:
        return False
    if error_class == "lost_at_agency":
        entry.next_status_check_at = None  # nothing more to pull until a person looks
    _flag(session, entry, error_class, message)
    return True


def release(
    session: Session,
    entry_id: str,
    owner: str,
    now: datetime,
    *,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Give a claimed entry back unsent (shutting down, or the agency's breaker opened).

    ``next_attempt_at`` (default ``now``) is when it is due again, e.g. the breaker's reopening.
    """
    entry = _owned(session, entry_id, owner)
    if entry is None:
        return False
    entry.state = OutboxState.PENDING
    entry.next_attempt_at = next_attempt_at or now
    _release(entry)
    return True


def record_failed(
    session: Session,
    entry_id: str,
    owner: str,
    error_class: str,
    error_message: str,
    conflict: bool,
) -> bool:
    """A permanent refusal (400/422) or an idempotency conflict (409): no more retries."""
    entry = _owned(session, entry_id, owner)
    if entry is None:
        return False
    entry.state = OutboxState.FAILED
    entry.attempts += 1
    entry.next_attempt_at = None
    entry.last_error_class = error_class
    entry.last_error_message = error_message[:2000]
    _release(entry)
    submission = session.get(Submission, entry.submission_id)
    if submission is not None and submission.status != SubmissionStatus.SUPERSEDED:
        submission.status = SubmissionStatus.CONFLICT if conflict else SubmissionStatus.REJECTED
        if conflict:
            submission.review_state = "flagged"
            submission.review_reason = error_message[:2000]
    return True


def pause_agency(
    session: Session,
    agency: str,
    owner: str | None,
    entry_id: str | None,
    error_class: str,
    error_message: str,
    probe_at: datetime,
) -> int:
    """Credentials or configuration are wrong: park the agency's queue without burning retries.

    Every pending entry of the agency (and the one in hand) becomes ``paused`` until
    ``probe_at``, when one entry is tried again; settings changes resume them at once.
    """
    if entry_id is not None and owner is not None:
        entry = _owned(session, entry_id, owner)
        if entry is not None:
            _release(entry)
            entry.state = OutboxState.PAUSED
            entry.next_attempt_at = probe_at
            entry.last_error_class = error_class
            entry.last_error_message = error_message[:2000]
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.agency == agency, OutboxEntry.state == OutboxState.PENDING)
        .values(
            state=OutboxState.PAUSED,
            next_attempt_at=probe_at,
            last_error_class=error_class,
            last_error_message=error_message[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def _paused_due(now: datetime, max_wait_s: float | None) -> Any:
    due = OutboxEntry.next_attempt_at <= now
    if max_wait_s is not None:  # a probe time beyond the pause can only be a clock jump
        due = or_(due, OutboxEntry.next_attempt_at > wait_horizon(now, max_wait_s))
    return and_(OutboxEntry.state == OutboxState.PAUSED, due)


def any_paused_due(session: Session, now: datetime, *, max_wait_s: float | None = None) -> bool:
    """A cheap read before taking the write lock for ``paused_probe_due``."""
    return (
        session.scalar(select(OutboxEntry.id).where(_paused_due(now, max_wait_s)).limit(1))
        is not None
    )


def paused_probe_due(
    session: Session, now: datetime, *, max_wait_s: float | None = None
) -> list[str]:
    """Agencies whose pause has run its time: one entry each is moved back to pending."""
    rows = session.execute(
        select(OutboxEntry.agency, func.min(OutboxEntry.id))
        .where(_paused_due(now, max_wait_s))
        .group_by(OutboxEntry.agency)
    ).all()
    for _agency, entry_id in rows:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == entry_id)
            .values(state=OutboxState.PENDING, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return [row[0] for row in rows]


def next_due_by_agency(
    session: Session,
    now: datetime | None = None,
    *,
    max_wait_s: float | None = None,
    lease_s: float | None = None,
) -> dict[str, datetime]:
    """Per agency, the earliest moment one of its pending or in-flight entries is due.

    The worker sleeps until then; ``due_candidates`` orders by age, not by due time, so it
    cannot answer this. With ``now``, a time beyond ``max_wait_s`` (pending) or ``lease_s``
    (in flight) is due at ``now``: a clock jump wrote it.
    """
    due: dict[str, datetime] = {}
    for state, column, bound in (
        (OutboxState.PENDING, OutboxEntry.next_attempt_at, max_wait_s),
        (OutboxState.IN_FLIGHT, OutboxEntry.lease_expires_at, lease_s),
    ):
        rows = session.execute(
            select(OutboxEntry.agency, func.min(column))
            .where(OutboxEntry.state == state)
            .group_by(OutboxEntry.agency)
        ).all()
        for agency, at in rows:
            if at is None:  # pending without a time, or in flight without a lease: due now
                at = datetime.min.replace(tzinfo=UTC)
            elif now is not None and bound is not None and at > wait_horizon(now, bound):
                at = now
            current = due.get(agency)
            due[agency] = at if current is None else min(current, at)
    return due


def resume_agency(session: Session, agency: str, now: datetime) -> int:
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.agency == agency, OutboxEntry.state == OutboxState.PAUSED)
        .values(state=OutboxState.PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def paused_agencies(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(OutboxEntry.agency).where(OutboxEntry.state == OutboxState.PAUSED).distinct()
        )
    )


def retry_now(session: Session, submission_id: str, now: datetime) -> int:
    """Officer's "kirim ulang sekarang": pending, paused and flagged entries become due at
    once. A submission lost at the agency is delivered again from the start (same key, same
    bytes): the POST and every attachment."""
    session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.submission_id == submission_id,
            OutboxEntry.state == OutboxState.FLAGGED,
            OutboxEntry.last_error_class == "lost_at_agency",
        )
        .values(delivered_at=None, attachments_acked={}, next_status_check_at=None)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.submission_id == submission_id,
            OutboxEntry.state.in_((OutboxState.PENDING, OutboxState.PAUSED, OutboxState.FLAGGED)),
        )
        .values(state=OutboxState.PENDING, next_attempt_at=now, protocol_errors=0)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def release_held(session: Session, submission_id: str, now: datetime) -> int:
    """A supervisor approved: held entries go to the queue."""
    result = session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.submission_id == submission_id, OutboxEntry.state == OutboxState.HELD)
        .values(state=OutboxState.PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    submission = session.get(Submission, submission_id)
    if submission is not None and submission.status == SubmissionStatus.HELD:
        submission.status = SubmissionStatus.QUEUED
    return int(result.rowcount or 0)


def status_poll_candidates(
    session: Session, now: datetime, limit: int, *, max_wait_s: float | None = None
) -> list[tuple[str, str, str]]:
    """(entry id, agency, submission id) of submissions the agency accepted (the POST went
    through, whatever became of the attachments) whose agency status may still move.

    A check time further ahead than ``max_wait_s`` (the poll interval) is due: a clock jump.
    """
    due = OutboxEntry.next_status_check_at <= now
    if max_wait_s is not None:
        due = or_(due, OutboxEntry.next_status_check_at > wait_horizon(now, max_wait_s))
    rows = session.execute(
        select(OutboxEntry.id, OutboxEntry.agency, OutboxEntry.submission_id)
        .where(
            OutboxEntry.delivered_at.is_not(None),
            OutboxEntry.state != OutboxState.IN_FLIGHT,
            due,
            or_(
                OutboxEntry.agency_status.is_(None),
                OutboxEntry.agency_status.not_in([str(s) for s in TERMINAL_AGENCY_STATUSES]),
                awaits_payment(now),  # done at the agency, its bill not yet paid
            ),
        )
        .order_by(OutboxEntry.next_status_check_at)
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]


def next_status_check_by_agency(
    session: Session, now: datetime, *, max_wait_s: float | None = None
) -> dict[str, datetime]:
    """Per agency, the earliest status pull due (``status_poll_candidates``' terms); a time
    further ahead than ``max_wait_s`` counts as ``now`` (a clock jump wrote it)."""
    rows = session.execute(
        select(OutboxEntry.agency, func.min(OutboxEntry.next_status_check_at))
        .where(
            OutboxEntry.delivered_at.is_not(None),
            OutboxEntry.state != OutboxState.IN_FLIGHT,
            OutboxEntry.next_status_check_at.is_not(None),
            or_(
                OutboxEntry.agency_status.is_(None),
                OutboxEntry.agency_status.not_in([str(s) for s in TERMINAL_AGENCY_STATUSES]),
                awaits_payment(now),  # done at the agency, its bill not yet paid
            ),
        )
        .group_by(OutboxEntry.agency)
    ).all()
    out = {}
    for agency, at in rows:
        if max_wait_s is not None and at > wait_horizon(now, max_wait_s):
            at = now
        out[agency] = at
    return out


def postpone_status_checks(session: Session, entry_ids: Sequence[str], at: datetime) -> None:
    """Status pulls that got no usable answer (agency down, 401, 5xx): ask again at ``at``."""
    if not entry_ids:
        return
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.id.in_(list(entry_ids)), OutboxEntry.next_status_check_at.is_not(None))
        .values(next_status_check_at=at)
        .execution_options(synchronize_session=False)
    )


def record_status_problem(
    session: Session,
    entry_id: str,
    error_class: str,
    message: str,
    next_check_at: datetime,
) -> None:
    """A status answer that could not be trusted: nothing of it is stored but the reason,
    which stays visible on the entry until the next good answer."""
    entry = session.get(OutboxEntry, entry_id)
    if entry is None:
        return
    entry.last_error_class = error_class[:32]
    entry.last_error_message = message[:2000]
    entry.next_status_check_at = next_check_at


def record_status(
    session: Session,
    entry_id: str,
    status: str,
    message: str,
    agency_ref: str | None,
    now: datetime,
    next_check_at: datetime | None,
) -> bool:
    """The agency's status for a delivered submission; True if it changed."""
    entry = session.get(OutboxEntry, entry_id)
    if entry is None:
        return False
    changed = entry.agency_status != status or (entry.agency_message or "") != message
    if entry.state == OutboxState.DONE and entry.last_error_class is not None:
        entry.last_error_class = None  # a good answer clears a bad one's reason
        entry.last_error_message = None
    entry.agency_status = status
    entry.agency_message = message
    entry.agency_ref = agency_ref or entry.agency_ref
    entry.next_status_check_at = None if status in TERMINAL_AGENCY_STATUSES else next_check_at
    submission = session.get(Submission, entry.submission_id)
    if submission is not None and changed:
        submission.agency_status = status
        submission.agency_message = message
        submission.agency_ref = entry.agency_ref
        submission.agency_updated_at = now
    return changed


def backlog(session: Session) -> dict[str, dict[str, Any]]:
    """Per agency: count per state and the creation time of the oldest undelivered entry."""
    out: dict[str, dict[str, Any]] = {}
    rows = session.execute(
        select(
            OutboxEntry.agency, OutboxEntry.state, func.count(), func.min(OutboxEntry.created_at)
        ).group_by(OutboxEntry.agency, OutboxEntry.state)
    ).all()
    for agency, state, count, oldest in rows:
        info = out.setdefault(agency, {"states": {}, "oldest_undelivered": None})
        info["states"][state] = int(count)
        if state not in (OutboxState.DONE, OutboxState.SUPERSEDED) and oldest is not None:
            current = info["oldest_undelivered"]
            info["oldest_undelivered"] = oldest if current is None else min(current, oldest)
    return out


def count_to_drain(
    session: Session, skip_agencies: Iterable[str], probe_agencies: Iterable[str], until: datetime
) -> int:
    """What a drain still waits for: pending or in flight (outside ``skip_agencies``), and
    paused entries of ``probe_agencies`` whose probe falls before ``until`` (a pause that
    will be over in time, e.g. a short 401 window)."""
    skip = list(skip_agencies)
    active = select(func.count()).where(
        OutboxEntry.state.in_((OutboxState.PENDING, OutboxState.IN_FLIGHT)),
        OutboxEntry.agency.not_in(skip),
    )
    probing = select(func.count()).where(
        OutboxEntry.state == OutboxState.PAUSED,
        OutboxEntry.agency.in_(list(probe_agencies)),
        OutboxEntry.next_attempt_at <= until,
    )
    return int(session.scalar(active) or 0) + int(session.scalar(probing) or 0)


NEEDS_A_PERSON = (OutboxState.PAUSED, OutboxState.FAILED, OutboxState.FLAGGED, OutboxState.HELD)


def needing_a_person(session: Session, skip_agencies: Iterable[str] = ()) -> dict[str, int]:
    """Count per state of the entries no retry will move: paused, failed, flagged, held."""
    rows = session.execute(
        select(OutboxEntry.state, func.count())
        .where(
            OutboxEntry.state.in_([str(s) for s in NEEDS_A_PERSON]),
            OutboxEntry.agency.not_in(list(skip_agencies)),
        )
        .group_by(OutboxEntry.state)
    ).all()
    return {str(state): int(count) for state, count in rows}
