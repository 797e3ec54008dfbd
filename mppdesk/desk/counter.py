"""What the counter needs around intake: tickets, applicant look-up, service search, drafts.

Every operation checks the actor's permission; opening an applicant's stored record, calling
a ticket and starting or discarding a draft are audited (draft saves are not: they happen
every few seconds and carry no decision). Service search is pure over the catalog and a
usage snapshot read once, so the UI can search on every keystroke without touching the store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.ids import new_id
from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.forms import indonesia
from mppdesk.forms.catalog import Catalog
from mppdesk.store import drafts, lookups, repo

log = logging.getLogger(__name__)

MAX_DRAFT_BYTES = 2 * 1024 * 1024  # a runaway state must not bloat the store


# --- queue tickets --------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    number: str  # "A-017"
    group: str
    sequence: int
    called_at: datetime


def service_groups(catalog: Catalog) -> list[str]:
    """The catalog's queue groups, sorted; each gets a ticket letter in this order."""
    return sorted({service.group for service in catalog.services.values()})


def ticket_prefix(catalog: Catalog, group: str) -> str:
    """A, B, C … by the group's place in ``service_groups``; unknown groups get "X"."""
    groups = service_groups(catalog)
    if group not in groups:
        return "X"
    index = groups.index(group)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWYZ"  # no X: kept for unknown groups
    return letters[index] if index < len(letters) else f"Z{index - len(letters) + 1}"


def call_next_ticket(runtime: Runtime, actor: Actor, group: str) -> Ticket:
    """Take the next number of the group's daily sequence ("panggil berikutnya")."""
    require(actor, Operation.INTAKE)
    if group not in service_groups(runtime.catalog):
        raise InvalidInput(
            [
                FieldError.of("group", "error.group_unknown", group=group)
            ]
        )
    now = runtime.now()
    day = now.astimezone(runtime.tz).date()
    prefix = ticket_prefix(runtime.catalog, group)
    mall_number = None
    if runtime.settings.hub.url:  # joined: one queue for the mall; offline, this desk's block
        from mppdesk.desk import hub

        mall_number = hub.hub_ticket(runtime, actor, prefix)
    with runtime.store.write() as session:
        if mall_number is not None:
            sequence = int(mall_number.rsplit("-", 1)[-1]) if mall_number[-1:].isdigit() else 0
            number = mall_number
        elif runtime.settings.hub.url:
            sequence = repo.next_sequence(session, f"ticket-offline:{group}:{day:%Y%m%d}")
            number = hub.offline_ticket_number(prefix, runtime.settings.desk.code, sequence)
        else:
            sequence = repo.next_sequence(session, f"ticket:{group}:{day:%Y%m%d}")
            number = f"{prefix}-{sequence:03d}"
        repo.append_audit(
            session,
            actor=actor.username,
            action="ticket.called",
            object_type="ticket",
            object_id=number,
            details={"group": group, "desk": runtime.settings.desk.code},
        )
    return Ticket(number, group, sequence, now)


# --- applicant look-up ----------------------------------------------------------------


@dataclass(frozen=True)
class ProfileChange:
    field: str
    old: Any
    new: Any
    changed_at: datetime
    officer: str


@dataclass(frozen=True)
class ApplicantRecord:
    """The stored applicant as the counter sees it: profile plus what changed before."""

    applicant_id: str
    id_kind: str
    id_number: str
    name: str
    profile: dict[str, Any]
    updated_at: datetime
    changes: tuple[ProfileChange, ...] = ()


FOREIGN_ID_KINDS = {"paspor": "applicant.no_paspor", "kitas": "applicant.no_kitas"}


def foreign_number(id_kind: str, number: str) -> str:
    """A passport or KITAS/KITAP number as intake stores it (upper case, no spaces), or
    InvalidInput naming what is wrong: a look-up by ``!!`` finds nobody, it is refused."""
    from mppdesk.forms.validators import identity_number

    check = identity_number(id_kind, number)
    if check.error is not None:
        path = FOREIGN_ID_KINDS[id_kind]
        raise InvalidInput([FieldError(path, check.error.id, check.error.en)])
    return check.value


def resolve_identity(runtime: Runtime, id_kind: str, number: str) -> tuple[str, str]:
    """The (kind, number) to look up: a passport or KITAS/KITAP number normalised, and a
    passport number of an applicant keyed by their KITAS (or the reverse) mapped to that key.
    A NIK is left as typed (its own checks run elsewhere)."""
    if id_kind not in FOREIGN_ID_KINDS:
        return id_kind, number
    number = foreign_number(id_kind, number)
    return lookups.foreign_identity(runtime.store, id_kind, number) or (id_kind, number)


