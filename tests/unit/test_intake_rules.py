"""Pure rules behind issue 10's items 3, 4, 5 and 8: the visit text rule, attachment types by
content, the desk code's one spelling, and lockout by recording order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mppdesk.core import lockout
from mppdesk.core.filetypes import sniff_content_type
from mppdesk.core.tracking import TrackingNumberError, make_tracking_number, normalize_desk_code
from mppdesk.forms.safe_text import MAX_DEPTH, text_problem, text_problems


@pytest.mark.parametrize(("raw", "code"), [("K01", "K01"), ("k01", "K01"), (" k01\n", "K01"),
                                           ("a1b2c3", "A1B2C3"), ("7", "7")])
def test_desk_code_has_one_spelling(raw, code):
    assert normalize_desk_code(raw) == code
    day = datetime(2026, 12, 2).date()
    assert make_tracking_number(raw, day, 7) == make_tracking_number(code, day, 7)


@pytest.mark.parametrize("raw", ["", "K-01", "K 01", "ABCDEFG", "LOKET", "KU1", "K01é", None])
def test_desk_code_outside_the_alphabet_is_refused(raw):
    with pytest.raises(TrackingNumberError):
        normalize_desk_code(raw)


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.7\n", "application/pdf"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00", "image/png"), (b"root:x:0:0", None), (b"", None),
    (b"PK\x03\x04", None), (b" %PDF-1.4", None), (b"MZ\x90\x00", None),
])
def test_types_are_told_by_content(head, kind):
    assert sniff_content_type(head) == kind


@pytest.mark.parametrize("text", ["DEWI LESTARI", "Jl. Mawar\nNo. 2\tRT 4", "ـمحمد", "👩‍👩‍👧",
                                  "Ñoño Çelik", "<b>x</b>", "", "x" * 10_000])
def test_ordinary_text_is_accepted_as_typed(text):
    assert text_problem(text) is None


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ud800", "\udfff",
                                  "\u202a", "\u202e", "\u2066", "\u2069", "\u200e", "\u061c"])
def test_controls_surrogates_and_bidi_are_refused(char):
    assert text_problem(f"ab{char}cd") is not None


def test_the_walk_names_every_refused_value_and_bounds_depth():
    document = {"a": ["ok", "x\x00"], "b\u202e": "v", "c": {"d": "\ud800"}}
    assert sorted(p for p, _, _ in text_problems(document, "")) == ["a[1]", "b\\u202e", "c.d"]
    deep: dict = {}
    inner = deep
    for _ in range(MAX_DEPTH + 5):
        inner["x"] = {}
        inner = inner["x"]
    (problem,) = list(text_problems(deep, "answers"))
    assert problem[0] == "answers" + ".x" * MAX_DEPTH


def test_lockout_counts_failures_after_the_last_success_by_order_not_time():
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    ahead = now + timedelta(days=1)  # a success stamped while the clock was a day ahead
    attempts = [lockout.Attempt(1, ahead, True)] + [
        lockout.Attempt(2 + i, now - timedelta(minutes=5 - i), False) for i in range(5)
    ]
    failures = lockout.failures_since_success(attempts)
    assert len(failures) == 5 and lockout.should_lock(failures, now)
    recorded_later = [*attempts, lockout.Attempt(99, now - timedelta(hours=1), True)]
    assert lockout.failures_since_success(recorded_later) == []


def test_a_lock_never_lasts_longer_than_the_lock_period():
    now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert lockout.effective_lock_end(None, now) is None
    assert lockout.effective_lock_end(now - timedelta(seconds=1), now) is None
    soon = now + timedelta(minutes=3)
    assert lockout.effective_lock_end(soon, now) == soon
    assert lockout.effective_lock_end(now + timedelta(days=1), now) == now + lockout.LOCK_FOR
