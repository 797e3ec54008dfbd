"""The visit in progress as plain data: what the officer typed, checked and attached.

The widgets write into a ``VisitState``; the draft stores it as JSON; the visit plan
(``mppdesk.forms.plan``) checks it while the officer types, exactly as finalize will plan it
from the same ``VisitRequest``. Keeping it free of Qt means the
draft survives a crash exactly as typed, and the same state can be rebuilt into fresh
widgets (after a crash, or when the officer switches language).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mppdesk.core.states import ChecklistState
from mppdesk.forms import engine
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.definitions import RequirementKind
from mppdesk.forms.plan import PlanContext, StoredApplicant, VisitPlan, plan_visit
from mppdesk.forms.visit import AttachedFile, AttachmentInput, ServiceRequest, VisitRequest
from mppdesk.forms.visit_check import Issue

STATE_VERSION = 1
IDENTITY_FIELD = "nik"

# What "handed over" means for each kind of requirement, when the officer ticks it.
STATE_FOR_KIND = {
    RequirementKind.ORIGINAL: ChecklistState.ORIGINAL,
    RequirementKind.COPY: ChecklistState.COPY,
    RequirementKind.SHOWN: ChecklistState.SHOWN,
    RequirementKind.ORIGINAL_AND_COPY: ChecklistState.COPY,
    RequirementKind.DOCUMENT: ChecklistState.ORIGINAL,
    RequirementKind.PHOTO: ChecklistState.ORIGINAL,
    RequirementKind.IN_PERSON: ChecklistState.SHOWN,
    RequirementKind.DIGITAL: ChecklistState.DIGITAL,
}


@dataclass
class AttachmentRef:
    """An attached file, already copied into the content-addressed attachment store."""

    name: str
    sha256: str
    size: int
    content_type: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
        }


@dataclass
class ServiceEntry:
    code: str
    answers: dict[str, Any] = field(default_factory=dict)
    checklist: dict[str, str] = field(default_factory=dict)
    attachments: list[AttachmentRef] = field(default_factory=list)
    # A correction (mppdesk.desk.corrections): the submission it replaces, id and number.
    supersedes: str | None = None
    supersedes_tracking: str = ""


@dataclass
class VisitState:
    visit_id: str | None = None
    ticket: str = ""
    ticket_at: str | None = None  # ISO, when "panggil berikutnya" took the ticket
    started_at: str | None = None
    applicant: dict[str, Any] = field(default_factory=dict)  # raw shared values as typed
    record: dict[str, Any] | None = None  # the stored applicant found by NIK
    proxy: dict[str, Any] | None = None
    services: list[ServiceEntry] = field(default_factory=list)
    step: int = 0
    new_applicant: bool = False  # the NIK look-up found no one: the whole profile is asked

    # --- draft JSON ------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "ticket": self.ticket,
            "ticket_at": self.ticket_at,
            "started_at": self.started_at,
            "applicant": _clean(self.applicant),
            "record": self.record,
            "proxy": self.proxy,
            "services": [
                {
                    "code": s.code,
                    "answers": _clean(s.answers),
                    "checklist": dict(s.checklist),
                    "attachments": [a.as_json() for a in s.attachments],
                    "supersedes": s.supersedes,
                    "supersedes_tracking": s.supersedes_tracking,
                }
                for s in self.services
            ],
            "step": self.step,
            "new_applicant": self.new_applicant,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], visit_id: str | None = None) -> VisitState:
        services = []
        for raw in data.get("services") or []:
            if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
                continue
            services.append(
                ServiceEntry(
                    code=raw["code"],
                    answers=dict(raw.get("answers") or {}),
                    checklist={str(k): str(v) for k, v in (raw.get("checklist") or {}).items()},
                    attachments=[
                        AttachmentRef(
                            str(a["name"]), str(a["sha256"]), int(a["size"]), str(a["content_type"])
                        )
                        for a in raw.get("attachments") or []
                        if isinstance(a, dict)
                    ],
                    supersedes=raw.get("supersedes") or None,
                    supersedes_tracking=str(raw.get("supersedes_tracking") or ""),
                )
            )
        return cls(
            visit_id=visit_id,
            ticket=str(data.get("ticket") or ""),
            ticket_at=data.get("ticket_at"),
            started_at=data.get("started_at"),
            applicant=dict(data.get("applicant") or {}),
            record=data.get("record"),
            proxy=data.get("proxy"),
            services=services,
            step=int(data.get("step") or 0),
            new_applicant=data.get("new_applicant") is True,
        )

    @property
    def is_empty(self) -> bool:
        return not (self.ticket or _clean(self.applicant) or self.services or self.proxy)

    def service_codes(self) -> list[str]:
        return [s.code for s in self.services]


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Drop unanswered values: what the engine reads as empty never goes into a draft."""
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


