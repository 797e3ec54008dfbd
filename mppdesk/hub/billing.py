"""The desks' billing records at the hub: what a pushed bill may say, and which state wins.

A desk pushes each of its bills as a ``billing`` record (``resources/protocol/hub-sync.md``)
whenever the agency's word about it changes: issued unpaid, paid with the NTPN, expired, or
re-issued after expiry. The hub keeps one row per bill for the mall's money figures.

A bill is money and nothing personal: the hub takes exactly the fields below and refuses a
record with any other (a name or a NIK slipped into a bill is refused, never stored), with a
400 naming the field. Replays are harmless (the desk sequence already filters them) and a
state never goes back: the rules are the desk's own (``mppdesk.core.billing``), so a stale
``unpaid`` arriving after ``paid`` leaves the bill paid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mppdesk.core.billing import (
    AMOUNT_MAX,
    KINDS,
    NTPN,
    OTHER_CODE,
    PNBP_CODE,
    STATES,
    Billing,
    transition_problem,
)

FIELDS = frozenset(
    {
        "submission_id",
        "agency",
        "code",
        "kind",
        "amount",
        "expires_at",
        "state",
        "ntpn",
        "paid_at",
        "issued_at",
        "updated_at",
    }
)
_REQUIRED = ("submission_id", "agency", "code", "kind", "amount", "expires_at", "state")
_AGENCY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class BillingRecordError(ValueError):
    """A pushed billing record outside the contract; ``field`` names the part at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class HubBill:
    """One bill as the hub stores it (times as UTC ISO text, like every hub table)."""

    submission_id: str
    agency: str
    code: str
    kind: str
    amount: int
    state: str
    ntpn: str | None
    paid_at: str | None
    expires_at: str

    def as_billing(self) -> Billing:
        return Billing(
            self.code,
            self.kind,
            self.amount,
            datetime.fromisoformat(self.expires_at),
            self.state,
            self.ntpn,
            datetime.fromisoformat(self.paid_at) if self.paid_at else None,
        )

    def paid_day(self, tz: ZoneInfo) -> str | None:
        """The mall's local date of the payment: the day whose figures count it."""
        if self.paid_at is None:
            return None
        return datetime.fromisoformat(self.paid_at).astimezone(tz).date().isoformat()


def _utc_text(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > 40:
        raise BillingRecordError(f"{field.rsplit('.', 1)[-1]} is an ISO 8601 date-time", field)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BillingRecordError(
            f"{field.rsplit('.', 1)[-1]} is not an ISO 8601 date-time", field
        ) from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise BillingRecordError(f"{field.rsplit('.', 1)[-1]} must carry a UTC offset", field)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def parse_record(entity_id: str, body: Mapping[str, Any], where: str) -> HubBill | None:
    """The bill of one pushed record; None for a ``{"deleted": true}`` marker (a bill gone
    from the desk: the hub keeps the money it knew of). ``where`` prefixes the field named in
    the error (``records[3].body``)."""
    if body.get("deleted") is True and len(body) == 1:
        return None
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise BillingRecordError(
            f"a billing record has no field {unknown[0][:40]!r} (a bill carries nothing about"
            " the applicant)",
            f"{where}.{unknown[0][:40]}",
        )
    for name in _REQUIRED:
        if body.get(name) is None:
            raise BillingRecordError(f"{name} is required", f"{where}.{name}")
    submission_id = body["submission_id"]
    if submission_id != entity_id:
        raise BillingRecordError(
            "submission_id is the record's id (one bill per submission)",
            f"{where}.submission_id",
        )
    agency = body["agency"]
    if not isinstance(agency, str) or not _AGENCY.match(agency):
        raise BillingRecordError(
            "agency is an agency code (lower-case letters, digits, '-' or '_')", f"{where}.agency"
        )
    kind = body["kind"]
    if kind not in KINDS:
        raise BillingRecordError(f"kind is one of {', '.join(KINDS)}", f"{where}.kind")
    code = body["code"]
    pattern = PNBP_CODE if kind == "pnbp" else OTHER_CODE
    if not isinstance(code, str) or not pattern.match(code):
        raise BillingRecordError(
            "code is a SIMPONI billing code (15 digits)"
            if kind == "pnbp"
            else "code is 4 to 32 upper-case letters, digits or '-'",
            f"{where}.code",
        )
    amount = body["amount"]
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= AMOUNT_MAX:
        raise BillingRecordError(
            f"amount is a whole number of Rupiah from 1 to {AMOUNT_MAX}", f"{where}.amount"
        )
    state = body["state"]
    if state not in STATES:
        raise BillingRecordError(f"state is one of {', '.join(STATES)}", f"{where}.state")
    expires_at = _utc_text(body["expires_at"], f"{where}.expires_at")
    for name in ("issued_at", "updated_at"):
        if body.get(name) is not None:
            _utc_text(body[name], f"{where}.{name}")
    ntpn, paid_at = body.get("ntpn"), body.get("paid_at")
    if state == "paid":
        if not isinstance(ntpn, str) or not NTPN.match(ntpn):
            raise BillingRecordError(
                "a paid bill has its NTPN: 16 upper-case letters or digits", f"{where}.ntpn"
            )
        if paid_at is None:
            raise BillingRecordError("a paid bill has its paid_at", f"{where}.paid_at")
        paid_at = _utc_text(paid_at, f"{where}.paid_at")
    elif ntpn is not None:
        raise BillingRecordError(f"a bill that is {state} has no NTPN", f"{where}.ntpn")
    elif paid_at is not None:
        raise BillingRecordError(f"a bill that is {state} has no paid_at", f"{where}.paid_at")
    return HubBill(submission_id, agency, code, kind, amount, state, ntpn, paid_at, expires_at)


def refusal(stored: HubBill | None, incoming: HubBill) -> str | None:
    """Why ``incoming`` may not replace the bill the hub holds (None: it may), by the desk's
    own rules: a paid bill stays paid with its NTPN, an expired code never lives again, a
    code keeps its amount. A later record of the desk that breaks them is stale or wrong; the
    hub keeps what it has (and acknowledges the record, so the desk's journal moves on)."""
    if stored is None:
        return None
    return transition_problem(stored.as_billing(), incoming.as_billing())
