"""An agency's billing record and payment state (mppdesk.core.billing): what is accepted,
what is refused and why, and which changes of a stored bill are believable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mppdesk.core.billing import (
    BillingError,
    parse_billing,
    shown_state,
    transition_problem,
    with_billing,
)
from mppdesk.core.sync_policy import Outcome, OutcomeKind

EXPIRES = "2026-12-05T10:00:00+07:00"
PNBP = {"kode_billing": "820261234567890", "kind": "pnbp", "amount": 30000, "expires_at": EXPIRES}
PAID = {**PNBP, "state": "paid", "ntpn": "0A1B2C3D4E5F6A7B", "paid_at": "2026-12-04T09:00:00+07:00"}


def test_a_pnbp_bill_is_read_with_its_simponi_code():
    bill = parse_billing(PNBP)
    assert bill.code == "820261234567890" and bill.state == "unpaid" and bill.amount == 30000
    assert bill.expires_at == datetime(2026, 12, 5, 3, tzinfo=UTC)
    paid = parse_billing(PAID)
    assert paid.state == "paid" and paid.ntpn == "0A1B2C3D4E5F6A7B"
    regional = parse_billing({**PNBP, "kind": "regional", "kode_billing": "SAMSAT-00000001"})
    assert regional.kind == "regional"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"kode_billing": "82026123456789"}, "15 digits"),  # one digit short
        ({"kode_billing": "8202612345678901"}, "15 digits"),
        ({"kode_billing": 820261234567890}, "must be text"),
        ({"kind": "tax"}, "kind must be one of"),
        ({"amount": -30000}, "amount must be a whole number"),
        ({"amount": 0}, "amount must be a whole number"),
        ({"amount": "30000"}, "amount must be a whole number"),
        ({"amount": True}, "amount must be a whole number"),
        ({"amount": 10**12}, "amount must be a whole number"),
        ({"expires_at": "2026-12-05T10:00:00"}, "UTC offset"),
        ({"expires_at": "besok"}, "not an ISO 8601"),
        ({"state": "lunas"}, "state must be one of"),
        ({"ntpn": "0A1B2C3D4E5F6A7B"}, "has no NTPN"),
    ],
)
def test_a_malformed_bill_is_refused_naming_the_field(change, words):
    with pytest.raises(BillingError, match=words):
        parse_billing({**PNBP, **change})


def test_a_paid_bill_needs_a_proper_ntpn_and_time():
    for change, words in (
        ({"ntpn": None}, "NTPN"),
        ({"ntpn": "short"}, "NTPN"),
        ({"ntpn": "0a1b2c3d4e5f6a7b"}, "NTPN"),  # lower case is not how NTPNs are written
        ({"paid_at": None}, "paid_at"),
    ):
        with pytest.raises(BillingError, match=words):
            parse_billing({**PAID, **change})
    with pytest.raises(BillingError, match="object"):
        parse_billing(["820261234567890"])


def test_believable_changes_of_a_stored_bill():
    unpaid, paid = parse_billing(PNBP), parse_billing(PAID)
    expired = replace(unpaid, state="expired")
    assert transition_problem(None, unpaid) is None
    assert transition_problem(unpaid, paid) is None
    assert transition_problem(unpaid, expired) is None
    assert transition_problem(paid, paid) is None
    assert "cannot become unpaid" in transition_problem(paid, unpaid)
    assert "cannot become" in transition_problem(paid, replace(paid, ntpn="ZZZZZZZZZZZZZZZZ"))
    assert "cannot become unpaid" in transition_problem(expired, unpaid)
    assert "amount" in transition_problem(unpaid, replace(unpaid, amount=31000))
    reissued = replace(unpaid, code="820269999999999")
    assert transition_problem(expired, reissued) is None  # a new code after expiry
    assert "billing code changed" in transition_problem(unpaid, reissued)


def test_an_unpaid_bill_past_its_expiry_is_shown_expired():
    bill = parse_billing(PNBP)
    assert shown_state(bill, bill.expires_at - timedelta(seconds=1)) == "unpaid"
    assert shown_state(bill, bill.expires_at) == "expired"
    assert shown_state(parse_billing(PAID), bill.expires_at + timedelta(days=9)) == "paid"


def test_an_acceptance_with_a_malformed_bill_fails_and_a_status_with_one_is_not_stored():
    delivered = Outcome(OutcomeKind.DELIVERED, "http_201", agency_ref="POLRI-1")
    bad = {"billing": {**PNBP, "kode_billing": "123"}}
    failed = with_billing(delivered, bad, status=False)
    assert failed.kind is OutcomeKind.FAILED and failed.reason == "bad_billing"
    assert "15 digits" in failed.message
    ignored = with_billing(delivered, bad, status=True)
    assert ignored.kind is OutcomeKind.RETRY and ignored.protocol and ignored.reason == "bad_billing"
    kept = with_billing(delivered, {"billing": PNBP}, status=False)
    assert kept.kind is OutcomeKind.DELIVERED and kept.billing == parse_billing(PNBP)
    assert with_billing(delivered, {"billing": None}, status=False) == delivered
    retry = Outcome(OutcomeKind.RETRY, "http_503")
    assert with_billing(retry, bad, status=False) is retry  # only a delivery carries a bill


def test_a_folder_drop_receipt_carries_a_bill_as_a_status_answer_does():
    import json

    from mppdesk.sync.transports.folder import judge_receipt

    sid = "0b6f1d3e-8c39-4a53-9a5e-0c1c3f6c1a11"
    receipt = {"submission_id": sid, "result": "accepted", "agency_ref": "PDAM-1"}
    kept = judge_receipt(json.dumps({**receipt, "billing": PNBP}).encode(), sid)
    assert kept.kind is OutcomeKind.DELIVERED and kept.billing == parse_billing(PNBP)
    bad = {**receipt, "billing": {**PNBP, "amount": -1}}
    refused = judge_receipt(json.dumps(bad).encode(), sid)
    assert refused.kind is OutcomeKind.RETRY and refused.reason == "bad_billing"
