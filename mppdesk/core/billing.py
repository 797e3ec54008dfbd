"""Billing records from agencies and the payment state they report: what is acceptable.

An agency may answer a fee-bearing submission with a billing record (``kode_billing``,
amount, expiry; for PNBP the 15-digit SIMPONI billing code) and later report the payment in
its status answer: ``unpaid`` → ``paid`` (with the NTPN, the state's proof of payment, and
the time) or ``expired``. Everything the agency says is checked here before the desk stores
or prints it: a billing code printed on a receipt is money a citizen will pay, so a record
that does not fit the contract is refused whole, never stored in part or "fixed up".

Pure functions over plain values (standard library only): the transport parses, the store
keeps, this module decides. See resources/protocol/agency-sync.md, "Billing".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from mppdesk.core.sync_policy import Outcome, OutcomeKind, protocol_error

KINDS = ("pnbp", "regional", "other")
STATES = ("unpaid", "paid", "expired")
AMOUNT_MAX = 999_999_999_999  # Rupiah: a trillion is no counter fee; beyond is a lie or a bug

PNBP_CODE = re.compile(r"^[0-9]{15}$")  # SIMPONI billing code
OTHER_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{3,31}$")
NTPN = re.compile(r"^[A-Z0-9]{16}$")


class BillingError(ValueError):
    """An agency's billing record outside the contract; ``str()`` says which field and why."""


@dataclass(frozen=True)
class Billing:
    """One billing record as the agency last stated it (validated)."""

    code: str
    kind: str
    amount: int
    expires_at: datetime
    state: str = "unpaid"
    ntpn: str | None = None
    paid_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kode_billing": self.code,
            "kind": self.kind,
            "amount": self.amount,
            "expires_at": self.expires_at.isoformat(),
            "state": self.state,
            "ntpn": self.ntpn,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
        }


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BillingError(f"{name} must be an ISO 8601 date-time text")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise BillingError(f"{name} {value[:40]!r} is not an ISO 8601 date-time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise BillingError(f"{name} must carry a UTC offset")
    return when


def parse_billing(value: Any) -> Billing:
    """The agency's billing object as a ``Billing``; BillingError naming the first problem.

    ``state`` may be left out of a POST answer (a new bill is unpaid); ``ntpn`` and
    ``paid_at`` are required for ``paid`` and must be null otherwise.
    """
    if not isinstance(value, Mapping):
        raise BillingError("billing must be an object")
    kind = value.get("kind")
    if kind not in KINDS:
        raise BillingError(f"kind must be one of {', '.join(KINDS)}, got {str(kind)[:20]!r}")
    code = value.get("kode_billing")
    if not isinstance(code, str):
        raise BillingError("kode_billing must be text")
    if kind == "pnbp" and not PNBP_CODE.match(code):
        raise BillingError(
            f"kode_billing {code[:40]!r} is not a SIMPONI billing code (15 digits) for a PNBP bill"
        )
    if kind != "pnbp" and not OTHER_CODE.match(code):
        raise BillingError(
            f"kode_billing {code[:40]!r} must be 4 to 32 upper-case letters, digits or -"
        )
    amount = value.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= AMOUNT_MAX:
        raise BillingError(
            f"amount must be a whole number of Rupiah from 1 to {AMOUNT_MAX}, "
            f"got {str(amount)[:20]!r}"
        )
    expires_at = _aware(value.get("expires_at"), "expires_at")
    state = value.get("state", "unpaid")
    if state not in STATES:
        raise BillingError(f"state must be one of {', '.join(STATES)}, got {str(state)[:20]!r}")
    ntpn, paid_at = value.get("ntpn"), value.get("paid_at")
    if state == "paid":
        if not isinstance(ntpn, str) or not NTPN.match(ntpn):
            raise BillingError("a paid bill needs its NTPN: 16 upper-case letters or digits")
        paid = _aware(paid_at, "paid_at")
        return Billing(code, kind, amount, expires_at, state, ntpn, paid)
    if ntpn is not None or paid_at is not None:
        raise BillingError(f"a bill that is {state} has no NTPN or paid_at")
    return Billing(code, kind, amount, expires_at, state)


def transition_problem(stored: Billing | None, incoming: Billing) -> str | None:
    """Why ``incoming`` may not replace what the desk holds (None: it may).

    A paid bill stays paid with the same NTPN; a bill keeps its code and amount while it
    lives; a new code is only taken after the old one expired (the agency issued a new one).
    """
    if stored is None or stored == incoming:
        return None
    if stored.code != incoming.code:
        if stored.state == "expired" and incoming.state == "unpaid":
            return None
        return (
            f"billing code changed from {stored.code} to {incoming.code} "
            f"while the first is {stored.state}"
        )
    if stored.amount != incoming.amount:
        return f"amount of bill {stored.code} changed from {stored.amount} to {incoming.amount}"
    if stored.state == "paid" and (incoming.state != "paid" or incoming.ntpn != stored.ntpn):
        return f"bill {stored.code} was paid (NTPN {stored.ntpn}); it cannot become {incoming.state}"
    if stored.state == "expired" and incoming.state == "unpaid":
        return f"bill {stored.code} expired; it cannot become unpaid again"
    return None


def shown_state(billing: Billing, now: datetime) -> str:
    """The state a person should see: an unpaid bill past its expiry is expired even before
    the agency's next status answer says so (nobody should pay a dead code)."""
    if billing.state == "unpaid" and billing.expires_at <= now:
        return "expired"
    return billing.state


def with_billing(outcome: Outcome, body: Mapping[str, Any] | None, *, status: bool) -> Outcome:
    """A delivered answer with the billing record it carries checked and attached.

    An answer without ``billing`` (or with null) is returned as it is. A malformed record
    is refused: on the POST answer the entry fails with reason ``bad_billing`` and the
    agency's words (the agency holds the submission; a person asks it for a proper bill and
    sends again, which replays the same key); on a status answer the status is not stored
    and the problem is shown (``bad_billing``, a protocol error: flagged after repeats).
    """
    if outcome.kind is not OutcomeKind.DELIVERED or not isinstance(body, Mapping):
        return outcome
    raw = body.get("billing")
    if raw is None:
        return outcome
    try:
        record = parse_billing(raw)
    except BillingError as exc:
        message = f"the agency's billing record is refused: {exc}"
        if status:
            return protocol_error("bad_billing", message)
        return Outcome(OutcomeKind.FAILED, "bad_billing", message)
    return replace(outcome, billing=record)
