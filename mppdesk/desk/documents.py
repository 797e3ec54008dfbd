"""Printed documents of a visit, built from the store: receipt, slip, handover, checklist.

The desk turns stored rows into the printing layer's plain views (in the language asked
for) and audits every print: who printed which record and when. A document printed before
for the same visit, or asked for as a reprint (``reprint=True``, the submissions view's "Cetak
ulang"), says "SALINAN" with the time of reprinting.

A visit's documents show the visit AS SUBMITTED: the applicant's name, identity and the data
each agency received come from the submissions' frozen payloads, never from today's applicant
record (a later visit may have changed the name). Only a purged payload falls back to the row.

Manual agencies (no API) get their files by hand: the handover list (berita acara) lists what
is still to hand over, signed with the officer's full name, and :func:`hand_over` records who
at the agency received each submission, which sets its outbox entry ``done``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.permissions import Operation
from mppdesk.core.states import SATISFIED_CHECKLIST_STATES, OutboxState
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.billing import payment_view
from mppdesk.desk.errors import DeskError, FieldError, InvalidInput, NotFound
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.visit import identity_of
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
from mppdesk.store import handovers, repo

log = logging.getLogger(__name__)

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


MAX_CORRECTION_CHAIN = 20  # corrections of corrections followed back for a queue number


def queue_number(session: Any, visit: Any) -> str:
    """The queue number a visit's documents print. A correction or cancellation stored
    without a ticket of its own (started from the submissions view or ``mppdesk correct`` /
    ``cancel``, the citizen not queued again) prints the number of the visit it corrects:
    the one the citizen was served under, which the officer looks for on the copy; an empty
    line would say nothing. A correcting visit that called a ticket keeps its own."""
    from mppdesk.store.models import Submission

    seen: set[str] = set()
    for _ in range(MAX_CORRECTION_CHAIN):
        if visit.ticket:
            return str(visit.ticket)
        replaced = next((s.supersedes_id for s in visit.submissions if s.supersedes_id), None)
        if replaced is None or replaced in seen:
            return ""
        seen.add(replaced)
        original = session.get(Submission, replaced)
        if original is None:
            return ""
        visit = original.visit
    return ""


def _reprint_time(runtime: Runtime, session: Any, kind: str, visit_id: str) -> datetime | None:
    printed_before = repo.count_audit(session, f"{kind}.printed", visit_id)
    return runtime.local_now() if printed_before else None


def _officer_name(session: Any, username: str) -> str:
    officer = repo.get_officer(session, username)
    return officer.full_name if officer is not None and officer.full_name else username


@dataclass(frozen=True)
class AsSubmitted:
    """The applicant and proxy as the visit's submissions were frozen at finalize."""

    name: str
    id_number: str | None
    id_kind: IdKind
    proxy: Mapping[str, Any] | None
    sent: Mapping[str, Mapping[str, Any]]  # submission id -> the shared fields it carried


def _payload(submission: Any) -> dict[str, Any] | None:
    """The submission's frozen payload (its own agency's entry), or None when purged."""
    entries = sorted(submission.outbox, key=lambda e: (e.agency != submission.agency, e.id))
    for entry in entries:
        if entry.payload:
            try:
                body = json.loads(entry.payload)
            except ValueError:
                log.warning("payload of %s is not JSON", submission.id)
                continue
            if isinstance(body, dict):
                return body
    return None


def as_submitted(session: Any, visit: Any) -> AsSubmitted:
    """Who the visit was for, read from what was submitted; the applicant row only where a
    payload is gone (purged), so a reprint never shows a later visit's changes."""
    name, identity, proxy = None, None, None
    sent: dict[str, Mapping[str, Any]] = {}
    for submission in visit.submissions:
        body = _payload(submission)
        if body is None:
            continue
        applicant = body.get("applicant")
        if isinstance(applicant, dict):
            sent[submission.id] = applicant
            if name is None and isinstance(applicant.get("nama"), str):
                name = applicant["nama"]
            if identity is None:
                identity = identity_of(applicant)
        if proxy is None and isinstance(body.get("proxy"), dict):
            proxy = body["proxy"]
    if name is None or identity is None:
        row = repo.get_applicant(session, visit.applicant_id)
        if row is not None:
            name = name if name is not None else row.name
            identity = identity or (row.id_kind, row.id_number)
    kind, number = identity if identity else ("nik", None)
    return AsSubmitted(
        name=name or "",
        id_number=number,
        id_kind=_ID_KINDS.get(kind, IdKind.NIK),
        proxy=proxy if proxy is not None else visit.proxy,
        sent=sent,
    )


