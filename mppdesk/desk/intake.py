"""Intake: one visit with one or more services, planned whole, stored in one transaction.

The headless visit (``mppdesk intake --input visit.json``, read by :mod:`mppdesk.desk.visit_file`)
and the desk UI both come here. The visit is planned in pure code (:mod:`mppdesk.forms.plan`):
every row, payload and audit event, with the visit's errors and warnings. Then a short write
stores that plan in one transaction — applicant, visit, submissions, checklist states,
attachment references, one outbox entry per submission with its payload frozen as canonical
JSON, and audit events — or nothing is stored, and every problem is reported with the path
of its field.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.permissions import Operation
from mppdesk.desk.attachments import AttachmentInput
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.desk.visit_file import field_errors, parse_visit, text_errors
from mppdesk.forms.plan import PlanContext, StoredApplicant, VisitPlan, VisitRows, plan_visit
from mppdesk.forms.visit import (
    IDENTITY_FIELDS,
    PROXY_KEYS,
    ServiceRequest,
    VisitRequest,
    identity_of,
)
from mppdesk.forms.visit_check import Issue
from mppdesk.store import finalize as finalize_store
from mppdesk.store import review as review_store

__all__ = [
    "IDENTITY_FIELDS",
    "PROXY_KEYS",
    "AttachmentInput",
    "ServiceRequest",
    "SubmissionSummary",
    "VisitRequest",
    "VisitResult",
    "check_visit",
    "finalize_visit",
    "identity_of",
    "parse_visit",
    "plan_for",
    "plan_summary",
    "plan_context",
    "text_errors",
]

log = logging.getLogger(__name__)


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
    # The submissions its corrections replaced (mppdesk.desk.corrections): changed too.
    superseded: tuple[str, ...] = ()

    def as_dict(self, lang: str = "id") -> dict[str, Any]:
        return {
            "visit_id": self.visit_id,
            "applicant_id": self.applicant_id,
            "submissions": [s.as_dict() for s in self.submissions],
            "warnings": [w.as_dict(lang) for w in self.warnings],
        }

    @property
    def changes(self) -> Changes:
        """What a finalize changed, for the views (``mppdesk.core.changes``)."""
        return Changes.of(
            Kind.VISITS,
            Kind.OUTBOX,
            Kind.APPLICANTS,
            Kind.DRAFTS,
            submission_ids=[*(s.submission_id for s in self.submissions), *self.superseded],
        )


# --- plan, then write ------------------------------------------------------------------


def plan_context(runtime: Runtime, actor: Actor) -> PlanContext:
    """What a plan needs from the desk: the time now, its zone and holidays, its settings."""
    now = runtime.now()
    year = now.astimezone(runtime.tz).year
    settings = runtime.settings
    return PlanContext(
        now=now,
        tz=runtime.tz,
        holidays=runtime.holidays(year, year + 1),
        desk=settings.desk.code,
        mpp_name=settings.desk.mpp_name,
        officer=actor.username,
        limits=settings.intake,
    )


def plan_for(
    runtime: Runtime,
    actor: Actor,
    request: VisitRequest,
    *,
    visit_id: str | None = None,
    stored: StoredApplicant | None = None,
) -> VisitPlan:
    """The visit's plan as this desk would store it now (the draft checks with it too)."""
    return plan_visit(
        request, runtime.catalog, plan_context(runtime, actor), stored=stored, visit_id=visit_id
    )


def check_visit(
    runtime: Runtime, actor: Actor, request: VisitRequest, *, visit_id: str | None = None
) -> VisitPlan:
    """The visit's plan if nothing blocks it (``mppdesk intake --check``); else InvalidInput.

    Stores nothing: what only the write can tell (the day's numbers, a correction of a
    submission that is not there) is checked when it is stored.
    """
    require(actor, Operation.INTAKE)
    plan = plan_for(runtime, actor, request, visit_id=visit_id)
    if not plan.ok:
        raise InvalidInput(field_errors(plan.errors))
    return plan