def lookup_applicant(
    runtime: Runtime, actor: Actor, id_number: str, id_kind: str = "nik", changes: int = 10
) -> ApplicantRecord | None:
    """The applicant keyed by (kind, number), or None for a first visit. Opening is audited.

    Runs on every KTP scan, so the store reads the rows and chains the audit event with
    raw statements in one write transaction (``store.lookups.view_applicant``).
    """
    require(actor, Operation.INTAKE)
    number = (id_number or "").strip()
    if not number:
        raise InvalidInput([FieldError.of("applicant.nik", "error.nik_required")])
    id_kind, number = resolve_identity(runtime, id_kind, number)
    if runtime.settings.hub.url:  # joined: the mall's record first, the store as fallback
        from mppdesk.desk.hub import lookup_record

        return lookup_record(runtime, actor, number, id_kind, changes)
    found = lookups.view_applicant(
        runtime.store,
        id_kind,
        number,
        changes=changes,
        actor=actor.username,
        action="applicant.viewed",
        details={"desk": runtime.settings.desk.code},
    )
    if found is None:
        return None
    applicant, rows = found
    history = tuple(
        ProfileChange(
            field=row.field,
            old=(row.old_value or {}).get("v"),
            new=(row.new_value or {}).get("v"),
            changed_at=row.changed_at,
            officer=row.officer,
        )
        for row in rows
    )
    return ApplicantRecord(
        applicant_id=applicant.id,
        id_kind=applicant.id_kind,
        id_number=applicant.id_number,
        name=applicant.name,
        profile=dict(applicant.profile),
        updated_at=applicant.updated_at,
        changes=history,
    )


# --- service search -------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceUsage:
    """A snapshot of what this desk uses: read once per visit, searched on every keystroke."""

    recent: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)


def service_usage(runtime: Runtime, actor: Actor, days: int = 30) -> ServiceUsage:
    require(actor, Operation.INTAKE)
    since = (runtime.local_today() - timedelta(days=days)).isoformat()
    with runtime.store.read() as session:
        recent = drafts.recent_services(session, actor.username)
        counts = drafts.service_counts(session, since)
    return ServiceUsage(tuple(recent), counts)


@dataclass(frozen=True)
class ServiceHit:
    code: str
    name: str
    agency_short: str
    agency_name: str
    recent: bool
    uses: int
    score: float


def _words(text: str) -> list[str]:
    return indonesia.fold(text).split()


def search_services(
    catalog: Catalog,
    text: str,
    usage: ServiceUsage | None = None,
    lang: str = "id",
    limit: int = 50,
) -> list[ServiceHit]:
    """Services of every agency matching each typed word (name, agency, keyword, code).

    Ranking: how well the words match (a name or keyword starting with the word beats a
    word inside), then recent use by this officer, then popularity at this desk. An empty
    text lists recent services, then popular ones, then the rest by agency and name.
    """
    usage = usage or ServiceUsage()
    recent_rank = {code: i for i, code in enumerate(usage.recent)}
    words = _words(text)
    hits: list[ServiceHit] = []
    for code, service in catalog.services.items():
        agency = catalog.agencies.get(service.agency)
        agency_short = agency.short_name if agency else service.agency
        agency_name = agency.name.get(lang) if agency else service.agency
        uses = int(usage.counts.get(code, 0))
        recent = code in recent_rank
        boost = (10.0 - min(recent_rank.get(code, 10), 10)) * 2 + min(uses, 50) / 5
        if not words:
            score = boost
        else:
            score = _match_score(words, service, agency_short, agency_name)
            if score <= 0:
                continue
            score += boost
        hits.append(
            ServiceHit(
                code=code,
                name=service.name.get(lang),
                agency_short=agency_short,
                agency_name=agency_name,
                recent=recent,
                uses=uses,
                score=score,
            )
        )
    hits.sort(key=lambda h: (-h.score, h.agency_short.casefold(), h.name.casefold()))
    return hits[:limit]


