"""The desk's side of replication to the mall hub: journal, hub state, look-up cache.

Triggers (migration 0006) write one ``hub_journal`` row per committed change, inside the
committing transaction. The pusher reads the journal in sequence order, turns each entry into
a record holding the row as it is now (state-based, ``resources/protocol/hub-sync.md``), and
deletes the entries the hub acknowledged, in the same transaction that records the ack.

Things pulled from the hub are applied here too, each in one write transaction together with
the new pull cursor: officers (hash, role, disabled), holidays, review decisions on this desk's
submissions (an approval releases held outbox entries, exactly as a local one does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from mppdesk.core.states import ReviewState, Role, SubmissionStatus
from mppdesk.store import outbox, repo
from mppdesk.store import review as review_store
from mppdesk.store.models import (
    Applicant,
    ApplicantChange,
    Attachment,
    AuditEvent,
    BillingRecord,
    ChecklistItem,
    HubJournal,
    HubLookupCache,
    HubState,
    Officer,
    OutboxEntry,
    ReviewDecision,
    Submission,
    SurveyResponse,
    Visit,
)

MAX_BATCH = 500  # records per push (the contract's limit)

# kind -> (model, columns left out of the record). Outbox payloads are the agency's frozen
# bytes (the hub has the submission), leases are this PC's business, drafts are work in
# progress; attachments go as hash, size and type only (their bytes stay on the desk).
_KINDS: dict[str, tuple[type, frozenset[str]]] = {
    "applicant": (Applicant, frozenset({"name_key"})),
    "applicant_change": (ApplicantChange, frozenset()),
    "visit": (Visit, frozenset({"draft"})),
    "submission": (Submission, frozenset()),
    "outbox_state": (
        OutboxEntry,
        frozenset({"payload", "lease_owner", "lease_expires_at", "attachments_acked"}),
    ),
    "review": (ReviewDecision, frozenset()),
    "checklist": (ChecklistItem, frozenset()),
    "survey": (SurveyResponse, frozenset()),
    "attachment": (Attachment, frozenset()),
    "audit": (AuditEvent, frozenset()),
    # A submission's bill (code, agency, amount, state, NTPN, times): nothing personal. No
    # trigger journals it (0006 predates it): ``mppdesk.store.billing`` does, as it writes.
    "billing": (BillingRecord, frozenset()),
}
KINDS = tuple(_KINDS)
BILLING_JOURNALLED = "billing_journalled"  # hub_state: bills stored before were journalled

# hub_state names
ACKED = "acked"  # the highest desk sequence the hub stored
CURSOR = "pull_cursor"
LAST_PUSH = "last_push"  # {"at": iso, "pushed": n}
LAST_PULL = "last_pull"  # {"at": iso, "pulled": n}
LAST_ERROR = "last_error"  # {"at": iso, "outcome": ..., "message": ...} or None
CATALOG = "catalog"  # {"sha256": ..., "applied_at": ...}
CATALOG_ERROR = "catalog_error"  # {"sha256": ..., "problems": [...], "at": ...} or None
HOLIDAYS = "holidays"  # {"2027": ["2027-01-01", ...]}
AGENCIES = "agencies"  # {"dukcapil": {...endpoint settings without tokens...}}
TICKET_BLOCK = "ticket_block"  # numbering of offline tickets is the sequences table's


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    kind: str
    entity_id: str


def iso(value: datetime) -> str:
    """A desk time as the contract writes it (UTC, microseconds), the form audit hashes."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


# --- the journal --------------------------------------------------------------------------


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(HubJournal)) or 0)


def journal_batch(session: Session, limit: int = MAX_BATCH) -> list[JournalEntry]:
    rows = session.execute(
        select(HubJournal.seq, HubJournal.kind, HubJournal.entity_id)
        .order_by(HubJournal.seq)
        .limit(max(1, min(limit, MAX_BATCH)))
    ).all()
    return [JournalEntry(int(r[0]), r[1], r[2]) for r in rows]


