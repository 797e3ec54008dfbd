"""What the hub does with its database: the one place the endpoints and the CLI go through.

Every operation is one transaction. Push is the hot path: one ``SELECT … FOR UPDATE`` of the
desk, the chain check in memory, the bodies sealed, then (PostgreSQL) one binary ``COPY`` and
one pipelined round trip for the records' ``INSERT … ON CONFLICT DO UPDATE``, the batch's new
applicants and the desk row's update — no per-record round trip; only applicants that already
exist at the hub are read and merged one by one. The look-up (an officer waits on it) is one
round trip too: the applicant, its access-log row and its open conflicts.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
from sqlalchemy import and_, func, insert, not_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from mppdesk.core import lockout
from mppdesk.core.audit_chain import GENESIS, event_hash
from mppdesk.hub import billing as hub_billing
from mppdesk.hub import schema as t
from mppdesk.hub.crypto import HubKey

log = logging.getLogger("mppdesk.hub")

KINDS = frozenset(
    {
        "applicant",
        "applicant_change",
        "visit",
        "submission",
        "outbox_state",
        "review",
        "collection",
        "checklist",
        "survey",
        "attachment",
        "audit",
        "billing",  # a submission's bill: kept in hub_billing (mppdesk/hub/billing.py)
    }
)
ROLES = ("officer", "supervisor", "admin")
DECISIONS = ("approved", "returned", "flagged")
ID_KINDS = ("nik", "paspor", "kitas")
MAX_ID_NUMBER = 64
# A foreigner keyed by one foreign number is also found by the other, kept in the profile:
# key kind -> (the other number's kind, its profile field).
_ALIAS_FIELDS = {"kitas": ("paspor", "no_paspor"), "paspor": ("kitas", "no_kitas")}
ALIAS_FILL_BATCH = 1000
MAX_BATCH = 500
# The mall figures list unpaid bills whose code dies within this (the desk's report: 24 h).
BILL_EXPIRY_SOON_S = 24 * 3600
BILLS_LISTED = 50
PULL_LIMIT = 1000
# Tickets are numbered per local day of the mall (WIB unless the hub is told otherwise).
MALL_TZ = ZoneInfo("Asia/Jakarta")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class HubError(Exception):
    """A refusal with a contract error code and its HTTP status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


def _invalid(message: str, field: str) -> HubError:
    return HubError(400, "invalid", message, field=field)


@dataclass(frozen=True)
class Desk:
    code: str


