"""Intake: one visit with one or more services, validated whole, stored in one transaction.

The headless visit (``mppdesk intake --input visit.json``) and the desk UI both come here:

    {"ticket": "A-017",
     "applicant": {"nik": "...", "nama": "...", ...},        shared fields, typed once
     "proxy": null | {"nama": ..., "nik": ..., "hubungan": ...},
     "services": [{"service": "dukcapil/ktp-el", "answers": {...},
                   "checklist": {"fc-kk": "copy"}, "attachments": ["scan-kk.pdf"],
                   "supersedes": null}]}

Either everything is stored — applicant, visit, submissions, checklist states, attachment
references, one outbox entry per submission with its payload frozen as canonical JSON, and
audit events — or nothing is, and every problem is reported with the path of its field.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mppdesk.core.audit_chain import event_hash
from mppdesk.core.calendar import add_working_days
from mppdesk.core.canonical import canonical_json, sha256_hex
from mppdesk.core.filetypes import ACCEPTED_LABEL, sniff_content_type
from mppdesk.core.ids import new_id
from mppdesk.core.permissions import Operation
from mppdesk.core.states import (
    SATISFIED_CHECKLIST_STATES,
    ChecklistState,
    OutboxState,
    SubmissionStatus,
)
from mppdesk.core.tracking import make_tracking_number, normalize_desk_code
from mppdesk.desk.attachments import AttachmentInput, AttachmentRefused, read_attachment
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.forms import engine
from mppdesk.forms.safe_text import text_problems
from mppdesk.settings import IntakeSettings
from mppdesk.store import finalize as finalize_store

log = logging.getLogger(__name__)

IDENTITY_FIELDS = (("nik", "nik"), ("no_kitas", "kitas"), ("no_paspor", "paspor"))
PROXY_KEYS = {"nama", "nik", "hubungan", "no_hp", "no_surat_kuasa"}


@dataclass(frozen=True)
class ServiceRequest:
    service: str
    answers: Mapping[str, Any] = field(default_factory=dict)
    checklist: Mapping[str, str] = field(default_factory=dict)
    attachments: Sequence[AttachmentInput] = ()
    supersedes: str | None = None


@dataclass(frozen=True)
class VisitRequest:
    applicant: Mapping[str, Any]
    services: Sequence[ServiceRequest]
    ticket: str = ""
    proxy: Mapping[str, Any] | None = None
    ticket_at: datetime | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class SubmissionSummary:
    submission_id: str
    service: str
    agency: str
    tracking_number: str
    status: str
    sla_due: date
    fee: int | None
    missing: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "service": self.service,
            "agency": self.agency,
            "tracking_number": self.tracking_number,
            "status": self.status,
            "sla_due": self.sla_due.isoformat(),
            "fee": self.fee,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class VisitResult:
    visit_id: str
    applicant_id: str
    submissions: tuple[SubmissionSummary, ...]
    applicant_changes: tuple[str, ...]
    # What the engine doubts but does not block (a NIK contradicting the birth date or sex):
    # stored anyway, so the officer must hear of it.
    warnings: tuple[FieldError, ...] = ()

    def as_dict(self, lang: str = "id") -> dict[str, Any]:
        return {
            "visit_id": self.visit_id,
            "applicant_id": self.applicant_id,
            "submissions": [s.as_dict() for s in self.submissions],
            "warnings": [w.as_dict(lang) for w in self.warnings],
        }


# --- parsing the headless visit -------------------------------------------------------


def text_errors(value: Any, path: str) -> list[FieldError]:
    """The visit's one text rule (mppdesk.forms.safe_text) as field errors."""
    return [
        FieldError(where, f"Teks {text_id}", f"Text {text_en}")
        for where, text_id, text_en in text_problems(value, path)
    ]


