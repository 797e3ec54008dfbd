"""The visit plan: from one visit, the catalog and the looked-up applicant to every row to store.

Pure: no store, no files, no clock but the ``now`` it is given. The desk's draft checks the
visit with it while the officer types (its errors and warnings are the summary's), the
headless intake and the desk's finalize write what it planned, and the mall hub can plan the
same visit again. The visit is checked first (:mod:`mppdesk.forms.visit_check`).

Only four things wait for the write lock, and the plan leaves a place for each: the
applicant's stored profile (planned against what was looked up; ``VisitPlan.settled`` plans
it again if the store holds something else by then), the visit's state and the superseded
submissions (``VisitPlan.write_issues``), the day's tracking numbers and the audit chain's
head (``VisitPlan.rows``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from mppdesk.core.audit_chain import event_hash
from mppdesk.core.calendar import add_working_days
from mppdesk.core.canonical import canonical_json, sha256_hex
from mppdesk.core.ids import new_id
from mppdesk.core.states import (
    ChecklistState,
    OutboxState,
    SubmissionStatus,
)
from mppdesk.core.tracking import make_tracking_number, normalize_desk_code
from mppdesk.forms import engine
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.rows import (
    AttachmentRow,
    AuditRow,
    ChecklistRow,
    OutboxRow,
    SubmissionRow,
    VisitRow,
)
from mppdesk.forms.visit import ServiceRequest, VisitRequest, identity_of
from mppdesk.forms.visit_check import (
    Issue,
    VisitCheck,
    check_request,
    missing_requirements,
)
from mppdesk.settings import IntakeSettings

# --- the applicant -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredApplicant:
    """The applicant as the store holds it, looked up by identity (None: not stored yet)."""

    id: str
    name: str
    profile: Mapping[str, Any]


def merge_profile(
    stored: Mapping[str, Any] | None, typed: Mapping[str, Any]
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """The stored profile with the values typed now; (field, old, new) for each change.

    Values typed now win; fields not typed in this visit keep their stored value (satu data).
    """
    merged = dict(stored or {})
    changes: list[tuple[str, Any, Any]] = []
    for field_id, value in typed.items():
        old = merged.get(field_id)
        if old != value:
            changes.append((field_id, old, value))
            merged[field_id] = value
    return merged, changes


@dataclass(frozen=True)
class ApplicantPlan:
    """The applicant's upsert: a new row, or the stored one with what changed now."""

    id: str
    id_kind: str
    id_number: str
    typed: Mapping[str, Any]  # the profile values typed in this visit
    stored: StoredApplicant | None  # what the plan was made against
    profile: Mapping[str, Any]  # the profile to store
    name: str
    changes: tuple[tuple[str, Any, Any], ...]  # (field, old, new)
    renamed: bool  # the name (and its search words) changes

    @property
    def is_new(self) -> bool:
        return self.stored is None

    @property
    def changed_fields(self) -> tuple[str, ...]:
        return tuple(sorted(c[0] for c in self.changes))


def plan_applicant(
    identity: tuple[str, str],
    profile: Mapping[str, Any],
    stored: StoredApplicant | None,
    new_applicant_id: str,
) -> ApplicantPlan:
    """Create the applicant, or merge what was typed now into the stored profile."""
    typed = {k: v for k, v in profile.items() if v not in (None, "", [])}
    kind, number = identity
    if stored is None:
        name = str(typed.get("nama", ""))
        return ApplicantPlan(
            new_applicant_id, kind, number, typed, None, dict(typed), name, (), False
        )
    merged, changes = merge_profile(stored.profile, typed)
    renamed = bool(changes) and "nama" in typed and typed["nama"] != stored.name
    name = str(typed["nama"]) if renamed else stored.name
    return ApplicantPlan(
        stored.id, kind, number, typed, stored, merged, name, tuple(changes), renamed
    )


# --- submissions ---------------------------------------------------------------------------

# The tracking number sorts after every other key of the payload, so the canonical bytes of
# the whole payload are those without it plus this last member: the payload is canonicalised
# once, before the write, and the number taken under the write lock is spliced in.
TRACKING_KEY = "tracking_number"


