"""Billing records and payment state in the desk's store (table ``billing``, migration 0009).

The sync worker records what an agency stated about a submission's bill, already validated
(``mppdesk.core.billing``); here the change is checked against what the desk holds (a paid
bill stays paid, a code keeps its amount) and kept. Receipts, the submissions list, the
dashboard and the daily report read it back through the functions below.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from mppdesk.core.billing import Billing, shown_state, transition_problem
from mppdesk.core.states import TERMINAL_AGENCY_STATUSES
from mppdesk.store.models import BillingRecord, HubJournal, OutboxEntry, Submission

# How long after a bill's expiry the desk still asks the agency about it: a payment made in
# the code's last minutes may reach the agency's books later. Past it the desk stops asking
# and, if nobody reported the payment, records the bill expired by its own clock.
EXPIRY_GRACE_S = 6 * 3600.0


def _journal(session: Session, submission_id: str) -> None:
    """Name the changed bill in the hub journal, in the same transaction as the change (the
    journal triggers of migration 0006 do not cover this table): the desk's hub lane pushes
    it, so the mall's money figures follow every state the agency reports."""
    session.add(HubJournal(kind="billing", entity_id=submission_id))


def _as_billing(row: BillingRecord) -> Billing:
    return Billing(
        row.code, row.kind, row.amount, row.expires_at, row.state, row.ntpn, row.paid_at
    )


def stored(session: Session, submission_id: str) -> Billing | None:
    row = session.get(BillingRecord, submission_id)
    return _as_billing(row) if row is not None else None


def submission_of_entry(session: Session, entry_id: str) -> str | None:
    entry = session.get(OutboxEntry, entry_id)
    return entry.submission_id if entry is not None else None


def record(session: Session, submission_id: str, billing: Billing, now: datetime) -> str | None:
    """Keep what the agency stated about the submission's bill.

    Returns None when it was kept (or nothing changed), else why it may not replace what the
    desk holds; then nothing is written and the caller shows the reason.
    """
    row = session.get(BillingRecord, submission_id)
    if (
        row is not None
        and row.state == "expired"
        and billing.state == "unpaid"
        and billing.code == row.code
        and billing.amount == row.amount
        and billing.expires_at <= now
    ):
        # The desk expired the bill by its clock; an agency that still says "unpaid" about a
        # code its own expiry date declares dead is behind, not contradicting: keep "expired".
        return None
    problem = transition_problem(_as_billing(row) if row is not None else None, billing)
    if problem is not None:
        return problem
    if row is None:
        submission = session.get(Submission, submission_id)
        if submission is None:
            return f"no submission {submission_id} on this desk"
        row = BillingRecord(
            submission_id=submission_id, agency=submission.agency, issued_at=now
        )
        session.add(row)
    elif _as_billing(row) == billing:
        return None
    row.code = billing.code
    row.kind = billing.kind
    row.amount = billing.amount
    row.expires_at = billing.expires_at
    row.state = billing.state
    row.ntpn = billing.ntpn
    row.paid_at = billing.paid_at
    row.updated_at = now
    _journal(session, submission_id)
    return None


def pull_horizon(expires_at: datetime, grace_s: float = EXPIRY_GRACE_S) -> datetime:
    """The last time the desk asks the agency about an unpaid bill expiring at ``expires_at``."""
    return expires_at + timedelta(seconds=grace_s)


def awaits_payment(now: datetime, grace_s: float = EXPIRY_GRACE_S) -> ColumnElement[bool]:
    """SQL condition on ``OutboxEntry``: its submission's bill is unpaid and still within
    expiry + grace, so its status pull goes on even once the agency's status is terminal
    (an agency completes a service before the citizen pays, and the payment comes later)."""
    return exists(
        select(BillingRecord.submission_id).where(
            BillingRecord.submission_id == OutboxEntry.submission_id,
            BillingRecord.state == "unpaid",
            BillingRecord.expires_at > now - timedelta(seconds=grace_s),
        )
    )


def keep_pulling(
    session: Session,
    entry_id: str,
    submission_id: str,
    now: datetime,
    check_at: datetime,
    grace_s: float = EXPIRY_GRACE_S,
) -> bool:
    """After a status answer: an entry the outbox stopped pulling (terminal agency status)
    whose bill is still unpaid and within expiry + grace is asked again at ``check_at`` (at
    the latest at the horizon); True if so. Bounded: past the horizon it stays stopped."""
    entry = session.get(OutboxEntry, entry_id)
    row = session.get(BillingRecord, submission_id)
    if entry is None or row is None or row.state != "unpaid":
        return False
    if entry.next_status_check_at is not None or entry.agency_status is None:
        return False
    horizon = pull_horizon(row.expires_at, grace_s)
    if now >= horizon:
        return False
    entry.next_status_check_at = min(check_at, horizon)
    return True