def parse_visit(
    document: Any, base_dir: Path | None = None, limits: IntakeSettings | None = None
) -> VisitRequest:
    """Turn the visit JSON into a VisitRequest; attachments are read from inside base_dir.

    ``base_dir`` is the visit file's folder for ``mppdesk intake``: an attachment outside it
    (or a link out of it) is refused. ``limits`` bound the attachments' size and count.
    """
    limits = limits or IntakeSettings()
    errors: list[FieldError] = []
    if not isinstance(document, dict):
        raise InvalidInput(
            [FieldError("", "Kunjungan harus berupa objek JSON", "A visit must be a JSON object")]
        )
    # Text and nesting first: every later message may quote a value, and a quoted lone
    # surrogate would break the very error output that reports it.
    refused_text = text_errors(document, "")
    if refused_text:
        raise InvalidInput(refused_text)
    budget = _AttachmentBudget(limits)
    unknown = set(document) - {"ticket", "applicant", "proxy", "services"}
    for key in sorted(unknown):
        errors.append(FieldError(key or "\"\"", "Kunci tidak dikenal", "Unknown key"))
    ticket = document.get("ticket") or ""
    if not isinstance(ticket, str) or len(ticket) > 32:
        errors.append(
            FieldError(
                "ticket", "Nomor antrean harus teks (maks. 32)", "Ticket must be text (max. 32)"
            )
        )
        ticket = ""
    applicant = document.get("applicant")
    if not isinstance(applicant, dict):
        errors.append(
            FieldError("applicant", "Data pemohon wajib diisi", "Applicant data is required")
        )
        applicant = {}
    proxy = document.get("proxy")
    if proxy is not None:
        if not isinstance(proxy, dict):
            errors.append(
                FieldError(
                    "proxy", "Kuasa harus berupa objek atau null", "Proxy must be an object or null"
                )
            )
            proxy = None
        else:
            for key in sorted(set(proxy) - PROXY_KEYS):
                errors.append(FieldError(f"proxy.{key}", "Kunci tidak dikenal", "Unknown key"))
            errors.extend(_proxy_errors(proxy))
    raw_services = document.get("services")
    services: list[ServiceRequest] = []
    if not isinstance(raw_services, list) or not raw_services:
        errors.append(
            FieldError("services", "Minimal satu layanan", "At least one service is required")
        )
        raw_services = []
    for i, raw in enumerate(raw_services):
        where = f"services[{i}]"
        if not isinstance(raw, dict):
            errors.append(
                FieldError(where, "Layanan harus berupa objek", "A service must be an object")
            )
            continue
        for key in sorted(
            set(raw) - {"service", "answers", "checklist", "attachments", "supersedes"}
        ):
            errors.append(FieldError(f"{where}.{key}", "Kunci tidak dikenal", "Unknown key"))
        code = raw.get("service")
        if not isinstance(code, str) or not code:
            errors.append(
                FieldError(
                    f"{where}.service", "Kode layanan wajib diisi", "Service code is required"
                )
            )
            continue
        answers = raw.get("answers") or {}
        if not isinstance(answers, dict):
            errors.append(
                FieldError(
                    f"{where}.answers", "Jawaban harus berupa objek", "Answers must be an object"
                )
            )
            answers = {}
        checklist = raw.get("checklist") or {}
        if not isinstance(checklist, dict) or not all(
            isinstance(v, str) for v in checklist.values()
        ):
            errors.append(
                FieldError(
                    f"{where}.checklist",
                    "Daftar periksa harus objek id → status",
                    "Checklist must map id → state",
                )
            )
            checklist = {}
        supersedes = raw.get("supersedes")
        if supersedes is not None and not isinstance(supersedes, str):
            errors.append(
                FieldError(f"{where}.supersedes", "Harus id permohonan", "Must be a submission id")
            )
            supersedes = None
        attachments = []
        names = raw.get("attachments") or []
        if not isinstance(names, list):
            errors.append(
                FieldError(
                    f"{where}.attachments",
                    "Lampiran harus daftar nama berkas",
                    "Attachments must be a list of file names",
                )
            )
            names = []
        for j, name in enumerate(names):
            attachment = budget.read(name, base_dir, f"{where}.attachments[{j}]", errors)
            if attachment is not None:
                attachments.append(attachment)
        services.append(ServiceRequest(code, answers, checklist, tuple(attachments), supersedes))
    if errors:
        raise InvalidInput(errors)
    return VisitRequest(applicant=applicant, services=tuple(services), ticket=ticket, proxy=proxy)


def _proxy_errors(proxy: Mapping[str, Any]) -> list[FieldError]:
    """The person acting for the applicant: a name, and a valid NIK when one is given."""
    from mppdesk.forms.validators import check_nik

    errors = []
    for key, value in proxy.items():
        if key in PROXY_KEYS and value is not None and not isinstance(value, str):
            errors.append(FieldError(f"proxy.{key}", "Harus berupa teks", "Must be text"))
    name = proxy.get("nama")
    if not isinstance(name, str) or not name.strip():
        errors.append(
            FieldError("proxy.nama", "Nama kuasa wajib diisi", "The proxy's name is required")
        )
    nik = proxy.get("nik")
    if isinstance(nik, str) and nik.strip():
        checked = check_nik(nik)
        if not checked.ok:
            errors.append(FieldError("proxy.nik", checked.error.id, checked.error.en))
    return errors