def _submitted_by(session: Any, submission: Any) -> AsSubmitted:
    """Who one submission was for, from its own payload (loaded with it: no query per row
    on a long handover list); the whole visit's payloads only when its own lacks a name."""
    body = _payload(submission)
    applicant = body.get("applicant") if body is not None else None
    if isinstance(applicant, dict) and isinstance(applicant.get("nama"), str):
        identity = identity_of(applicant)
        if identity is not None:
            return AsSubmitted(
                name=applicant["nama"],
                id_number=identity[1],
                id_kind=_ID_KINDS.get(identity[0], IdKind.NIK),
                proxy=body.get("proxy") if isinstance(body.get("proxy"), dict) else None,
                sent={submission.id: applicant},
            )
    return as_submitted(session, repo.get_visit(session, submission.visit_id))


def receipt_view(
    runtime: Runtime, session: Any, visit_id: str, lang: str, reprinted_at: datetime | None
) -> ReceiptView:
    visit = _load_visit(session, visit_id)
    person = as_submitted(session, visit)
    lines = []
    for submission in visit.submissions:
        agency_name, agency_short, service_name, contact = _names(runtime, submission, lang)
        received, missing, _conditional = _requirements(runtime, submission, lang)
        state, ref = _send_state(runtime, submission)
        service = runtime.catalog.services.get(submission.service)
        carried = person.sent.get(submission.id, {})
        shared = [
            runtime.catalog.shared_fields[ref_field.field].label.get(lang)
            for ref_field in (service.shared_fields if service else ())
            if ref_field.field in runtime.catalog.shared_fields
            and carried.get(ref_field.field) not in (None, "", [])
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
                payment=payment_view(runtime, session, submission),
            )
        )
    proxy = None
    if person.proxy:
        proxy = ProxyView(
            name=str(person.proxy.get("nama", "")),
            id_number=person.proxy.get("nik"),
            basis=person.proxy.get("hubungan"),
        )
    return ReceiptView(
        mpp_name=runtime.settings.desk.mpp_name,
        desk=visit.desk,
        officer=_officer_name(session, visit.officer),
        printed_at=visit.finalized_at.astimezone(runtime.tz),
        ticket=queue_number(session, visit),
        applicant_name=person.name,
        applicant_id=person.id_number,
        applicant_id_kind=person.id_kind,
        services=tuple(lines),
        proxy=proxy,
        tz_label=runtime.settings.desk.timezone_label,
        reprinted_at=reprinted_at,
    )


def slip_view(
    runtime: Runtime, session: Any, visit_id: str, lang: str, reprinted_at: datetime | None
) -> SlipView:
    visit = _load_visit(session, visit_id)
    person = as_submitted(session, visit)
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
                payment=payment_view(runtime, session, submission),
            )
        )
    return SlipView(
        mpp_name=runtime.settings.desk.mpp_name,
        desk=visit.desk,
        officer=_officer_name(session, visit.officer),
        printed_at=visit.finalized_at.astimezone(runtime.tz),
        ticket=queue_number(session, visit),
        applicant_name=person.name,
        applicant_id=person.id_number,
        applicant_id_kind=person.id_kind,
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
    reprint: bool = False,
) -> bytes:
    """The receipt as PDF, or as ESC/POS bytes (``output="escpos"``) for a raw thermal printer.

    ``layout`` None is the desk's paper (``[printing] paper``); ``visit_id`` may also be one
    of the visit's tracking numbers, which is what the citizen's receipt shows. ``reprint``
    marks it SALINAN even when no print was recorded before (the officer asked for a copy).
    """
    return _print_visit_document(runtime, actor, "receipt", visit_id, layout, lang, output, reprint)