def _str(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    return value[:limit]


def _local_date(body: Mapping[str, Any], *time_fields: str) -> str | None:
    value = _str(body.get("local_date"), 10)
    if value:
        return value
    for name in time_fields:
        text = _str(body.get(name), 40)
        if text and len(text) >= 10:
            return text[:10]
    return None


def _index_columns(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The non-personal columns a report or queue filters by; everything else stays sealed."""
    return dict(zip(_INDEX_NAMES, _index_values(kind, body), strict=True))


_INDEX_NAMES = ("ref_id", "tracking_no", "agency", "service", "status", "local_date", "created_at")


def _index_values(
    kind: str, body: Mapping[str, Any]
) -> tuple[str | None, str | None, str | None, str | None, str | None, str | None, str | None]:
    """``_index_columns`` as a tuple in ``_INDEX_NAMES`` order (the push's hot path)."""
    get = body.get
    if kind == "submission":
        return (
            None,
            _str(get("tracking_number") or get("tracking_no"), 64),
            _str(get("agency"), 64),
            _str(get("service"), 128),
            _str(get("status"), 32),
            _local_date(body, "finalized_at", "created_at"),
            _str(get("finalized_at") or get("created_at"), 40),
        )
    if kind == "visit":
        return (
            None,
            None,
            None,
            None,
            _str(get("status"), 32),
            _local_date(body, "created_at", "finalized_at"),
            _str(get("created_at"), 40),
        )
    if kind == "review":
        return (
            _str(get("submission_id"), 64),
            None,
            None,
            None,
            _str(get("decision"), 32),
            None,
            _str(get("decided_at") or get("at"), 40),
        )
    if kind == "audit":
        return (None, None, None, None, None, None, _str(get("at"), 40))
    return (None, None, None, None, None, None, _str(get("created_at") or get("at"), 40))


def _check_audit(body: Mapping[str, Any], head: str) -> str | None:
    """The reason the event does not continue the chain whose head is ``head``, or None."""
    if body.get("prev_hash") != head:
        return "previous hash does not match the desk's last audit event"
    try:
        at = datetime.fromisoformat(str(body["at"]))
        details = body.get("details") or {}
        if not isinstance(details, Mapping):
            return "event details are not an object"
        expected = event_hash(
            head,
            at,
            str(body["actor"]),
            str(body["action"]),
            str(body["object_type"]),
            str(body["object_id"]),
            details,
        )
    except (KeyError, TypeError, ValueError):
        return "the event is incomplete or unreadable"
    if body.get("hash") != expected:
        return "the event's hash does not match its content"
    return None


class HubStore:
    """The hub's operations over one engine and one hub key (thread-safe: no shared state)."""

    def __init__(self, engine: Engine, key: HubKey):
        self.engine = engine
        self.key = key
        self._pg = engine.dialect.name == "postgresql"

    # -- dialect helpers ------------------------------------------------------------------
    def _insert(self, table):  # type: ignore[no-untyped-def]
        return (postgresql.insert if self._pg else sqlite.insert)(table)

    def _locked(self, stmt):  # type: ignore[no-untyped-def]
        return stmt.with_for_update() if self._pg else stmt

    def _retrying(self, work, attempts: int = 4):  # type: ignore[no-untyped-def]
        """Run ``work(conn)`` in a transaction, again when a concurrent writer won a race
        (a unique key both inserted, a serialization failure): the loser sees the winner's row."""
        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except IntegrityError:
                if attempt == attempts - 1:
                    raise
            except OperationalError as exc:
                if attempt == attempts - 1 or "deadlock" not in str(exc.orig).lower():
                    raise
        raise AssertionError("unreachable")

    # -- desks ------------------------------------------------------------------------------
    def add_desk(self, code: str) -> str:
        """Enroll a desk (or re-enroll a revoked one) and return its token, shown once."""
        code = code.strip().upper()
        if not code or len(code) > 16 or not code.replace("-", "").isalnum():
            raise _invalid("a desk code is 1 to 16 letters, digits or '-'", "desk")
        token = secrets.token_urlsafe(32)
        digest = token_sha256(token)
        with self.engine.begin() as conn:
            existing = conn.execute(select(t.desks.c.code).where(t.desks.c.code == code)).first()
            if existing:
                conn.execute(
                    update(t.desks)
                    .where(t.desks.c.code == code)
                    .values(token_sha256=digest, revoked=False)
                )
            else:
                conn.execute(
                    insert(t.desks).values(
                        code=code,
                        token_sha256=digest,
                        revoked=False,
                        created_at=now_iso(),
                        acked_seq=0,
                        audit_head=GENESIS,
                    )
                )
        return token

    def revoke_desk(self, code: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t.desks).where(t.desks.c.code == code.strip().upper()).values(revoked=True)
            )
        return result.rowcount > 0

    def clear_chain_error(self, code: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t.desks)
                .where(t.desks.c.code == code.strip().upper())
                .values(chain_error=None, chain_error_seq=None)
            )
        return result.rowcount > 0

    def list_desks(self) -> list[dict[str, Any]]:
        # No count of stored records here: over millions of rows that is `hub stats`' job.
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.desks).order_by(t.desks.c.code)).mappings().all()
        return [
            {
                "desk": row["code"],
                "revoked": bool(row["revoked"]),
                "enrolled_at": row["created_at"],
                "last_seen": row["last_seen"],
                "acked": int(row["acked_seq"]),
                "pending": (
                    max(0, int(row["journal_head"]) - int(row["acked_seq"]))
                    if row["journal_head"] is not None
                    else None
                ),
                "audit_head": row["audit_head"],
                "chain_error": (
                    {"seq": row["chain_error_seq"], "reason": row["chain_error"]}
                    if row["chain_error"]
                    else None
                ),
            }
            for row in rows
        ]

    def note_journal_head(self, desk: Desk, head: int) -> None:
        """What the desk says its newest journal sequence is (for ``pending`` at the hub)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(t.desks).where(t.desks.c.code == desk.code).values(journal_head=head)
            )

    def authenticate(self, token: str, desk_code: str) -> Desk:
        """The desk a bearer token belongs to; 401 for an unknown or revoked one."""
        digest = token_sha256(token)
        with self.engine.connect() as conn:
            if self._pg:  # the BEGIN travels with the query: one round trip
                driver = conn.connection.driver_connection
                with _driver_errors(conn, "hub authentication"):
                    with driver.pipeline():
                        cursor = driver.execute(_DESK_BY_TOKEN, (digest,))
                    found = cursor.fetchone()
                row = _TokenRow(*found) if found else None
            else:
                row = conn.execute(
                    select(t.desks.c.code, t.desks.c.revoked).where(
                        t.desks.c.token_sha256 == digest
                    )
                ).first()
        if row is None or row.code != desk_code:
            raise HubError(401, "unauthorized", "unknown desk token")
        if row.revoked:
            raise HubError(401, "revoked", "this desk's token was revoked at the hub")
        return Desk(row.code)

    # -- push -------------------------------------------------------------------------------
    def push(
        self, desk: Desk, records: Sequence[Mapping[str, Any]], *, token: str | None = None
    ) -> int:
        """Store a batch all or nothing; return the highest sequence stored for the desk.

        With ``token`` the desk is authenticated inside the push's own transaction (the row
        it locks anyway), which saves the hot path a second transaction per batch.
        """
        try:
            return self._retrying(lambda conn: self._push(conn, desk, records, token))
        except _ChainBroken as broken:
            with self.engine.begin() as conn:
                conn.execute(
                    update(t.desks)
                    .where(t.desks.c.code == desk.code)
                    .values(
                        chain_error=broken.reason,
                        chain_error_seq=broken.seq,
                        last_seen=now_iso(),
                    )
                )
            log.error("push refused: desk %s audit chain broken at seq %d", desk.code, broken.seq)
            raise HubError(
                409,
                "chain_broken",
                f"the audit chain breaks at seq {broken.seq}: {broken.reason}",
                seq=broken.seq,
            ) from None

    @staticmethod
    def _parse_batch(records: Sequence[Mapping[str, Any]]) -> list[tuple[int, str, str, dict]]:
        if not isinstance(records, list) or not records:
            raise _invalid("records must be a non-empty list", "records")
        if len(records) > MAX_BATCH:
            raise _invalid(f"at most {MAX_BATCH} records per push", "records")
        parsed = []
        previous = None
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise _invalid("a record is an object", f"records[{i}]")
            seq, kind, entity, body = (
                record.get("seq"),
                record.get("kind"),
                record.get("id"),
                record.get("body"),
            )
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                raise _invalid("seq is a positive integer", f"records[{i}].seq")
            if previous is not None and seq != previous + 1:
                raise _invalid("records of a batch are consecutive", f"records[{i}].seq")
            previous = seq
            if kind not in KINDS:
                raise _invalid("unknown kind", f"records[{i}].kind")
            if isinstance(entity, int) and not isinstance(entity, bool):
                entity = str(entity)
            if not isinstance(entity, str) or not entity or len(entity) > 64:
                raise _invalid("id is a string of 1 to 64 characters", f"records[{i}].id")
            if not isinstance(body, dict):
                raise _invalid("body is an object", f"records[{i}].body")
            if kind == "billing":
                try:
                    hub_billing.parse_record(entity, body, f"records[{i}].body")
                except hub_billing.BillingRecordError as exc:
                    raise _invalid(str(exc), exc.field) from None
            parsed.append((seq, kind, entity, body))
        return parsed

    def _push(self, conn, desk: Desk, records, token: str | None) -> int:  # type: ignore[no-untyped-def]
        if self._pg:
            row = _lock_desk_pg(conn, desk.code)
        else:
            row = conn.execute(
                select(
                    t.desks.c.acked_seq,
                    t.desks.c.audit_head,
                    t.desks.c.token_sha256,
                    t.desks.c.revoked,
                ).where(t.desks.c.code == desk.code)
            ).first()
        if row is None or (token is not None and row.token_sha256 != token_sha256(token)):
            raise HubError(401, "unauthorized", "unknown desk token")
        if row.revoked:
            raise HubError(401, "revoked", "this desk's token was revoked at the hub")
        parsed = self._parse_batch(records)
        acked = int(row.acked_seq)
        fresh = [item for item in parsed if item[0] > acked]
        stamp = now_iso()
        if not fresh:
            conn.execute(
                update(t.desks).where(t.desks.c.code == desk.code).values(last_seen=stamp)
            )
            return acked
        if fresh[0][0] != acked + 1:
            raise HubError(
                409,
                "sequence_gap",
                f"the next record of this desk must have seq {acked + 1}",
                expected=acked + 1,
            )
        head = row.audit_head
        for seq, kind, _entity, body in fresh:
            if kind == "audit":
                reason = _check_audit(body, head)
                if reason is not None:
                    raise _ChainBroken(seq, reason)
                head = body["hash"]
        # State-based: the last record of an entity in the batch is the one kept.
        latest: dict[tuple[str, str], tuple[int, str, str, dict]] = {}
        for item in fresh:
            latest[(item[1], item[2])] = item
        code = desk.code
        # Bills go to their own table (plain: nothing personal), under their own rules, each
        # record of the batch in its order (a stale state after a newer one is not the last).
        bills = [item for item in fresh if item[1] == "billing"]
        items = [item for item in latest.values() if item[1] != "billing"]
        blobs = self.key.seal_json_many(
            [(body, f"{code}/{kind}/{entity}".encode()) for _seq, kind, entity, body in items]
        )
        # One tuple per record in ``_COLUMNS`` order: what the COPY writes as it is.
        rows = [
            (code, kind, entity, seq, stamp, blob, *_index_values(kind, body))
            for (seq, kind, entity, body), blob in zip(items, blobs, strict=True)
        ]
        last = fresh[-1][0]
        applicants = [(seq, body) for seq, kind, _e, body in items if kind == "applicant"]
        if self._pg:
            # Applicants new to the hub (the usual case) go in with the records, in the same
            # round trip; only those already there are then read, locked and merged.
            incoming = self._incoming_applicants(applicants)
            fresh_applicants = [
                self._new_applicant(digest, *incoming[digest], code, stamp)
                for digest in sorted(incoming)  # one lock order for concurrent pushes
            ]
            inserted = _write_push_pg(conn, rows, fresh_applicants, code, last, head, stamp)
            held = {d: v for d, v in incoming.items() if d not in inserted}
            if held:
                self._merge_existing(conn, code, held, stamp)
            if bills:
                self._store_bills(conn, code, bills, stamp)
            return last
        stmt = self._insert(t.records)
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["desk", "kind", "entity_id"],
            set_={name: getattr(excluded, name) for name in _UPDATED},
            where=excluded.seq > t.records.c.seq,
        )
        if rows:
            conn.execute(stmt, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        if bills:
            self._store_bills(conn, code, bills, stamp)
        if applicants:
            self._merge_applicants(conn, code, applicants, stamp)
        conn.execute(
            update(t.desks)
            .where(t.desks.c.code == desk.code)
            .values(acked_seq=last, audit_head=head, last_seen=stamp)
        )
        return last

    def _store_bills(self, conn, desk: str, items, stamp: str) -> None:  # type: ignore[no-untyped-def]
        """Keep the batch's bills (validated already) where the desk's rules allow, record by
        record in sequence order: a replay or a stale state changes nothing. Runs inside the
        push's transaction, after the desk row was locked, so one desk's pushes never race."""
        incoming = [
            (seq, entity, bill)
            for seq, _kind, entity, body in items
            if (bill := hub_billing.parse_record(entity, body, "body")) is not None
        ]
        if not incoming:
            return
        b = t.billing.c
        stored = {
            row.submission_id: row
            for row in conn.execute(
                self._locked(
                    select(t.billing).where(
                        b.desk == desk, b.submission_id.in_(sorted({i[1] for i in incoming}))
                    )
                )
            )
        }
        held: dict[str, tuple[int, hub_billing.HubBill]] = {
            row.submission_id: (
                int(row.seq),
                hub_billing.HubBill(
                    row.submission_id, row.agency, row.code, row.kind, int(row.amount),
                    row.state, row.ntpn, row.paid_at, row.expires_at,
                ),
            )
            for row in stored.values()
        }
        changed: dict[str, tuple[int, hub_billing.HubBill]] = {}
        for seq, entity, bill in incoming:
            current = held.get(entity)
            if current is not None:
                problem = hub_billing.refusal(current[1], bill)
                if problem is not None:
                    log.warning(
                        "desk %s: billing record seq %d not applied: %s", desk, seq, problem
                    )
                if current[0] >= seq or current[1] == bill or problem is not None:
                    continue
            held[entity] = changed[entity] = (seq, bill)
        keep = []
        for entity, (seq, bill) in sorted(changed.items()):
            keep.append(
                {
                    "desk": desk,
                    "submission_id": entity,
                    "agency": bill.agency,
                    "code": bill.code,
                    "kind": bill.kind,
                    "amount": bill.amount,
                    "state": bill.state,
                    "ntpn": bill.ntpn,
                    "paid_at": bill.paid_at,
                    "paid_day": bill.paid_day(MALL_TZ),
                    "expires_at": bill.expires_at,
                    "seq": seq,
                    "stored_at": stamp,
                }
            )
        if not keep:
            return
        stmt = self._insert(t.billing)
        excluded = stmt.excluded
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["submission_id", "desk"],
                set_={
                    name: getattr(excluded, name)
                    for name in (
                        "agency", "code", "kind", "amount", "state", "ntpn", "paid_at",
                        "paid_day", "expires_at", "seq", "stored_at",
                    )
                },
                where=excluded.seq > t.billing.c.seq,
            ),
            keep,
        )

    def billing_figures(self, day: str, now: datetime | None = None) -> dict[str, Any]:
        """The mall's money for the daily report: per agency, the bills paid on ``day`` (the
        mall's local date of payment) with their total; and every desk's unpaid bills whose
        code dies within ``BILL_EXPIRY_SOON_S`` of now, soonest first (at most
        ``BILLS_LISTED`` listed, all of them counted)."""
        now = now or datetime.now(UTC)
        start = now.astimezone(UTC).isoformat(timespec="microseconds")
        horizon = datetime.fromtimestamp(now.timestamp() + BILL_EXPIRY_SOON_S, UTC).isoformat(
            timespec="microseconds"
        )
        b, r = t.billing.c, t.records.c
        soon = and_(b.state == "unpaid", b.expires_at > start, b.expires_at <= horizon)
        with self.engine.connect() as conn:
            paid = conn.execute(
                select(b.agency, func.count(), func.sum(b.amount))
                .where(b.state == "paid", b.paid_day == day)
                .group_by(b.agency)
                .order_by(b.agency)
            ).all()
            count, total = conn.execute(
                select(func.count(), func.sum(b.amount)).where(soon)
            ).one()
            listed = conn.execute(
                select(b.desk, b.agency, b.code, b.amount, b.expires_at, r.tracking_no)
                .select_from(
                    t.billing.outerjoin(
                        t.records,
                        and_(
                            r.kind == "submission",
                            r.entity_id == b.submission_id,
                            r.desk == b.desk,
                        ),
                    )
                )
                .where(soon)
                .order_by(b.expires_at, b.desk, b.submission_id)
                .limit(BILLS_LISTED)
            ).all()
        collected = {
            str(agency): {"paid": int(n), "amount": int(amount or 0)} for agency, n, amount in paid
        }
        return {
            "collected": collected,
            "collected_total": {
                "paid": sum(v["paid"] for v in collected.values()),
                "amount": sum(v["amount"] for v in collected.values()),
            },
            "unpaid_near_expiry": {
                "within_s": BILL_EXPIRY_SOON_S,
                "count": int(count or 0),
                "amount": int(total or 0),
                "items": [
                    {
                        "desk": row.desk,
                        "tracking_number": row.tracking_no,
                        "agency": row.agency,
                        "code": row.code,
                        "amount": int(row.amount),
                        "expires": row.expires_at,
                    }
                    for row in listed
                ],
            },
        }

    def record_body(self, desk: str, kind: str, entity_id: str) -> dict[str, Any] | None:
        """A stored record as the desk pushed it (decrypted), or None: for an admin's
        inquiry and for proving that what is sealed at rest is whole."""
        with self.engine.connect() as conn:
            blob = conn.execute(
                select(t.records.c.body_enc).where(
                    t.records.c.kind == kind,
                    t.records.c.entity_id == entity_id,
                    t.records.c.desk == desk,
                )
            ).scalar_one_or_none()
        if blob is None:
            return None
        return self.key.open_json(blob, f"{desk}/{kind}/{entity_id}".encode())

    # -- applicants ---------------------------------------------------------------------------
    def _incoming_applicants(self, items) -> dict[str, tuple[str, str, dict]]:  # type: ignore[no-untyped-def]
        """The batch's applicants that carry an identity, by look-up hash (the last wins)."""
        incoming = {}
        for _seq, body in items:
            id_kind = str(body.get("id_kind") or "").lower()
            number = body.get("id_number")
            if id_kind not in ID_KINDS or not isinstance(number, str) or not number.strip():
                continue  # an applicant without an identity is kept as a record only
            incoming[self.key.lookup_hash(id_kind, number)] = (id_kind, number.strip(), body)
        return incoming

    def _new_applicant(
        self, digest: str, id_kind: str, number: str, body: Mapping[str, Any], desk: str, stamp: str
    ) -> dict[str, Any]:
        """The hub row of an applicant first seen in this push: every field at version 1."""
        fields = _applicant_fields(body)
        history = {name: [[1, desk, stamp, value]] for name, value in fields.items()}
        id_enc, name_enc, profile_enc = self.key.seal_json_many(
            [
                (number, _ctx(b"id_number", digest)),
                (fields.get("name"), _ctx(b"name", digest)),
                ({"fields": fields, "history": history}, _ctx(b"profile", digest)),
            ]
        )
        return {
            "lookup_hash": digest,
            "id_kind": id_kind,
            "id_number_enc": id_enc,
            "name_enc": name_enc,
            "profile_enc": profile_enc,
            "alias_hash": self._alias_hash(id_kind, fields),
            "version": 1,
            "created_by": desk,
            "updated_by": desk,
            "updated_at": stamp,
        }

    def _alias_hash(self, id_kind: str, fields: Mapping[str, Any]) -> str | None:
        """The keyed hash of a foreigner's other number, as desks store it in the profile
        (``no_paspor`` of a KITAS-keyed applicant, ``no_kitas`` of a passport-keyed one),
        normalised as intake normalises a typed one (no spaces, upper case); None for a NIK,
        a missing, malformed or oversized number."""
        other = _ALIAS_FIELDS.get(id_kind)
        if other is None:
            return None
        kind, field = other
        value = fields.get(field)
        if not isinstance(value, str) or len(value) > 2 * MAX_ID_NUMBER:
            return None
        value = "".join(value.split()).upper()
        if not value or len(value) > MAX_ID_NUMBER:
            return None
        return self.key.lookup_hash(kind, value)

    def _merge_applicants(self, conn, desk: str, items, stamp: str) -> None:  # type: ignore[no-untyped-def]
        incoming = self._incoming_applicants(items)
        if incoming:
            self._merge_existing(conn, desk, incoming, stamp)

    def _merge_existing(self, conn, desk: str, incoming, stamp: str) -> None:  # type: ignore[no-untyped-def]
        """Merge applicants the hub may already hold (locked while merged); insert the rest."""
        existing = {
            row.lookup_hash: row
            for row in conn.execute(
                self._locked(
                    select(t.applicants).where(t.applicants.c.lookup_hash.in_(list(incoming)))
                )
            )
        }
        new_rows = []
        conflicts = []
        for digest, (id_kind, number, body) in incoming.items():
            row = existing.get(digest)
            if row is None:
                new_rows.append(self._new_applicant(digest, id_kind, number, body, desk, stamp))
                continue
            fields = _applicant_fields(body)
            profile = self.key.open_json(row.profile_enc, _ctx(b"profile", digest))
            base = body.get("base_version")
            base = base if isinstance(base, int) and not isinstance(base, bool) else 0
            merged, history, found = _merge(profile, fields, base, desk, stamp, row.version + 1)
            if merged == profile["fields"]:
                continue
            for name, values in found:
                conflicts.append(
                    {
                        "applicant_id": row.id,
                        "field": name,
                        "values_enc": self.key.seal_json(values, _ctx(b"conflict", digest)),
                        "created_at": stamp,
                    }
                )
            conn.execute(
                update(t.applicants)
                .where(t.applicants.c.id == row.id)
                .values(
                    name_enc=self.key.seal_json(merged.get("name"), _ctx(b"name", digest)),
                    profile_enc=self.key.seal_json(
                        {"fields": merged, "history": history}, _ctx(b"profile", digest)
                    ),
                    alias_hash=self._alias_hash(row.id_kind, merged),
                    version=row.version + 1,
                    updated_by=desk,
                    updated_at=stamp,
                )
            )
        if new_rows:
            conn.execute(insert(t.applicants), new_rows)
        if conflicts:
            conn.execute(insert(t.applicant_conflicts), conflicts)

    def lookup(self, desk: Desk, officer: str, id_kind: str, id_number: str) -> dict[str, Any]:
        """An applicant by identity number; every look-up is logged (desk, officer, hash).

        A passport or KITAS/KITAP number also finds the foreigner keyed by the other one whose
        profile holds it (``alias_hash``), in the same single query and log row; the applicant
        keyed by the number itself always wins over one that merely carries it."""
        id_kind = (id_kind or "").lower()
        if id_kind not in ID_KINDS:
            raise _invalid("id_kind is nik, paspor or kitas", "id_kind")
        if (
            not isinstance(id_number, str)
            or not id_number.strip()
            or len(id_number) > MAX_ID_NUMBER
        ):
            raise _invalid("id_number is required", "id_number")
        digest = self.key.lookup_hash(id_kind, id_number)
        foreign = id_kind in _ALIAS_FIELDS
        if self._pg:
            with self.engine.begin() as conn:
                row, open_conflicts = _lookup_pg(conn, digest, foreign, desk.code, officer)
            if row is None:
                return {"found": False}
            return self._applicant_answer(row, open_conflicts)
        a = t.applicants.c
        match = or_(a.lookup_hash == digest, a.alias_hash == digest) if foreign else (
            a.lookup_hash == digest
        )
        with self.engine.begin() as conn:
            row = conn.execute(
                select(t.applicants)
                .where(match)
                .order_by((a.lookup_hash == digest).desc(), a.updated_at.desc(), a.id.desc())
                .limit(1)
            ).first()
            conn.execute(
                insert(t.access_log).values(
                    at=now_iso(),
                    desk=desk.code,
                    officer=officer,
                    # The person found (by their own key), else the number asked for.
                    subject_hash=row.lookup_hash if row is not None else digest,
                    found=row is not None,
                )
            )
            if row is None:
                return {"found": False}
            open_conflicts = conn.execute(
                select(t.applicant_conflicts.c.id, t.applicant_conflicts.c.field,
                       t.applicant_conflicts.c.values_enc)
                .where(
                    t.applicant_conflicts.c.applicant_id == row.id,
                    t.applicant_conflicts.c.resolved_at.is_(None),
                )
                .order_by(t.applicant_conflicts.c.id)
            ).all()
        return self._applicant_answer(row, open_conflicts)

    def _applicant_answer(self, row, open_conflicts) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        profile = self.key.open_json(row.profile_enc, _ctx(b"profile", row.lookup_hash))
        fields = dict(profile["fields"])
        name = fields.pop("name", None)
        return {
            "found": True,
            "applicant": {
                "id_kind": row.id_kind,
                "id_number": self.key.open_json(row.id_number_enc, _ctx(b"id_number", row.lookup_hash)),
                "name": name,
                "profile": fields,
                "version": row.version,
                "desk": row.updated_by,  # the desk that last changed it ("Data dari MPP (K03)")
                "conflicts": [
                    {
                        "id": c.id,
                        "field": c.field,
                        "values": self.key.open_json(c.values_enc, _ctx(b"conflict", row.lookup_hash)),
                    }
                    for c in open_conflicts
                ],
            },
        }

    def resolve_conflict(self, officer: str, conflict_id: int, value: Any) -> int:
        self.require_role(officer, ("supervisor", "admin"))
        stamp = now_iso()
        with self.engine.begin() as conn:
            conflict = conn.execute(
                self._locked(
                    select(t.applicant_conflicts).where(
                        t.applicant_conflicts.c.id == conflict_id,
                        t.applicant_conflicts.c.resolved_at.is_(None),
                    )
                )
            ).first()
            if conflict is None:
                raise HubError(404, "not_found", "no open conflict with this id")
            row = conn.execute(
                self._locked(
                    select(t.applicants).where(t.applicants.c.id == conflict.applicant_id)
                )
            ).one()
            profile = self.key.open_json(row.profile_enc, _ctx(b"profile", row.lookup_hash))
            version = row.version + 1
            profile["fields"][conflict.field] = value
            profile["history"].setdefault(conflict.field, []).append(
                [version, "hub", stamp, value]
            )
            conn.execute(
                update(t.applicants)
                .where(t.applicants.c.id == row.id)
                .values(
                    name_enc=self.key.seal_json(profile["fields"].get("name"), _ctx(b"name", row.lookup_hash)),
                    profile_enc=self.key.seal_json(profile, _ctx(b"profile", row.lookup_hash)),
                    alias_hash=self._alias_hash(row.id_kind, profile["fields"]),
                    version=version,
                    updated_by="hub",
                    updated_at=stamp,
                )
            )
            conn.execute(
                update(t.applicant_conflicts)
                .where(t.applicant_conflicts.c.id == conflict_id)
                .values(resolved_at=stamp, resolved_by=officer)
            )
        return version

    def fill_applicant_aliases(self) -> int:
        """Give the foreigners stored before revision 0005 their alias (``alias_hash``) from
        their sealed profiles; the number of rows given one. Repeatable (``hub init`` runs
        it): only foreign rows without an alias are read, a batch per transaction, by id. A
        profile this key cannot open is left as it is and counted in the log."""
        a = t.applicants.c
        filled = unreadable = 0
        after = 0
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(a.id, a.lookup_hash, a.id_kind, a.profile_enc)
                    .where(
                        a.id > after,
                        a.id_kind.in_(tuple(_ALIAS_FIELDS)),
                        a.alias_hash.is_(None),
                    )
                    .order_by(a.id)
                    .limit(ALIAS_FILL_BATCH)
                ).all()
                if not rows:
                    break
                after = rows[-1].id
                for row in rows:
                    try:
                        profile = self.key.open_json(
                            row.profile_enc, _ctx(b"profile", row.lookup_hash)
                        )
                    except (InvalidTag, ValueError):
                        unreadable += 1
                        continue
                    fields = profile.get("fields") if isinstance(profile, dict) else None
                    alias = self._alias_hash(row.id_kind, fields) if isinstance(fields, dict) else None
                    if alias is None:
                        continue
                    conn.execute(
                        update(t.applicants).where(a.id == row.id).values(alias_hash=alias)
                    )
                    filled += 1
        if unreadable:
            log.warning("%d applicants' profiles could not be opened with this key", unreadable)
        return filled

    # -- users and lockout ----------------------------------------------------------------------
    def add_user(self, username: str, role: str, password_hash: str, full_name: str = "") -> None:
        username = username.strip()
        if not username or len(username) > 64:
            raise _invalid("a user name is 1 to 64 characters", "username")
        if role not in ROLES:
            raise _invalid("role is officer, supervisor or admin", "role")
        stamp = now_iso()
        with self.engine.begin() as conn:
            stmt = self._insert(t.users)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["username"],
                    set_={
                        "role": stmt.excluded.role,
                        "password_hash": stmt.excluded.password_hash,
                        "full_name": "",
                        "full_name_enc": stmt.excluded.full_name_enc,
                        "disabled": False,
                        "updated_at": stamp,
                    },
                ),
                {
                    "username": username,
                    "full_name": "",  # personal data: only sealed (full_name_enc)
                    "full_name_enc": self.key.seal_json(full_name or username, _user_ctx(username)),
                    "role": role,
                    "password_hash": password_hash,
                    "disabled": False,
                    "updated_at": stamp,
                },
            )
            self._feed_user(conn, username)

    def disable_user(self, username: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t.users)
                .where(t.users.c.username == username)
                .values(disabled=True, updated_at=now_iso())
            )
            if result.rowcount == 0:
                return False
            self._feed_user(conn, username)
        return True

    def _feed_user(self, conn, username: str) -> None:  # type: ignore[no-untyped-def]
        row = conn.execute(select(t.users).where(t.users.c.username == username)).one()
        sealed = row.full_name_enc
        if sealed is None:  # written before 0003 and not sealed yet: seal it now
            sealed = self.key.seal_json(row.full_name or row.username, _user_ctx(row.username))
        self._feed(
            conn,
            "user",
            {
                "username": row.username,
                # The feed keeps the name sealed too; ``pull`` opens it for the desk.
                "full_name_enc": base64.b64encode(bytes(sealed)).decode("ascii"),
                "role": row.role,
                "password_hash": row.password_hash,
                "disabled": bool(row.disabled),
            },
        )

    def require_role(self, officer: str | None, roles: Iterable[str]) -> None:
        if not officer:
            raise HubError(403, "forbidden", "X-MPP-Officer is required for this call")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.users.c.role, t.users.c.disabled).where(t.users.c.username == officer)
            ).first()
        if row is None or row.disabled or row.role not in tuple(roles):
            raise HubError(403, "forbidden", "the officer's hub role does not allow this call")

    def login_result(self, desk: Desk, username: str, ok: bool) -> str | None:
        """Record one login result; the mall-wide lock end, or None."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.login_attempts).values(
                    username=username, desk=desk.code, ok=bool(ok), at=now.isoformat()
                )
            )
            user = conn.execute(
                self._locked(
                    select(t.users.c.locked_until).where(t.users.c.username == username)
                )
            ).first()
            stored = datetime.fromisoformat(user.locked_until) if user and user.locked_until else None
            end = lockout.effective_lock_end(stored, now)
            if end is not None:
                return end.isoformat()
            if ok:
                return None
            recent = conn.execute(
                select(t.login_attempts.c.id, t.login_attempts.c.at, t.login_attempts.c.ok)
                .where(t.login_attempts.c.username == username)
                .order_by(t.login_attempts.c.id.desc())
                .limit(lockout.RECENT_ATTEMPTS)
            ).all()
            failures = lockout.failures_since_success(
                lockout.Attempt(r.id, datetime.fromisoformat(r.at), bool(r.ok)) for r in recent
            )
            if not lockout.should_lock(failures, now):
                return None
            until = lockout.locked_until(now)
            if user is not None:
                conn.execute(
                    update(t.users)
                    .where(t.users.c.username == username)
                    .values(locked_until=until.isoformat())
                )
            return until.isoformat()

    # -- what desks pull ---------------------------------------------------------------------
    def _feed(self, conn, kind: str, body: Mapping[str, Any], desk: str | None = None) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            insert(t.feed).values(
                kind=kind,
                desk=desk,
                body_json=json.dumps(body, ensure_ascii=False, sort_keys=True),
                at=now_iso(),
            )
        )

    def publish_catalog(self, files: Mapping[str, str], sha256: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(t.catalog_publications).values(
                    sha256=sha256,
                    files_json=json.dumps(dict(files), ensure_ascii=False, sort_keys=True),
                    published_at=now_iso(),
                )
            )
            self._feed(conn, "catalog", {"sha256": sha256, "files": dict(files)})

    def set_agency(self, agency: str, settings: Mapping[str, Any]) -> None:
        # Never a token, nor where one is kept: each desk keeps its own credentials.
        body = {k: v for k, v in settings.items() if "token" not in k.lower()}
        body["agency"] = agency
        with self.engine.begin() as conn:
            stmt = self._insert(t.agency_settings)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["agency"],
                    set_={
                        "settings_json": stmt.excluded.settings_json,
                        "updated_at": stmt.excluded.updated_at,
                    },
                ),
                {
                    "agency": agency,
                    "settings_json": json.dumps(body, sort_keys=True),
                    "updated_at": now_iso(),
                },
            )
            self._feed(conn, "agency", body)

    def set_holidays(self, year: int, dates: Sequence[str]) -> None:
        body = {"year": year, "dates": sorted(set(dates))}
        with self.engine.begin() as conn:
            stmt = self._insert(t.holidays)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["year"],
                    set_={
                        "dates_json": stmt.excluded.dates_json,
                        "updated_at": stmt.excluded.updated_at,
                    },
                ),
                {"year": year, "dates_json": json.dumps(body["dates"]), "updated_at": now_iso()},
            )
            self._feed(conn, "holidays", body)

    def pull(self, desk: Desk, since: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(t.feed.c.cursor, t.feed.c.kind, t.feed.c.body_json)
                .where(
                    t.feed.c.cursor > since,
                    or_(t.feed.c.desk.is_(None), t.feed.c.desk == desk.code),
                )
                .order_by(t.feed.c.cursor)
                .limit(PULL_LIMIT + 1)
            ).all()
            conn.execute(
                update(t.desks).where(t.desks.c.code == desk.code).values(last_seen=now_iso())
            )
        more = len(rows) > PULL_LIMIT
        rows = rows[:PULL_LIMIT]
        cursor = rows[-1].cursor if rows else since
        return {
            "cursor": int(cursor),
            "more": more,
            "items": [
                {"kind": r.kind, "body": self._feed_body(r.kind, json.loads(r.body_json))}
                for r in rows
            ],
        }

    def _feed_body(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """A feed item as the desk gets it: an officer's sealed name opened."""
        if kind == "user" and "full_name_enc" in body:
            sealed = base64.b64decode(body.pop("full_name_enc"))
            body["full_name"] = self.key.open_json(sealed, _user_ctx(str(body.get("username"))))
        return body

    def seal_plain_officer_names(self) -> int:
        """Seal the officers' full names stored in clear before revision 0003 (in the users
        table and the pull feed); the number of rows changed. Repeatable: ``hub init`` runs it."""
        changed = 0
        with self.engine.begin() as conn:
            for row in conn.execute(
                select(t.users.c.username, t.users.c.full_name, t.users.c.full_name_enc).where(
                    t.users.c.full_name != ""
                )
            ).all():
                sealed = row.full_name_enc or self.key.seal_json(
                    row.full_name or row.username, _user_ctx(row.username)
                )
                conn.execute(
                    update(t.users)
                    .where(t.users.c.username == row.username)
                    .values(full_name="", full_name_enc=sealed)
                )
                changed += 1
            for item in conn.execute(
                select(t.feed.c.cursor, t.feed.c.body_json).where(t.feed.c.kind == "user")
            ).all():
                body = json.loads(item.body_json)
                if "full_name" not in body:
                    continue
                name = body.pop("full_name")
                sealed = self.key.seal_json(
                    name or body.get("username"), _user_ctx(str(body.get("username")))
                )
                body["full_name_enc"] = base64.b64encode(sealed).decode("ascii")
                conn.execute(
                    update(t.feed)
                    .where(t.feed.c.cursor == item.cursor)
                    .values(body_json=json.dumps(body, ensure_ascii=False, sort_keys=True))
                )
                changed += 1
        return changed

    # -- tickets ------------------------------------------------------------------------------
    def next_ticket(self, desk: Desk, group: str, day: str | None = None) -> dict[str, Any]:
        if not isinstance(group, str) or not group.isalnum() or not 1 <= len(group) <= 4:
            raise _invalid("group is 1 to 4 letters or digits", "group")
        group = group.upper()
        day = day or datetime.now(MALL_TZ).date().isoformat()
        stamp = now_iso()

        def work(conn) -> int:  # type: ignore[no-untyped-def]
            stmt = self._insert(t.ticket_counters)
            seq = conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["grp", "day"],
                    set_={"seq": t.ticket_counters.c.seq + 1},
                ).returning(t.ticket_counters.c.seq),
                {"grp": group, "day": day, "seq": 1},
            ).scalar_one()
            conn.execute(
                insert(t.tickets).values(
                    grp=group, day=day, seq=seq, desk=desk.code, issued_at=stamp
                )
            )
            return seq

        seq = self._retrying(work)
        return {"number": f"{group}-{seq:03d}", "group": group, "day": day}

    # -- review and reports -----------------------------------------------------------------
    def review_queue(self, officer: str | None) -> list[dict[str, Any]]:
        self.require_role(officer, ("supervisor", "admin"))
        reviews = select(t.records.c.ref_id).where(
            t.records.c.kind == "review", t.records.c.ref_id.is_not(None)
        )
        decided = select(t.review_decisions.c.submission_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.records.c.entity_id,
                    t.records.c.desk,
                    t.records.c.tracking_no,
                    t.records.c.agency,
                    t.records.c.service,
                    t.records.c.local_date,
                )
                .where(
                    t.records.c.kind == "submission",
                    t.records.c.status == "held",
                    not_(t.records.c.entity_id.in_(reviews)),
                    not_(t.records.c.entity_id.in_(decided)),
                )
                .order_by(t.records.c.local_date, t.records.c.desk, t.records.c.entity_id)
                .limit(1000)
            ).all()
        return [
            {
                "submission_id": r.entity_id,
                "desk": r.desk,
                "tracking_number": r.tracking_no,
                "agency": r.agency,
                "service": r.service,
                "local_date": r.local_date,
            }
            for r in rows
        ]

    def decide(
        self, officer: str | None, submission_id: str, decision: str, reason: str | None
    ) -> dict[str, Any]:
        self.require_role(officer, ("supervisor", "admin"))
        if decision not in DECISIONS:
            raise _invalid("decision is approved, returned or flagged", "decision")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
            raise _invalid("reason is text of at most 2000 characters", "reason")
        stamp = now_iso()
        with self.engine.begin() as conn:
            owner = conn.execute(
                select(
                    t.records.c.desk,
                    t.records.c.tracking_no,
                    t.records.c.status,
                    t.records.c.body_enc,
                ).where(
                    t.records.c.kind == "submission", t.records.c.entity_id == submission_id
                )
            ).first()
            if owner is None:
                raise HubError(404, "not_found", "no submission with this id at the hub")
            if decision == "approved":
                self._check_approvable(officer, submission_id, owner)
            body = {
                "submission_id": submission_id,
                "desk": owner.desk,
                "decision": decision,
                "reason": reason,
                "actor": officer,
                "decided_at": stamp,
            }
            stmt = self._insert(t.review_decisions)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["submission_id"],
                    set_={
                        "decision": stmt.excluded.decision,
                        "reason": stmt.excluded.reason,
                        "actor": stmt.excluded.actor,
                        "decided_at": stmt.excluded.decided_at,
                    },
                ),
                body,
            )
            self._feed(conn, "review", body, desk=owner.desk)
        return {k: body[k] for k in ("submission_id", "desk", "decision", "decided_at")}

    def _check_approvable(self, officer: str | None, submission_id: str, row: Any) -> None:
        """Approval is a second person's check of a submission that still stands (issue 12):
        whoever took the submission in cannot approve it, and a superseded one (corrected or
        cancelled at its desk) cannot be approved at all. The taker is read from the sealed
        body the desk pushed (one record opened); the desk checks again when it applies the
        decision, for what the hub did not know yet."""
        if row.status == "superseded":
            raise HubError(
                403,
                "superseded",
                "this submission was superseded at its desk and can no longer be approved",
                tracking_number=row.tracking_no,
            )
        body = self.key.open_json(row.body_enc, f"{row.desk}/submission/{submission_id}".encode())
        taker = body.get("officer") if isinstance(body, Mapping) else None
        # A body without its taker (not one a desk pushes) is left to the owning desk,
        # which refuses to apply an approval by the taker (``apply_review``).
        if isinstance(taker, str) and taker == officer:
            raise HubError(
                403,
                "own_intake",
                "a supervisor cannot approve a submission they took in",
                tracking_number=row.tracking_no,
            )

    def daily_report(self, officer: str | None, day: str) -> dict[str, Any]:
        self.require_role(officer, ("supervisor", "admin"))
        try:
            day = datetime.strptime(day, "%Y-%m-%d").date().isoformat()
        except (TypeError, ValueError):
            raise _invalid("date is YYYY-MM-DD", "date") from None
        r = t.records.c
        # One pass over the day's rows (the partial (kind, local_date) index), folded here.
        with self.engine.connect() as conn:
            groups = conn.execute(
                select(r.desk, r.kind, r.agency, r.status, func.count())
                .where(r.kind.in_(("visit", "submission")), r.local_date == day)
                .group_by(r.desk, r.kind, r.agency, r.status)
            ).all()
        desks: dict[str, dict[str, int]] = {}
        by_agency: dict[str, int] = {}
        by_status: dict[str, int] = {}
        totals = {"visits": 0, "submissions": 0}
        for desk, kind, agency, status, count in groups:
            key = "visits" if kind == "visit" else "submissions"
            entry = desks.setdefault(desk, {"visits": 0, "submissions": 0})
            entry[key] += int(count)
            totals[key] += int(count)
            if kind == "submission":
                by_agency[str(agency)] = by_agency.get(str(agency), 0) + int(count)
                by_status[str(status)] = by_status.get(str(status), 0) + int(count)
        return {
            "date": day,
            "desks": dict(sorted(desks.items())),
            "by_agency": by_agency,
            "by_status": by_status,
            "totals": totals,
            "billing": self.billing_figures(day),
            "tickets": self.ticket_figures(day),
        }

    def ticket_figures(self, day: str) -> dict[str, Any]:
        """The mall's queue that day per ticket group (issue 14): the same figures as
        ``GET /v1/tickets/stats`` (``mppdesk.hub.tickets.daily_figures``)."""
        from mppdesk.hub import tickets

        return tickets.daily_figures(self, day)

    def stats(self) -> dict[str, Any]:
        r = t.records.c
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(r.desk, r.kind, func.count())
                .where(r.kind.in_(("visit", "submission", "applicant")))
                .group_by(r.desk, r.kind)
            ).all()
            seen = dict(conn.execute(select(t.desks.c.code, t.desks.c.last_seen)).all())
            dup_ids = conn.execute(
                select(func.count() - func.count(r.entity_id.distinct())).where(
                    r.kind == "submission"
                )
            ).scalar_one()
            dup_tracking = conn.execute(
                select(func.count(r.tracking_no) - func.count(r.tracking_no.distinct())).where(
                    and_(r.kind == "submission", r.tracking_no.is_not(None))
                )
            ).scalar_one()
        names = {"visit": "visits", "submission": "submissions", "applicant": "applicants"}
        desks: dict[str, dict[str, Any]] = {
            code: {"visits": 0, "submissions": 0, "applicants": 0, "last_seen": last}
            for code, last in seen.items()
        }
        totals = {"visits": 0, "submissions": 0, "applicants": 0}
        for desk, kind, count in counts:
            entry = desks.setdefault(
                desk, {"visits": 0, "submissions": 0, "applicants": 0, "last_seen": None}
            )
            entry[names[kind]] = int(count)
            totals[names[kind]] += int(count)
        return {
            "desks": dict(sorted(desks.items())),
            "totals": totals,
            "duplicates": int(dup_ids or 0) + int(dup_tracking or 0),
        }