class _AttachmentBudget:
    """Reads a visit's attachment files within the per-file, per-visit and count limits."""

    def __init__(self, limits: IntakeSettings):
        self.limits = limits
        self.count = 0
        self.total = 0

    def read(
        self, name: Any, base_dir: Path | None, where: str, errors: list[FieldError]
    ) -> AttachmentInput | None:
        self.count += 1
        if self.count > self.limits.max_attachments:
            errors.append(_too_many_error(where, self.limits))
            return None
        remaining = self.limits.max_visit_attachment_bytes - self.total
        try:
            attachment = read_attachment(
                name, base_dir, max_bytes=max(0, min(self.limits.max_attachment_bytes, remaining))
            )
        except AttachmentRefused as refused:
            if refused.too_large and remaining < self.limits.max_attachment_bytes:
                errors.append(_visit_total_error(where, self.limits))
            else:
                errors.append(FieldError(where, refused.message, refused.message_en))
            return None
        self.total += len(attachment.data)
        return attachment


def _too_many_error(where: str, limits: IntakeSettings) -> FieldError:
    return FieldError(
        where,
        f"Terlalu banyak lampiran (maks. {limits.max_attachments} per kunjungan)",
        f"Too many attachments (max. {limits.max_attachments} per visit)",
    )


def _visit_total_error(where: str, limits: IntakeSettings) -> FieldError:
    return FieldError(
        where,
        f"Total lampiran kunjungan melebihi {limits.max_visit_attachment_bytes} byte",
        f"The visit's attachments exceed {limits.max_visit_attachment_bytes} bytes in total",
    )


# --- validation -----------------------------------------------------------------------


@dataclass
class _CheckedService:
    request: ServiceRequest
    result: Any  # engine.FormResult


