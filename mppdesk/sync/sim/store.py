"""The reference agency server's own store: one sqlite3 file, committed before every answer.

WAL with ``synchronous=FULL`` so an acknowledged submission survives a power cut, like a real
agency's. One writer connection behind one lock; writes that arrive while a commit is being
made join the next one (group commit: each request still gets its answer only once its own
write is durable, but concurrent requests share an fsync instead of queueing for one each, as
a real agency's database does). Each write runs in a savepoint of its own, so one failing
write never undoes its neighbours. Reads use pooled connections of their own (WAL readers
never wait for the writer), so looking a key up does not queue behind someone else's fsync.
The idempotency of one key is the server's in-progress claim plus the primary key.

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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)

SIM_OUTCOMES = ("completed", "rejected", "needs_info")
TERMINAL = frozenset({"completed", "rejected"})
MAX_IDLE_READERS = 16  # read connections kept open between requests

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
CREATE TABLE IF NOT EXISTS billing (
    agency TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    paid_at REAL,
    ntpn TEXT,
    PRIMARY KEY (agency, submission_id)
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
class SimBill:
    """A bill the sim issued: what it answers in the POST and status bodies."""

    code: str
    kind: str
    amount: int
    expires_at: float
    paid_at: float | None = None
    ntpn: str | None = None

    def state(self, now: float) -> str:
        if self.paid_at is not None:
            return "paid"
        return "expired" if now >= self.expires_at else "unpaid"

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "kode_billing": self.code,
            "kind": self.kind,
            "amount": self.amount,
            "expires_at": iso(self.expires_at),
            "state": self.state(now),
            "ntpn": self.ntpn,
            "paid_at": iso(self.paid_at) if self.paid_at is not None else None,
        }


# Agencies whose fees are regional levies or the provider's own charges, not PNBP (the
# sim's choice; a real agency says so in its own bill).
REGIONAL_AGENCIES = frozenset({"bapenda", "samsat"})
OTHER_AGENCIES = frozenset(
    {"pdam", "pln", "bri", "bpjs-kesehatan", "bpjs-ketenagakerjaan", "kemenag"}
)


def bill_kind(agency: str) -> str:
    if agency in REGIONAL_AGENCIES:
        return "regional"
    return "other" if agency in OTHER_AGENCIES else "pnbp"


def bill_code(agency: str, kind: str, seq: int) -> str:
    """A PNBP bill has a 15-digit SIMPONI code; others the agency's own code."""
    if kind == "pnbp":
        prefix = int(hashlib.sha256(agency.encode()).hexdigest()[:6], 16) % 1000
        return f"8{prefix:03d}{seq:011d}"
    return f"{agency.upper()[:8].strip('-')}-{seq:08d}"


def ntpn_for(agency: str, submission_id: str) -> str:
    """The state's proof of payment: 16 upper-case letters and digits."""
    return hashlib.sha256(f"ntpn:{agency}:{submission_id}".encode()).hexdigest()[:16].upper()


@dataclass(frozen=True)
class ListedAttachment:
    name: str
    sha256: str
    size: int
    content_type: str


