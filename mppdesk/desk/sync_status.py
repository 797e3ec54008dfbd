"""The outbox as the desk sees it: backlog per agency, resuming a paused agency, retry now."""

from __future__ import annotations

from typing import Any

from mppdesk.core.permissions import Operation
from mppdesk.core.states import OutboxState
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.runtime import Runtime
from mppdesk.store import outbox, repo


def backlog_summary(runtime: Runtime) -> dict[str, Any]:
    """Per agency: sent (done), failed, paused, flagged, held, pending (incl. in flight),
    and the last problem of an entry still waiting (what the status bar shows too)."""
    with runtime.store.read() as session:
        raw = outbox.backlog(session)
    agencies: dict[str, dict[str, Any]] = {}
    for agency, info in raw.items():
        states = info["states"]
        oldest = info["oldest_undelivered"]
        agencies[agency] = {
            "sent": states.get(OutboxState.DONE, 0),
            "failed": states.get(OutboxState.FAILED, 0),
            "paused": states.get(OutboxState.PAUSED, 0),
            "flagged": states.get(OutboxState.FLAGGED, 0),
            "held": states.get(OutboxState.HELD, 0),
            "pending": states.get(OutboxState.PENDING, 0) + states.get(OutboxState.IN_FLIGHT, 0),
            "oldest_undelivered": oldest.isoformat() if oldest else None,
        }
    totals = {
        key: sum(a[key] for a in agencies.values())
        for key in ("sent", "failed", "paused", "flagged", "held", "pending")
    }
    return {"agencies": agencies, "totals": totals}


def needing_a_person(runtime: Runtime) -> dict[str, int]:
    """Entries no retry will move (paused, failed, flagged, held), per state; manual agencies
    are left out (their entries wait for the handover list by design)."""
    manual = [code for code, e in runtime.settings.agencies.items() if e.mode == "manual"]
    with runtime.store.read() as session:
        return outbox.needing_a_person(session, manual)


def resume_agency(runtime: Runtime, agency: str) -> int:
    """Settings changed: the agency's paused entries go back to the queue now."""
    now = runtime.now()
    with runtime.store.write() as session:
        count = outbox.resume_agency(session, agency, now)
        if count:
            repo.append_audit(
                session,
                actor="system",
                action="agency.resumed",
                object_type="agency",
                object_id=agency,
                details={"entries": count},
            )
    return count


def retry_now(runtime: Runtime, actor: Actor, submission_id: str) -> int:
    require(actor, Operation.RETRY_SYNC)
    with runtime.store.write() as session:
        count = outbox.retry_now(session, submission_id, runtime.now())
        repo.append_audit(
            session,
            actor=actor.username,
            action="outbox.retry_now",
            object_type="submission",
            object_id=submission_id,
            details={"entries": count},
        )
    return count
