"""The reference agency server's own store: one sqlite3 file, committed before every answer.

WAL with ``synchronous=FULL`` so an acknowledged submission survives a power cut, like a real
agency's. One connection behind one lock: the sim's load is a few thousand requests a second
at most, and a single writer makes the idempotency check and the insert one atomic step.

Statuses move ``received → processing → completed`` (or ``rejected`` / ``needs_info``; a
``needs_info`` moves on to ``completed``), one step per advance, and only once every listed
attachment has arrived. The final status is decided when the submission is stored:
``answers["_sim_outcome"]`` when given, else a fixed rule on the submission id
(sha256 of the id, first 8 hex digits as a number, modulo 20: 0 rejected, 1 needs_info,
otherwise completed; about 5 % each).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SIM_OUTCOMES = ("completed", "rejected", "needs_info")
TERMINAL = frozenset({"completed", "rejected"})

MESSAGES = {
    "received": "Berkas diterima, menunggu diproses.",
    "processing": "Permohonan sedang diproses.",
    "needs_info": "Perlu data tambahan: pemohon diminta menghubungi instansi.",
    "completed": "Permohonan selesai diproses.",
    "rejected": "Permohonan ditolak: data tidak sesuai (simulasi).",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    agency TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    agency_ref TEXT NOT NULL,
    body BLOB NOT NULL,
    body_sha256 TEXT NOT NULL,
    first_answer BLOB NOT NULL,
    desk TEXT NOT NULL,
    planned_outcome TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (agency, submission_id),
    UNIQUE (agency, seq)
);
CREATE TABLE IF NOT EXISTS listed_attachments (
    agency TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    PRIMARY KEY (agency, submission_id, name)
);
CREATE TABLE IF NOT EXISTS attachments (
    agency TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (agency, submission_id, name)
);
CREATE TABLE IF NOT EXISTS counters (
    agency TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (agency, name)
);
"""


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def planned_outcome(submission_id: str, answers: dict[str, Any]) -> str:
    chosen = answers.get("_sim_outcome")
    if chosen in SIM_OUTCOMES:
        return chosen
    bucket = int(hashlib.sha256(submission_id.encode("utf-8")).hexdigest()[:8], 16) % 20
    return {0: "rejected", 1: "needs_info"}.get(bucket, "completed")


def next_status(status: str, planned: str) -> str | None:
    if status == "received":
        return "processing"
    if status == "processing":
        return planned
    if status == "needs_info":
        return "completed"
    return None


@dataclass(frozen=True)
class StoredSubmission:
    agency: str
    submission_id: str
    agency_ref: str
    body: bytes
    first_answer: bytes
    status: str
    planned_outcome: str
    updated_at: float


@dataclass(frozen=True)
class ListedAttachment:
    name: str
    sha256: str
    size: int
    content_type: str


class SimStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        if self.path != ":memory:":
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("sim store %s is not in WAL mode (%s)", self.path, mode)
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- submissions -------------------------------------------------------------------

    def get(self, agency: str, submission_id: str) -> StoredSubmission | None:
        with self._lock:
            return self._get(agency, submission_id)

    def _get(self, agency: str, submission_id: str) -> StoredSubmission | None:
        row = self._db.execute(
            "SELECT agency_ref, body, first_answer, status, planned_outcome, updated_at"
            " FROM submissions WHERE agency = ? AND submission_id = ?",
            (agency, submission_id),
        ).fetchone()
        if row is None:
            return None
        return StoredSubmission(agency, submission_id, row[0], row[1], row[2], *row[3:])

    def insert(
        self,
        agency: str,
        submission_id: str,
        body: bytes,
        desk: str,
        outcome: str,
        attachments: Iterable[ListedAttachment],
        answer_for: Any,
        now: float,
    ) -> bytes:
        """Store a new submission; ``answer_for(agency_ref)`` builds the 201 body kept for replays."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM submissions WHERE agency = ?",
                    (agency,),
                ).fetchone()[0]
                agency_ref = f"{agency.upper()}-{seq:06d}"
                answer = answer_for(agency_ref)
                self._db.execute(
                    "INSERT INTO submissions (agency, submission_id, seq, agency_ref, body,"
                    " body_sha256, first_answer, desk, planned_outcome, status, received_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?)",
                    (
                        agency,
                        submission_id,
                        seq,
                        agency_ref,
                        body,
                        hashlib.sha256(body).hexdigest(),
                        answer,
                        desk,
                        outcome,
                        now,
                        now,
                    ),
                )
                self._db.executemany(
                    "INSERT INTO listed_attachments VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (agency, submission_id, a.name, a.sha256, a.size, a.content_type)
                        for a in attachments
                    ],
                )
                self._bump(agency, "submissions")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return answer

    def count(self, agency: str, name: str, by: int = 1) -> None:
        with self._lock:
            self._bump(agency, name, by)

    def _bump(self, agency: str, name: str, by: int = 1) -> None:
        self._db.execute(
            "INSERT INTO counters VALUES (?, ?, ?)"
            " ON CONFLICT (agency, name) DO UPDATE SET value = value + excluded.value",
            (agency, name, by),
        )

    # -- attachments -------------------------------------------------------------------

    def listed_attachment(
        self, agency: str, submission_id: str, name: str
    ) -> ListedAttachment | None:
        with self._lock:
            row = self._db.execute(
                "SELECT name, sha256, size, content_type FROM listed_attachments"
                " WHERE agency = ? AND submission_id = ? AND name = ?",
                (agency, submission_id, name),
            ).fetchone()
        return ListedAttachment(*row) if row else None

    def stored_attachment_sha256(self, agency: str, submission_id: str, name: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT sha256 FROM attachments WHERE agency = ? AND submission_id = ? AND name = ?",
                (agency, submission_id, name),
            ).fetchone()
        return row[0] if row else None

    def put_attachment(
        self,
        agency: str,
        submission_id: str,
        name: str,
        sha256: str,
        content_type: str,
        data: bytes,
        now: float,
    ) -> bool:
        """Store the bytes; False when that name was already stored (by a concurrent PUT)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (agency, submission_id, name, sha256, len(data), content_type, data, now),
                )
                inserted = cursor.rowcount == 1
                if inserted:
                    self._bump(agency, "attachments")
                    if not self._missing(agency, submission_id):
                        # The clock of the status timer starts when the files are complete.
                        self._db.execute(
                            "UPDATE submissions SET updated_at = ?"
                            " WHERE agency = ? AND submission_id = ?",
                            (now, agency, submission_id),
                        )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return inserted

    def missing_attachments(self, agency: str, submission_id: str) -> list[str]:
        with self._lock:
            return self._missing(agency, submission_id)

    def _missing(self, agency: str, submission_id: str) -> list[str]:
        rows = self._db.execute(
            "SELECT l.name FROM listed_attachments l LEFT JOIN attachments a"
            " ON a.agency = l.agency AND a.submission_id = l.submission_id AND a.name = l.name"
            " WHERE l.agency = ? AND l.submission_id = ? AND a.name IS NULL ORDER BY l.name",
            (agency, submission_id),
        ).fetchall()
        return [row[0] for row in rows]

    def attachment_names(self, agency: str, submission_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, sha256, size, content_type FROM attachments"
                " WHERE agency = ? AND submission_id = ? ORDER BY name",
                (agency, submission_id),
            ).fetchall()
        return [dict(zip(("name", "sha256", "size", "content_type"), r, strict=True)) for r in rows]

    # -- status ------------------------------------------------------------------------

    def advance(
        self, agency: str, submission_id: str | None, now: float
    ) -> tuple[list[tuple[str, str]], list[str]]:
        """Move one step: (advanced (id, new status) pairs, ids still waiting for files)."""
        advanced: list[tuple[str, str]] = []
        waiting: list[str] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if submission_id is None:
                    rows = self._db.execute(
                        "SELECT submission_id, status, planned_outcome FROM submissions"
                        " WHERE agency = ? AND status NOT IN ('completed', 'rejected')"
                        " ORDER BY seq",
                        (agency,),
                    ).fetchall()
                else:
                    rows = self._db.execute(
                        "SELECT submission_id, status, planned_outcome FROM submissions"
                        " WHERE agency = ? AND submission_id = ?",
                        (agency, submission_id),
                    ).fetchall()
                for sid, status, planned in rows:
                    if self._missing(agency, sid):
                        waiting.append(sid)
                        continue
                    new = next_status(status, planned)
                    if new is None:
                        continue
                    self._set_status(agency, sid, new, now)
                    advanced.append((sid, new))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return advanced, waiting

    def catch_up(self, agency: str, submission_id: str, now: float, step_s: float) -> None:
        """Apply the ``--advance-after`` timer: one step per ``step_s`` since the last change."""
        with self._lock:
            current = self._get(agency, submission_id)
            if current is None or current.status in TERMINAL:
                return
            if self._missing(agency, submission_id):
                return
            status, at = current.status, current.updated_at
            changed = False
            while status not in TERMINAL and now >= at + step_s:
                new = next_status(status, current.planned_outcome)
                if new is None:
                    break
                status, at, changed = new, at + step_s, True
            if changed:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._set_status(agency, submission_id, status, at)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def _set_status(self, agency: str, submission_id: str, status: str, at: float) -> None:
        self._db.execute(
            "UPDATE submissions SET status = ?, updated_at = ? WHERE agency = ? AND submission_id = ?",
            (status, at, agency, submission_id),
        )

    # -- admin -------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT agency, name, value FROM counters").fetchall()
        result: dict[str, dict[str, int]] = {}
        for agency, name, value in rows:
            result.setdefault(agency, {})[name] = value
        return result

    def list_submissions(self, agency: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT submission_id, agency_ref, body_sha256, status, desk, received_at,"
                " updated_at FROM submissions WHERE agency = ? ORDER BY seq",
                (agency,),
            ).fetchall()
        keys = ("submission_id", "agency_ref", "body_sha256", "status", "desk")
        return [
            {
                **dict(zip(keys, row[:5], strict=True)),
                "received_at": iso(row[5]),
                "updated_at": iso(row[6]),
            }
            for row in rows
        ]