def print_slip(
    runtime: Runtime,
    actor: Actor,
    visit_id: str,
    layout: Layout | str | None = None,
    lang: str = "id",
    *,
    output: str = "pdf",
    reprint: bool = False,
) -> bytes:
    """The "berkas belum lengkap" slip; arguments as :func:`print_receipt`."""
    return _print_visit_document(runtime, actor, "slip", visit_id, layout, lang, output, reprint)


def desk_layout(runtime: Runtime, layout: Layout | str | None) -> Layout:
    """The layout asked for, else the paper the desk's settings name."""
    return Layout.parse(layout if layout is not None else runtime.settings.printing.paper)


def _resolve_visit(session: Any, reference: str) -> str:
    if repo.get_visit(session, reference) is None:
        submission = repo.find_submission_by_tracking(session, reference.strip().upper())
        if submission is not None:
            return submission.visit_id
    return reference


def _find_submission(session: Any, reference: str) -> Any:
    """A submission by its id or its tracking number (what the officer and citizen know)."""
    found = handovers.find_submission(session, reference)
    if found is None:
        raise NotFound.of("error.submission_not_found", submissions=reference)
    return found


def resolve_submission(runtime: Runtime, reference: str) -> str:
    """The submission id of ``reference``: a submission id or a tracking number."""
    with runtime.store.read() as session:
        return str(_find_submission(session, reference).id)


def _print_visit_document(
    runtime: Runtime,
    actor: Actor,
    kind: str,
    visit_id: str,
    layout: Layout | str | None,
    lang: str,
    output: str = "pdf",
    reprint: bool = False,
) -> bytes:
    require(actor, Operation.INTAKE)
    layout = desk_layout(runtime, layout)
    if output not in ("pdf", "escpos"):
        raise ValueError(f"unknown document output {output!r}")
    if output == "escpos" and not layout.is_thermal:
        layout = Layout.THERMAL_80  # a raw thermal printer has a roll, never A4
    with runtime.store.write() as session:
        visit_id = _resolve_visit(session, visit_id)
        reprinted_at = (
            runtime.local_now() if reprint else _reprint_time(runtime, session, kind, visit_id)
        )
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
                "reprint": reprint,
                "output": output,
            },
        )
    return data


def where_to_go(runtime: Runtime, service: Any, lang: str) -> str:
    """Where the citizen goes for a service at this MPP: the queue group and the counter."""
    from mppdesk.core import messages
    from mppdesk.desk.counter import ticket_prefix

    catalog = runtime.catalog
    agency = catalog.agencies.get(service.agency)
    group = catalog.agencies.get(service.group)  # a group named after its agency reads so
    return messages.text(
        "paper.where_to_go_text",
        lang,
        letter=ticket_prefix(catalog, service.group),
        group=group.short_name if group else service.group.replace("-", " ").title(),
        agency=agency.short_name if agency else service.agency,
        mpp=runtime.settings.desk.mpp_name,
    )


def print_checklist(
    runtime: Runtime,
    codes: list[str],
    layout: Layout | str = Layout.A4,
    lang: str = "id",
    actor: Actor | None = None,
) -> bytes:
    """The requirement checklist from the catalog alone (no visit, no personal data), with
    fee, SLA and where to go: what the information desk hands a citizen before they queue.
    With ``actor`` the print is audited (the information desk's screen)."""
    if actor is not None:
        require(actor, Operation.INTAKE)
    catalog = runtime.catalog
    unknown = [c for c in codes if c not in catalog.services]
    if unknown:
        raise NotFound.of("error.service_unknown", services=", ".join(unknown))
    if not codes:
        raise InvalidInput([FieldError.of("services", "error.choose_service")])
    pairs = [(catalog.agencies[catalog.services[c].agency], catalog.services[c]) for c in codes]
    header = ChecklistHeader(
        mpp_name=runtime.settings.desk.mpp_name,
        printed_at=runtime.local_now(),
        tz_label=runtime.settings.desk.timezone_label,
        where={c: where_to_go(runtime, catalog.services[c], lang) for c in codes},
    )
    pdf = render_checklist(pairs, layout, lang, header)
    if actor is not None:
        with runtime.store.write() as session:
            repo.append_audit(
                session,
                actor=actor.username,
                action="checklist.printed",
                object_type="services",
                object_id=",".join(codes)[:64],
                details={"services": list(codes), "layout": str(Layout.parse(layout))},
            )
    return pdf


