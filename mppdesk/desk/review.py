"""Supervisor review: approve, return with a reason, or flag a submission.

Submissions of services that require approval are finalized ``held``: their outbox entries
wait in state ``held`` until a supervisor approves, and the approval moves them to ``pending``
in the same transaction as the decision and its audit event, so an approval is never recorded
without its release (nor the reverse). Approving a submission that is not held (approved
already, or of a service that needs no approval) records the decision and releases nothing.
Returning or flagging never sends anything: a returned submission is corrected by a new one
that supersedes it.

Nobody approves a submission they took in themselves (``PermissionDenied``), and a submission
a correction or cancellation replaced can no longer be approved: the refusal names the
tracking number that replaced it (``mppdesk.desk.corrections``). Submissions are named by id
or by tracking number.

The submission keeps the latest decision (``review_state``, ``review_reason``: what the
officer's submissions view shows); every decision is kept in ``review_decisions`` and in the
audit chain. Several approvals at once are committed only after the supervisor types the
password again: one transaction, all or nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.messages import Phrase
from mppdesk.core.permissions import Operation
from mppdesk.core.states import ReviewState, SubmissionStatus
from mppdesk.desk.auth import HASHER, Actor, require
from mppdesk.desk.errors import (
    AuthError,
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from mppdesk.desk.runtime import Runtime
from mppdesk.store import hub as hub_store
from mppdesk.store import outbox, repo
from mppdesk.store import review as review_store

log = logging.getLogger(__name__)

REASON_MAX = 1000
DECISIONS = (ReviewState.APPROVED, ReviewState.RETURNED, ReviewState.FLAGGED)


@dataclass(frozen=True)
class ReviewOutcome:
    submission_id: str
    tracking_number: str
    decision: str
    reason: str | None
    released: int  # outbox entries moved from held to pending (0 when nothing was held)
    was_held: bool

    @property
    def changes(self) -> Changes:
        """The decision and the submission's row; the outbox only when entries were released
        (which is what wakes the sync worker)."""
        kinds = (Kind.REVIEW, Kind.OUTBOX) if self.released else (Kind.REVIEW,)
        return Changes.of(*kinds, submission_ids=[self.submission_id])

    def as_dict(self) -> dict[str, object]:
        return {
            "submission_id": self.submission_id,
            "tracking_number": self.tracking_number,
            "decision": self.decision,
            "reason": self.reason,
            "released": self.released,
            "was_held": self.was_held,
        }


def changes_of(outcomes: Sequence[ReviewOutcome]) -> Changes:
    """What several decisions changed together (one batch, one notice to the views)."""
    return Changes.merged(outcome.changes for outcome in outcomes)


def _clean_reason(decision: str, reason: str | None) -> str | None:
    if decision not in DECISIONS:
        raise InvalidInput([FieldError.of("decision", "error.decision_invalid")])
    text = " ".join((reason or "").split()) or None
    if decision != ReviewState.APPROVED and text is None:
        raise InvalidInput([FieldError.of("reason", "error.reason_required")])
    if text is not None and len(text) > REASON_MAX:
        raise InvalidInput(
            [FieldError.of("reason", "error.reason_too_long", maximum=REASON_MAX)]
        )
    return text


def _decide(
    runtime: Runtime,
    actor: Actor,
    submission_ids: Sequence[str],
    decision: str,
    reason: str | None,
    batch: bool,
) -> list[ReviewOutcome]:
    ids = list(dict.fromkeys(submission_ids))
    if not ids:
        raise InvalidInput([FieldError.of("submissions", "error.choose_submission")])
    now = runtime.now()
    outcomes: list[ReviewOutcome] = []
    with runtime.store.write() as session:
        ids = list(dict.fromkeys(review_store.resolve(session, i) or i for i in ids))
        found = review_store.targets(session, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound.of("error.submission_not_found", submissions=", ".join(missing[:5]))
        if decision == ReviewState.APPROVED:
            _check_approvable(actor, [found[i] for i in ids])
        events = []
        for submission_id in ids:
            target = found[submission_id]
            was_held = target.status == SubmissionStatus.HELD
            released = 0
            if decision == ReviewState.APPROVED:
                released = outbox.release_held(session, submission_id, now)
            review_store.record_decision(
                session, submission_id, decision, reason, actor.username, now, released
            )
            events.append(
                {
                    "action": f"review.{decision}",
                    "object_type": "submission",
                    "object_id": submission_id,
                    "details": {
                        "tracking_number": target.tracking_number,
                        "reason": reason,
                        "released": released,
                        "previous_review": target.review_state,
                        "status_before": target.status,
                        "batch": batch,
                    },
                }
            )
            outcomes.append(
                ReviewOutcome(
                    submission_id, target.tracking_number, decision, reason, released, was_held
                )
            )
        repo.append_audit_batch(session, actor.username, events, at=now)
    for outcome in outcomes:
        log.info(
            "submission %s %s by %s (released %d)",
            outcome.submission_id,
            decision,
            actor.username,
            outcome.released,
        )
    return outcomes


def _check_approvable(actor: Actor, targets: Sequence[review_store.ReviewTarget]) -> None:
    """Approval is a second person's check of a submission that still stands."""
    for target in targets:
        if target.officer == actor.username:
            raise PermissionDenied.of("corrections.own_intake", tracking=target.tracking_number)
    refused = [
        FieldError.of(
            target.tracking_number,
            "corrections.superseded_no_approval",
            tracking=target.tracking_number,
            by=target.superseded_by,
        )
        for target in targets
        if target.superseded_by is not None
    ]
    if refused:
        raise InvalidInput(refused)