@dataclass(frozen=True)
class PlannedSubmission:
    """One service of the visit with every row it stores; only its number is missing."""

    position: int
    submission_id: str
    outbox_id: str
    service: str
    agency: str
    form_version: str
    status: SubmissionStatus
    held: bool
    sla_due: date
    fee: int | None
    answers: dict[str, Any]
    supersedes: str | None
    checklist: tuple[ChecklistRow, ...]
    attachments: tuple[AttachmentRow, ...]
    payload_head: bytes  # canonical_json of the agency payload without its tracking number
    missing: tuple[str, ...]  # requirements that apply and were not handed over

    def payload(self, tracking: str) -> bytes:
        """canonical_json(payload) from canonical_json(payload without its tracking number)."""
        head = self.payload_head
        return head[:-1] + b',"' + TRACKING_KEY.encode() + b'":' + canonical_json(tracking) + b"}"


def _checklist(
    submission_id: str, result: engine.FormResult
) -> tuple[list[ChecklistRow], list[dict[str, str]]]:
    """Every requirement's row and its payload entry (nothing given: missing)."""
    rows, payload = [], []
    for index, requirement in enumerate(result.requirements):
        state = requirement.state
        if not requirement.applies:
            state = ChecklistState.NOT_APPLICABLE
        elif state is None:
            state = ChecklistState.MISSING
        rows.append(
            ChecklistRow(submission_id, requirement.id, index, requirement.applies, str(state))
        )
        payload.append({"id": requirement.id, "state": str(state)})
    return rows, payload


def _attachments(
    submission_id: str, service: ServiceRequest
) -> tuple[list[AttachmentRow], list[dict[str, Any]]]:
    rows = [
        AttachmentRow(submission_id, a.name, a.sha256, a.size, a.content_type)
        for a in service.attachments
    ]
    payload = [
        {"name": r.name, "sha256": r.sha256, "size": r.size, "content_type": r.content_type}
        for r in rows
    ]
    return rows, payload


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanContext:
    """What the plan needs beyond the visit and the catalog, read by the caller."""

    now: datetime  # aware; the visit's finalize time
    tz: tzinfo  # the desk's time zone: its day numbers the tracking numbers
    holidays: frozenset[date]  # this year's and next year's (SLA due dates)
    desk: str  # the desk code as configured
    mpp_name: str
    officer: str
    limits: IntakeSettings = field(default_factory=IntakeSettings)
    new_id: Callable[[], str] = new_id

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)


@dataclass(frozen=True)
class VisitRows:
    """The rows of a plan once numbered and chained, and the numbers shown to the officer."""

    submissions: list[SubmissionRow]
    checklist: list[ChecklistRow]
    attachments: list[AttachmentRow]
    outbox: list[OutboxRow]
    audit: list[AuditRow]
    tracking_numbers: list[str]


