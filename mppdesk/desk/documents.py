"""Printed documents of a visit, built from the store: receipt, slip, handover, checklist.

The desk turns stored rows into the printing layer's plain views (in the language asked
for) and audits every print: who printed which record and when. A document printed before
for the same visit is a reprint and says "SALINAN" with the time of reprinting.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mppdesk.core.permissions import Operation
from mppdesk.core.states import SATISFIED_CHECKLIST_STATES, OutboxState
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import NotFound
from mppdesk.desk.runtime import Runtime
from mppdesk.printing import (
    render_checklist,
    render_handover,
    render_receipt,
    render_slip,
    requirement_item,
)
from mppdesk.printing.views import (
    ChecklistHeader,
    HandoverRowView,
    HandoverView,
    IdKind,
    Layout,
    ProxyView,
    ReceiptView,
    SendState,
    ServiceLineView,
    SlipServiceView,
    SlipView,
)
from mppdesk.store import repo

_ID_KINDS = {"nik": IdKind.NIK, "paspor": IdKind.PASSPORT, "kitas": IdKind.KITAS}


def _send_state(runtime: Runtime, submission: Any) -> tuple[SendState, str | None]:
    endpoint = runtime.settings.agencies.get(submission.agency)
    states = {entry.state for entry in submission.outbox}
    if OutboxState.FAILED in states:
        return SendState.FAILED, None
    if states and states <= {OutboxState.DONE}:
        return SendState.SENT, submission.agency_ref
    if OutboxState.HELD in states:
        return SendState.HELD, None
    if endpoint is not None and endpoint.mode == "manual":
        return SendState.MANUAL, None
    if submission.agency_ref:
        return SendState.SENT, submission.agency_ref
    return SendState.QUEUED, None


def _requirements(runtime: Runtime, submission: Any, lang: str):
    service = runtime.catalog.services.get(submission.service)
    by_id = {r.id: r for r in service.requirements} if service else {}
    received, missing, conditional = [], [], []
    for item in submission.checklist:
        requirement = by_id.get(item.requirement_id)
        if requirement is None or not item.applies:
            continue
        line = requirement_item(requirement, lang, item.state)
        if item.state in SATISFIED_CHECKLIST_STATES:
            received.append(line)
        elif not requirement.optional:
            missing.append(line)
        if requirement.condition is not None:
            conditional.append(line)
    return received, missing, conditional


def _names(runtime: Runtime, submission: Any, lang: str) -> tuple[str, str, str, str | None]:
    catalog = runtime.catalog
    service = catalog.services.get(submission.service)
    agency = catalog.agencies.get(submission.agency)
    service_name = service.name.get(lang) if service else submission.service
    agency_name = agency.name.get(lang) if agency else submission.agency
    agency_short = agency.short_name if agency else submission.agency
    contact = agency.contact.get(lang) if agency and agency.contact else None
    return agency_name, agency_short, service_name, contact


def _load_visit(session: Any, visit_id: str) -> Any:
    visit = repo.get_visit(session, visit_id)
    if visit is None or visit.status != "finalized":
        raise NotFound.of("error.visit_not_found", visit=visit_id)
    return visit


def _reprint_time(runtime: Runtime, session: Any, kind: str, visit_id: str) -> datetime | None:
    printed_before = repo.count_audit(session, f"{kind}.printed", visit_id)
    return runtime.local_now() if printed_before else None


def _officer_name(session: Any, username: str) -> str:
    officer = repo.get_officer(session, username)
    return officer.full_name if officer is not None and officer.full_name else username


def receipt_view(
    runtime: Runtime, session: Any, visit_id: str, lang: str, reprinted_at: datetime | None
) -> ReceiptView:
    visit = _load_visit(session, visit_id)
    applicant = repo.get_applicant(session, visit.applicant_id)
    lines = []
    for submission in visit.submissions:
        agency_name, agency_short, service_name, contact = _names(runtime, submission, lang)
        received, missing, _conditional = _requirements(runtime, submission, lang)
        state, ref = _send_state(runtime, submission)
        service = runtime.catalog.services.get(submission.service)
        profile = applicant.profile or {}
        shared = [
            runtime.catalog.shared_fields[ref_field.field].label.get(lang)
            for ref_field in (service.shared_fields if service else ())
            if ref_field.field in runtime.catalog.shared_fields
            and profile.get(ref_field.field) not in (None, "", [])
        ]
        lines.append(
            ServiceLineView(
                agency_name=agency_name,
                service_name=service_name,
                tracking_number=submission.tracking_number,
                fee=submission.fee,
                sla_due=submission.sla_due,
                send_state=state,
                agency_short=agency_short,
                agency_ref=ref,
                received=tuple(received),
                missing=tuple(missing),
                data_shared=tuple(shared),
                agency_contact=contact,
            )
        )
    proxy = None
    if visit.proxy:
        proxy = ProxyView(
            name=str(visit.proxy.get("nama", "")),
            id_number=visit.proxy.get("nik"),
            basis=visit.proxy.get("hubungan"),
        )
    return ReceiptView(
        mpp_name=runtime.settings.desk.mpp_name,
        desk=visit.desk,
        officer=_officer_name(session, visit.officer),
        printed_at=visit.finalized_at.astimezone(runtime.tz),
        ticket=visit.ticket,
        applicant_name=applicant.name,
        applicant_id=applicant.id_number,
        applicant_id_kind=_ID_KINDS.get(applicant.id_kind, IdKind.NIK),
        services=tuple(lines),
        proxy=proxy,
        tz_label=runtime.settings.desk.timezone_label,
        reprinted_at=reprinted_at,
    )


def slip_view(
    runtime: Runtime, session: Any, visit_id: str, lang: str, reprinted_at: datetime | None
) -> SlipView:
    visit = _load_visit(session, visit_id)
    applicant = repo.get_applicant(session, visit.applicant_id)
    services = []
    for submission in visit.submissions:
        agency_name, _short, service_name, _contact = _names(runtime, submission, lang)
        _received, missing, conditional = _requirements(runtime, submission, lang)
        services.append(
            SlipServiceView(
                agency_name=agency_name,
                service_name=service_name,
                tracking_number=submission.tracking_number,
                missing=tuple(missing),
                conditional=tuple(conditional),
            )
        )
    return SlipView(
        mpp_name=runtime.settings.desk.mpp_name,
        desk=visit.desk,
        officer=_officer_name(session, visit.officer),
        printed_at=visit.finalized_at.astimezone(runtime.tz),
        ticket=visit.ticket,
        applicant_name=applicant.name,
        applicant_id=applicant.id_number,
        applicant_id_kind=_ID_KINDS.get(applicant.id_kind, IdKind.NIK),
        services=tuple(services),
        tz_label=runtime.settings.desk.timezone_label,
        reprinted_at=reprinted_at,
    )


def print_receipt(
    runtime: Runtime,
    actor: Actor,
    visit_id: str,
    layout: Layout | str | None = None,
    lang: str = "id",
    *,
    output: str = "pdf",
) -> bytes:
    """The receipt as PDF, or as ESC/POS bytes (``output="escpos"``) for a raw thermal printer.

    ``layout`` None is the desk's paper (``[printing] paper``); ``visit_id`` may also be one
    of the visit's tracking numbers, which is what the citizen's receipt shows.
    """
    return _print_visit_document(runtime, actor, "receipt", visit_id, layout, lang, output)


def print_slip(
    runtime: Runtime,
    actor: Actor,
    visit_id: str,
    layout: Layout | str | None = None,
    lang: str = "id",
    *,
    output: str = "pdf",
) -> bytes:
    return _print_visit_document(runtime, actor, "slip", visit_id, layout, lang, output)


def desk_layout(runtime: Runtime, layout: Layout | str | None) -> Layout:
    """The layout asked for, else the paper the desk's settings name."""
    return Layout.parse(layout if layout is not None else runtime.settings.printing.paper)