_UPDATED = (
    "seq",
    "stored_at",
    "body_enc",
    "ref_id",
    "tracking_no",
    "agency",
    "service",
    "status",
    "local_date",
    "created_at",
)
_COLUMNS = ("desk", "kind", "entity_id", *_UPDATED)

# PostgreSQL: the batch goes in with one binary COPY into a session temp table (made when the
# connection opens, emptied at each commit), then one pipelined round trip holds the
# INSERT … SELECT … ON CONFLICT of the records, the insert of the batch's new applicants and
# the desk row's update. COPY's binary row writer is the cheapest on the hub's CPU (no
# per-value quoting as with array parameters, no per-row statement as with executemany), and
# one plan serves up to 500 rows. The statements are constants.
STAGE_CREATE = (
    "CREATE TEMP TABLE IF NOT EXISTS hub_push_stage ("
    "desk varchar(16), kind varchar(32), entity_id varchar(64), seq bigint,"
    " stored_at varchar(40), body_enc bytea, ref_id varchar(64), tracking_no varchar(64),"
    " agency varchar(64), service varchar(128), status varchar(32), local_date varchar(10),"
    " created_at varchar(40)) ON COMMIT DELETE ROWS"
)
_STAGE_TYPES = (
    "varchar", "varchar", "varchar", "int8", "varchar", "bytea", "varchar", "varchar",
    "varchar", "varchar", "varchar", "varchar", "varchar",
)
_STAGE_COPY = (
    "COPY hub_push_stage (desk, kind, entity_id, seq, stored_at, body_enc, ref_id,"
    " tracking_no, agency, service, status, local_date, created_at) FROM STDIN (FORMAT BINARY)"
)
_STAGE_MERGE = (
    "INSERT INTO hub_records (desk, kind, entity_id, seq, stored_at, body_enc, ref_id,"
    " tracking_no, agency, service, status, local_date, created_at)"
    " SELECT desk, kind, entity_id, seq, stored_at, body_enc, ref_id, tracking_no, agency,"
    " service, status, local_date, created_at FROM hub_push_stage"
    " ON CONFLICT (desk, kind, entity_id) DO UPDATE SET seq = EXCLUDED.seq,"
    " stored_at = EXCLUDED.stored_at, body_enc = EXCLUDED.body_enc, ref_id = EXCLUDED.ref_id,"
    " tracking_no = EXCLUDED.tracking_no, agency = EXCLUDED.agency,"
    " service = EXCLUDED.service, status = EXCLUDED.status,"
    " local_date = EXCLUDED.local_date, created_at = EXCLUDED.created_at"
    " WHERE EXCLUDED.seq > hub_records.seq"
)
# New applicants; one already at the hub (or being inserted by another desk's push, which
# this waits for) is skipped here and merged after, under its row lock.
_APPLICANTS_INSERT = (
    "INSERT INTO hub_applicants (lookup_hash, id_kind, id_number_enc, name_enc, profile_enc,"
    " alias_hash, version, created_by, updated_by, updated_at)"
    " SELECT h, k, i, n, p, a, 1, %s, %s, %s FROM unnest(%s::text[], %s::text[], %s::bytea[],"
    " %s::bytea[], %s::bytea[], %s::text[]) WITH ORDINALITY AS u(h, k, i, n, p, a, o) ORDER BY o"
    " ON CONFLICT (lookup_hash) DO NOTHING RETURNING lookup_hash"
)
_DESK_ACKED = (
    "UPDATE hub_desks SET acked_seq = %s, audit_head = %s, last_seen = %s WHERE code = %s"
)