def print_visit_checklist(
    runtime: Runtime,
    actor: Actor,
    reference: str,
    layout: Layout | str | None = None,
    lang: str = "id",
    *,
    reprint: bool = True,
) -> bytes:
    """A visit's requirement checklists with what was handed over ticked, as submitted.

    ``reference`` is the visit id or one of its tracking numbers; marked SALINAN (it is
    always a copy: the counter ticked the original on screen)."""
    require(actor, Operation.INTAKE)
    layout = desk_layout(runtime, layout)
    catalog = runtime.catalog
    with runtime.store.write() as session:
        visit_id = _resolve_visit(session, reference)
        visit = _load_visit(session, visit_id)
        pairs, ticked, numbers = [], {}, []
        for submission in visit.submissions:
            service = catalog.services.get(submission.service)
            if service is None or submission.agency not in catalog.agencies:
                continue  # a service since removed from the catalog has no checklist to show
            pairs.append((catalog.agencies[submission.agency], service))
            ticked[service.code] = {
                item.requirement_id: item.state
                for item in submission.checklist
                if item.applies and item.state in SATISFIED_CHECKLIST_STATES
            }
            numbers.append(submission.tracking_number)
        if not pairs:
            raise NotFound.of("error.visit_not_found", visit=reference)
        from mppdesk.core import messages

        header = ChecklistHeader(
            mpp_name=runtime.settings.desk.mpp_name,
            printed_at=visit.finalized_at.astimezone(runtime.tz),
            tz_label=runtime.settings.desk.timezone_label,
            extra_note=messages.text("paper.checklist_for", lang, numbers=", ".join(numbers)),
            reprinted_at=runtime.local_now() if reprint else None,
            ticked=ticked,
        )
        pdf = render_checklist(pairs, layout, lang, header)
        repo.append_audit(
            session,
            actor=actor.username,
            action="checklist.printed",
            object_type="visit",
            object_id=visit_id,
            details={"layout": str(layout), "lang": lang, "copy": reprint, "reprint": reprint},
        )
    return pdf


# --- handover to agencies without an API ------------------------------------------------


def manual_agencies(runtime: Runtime) -> list[str]:
    """Agencies of the catalog whose endpoint is manual (their files go by hand)."""
    return [
        code
        for code, endpoint in sorted(runtime.settings.agencies.items())
        if endpoint.mode == "manual" and code in runtime.catalog.agencies
    ]


@dataclass(frozen=True)
class HandoverItem:
    """One submission on a handover list, for the screen (no PDF needed to show it)."""

    submission_id: str
    tracking_number: str
    applicant_name: str
    service_name: str
    received_at: datetime
    documents: tuple[str, ...]
    received_by: str | None = None  # set once handed over
    reference: str | None = None
    applicant_id: str | None = None  # as submitted; the record prints it masked
    applicant_id_kind: IdKind = IdKind.NIK


def _check_manual(runtime: Runtime, agency: str) -> None:
    if agency not in runtime.catalog.agencies:
        raise NotFound.of("error.agency_unknown", agency=agency)
    if agency not in manual_agencies(runtime):
        raise DeskError.of("error.handover_not_manual", agency=agency)


