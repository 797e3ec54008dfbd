"""The finalize write: one visit's rows in one short transaction on the DB-API connection.

Finalize is the desk's hottest write. The desk validates the visit and plans every row in
pure code first (:mod:`mppdesk.forms.plan`); this module then does only what needs the
write lock: read the applicant, the visit's state, the day's sequence and the audit chain's
head, and insert the planned rows with ``executemany``. The SQL strings are constants, so
the driver's statement cache prepares each of them once per connection, and the same
statements run on SQLite (``?``) and PostgreSQL (``%s``): only the parameter style differs.

Rows go in as plain tuples in the column order of the ``*Row`` types (mppdesk.forms.rows).
Values are converted the way SQLAlchemy stores them (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` and
``YYYY-MM-DD`` on SQLite, ``json.dumps`` for JSON columns), so the ORM reads them back
unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy.exc import DBAPIError

from mppdesk.core.audit_chain import GENESIS
from mppdesk.forms.plan import ApplicantPlan, StoredApplicant, VisitRows
from mppdesk.forms.rows import (
    AttachmentRow,
    AuditRow,
    ChecklistRow,
    OutboxRow,
    SubmissionRow,
    VisitRow,
)
from mppdesk.store.database import Store
from mppdesk.store.repo import AUDIT_LOCK, name_key, name_tokens

__all__ = [
    "AttachmentRow",
    "AuditRow",
    "ChecklistRow",
    "OutboxRow",
    "SubmissionRow",
    "VisitRow",
    "VisitWriter",
    "visit_writer",
]


def _insert_sql(table: str, row_type: type[NamedTuple]) -> str:
    """The INSERT of one row type (its fields are the columns), built once at import."""
    columns = ", ".join(row_type._fields)
    marks = ", ".join("?" * len(row_type._fields))
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - constants only


# Constant statements (written with ?; PostgreSQL gets the same text with %s).
_SQL = {
    "applicant": "SELECT id, name, profile FROM applicants WHERE id_kind = ? AND id_number = ?",
    "applicant_insert": (
        "INSERT INTO applicants (id, id_kind, id_number, name, name_key, profile, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "applicant_update": "UPDATE applicants SET profile = ?, updated_at = ? WHERE id = ?",
    "applicant_rename": "UPDATE applicants SET name = ?, name_key = ? WHERE id = ?",
    "tokens_delete": "DELETE FROM applicant_name_tokens WHERE applicant_id = ?",
    "token_insert": "INSERT INTO applicant_name_tokens (token, applicant_id) VALUES (?, ?)",
    "change_insert": (
        "INSERT INTO applicant_changes (applicant_id, field, old_value, new_value, changed_at,"
        " visit_id, officer) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    "visit_status": "SELECT status FROM visits WHERE id = ?",
    "visit_insert": _insert_sql("visits", VisitRow),
    "visit_update": (
        "UPDATE visits SET ticket = ?, officer = ?, applicant_id = ?, proxy = ?, status = ?,"
        " draft = ?, ticket_at = ?, finalized_at = ?, local_date = ?, updated_at = ?"
        " WHERE id = ?"
    ),
    "submission_service": "SELECT service FROM submissions WHERE id = ?",
    # corrections (mppdesk.desk.corrections): who replaced it; replace it, withdraw the unsent
    "superseded_by": "SELECT tracking_number FROM submissions WHERE supersedes_id = ?",
    "supersede": "UPDATE submissions SET status = 'superseded' WHERE id = ?",
    "withdraw": (
        "UPDATE outbox SET state = 'superseded', next_attempt_at = NULL, lease_owner = NULL"
        " WHERE submission_id = ? AND state IN ('held', 'pending', 'paused', 'failed', 'flagged')"
    ),
    "sequence": (
        "INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT (name)"
        " DO UPDATE SET value = sequences.value + excluded.value RETURNING value"
    ),
    "audit_lock": f"SELECT pg_advisory_xact_lock({AUDIT_LOCK})",
    "audit_head": "SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1",
    "submissions": _insert_sql("submissions", SubmissionRow),
    "checklist": _insert_sql("checklist_items", ChecklistRow),
    "attachments": _insert_sql("attachments", AttachmentRow),
    "outbox": _insert_sql("outbox", OutboxRow),
    "audit": _insert_sql("audit_events", AuditRow),
}
# The columns of each inserted table that need converting (times, dates, JSON); the
# others go to the driver as they are.
_CONVERTED = {
    key: tuple(row_type._fields.index(name) for name in names)
    for key, row_type, names in (
        ("submissions", SubmissionRow, ("answers", "sla_due", "finalized_at")),
        ("checklist", ChecklistRow, ()),
        ("attachments", AttachmentRow, ()),
        ("outbox", OutboxRow, ("created_at", "next_attempt_at", "attachments_acked")),
        ("audit", AuditRow, ("at", "details")),
    )
}
_SQL_BY_STYLE = {"?": _SQL, "%s": {k: v.replace("?", "%s") for k, v in _SQL.items()}}


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy stores it in SQLite (UtcDateTime, Date, JSON)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _postgres_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


class VisitWriter:
    """The statements of one finalize, on one cursor inside one write transaction."""

    def __init__(self, cursor: Any, paramstyle: str, is_sqlite: bool, driver_error: type):
        self._cursor = cursor
        self._driver_error = driver_error
        self._sql = _SQL_BY_STYLE[paramstyle]
        self._value = _sqlite_value if is_sqlite else _postgres_value
        self._is_sqlite = is_sqlite

    def _row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        value = self._value
        return tuple([value(v) for v in row])

    def _rows(self, key: str, rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """Rows with their time and JSON columns converted (the other columns go as they are)."""
        converted = _CONVERTED[key]
        if not converted:
            return list(rows)
        value = self._value
        out = []
        for row in rows:
            values = list(row)
            for index in converted:
                values[index] = value(values[index])
            out.append(values)
        return out

    def _execute(self, key: str, params: Sequence[Any]) -> None:
        try:
            self._cursor.execute(self._sql[key], params)
        except self._driver_error as exc:
            raise self._wrapped(key, params, exc) from exc

    def _execute_many(self, key: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._cursor.executemany(self._sql[key], rows)
        except self._driver_error as exc:
            raise self._wrapped(key, rows, exc) from exc

    def _wrapped(self, key: str, params: Any, exc: Exception) -> DBAPIError:
        """The driver's error as SQLAlchemy raises it on the session path.

        The error boundary then treats both paths alike: environment faults become a
        StoreError, and a crash report keeps the statement but drops its parameters
        (personal data).
        """
        return DBAPIError.instance(self._sql[key], params, exc, self._driver_error)

    def _one(self, key: str, params: Sequence[Any]) -> Any:
        self._execute(key, params)
        return self._cursor.fetchone()

    def find_applicant(self, id_kind: str, id_number: str) -> StoredApplicant | None:
        """The stored applicant of this identity, read under the write lock."""
        found = self._one("applicant", (id_kind, id_number))
        if found is None:
            return None
        applicant_id, name, stored = found
        if isinstance(stored, str | bytes):
            stored = json.loads(stored)
        return StoredApplicant(applicant_id, name, stored or {})

    def write_applicant(
        self, applicant: ApplicantPlan, *, officer: str, visit_id: str | None, now: datetime
    ) -> None:
        """The planned upsert: a new row, or the merged profile with its change history."""
        stamp = self._value(now)
        if applicant.is_new:
            name = applicant.name
            self._execute(
                "applicant_insert",
                (applicant.id, applicant.id_kind, applicant.id_number, name, name_key(name),
                 json.dumps(dict(applicant.profile)), stamp, stamp),
            )
            self._insert_tokens(applicant.id, name)
            return
        if not applicant.changes:
            return
        profile = json.dumps(dict(applicant.profile))
        self._execute("applicant_update", (profile, stamp, applicant.id))
        if applicant.renamed:
            name = applicant.name
            self._execute("applicant_rename", (name, name_key(name), applicant.id))
            self._execute("tokens_delete", (applicant.id,))
            self._insert_tokens(applicant.id, name)
        self._execute_many(
            "change_insert",
            [
                (applicant.id, field_id, json.dumps({"v": old}), json.dumps({"v": new}), stamp,
                 visit_id, officer)
                for field_id, old, new in applicant.changes
            ],
        )

    def _insert_tokens(self, applicant_id: str, name: str) -> None:
        tokens = sorted(name_tokens(name))
        if tokens:
            self._execute_many("token_insert", [(t, applicant_id) for t in tokens])

    def visit_status(self, visit_id: str) -> str | None:
        row = self._one("visit_status", (visit_id,))
        return row[0] if row else None

    def submission_service(self, submission_id: str) -> str | None:
        """The service of a stored submission (a correction must be for the same one)."""
        row = self._one("submission_service", (submission_id,))
        return row[0] if row else None

    def superseded_by(self, submission_id: str) -> str | None:
        """The tracking number of the submission that already replaced this one, if any."""
        row = self._one("superseded_by", (submission_id,))
        return row[0] if row else None

    def supersede(self, submission_ids: Sequence[str]) -> None:
        """The corrected submissions are replaced: never approved, their unsent entries
        withdrawn (an entry in flight is the sync worker's: its claim withdraws it)."""
        if submission_ids:
            self._execute_many("supersede", [(i,) for i in submission_ids])
            self._execute_many("withdraw", [(i,) for i in submission_ids])

    def store_visit(self, visit: VisitRow, *, existing: bool) -> None:
        """Insert the visit, or turn its draft row into the finalized visit."""
        if not existing:
            self._execute("visit_insert", self._row(visit))
            return
        changed = (
            visit.ticket,
            visit.officer,
            visit.applicant_id,
            visit.proxy,
            visit.status,
            visit.draft,
            visit.ticket_at,
            visit.finalized_at,
            visit.local_date,
            visit.updated_at,
            visit.id,
        )
        self._execute("visit_update", self._row(changed))

    def take_numbers(self, name: str, count: int) -> int:
        """``count`` consecutive numbers of a named counter; returns the first (one upsert)."""
        value = self._one("sequence", (name, count))[0]
        return int(value) - count + 1

    def audit_head(self) -> str:
        """The chain's last hash, read under the write lock so the next event follows it."""
        if not self._is_sqlite:
            # One writer at a time extends the chain; SQLite's BEGIN IMMEDIATE already does.
            self._one("audit_lock", ())
        row = self._one("audit_head", ())
        return row[0] if row else GENESIS

    def insert_rows(self, rows: VisitRows) -> None:
        """Every planned row, one ``executemany`` per table, parents before children."""
        for key, table_rows in (
            ("submissions", rows.submissions),
            ("checklist", rows.checklist),
            ("attachments", rows.attachments),
            ("outbox", rows.outbox),
            ("audit", rows.audit),
        ):
            if table_rows:
                self._execute_many(key, self._rows(key, table_rows))


@contextmanager
def visit_writer(store: Store) -> Iterator[VisitWriter]:
    """One finalize's write transaction (``Store.raw_write``: BEGIN IMMEDIATE, WAL, FULL)."""
    with store.raw_write() as cursor:
        driver_error = store.engine.dialect.loaded_dbapi.Error
        yield VisitWriter(cursor, store.paramstyle, store.is_sqlite, driver_error)
