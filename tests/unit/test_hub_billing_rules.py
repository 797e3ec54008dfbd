"""The hub's rules for the desks' billing records (mppdesk/hub/billing.py), as pure functions:
which states may follow which, how times are kept, and which day a payment counts on."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from mppdesk.hub.billing import BillingRecordError, parse_record, refusal

SUB = "0b6c3f5e-2d7a-4c1e-9f3a-8e5d4c3b2a10"
WIB = ZoneInfo("Asia/Jakarta")


def body(state: str = "unpaid", code: str = "820261203000001", **extra) -> dict:
    record = {
        "submission_id": SUB,
        "agency": "polri",
        "code": code,
        "kind": "pnbp",
        "amount": 30000,
        "expires_at": "2026-12-04T10:00:00+07:00",
        "state": state,
        "ntpn": None,
        "paid_at": None,
    }
    if state == "paid":
        record.update(ntpn="0A1B2C3D4E5F6G7H", paid_at="2026-12-02T20:30:00+00:00")
    record.update(extra)
    return record


def bill(state: str = "unpaid", **extra):
    return parse_record(SUB, body(state, **extra), "body")


def test_times_are_kept_in_utc_and_a_payment_counts_on_the_malls_local_day():
    paid = bill("paid")
    assert paid.expires_at == "2026-12-04T03:00:00.000000+00:00"
    assert paid.paid_at == "2026-12-02T20:30:00.000000+00:00"
    assert paid.paid_day(WIB) == "2026-12-03"  # 03:30 WIB: the mall's next day
    assert bill().paid_day(WIB) is None


def test_states_never_go_back_and_a_new_code_only_follows_an_expired_one():
    unpaid, paid, expired = bill(), bill("paid"), bill("expired")
    assert refusal(None, unpaid) is None
    assert refusal(unpaid, paid) is None
    assert refusal(unpaid, expired) is None
    assert refusal(expired, paid) is None  # paid in the code's last minutes, reported late
    assert "cannot become unpaid" in refusal(paid, unpaid)
    assert "cannot become expired" in refusal(paid, expired)
    assert "cannot become unpaid" in refusal(expired, unpaid)
    reissued = bill(code="820261203000009")
    assert refusal(expired, reissued) is None  # the agency issued a new code
    assert "billing code changed" in refusal(unpaid, reissued)
    assert "amount" in refusal(unpaid, bill(amount=45000))


def test_a_deleted_marker_is_no_bill_and_the_id_must_be_the_submission():
    assert parse_record(SUB, {"deleted": True}, "body") is None
    with pytest.raises(BillingRecordError) as wrong:
        parse_record("another-id", body(), "records[0].body")
    assert wrong.value.field == "records[0].body.submission_id"
    with pytest.raises(BillingRecordError) as extra:
        parse_record(SUB, dict(body(), nik="3171012345678901"), "body")
    assert extra.value.field == "body.nik" and "3171012345678901" not in str(extra.value)
    with pytest.raises(BillingRecordError):  # a marker is the marker alone
        parse_record(SUB, {"deleted": True, "nik": "3171012345678901"}, "body")
    with pytest.raises(BillingRecordError) as missing:
        parse_record(SUB, {k: v for k, v in body().items() if k != "amount"}, "body")
    assert missing.value.field == "body.amount" and "required" in str(missing.value)