def _handover_items(
    runtime: Runtime, session: Any, agency: str, day: date, lang: str
) -> tuple[list[HandoverItem], list[HandoverItem]]:
    """(still to hand over up to ``day``, handed over on ``day``)."""
    names: dict[str, AsSubmitted] = {}

    def item(submission: Any, handover: Any = None) -> HandoverItem:
        if submission.visit_id not in names:
            names[submission.visit_id] = _submitted_by(session, submission)
        _agency_name, _short, service_name, _contact = _names(runtime, submission, lang)
        received, _missing, _conditional = _requirements(runtime, submission, lang)
        return HandoverItem(
            submission_id=submission.id,
            tracking_number=submission.tracking_number,
            applicant_name=names[submission.visit_id].name,
            service_name=service_name,
            received_at=submission.finalized_at.astimezone(runtime.tz),
            documents=tuple(line.label for line in received),
            received_by=handover.received_by if handover is not None else None,
            reference=handover.reference if handover is not None else None,
            applicant_id=names[submission.visit_id].id_number,
            applicant_id_kind=names[submission.visit_id].id_kind,
        )

    waiting = [item(s) for s in handovers.waiting(session, agency, day.isoformat())]
    done = [item(s, h) for s, h in handovers.handed_over_on(session, agency, day.isoformat())]
    return waiting, done


def handover_list(
    runtime: Runtime,
    actor: Actor,
    agency: str,
    day: date | None = None,
    lang: str = "id",
    *,
    audit: bool = True,
) -> tuple[list[HandoverItem], list[HandoverItem]]:
    """The handover screen's lists: (still to hand over up to ``day``, handed over that day).

    Showing applicants' names is a view of personal data: audited when the officer opens a
    list (``audit``), not again for each refresh after a change the screen follows."""
    require(actor, Operation.INTAKE)
    _check_manual(runtime, agency)
    day = day or runtime.local_today()
    with runtime.store.write() as session:
        waiting, done = _handover_items(runtime, session, agency, day, lang)
        if not audit:
            return waiting, done
        repo.append_audit(
            session,
            actor=actor.username,
            action="handover.viewed",
            object_type="agency_day",
            object_id=f"{agency}:{day.isoformat()}",
            details={"waiting": len(waiting), "handed_over": len(done)},
        )
    return waiting, done


def handover_view(
    runtime: Runtime,
    session: Any,
    agency: str,
    day: date,
    officer: str,
    lang: str,
    reprinted_at: datetime | None,
) -> HandoverView:
    """The berita acara of one agency and day: the files still to hand over (taken in on or
    before that day), and those already handed over that day with who received them."""
    catalog = runtime.catalog
    if agency not in catalog.agencies:
        raise NotFound.of("error.agency_unknown", agency=agency)
    waiting, done = _handover_items(runtime, session, agency, day, lang)
    from mppdesk.core import messages

    rows = []
    for entry in [*done, *waiting]:
        note = None
        if entry.received_by:
            note = messages.text(
                "paper.handover_received_note",
                lang,
                name=entry.received_by,
                ref=entry.reference or "–",
            )
        rows.append(
            HandoverRowView(
                tracking_number=entry.tracking_number,
                applicant_name=entry.applicant_name,
                service_name=entry.service_name,
                received_at=entry.received_at,
                applicant_id=entry.applicant_id,
                applicant_id_kind=entry.applicant_id_kind,
                documents=entry.documents,
                note=note,
            )
        )
    entry_agency = catalog.agencies[agency]
    return HandoverView(
        mpp_name=runtime.settings.desk.mpp_name,
        agency_name=entry_agency.name.get(lang),
        day=day,
        officer=officer,
        printed_at=runtime.local_now(),
        rows=tuple(rows),
        agency_short=entry_agency.short_name,
        tz_label=runtime.settings.desk.timezone_label,
        reprinted_at=reprinted_at,
    )


def _signer(session: Any, actor: Actor) -> str:
    """The officer's full name for the signature; an OS account signs nothing (the line is
    left blank to be written by hand), since a login name is not a person's name."""
    if actor.username.startswith("os:"):
        return ""
    if actor.full_name:
        return actor.full_name
    return _officer_name(session, actor.username)