def identity_of(applicant: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, number) keying the applicant: NIK for citizens, KITAS/KITAP or passport else."""
    for field_id, kind in IDENTITY_FIELDS:
        value = applicant.get(field_id)
        if isinstance(value, str) and value.strip():
            return kind, value
    return None


def _field_error(entry: Any, prefix: str = "") -> FieldError:
    message = entry.message
    text_id = message.id if message is not None else str(entry.status)
    text_en = message.en if message is not None else str(entry.status)
    return FieldError(f"{prefix}{entry.path}", text_id, text_en)


def check_visit(
    runtime: Runtime, request: VisitRequest
) -> tuple[Any, list[_CheckedService], list[FieldError], list[FieldError]]:
    """Validate a whole visit. Returns (profile result, per-service results, errors, warnings)."""
    catalog = runtime.catalog
    today = runtime.local_today()
    errors: list[FieldError] = []
    warnings: list[FieldError] = []
    seen_paths: set[str] = set()

    # The desk's form reaches here without parse_visit: the same text rule applies to it.
    errors += text_errors(request.ticket, "ticket")
    errors += text_errors(dict(request.applicant), "applicant")
    if request.proxy is not None:
        errors += text_errors(dict(request.proxy), "proxy")
    for i, service_request in enumerate(request.services):
        where = f"services[{i}]"
        errors += text_errors(service_request.service, f"{where}.service")
        errors += text_errors(dict(service_request.answers), f"{where}.answers")
        errors += text_errors(dict(service_request.checklist), f"{where}.checklist")
        for j, attachment in enumerate(service_request.attachments):
            errors += text_errors(attachment.name, f"{where}.attachments[{j}]")
    if errors:
        return None, [], errors, []
    errors += _attachment_limit_errors(request, runtime.settings.intake)

    def collect(entries: Sequence[Any], prefix_for: Any) -> None:
        for entry in entries:
            path = entry.path
            prefix = "" if path.startswith("applicant.") else prefix_for
            error = _field_error(entry, prefix)
            if error.path in seen_paths:
                continue
            seen_paths.add(error.path)
            (warnings if entry.status == engine.EntryStatus.WARNING else errors).append(error)

    profile = engine.evaluate_shared(catalog, request.applicant, None, today=today)
    collect(profile.entries, "")
    if identity_of(profile.applicant) is None and identity_of(request.applicant) is None:
        errors.append(
            FieldError(
                "applicant.nik",
                "NIK wajib diisi (untuk WNA: no_paspor atau no_kitas)",
                "NIK is required (for foreigners: no_paspor or no_kitas)",
            )
        )
    checked: list[_CheckedService] = []
    for i, service_request in enumerate(request.services):
        prefix = f"services[{i}]."
        if service_request.service not in catalog.services:
            errors.append(
                FieldError(
                    f"services[{i}].service",
                    f"Layanan tidak dikenal: {service_request.service}",
                    f"Unknown service: {service_request.service}",
                )
            )
            continue
        result = engine.evaluate(
            catalog,
            service_request.service,
            request.applicant,
            service_request.answers,
            service_request.checklist,
            today=today,
        )
        collect(result.entries, prefix)
        names = [a.name for a in service_request.attachments]
        for duplicate in sorted({n for n in names if names.count(n) > 1}):
            errors.append(
                FieldError(
                    f"{prefix}attachments",
                    f"Nama lampiran ganda: {duplicate}",
                    f"Duplicate attachment name: {duplicate}",
                )
            )
        checked.append(_CheckedService(service_request, result))
    return profile, checked, errors, warnings


def _attachment_limit_errors(request: VisitRequest, limits: IntakeSettings) -> list[FieldError]:
    """Count, size and type of every attachment, whoever read it (visit file or desk form)."""
    errors: list[FieldError] = []
    count = total = 0
    for i, service_request in enumerate(request.services):
        for j, attachment in enumerate(service_request.attachments):
            where = f"services[{i}].attachments[{j}]"
            count += 1
            total += len(attachment.data)
            if count > limits.max_attachments:
                errors.append(_too_many_error(where, limits))
            elif len(attachment.data) > limits.max_attachment_bytes:
                errors.append(
                    FieldError(
                        where,
                        f"Berkas terlalu besar (maks. {limits.max_attachment_bytes} byte)",
                        f"File too large (max. {limits.max_attachment_bytes} bytes)",
                    )
                )
            elif total > limits.max_visit_attachment_bytes:
                errors.append(_visit_total_error(where, limits))
            elif sniff_content_type(attachment.data[:16]) is None:
                errors.append(
                    FieldError(
                        where,
                        f"Jenis berkas tidak diterima (hanya {ACCEPTED_LABEL})",
                        f"File type not accepted (only {ACCEPTED_LABEL})",
                    )
                )
    return errors


# --- finalize -------------------------------------------------------------------------
#
# Validate, plan every row in pure code, then one short write of the plan: inside the write
# transaction only what needs the lock happens (the applicant's stored profile, the visit's
# state, the day's tracking numbers, the audit chain's head) and the rows go in with one
# executemany per table (mppdesk.store.finalize).


@dataclass(frozen=True)
class _PlannedSubmission:
    """One service of the visit, planned before the write; only its number is missing."""

    submission_id: str
    service: str
    agency: str
    form_version: str
    status: SubmissionStatus
    held: bool
    sla_due: date
    fee: int | None
    answers: dict[str, Any]
    supersedes: str | None
    checklist: tuple[finalize_store.ChecklistRow, ...]
    attachments: tuple[finalize_store.AttachmentRow, ...]
    # canonical_json of the agency payload without its tracking number (see _frozen_payload)
    payload_head: bytes
    missing: tuple[str, ...]


# The tracking number sorts after every other key of the payload, so the canonical bytes of
# the whole payload are those without it plus this last member: the payload is canonicalised
# once, before the write, and the number taken under the write lock is spliced in.
_TRACKING_KEY = "tracking_number"


def _frozen_payload(head: bytes, tracking: str) -> bytes:
    """canonical_json(payload) from canonical_json(payload without its tracking number)."""
    return head[:-1] + b',"' + _TRACKING_KEY.encode() + b'":' + canonical_json(tracking) + b"}"


def _plan_submission(
    runtime: Runtime,
    actor: Actor,
    request: VisitRequest,
    item: _CheckedService,
    local_now: datetime,
    holidays: frozenset[date],
) -> _PlannedSubmission:
    catalog = runtime.catalog
    settings = runtime.settings
    service = catalog.service(item.request.service)
    result = item.result
    submission_id = new_id()
    held = service.requires_approval
    checklist: list[finalize_store.ChecklistRow] = []
    checklist_payload = []
    missing = []
    for index, requirement in enumerate(result.requirements):
        state = requirement.state
        if not requirement.applies:
            state = ChecklistState.NOT_APPLICABLE
        elif state is None:
            state = ChecklistState.MISSING
        checklist.append(
            finalize_store.ChecklistRow(
                submission_id, requirement.id, index, requirement.applies, str(state)
            )
        )
        checklist_payload.append({"id": requirement.id, "state": str(state)})
        if (
            requirement.applies
            and state not in SATISFIED_CHECKLIST_STATES
            and (state != ChecklistState.NOT_APPLICABLE)
        ):
            missing.append(requirement.id)
    attachments: list[finalize_store.AttachmentRow] = []
    attachment_payload = []
    for attachment in item.request.attachments:
        row = finalize_store.AttachmentRow(
            submission_id,
            attachment.name,
            sha256_hex(attachment.data),
            len(attachment.data),
            attachment.content_type,
        )
        attachments.append(row)
        attachment_payload.append(
            {"name": row.name, "sha256": row.sha256, "size": row.size,
             "content_type": row.content_type}
        )
    form_version = catalog.form_version(service.code)
    payload = {
        "submission_id": submission_id,
        "agency": service.agency,
        "service": service.code,
        "form_version": form_version,
        "finalized_at": local_now.isoformat(timespec="seconds"),
        "mpp": settings.desk.mpp_name,
        "desk": settings.desk.code,
        "officer": actor.username,
        "applicant": result.applicant,
        "proxy": dict(request.proxy) if request.proxy else None,
        "supersedes": item.request.supersedes,
        "answers": result.answers,
        "checklist": checklist_payload,
        "attachments": attachment_payload,
    }
    if max(payload) > _TRACKING_KEY:  # a bug of this module, caught by any finalize test
        raise RuntimeError("the tracking number must stay the payload's last key")
    return _PlannedSubmission(
        submission_id=submission_id,
        service=service.code,
        agency=service.agency,
        form_version=form_version,
        status=SubmissionStatus.HELD if held else SubmissionStatus.QUEUED,
        held=held,
        sla_due=add_working_days(local_now.date(), result.sla_working_days, holidays),
        fee=result.fee,
        answers=result.answers,
        supersedes=item.request.supersedes,
        checklist=tuple(checklist),
        attachments=tuple(attachments),
        payload_head=canonical_json(payload),
        missing=tuple(missing),
    )


def finalize_visit(
    runtime: Runtime, actor: Actor, request: VisitRequest, *, visit_id: str | None = None
) -> VisitResult:
    """Validate and store a whole visit in one transaction; raises InvalidInput, storing nothing."""
    require(actor, Operation.INTAKE)
    profile, checked, errors, warnings = check_visit(runtime, request)
    if errors:
        raise InvalidInput(errors)
    settings = runtime.settings
    # Loading settings normalises the code already; settings built in code may not be, and the
    # day's sequence must have one key per desk, or k01 restarts K01's counter (IntegrityError).
    desk_code = normalize_desk_code(settings.desk.code)
    now = runtime.now()
    local_now = now.astimezone(runtime.tz)
    local_day = local_now.date()
    holidays = runtime.holidays(local_day.year, local_day.year + 1)
    identity = identity_of(profile.applicant) or identity_of(request.applicant)
    assert identity is not None
    visit_id = visit_id or new_id()
    planned = [
        _plan_submission(runtime, actor, request, item, local_now, holidays) for item in checked
    ]
    proxy = dict(request.proxy) if request.proxy else None
    officer = actor.username

    # Attachment bytes go to content-addressed files first: writing them again is harmless,
    # and a crash before the commit leaves only unreferenced files, never a dangling reference.
    for item in checked:
        for attachment in item.request.attachments:
            runtime.blobs.put(attachment.data)

    with finalize_store.visit_writer(runtime.store) as writer:
        applicant, changes = writer.save_applicant(
            new_id=new_id(),
            id_kind=identity[0],
            id_number=identity[1],
            profile=profile.applicant,
            officer=officer,
            visit_id=visit_id,
            now=now,
        )
        status_before = writer.visit_status(visit_id)
        if status_before is not None and status_before != "draft":
            raise InvalidInput(
                [
                    FieldError(
                        "visit",
                        "Kunjungan ini sudah diselesaikan",
                        "This visit is already finalized",
                    )
                ]
            )
        writer.store_visit(
            finalize_store.VisitRow(
                id=visit_id,
                ticket=request.ticket,
                desk=settings.desk.code,
                officer=officer,
                applicant_id=applicant.id,
                proxy=proxy,
                status="finalized",
                draft=None,
                ticket_at=request.ticket_at,
                started_at=request.started_at or now,
                finalized_at=now,
                local_date=local_day.isoformat(),
                updated_at=now,
            ),
            existing=status_before is not None,
        )
        for position, plan in enumerate(planned):
            if plan.supersedes:
                _check_supersedes(writer, plan.supersedes, plan.service, position)
        first = writer.take_numbers(f"tracking:{desk_code}:{local_day:%y%m%d}", len(planned))
        submissions, outbox, events, summaries = [], [], [], []
        for position, plan in enumerate(planned):
            tracking = make_tracking_number(desk_code, local_day, first + position)
            body = _frozen_payload(plan.payload_head, tracking)
            body_hash = sha256_hex(body)
            submissions.append(
                finalize_store.SubmissionRow(
                    plan.submission_id, visit_id, position, plan.service, plan.agency,
                    tracking, plan.form_version, str(plan.status), "unreviewed", applicant.id,
                    plan.answers, plan.fee, plan.sla_due, now, local_day.isoformat(), officer,
                    plan.supersedes,
                )
            )
            outbox.append(
                finalize_store.OutboxRow(
                    new_id(), plan.submission_id, plan.agency,
                    str(OutboxState.HELD if plan.held else OutboxState.PENDING),
                    body, body_hash, 0, now, None if plan.held else now, {},
                )
            )
            events.append(
                ("submission.finalized", "submission", plan.submission_id,
                 {"tracking_number": tracking, "service": plan.service,
                  "status": str(plan.status), "payload_sha256": body_hash})
            )
            summaries.append(
                SubmissionSummary(
                    plan.submission_id, plan.service, plan.agency, tracking, str(plan.status),
                    plan.sla_due, plan.fee, plan.missing,
                )
            )
        if changes:
            events.append(
                ("applicant.updated", "applicant", applicant.id,
                 {"fields": sorted(c[0] for c in changes)})
            )
        events.append(
            ("visit.finalized", "visit", visit_id,
             # The paths the engine warned about, kept with the visit's record.
             {"ticket": request.ticket, "submissions": len(summaries),
              "warnings": [w.path for w in warnings]})
        )
        writer.insert_rows(
            submissions=submissions,
            checklist=[row for plan in planned for row in plan.checklist],
            attachments=[row for plan in planned for row in plan.attachments],
            outbox=outbox,
            audit=_chained(writer.audit_head(), officer, now, events),
        )
    log.info("visit %s finalized with %d submission(s)", visit_id, len(summaries))
    return VisitResult(
        visit_id,
        applicant.id,
        tuple(summaries),
        tuple(sorted(c[0] for c in changes)),
        tuple(warnings),
    )


def _chained(
    prev: str, actor: str, at: datetime, events: Sequence[tuple[str, str, str, dict[str, Any]]]
) -> list[finalize_store.AuditRow]:
    """The operation's audit events, each hashed over the one before it (the chain's head)."""
    rows = []
    for action, object_type, object_id, details in events:
        digest = event_hash(prev, at, actor, action, object_type, object_id, details)
        rows.append(
            finalize_store.AuditRow(at, actor, action, object_type, object_id, details, prev, digest)
        )
        prev = digest
    return rows


def _check_supersedes(
    writer: finalize_store.VisitWriter, submission_id: str, service_code: str, position: int
) -> None:
    earlier_service = writer.submission_service(submission_id)
    where = f"services[{position}].supersedes"
    if earlier_service is None:
        raise InvalidInput(
            [
                FieldError(
                    where,
                    f"Permohonan yang dikoreksi tidak ditemukan: {submission_id}",
                    f"Superseded submission not found: {submission_id}",
                )
            ]
        )
    if earlier_service != service_code:
        raise InvalidInput(
            [
                FieldError(
                    where,
                    "Koreksi harus untuk layanan yang sama",
                    "A correction must be for the same service",
                )
            ]
        )
