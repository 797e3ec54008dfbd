"""The access log: whose data each audited search and view showed, and who looked.

A person is named in the log by a *subject*: HMAC-SHA256 of their identity number (NIK,
passport or KITAS/KITAP number, normalised: upper case, no spaces), keyed by a random secret
made with the store (``desk_secrets``, migration 0007) and cut to 32 hex digits. So the log
answers "who saw this NIK" for whoever can type the NIK, while the audit chain, the hub it
is pushed to and an exported log never hold the number itself, and a list of subjects cannot
be turned back into numbers by trying every NIK without the store's key. The secret travels
with the store (backups, restore); a second desk has its own, so subjects of two desks do not
match (the hub audits its own look-ups by its own keyed hash).

Each event's subjects are in its details (covered by the hash chain) and in
``audit_subjects`` (indexed), one row per person, so the question is an index look-up.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mppdesk.store import repo
from mppdesk.store.models import (
    Applicant,
    AuditEvent,
    AuditSubject,
    DeskSecret,
    Officer,
    Submission,
    Visit,
)

SUBJECT_SECRET = "audit-subject"
SUBJECT_HEX = 32
MAX_SUBJECTS_PER_EVENT = 100  # a search page shows at most this many people
_SPACES = re.compile(r"\s+")
_secrets: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()


def normalize_number(number: str) -> str:
    """An identity number as subjects are made from it: upper case, without spaces."""
    return _SPACES.sub("", str(number or "")).upper()


def subject_of(secret: bytes, number: str) -> str:
    """The keyed hash that stands for the person with this identity number."""
    digest = hmac.new(secret, normalize_number(number).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:SUBJECT_HEX]


def _secret_from(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) < 32:
        raise ValueError("the store's audit subject key is missing or damaged")
    return bytes.fromhex(value)


def secret_in_session(session: Session) -> bytes:
    """The store's subject key, read in the caller's transaction (cached per store)."""
    bind = session.get_bind()
    cached = _secrets.get(bind)
    if cached is None:
        cached = _secret_from(
            session.scalar(select(DeskSecret.value).where(DeskSecret.name == SUBJECT_SECRET))
        )
        _secrets[bind] = cached
    return cached


def secret_from_cursor(engine: Any, cursor: Any, paramstyle: str) -> bytes:
    """The same key for the raw DB-API path of ``store.lookups`` (cached per engine)."""
    cached = _secrets.get(engine)
    if cached is None:
        cursor.execute(
            f"SELECT value FROM desk_secrets WHERE name = {paramstyle}",  # noqa: S608 - placeholder only
            (SUBJECT_SECRET,),
        )
        row = cursor.fetchone()
        cached = _secret_from(row[0] if row else None)
        _secrets[engine] = cached
    return cached


def append_access(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any],
    numbers: Iterable[str],
    at: datetime | None = None,
) -> int:
    """Chain one access event naming the people whose data it showed; its id.

    ``numbers`` are identity numbers: only their subjects are written, in the event's details
    (``subjects``) and in the index table.
    """
    secret = secret_in_session(session)
    subjects = sorted({subject_of(secret, n) for n in numbers if normalize_number(n)})
    subjects = subjects[:MAX_SUBJECTS_PER_EVENT]
    event = repo.append_audit(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details={**details, "subjects": subjects},
        at=at,
    )
    session.flush()
    session.add_all(AuditSubject(subject=s, event_id=event.id) for s in subjects)
    return event.id


def _related_objects(session: Session, numbers: Sequence[str]) -> list[str]:
    """Ids of the applicants with these numbers and of their visits and submissions: events
    about them (intake, review, reprint, collection, look-ups before 0007) concern the person."""
    applicant_ids = list(
        session.scalars(select(Applicant.id).where(Applicant.id_number.in_(list(numbers))))
    )
    if not applicant_ids:
        return []
    submission_ids = session.scalars(
        select(Submission.id).where(Submission.applicant_id.in_(applicant_ids))
    )
    visit_ids = session.scalars(select(Visit.id).where(Visit.applicant_id.in_(applicant_ids)))
    return [*applicant_ids, *submission_ids, *visit_ids]


def access_events(
    session: Session,
    *,
    numbers: Sequence[str] = (),
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Sequence[str] = (),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Audit events newest first, as plain rows with the actor's full name.

    With ``numbers``: the events naming those people (by subject) or concerning their
    applicant record, visits and submissions. Without: the events of ``actions``.
    ``since``/``until`` (aware, ``until`` exclusive) and ``actor`` narrow either.
    """
    query = select(AuditEvent, Officer.full_name).outerjoin(
        Officer, Officer.username == AuditEvent.actor
    )
    if numbers:
        secret = secret_in_session(session)
        subjects = [subject_of(secret, n) for n in numbers]
        by_subject = select(AuditSubject.event_id).where(AuditSubject.subject.in_(subjects))
        related = _related_objects(session, numbers)
        conditions = [AuditEvent.id.in_(by_subject)]
        if related:
            conditions.append(AuditEvent.object_id.in_(related))
        query = query.where(or_(*conditions))
    elif actions:
        query = query.where(AuditEvent.action.in_(list(actions)))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    query = query.order_by(AuditEvent.id.desc()).limit(max(1, int(limit)))
    rows = []
    for event, full_name in session.execute(query):
        rows.append(
            {
                "id": event.id,
                "at": event.at,
                "actor": event.actor,
                "actor_name": full_name or "",
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "details": dict(event.details or {}),
            }
        )
    return rows


def count_subject_rows(session: Session) -> int:
    """How many (person, event) rows the index holds (``info`` and the tests)."""
    return session.scalar(select(func.count()).select_from(AuditSubject)) or 0
