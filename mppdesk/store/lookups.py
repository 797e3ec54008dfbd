"""The counter's hottest operation (the NIK look-up of the visit page) without the ORM.

Same tables and stored formats as the ORM models, with plain DB-API statements in one
write transaction: the applicant, its recent profile changes and the audited view (naming
the person by subject, ``store.access_log``). It runs
on every scan of a KTP, so it stays within a small factor of raw SQL: see ``nik_lookup`` in
bench/bench_store.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mppdesk.core.audit_chain import GENESIS, event_hash
from mppdesk.store import access_log
from mppdesk.store.database import Store
from mppdesk.store.repo import AUDIT_LOCK


@dataclass(frozen=True)
class ApplicantRow:
    id: str
    id_kind: str
    id_number: str
    name: str
    profile: dict[str, Any]
    updated_at: datetime | None


@dataclass(frozen=True)
class ChangeRow:
    """One stored profile change, as ``applicant_changes`` holds it (values wrapped as {"v": …})."""

    field: str
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    changed_at: datetime | None
    officer: str


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _json(value: Any) -> Any:
    # SQLite hands JSON columns back as text; psycopg has already decoded them.
    return json.loads(value) if isinstance(value, str | bytes) else value


def view_applicant(
    store: Store,
    id_kind: str,
    id_number: str,
    *,
    changes: int,
    actor: str,
    action: str,
    details: Mapping[str, Any],
) -> tuple[ApplicantRow, list[ChangeRow]] | None:
    """The applicant keyed by (kind, number) and its last ``changes`` profile changes, newest
    first, with one audit event (``action`` on the applicant) chained in the same write
    transaction; None, and nothing written, when there is no such applicant.

    Raw statements on a pooled connection (``Store.raw_write``): this runs on every KTP
    scan, and the ORM's session and unit of work cost more than the statements themselves.
    """
    is_sqlite = store.is_sqlite
    p = store.paramstyle
    limit = max(0, int(changes))
    with store.raw_write() as cursor:
        # Only constant column lists and placeholders are put into the SQL text.
        cursor.execute(
            "SELECT id, id_kind, id_number, name, profile, updated_at FROM applicants"  # noqa: S608
            f" WHERE id_kind = {p} AND id_number = {p}",
            (id_kind, id_number),
        )
        found = cursor.fetchone()
        if found is None:
            return None
        history: list[ChangeRow] = []
        if limit:
            cursor.execute(
                "SELECT field, old_value, new_value, changed_at, officer"  # noqa: S608
                f" FROM applicant_changes WHERE applicant_id = {p} ORDER BY id DESC LIMIT {p}",
                (found[0], limit),
            )
            history = [
                ChangeRow(r[0], _json(r[1]), _json(r[2]), _datetime(r[3]), r[4])
                for r in cursor.fetchall()
            ]
        if not is_sqlite:
            # One writer at a time extends the chain (SQLite's BEGIN IMMEDIATE already is).
            cursor.execute(f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})")
        cursor.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1")
        head = cursor.fetchone()
        prev = head[0] if head else GENESIS
        at = datetime.now(UTC)
        # The person is named by a keyed hash of the number, never the number (access_log).
        secret = access_log.secret_from_cursor(store.engine, cursor, p)
        facts = {**dict(details), "subjects": [access_log.subject_of(secret, found[2])]}
        digest = event_hash(prev, at, actor, action, "applicant", found[0], facts)
        naive = at.replace(tzinfo=None)
        cursor.execute(
            "INSERT INTO audit_events (at, actor, action, object_type, object_id, details,"  # noqa: S608
            f" prev_hash, hash) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}) RETURNING id",
            (
                # As SQLAlchemy stores a UtcDateTime: naive UTC, text with microseconds
                # in SQLite.
                naive.isoformat(" ", "microseconds") if is_sqlite else naive,
                actor,
                action,
                "applicant",
                found[0],
                json.dumps(facts),
                prev,
                digest,
            ),
        )
        event_id = cursor.fetchone()[0]
        cursor.execute(
            f"INSERT INTO audit_subjects (subject, event_id) VALUES ({p}, {p})",  # noqa: S608
            (facts["subjects"][0], event_id),
        )
    applicant = ApplicantRow(
        found[0], found[1], found[2], found[3], _json(found[4]) or {}, _datetime(found[5])
    )
    return applicant, history


_PROFILE_FIELDS = {"paspor": "no_paspor", "kitas": "no_kitas"}


def foreign_identity(store: Store, id_kind: str, number: str) -> tuple[str, str] | None:
    """The (kind, number) keying the foreign applicant whose profile holds this passport or
    KITAS/KITAP number under the other kind: an applicant is keyed by their KITAS when they
    have one, yet the officer may hold only the passport. None when nobody has it.

    Only the other foreign kind's rows are read (the identity index narrows them), so the
    cost follows the number of foreign applicants, not all applicants.
    """
    field = _PROFILE_FIELDS.get(id_kind)
    if field is None:
        return None
    from sqlalchemy import text

    other = "kitas" if id_kind == "paspor" else "paspor"
    value = f"json_extract(profile, '$.{field}')" if store.is_sqlite else f"profile->>'{field}'"
    with store.read() as session:  # a read: no write lock taken
        found = session.execute(
            text(
                "SELECT id_kind, id_number FROM applicants WHERE id_kind = :kind"  # noqa: S608
                f" AND {value} = :number ORDER BY updated_at DESC LIMIT 1"
            ),
            {"kind": other, "number": number},
        ).first()
    return (found[0], found[1]) if found else None
