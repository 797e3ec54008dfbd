"""Pure domain rules: tracking numbers, working days, masking, audit chain, permissions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mppdesk.core import lockout
from mppdesk.core.audit_chain import GENESIS, ChainEvent, event_hash, verify_chain
from mppdesk.core.calendar import add_working_days
from mppdesk.core.canonical import canonical_json
from mppdesk.core.masking import mask_nik, mask_text
from mppdesk.core.permissions import Operation, allowed
from mppdesk.core.tracking import (
    ALPHABET,
    TrackingNumberError,
    make_tracking_number,
    normalize_tracking_number,
)


def test_tracking_number_shape_and_check():
    number = make_tracking_number("K01", date(2026, 11, 29), 7)
    assert number.startswith("K01-261129-0007-")
    assert normalize_tracking_number(number.lower()) == number


@given(st.integers(min_value=1, max_value=9999))
def test_every_single_character_typo_is_caught(sequence):
    number = make_tracking_number("K01", date(2026, 1, 2), sequence)
    for i, ch in enumerate(number[:-2]):
        if ch == "-":
            continue
        for replacement in ALPHABET:
            if replacement != ch:
                typo = number[:i] + replacement + number[i + 1 :]
                with pytest.raises(TrackingNumberError):
                    normalize_tracking_number(typo)


@given(st.integers(min_value=1, max_value=9999))
def test_neighbour_swaps_are_caught(sequence):
    number = make_tracking_number("K01", date(2026, 3, 4), sequence)
    body = number.rsplit("-", 1)[0]
    digits = [i for i, c in enumerate(body) if c != "-"]
    for a, b in zip(digits, digits[1:], strict=False):
        if b != a + 1 or body[a] == body[b]:
            continue
        swapped = list(body)
        swapped[a], swapped[b] = swapped[b], swapped[a]
        with pytest.raises(TrackingNumberError):
            normalize_tracking_number("".join(swapped) + number[-2:])


def test_tracking_number_rejects_bad_input():
    with pytest.raises(TrackingNumberError):
        make_tracking_number("L1", date(2026, 1, 1), 1)  # L is not in the alphabet
    with pytest.raises(TrackingNumberError):
        normalize_tracking_number("nonsense")


def test_working_days_skip_weekends_and_holidays():
    friday = date(2026, 8, 14)
    holidays = {date(2026, 8, 17)}  # Monday: Independence Day
    assert add_working_days(friday, 1, holidays) == date(2026, 8, 18)
    assert add_working_days(friday, 0, holidays) == friday
    saturday = date(2026, 8, 15)
    assert add_working_days(saturday, 0, holidays) == date(2026, 8, 18)
    with pytest.raises(ValueError):
        add_working_days(friday, -1, holidays)


def test_masking_keeps_region_and_serial():
    assert mask_nik("3174014506900001") == "3174********0001"
    assert "3174014506900001" not in mask_text("NIK 3174014506900001, HP 081234567890")
    assert "81234567890" not in mask_text("HP 081234567890")


def test_canonical_json_is_order_independent():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": "é"}) == '{"a":"é"}'.encode()


def _chain(n: int) -> list[ChainEvent]:
    events, prev = [], GENESIS
    start = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    for i in range(n):
        at = start + timedelta(seconds=i)
        digest = event_hash(prev, at, "ani", "x", "visit", str(i), {"i": i})
        events.append(ChainEvent(i + 1, at, "ani", "x", "visit", str(i), {"i": i}, prev, digest))
        prev = digest
    return events


def test_audit_chain_detects_edit_delete_and_reorder():
    events = _chain(5)
    assert verify_chain(events) is None
    edited = events.copy()
    edited[2] = dataclasses.replace(edited[2], details={"i": 99})
    assert verify_chain(edited).event_id == 3
    deleted = events[:2] + events[3:]
    assert verify_chain(deleted).event_id == 4
    reordered = [events[0], events[2], events[1], events[3], events[4]]
    assert verify_chain(reordered).event_id == 3


def test_lockout_counts_failures_in_window():
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    recent = [now - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    assert not lockout.should_lock(recent, now)
    assert lockout.should_lock(recent + [now], now)
    old = [now - timedelta(minutes=20 + m) for m in range(5)]
    assert not lockout.should_lock(old, now)


@pytest.mark.parametrize(
    ("role", "operation", "expected"),
    [
        ("officer", Operation.INTAKE, True),
        ("officer", Operation.REVIEW, False),
        ("officer", Operation.REPORT, False),
        ("officer", Operation.VIEW_ALL, False),
        ("supervisor", Operation.REVIEW, True),
        ("supervisor", Operation.INTAKE, True),
        ("supervisor", Operation.MANAGE_USERS, False),
        ("admin", Operation.MANAGE_USERS, True),
        ("nobody", Operation.INTAKE, False),
    ],
)
def test_permission_table(role, operation, expected):
    assert allowed(role, operation) is expected


def test_send_errors_read_as_plain_words():
    from mppdesk.core.send_errors import describe_send_error

    assert describe_send_error("timeout") == "instansi tidak menjawab tepat waktu"
    assert "503" in describe_send_error("http_503") and "server" in describe_send_error("http_503")
    assert describe_send_error("unauthorized", "en").startswith("the agency refused the token")
    assert describe_send_error("something_new") == "something_new"
    assert describe_send_error(None) == ""
