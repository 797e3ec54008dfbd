"""The audit trail: verifying the hash chain, reporting its head, and the access log.

The access log answers "who saw this person's data": look-ups of an applicant, searches of
the submissions and opened submission details are audited with the people they showed,
named by a keyed hash of their identity number (``mppdesk.store.access_log``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mppdesk.core.audit_chain import verify_chain
from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.store import access_log, lookups, repo
from mppdesk.store.views import SearchTerm


def chain_head(runtime: Runtime) -> str:
    """``ID:HASH`` of the newest event: recorded off the PC to catch a rewritten chain."""
    with runtime.store.read() as session:
        event_id, digest = repo.audit_head(session)
    return f"{event_id}:{digest}"


def verify_audit(runtime: Runtime, expect_head: str | None = None) -> dict[str, Any]:
    """Walk the whole chain; also check that a head recorded elsewhere is still in it."""
    count = 0
    seen_expected = expect_head is None
    expected_id, expected_hash = (None, None)
    if expect_head:
        left, _, right = expect_head.partition(":")
        expected_id, expected_hash = (int(left) if left.isdigit() else -1), right
    with runtime.store.read() as session:

        def counted():
            nonlocal count, seen_expected
            for event in repo.audit_events(session):
                count += 1
                if event.id == expected_id and event.hash == expected_hash:
                    seen_expected = True
                yield event

        broken = verify_chain(counted())
        head_id, head_hash = repo.audit_head(session)
    if broken is not None:
        return {
            "ok": False,
            "events": count,
            "first_bad_event": broken.event_id,
            "position": broken.position,
            "reason": broken.reason,
            "head": f"{head_id}:{head_hash}",
        }
    if not seen_expected:
        return {
            "ok": False,
            "events": count,
            "first_bad_event": expected_id,
            "position": None,
            "reason": "the recorded head is not in this chain (the chain was rewritten)",
            "head": f"{head_id}:{head_hash}",
        }
    return {
        "ok": True,
        "events": count,
        "first_bad_event": None,
        "position": None,
        "reason": None,
        "head": f"{head_id}:{head_hash}",
    }


# --- the access log: who saw whose data ------------------------------------------------------

# Events that show a person's data to the one who acts; with ``--subject`` every event about
# the person's record, visits and submissions (intake, review, reprints, collection) is shown.
ACCESS_ACTIONS = (
    "applicant.viewed",
    "submission.viewed",
    "submissions.searched",
    "audit.access_log_read",
)
MAX_LOG_ROWS = 5000


def record_search(
    runtime: Runtime, actor: Actor, term: SearchTerm, numbers: Sequence[str], shown: int
) -> None:
    """Audit a search of the submissions: what kind of search, how many rows it showed and
    whose they were (subjects, never the numbers or the typed name)."""
    details: dict[str, Any] = {"desk": runtime.settings.desk.code, "kind": term.kind, "shown": shown}
    if term.kind == "tracking":
        details["tracking"] = term.value  # a tracking number names no one by itself
    people = list(numbers)
    if term.kind == "identity" and _whole_identity(term.value):
        people.append(term.value)  # a number searched and not found was still asked for
    with runtime.store.write() as session:
        access_log.append_access(
            session,
            actor=actor.username,
            action="submissions.searched",
            object_type="search",
            object_id="",
            details=details,
            numbers=people,
        )


def _whole_identity(value: str) -> bool:
    """A complete identity number rather than a prefix: 16 digits (NIK) or a number with
    a letter in it (passport, KITAS)."""
    return (len(value) == 16 and value.isdigit()) or (
        len(value) >= 6 and not value.isdigit()
    )


def record_detail_view(
    runtime: Runtime, actor: Actor, submission_id: str, number: str, tracking: str
) -> None:
    """Audit the opening of one submission's detail (the applicant's data, checklist)."""
    with runtime.store.write() as session:
        access_log.append_access(
            session,
            actor=actor.username,
            action="submission.viewed",
            object_type="submission",
            object_id=submission_id,
            details={"desk": runtime.settings.desk.code, "tracking": tracking},
            numbers=[number],
        )


@dataclass(frozen=True)
class AccessQuery:
    """What the supervisor asks: one person (identity number), one officer, one local day."""

    subject: str | None = None  # NIK, passport or KITAS/KITAP number
    user: str | None = None
    day: date | None = None
    limit: int = 500


def read_day(text: str | None) -> date | None:
    """A local day typed as YYYY-MM-DD (or DD-MM-YYYY); InvalidInput otherwise."""
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise InvalidInput([FieldError.of("date", "audit.bad_date", value=text[:20])])


def access_log_rows(runtime: Runtime, actor: Actor, query: AccessQuery) -> list[dict[str, Any]]:
    """Who saw whose data: the answer of the access-log screen and ``mppdesk audit log``.

    Supervisors and admins only, and the reading is itself audited (with the subject, not the
    number). Rows carry local times, the officer's name and the action; never an identity
    number, never a name of the person looked up.
    """
    require(actor, Operation.REPORT)
    numbers: list[str] = []
    if query.subject is not None:
        number = access_log.normalize_number(query.subject)
        if not number:
            raise InvalidInput([FieldError.of("subject", "audit.subject_empty")])
        numbers = [number]
        if not (len(number) == 16 and number.isdigit()):
            # A foreigner is keyed by one number (KITAS before passport): the other finds it.
            for kind in ("paspor", "kitas"):
                keyed = lookups.foreign_identity(runtime.store, kind, number)
                if keyed is not None and keyed[1] not in numbers:
                    numbers.append(keyed[1])
    since = until = None
    if query.day is not None:
        since = datetime.combine(query.day, time(0), runtime.tz)
        until = since + timedelta(days=1)
    limit = max(1, min(int(query.limit), MAX_LOG_ROWS))
    with runtime.store.write() as session:
        rows = access_log.access_events(
            session,
            numbers=numbers,
            actor=query.user or None,
            since=since,
            until=until,
            actions=ACCESS_ACTIONS,
            limit=limit,
        )
        access_log.append_access(
            session,
            actor=actor.username,
            action="audit.access_log_read",
            object_type="audit",
            object_id="",
            details={
                "user": query.user or "",
                "day": query.day.isoformat() if query.day else "",
                "rows": len(rows),
            },
            numbers=numbers,
        )
    return [_plain_row(row, runtime) for row in rows]


def _plain_row(row: dict[str, Any], runtime: Runtime) -> dict[str, Any]:
    details = row["details"]
    at = row["at"]
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return {
        "id": row["id"],
        "at": at.astimezone(runtime.tz).isoformat(timespec="seconds"),
        "user": row["actor"],
        "user_name": row["actor_name"],
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": row["object_id"],
        "desk": str(details.get("desk", "")),
        "kind": str(details.get("kind", "")),
        "shown": details.get("shown"),
        "tracking": str(details.get("tracking", "")),
        "people": len(details.get("subjects") or []),
    }