_DESK_LOCK = (
    "SELECT acked_seq, audit_head, token_sha256, revoked FROM hub_desks WHERE code = %s"
    " FOR UPDATE"
)


@contextlib.contextmanager
def _driver_errors(conn, what: str = "hub push"):  # type: ignore[no-untyped-def]
    """Driver errors as SQLAlchemy's, so the caller's retry (deadlock) and the app's 503
    (database down) apply to the statements sent on the driver as to any other."""
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        dbapi_connection = conn.connection.dbapi_connection
        disconnected = conn.dialect.is_disconnect(exc, dbapi_connection, None)
        if disconnected:  # as SQLAlchemy does for its own statements: never pooled again
            conn.invalidate(exc)
        # (A deadlock comes out as OperationalError: ``_retrying`` runs the push again.)
        raise DBAPIError.instance(
            what, None, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True,
            connection_invalidated=disconnected, dialect=conn.dialect,
        ) from None


def _lock_desk_pg(conn, code: str):  # type: ignore[no-untyped-def]
    """The desk row, locked for the push: in pipeline mode the transaction's BEGIN travels
    with the query (one round trip instead of two)."""
    driver = conn.connection.driver_connection
    with _driver_errors(conn):
        with driver.pipeline():
            cursor = driver.execute(_DESK_LOCK, (code,))
        row = cursor.fetchone()
    if row is None:
        return None
    return _DeskRow(*row)