def records(session: Session, entries: Iterable[JournalEntry]) -> list[dict[str, Any]]:
    """The push records of ``entries``: each row as it is now, ``{"deleted": true}`` when
    it is gone."""
    entries = list(entries)
    by_kind: dict[str, set[str]] = {}
    for entry in entries:
        by_kind.setdefault(entry.kind, set()).add(entry.entity_id)
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, ids in by_kind.items():
        if kind not in _KINDS:
            continue
        for entity_id, body in _bodies(session, kind, ids).items():
            bodies[(kind, entity_id)] = body
    return [
        {
            "seq": e.seq,
            "kind": e.kind,
            "id": wire_id(e.entity_id),
            # A row gone from the desk (a purged change) replaces the hub's copy by a marker.
            "body": bodies.get((e.kind, e.entity_id)) or {"deleted": True},
        }
        for e in entries
    ]


def wire_id(entity_id: str) -> str:
    """The record's id as the hub takes it (at most 64 characters): a checklist item's
    "submission/requirement" with a long requirement id is shortened by a hash of it."""
    if len(entity_id) <= 64:
        return entity_id
    import hashlib

    head = entity_id.partition("/")[0]
    return f"{head[:36]}/#{hashlib.sha256(entity_id.encode()).hexdigest()[:25]}"