def _resolve_visit(session: Any, reference: str) -> str:
    if repo.get_visit(session, reference) is None:
        submission = repo.find_submission_by_tracking(session, reference.strip().upper())
        if submission is not None:
            return submission.visit_id
    return reference


def _print_visit_document(
    runtime: Runtime,
    actor: Actor,
    kind: str,
    visit_id: str,
    layout: Layout | str | None,
    lang: str,
    output: str = "pdf",
) -> bytes:
    require(actor, Operation.INTAKE)
    layout = desk_layout(runtime, layout)
    if output not in ("pdf", "escpos"):
        raise ValueError(f"unknown document output {output!r}")
    if output == "escpos" and not layout.is_thermal:
        layout = Layout.THERMAL_80  # a raw thermal printer has a roll, never A4
    with runtime.store.write() as session:
        visit_id = _resolve_visit(session, visit_id)
        reprinted_at = _reprint_time(runtime, session, kind, visit_id)
        if kind == "receipt":
            view = receipt_view(runtime, session, visit_id, lang, reprinted_at)
            if output == "escpos":
                from mppdesk.printing.escpos import receipt_escpos

                data = receipt_escpos(view, layout, lang)
            else:
                data = render_receipt(view, layout, lang)
        else:
            view = slip_view(runtime, session, visit_id, lang, reprinted_at)
            if output == "escpos":
                from mppdesk.printing.escpos import slip_escpos

                data = slip_escpos(view, layout, lang)
            else:
                data = render_slip(view, layout, lang)
        repo.append_audit(
            session,
            actor=actor.username,
            action=f"{kind}.printed",
            object_type="visit",
            object_id=visit_id,
            details={
                "layout": str(layout),
                "lang": lang,
                "copy": reprinted_at is not None,
                "output": output,
            },
        )
    return data