_DESK_BY_TOKEN = "SELECT code, revoked FROM hub_desks WHERE token_sha256 = %s"


@dataclass(frozen=True)
class _TokenRow:
    code: str
    revoked: bool


@dataclass(frozen=True)
class _DeskRow:
    acked_seq: int
    audit_head: str
    token_sha256: str
    revoked: bool


def _lookup_statement(match: str) -> str:
    """One statement for the whole look-up: the applicant (own key first, then the most
    recently changed one carrying the number as its alias), the access-log row naming the
    person found (else the number asked for), and the open conflicts (one row each)."""
    # Only the two constant match clauses below are put into the SQL text.
    return (
        "WITH hit AS (SELECT id, lookup_hash, id_kind, id_number_enc, profile_enc, version,"  # noqa: S608
        f" updated_by FROM hub_applicants WHERE {match}"
        " ORDER BY lookup_hash = %(h)s DESC, updated_at DESC, id DESC LIMIT 1),"
        " logged AS (INSERT INTO hub_access_log (at, desk, officer, subject_hash, found)"
        " SELECT %(at)s, %(desk)s, %(officer)s, COALESCE((SELECT lookup_hash FROM hit), %(h)s),"
        " EXISTS (SELECT 1 FROM hit))"
        " SELECT hit.id, hit.lookup_hash, hit.id_kind, hit.id_number_enc, hit.profile_enc,"
        " hit.version, hit.updated_by, c.id, c.field, c.values_enc FROM hit"
        " LEFT JOIN hub_applicant_conflicts c ON c.applicant_id = hit.id"
        " AND c.resolved_at IS NULL ORDER BY c.id"
    )