# --- which shared fields the visit asks -------------------------------------------------


def shared_field_ids(catalog: Catalog, state: VisitState) -> list[str]:
    """The shared fields the applicant panel shows, in catalog order, asked once per visit.

    Every shared field a service of the visit declares, plus what the stored record or the
    officer already has (so nothing typed disappears when a service is removed), plus the
    name; the NIK itself is typed in the visit's header. For a new applicant (the look-up
    found no one) the common profile comes at once, before any service is chosen.
    """
    wanted = {"nama"}
    if state.new_applicant:
        wanted |= profile_field_ids(catalog)
    for entry in state.services:
        service = catalog.services.get(entry.code)
        if service is not None:
            wanted |= {ref.field for ref in service.shared_fields}
    wanted |= {k for k, v in state.applicant.items() if v not in (None, "", [])}
    if state.record:
        wanted |= set((state.record.get("profile") or {}).keys())
    wanted.discard(IDENTITY_FIELD)
    return [fid for fid in catalog.shared_fields if fid in wanted]


PROFILE_SHARE = 5  # a shared field required by at least 1 in 5 services is "the profile"


def profile_field_ids(catalog: Catalog) -> frozenset[str]:
    """The shared fields a new applicant is asked at once: those a good share of the
    catalog's services require unconditionally (name, birth, address, phone, KK …).

    Derived from the catalog, so an install that adds services moves it with them; the
    foreigners' documents (passport, KITAS) are never among them for lack of services.
    """
    services = list(catalog.services.values())
    counts: dict[str, int] = {}
    for service in services:
        for ref in service.shared_fields:
            if ref.required is True:
                counts[ref.field] = counts.get(ref.field, 0) + 1
    floor = max(1, len(services) // PROFILE_SHARE)
    return frozenset(fid for fid, n in counts.items() if n >= floor)


def required_shared(catalog: Catalog, state: VisitState) -> set[str]:
    """Shared fields some service of the visit always requires (marked with an asterisk)."""
    required: set[str] = set()
    for entry in state.services:
        service = catalog.services.get(entry.code)
        if service is None:
            continue
        for ref in service.shared_fields:
            if ref.required is True or catalog.shared_fields[ref.field].required is True:
                required.add(ref.field)
    return required


# --- the check: the visit's plan, as finalize will make it ----------------------------------


def request_of(state: VisitState, read: Callable[[str], bytes] | None = None) -> VisitRequest:
    """The visit as the desk plans and stores it.

    Without ``read`` the attachments stay references to the stored files (checking while the
    officer types reads no file); finalize passes the blob store's ``get`` to send the bytes.
    """
    services = []
    for entry in state.services:
        attachments: tuple[AttachmentInput | AttachedFile, ...] = tuple(
            AttachedFile(a.name, a.sha256, a.size, a.content_type)
            if read is None
            else AttachmentInput(a.name, read(a.sha256), a.content_type)
            for a in entry.attachments
        )
        services.append(
            ServiceRequest(
                entry.code,
                _clean(entry.answers),
                dict(entry.checklist),
                attachments,
                entry.supersedes,
            )
        )
    return VisitRequest(
        applicant=_clean(state.applicant),
        services=tuple(services),
        ticket=state.ticket,
        proxy=state.proxy,  # ticked but empty stays a proxy: its name is then required
        ticket_at=datetime.fromisoformat(state.ticket_at) if state.ticket_at else None,
        started_at=datetime.fromisoformat(state.started_at) if state.started_at else None,
    )


def stored_of(state: VisitState) -> StoredApplicant | None:
    """The applicant the NIK look-up found, as the plan takes it (None: a new applicant)."""
    record = state.record
    if not record or not record.get("applicant_id"):
        return None
    return StoredApplicant(
        str(record["applicant_id"]), str(record.get("name") or ""), record.get("profile") or {}
    )


@dataclass
class VisitCheck:
    """The visit's plan, and the engine's answer for each part to show under its fields.

    The verdict — what blocks, what is doubted, which documents are missing — is the plan's
    alone: the summary and the finalize button say exactly what finalize will say.
    """

    plan: VisitPlan
    shared: engine.FormResult
    services: list[engine.FormResult]
    applicant_entries: list[engine.Entry]  # applicant.* entries from every evaluation, once each

    @property
    def proxy_errors(self) -> list[str]:
        return [i.path for i in self.plan.errors if i.path.startswith("proxy.")]

    @property
    def error_count(self) -> int:
        return len(self.plan.errors)

    @property
    def warning_count(self) -> int:
        return len(self.plan.warnings)

    def service_entries(self, index: int) -> list[engine.Entry]:
        return [e for e in self.services[index].entries if not e.path.startswith("applicant.")]

    def missing(self, index: int) -> list[str]:
        """Requirement ids of service ``index`` that go on the "berkas belum lengkap" slip."""
        prefix = f"services[{index}]."
        documents = self.plan.missing_documents
        return [i.params["requirement"] for i in documents if i.path.startswith(prefix)]

    def issues_by_step(self, issues: Sequence[Issue]) -> list[tuple[int, str, Issue]]:
        """(step, path within the step, issue): applicant and proxy first, then each service."""
        placed = []
        for issue in issues:
            match = _SERVICE_PATH.match(issue.path)
            if match is None:
                placed.append((0, issue.path, issue))
            else:
                placed.append((int(match[1]) + 1, match[2], issue))
        return sorted(placed, key=lambda item: item[0])


_SERVICE_PATH = re.compile(r"^services\[(\d+)\]\.?(.*)$")


def check_visit_state(catalog: Catalog, state: VisitState, context: PlanContext) -> VisitCheck:
    """Plan the visit as finalize will, and keep the engine's results to show per field."""
    plan = plan_visit(
        request_of(state), catalog, context, stored=stored_of(state), visit_id=state.visit_id
    )
    shared, results = plan.check.profile, list(plan.check.results)
    if shared is None or any(r is None for r in results):
        # Refused text stops the plan before the engine; the fields still show what was typed.
        shared, results = _evaluated(catalog, state, context.local_now.date())
    return VisitCheck(plan, shared, results, _applicant_entries(plan, [shared, *results]))


def _evaluated(
    catalog: Catalog, state: VisitState, today: date
) -> tuple[engine.FormResult, list[engine.FormResult]]:
    applicant = _clean(state.applicant)
    shared = engine.evaluate_shared(catalog, applicant, None, today=today)
    return shared, [
        engine.evaluate(
            catalog, entry.code, applicant, _clean(entry.answers), entry.checklist, today=today
        )
        for entry in state.services
    ]


def _applicant_entries(plan: VisitPlan, results: list[Any]) -> list[engine.Entry]:
    """The applicant panel's entries: the engine's, plus the plan's own (identity, text)."""
    seen: set[tuple[str, str]] = set()
    merged: list[engine.Entry] = []
    for result in results:
        for entry in result.entries:
            if not entry.path.startswith("applicant."):
                continue
            key = (entry.path, entry.message.id if entry.message else str(entry.status))
            if key not in seen:
                seen.add(key)
                merged.append(entry)
    shown = {entry.path for entry in merged}
    for issue in plan.errors:
        if issue.path.startswith("applicant.") and issue.path not in shown:
            field_id = issue.path.split(".", 1)[1]
            text = engine.Text(id=issue.text_id, en=issue.text_en)
            status = (
                engine.EntryStatus.REQUIRED
                if issue.code == "visit.identity_required"
                else engine.EntryStatus.INVALID
            )
            merged.insert(0, engine.Entry(issue.path, field_id, status, text))
    return merged


def checklist_state(requirement_kind: RequirementKind) -> str:
    return STATE_FOR_KIND.get(requirement_kind, ChecklistState.ORIGINAL).value
