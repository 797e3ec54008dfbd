"""Corrections and cancellations: a finalized submission is never edited, it is replaced.

A correction is a new submission of the same service whose ``supersedes`` names the one it
corrects; the officer starts it from the stored one (``correction_of``: the applicant, the
answers, the checklist and the attachments as submitted, in a new visit) and finalizes it
like any visit (``mppdesk.desk.intake``). A cancellation (``cancel``) is a submission of the
same service with ``{"_cancel": true}`` as its answers, superseding the one it cancels, in a
visit of its own (the citizen asked for it at the counter).

Either way, in the same transaction as the new submission, the replaced one becomes
``superseded`` and every outbox entry of it that was not sent yet is withdrawn (state
``superseded``): it never reaches the agency and can no longer be approved. One already sent
(or being sent) reaches the agency followed by the new one, whose body names it in
``supersedes``; the sync worker never sends the new one while the old one is in flight to
the same agency (``mppdesk.store.outbox.claim_many``). A cancellation of a submission that
never reached any agency is recorded but not sent: there is nothing at the agency to cancel,
and its personal data has no reason to travel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mppdesk.core.canonical import canonical_json, sha256_hex
from mppdesk.core.changes import Changes, Kind
from mppdesk.core.ids import new_id
from mppdesk.core.permissions import Operation
from mppdesk.core.states import OutboxState, SubmissionStatus
from mppdesk.core.tracking import make_tracking_number, normalize_desk_code
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.visit import IDENTITY_FIELDS, AttachmentInput, ServiceRequest, VisitRequest
from mppdesk.store import repo
from mppdesk.store import review as review_store

log = logging.getLogger(__name__)

REASON_MAX = 1000
CANCEL_ANSWERS = {"_cancel": True}
# A submission in one of these states has nothing left that a correction could change.
FINAL_STATUSES = frozenset({SubmissionStatus.SUPERSEDED, SubmissionStatus.COLLECTED})
# Entry states in which the agency has, or may have, the submission.
REACHED_STATES = frozenset({OutboxState.DONE, OutboxState.IN_FLIGHT})


@dataclass(frozen=True)
class CorrectionDraft:
    """What a correcting visit starts from: the stored submission as it was submitted."""

    supersedes: str  # the submission id the correction replaces
    tracking_number: str  # of the replaced submission (what the officer knows it by)
    service: str
    applicant: dict[str, Any]  # the applicant's stored profile, identity included
    record: dict[str, Any]  # the stored applicant as the counter's look-up returns it
    answers: dict[str, Any]
    checklist: dict[str, str]
    attachments: tuple[tuple[str, str, int, str], ...]  # name, sha256, size, content type
    proxy: dict[str, Any] | None = None
    review_reason: str | None = None  # why a supervisor returned it, if one did

    def request(self, read: Callable[[str], bytes], ticket: str = "") -> VisitRequest:
        """The correction as a visit to finalize unchanged; ``read`` gives an attachment's
        bytes by its SHA-256 (the desk's blob store)."""
        attachments = tuple(
            AttachmentInput(name, read(sha256), content_type)
            for name, sha256, _size, content_type in self.attachments
        )
        return VisitRequest(
            applicant=dict(self.applicant),
            services=(
                ServiceRequest(
                    self.service,
                    dict(self.answers),
                    dict(self.checklist),
                    attachments,
                    self.supersedes,
                ),
            ),
            ticket=ticket,
            proxy=self.proxy,
        )

    def visit_file(self) -> dict[str, Any]:
        """The correction as ``mppdesk intake --input`` reads it (attachment files beside it)."""
        return {
            "ticket": "",
            "applicant": dict(self.applicant),
            "proxy": self.proxy,
            "services": [
                {
                    "service": self.service,
                    "answers": dict(self.answers),
                    "checklist": dict(self.checklist),
                    "attachments": [name for name, _sha, _size, _type in self.attachments],
                    "supersedes": self.supersedes,
                }
            ],
        }


@dataclass(frozen=True)
class CancelOutcome:
    submission_id: str  # the cancellation
    tracking_number: str
    cancels: str  # the cancelled submission's id
    cancels_tracking: str
    sent: bool  # False: the cancelled one never reached an agency, nothing goes out
    withdrawn: int  # outbox entries of the cancelled one withdrawn before sending
    visit_id: str = ""
    agencies: tuple[str, ...] = field(default=())

    @property
    def changes(self) -> Changes:
        return Changes.of(
            Kind.VISITS,
            Kind.OUTBOX,
            Kind.REVIEW,
            submission_ids=[self.submission_id, self.cancels],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "tracking_number": self.tracking_number,
            "cancels": self.cancels,
            "cancels_tracking_number": self.cancels_tracking,
            "sent": self.sent,
            "withdrawn": self.withdrawn,
            "visit_id": self.visit_id,
        }


def find(runtime: Runtime, actor: Actor, reference: str) -> review_store.SourceSubmission:
    """The stored submission ``reference`` (id or tracking number) names, if ``actor`` may
    see it; raises NotFound or PermissionDenied."""
    require(actor, Operation.INTAKE)
    with runtime.store.read() as session:
        submission_id = review_store.resolve(session, reference)
        found = review_store.source(session, submission_id) if submission_id else None
    if found is None:
        raise NotFound.of("error.submission_not_found", submissions=reference.strip()[:40])
    if not actor.may(Operation.VIEW_ALL) and found.desk != runtime.settings.desk.code:
        raise PermissionDenied.of("error.other_desk_submission")
    return found


def check_replaceable(source: review_store.SourceSubmission) -> None:
    """Refuse what a correction or cancellation cannot replace (InvalidInput)."""
    path = "supersedes"
    if source.superseded_by is not None:
        raise InvalidInput(
            [
                FieldError.of(
                    path,
                    "corrections.already_superseded",
                    tracking=source.tracking_number,
                    by=source.superseded_by.tracking_number,
                )
            ]
        )
    if review_store.is_cancellation(source.answers):
        raise InvalidInput(
            [FieldError.of(path, "corrections.is_cancellation", tracking=source.tracking_number)]
        )
    if source.status in FINAL_STATUSES:
        raise InvalidInput(
            [
                FieldError.of(
                    path,
                    "corrections.not_correctable",
                    tracking=source.tracking_number,
                    status=source.status,
                )
            ]
        )
    if source.purged:
        raise InvalidInput(
            [FieldError.of(path, "corrections.purged", tracking=source.tracking_number)]
        )


def correction_of(runtime: Runtime, actor: Actor, reference: str) -> CorrectionDraft:
    """The correcting visit of a stored submission, pre-filled from what was submitted."""
    source = find(runtime, actor, reference)
    check_replaceable(source)
    if source.service not in runtime.catalog.services:
        raise InvalidInput(
            [FieldError.of("service", "corrections.unknown_service", service=source.service)]
        )
    applicant = dict(source.profile)
    identity_field = next(
        (field_id for field_id, kind in IDENTITY_FIELDS if kind == source.id_kind), "nik"
    )
    applicant[identity_field] = source.id_number
    record = {
        "applicant_id": source.applicant_id,
        "name": source.applicant_name,
        "profile": dict(source.profile),
        "changes": [],
    }
    return CorrectionDraft(
        supersedes=source.id,
        tracking_number=source.tracking_number,
        service=source.service,
        applicant=applicant,
        record=record,
        answers={k: v for k, v in source.answers.items() if not k.startswith("_")},
        checklist={
            requirement: state
            for requirement, state in source.checklist.items()
            if state not in ("not_applicable",)
        },
        attachments=source.attachments,
        proxy=source.proxy,
        review_reason=source.review_reason,
    )


def write_visit_file(runtime: Runtime, draft: CorrectionDraft, path: Path) -> list[Path]:
    """Write the correcting visit as a visit file, with its attachments beside it.

    Returns the files written. An attachment file already there with other bytes is refused
    rather than overwritten (the officer's own file).
    """
    folder = path.parent
    written = []
    for name, sha256, _size, _type in draft.attachments:
        target = folder / Path(name).name
        data = runtime.blobs.get(sha256)
        if target.exists():
            if target.read_bytes() != data:
                raise InvalidInput([FieldError.of("attachments", "corrections.file_exists", path=str(target))])
            continue
        target.write_bytes(data)
        written.append(target)
    path.write_text(
        json.dumps(draft.visit_file(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    written.append(path)
    return written


def _clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput([FieldError.of("reason", "corrections.reason_required")])
    if len(text) > REASON_MAX:
        raise InvalidInput(
            [FieldError.of("reason", "corrections.reason_too_long", maximum=REASON_MAX)]
        )
    return text


def cancellation_body(
    original: bytes,
    *,
    submission_id: str,
    tracking_number: str,
    finalized_at: datetime,
    desk: str,
    officer: str,
) -> bytes:
    """The cancellation's frozen body, from the cancelled submission's body as sent.

    The same agency, service, form version and applicant block (so the agency finds what is
    cancelled); new identity, time and officer; no answers but ``_cancel``, no checklist, no
    attachments; ``supersedes`` names the cancelled submission.
    """
    body = json.loads(original)
    cancelled = body["submission_id"]
    body.update(
        submission_id=submission_id,
        tracking_number=tracking_number,
        finalized_at=finalized_at.isoformat(timespec="seconds"),
        desk=desk,
        officer=officer,
        proxy=None,
        supersedes=cancelled,
        answers=dict(CANCEL_ANSWERS),
        checklist=[],
        attachments=[],
    )
    if "fee" in body:
        body["fee"] = None
    return canonical_json(body)


def cancel(runtime: Runtime, actor: Actor, reference: str, reason: str) -> CancelOutcome:
    """Cancel a stored submission: one transaction records the cancellation (its own visit
    and tracking number), supersedes the cancelled one and withdraws what was not sent."""
    text = _clean_reason(reason)
    source = find(runtime, actor, reference)
    check_replaceable(source)
    now = runtime.now()
    local_now = now.astimezone(runtime.tz)
    day = local_now.date()
    desk = runtime.settings.desk.code
    submission_id, visit_id = new_id(), new_id()
    with runtime.store.write() as session:
        # Read again under the write lock: someone may have replaced it meanwhile.
        fresh = review_store.source(session, source.id)
        if fresh is None:
            raise NotFound.of("error.submission_not_found", submissions=source.tracking_number)
        check_replaceable(fresh)
        reached = sorted(
            agency for agency, state in fresh.entry_states.items() if state in REACHED_STATES
        )
        number = repo.next_sequence(
            session, f"tracking:{normalize_desk_code(desk)}:{day:%y%m%d}"
        )
        tracking = make_tracking_number(normalize_desk_code(desk), day, number)
        entries = [
            {
                "id": new_id(),
                "agency": agency,
                "payload": (
                    body := cancellation_body(
                        fresh.payloads[agency],
                        submission_id=submission_id,
                        tracking_number=tracking,
                        finalized_at=local_now,
                        desk=desk,
                        officer=actor.username,
                    )
                ),
                "payload_sha256": sha256_hex(body),
            }
            for agency in reached
        ]
        review_store.insert_cancellation(
            session,
            review_store.Cancellation(
                submission_id=submission_id,
                visit_id=visit_id,
                cancels=fresh,
                tracking_number=tracking,
                desk=desk,
                officer=actor.username,
                at=now,
                local_date=day.isoformat(),
                form_version=_form_version(fresh),
                answers=dict(CANCEL_ANSWERS),
                status=SubmissionStatus.QUEUED if reached else SubmissionStatus.FINALIZED,
                entries=entries,
            ),
        )
        withdrawn = review_store.supersede(session, fresh.id)
        repo.append_audit_batch(
            session,
            actor.username,
            [
                {
                    "action": "submission.cancelled",
                    "object_type": "submission",
                    "object_id": fresh.id,
                    "details": {
                        "tracking_number": fresh.tracking_number,
                        "cancellation": submission_id,
                        "cancellation_tracking_number": tracking,
                        "reason": text,
                        "withdrawn": withdrawn,
                        "sent_to": reached,
                    },
                }
            ],
            at=now,
        )
    log.info(
        "submission %s cancelled by %s as %s (withdrawn %d, sent to %d)",
        fresh.id,
        actor.username,
        submission_id,
        withdrawn,
        len(reached),
    )
    return CancelOutcome(
        submission_id=submission_id,
        tracking_number=tracking,
        cancels=fresh.id,
        cancels_tracking=fresh.tracking_number,
        sent=bool(reached),
        withdrawn=withdrawn,
        visit_id=visit_id,
        agencies=tuple(reached),
    )


def _form_version(source: review_store.SourceSubmission) -> str:
    for body in source.payloads.values():
        version = json.loads(body).get("form_version")
        if isinstance(version, str):
            return version
    return ""


def open_returns(runtime: Runtime, actor: Actor) -> int:
    """Returned submissions of this desk (every desk for a supervisor) not yet corrected."""
    require(actor, Operation.VIEW_OWN)
    desk = None if actor.may(Operation.VIEW_ALL) else runtime.settings.desk.code
    with runtime.store.read() as session:
        return review_store.open_returns(session, desk)