def resolve_supersedes(runtime: Runtime, request: VisitRequest) -> VisitRequest:
    """The request with each ``supersedes`` given as a tracking number turned into the
    submission's id (the body the agency gets names the id); unknown ones stay as typed
    and are refused by the write."""
    if not any(s.supersedes for s in request.services):
        return request
    with runtime.store.read() as session:
        services = tuple(
            dataclasses.replace(
                s, supersedes=review_store.resolve(session, s.supersedes) or s.supersedes
            )
            if s.supersedes
            else s
            for s in request.services
        )
    return dataclasses.replace(request, services=services)


def finalize_visit(
    runtime: Runtime, actor: Actor, request: VisitRequest, *, visit_id: str | None = None
) -> VisitResult:
    """Plan and store a whole visit in one transaction; raises InvalidInput, storing nothing."""
    request = resolve_supersedes(runtime, request)
    plan = check_visit(runtime, actor, request, visit_id=visit_id)
    # Attachment bytes go to content-addressed files first: writing them again is harmless,
    # and a crash before the commit leaves only unreferenced files, never a dangling reference.
    for service in request.services:
        for attachment in service.attachments:
            if isinstance(attachment, AttachmentInput):
                runtime.blobs.put(attachment.data)
    with finalize_store.visit_writer(runtime.store) as writer:
        plan, rows = _write(writer, plan)
    log.info("visit %s finalized with %d submission(s)", plan.visit_id, len(rows.submissions))
    return _result(plan, rows)


def _write(writer: finalize_store.VisitWriter, plan: VisitPlan) -> tuple[VisitPlan, VisitRows]:
    """The plan's write: only what needs the lock is read, then every row goes in."""
    assert plan.applicant is not None
    plan = plan.settled(writer.find_applicant(plan.applicant.id_kind, plan.applicant.id_number))
    assert plan.applicant is not None
    status = writer.visit_status(plan.visit_id)
    superseded = {
        s.supersedes: writer.submission_service(s.supersedes)
        for s in plan.submissions
        if s.supersedes
    }
    refused = plan.write_issues(status, superseded)
    refused = refused or [  # a correction replaces a submission once (desk.corrections)
        Issue(
            f"services[{s.position}].supersedes",
            "corrections.already_superseded",
            {"tracking": s.supersedes, "by": later},
        )
        for s in plan.submissions
        if s.supersedes and (later := writer.superseded_by(s.supersedes))
    ]
    if refused:
        raise InvalidInput(field_errors(refused))
    context = plan.context
    writer.write_applicant(
        plan.applicant, officer=context.officer, visit_id=plan.visit_id, now=context.now
    )
    writer.store_visit(plan.visit_row(), existing=status is not None)
    first = writer.take_numbers(plan.sequence_name, len(plan.submissions))
    rows = plan.rows(first, writer.audit_head())
    writer.insert_rows(rows)
    writer.supersede([s.supersedes for s in plan.submissions if s.supersedes])
    return plan, rows


def plan_summary(plan: VisitPlan, lang: str = "id") -> dict[str, Any]:
    """What ``mppdesk intake --check`` prints: each service as it would be stored, unnumbered."""
    return {
        "ok": plan.ok,
        "services": [
            {
                "service": s.service,
                "agency": s.agency,
                "status": str(s.status),
                "sla_due": s.sla_due.isoformat(),
                "fee": s.fee,
                "missing": list(s.missing),
                "supersedes": s.supersedes,
            }
            for s in plan.submissions
        ],
        "warnings": [w.as_dict(lang) for w in field_errors(plan.warnings)],
        "missing_documents": [d.as_dict(lang) for d in field_errors(plan.missing_documents)],
    }


def _result(plan: VisitPlan, rows: VisitRows) -> VisitResult:
    assert plan.applicant is not None
    summaries = tuple(
        SubmissionSummary(
            s.submission_id,
            s.service,
            s.agency,
            tracking,
            str(s.status),
            s.sla_due,
            s.fee,
            s.missing,
        )
        for s, tracking in zip(plan.submissions, rows.tracking_numbers, strict=True)
    )
    return VisitResult(
        plan.visit_id,
        plan.applicant.id,
        summaries,
        plan.applicant.changed_fields,
        tuple(field_errors(plan.warnings)),
        tuple(s.supersedes for s in plan.submissions if s.supersedes),
    )
