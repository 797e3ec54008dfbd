"""The visit in progress as plain data: what the officer typed, checked and attached.

The widgets write into a ``VisitState``; the form engine evaluates it; the draft stores it as
JSON; finalizing turns it into the desk's ``VisitRequest``. Keeping it free of Qt means the
draft survives a crash exactly as typed, and the same state can be rebuilt into fresh
widgets (after a crash, or when the officer switches language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mppdesk.core.states import ChecklistState
from mppdesk.forms import engine
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.definitions import RequirementKind

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
                }
                for s in self.services
            ],
            "step": self.step,
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
    name; the NIK itself is typed in the visit's header.
    """
    wanted = {"nama"}
    for entry in state.services:
        service = catalog.services.get(entry.code)
        if service is not None:
            wanted |= {ref.field for ref in service.shared_fields}
    wanted |= {k for k, v in state.applicant.items() if v not in (None, "", [])}
    if state.record:
        wanted |= set((state.record.get("profile") or {}).keys())
    wanted.discard(IDENTITY_FIELD)
    return [fid for fid in catalog.shared_fields if fid in wanted]


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


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class VisitCheck:
    """One evaluation of the whole visit: the engine's answer for each part."""

    shared: engine.FormResult
    services: list[engine.FormResult]
    applicant_entries: list[engine.Entry]  # applicant.* entries from every evaluation, once each
    proxy_errors: list[str]

    @property
    def error_count(self) -> int:
        count = sum(1 for e in self.applicant_entries if e.status in _BLOCKING)
        for result in self.services:
            count += sum(
                1
                for e in result.entries
                if e.status in _BLOCKING and not e.path.startswith("applicant.")
            )
        return count + len(self.proxy_errors)

    @property
    def warning_count(self) -> int:
        count = sum(1 for e in self.applicant_entries if e.status == engine.EntryStatus.WARNING)
        for result in self.services:
            count += sum(
                1
                for e in result.entries
                if e.status == engine.EntryStatus.WARNING and not e.path.startswith("applicant.")
            )
        return count

    def service_entries(self, index: int) -> list[engine.Entry]:
        return [e for e in self.services[index].entries if not e.path.startswith("applicant.")]


_BLOCKING = (engine.EntryStatus.REQUIRED, engine.EntryStatus.INVALID)


def applicant_values(state: VisitState) -> dict[str, Any]:
    values = _clean(state.applicant)
    return values


def check_visit_state(catalog: Catalog, state: VisitState, today: date) -> VisitCheck:
    """Evaluate the applicant panel and every service form, as the finalize check will."""
    applicant = applicant_values(state)
    shown = shared_field_ids(catalog, state) + [IDENTITY_FIELD]
    shared = engine.evaluate_shared(catalog, applicant, shown, today=today)
    results = [
        engine.evaluate(
            catalog, entry.code, applicant, _clean(entry.answers), entry.checklist, today=today
        )
        for entry in state.services
    ]
    seen: set[tuple[str, str]] = set()
    merged: list[engine.Entry] = []
    for result in [shared, *results]:
        for entry in result.entries:
            if not entry.path.startswith("applicant."):
                continue
            key = (entry.path, entry.message.id if entry.message else str(entry.status))
            if key in seen:
                continue
            seen.add(key)
            merged.append(entry)
    if (
        not applicant.get(IDENTITY_FIELD)
        and not applicant.get("no_paspor")
        and not applicant.get("no_kitas")
    ):
        merged.insert(
            0,
            engine.Entry(
                "applicant.nik",
                "nik",
                engine.EntryStatus.REQUIRED,
                engine.Text(id="NIK wajib diisi.", en="NIK is required."),
            ),
        )
    proxy_errors = []
    if state.proxy is not None and not str(state.proxy.get("nama") or "").strip():
        proxy_errors.append("proxy.nama")
    return VisitCheck(shared, results, merged, proxy_errors)


def checklist_state(requirement_kind: RequirementKind) -> str:
    return STATE_FOR_KIND.get(requirement_kind, ChecklistState.ORIGINAL).value