# A NIK is only ever an applicant's own key; a foreign number may be another's alias.
_LOOKUP_NIK = _lookup_statement("lookup_hash = %(h)s")
_LOOKUP_FOREIGN = _lookup_statement("(lookup_hash = %(h)s OR alias_hash = %(h)s)")


@dataclass(frozen=True)
class _ApplicantRow:
    id: int
    lookup_hash: str
    id_kind: str
    id_number_enc: bytes
    profile_enc: bytes
    version: int
    updated_by: str


@dataclass(frozen=True)
class _ConflictRow:
    id: int
    field: str
    values_enc: bytes


def _lookup_pg(conn, digest: str, foreign: bool, desk: str, officer: str):  # type: ignore[no-untyped-def]
    """The applicant, the access log entry and the open conflicts in one statement and one
    round trip (the transaction's BEGIN included); an officer waits on it at the counter."""
    driver = conn.connection.driver_connection
    params = {"h": digest, "at": now_iso(), "desk": desk, "officer": officer}
    with _driver_errors(conn, "hub look-up"):
        with driver.pipeline():
            cursor = driver.execute(_LOOKUP_FOREIGN if foreign else _LOOKUP_NIK, params)
        rows = cursor.fetchall()
    if not rows:
        return None, []
    return _ApplicantRow(*rows[0][:7]), [_ConflictRow(*r[7:]) for r in rows if r[7] is not None]


