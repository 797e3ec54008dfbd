"""Read-only views of the store for the command line and the UI."""

from __future__ import annotations

from typing import Any

from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.runtime import Runtime
from mppdesk.store import billing as bills
from mppdesk.store import repo
from mppdesk.store import review as review_store


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def submission_row(submission: Any) -> dict[str, Any]:
    return {
        "submission_id": submission.id,
        "visit_id": submission.visit_id,
        "service": submission.service,
        "agency": submission.agency,
        "tracking_number": submission.tracking_number,
        "status": submission.status,
        "review_state": submission.review_state,
        "review_reason": submission.review_reason,
        "finalized_at": _iso(submission.finalized_at),
        "sla_due": _iso(submission.sla_due),
        "fee": submission.fee,
        "agency_ref": submission.agency_ref,
        "agency_status": submission.agency_status,
        "outbox": [
            {
                "agency": entry.agency,
                "state": entry.state,
                "attempts": entry.attempts,
                "last_error": (
                    f"{entry.last_error_class}: {entry.last_error_message}"
                    if entry.last_error_class
                    else None
                ),
                "next_attempt_at": _iso(entry.next_attempt_at),
                "agency_ref": entry.agency_ref,
                "agency_status": entry.agency_status,
            }
            for entry in submission.outbox
        ],
    }


def list_submissions(
    runtime: Runtime,
    actor: Actor,
    *,
    local_date: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    require(actor, Operation.VIEW_OWN)
    desk = None if actor.may(Operation.VIEW_ALL) else runtime.settings.desk.code
    with runtime.store.read() as session:
        rows = repo.list_submissions(
            session, local_date=local_date, status=status, desk=desk, limit=limit
        )
        # "payment": the agency's bill and its state (null for a free service or no bill yet).
        paid = bills.payments(session, [s.id for s in rows], runtime.now())
        # Corrections both ways, by tracking number (mppdesk.desk.corrections).
        later = review_store.superseders(session, [s.id for s in rows])
        earlier = review_store.tracking_numbers(
            session, [s.supersedes_id for s in rows if s.supersedes_id]
        )
        return [
            {
                **submission_row(s),
                "payment": paid.get(s.id),
                "supersedes": earlier.get(s.supersedes_id) if s.supersedes_id else None,
                "superseded_by": later[s.id].tracking_number if s.id in later else None,
                "cancellation": review_store.is_cancellation(s.answers),
            }
            for s in rows
        ]


def info(runtime: Runtime) -> dict[str, Any]:
    with runtime.store.read() as session:
        counts = repo.counts(session)
    store = runtime.store
    return {
        "data_dir": str(runtime.data_dir),
        "store": "sqlite" if store.is_sqlite else store.engine.dialect.name,
        "store_path": str(store.path) if store.path else store.url_for_humans(),
        "schema_version": store.schema_version(),
        "desk": runtime.settings.desk.code,
        "catalog": {
            "agencies": len(runtime.catalog.agencies),
            "services": len(runtime.catalog.services),
        },
        "counts": counts,
    }
