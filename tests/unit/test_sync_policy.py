"""The sync decisions as pure functions: the protocol's answer table, Retry-After, backoff,
what is due, fairness across agencies and the circuit breaker."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mppdesk.core.states import OutboxState
from mppdesk.core.sync_policy import (
    RETRY_AFTER_CAP_S,
    BreakerMode,
    BreakerState,
    EntryView,
    Expected,
    Outcome,
    OutcomeKind,
    backoff_delay,
    breaker_after,
    breaker_allows,
    breaker_mode,
    breaker_on_send,
    classify,
    due_entries,
    is_due,
    lease_expired,
    next_attempt_at,
    parse_retry_after,
    status_answer,
)

NOW = datetime(2026, 11, 28, 2, 15, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))
SID = "0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
POST = Expected("post", SID)
ACCEPTED = {"submission_id": SID, "agency_ref": "D-1", "status": "received"}

# -- classify: the protocol's table ------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "body", "kind", "reason", "protocol"),
    [
        (201, ACCEPTED, OutcomeKind.DELIVERED, "http_201", False),
        (200, ACCEPTED, OutcomeKind.DELIVERED, "http_200", False),
        (204, None, OutcomeKind.RETRY, "http_204", True),
        (202, ACCEPTED, OutcomeKind.RETRY, "http_202", True),
        (201, {}, OutcomeKind.RETRY, "schema", True),
        (201, None, OutcomeKind.RETRY, "not_json", True),
        (
            409,
            {"error": "idempotency_conflict"},
            OutcomeKind.CONFLICT,
            "idempotency_conflict",
            False,
        ),
        # A POST answered with the PUT's conflict word is not the protocol speaking.
        (409, {"error": "attachment_conflict"}, OutcomeKind.RETRY, "http_409", True),
        (409, None, OutcomeKind.RETRY, "http_409", True),
        (409, {"error": "teapot"}, OutcomeKind.RETRY, "http_409", True),
        (409, {"error": "in_progress"}, OutcomeKind.RETRY, "in_progress", False),
        (400, {"error": "bad_request", "message": "x"}, OutcomeKind.FAILED, "bad_request", False),
        (400, None, OutcomeKind.RETRY, "http_400", True),
        (
            422,
            {"error": "validation", "fields": {"a": "b"}},
            OutcomeKind.FAILED,
            "validation",
            False,
        ),
        (422, None, OutcomeKind.RETRY, "http_422", True),
        (401, None, OutcomeKind.PAUSED, "unauthorized", False),
        (403, None, OutcomeKind.PAUSED, "forbidden", False),
        (404, None, OutcomeKind.PAUSED, "http_404", False),
        (405, None, OutcomeKind.PAUSED, "http_405", False),
        (410, None, OutcomeKind.PAUSED, "http_410", False),
        (301, None, OutcomeKind.PAUSED, "http_301", False),
        (307, None, OutcomeKind.PAUSED, "http_307", False),
        (408, None, OutcomeKind.RETRY, "http_408", False),
        (425, None, OutcomeKind.RETRY, "http_425", False),
        (429, None, OutcomeKind.RETRY, "http_429", False),
        (500, None, OutcomeKind.RETRY, "http_500", False),
        (502, None, OutcomeKind.RETRY, "http_502", False),
        (503, None, OutcomeKind.RETRY, "http_503", False),
        (504, None, OutcomeKind.RETRY, "http_504", False),
        (501, None, OutcomeKind.RETRY, "http_501", False),
        (507, None, OutcomeKind.RETRY, "http_507", False),
        (407, None, OutcomeKind.RETRY, "http_407", True),
        (411, {"error": "length_required"}, OutcomeKind.RETRY, "http_411", True),
        (413, {"error": "too_large"}, OutcomeKind.RETRY, "http_413", True),
        (415, None, OutcomeKind.RETRY, "http_415", True),
        (418, None, OutcomeKind.RETRY, "http_418", True),
        (451, None, OutcomeKind.RETRY, "http_451", True),
        (102, None, OutcomeKind.RETRY, "http_102", True),
        (799, None, OutcomeKind.RETRY, "http_799", True),
    ],
)
def test_the_answer_table(code, body, kind, reason, protocol):
    outcome = classify(code, body, None, expect=POST)
    assert (outcome.kind, outcome.reason, outcome.protocol) == (kind, reason, protocol)
    # Only the protocol's permanent answers with a reason ever reject.
    if outcome.kind is OutcomeKind.FAILED:
        assert code in (400, 422) and isinstance(body, dict) and body.get("error")


def test_a_2xx_without_an_expectation_is_never_a_delivery():
    outcome = classify(201, ACCEPTED, None)
    assert (outcome.kind, outcome.reason, outcome.protocol) == (
        OutcomeKind.RETRY,
        "unverified",
        True,
    )


@pytest.mark.parametrize(
    ("body", "problem", "reason"),
    [
        (None, "bad_json", "bad_json"),  # cut off mid-answer
        (None, "not_json", "not_json"),  # 200 text/html: a captive portal
        (None, "too_large", "too_large"),
        ({}, None, "schema"),
        ({**ACCEPTED, "agency_ref": ""}, None, "schema"),
        ({**ACCEPTED, "agency_ref": "R" * 101}, None, "schema"),
        ({**ACCEPTED, "submission_id": "not-a-uuid"}, None, "schema"),
        ({**ACCEPTED, "submission_id": "1" * 8 + SID[8:]}, None, "other_submission"),
        ({**ACCEPTED, "status": "completed-ish"}, None, "unknown_status"),
        ({**ACCEPTED, "status": None}, None, "unknown_status"),
        ({"submission_id": SID, "status": "received"}, None, "schema"),
    ],
)
def test_acceptances_that_prove_nothing_are_protocol_errors(body, problem, reason):
    outcome = classify(200, body, None, expect=POST, body_problem=problem, detail="text/html")
    assert outcome.kind is OutcomeKind.RETRY and outcome.protocol
    assert outcome.reason == reason
    assert outcome.message  # the reason is said, for the outbox and the status bar
    assert outcome.agency_unhealthy


def test_an_attachment_acknowledgement_must_name_what_was_sent():
    sha = "a" * 64
    put = Expected("put", SID, "scan.pdf", sha, 10)
    good = {"submission_id": SID, "name": "scan.pdf", "sha256": sha, "size": 10,
            "missing_attachments": []}  # fmt: skip
    assert classify(201, good, None, expect=put).kind is OutcomeKind.DELIVERED
    for wrong in ({"name": "other.pdf"}, {"sha256": "b" * 64}, {"size": 9}, {"size": True},
                  {"missing_attachments": "none"}, {"submission_id": "x"}):  # fmt: skip
        outcome = classify(201, {**good, **wrong}, None, expect=put)
        assert outcome.kind is OutcomeKind.RETRY and outcome.protocol, wrong
    conflict = classify(409, {"error": "attachment_conflict"}, None, expect=put)
    assert (conflict.kind, conflict.reason) == (OutcomeKind.CONFLICT, "attachment_conflict")
    with pytest.raises(ValueError, match="name and sha256"):
        Expected("put", SID)


STATUS = {"submission_id": SID, "agency_ref": "D-1", "status": "processing", "message": "ok",
          "missing_attachments": [], "updated_at": "2026-11-28T09:00:00+07:00"}  # fmt: skip


def test_status_answers_are_stored_only_when_they_match():
    good = status_answer(200, STATUS, SID)
    assert (good.kind, good.agency_status, good.message) == (
        OutcomeKind.DELIVERED,
        "processing",
        "ok",
    )
    for wrong in ({"status": "lost"}, {"submission_id": SID[:-1] + "0"}, {"message": 5}):
        outcome = status_answer(200, {**STATUS, **wrong}, SID)
        assert outcome.kind is OutcomeKind.RETRY and outcome.protocol, wrong
    assert status_answer(200, None, SID, body_problem="bad_json").protocol
    lost = status_answer(404, {"error": "not_found"}, SID)
    assert (lost.kind, lost.reason) == (OutcomeKind.CONFLICT, "lost_at_agency")
    assert "hilang di instansi" in lost.message
    # A 404 page from a proxy is not the agency saying it lost anything.
    assert status_answer(404, None, SID, body_problem="not_json").kind is OutcomeKind.PAUSED


@pytest.mark.parametrize("error_kind", ["refused", "reset", "timeout", "tls", "other"])
def test_network_errors_are_retries(error_kind):
    outcome = classify(None, None, error_kind)
    assert outcome.kind is OutcomeKind.RETRY
    assert outcome.reason == error_kind
    assert outcome.agency_unhealthy


def test_an_unknown_or_missing_error_kind_is_other():
    assert classify(None, None, "cosmic-ray").reason == "other"
    assert classify(None, None, None).reason == "other"


def test_delivered_keeps_the_agency_reference():
    outcome = classify(201, {**ACCEPTED, "agency_ref": "DUKCAPIL-000001"}, None, expect=POST)
    assert outcome.agency_ref == "DUKCAPIL-000001"
    assert outcome.agency_status == "received"
    assert not outcome.permanent


def test_validation_fields_and_message_come_through():
    body = {"error": "validation", "message": "ditolak", "fields": {"applicant.nik": "16 digits"}}
    outcome = classify(422, body, None)
    assert dict(outcome.fields) == {"applicant.nik": "16 digits"}
    assert outcome.message == "ditolak"
    assert outcome.permanent
    with pytest.raises(TypeError):
        outcome.fields["x"] = "y"  # type: ignore[index]  # an Outcome is a value


def test_pauses_burn_no_attempt_and_do_not_trip_the_breaker():
    paused = classify(401, None, None)
    assert not paused.burns_attempt
    assert not paused.agency_unhealthy
    assert classify(503, None, None).burns_attempt
    assert not classify(409, {"error": "in_progress"}, None).agency_unhealthy


def test_retry_after_is_read_only_on_retries_and_needs_now():
    seconds = classify(429, None, None, retry_after="12", now=NOW)
    assert seconds.retry_after_s == 12.0
    date = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert classify(503, None, None, retry_after=date, now=NOW).retry_after_s == 90.0
    assert (
        classify(201, ACCEPTED, None, retry_after="12", now=NOW, expect=POST).retry_after_s is None
    )
    assert classify(503, None, None).retry_after_s is None
    with pytest.raises(ValueError, match="now is needed"):
        classify(503, None, None, retry_after="5")


def test_a_body_that_is_not_an_object_is_harmless():
    # Neither carries the protocol's reason: not a rejection, a protocol error to retry.
    assert classify(422, ["not", "a", "dict"], None).protocol  # type: ignore[arg-type]
    assert classify(409, {"error": 5}, None).protocol


# -- Retry-After ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("999999", RETRY_AFTER_CAP_S),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        ("Sat, 28 Nov 2026 02:16:00 GMT", 60.0),
        ("Sat, 28 Nov 2026 02:00:00 GMT", 0.0),  # in the past: go now
        ("Sat, 28 Nov 2026 09:16:00 +0700", 60.0),
        ("Sun, 29 Nov 2026 02:15:00 GMT", RETRY_AFTER_CAP_S),
        ("Sat, 99 Nov 2026 02:16:00 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_needs_an_aware_now():
    with pytest.raises(ValueError, match="now must be a timezone-aware"):
        parse_retry_after("5", datetime(2026, 11, 28))


@given(
    value=st.one_of(
        st.text(max_size=40),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(9998, 12, 31),
            timezones=st.just(UTC),
        ).map(lambda d: format_datetime(d, usegmt=True)),
    ),
    cap=st.floats(min_value=0, max_value=1e6),
)
def test_retry_after_is_never_negative_and_never_past_the_cap(value, cap):
    seconds = parse_retry_after(value, NOW, cap)
    assert seconds is None or 0.0 <= seconds <= cap


# -- backoff --------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_cap_with_full_jitter():
    ceilings = [backoff_delay(n, 2.0, 60.0, 0.999999) for n in range(1, 8)]
    assert [round(c) for c in ceilings] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(3, 2.0, 60.0, 0.0) == 0.0
    assert backoff_delay(3, 2.0, 60.0, 0.5) == 4.0
    assert backoff_delay(0, 2.0, 60.0, 0.5) == 1.0  # attempts below 1 count as the first
    assert backoff_delay(10**9, 2.0, 60.0, 0.5) == 30.0  # no overflow on absurd counts


@pytest.mark.parametrize("rand", [-0.1, 1.0, 2.0, float("nan")])
def test_backoff_refuses_a_draw_outside_the_unit_interval(rand):
    with pytest.raises(ValueError, match="rand"):
        backoff_delay(1, 1.0, 10.0, rand)


@given(
    attempts=st.integers(min_value=-5, max_value=10_000),
    base=st.floats(min_value=0, max_value=3600),
    cap=st.floats(min_value=0, max_value=86_400),
    rand=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_stays_within_zero_and_the_ceiling(attempts, base, cap, rand):
    delay = backoff_delay(attempts, base, cap, rand)
    n = max(0, attempts - 1)
    ceiling = cap if n >= 64 else min(cap, base * 2**n)
    assert 0.0 <= delay <= ceiling
    assert delay <= cap


def test_next_attempt_obeys_the_longer_of_backoff_and_retry_after():
    slow_down = classify(429, None, None, retry_after="30", now=NOW)
    assert next_attempt_at(NOW, slow_down, 1, 1.0, 600.0, 0.5) == NOW + timedelta(seconds=30)
    quick = classify(429, None, None, retry_after="1", now=NOW)
    assert next_attempt_at(NOW, quick, 6, 1.0, 600.0, 0.5) == NOW + timedelta(seconds=16)
    plain = classify(None, None, "timeout")
    assert next_attempt_at(NOW, plain, 2, 10.0, 600.0, 0.25) == NOW + timedelta(seconds=5)
    final_answers = (
        classify(201, ACCEPTED, None, expect=POST),
        classify(422, {"error": "validation"}, None),
        classify(401, {}, None),
    )
    for final in final_answers:
        assert next_attempt_at(NOW, final, 1, 1.0, 60.0, 0.5) is None
    # Never further ahead than the cap, whatever the agency asks: a later stored time can
    # then only be a clock jump.
    assert next_attempt_at(NOW, slow_down, 1, 1.0, 20.0, 0.5) == NOW + timedelta(seconds=20)


# -- what is due ---------------------------------------------------------------------------


def entry(
    id: str,
    agency: str = "dukcapil",
    state: str = OutboxState.PENDING,
    next_at: datetime | None = None,
    lease: datetime | None = None,
    created: datetime | None = None,
) -> EntryView:
    return EntryView(id, agency, state, next_at, lease, created or NOW - timedelta(hours=1))


def test_due_rules_per_state():
    past, future = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    assert is_due(entry("a"), NOW)
    assert is_due(entry("a", next_at=past), NOW)
    assert is_due(entry("a", next_at=NOW), NOW)
    assert not is_due(entry("a", next_at=future), NOW)
    assert is_due(entry("a", state=OutboxState.IN_FLIGHT, lease=past), NOW)
    assert not is_due(entry("a", state=OutboxState.IN_FLIGHT, lease=future), NOW)
    assert lease_expired(entry("a", state=OutboxState.IN_FLIGHT, lease=None), NOW)
    assert not lease_expired(entry("a", lease=past), NOW)  # only in_flight entries have leases
    for state in (OutboxState.HELD, OutboxState.DONE, OutboxState.FAILED, OutboxState.PAUSED):
        assert not is_due(entry("a", state=state), NOW)


def test_naive_datetimes_are_refused_with_the_name():
    with pytest.raises(ValueError, match="next_attempt_at must be a timezone-aware"):
        is_due(entry("a", next_at=datetime(2026, 1, 1)), NOW)
    with pytest.raises(ValueError, match="now must be"):
        due_entries([], datetime(2026, 1, 1), (), 5)


def test_other_offsets_compare_by_instant():
    in_wib = NOW.astimezone(WIB)
    assert is_due(entry("a", next_at=in_wib), NOW)
    assert not is_due(entry("a", next_at=in_wib + timedelta(seconds=1)), NOW)


def test_a_clock_jump_strands_nothing_longer_than_the_bounds():
    # Written while the clock was a day ahead, then the clock was put right.
    jumped = NOW + timedelta(days=1)
    assert not is_due(entry("a", next_at=jumped), NOW)  # without bounds: stranded a day
    assert is_due(entry("a", next_at=jumped), NOW, max_wait_s=900)
    assert not is_due(entry("a", next_at=NOW + timedelta(seconds=899)), NOW, max_wait_s=900)
    leased = entry("a", state=OutboxState.IN_FLIGHT, lease=jumped)
    assert not lease_expired(leased, NOW)
    assert lease_expired(leased, NOW, lease_s=120)
    assert is_due(leased, NOW, lease_s=120)
    fresh = entry("a", state=OutboxState.IN_FLIGHT, lease=NOW + timedelta(seconds=119))
    assert not lease_expired(fresh, NOW, lease_s=120)
    chosen = due_entries([entry("a", next_at=jumped)], NOW, (), 5, max_wait_s=900)
    assert [e.id for e in chosen] == ["a"]


def test_due_entries_interleave_agencies_oldest_first():
    t = [NOW - timedelta(minutes=m) for m in range(10)]
    entries = [
        entry("d1", "dukcapil", created=t[9]),
        entry("d2", "dukcapil", created=t[8]),
        entry("d3", "dukcapil", created=t[7]),
        entry("b2", "bpjs", created=t[2]),
        entry("b1", "bpjs", created=t[5]),
        entry("s1", "samsat", created=t[1], next_at=NOW + timedelta(minutes=1)),
        entry("p1", "polri", created=t[0]),
        entry("i1", "imigrasi", created=t[0]),
    ]
    chosen = due_entries(entries, NOW, paused_agencies={"imigrasi"}, per_agency_limit=2)
    assert [e.id for e in chosen] == ["d1", "b1", "p1", "d2", "b2"]
    assert [e.id for e in due_entries(entries, NOW, (), 10, limit=3)] == ["d1", "b1", "i1"]
    half_open = due_entries(entries, NOW, (), 10, agency_limits={"dukcapil": 1, "bpjs": 0})
    assert [e.id for e in half_open] == ["d1", "i1", "p1"]
    assert due_entries(entries, NOW, (), 0) == []


def test_ties_in_age_are_broken_by_id():
    entries = [entry("b"), entry("a"), entry("c")]
    assert [e.id for e in due_entries(entries, NOW, (), 5)] == ["a", "b", "c"]


agencies = st.sampled_from(["dukcapil", "bpjs", "samsat", "polri", "imigrasi"])
states = st.sampled_from(list(OutboxState))
offsets = st.integers(min_value=-3600, max_value=3600).map(lambda s: NOW + timedelta(seconds=s))
entry_views = st.builds(
    EntryView,
    id=st.uuids().map(str),
    agency=agencies,
    state=states.map(str),
    next_attempt_at=st.none() | offsets,
    lease_expires_at=st.none() | offsets,
    created_at=offsets,
    attempts=st.integers(min_value=0, max_value=50),
)


@given(
    entries=st.lists(entry_views, max_size=60, unique_by=lambda e: e.id),
    paused=st.sets(agencies, max_size=2),
    per_agency=st.integers(min_value=0, max_value=10),
    limit=st.none() | st.integers(min_value=0, max_value=30),
)
def test_due_entries_properties(entries, paused, per_agency, limit):
    chosen = due_entries(entries, NOW, paused, per_agency, limit=limit)
    ids = [e.id for e in chosen]
    assert len(ids) == len(set(ids))
    for e in chosen:
        assert e.agency not in paused
        assert e.state in (OutboxState.PENDING, OutboxState.IN_FLIGHT)
        if e.state == OutboxState.PENDING:
            assert e.next_attempt_at is None or e.next_attempt_at <= NOW
        else:
            assert e.lease_expires_at is None or e.lease_expires_at <= NOW
    if limit is not None:
        assert len(chosen) <= limit
    counts = Counter(e.agency for e in chosen)
    assert all(n <= per_agency for n in counts.values())
    # oldest first within an agency
    for agency in counts:
        mine = [e for e in chosen if e.agency == agency]
        assert mine == sorted(mine, key=lambda e: (e.created_at, e.id))
    # fairness: an agency with due work never gets fewer than another one, less one, unless
    # it ran out of due work or hit its own limit
    due = Counter(e.agency for e in entries if e.agency not in paused and is_due(e, NOW))
    for a in due:
        for b in due:
            if counts[a] + 1 < counts[b]:
                assert counts[a] in (due[a], per_agency)
    # nothing due is left out when there is room
    if limit is None:
        assert sum(counts.values()) == sum(min(n, per_agency) for n in due.values())


def test_one_agency_with_a_huge_backlog_never_starves_another():
    backlog = [entry(f"d{i:04d}", "dukcapil", created=NOW - timedelta(days=1, seconds=-i))
               for i in range(1000)]  # fmt: skip
    newcomer = entry("b1", "bpjs", created=NOW)
    chosen = due_entries([*backlog, newcomer], NOW, (), per_agency_limit=1000, limit=4)
    assert [e.id for e in chosen] == ["d0000", "b1", "d0001", "d0002"]


# -- the circuit breaker -------------------------------------------------------------------

TRANSIENT = classify(503, None, None)
HEALTHY = classify(201, ACCEPTED, None, expect=POST)


def test_breaker_opens_after_n_failures_and_probes_after_the_cool_down():
    state = BreakerState(failure_threshold=3, cool_down_s=30)
    for _ in range(2):
        state = breaker_after(state, TRANSIENT, NOW)
        assert state.mode is BreakerMode.CLOSED and breaker_allows(state, NOW)
    state = breaker_after(state, TRANSIENT, NOW)
    assert state.mode is BreakerMode.OPEN
    assert not breaker_allows(state, NOW + timedelta(seconds=29))
    later = NOW + timedelta(seconds=30)
    assert breaker_mode(state, later) is BreakerMode.HALF_OPEN
    assert breaker_allows(state, later)

    probing = breaker_on_send(state, later)
    assert probing.mode is BreakerMode.HALF_OPEN
    assert not breaker_allows(probing, later + timedelta(seconds=1))  # one probe at a time

    failed_probe = breaker_after(probing, TRANSIENT, later + timedelta(seconds=2))
    assert failed_probe.mode is BreakerMode.OPEN
    assert failed_probe.opened_at == later + timedelta(seconds=2)
    assert not breaker_allows(failed_probe, later + timedelta(seconds=31))

    again = breaker_on_send(failed_probe, later + timedelta(seconds=32))
    closed = breaker_after(again, HEALTHY, later + timedelta(seconds=33))
    assert closed == BreakerState(failure_threshold=3, cool_down_s=30)


def test_a_lost_probe_is_given_up_after_the_cool_down():
    state = BreakerState(failure_threshold=1, cool_down_s=10)
    state = breaker_on_send(breaker_after(state, TRANSIENT, NOW), NOW + timedelta(seconds=10))
    assert not breaker_allows(state, NOW + timedelta(seconds=19))
    assert breaker_allows(state, NOW + timedelta(seconds=20))
    renewed = breaker_on_send(state, NOW + timedelta(seconds=20))
    assert renewed.probe_started_at == NOW + timedelta(seconds=20)


def test_answers_that_are_not_the_agencys_fault_reset_the_count():
    state = BreakerState(failure_threshold=3)
    for outcome in (classify(422, {"error": "validation"}, None), classify(401, None, None),
                    classify(409, {"error": "in_progress"}, None)):  # fmt: skip
        state = breaker_after(breaker_after(state, TRANSIENT, NOW), TRANSIENT, NOW)
        state = breaker_after(state, outcome, NOW)
        assert (state.mode, state.consecutive_failures) == (BreakerMode.CLOSED, 0)


def test_late_failures_while_open_keep_the_cool_down():
    state = breaker_after(BreakerState(failure_threshold=1), TRANSIENT, NOW)
    late = breaker_after(state, TRANSIENT, NOW + timedelta(seconds=5))
    assert late.opened_at == NOW
    assert breaker_on_send(BreakerState(), NOW) == BreakerState()


@given(
    events=st.lists(
        st.tuples(st.sampled_from(["ok", "fail", "send"]), st.integers(min_value=0, max_value=40)),
        max_size=60,
    )
)
def test_breaker_invariants(events):
    state = BreakerState(failure_threshold=3, cool_down_s=10)
    now = NOW
    for event, step in events:
        now += timedelta(seconds=step)
        before = state
        if event == "send":
            state = breaker_on_send(state, now)
            if not breaker_allows(before, now):
                assert state == before  # a refused send changes nothing
        elif event == "ok":
            state = breaker_after(state, HEALTHY, now)
            assert state.mode is BreakerMode.CLOSED and state.consecutive_failures == 0
        else:
            state = breaker_after(state, TRANSIENT, now)
            assert state.consecutive_failures == before.consecutive_failures + 1
            if state.mode is BreakerMode.CLOSED:
                assert state.consecutive_failures < state.failure_threshold
        if state.mode is BreakerMode.OPEN:
            assert state.opened_at is not None
        elif state.mode is BreakerMode.HALF_OPEN:
            assert state.probe_started_at is not None
            assert not breaker_allows(state, state.probe_started_at)  # one probe at a time
        else:
            assert breaker_allows(state, now)


def test_outcome_is_a_frozen_value():
    outcome = Outcome(OutcomeKind.RETRY, "http_503")
    with pytest.raises(AttributeError):
        outcome.kind = OutcomeKind.DELIVERED  # type: ignore[misc]


# -- the rules agree with the protocol's schema file ---------------------------------------


def test_acceptance_rules_agree_with_the_openapi_schemas():
    from pathlib import Path

    import jsonschema
    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from mppdesk.core.sync_policy import AGENCY_REF_MAX, AGENCY_STATUS_WORDS

    path = Path(__file__).resolve().parents[2] / "resources/protocol/agency-sync.openapi.yaml"
    openapi = yaml.safe_load(path.read_text(encoding="utf-8"))
    schemas = openapi["components"]["schemas"]
    assert set(schemas["AgencyStatus"]["enum"]) == AGENCY_STATUS_WORDS
    assert schemas["SubmissionAccepted"]["properties"]["agency_ref"]["maxLength"] == AGENCY_REF_MAX
    registry = Registry().with_resource(
        "urn:agency-sync", Resource.from_contents(openapi, default_specification=DRAFT202012)
    )
    sha = "c" * 64
    put = Expected("put", SID, "scan.pdf", sha, 3)
    attachment = {"submission_id": SID, "name": "scan.pdf", "sha256": sha, "size": 3,
                  "missing_attachments": []}  # fmt: skip
    cases = [
        ("SubmissionAccepted", ACCEPTED, lambda body: classify(201, body, None, expect=POST)),
        ("AttachmentAccepted", attachment, lambda body: classify(201, body, None, expect=put)),
        ("SubmissionStatus", STATUS, lambda body: status_answer(200, body, SID)),
    ]
    for name, good, judge in cases:
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"urn:agency-sync#/components/schemas/{name}"}, registry=registry
        )
        assert list(validator.iter_errors(good)) == [], name
        assert judge(good).kind is OutcomeKind.DELIVERED, name
        for key in schemas[name]["required"]:
            partial = {k: v for k, v in good.items() if k != key}
            assert list(validator.iter_errors(partial)), (name, key)  # the schema refuses it
            assert judge(partial).protocol, (name, key)  # and so does the desk
        for key, wrong in (("status", "diterima"), ("agency_ref", "R" * (AGENCY_REF_MAX + 1))):
            if key in good:
                changed = {**good, key: wrong}
                assert list(validator.iter_errors(changed)), (name, key)
                assert judge(changed).protocol, (name, key)