def _write_push_pg(  # type: ignore[no-untyped-def]
    conn, rows: list[tuple], applicants: list[dict[str, Any]], desk: str, last: int,
    head: str, stamp: str,
) -> set[str]:
    """Write a push inside the caller's transaction; the look-up hashes of the applicants
    inserted (the others already exist)."""
    driver = conn.connection.driver_connection
    with _driver_errors(conn):
        with driver.cursor() as cursor:
            with cursor.copy(_STAGE_COPY) as copy:
                copy.set_types(_STAGE_TYPES)
                for row in rows:
                    copy.write_row(row)
        with driver.pipeline():
            driver.execute(_STAGE_MERGE)
            returning = None
            if applicants:
                returning = driver.execute(
                    _APPLICANTS_INSERT,
                    (
                        desk,
                        desk,
                        stamp,
                        [a["lookup_hash"] for a in applicants],
                        [a["id_kind"] for a in applicants],
                        [a["id_number_enc"] for a in applicants],
                        [a["name_enc"] for a in applicants],
                        [a["profile_enc"] for a in applicants],
                        [a["alias_hash"] for a in applicants],
                    ),
                )
            driver.execute(_DESK_ACKED, (last, head, stamp, desk))
        return {r[0] for r in returning.fetchall()} if returning is not None else set()


