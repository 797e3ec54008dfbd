"""Repositories: every query the desk runs, as functions over a Session.

The desk layer passes the session it got from ``Store.write()`` / ``Store.read()`` and never
builds SQL itself. Functions return model objects (valid inside the transaction) or plain
values.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Text, func, insert, select, type_coerce
from sqlalchemy.orm import Session, selectinload

from mppdesk.core.audit_chain import GENESIS, ChainEvent, event_hash
from mppdesk.core.lockout import Attempt
from mppdesk.store.models import (
    Applicant,
    ApplicantChange,
    AuditEvent,
    LoginAttempt,
    Officer,
    OutboxEntry,
    Submission,
    Visit,
    utcnow,
)
from mppdesk.store.models import (
    Sequence as SequenceRow,
)

# --- names ----------------------------------------------------------------------------


# The advisory lock that serialises appends to the audit chain on PostgreSQL (SQLite's
# BEGIN IMMEDIATE already serialises writers); every writer of the chain takes it.
AUDIT_LOCK = 7_300_001

def name_key(name: str) -> str:
    """Upper-case, accents folded, spaces collapsed: the form names are searched in."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.upper().split())


def name_tokens(name: str) -> set[str]:
    """The words of a name as stored in applicant_name_tokens (each word searchable)."""
    return {token[:200] for token in name_key(name).replace(",", " ").replace(".", " ").split()}


# --- officers and login ---------------------------------------------------------------


def get_officer(session: Session, username: str) -> Officer | None:
    return session.scalar(select(Officer).where(Officer.username == username))


def add_officer(
    session: Session, username: str, role: str, password_hash: str, full_name: str = ""
) -> Officer:
    officer = Officer(
        username=username, role=role, password_hash=password_hash, full_name=full_name
    )
    session.add(officer)
    session.flush()
    return officer


def list_officers(session: Session) -> list[Officer]:
    return list(session.scalars(select(Officer).order_by(Officer.username)))


def count_officers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Officer)) or 0


def record_login_attempt(session: Session, username: str, ok: bool, at: datetime) -> None:
    session.add(LoginAttempt(username=username, ok=ok, at=at))


def recent_login_attempts(session: Session, username: str, limit: int) -> list[Attempt]:
    """The latest ``limit`` attempts of a name in the order they were recorded (row id).

    Lockout decides by this order, not by the stored times, which a wrong clock can skew.
    """
    rows = session.execute(
        select(LoginAttempt.id, LoginAttempt.at, LoginAttempt.ok)
        .where(LoginAttempt.username == username)
        .order_by(LoginAttempt.id.desc())
        .limit(limit)
    )
    return [
        Attempt(sequence=row_id, at=at if at.tzinfo is not None else at.replace(tzinfo=UTC), ok=ok)
        for row_id, at, ok in rows
    ]


# --- sequences ------------------------------------------------------------------------


def next_sequence(session: Session, name: str) -> int:
    """Atomically take the next number of a named counter (1, 2, …)."""
    return next_sequence_block(session, name, 1)