def _match_score(words: list[str], service: Any, agency_short: str, agency_name: str) -> float:
    names = " ".join(_words(service.name.id) + _words(service.name.en))
    agency = " ".join(_words(agency_short) + _words(agency_name) + _words(service.agency))
    keywords = [indonesia.fold(k) for k in service.keywords]
    code = indonesia.fold(service.code)
    total = 0.0
    for word in words:
        best = 0.0
        for keyword in keywords:
            if keyword == word:
                best = max(best, 100.0)
            elif keyword.startswith(word):
                best = max(best, 60.0)
            elif f" {word}" in f" {keyword}":
                best = max(best, 45.0)
        padded_names = f" {names} "
        if padded_names.startswith(f" {word}"):
            best = max(best, 80.0)
        elif f" {word} " in padded_names:
            best = max(best, 70.0)
        elif f" {word}" in padded_names:
            best = max(best, 55.0)
        elif word in names:
            best = max(best, 20.0)
        padded_agency = f" {agency} "
        if f" {word} " in padded_agency:
            best = max(best, 50.0)
        elif f" {word}" in padded_agency:
            best = max(best, 35.0)
        if word in code:
            best = max(best, 15.0)
        if best == 0:
            return 0.0  # every word must match somewhere
        total += best
    return total / len(words)


# --- drafts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftVisit:
    visit_id: str
    ticket: str
    state: dict[str, Any]
    updated_at: datetime


def save_draft(
    runtime: Runtime, actor: Actor, visit_id: str | None, state: Mapping[str, Any]
) -> str:
    """Store the visit in progress; returns its visit id (new on the first save)."""
    require(actor, Operation.INTAKE)
    from mppdesk.core.canonical import canonical_json

    size = len(canonical_json(dict(state)))
    if size > MAX_DRAFT_BYTES:
        raise InvalidInput(
            [
                FieldError.of("draft", "error.draft_too_large", size=size)
            ]
        )
    visit_id = visit_id or new_id()
    now = runtime.now()
    with runtime.store.write() as session:
        outcome = drafts.save_draft(
            session,
            visit_id=visit_id,
            desk=runtime.settings.desk.code,
            officer=actor.username,
            ticket=str(state.get("ticket") or ""),
            state=state,
            now=now,
            local_date=now.astimezone(runtime.tz).date().isoformat(),
        )
        if outcome == "created":
            repo.append_audit(
                session,
                actor=actor.username,
                action="visit.draft_started",
                object_type="visit",
                object_id=visit_id,
                details={"ticket": str(state.get("ticket") or "")},
            )
    return visit_id


def latest_draft(runtime: Runtime, actor: Actor) -> DraftVisit | None:
    """This officer's unfinished visit at this desk, newest first (restored after a crash)."""
    require(actor, Operation.INTAKE)
    with runtime.store.read() as session:
        visit = drafts.latest_draft(session, runtime.settings.desk.code, actor.username)
        if visit is None:
            return None
        return DraftVisit(visit.id, visit.ticket, dict(visit.draft or {}), visit.updated_at)


def discard_draft(runtime: Runtime, actor: Actor, visit_id: str) -> bool:
    require(actor, Operation.INTAKE)
    with runtime.store.write() as session:
        gone = drafts.delete_draft(session, visit_id)
        if gone:
            repo.append_audit(
                session,
                actor=actor.username,
                action="visit.draft_discarded",
                object_type="visit",
                object_id=visit_id,
            )
    return gone


# --- desk preferences -----------------------------------------------------------------


def update_desk_preferences(
    runtime: Runtime, actor: Actor, *, language: str, idle_lock_minutes: int
) -> Changes:
    """Save the display language and idle-lock time of this install (admins only)."""
    from dataclasses import replace

    from mppdesk.settings import save_settings

    require(actor, Operation.MANAGE_SETTINGS)
    errors = []
    if language not in ("id", "en"):
        errors.append(
            FieldError.of("language", "error.language_invalid")
        )
    if not 1 <= idle_lock_minutes <= 240:
        errors.append(
            FieldError.of("idle_lock_minutes", "error.idle_lock_range")
        )
    if errors:
        raise InvalidInput(errors)
    desk = replace(runtime.settings.desk, language=language, idle_lock_minutes=idle_lock_minutes)
    settings = replace(runtime.settings, desk=desk)
    save_settings(runtime.data_dir, settings)
    runtime.settings = settings
    with runtime.store.write() as session:
        repo.append_audit(
            session,
            actor=actor.username,
            action="settings.changed",
            object_type="desk",
            object_id=desk.code,
            details={"language": language, "idle_lock_minutes": idle_lock_minutes},
        )
    return Changes.of(Kind.SETTINGS)