class _ChainBroken(Exception):
    def __init__(self, seq: int, reason: str):
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def _user_ctx(username: str) -> bytes:
    """The associated data of an officer's sealed full name: the account it belongs to."""
    return b"user:" + username.encode("utf-8")


def _ctx(column: bytes, lookup_hash: str) -> bytes:
    """The associated data of an applicant's sealed column: the column and the applicant, so a
    value copied into another row or column by someone with write access fails to open."""
    return column + b":" + lookup_hash.encode("ascii")


def _applicant_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The shared fields of a pushed applicant: its name and its profile's values."""
    fields: dict[str, Any] = {}
    profile = body.get("profile")
    if isinstance(profile, Mapping):
        fields.update({str(k): v for k, v in profile.items()})
    if body.get("name") is not None:
        fields["name"] = body.get("name")
    return fields


def _merge(
    profile: Mapping[str, Any],
    incoming: Mapping[str, Any],
    base: int,
    desk: str,
    stamp: str,
    version: int,
) -> tuple[dict[str, Any], dict[str, list], list[tuple[str, list[dict[str, Any]]]]]:
    """Merge a desk's applicant into the hub's, ODK-Central style.

    A field the desk sends with a value different from the hub's is taken (the newest arrival
    is what desks pre-fill). When another desk also changed that field after the version this
    desk started from (``base``), and this desk changed it too (its value differs from the value
    at ``base``), both values are kept side by side as a conflict for a supervisor.
    """
    current = dict(profile.get("fields") or {})
    history: dict[str, list] = {k: list(v) for k, v in (profile.get("history") or {}).items()}
    conflicts = []
    for name, value in incoming.items():
        if current.get(name) == value:
            continue
        entries = history.get(name, [])
        # What this desk last knew of the field: its value at ``base``, or what it pushed
        # itself since (a desk's second push never conflicts with its own first).
        known_version, known = 0, None
        for entry_version, entry_desk, _at, entry_value in entries:
            if entry_version <= base or entry_desk == desk:
                known_version, known = entry_version, entry_value
        others_since = [e for e in entries if e[0] > max(base, known_version) and e[1] != desk]
        if others_since and value == known:
            continue  # the desk did not touch the field; another desk did: keep theirs
        if others_since and name in current:
            last = others_since[-1]
            conflicts.append(
                (
                    name,
                    [
                        {"value": current[name], "desk": last[1], "at": last[2]},
                        {"value": value, "desk": desk, "at": stamp},
                    ],
                )
            )
        current[name] = value
        history.setdefault(name, []).append([version, desk, stamp, value])
    return current, history, conflicts
