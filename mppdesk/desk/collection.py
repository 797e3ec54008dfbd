"""Collection (pengambilan): the citizen comes back for the product the agency finished.

The officer finds the submission by its tracking number (typed, or scanned from the
receipt's QR code), the desk checks that the agency reports the product ready
(agency status ``completed``), and records who took it: the applicant, identity checked,
or a proxy (kuasa) with their NIK and the reference of the letter of authority. The
submission becomes ``collected`` and the event goes into the audit chain; a product is
handed over once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.masking import mask_nik
from mppdesk.core.messages import Phrase
from mppdesk.core.permissions import Operation
from mppdesk.core.states import AgencyStatus, SubmissionStatus
from mppdesk.core.tracking import TrackingNumberError, normalize_tracking_number
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput, NotFound
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.validators import check_nik
from mppdesk.store import repo, views

log = logging.getLogger(__name__)

TAKER_APPLICANT = "applicant"
TAKER_PROXY = "proxy"
IDENTITY_DOCUMENTS = ("ktp-el", "ikd", "paspor", "kitas", "sim", "lainnya")
_QR_KEY = re.compile(r"(?:^|[?&;\s])(?:tracking|no|nomor)=([^&;\s]+)", re.IGNORECASE)
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class NotReady(InvalidInput):
    """The agency has not reported the product ready, or it was collected already."""


@dataclass(frozen=True)
class CollectionCandidate:
    """What the officer sees before handing the product over."""

    submission_id: str
    tracking_number: str
    service: str
    service_name: str
    agency: str
    agency_name: str
    applicant_name: str
    applicant_id_masked: str
    agency_status: str | None
    agency_ref: str | None
    agency_message: str | None
    status: str
    collected_at: datetime | None
    collected_by: dict[str, Any] | None
    proxy_on_file: dict[str, Any] | None  # the kuasa recorded at intake, if any
    sla_due: date

    @property
    def ready(self) -> bool:
        return self.agency_status == AgencyStatus.COMPLETED and self.collected_at is None

    def why_not_ready(self, tz: Any = None) -> Phrase | None:
        """Why the product cannot be handed over (a catalog message), or None; a time in the
        desk's zone ``tz`` (the officer's clock, not UTC)."""
        if self.collected_at is not None:
            who = (self.collected_by or {}).get("name") or ""
            at = self.collected_at if tz is None else self.collected_at.astimezone(tz)
            return Phrase("error.already_collected", {"when": f"{at:%d-%m-%Y %H:%M}", "who": who})
        if self.agency_status == AgencyStatus.COMPLETED:
            return None
        status = self.agency_status or Phrase("error.not_sent_yet")
        return Phrase("error.not_ready", {"status": status})


@dataclass(frozen=True)
class Collected(CollectionCandidate):
    """The submission as it stands after the hand-over was recorded."""

    @classmethod
    def of(cls, candidate: CollectionCandidate) -> Collected:
        return cls(**{f.name: getattr(candidate, f.name) for f in fields(candidate)})

    @property
    def changes(self) -> Changes:
        return Changes.of(Kind.COLLECTION, submission_ids=[self.submission_id])


@dataclass(frozen=True)
class CollectionRecord:
    """Who took the product. For the applicant, the identity document was checked; for a
    proxy, their NIK and the letter of authority (surat kuasa) reference are required."""

    taker: str  # TAKER_APPLICANT | TAKER_PROXY
    identity_checked: bool = False
    identity_document: str = "ktp-el"
    proxy_name: str = ""
    proxy_nik: str = ""
    letter_reference: str = ""
    note: str = ""


def read_tracking_input(text: str) -> str:
    """The tracking number inside what was typed or scanned; raises InvalidInput.

    A QR scan may carry a URL or ``key=value`` text around the number; look-alike letters
    (O for 0, I or L for 1) are read as digits, because the tracking alphabet has none.
    """
    raw = text.strip()
    match = _QR_KEY.search(raw)
    if match:
        raw = match.group(1)
    else:
        raw = raw.rsplit("/", 1)[-1]  # a URL ending in the number
    cleaned = re.sub(r"\s+", "", raw).upper().translate(_LOOKALIKES)
    try:
        return normalize_tracking_number(cleaned)
    except TrackingNumberError as exc:
        raise InvalidInput(
            [
                FieldError.of(
                    "tracking_number",
                    "error.tracking_invalid",
                    reason=Phrase(f"error.tracking_reason.{exc.reason}"),
                )
            ]
        ) from exc


def find_for_collection(runtime: Runtime, actor: Actor, text: str) -> CollectionCandidate:
    """Look up a submission for hand-over; raises InvalidInput (bad number) or NotFound."""
    require(actor, Operation.COLLECT)
    tracking = read_tracking_input(text)
    with runtime.store.read() as session:
        submission = views.find_by_tracking(session, tracking)
        if submission is None:
            raise NotFound.of("error.tracking_not_found", tracking=tracking)
        identity = views.applicant_identity(session, submission.applicant_id)
        proxy = views.visit_proxy(session, submission.visit_id)
        name, kind, number = identity or ("", "", "")
        catalog = runtime.catalog
        service = catalog.services.get(submission.service)
        agency = catalog.agencies.get(submission.agency)
        return CollectionCandidate(
            submission_id=submission.id,
            tracking_number=submission.tracking_number,
            service=submission.service,
            service_name=service.name.id if service is not None else submission.service,
            agency=submission.agency,
            agency_name=agency.name.id if agency is not None else submission.agency,
            applicant_name=name,
            applicant_id_masked=mask_nik(number) if kind == "nik" else number,
            agency_status=submission.agency_status,
            agency_ref=submission.agency_ref,
            agency_message=submission.agency_message,
            status=submission.status,
            collected_at=submission.collected_at,
            collected_by=dict(submission.collected_by) if submission.collected_by else None,
            proxy_on_file=proxy,
            sla_due=submission.sla_due,
        )


def check_record(record: CollectionRecord, today: date | None = None) -> list[FieldError]:
    """Everything wrong with a collection record, each naming its field."""
    errors: list[FieldError] = []
    if record.taker not in (TAKER_APPLICANT, TAKER_PROXY):
        errors.append(
            FieldError.of("taker", "error.taker_choose")
        )
        return errors
    if record.identity_document not in IDENTITY_DOCUMENTS:
        errors.append(
            FieldError.of("identity_document", "error.identity_document_unknown")
        )
    if record.taker == TAKER_APPLICANT:
        if not record.identity_checked:
            errors.append(
                FieldError.of("identity_checked", "error.identity_check_applicant")
            )
        return errors
    if not record.proxy_name.strip():
        errors.append(
            FieldError.of("proxy_name", "error.proxy_name_required")
        )
    nik = check_nik(record.proxy_nik, today=today)
    if not nik.ok:
        assert nik.error is not None
        errors.append(FieldError.of("proxy_nik", nik.error.code, **nik.error.params))
    if not record.letter_reference.strip():
        errors.append(
            FieldError.of("letter_reference", "error.letter_reference_required")
        )
    if not record.identity_checked:
        errors.append(
            FieldError.of("identity_checked", "error.identity_check_proxy")
        )
    return errors


def record_collection(
    runtime: Runtime, actor: Actor, tracking_number: str, record: CollectionRecord
) -> Collected:
    """Record the hand-over; the submission becomes ``collected``. Raises InvalidInput,
    NotReady (not completed by the agency, or collected already) or NotFound."""
    require(actor, Operation.COLLECT)
    errors = check_record(record, runtime.local_today())
    if errors:
        raise InvalidInput(errors)
    tracking = read_tracking_input(tracking_number)
    now = runtime.now()
    with runtime.store.write() as session:
        submission = views.find_by_tracking(session, tracking)
        if submission is None:
            raise NotFound.of("error.tracking_not_found", tracking=tracking)
        if submission.collected_at is not None or submission.agency_status != (
            AgencyStatus.COMPLETED
        ):
            candidate = _candidate_without_lookup(submission)
            reason = candidate.why_not_ready(runtime.tz) or Phrase(
                "error.not_ready", {"status": ""}
            )
            raise NotReady([FieldError.of("tracking_number", reason.code, **reason.params)])
        if record.taker == TAKER_APPLICANT:
            identity = views.applicant_identity(session, submission.applicant_id)
            name = identity[0] if identity else ""
            who: dict[str, Any] = {
                "taker": TAKER_APPLICANT,
                "name": name,
                "identity_document": record.identity_document,
                "identity_checked": True,
            }
        else:
            who = {
                "taker": TAKER_PROXY,
                "name": " ".join(record.proxy_name.split()),
                "nik": check_nik(record.proxy_nik).value,
                "identity_document": record.identity_document,
                "identity_checked": True,
                "letter_reference": record.letter_reference.strip(),
            }
        if record.note.strip():
            who["note"] = record.note.strip()[:500]
        who["officer"] = actor.username
        who["desk"] = runtime.settings.desk.code
        if not views.record_collected(session, submission.id, SubmissionStatus.COLLECTED, now, who):
            raise NotReady(
                [
                    FieldError.of("tracking_number", "error.just_collected")
                ]
            )
        audit = {k: v for k, v in who.items() if k != "nik"}
        if "nik" in who:
            audit["nik_masked"] = mask_nik(who["nik"])
        repo.append_audit(
            session,
            actor=actor.username,
            action="submission.collected",
            object_type="submission",
            object_id=submission.id,
            details={"tracking_number": tracking, **audit},
            at=now,
        )
        submission_id = submission.id
    log.info("submission %s collected (%s)", submission_id, record.taker)
    return Collected.of(find_for_collection(runtime, actor, tracking))


def _candidate_without_lookup(submission: Any) -> CollectionCandidate:
    return CollectionCandidate(
        submission_id=submission.id,
        tracking_number=submission.tracking_number,
        service=submission.service,
        service_name=submission.service,
        agency=submission.agency,
        agency_name=submission.agency,
        applicant_name="",
        applicant_id_masked="",
        agency_status=submission.agency_status,
        agency_ref=submission.agency_ref,
        agency_message=submission.agency_message,
        status=submission.status,
        collected_at=submission.collected_at,
        collected_by=dict(submission.collected_by) if submission.collected_by else None,
        proxy_on_file=None,
        sla_due=submission.sla_due,
    )