def next_sequence_block(session: Session, name: str, count: int) -> int:
    """Take ``count`` consecutive numbers at once; returns the first.

    One upsert statement: two desks on a shared store taking the first number of a day at
    the same moment cannot both insert the row.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    statement = upsert(SequenceRow).values(name=name, value=count)
    statement = statement.on_conflict_do_update(
        index_elements=[SequenceRow.name], set_={"value": SequenceRow.value + count}
    ).returning(SequenceRow.value)
    value = session.scalar(statement)
    return int(value) - count + 1


# --- applicants -----------------------------------------------------------------------


def get_applicant(session: Session, applicant_id: str) -> Applicant | None:
    return session.get(Applicant, applicant_id)


def applicant_changes(
    session: Session, applicant_id: str, limit: int = 50
) -> list[ApplicantChange]:
    return list(
        session.scalars(
            select(ApplicantChange)
            .where(ApplicantChange.applicant_id == applicant_id)
            .order_by(ApplicantChange.id.desc())
            .limit(limit)
        )
    )


# --- visits and submissions -----------------------------------------------------------


def get_visit(session: Session, visit_id: str) -> Visit | None:
    return session.scalar(
        select(Visit)
        .where(Visit.id == visit_id)
        .options(
            selectinload(Visit.submissions).selectinload(Submission.checklist),
            selectinload(Visit.submissions).selectinload(Submission.outbox),
            selectinload(Visit.submissions).selectinload(Submission.attachments),
        )
    )


def find_submission_by_tracking(session: Session, tracking_number: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.tracking_number == tracking_number))


def list_submissions(
    session: Session,
    *,
    local_date: str | None = None,
    status: str | None = None,
    desk: str | None = None,
    agency: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[Submission]:
    query = select(Submission).options(
        selectinload(Submission.outbox), selectinload(Submission.checklist)
    )
    if agency is not None:
        query = query.where(Submission.agency == agency)
    if local_date is not None:
        query = query.where(Submission.local_date == local_date)
    if status is not None:
        query = query.where(Submission.status == status)
    if desk is not None:
        query = query.join(Visit, Visit.id == Submission.visit_id).where(Visit.desk == desk)
    query = query.order_by(Submission.finalized_at, Submission.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# --- counts ---------------------------------------------------------------------------


def counts(session: Session) -> dict[str, int]:
    def count(model, *where) -> int:
        query = select(func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)
        return int(session.scalar(query) or 0)

    return {
        "applicants": count(Applicant),
        "visits": count(Visit, Visit.status == "finalized"),
        "submissions": count(Submission),
        "outbox_pending": count(OutboxEntry, OutboxEntry.state.in_(("pending", "in_flight"))),
    }


# --- audit ----------------------------------------------------------------------------


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: str = "",
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the hash chain (inside the caller's write transaction)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # One writer at a time extends the chain; SQLite's BEGIN IMMEDIATE already serializes.
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK)))
    prev = (
        session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    )
    at = at or utcnow()
    details = dict(details or {})
    digest = event_hash(prev, at, actor, action, object_type, object_id, details)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        prev_hash=prev,
        hash=digest,
    )
    session.add(event)
    session.flush()
    return event


def append_audit_batch(
    session: Session,
    actor: str,
    events: Sequence[Mapping[str, Any]],
    at: datetime | None = None,
) -> None:
    """Several events of one operation, chained in order and inserted in one statement."""
    if not events:
        return
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_LOCK)))
    prev = (
        session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    )
    at = at or utcnow()
    rows = []
    for event in events:
        details = dict(event.get("details") or {})
        object_type = event.get("object_type", "")
        object_id = event.get("object_id", "")
        digest = event_hash(prev, at, actor, event["action"], object_type, object_id, details)
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": event["action"],
                "object_type": object_type,
                "object_id": object_id,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    session.execute(insert(AuditEvent.__table__), rows)


def audit_events(session: Session, after_id: int = 0, batch: int = 5000) -> Iterable[ChainEvent]:
    """Every audit event in order, as plain values, read in batches."""
    last = after_id
    while True:
        # Time and details are read as stored and decoded here, row by row: an event edited
        # into something unreadable is then reported by verify_chain as that event, instead
        # of failing the whole batch's query.
        rows = session.execute(
            select(
                AuditEvent.id,
                type_coerce(AuditEvent.at, String),
                AuditEvent.actor,
                AuditEvent.action,
                AuditEvent.object_type,
                AuditEvent.object_id,
                type_coerce(AuditEvent.details, Text),
                AuditEvent.prev_hash,
                AuditEvent.hash,
            )
            .where(AuditEvent.id > last)
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield ChainEvent(
                row[0],
                _stored_time(row[1]),
                row[2],
                row[3],
                row[4],
                row[5],
                _stored_json(row[6]),
                row[7],
                row[8],
            )
        last = rows[-1][0]


def _stored_time(value: Any) -> Any:
    """A stored UTC time as an aware datetime; the raw value when it does not parse."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError:
        return value


def _stored_json(value: Any) -> Any:
    """Stored JSON decoded; the raw text when it does not parse (an edited event)."""
    if not isinstance(value, str | bytes):
        return value  # PostgreSQL's driver decodes JSON itself
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value


def count_audit(session: Session, action: str, object_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.object_id == object_id)
        )
        or 0
    )


def audit_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)