def _bodies(session: Session, kind: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    model, leave_out = _KINDS[kind]
    table = model.__table__
    columns = [c for c in table.columns if c.name not in leave_out]
    if kind == "checklist":
        pairs = [i.split("/", 1) for i in ids if "/" in i]
        submission_ids = {p[0] for p in pairs}
        rows = session.execute(
            select(*columns).where(table.c.submission_id.in_(submission_ids))
        ).mappings()
        found = {f"{r['submission_id']}/{r['requirement_id']}": dict(r) for r in rows}
        found = {key: value for key, value in found.items() if key in ids}
    else:
        key = table.c.id if "id" in table.c else table.c.submission_id
        wanted: list[Any] = [int(i) for i in ids if i.isdigit()] if key.type.python_type is int else list(ids)
        found = {
            str(r[key.name]): dict(r)
            for r in session.execute(select(*columns).where(key.in_(wanted))).mappings()
        }
    result: dict[str, dict[str, Any]] = {}
    for entity_id, row in found.items():
        body = {name: _plain(value) for name, value in row.items()}
        if kind == "applicant":
            body["base_version"] = body.pop("hub_version", None)
        result[entity_id] = body
    if kind == "applicant":
        _fill_base_versions(session, result)
    return result


def _fill_base_versions(session: Session, bodies: dict[str, dict[str, Any]]) -> None:
    """An applicant pre-filled from the hub before this desk stored them takes the version
    of the hub's look-up answer as its base."""
    missing = [b for b in bodies.values() if b.get("base_version") is None]
    for body in missing:
        version = session.scalar(
            select(HubLookupCache.version).where(
                HubLookupCache.id_kind == body.get("id_kind"),
                HubLookupCache.id_number == body.get("id_number"),
            )
        )
        if version is not None:
            body["base_version"] = int(version)


# A rebuilt journal's order: what a record refers to before the record; the audit events
# last, by id, so the hub verifies the chain from its first event.
_BACKFILL_ORDER = (
    "applicant",
    "applicant_change",
    "visit",
    "submission",
    "checklist",
    "outbox_state",
    "review",
    "survey",
    "attachment",
    "billing",
    "audit",
)


def _all_ids(session: Session, kind: str) -> list[str]:
    """The ids the journal triggers would write for every row of ``kind`` now."""
    model, _leave_out = _KINDS[kind]
    table = model.__table__
    if kind == "checklist":
        rows = session.execute(
            select(table.c.submission_id, table.c.requirement_id).order_by(
                table.c.submission_id, table.c.requirement_id
            )
        )
        return [f"{submission}/{requirement}" for submission, requirement in rows]
    key = table.c.id if "id" in table.c else table.c.submission_id
    query = select(key).order_by(key)
    if kind == "visit":
        query = query.where(table.c.status == "finalized")  # as the trigger's WHEN
    return [str(value) for value in session.scalars(query)]


def backfill_journal(session: Session) -> int:
    """Journal the rows written before the journal existed; the number added.

    Rows stored before migration 0006 (a desk upgraded with its history) have no journal
    entry, so without this the hub would get only what changed since, and the audit chain
    would start in its middle (refused as broken). Done when a desk joins and has pushed
    nothing yet: the journal is rebuilt from sequence 1 — the history first (in
    ``_BACKFILL_ORDER``), then the entries already there in their order — which is what the
    hub expects of a desk it has never heard from. A desk that has pushed is left alone.
    """
    if int(get_state(session, ACKED) or 0) > 0:
        return 0
    set_state(session, BILLING_JOURNALLED, True)  # the rebuilt journal holds every bill
    existing = [
        (kind, entity_id)
        for kind, entity_id in session.execute(
            select(HubJournal.kind, HubJournal.entity_id).order_by(HubJournal.seq)
        )
    ]
    journalled = set(existing)
    missing = [
        (kind, entity_id)
        for kind in _BACKFILL_ORDER
        for entity_id in _all_ids(session, kind)
        if (kind, entity_id) not in journalled
    ]
    if not missing:
        return 0
    session.execute(delete(HubJournal))
    # AUTOINCREMENT keeps its counter in sqlite_sequence: start again at 1 (nothing pushed).
    session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'hub_journal'"))
    session.execute(
        insert(HubJournal),
        [{"kind": kind, "entity_id": entity_id} for kind, entity_id in missing + existing],
    )
    session.flush()
    return len(missing)


def journal_billing_history(session: Session) -> int:
    """Journal, once, the bills a desk stored before bills were replicated; the number added.

    A desk that had already pushed when it was upgraded (``backfill_journal`` leaves it
    alone) would otherwise send a bill only when its state next changes, and a paid one never:
    the mall's totals would miss that money. Bills already waiting in the journal are not
    added twice. Marked done in ``hub_state``, so it runs once per desk."""
    if get_state(session, BILLING_JOURNALLED):
        return 0
    waiting = set(
        session.scalars(select(HubJournal.entity_id).where(HubJournal.kind == "billing"))
    )
    missing = [i for i in _all_ids(session, "billing") if i not in waiting]
    if missing:
        session.execute(
            insert(HubJournal), [{"kind": "billing", "entity_id": i} for i in missing]
        )
    set_state(session, BILLING_JOURNALLED, True)
    return len(missing)


def record_acked(session: Session, acked: int, pushed: int, now: datetime) -> None:
    """The hub stored everything up to ``acked``: forget those entries (one transaction)."""
    session.execute(delete(HubJournal).where(HubJournal.seq <= acked))
    previous = get_state(session, ACKED) or 0
    set_state(session, ACKED, max(int(previous), int(acked)))
    set_state(session, LAST_PUSH, {"at": iso(now), "pushed": int(pushed)})
    set_state(session, LAST_ERROR, None)


# --- hub state ------------------------------------------------------------------------------


def get_state(session: Session, name: str) -> Any:
    row = session.get(HubState, name)
    return None if row is None else row.value


def set_state(session: Session, name: str, value: Any) -> None:
    row = session.get(HubState, name)
    if row is None:
        session.add(HubState(name=name, value=value))
    else:
        row.value = value
    session.flush()


def all_state(session: Session) -> dict[str, Any]:
    return {row.name: row.value for row in session.scalars(select(HubState))}


def record_error(session: Session, outcome: str, message: str, now: datetime) -> None:
    set_state(session, LAST_ERROR, {"at": iso(now), "outcome": outcome, "message": message[:300]})


# --- look-up cache --------------------------------------------------------------------------


def cache_applicant(session: Session, applicant: Mapping[str, Any], now: datetime) -> None:
    """Keep the hub's answer (offline fallback) and its version as the local row's base."""
    id_kind, id_number = str(applicant["id_kind"]), str(applicant["id_number"])
    version = applicant.get("version")
    version = version if isinstance(version, int) and not isinstance(version, bool) else None
    row = session.get(HubLookupCache, (id_kind, id_number))
    if row is None:
        session.add(
            HubLookupCache(
                id_kind=id_kind, id_number=id_number, applicant=dict(applicant),
                version=version, fetched_at=now,
            )
        )
    else:
        row.applicant, row.version, row.fetched_at = dict(applicant), version, now
    if version is not None:
        # Only hub_version changes: the journal trigger leaves this update out (0006).
        local = session.scalar(
            select(Applicant).where(Applicant.id_kind == id_kind, Applicant.id_number == id_number)
        )
        if local is not None:
            local.hub_version = version
    session.flush()


# The hub answers a passport with the foreigner keyed by their KITAS/KITAP whose profile holds
# it (and the reverse): asked kind -> (the kind such an answer is kept under, the field).
_FOREIGN_ALIAS = {"paspor": ("kitas", "no_paspor"), "kitas": ("paspor", "no_kitas")}


def cached_applicant(session: Session, id_kind: str, id_number: str) -> dict[str, Any] | None:
    """The hub's last answer for (kind, number); for a foreign number, also the answer kept
    under the person's other number whose profile holds it (what the hub answered online)."""
    row = session.get(HubLookupCache, (id_kind, id_number))
    if row is None and id_kind in _FOREIGN_ALIAS:
        kind, field = _FOREIGN_ALIAS[id_kind]
        row = session.scalars(
            select(HubLookupCache)
            .where(
                HubLookupCache.id_kind == kind,
                HubLookupCache.applicant["profile"][field].as_string() == id_number,
            )
            .order_by(HubLookupCache.fetched_at.desc())
            .limit(1)
        ).first()
    return None if row is None else dict(row.applicant)


# --- applying what was pulled ---------------------------------------------------------------


def upsert_officer(session: Session, body: Mapping[str, Any]) -> bool:
    """An account as the hub holds it; False when the item is not one the desk can use."""
    username, role = body.get("username"), body.get("role")
    password_hash, disabled = body.get("password_hash"), body.get("disabled", False)
    if (
        not isinstance(username, str)
        or not 2 <= len(username) <= 64
        or role not in {r.value for r in Role}
        or not isinstance(password_hash, str)
        or not password_hash.startswith("$argon2")
        or not isinstance(disabled, bool)
    ):
        return False
    full_name = body.get("full_name")
    full_name = full_name[:200] if isinstance(full_name, str) else ""
    officer = repo.get_officer(session, username)
    if officer is None:
        officer = repo.add_officer(session, username, role, password_hash, full_name)
    else:
        officer.role, officer.password_hash = role, password_hash
        officer.full_name = full_name or officer.full_name
    officer.active = not disabled
    session.flush()
    return True


def store_holidays(session: Session, body: Mapping[str, Any]) -> bool:
    year, dates = body.get("year"), body.get("dates")
    if isinstance(year, bool) or not isinstance(year, int) or not isinstance(dates, list):
        return False
    days = []
    for value in dates:
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None or day.year != year:
            return False
        days.append(day.isoformat())
    holidays = dict(get_state(session, HOLIDAYS) or {})
    holidays[str(year)] = sorted(set(days))
    set_state(session, HOLIDAYS, holidays)
    return True


def hub_holidays(session: Session) -> dict[str, list[str]]:
    return dict(get_state(session, HOLIDAYS) or {})


# What ``apply_review`` did with one pulled decision.
REVIEW_APPLIED = "applied"  # recorded (or already recorded: a decision pulled twice)
REVIEW_UNUSABLE = "unusable"  # not a decision on a submission of this desk
REVIEW_OWN_INTAKE = "own_intake"  # refused: an approval by the officer who took it in
REVIEW_SUPERSEDED = "superseded"  # refused: an approval of a corrected or cancelled one
REVIEW_REFUSALS = frozenset({REVIEW_OWN_INTAKE, REVIEW_SUPERSEDED})
REFUSED_REVIEWS = "refused_reviews"  # hub_state: the latest refused decisions, shown
REFUSED_KEEP = 20


def apply_review(session: Session, body: Mapping[str, Any], desk: str, now: datetime) -> str:
    """A decision taken at another desk on one of this desk's submissions, applied as if
    this desk's supervisor had taken it: an approval releases held outbox entries. The same
    decision pulled twice is recorded once.

    An approval this desk would refuse locally (``mppdesk.desk.review``) is refused here
    too, whatever the hub accepted (the hub may not have known yet that the submission was
    superseded, or may run an older version): the officer who took the submission in does
    not approve it, and a superseded one is not approved at all. A refusal changes nothing
    of the submission; it is audited and kept in ``REFUSED_REVIEWS`` for the hub status
    to show, never dropped silently. Returns one of the ``REVIEW_*`` outcomes."""
    submission_id, decision = body.get("submission_id"), body.get("decision")
    actor, reason = body.get("actor"), body.get("reason")
    if (
        not isinstance(submission_id, str)
        or decision not in (ReviewState.APPROVED, ReviewState.RETURNED, ReviewState.FLAGGED)
        or not isinstance(actor, str)
        or not actor
        or (reason is not None and not isinstance(reason, str))
        or body.get("desk") not in (None, desk)
    ):
        return REVIEW_UNUSABLE
    try:
        decided_at = datetime.fromisoformat(str(body.get("decided_at")))
        decided_at = decided_at if decided_at.tzinfo else decided_at.replace(tzinfo=UTC)
    except ValueError:
        decided_at = now
    target = review_store.targets(session, [submission_id]).get(submission_id)
    if target is None:
        return REVIEW_UNUSABLE
    if decision == ReviewState.APPROVED:
        refusal = _approval_refusal(target, actor)
        if refusal is not None:
            _refuse_review(session, target, refusal, actor, decided_at, now)
            return refusal
    seen = session.scalar(
        select(func.count()).select_from(ReviewDecision).where(
            ReviewDecision.submission_id == submission_id,
            ReviewDecision.decision == decision,
            ReviewDecision.actor == f"hub:{actor}",
            ReviewDecision.decided_at == decided_at,
        )
    )
    if seen:
        return REVIEW_APPLIED
    released = 0
    if decision == ReviewState.APPROVED:
        released = outbox.release_held(session, submission_id, now)
    review_store.record_decision(
        session, submission_id, decision, reason, f"hub:{actor}", decided_at, released
    )
    repo.append_audit(
        session,
        actor=f"hub:{actor}",
        action=f"review.{decision}",
        object_type="submission",
        object_id=submission_id,
        details={
            "tracking_number": target.tracking_number,
            "reason": reason,
            "released": released,
            "previous_review": target.review_state,
            "status_before": target.status,
            "from_hub": True,
        },
        at=now,
    )
    return REVIEW_APPLIED


def _approval_refusal(target: review_store.ReviewTarget, actor: str) -> str | None:
    if target.officer and target.officer == actor:
        return REVIEW_OWN_INTAKE
    if target.superseded_by is not None or target.status == SubmissionStatus.SUPERSEDED:
        return REVIEW_SUPERSEDED
    return None


def _refuse_review(
    session: Session,
    target: review_store.ReviewTarget,
    refusal: str,
    actor: str,
    decided_at: datetime,
    now: datetime,
) -> None:
    """Audit a refused hub approval (once) and keep it for the hub status."""
    entry = {
        "at": iso(now),
        "decided_at": iso(decided_at),
        "submission_id": target.id,
        "tracking_number": target.tracking_number,
        "actor": actor,
        "refusal": refusal,
        "superseded_by": target.superseded_by,
    }
    kept = [
        e for e in (get_state(session, REFUSED_REVIEWS) or []) if isinstance(e, dict)
    ]
    if any(
        e.get("submission_id") == target.id
        and e.get("decided_at") == entry["decided_at"]
        and e.get("actor") == actor
        for e in kept
    ):
        return  # the same decision pulled again: already refused and audited
    set_state(session, REFUSED_REVIEWS, ([entry] + kept)[:REFUSED_KEEP])
    repo.append_audit(
        session,
        actor=f"hub:{actor}",
        action="review.refused_from_hub",
        object_type="submission",
        object_id=target.id,
        details={
            "tracking_number": target.tracking_number,
            "refusal": refusal,
            "superseded_by": target.superseded_by,
            "review_state": target.review_state,
            "status": target.status,
        },
        at=now,
    )


def refused_reviews(session: Session) -> list[dict[str, Any]]:
    """The latest hub approvals this desk refused, newest first (at most ``REFUSED_KEEP``)."""
    return [e for e in (get_state(session, REFUSED_REVIEWS) or []) if isinstance(e, dict)]


def officer_exists(session: Session, username: str) -> bool:
    return session.scalar(select(Officer.id).where(Officer.username == username)) is not None


def journal_dump(session: Session) -> list[tuple[int, str, str]]:
    """Every journal row (tests and ``hub status``'s detail)."""
    return [tuple(r) for r in session.execute(
        select(HubJournal.seq, HubJournal.kind, HubJournal.entity_id).order_by(HubJournal.seq)
    ).all()]


def canonical_files_sha(files: Mapping[str, str]) -> str:
    from mppdesk.core.canonical import canonical_json, sha256_hex

    return sha256_hex(canonical_json(dict(files)))