@dataclass(frozen=True)
class VisitPlan:
    """Everything one visit stores, planned before the write; see the module docstring."""

    visit_id: str
    request: VisitRequest
    context: PlanContext
    check: VisitCheck
    applicant: ApplicantPlan | None  # None while the visit has errors
    submissions: tuple[PlannedSubmission, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return self.check.errors

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return self.check.warnings

    @property
    def missing_documents(self) -> tuple[Issue, ...]:
        return self.check.missing_documents

    @property
    def ok(self) -> bool:
        return not self.check.errors

    @property
    def local_day(self) -> date:
        return self.context.local_now.date()

    @property
    def sequence_name(self) -> str:
        """The day's counter of this desk (one spelling per desk: k01 is K01)."""
        return f"tracking:{normalize_desk_code(self.context.desk)}:{self.local_day:%y%m%d}"

    def settled(self, stored: StoredApplicant | None) -> VisitPlan:
        """This plan against the applicant the store holds now (itself if nothing changed)."""
        current = self.applicant
        if current is None or current.stored == stored:
            return self
        identity = (current.id_kind, current.id_number)
        fresh_id = current.id if current.is_new else self.context.new_id()
        applicant = plan_applicant(identity, current.typed, stored, fresh_id)
        return dataclasses.replace(self, applicant=applicant)

    def write_issues(
        self, visit_status: str | None, superseded: Mapping[str, str | None]
    ) -> list[Issue]:
        """What only the store can tell: the visit already finalized, a wrong correction.

        ``superseded`` maps each superseded submission id to its stored service (None: none).
        """
        if visit_status is not None and visit_status != "draft":
            return [Issue("visit", "visit.already_finalized")]
        return [
            issue
            for planned in self.submissions
            if planned.supersedes
            for issue in _supersedes_issues(planned, superseded.get(planned.supersedes))
        ]

    def visit_row(self) -> VisitRow:
        assert self.applicant is not None, "a visit with errors has no rows"
        request, now = self.request, self.context.now
        return VisitRow(
            id=self.visit_id,
            ticket=request.ticket,
            desk=self.context.desk,
            officer=self.context.officer,
            applicant_id=self.applicant.id,
            proxy=dict(request.proxy) if request.proxy else None,
            status="finalized",
            draft=None,
            ticket_at=request.ticket_at,
            started_at=request.started_at or now,
            finalized_at=now,
            local_date=self.local_day.isoformat(),
            updated_at=now,
        )

    def rows(self, first_number: int, audit_head: str) -> VisitRows:
        """The rows to insert, numbered from the day's ``first_number`` and chained."""
        return _numbered_rows(self, first_number, audit_head)


def _supersedes_issues(planned: PlannedSubmission, stored_service: str | None) -> list[Issue]:
    where = f"services[{planned.position}].supersedes"
    if stored_service is None:
        return [Issue(where, "visit.superseded_missing", {"submission": planned.supersedes})]
    if stored_service != planned.service:
        return [Issue(where, "visit.superseded_other_service")]
    return []


def _plan_submission(
    catalog: Catalog,
    context: PlanContext,
    request: VisitRequest,
    position: int,
    result: engine.FormResult,
) -> PlannedSubmission:
    service_request = request.services[position]
    service = catalog.service(service_request.service)
    submission_id = context.new_id()
    held = service.requires_approval
    checklist, checklist_payload = _checklist(submission_id, result)
    attachments, attachment_payload = _attachments(submission_id, service_request)
    form_version = catalog.form_version(service.code)
    local_now = context.local_now
    sla_due = add_working_days(local_now.date(), result.sla_working_days, context.holidays)
    payload = {
        "submission_id": submission_id,
        "agency": service.agency,
        "service": service.code,
        "form_version": form_version,
        "finalized_at": local_now.isoformat(timespec="seconds"),
        "mpp": context.mpp_name,
        "desk": context.desk,
        "officer": context.officer,
        "applicant": result.applicant,
        "proxy": dict(request.proxy) if request.proxy else None,
        "supersedes": service_request.supersedes,
        "answers": result.answers,
        "checklist": checklist_payload,
        "attachments": attachment_payload,
        # What the receipt shows: the fee (whole Rupiah; null when the agency assesses it)
        # and the SLA due date, so the agency bills and promises the same.
        "fee": result.fee,
        "sla_due": sla_due.isoformat(),
    }
    if max(payload) > TRACKING_KEY:  # a bug of this module, caught by any plan test
        raise RuntimeError("the tracking number must stay the payload's last key")
    return PlannedSubmission(
        position=position,
        submission_id=submission_id,
        outbox_id=context.new_id(),
        service=service.code,
        agency=service.agency,
        form_version=form_version,
        status=SubmissionStatus.HELD if held else SubmissionStatus.QUEUED,
        held=held,
        sla_due=sla_due,
        fee=result.fee,
        answers=result.answers,
        supersedes=service_request.supersedes,
        checklist=tuple(checklist),
        attachments=tuple(attachments),
        payload_head=canonical_json(payload),
        missing=tuple(missing_requirements(result)),
    )


def plan_visit(
    request: VisitRequest,
    catalog: Catalog,
    context: PlanContext,
    *,
    stored: StoredApplicant | None = None,
    visit_id: str | None = None,
) -> VisitPlan:
    """Check the visit and, when nothing blocks it, plan every row it stores.

    ``stored`` is the applicant as looked up (None: a new applicant); the write settles the
    plan against what the store holds under its lock (:meth:`VisitPlan.settled`).
    """
    visit_id = visit_id or context.new_id()
    check = check_request(catalog, request, context.local_now.date(), context.limits)
    if check.errors:
        return VisitPlan(visit_id, request, context, check, None, ())
    assert check.profile is not None
    identity = identity_of(check.profile.applicant) or identity_of(request.applicant)
    assert identity is not None  # an identity is required: check_request said so otherwise
    applicant = plan_applicant(identity, check.profile.applicant, stored, context.new_id())
    submissions = tuple(
        _plan_submission(catalog, context, request, position, result)
        for position, result in enumerate(check.results)
        if result is not None
    )
    return VisitPlan(visit_id, request, context, check, applicant, submissions)


def _numbered_rows(plan: VisitPlan, first_number: int, audit_head: str) -> VisitRows:
    assert plan.applicant is not None, "a visit with errors has no rows"
    context, day = plan.context, plan.local_day
    desk_code = normalize_desk_code(context.desk)
    submissions, outbox, events, numbers = [], [], [], []
    for offset, planned in enumerate(plan.submissions):
        tracking = make_tracking_number(desk_code, day, first_number + offset)
        body = planned.payload(tracking)
        body_hash = sha256_hex(body)
        numbers.append(tracking)
        submissions.append(_submission_row(plan, planned, offset, tracking))
        outbox.append(
            OutboxRow(
                id=planned.outbox_id,
                submission_id=planned.submission_id,
                agency=planned.agency,
                state=str(OutboxState.HELD if planned.held else OutboxState.PENDING),
                payload=body,
                payload_sha256=body_hash,
                attempts=0,
                created_at=context.now,
                next_attempt_at=None if planned.held else context.now,
                attachments_acked={},
            )
        )
        details = {
            "tracking_number": tracking,
            "service": planned.service,
            "status": str(planned.status),
            "payload_sha256": body_hash,
        }
        events.append(("submission.finalized", "submission", planned.submission_id, details))
    applicant = plan.applicant
    if applicant.changes:
        details = {"fields": list(applicant.changed_fields)}
        events.append(("applicant.updated", "applicant", applicant.id, details))
    # The paths the engine warned about, kept with the visit's record.
    details = {
        "ticket": plan.request.ticket,
        "submissions": len(plan.submissions),
        "warnings": [w.path for w in plan.warnings],
    }
    events.append(("visit.finalized", "visit", plan.visit_id, details))
    return VisitRows(
        submissions=submissions,
        checklist=[row for planned in plan.submissions for row in planned.checklist],
        attachments=[row for planned in plan.submissions for row in planned.attachments],
        outbox=outbox,
        audit=chain_events(audit_head, context.officer, context.now, events),
        tracking_numbers=numbers,
    )


def _submission_row(
    plan: VisitPlan, planned: PlannedSubmission, position: int, tracking: str
) -> SubmissionRow:
    assert plan.applicant is not None
    return SubmissionRow(
        id=planned.submission_id,
        visit_id=plan.visit_id,
        position=position,
        service=planned.service,
        agency=planned.agency,
        tracking_number=tracking,
        form_version=planned.form_version,
        status=str(planned.status),
        review_state="unreviewed",
        applicant_id=plan.applicant.id,
        answers=planned.answers,
        fee=planned.fee,
        sla_due=planned.sla_due,
        finalized_at=plan.context.now,
        local_date=plan.local_day.isoformat(),
        officer=plan.context.officer,
        supersedes_id=planned.supersedes,
    )


def chain_events(
    prev: str, actor: str, at: datetime, events: Sequence[tuple[str, str, str, dict[str, Any]]]
) -> list[AuditRow]:
    """The operation's audit events, each hashed over the one before it (the chain's head)."""
    rows = []
    for action, object_type, object_id, details in events:
        digest = event_hash(prev, at, actor, action, object_type, object_id, details)
        rows.append(AuditRow(at, actor, action, object_type, object_id, details, prev, digest))
        prev = digest
    return rows