def expire_overdue(
    session: Session, now: datetime, grace_s: float = EXPIRY_GRACE_S, limit: int = 500
) -> list[tuple[str, str]]:
    """Unpaid bills past expiry + grace that no agency answer closed: recorded ``expired`` by
    the desk's clock, and the pulls kept only for them stopped. Returns (agency, submission
    id) of each, so the views can be told."""
    rows = session.scalars(
        select(BillingRecord)
        .where(
            BillingRecord.state == "unpaid",
            BillingRecord.expires_at <= now - timedelta(seconds=grace_s),
        )
        .order_by(BillingRecord.expires_at)
        .limit(limit)
    ).all()
    terminal = {str(s) for s in TERMINAL_AGENCY_STATUSES}
    out = []
    for row in rows:
        row.state = "expired"
        row.updated_at = now
        _journal(session, row.submission_id)
        for entry in session.scalars(
            select(OutboxEntry).where(OutboxEntry.submission_id == row.submission_id)
        ):
            if entry.agency_status in terminal:
                entry.next_status_check_at = None
        out.append((row.agency, row.submission_id))
    return out


def any_overdue(session: Session, now: datetime, grace_s: float = EXPIRY_GRACE_S) -> bool:
    """Whether ``expire_overdue`` has work (a read, so a pass opens no write for nothing)."""
    return (
        session.scalar(
            select(BillingRecord.submission_id)
            .where(
                BillingRecord.state == "unpaid",
                BillingRecord.expires_at <= now - timedelta(seconds=grace_s),
            )
            .limit(1)
        )
        is not None
    )


def payment_of(row: BillingRecord | Billing | None, now: datetime) -> dict[str, Any] | None:
    """The ``payment`` object of ``submissions list --json`` and the views (None: no bill)."""
    if row is None:
        return None
    billing = row if isinstance(row, Billing) else _as_billing(row)
    return {
        "code": billing.code,
        "kind": billing.kind,
        "amount": billing.amount,
        "state": shown_state(billing, now),
        "ntpn": billing.ntpn,
        "expires": billing.expires_at.isoformat(),
        "paid_at": billing.paid_at.isoformat() if billing.paid_at else None,
    }


def payments(
    session: Session, submission_ids: Iterable[str], now: datetime
) -> dict[str, dict[str, Any]]:
    """``payment_of`` for each submission that has a bill, by submission id."""
    ids = list(submission_ids)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(BillingRecord).where(BillingRecord.submission_id.in_(ids[start : start + 500]))
        ).all()
        for row in rows:
            payment = payment_of(row, now)
            assert payment is not None
            out[row.submission_id] = payment
    return out


def unpaid_near_expiry(
    session: Session, now: datetime, within_s: float, limit: int = 50
) -> list[dict[str, Any]]:
    """Unpaid bills whose code dies within ``within_s`` (soonest first), for a person to
    remind the citizen: tracking number, agency, code, amount, expiry."""
    horizon = datetime.fromtimestamp(now.timestamp() + within_s, now.tzinfo)
    rows = session.execute(
        select(BillingRecord, Submission.tracking_number)
        .join(Submission, Submission.id == BillingRecord.submission_id)
        .where(
            BillingRecord.state == "unpaid",
            BillingRecord.expires_at > now,
            BillingRecord.expires_at <= horizon,
        )
        .order_by(BillingRecord.expires_at)
        .limit(limit)
    ).all()
    return [
        {
            "tracking_number": tracking,
            "agency": row.agency,
            "code": row.code,
            "amount": row.amount,
            "expires": row.expires_at.isoformat(),
        }
        for row, tracking in rows
    ]


def collected_per_agency(
    session: Session, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Per agency, the bills paid in [start, end): their count and total Rupiah."""
    rows = session.execute(
        select(BillingRecord.agency, func.count(), func.sum(BillingRecord.amount))
        .where(
            BillingRecord.state == "paid",
            BillingRecord.paid_at >= start,
            BillingRecord.paid_at < end,
        )
        .group_by(BillingRecord.agency)
        .order_by(BillingRecord.agency)
    ).all()
    return {agency: {"paid": int(n), "amount": int(total or 0)} for agency, n, total in rows}