def print_handover(
    runtime: Runtime, actor: Actor, agency: str, day: date | None = None, lang: str = "id"
) -> bytes:
    """The handover list (berita acara) as A4 PDF, signed with the officer's full name."""
    require(actor, Operation.INTAKE)
    day = day or runtime.local_today()
    key = f"{agency}:{day.isoformat()}"
    with runtime.store.write() as session:
        reprinted_at = _reprint_time(runtime, session, "handover", key)
        view = handover_view(
            runtime, session, agency, day, _signer(session, actor), lang, reprinted_at
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


NAME_MAX = 200
REFERENCE_MAX = 100


@dataclass(frozen=True)
class HandoverOutcome:
    submission_id: str
    tracking_number: str
    agency: str
    received_by: str
    reference: str | None
    handed_at: datetime

    @property
    def changes(self) -> Changes:
        return Changes.of(Kind.OUTBOX, submission_ids=[self.submission_id])

    def as_dict(self) -> dict[str, object]:
        return {
            "submission_id": self.submission_id,
            "tracking_number": self.tracking_number,
            "agency": self.agency,
            "received_by": self.received_by,
            "reference": self.reference,
            "handed_at": self.handed_at.isoformat(timespec="seconds"),
            "outbox_state": str(OutboxState.DONE),
        }


def _clean_handover_input(received_by: str, reference: str | None) -> tuple[str, str | None]:
    name = " ".join(str(received_by or "").split())
    ref = " ".join(str(reference or "").split()) or None
    errors = []
    if not name and ref is None:
        # The agency's receipt reference identifies who took the files as well as a name does
        # (``agency deliver TRACKING_NO --ref REF``); one of the two is needed.
        errors.append(FieldError.of("received_by", "error.handover_receiver_missing"))
    elif len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        errors.append(FieldError.of("received_by", "error.handover_receiver_bad", maximum=NAME_MAX))
    if ref is not None and (len(ref) > REFERENCE_MAX or any(ord(c) < 32 for c in ref)):
        errors.append(
            FieldError.of("reference", "error.handover_reference_bad", maximum=REFERENCE_MAX)
        )
    if errors:
        raise InvalidInput(errors)
    return name, ref


def hand_over(
    runtime: Runtime,
    actor: Actor,
    reference: str,
    received_by: str,
    agency_reference: str | None = None,
) -> HandoverOutcome:
    """Record that a manual agency's officer received a submission's files.

    ``reference`` is the submission id or its tracking number. The outbox entry becomes
    ``done`` (it leaves the send queue; retention may purge it later). Refused for an agency
    with an API, a submission still awaiting approval or already handed over."""
    require(actor, Operation.INTAKE)
    name, ref = _clean_handover_input(received_by, agency_reference)
    now = runtime.now()
    with runtime.store.write() as session:
        submission = _find_submission(session, reference)
        _check_manual(runtime, submission.agency)
        state = handovers.state_of(session, submission)
        entry = state.entry
        earlier = handovers.get(session, submission.id)
        if earlier is not None or (entry is not None and entry.state == OutboxState.DONE):
            raise DeskError.of(
                "error.handover_already",
                tracking=submission.tracking_number,
                name=earlier.received_by if earlier is not None else "?",
            )
        if entry is None or entry.state != OutboxState.PENDING:
            code = (
                "error.handover_held"
                if entry is not None and entry.state == OutboxState.HELD
                else "error.handover_not_waiting"
            )
            raise DeskError.of(
                code,
                tracking=submission.tracking_number,
                state=str(entry.state) if entry is not None else "-",
            )
        handover = handovers.record(
            session,
            submission,
            entry,
            received_by=name,
            reference=ref,
            officer=actor.username,
            now=now,
            local_date=now.astimezone(runtime.tz).date().isoformat(),
        )
        repo.append_audit(
            session,
            actor=actor.username,
            action="submission.handed_over",
            object_type="submission",
            object_id=submission.id,
            details={
                "tracking_number": submission.tracking_number,
                "agency": submission.agency,
                "received_by": name,
                "reference": ref,
            },
        )
        outcome = HandoverOutcome(
            submission.id,
            submission.tracking_number,
            submission.agency,
            name,
            ref,
            handover.handed_at,
        )
    log.info("submission %s handed over to %s", outcome.submission_id, outcome.agency)
    return outcome