class _Write:
    """One write waiting for the next group commit, and what came of it."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[], Any]) -> None:
        self.work = work
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


class SimStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()  # the writer connection (and, in memory, every read)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout = 5000")
        # An in-memory store is one connection: its reads share the writer's lock.
        self._shared_reads = self.path in (":memory:", "")
        if not self._shared_reads:
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("sim store %s is not in WAL mode (%s)", self.path, mode)
                self._shared_reads = True  # readers would wait for the writer anyway
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.executescript(_SCHEMA)
        self._queue: list[_Write] = []  # writes waiting for the next commit
        self._committing = False  # a thread is making a commit (the group's leader)
        self._queue_cond = threading.Condition()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        with self._lock:
            self._db.close()

    # -- connections -------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads: a pooled one of its own (WAL), or the writer's (memory)."""
        if self._shared_reads:
            with self._lock:
                yield self._db
            return
        with self._readers_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the sim store is closed")
            db = self._readers.pop() if self._readers else None
        if db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 5000")
            db.execute("PRAGMA query_only = ON")
        try:
            yield db
        finally:
            with self._readers_lock:
                keep = not self._closed and len(self._readers) < MAX_IDLE_READERS
                if keep:
                    self._readers.append(db)
            if not keep:
                db.close()

    def _group_write(self, work: Callable[[], T]) -> T:
        """Run ``work`` (statements on the writer connection) and return once it is durable.

        The first thread to find no commit under way becomes the leader: it takes every write
        queued so far (its own included), runs each in a savepoint and commits them together;
        writes queued meanwhile wait for the next leader. A write's exception is its own.
        """
        item = _Write(work)
        with self._queue_cond:
            self._queue.append(item)
            while self._committing and not item.done:
                self._queue_cond.wait()
            if item.done:  # committed (or failed) by another thread's group
                return self._outcome(item)
            self._committing = True
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._queue_cond:
                self._committing = False
                self._queue_cond.notify_all()
        return self._outcome(item)

    @staticmethod
    def _outcome(item: _Write) -> Any:
        if item.error is not None:
            raise item.error
        return item.result

    def _commit(self, batch: list[_Write]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for item in batch:
                    self._db.execute("SAVEPOINT one_write")
                    try:
                        item.result = item.work()
                    except Exception as error:  # noqa: BLE001 - handed to its own thread
                        self._db.execute("ROLLBACK TO one_write")
                        item.error = error
                    self._db.execute("RELEASE one_write")
                self._db.execute("COMMIT")
            except BaseException as error:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                for item in batch:
                    if item.error is None:
                        item.result = None
                        item.error = sqlite3.OperationalError(f"commit failed: {error}")
                        item.error.__cause__ = error
                if not isinstance(error, Exception):
                    raise
            finally:
                with self._queue_cond:
                    for item in batch:
                        item.done = True

    # -- submissions -------------------------------------------------------------------

    def get(self, agency: str, submission_id: str) -> StoredSubmission | None:
        with self._reading() as db:
            return self._get(db, agency, submission_id)

    def _get(
        self, db: sqlite3.Connection, agency: str, submission_id: str
    ) -> StoredSubmission | None:
        row = db.execute(
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
        fee: int | None = None,
        billing_ttl_s: float = 0.0,
    ) -> bytes:
        """Store a new submission; ``answer_for(agency_ref, bill)`` builds the 201 body kept
        for replays. A ``fee`` above zero issues a bill that expires ``billing_ttl_s`` later.

        Returns once it is committed (with whatever other writes share that commit)."""
        listed = list(attachments)
        digest = hashlib.sha256(body).hexdigest()

        def write() -> bytes:
            seq = self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM submissions WHERE agency = ?",
                (agency,),
            ).fetchone()[0]
            agency_ref = f"{agency.upper()}-{seq:06d}"
            bill = None
            if fee is not None and fee > 0:
                kind = bill_kind(agency)
                bill = SimBill(bill_code(agency, kind, seq), kind, fee, now + billing_ttl_s)
                self._db.execute(
                    "INSERT INTO billing (agency, submission_id, code, kind, amount, expires_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (agency, submission_id, bill.code, kind, fee, bill.expires_at),
                )
                self._bump(agency, "bills_issued")
            answer = answer_for(agency_ref, bill)
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
                    digest,
                    answer,
                    desk,
                    outcome,
                    now,
                    now,
                ),
            )
            self._db.executemany(
                "INSERT INTO listed_attachments VALUES (?, ?, ?, ?, ?, ?)",
                [(agency, submission_id, a.name, a.sha256, a.size, a.content_type) for a in listed],
            )
            self._bump(agency, "submissions")
            return answer

        return self._group_write(write)

    def count(self, agency: str, name: str, by: int = 1) -> None:
        self._group_write(lambda: self._bump(agency, name, by))

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
        with self._reading() as db:
            row = db.execute(
                "SELECT name, sha256, size, content_type FROM listed_attachments"
                " WHERE agency = ? AND submission_id = ? AND name = ?",
                (agency, submission_id, name),
            ).fetchone()
        return ListedAttachment(*row) if row else None

    def stored_attachment_sha256(self, agency: str, submission_id: str, name: str) -> str | None:
        with self._reading() as db:
            row = db.execute(
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

        def write() -> bool:
            cursor = self._db.execute(
                "INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (agency, submission_id, name, sha256, len(data), content_type, data, now),
            )
            inserted = cursor.rowcount == 1
            if inserted:
                self._bump(agency, "attachments")
                if not self._missing(self._db, agency, submission_id):
                    # The clock of the status timer starts when the files are complete.
                    self._db.execute(
                        "UPDATE submissions SET updated_at = ?"
                        " WHERE agency = ? AND submission_id = ?",
                        (now, agency, submission_id),
                    )
            return inserted

        return self._group_write(write)

    def missing_attachments(self, agency: str, submission_id: str) -> list[str]:
        with self._reading() as db:
            return self._missing(db, agency, submission_id)

    def _missing(self, db: sqlite3.Connection, agency: str, submission_id: str) -> list[str]:
        rows = db.execute(
            "SELECT l.name FROM listed_attachments l LEFT JOIN attachments a"
            " ON a.agency = l.agency AND a.submission_id = l.submission_id AND a.name = l.name"
            " WHERE l.agency = ? AND l.submission_id = ? AND a.name IS NULL ORDER BY l.name",
            (agency, submission_id),
        ).fetchall()
        return [row[0] for row in rows]

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
                    if self._missing(self._db, agency, sid):
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
            current = self._get(self._db, agency, submission_id)
            if current is None or current.status in TERMINAL:
                return
            if self._missing(self._db, agency, submission_id):
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

    # -- billing -----------------------------------------------------------------------

    def bill(self, agency: str, submission_id: str) -> SimBill | None:
        with self._reading() as db:
            row = db.execute(
                "SELECT code, kind, amount, expires_at, paid_at, ntpn FROM billing"
                " WHERE agency = ? AND submission_id = ?",
                (agency, submission_id),
            ).fetchone()
        return SimBill(*row) if row else None

    def pay(self, agency: str, submission_id: str, now: float) -> tuple[str, SimBill | None]:
        """Record the payment of a bill: ("paid", bill), or ("no_bill" | "expired", bill).
        Paying a paid bill again changes nothing (the first NTPN stays)."""

        def write() -> tuple[str, SimBill | None]:
            row = self._db.execute(
                "SELECT code, kind, amount, expires_at, paid_at, ntpn FROM billing"
                " WHERE agency = ? AND submission_id = ?",
                (agency, submission_id),
            ).fetchone()
            if row is None:
                return "no_bill", None
            bill = SimBill(*row)
            if bill.paid_at is not None:
                return "paid", bill
            if bill.state(now) == "expired":
                return "expired", bill
            ntpn = ntpn_for(agency, submission_id)
            self._db.execute(
                "UPDATE billing SET paid_at = ?, ntpn = ? WHERE agency = ? AND submission_id = ?",
                (now, ntpn, agency, submission_id),
            )
            self._bump(agency, "bills_paid")
            return "paid", SimBill(bill.code, bill.kind, bill.amount, bill.expires_at, now, ntpn)

        return self._group_write(write)

    # -- admin -------------------------------------------------------------------------

    def stats(self) -> dict[str, dict[str, int]]:
        with self._reading() as db:
            rows = db.execute("SELECT agency, name, value FROM counters").fetchall()
        result: dict[str, dict[str, int]] = {}
        for agency, name, value in rows:
            result.setdefault(agency, {})[name] = value
        return result

    def list_submissions(self, agency: str) -> list[dict[str, Any]]:
        with self._reading() as db:
            rows = db.execute(
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