def print_checklist(
    runtime: Runtime, codes: list[str], layout: Layout | str = Layout.A4, lang: str = "id"
) -> bytes:
    """The requirement checklist from the catalog alone (no visit, no personal data)."""
    catalog = runtime.catalog
    unknown = [c for c in codes if c not in catalog.services]
    if unknown:
        raise NotFound.of("error.service_unknown", services=", ".join(unknown))
    pairs = [(catalog.agencies[catalog.services[c].agency], catalog.services[c]) for c in codes]
    header = ChecklistHeader(
        mpp_name=runtime.settings.desk.mpp_name,
        printed_at=runtime.local_now(),
        tz_label=runtime.settings.desk.timezone_label,
    )
    return render_checklist(pairs, layout, lang, header)


def handover_view(
    runtime: Runtime,
    session: Any,
    agency: str,
    day: date,
    officer: str,
    lang: str,
    reprinted_at: datetime | None,
) -> HandoverView:
    catalog = runtime.catalog
    if agency not in catalog.agencies:
        raise NotFound.of("error.agency_unknown", agency=agency)
    rows = []
    for submission in repo.list_submissions(session, local_date=day.isoformat(), agency=agency):
        applicant = repo.get_applicant(session, submission.applicant_id)
        _agency_name, _short, service_name, _contact = _names(runtime, submission, lang)
        received, _missing, _conditional = _requirements(runtime, submission, lang)
        rows.append(
            HandoverRowView(
                tracking_number=submission.tracking_number,
                applicant_name=applicant.name,
                service_name=service_name,
                received_at=submission.finalized_at.astimezone(runtime.tz),
                applicant_id=applicant.id_number,
                applicant_id_kind=_ID_KINDS.get(applicant.id_kind, IdKind.NIK),
                documents=tuple(item.label for item in received),
            )
        )
    entry = catalog.agencies[agency]
    return HandoverView(
        mpp_name=runtime.settings.desk.mpp_name,
        agency_name=entry.name.get(lang),
        day=day,
        officer=officer,
        printed_at=runtime.local_now(),
        rows=tuple(rows),
        agency_short=entry.short_name,
        tz_label=runtime.settings.desk.timezone_label,
        reprinted_at=reprinted_at,
    )


def print_handover(
    runtime: Runtime, actor: Actor, agency: str, day: date, lang: str = "id"
) -> bytes:
    require(actor, Operation.INTAKE)
    key = f"{agency}:{day.isoformat()}"
    with runtime.store.write() as session:
        reprinted_at = _reprint_time(runtime, session, "handover", key)
        view = handover_view(
            runtime, session, agency, day, actor.full_name or actor.username, lang, reprinted_at
        )
        pdf = render_handover(view, lang)
        repo.append_audit(
            session,
            actor=actor.username,
            action="handover.printed",
            object_type="agency_day",
            object_id=key,
            details={"rows": len(view.rows), "copy": reprinted_at is not None},
        )
    return pdf