def review(
    runtime: Runtime,
    actor: Actor,
    submission_id: str,
    decision: str,
    reason: str | None = None,
) -> ReviewOutcome:
    """One decision on one submission (by id or tracking number). Raises PermissionDenied
    (not a supervisor; approving one's own intake), NotFound or InvalidInput (no reason; a
    superseded submission approved)."""
    require(actor, Operation.REVIEW)
    clean = _clean_reason(decision, reason)
    return _decide(runtime, actor, [submission_id], decision, clean, batch=False)[0]


def approve(runtime: Runtime, actor: Actor, submission_id: str) -> ReviewOutcome:
    return review(runtime, actor, submission_id, ReviewState.APPROVED)


def flag(runtime: Runtime, actor: Actor, submission_id: str, reason: str) -> ReviewOutcome:
    return review(runtime, actor, submission_id, ReviewState.FLAGGED, reason)


def approve_batch(
    runtime: Runtime, actor: Actor, submission_ids: Sequence[str], password: str
) -> list[ReviewOutcome]:
    """Approve several submissions at once, after the supervisor re-enters the password.

    The password is checked against the stored hash (argon2id) before anything is written;
    a wrong one is recorded as a failed attempt (it counts toward the account's lockout) and
    audited, and nothing is approved. The approvals are one transaction: an unknown id
    approves none of them.
    """
    require(actor, Operation.REVIEW)
    _confirm_password(runtime, actor, password, purpose="review.batch")
    return _decide(runtime, actor, submission_ids, ReviewState.APPROVED, None, batch=True)


def approval_queue(
    runtime: Runtime, actor: Actor, limit: int = 500
) -> tuple[int, list[review_store.QueueLine]]:
    """What waits for a supervisor's approval, oldest first, with the applicant's name (the
    supervisor checks the person, not a number): held, not returned, not superseded."""
    require(actor, Operation.REVIEW)
    with runtime.store.read() as session:
        return review_store.approval_queue(session, None, limit)


def hub_refusals(runtime: Runtime, actor: Actor, submission_id: str) -> list[dict[str, object]]:
    """The approvals from the mall hub that this desk refused to apply to one submission,
    newest first (``mppdesk.store.hub.apply_review``: the supervisor who took it in, or one
    superseded here meanwhile). The submission's detail says why it is still not approved;
    each entry names the approving supervisor, the refusal and the replacement's tracking
    number, never the applicant."""
    require(actor, Operation.VIEW_OWN)
    with runtime.store.read() as session:
        return [
            dict(entry)
            for entry in hub_store.refused_reviews(session)
            if entry.get("submission_id") == submission_id
        ]


def refusal_reason(refusal: str, superseded_by: str | None) -> Phrase | str:
    """Why this desk refused a hub approval, as a catalog phrase (the CLI's ``hub status``
    words): by the officer who took it in, or superseded by ``superseded_by``. A refusal
    this version does not know stays its code: shown, never guessed."""
    if refusal in (hub_store.REVIEW_OWN_INTAKE, hub_store.REVIEW_SUPERSEDED):
        return Phrase(f"hubreview.why.{refusal}", {"by": superseded_by or "-"})
    return str(refusal or "-")


def _confirm_password(runtime: Runtime, actor: Actor, password: str, purpose: str) -> None:
    now = runtime.now()
    with runtime.store.read() as session:
        officer = repo.get_officer(session, actor.username)
        stored = officer.password_hash if officer is not None and officer.active else None
        locked = (
            officer is not None and officer.locked_until is not None and officer.locked_until > now
        )
    ok = False
    if stored is not None and not locked:
        try:
            ok = HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    if ok:
        return
    with runtime.store.write() as session:
        repo.record_login_attempt(session, actor.username, False, now)
        repo.append_audit(
            session,
            actor=actor.username,
            action="password.confirm_failed",
            object_type="officer",
            object_id=actor.username,
            details={"purpose": purpose},
        )
    raise AuthError.of("auth.bad_credentials")
