"""What an agency's answer means, when to try again and what to send next: pure decisions.

The outbox worker only reads entries, calls the agency and records; every choice it makes comes
from here, over plain values, so the rules of the sync protocol (resources/protocol/
agency-sync.md) are tested without a server or a clock. Nothing here reads the time: ``now`` is
always passed in, and every datetime must be timezone-aware (a naive one is a bug in the caller
and raises ``ValueError`` naming the argument).

The answer table, exactly as the protocol says, plus the choices it leaves open:

=============================================  ==========  ===================================
answer                                         kind        why
=============================================  ==========  ===================================
200, 201 (and any other 2xx)                   delivered   the agency holds it
409 ``idempotency_conflict`` (or any other     conflict    same key, different bytes: only a
409 error)                                                 person can sort it out
409 ``in_progress``                            retry       the first request is still running
400, 422                                       failed      the agency refuses the content
401, 403                                       paused      credentials: no retries burned
404                                            paused      wrong base URL (or the agency lost
                                                           the submission an attachment
                                                           belongs to: a person must look)
405, 410                                       paused      the endpoint is not what we think:
                                                           configuration, not content
3xx                                            paused      redirects are never followed for a
                                                           delivery: the base URL is stale
other 4xx (411, 413, 415, ...)                 failed      resending the same frozen bytes
                                                           can only get the same answer
408, 425, 429, 500, 502, 503, 504              retry       transient; obey Retry-After
other 5xx (501, 505, 507, ...)                 retry       the agency's side; the backoff cap
                                                           and the breaker bound the cost and
                                                           the supervisor sees the attempts
1xx or out of range                            retry       an answer we cannot read is no
                                                           acknowledgement
refused, reset, timeout, tls, other network    retry       the agency may have stored it:
error                                                      same key, same bytes
=============================================  ==========  ===================================
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from mppdesk.core.states import OutboxState

RETRY_AFTER_CAP_S = 3600.0
"""No agency makes us wait longer than an hour on one answer; the desk keeps trying after."""

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
PAUSING_STATUSES = frozenset({401, 403, 404, 405, 410})
VALIDATION_STATUSES = frozenset({400, 422})
NETWORK_ERROR_KINDS = frozenset({"refused", "reset", "timeout", "tls", "other"})


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"  # acknowledged: mark sent / attachment done
    RETRY = "retry"  # transient: same key, same bytes, later
    FAILED = "failed"  # permanent refusal of the content: show the reasons
    PAUSED = "paused"  # credentials or configuration: pause the agency's queue
    CONFLICT = "conflict"  # permanent: same key, different content; flag for the supervisor


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, in the terms the outbox records.

    ``reason`` is a short stable class for the UI and the logs ("http_503", "timeout",
    "validation", "idempotency_conflict" ...); ``message`` is the human text. ``fields`` holds
    the agency's per-field reasons of a 422. ``retry_after_s`` is the agency's own wait, already
    capped, or None.
    """

    kind: OutcomeKind
    reason: str
    message: str = ""
    retry_after_s: float | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    agency_ref: str | None = None
    agency_status: str | None = None

    @property
    def burns_attempt(self) -> bool:
        """A pause is the desk's configuration, not the entry's fault: its attempts stay."""
        return self.kind is not OutcomeKind.PAUSED

    @property
    def agency_unhealthy(self) -> bool:
        """Whether this outcome says the agency itself is struggling (feeds the breaker).

        ``in_progress`` is a retry, but the agency answered sensibly, so it does not count.
        """
        return self.kind is OutcomeKind.RETRY and self.reason != "in_progress"

    @property
    def permanent(self) -> bool:
        return self.kind in (OutcomeKind.FAILED, OutcomeKind.CONFLICT)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value


def _error_code(body: Mapping[str, Any] | None) -> str | None:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, str):
            return error
    return None


def _body_message(body: Mapping[str, Any] | None) -> str:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str):
            return message
    return ""


def _body_fields(body: Mapping[str, Any] | None) -> Mapping[str, str]:
    if isinstance(body, Mapping) and isinstance(body.get("fields"), Mapping):
        return MappingProxyType({str(k): str(v) for k, v in body["fields"].items()})
    return MappingProxyType({})


def _str_or_none(body: Mapping[str, Any] | None, key: str) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get(key), str):
        return body[key]
    return None


def classify(
    status_code: int | None,
    body: Mapping[str, Any] | None,
    error_kind: str | None,
    *,
    retry_after: str | None = None,
    now: datetime | None = None,
    retry_after_cap_s: float = RETRY_AFTER_CAP_S,
) -> Outcome:
    """Turn one answer (or network error) into what the outbox does next (see module table).

    ``retry_after`` is the raw Retry-After header; reading its HTTP-date form needs ``now``,
    so passing a Retry-After without ``now`` raises ``ValueError``. Retry-After is only
    honoured on a retry outcome.
    """
    if status_code is None:
        kind = error_kind if error_kind in NETWORK_ERROR_KINDS else "other"
        return Outcome(OutcomeKind.RETRY, kind, f"network error ({kind})")

    if retry_after is not None and now is None:
        raise ValueError("now is needed to read a Retry-After header")
    error = _error_code(body)
    message = _body_message(body)
    code = status_code

    if 200 <= code < 300:
        return Outcome(
            OutcomeKind.DELIVERED,
            f"http_{code}",
            message,
            agency_ref=_str_or_none(body, "agency_ref"),
            agency_status=_str_or_none(body, "status"),
        )
    if code == 409:
        if error == "in_progress":
            return _retry(code, "in_progress", message, retry_after, now, retry_after_cap_s)
        reason = error or "conflict"
        return Outcome(OutcomeKind.CONFLICT, reason, message or "same key, different content")
    if code in VALIDATION_STATUSES:
        return Outcome(
            OutcomeKind.FAILED,
            "validation" if code == 422 else "bad_request",
            message or ("content refused by the agency" if code == 422 else "request refused"),
            fields=_body_fields(body),
        )
    if code in (401, 403):
        reason = "unauthorized" if code == 401 else "forbidden"
        return Outcome(OutcomeKind.PAUSED, reason, message or "agency refused the credentials")
    if code in (404, 405, 410) or 300 <= code < 400:
        return Outcome(
            OutcomeKind.PAUSED,
            f"http_{code}",
            message or "agency endpoint not as configured: check the base URL",
        )
    if code in TRANSIENT_STATUSES or 500 <= code < 600:
        return _retry(code, f"http_{code}", message, retry_after, now, retry_after_cap_s)
    if 400 <= code < 500:
        return Outcome(OutcomeKind.FAILED, f"http_{code}", message or "agency refused the request")
    return _retry(
        code, f"http_{code}", message or "unexpected answer", retry_after, now, retry_after_cap_s
    )


def _retry(
    code: int,
    reason: str,
    message: str,
    retry_after: str | None,
    now: datetime | None,
    cap_s: float,
) -> Outcome:
    wait = parse_retry_after(retry_after, now, cap_s) if now is not None else None
    return Outcome(OutcomeKind.RETRY, reason, message or f"agency answered {code}", wait)


def parse_retry_after(
    value: str | None, now: datetime, cap_s: float = RETRY_AFTER_CAP_S
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), within [0, cap].

    Garbage, a negative number or a non-finite one gives None (the answer is treated as if it
    had no Retry-After); a date in the past gives 0.
    """
    _require_aware(now, "now")
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text[0].isdigit() or text[0] in "+-.":
        try:
            seconds = float(text)
        except ValueError:
            return None
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return min(seconds, cap_s)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), cap_s)


def backoff_delay(attempts: int, base_s: float, cap_s: float, rand: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempts-1))).

    ``attempts`` counts the failed attempts so far (the first retry waits up to ``base_s``);
    ``rand`` is a draw in [0, 1) passed in so the delay is reproducible in tests.
    """
    if not 0.0 <= rand < 1.0:
        raise ValueError(f"rand must be in [0, 1), got {rand!r}")
    if base_s < 0 or cap_s < 0:
        raise ValueError(f"base_s and cap_s must not be negative (got {base_s}, {cap_s})")
    exponent = max(0, attempts - 1)
    # 2**64 times any sane base is beyond any cap; stop there instead of overflowing.
    ceiling = cap_s if exponent >= 64 else min(cap_s, base_s * (2**exponent))
    return rand * ceiling


def next_attempt_at(
    now: datetime,
    outcome: Outcome,
    attempts: int,
    base_s: float,
    cap_s: float,
    rand: float,
) -> datetime | None:
    """When to try again after ``outcome``; None when there is nothing to retry.

    The jittered backoff is never shorter than the agency's Retry-After: both are waits the
    agency asked for, so the longer one wins.
    """
    _require_aware(now, "now")
    if outcome.kind is not OutcomeKind.RETRY:
        return None
    delay = backoff_delay(attempts, base_s, cap_s, rand)
    if outcome.retry_after_s is not None:
        delay = max(delay, outcome.retry_after_s)
    return now + timedelta(seconds=delay)


@dataclass(frozen=True)
class EntryView:
    """The few columns of an outbox entry that scheduling looks at."""

    id: str
    agency: str
    state: str
    next_attempt_at: datetime | None
    lease_expires_at: datetime | None
    created_at: datetime
    attempts: int = 0


def lease_expired(entry: EntryView, now: datetime) -> bool:
    """An in_flight entry whose lease ran out belongs to a worker that died or hung.

    An in_flight entry without a lease is treated as expired: nothing is sending forever.
    """
    if entry.state != OutboxState.IN_FLIGHT:
        return False
    if entry.lease_expires_at is None:
        return True
    return _require_aware(entry.lease_expires_at, "lease_expires_at") <= now


def is_due(entry: EntryView, now: datetime) -> bool:
    _require_aware(now, "now")
    if entry.state == OutboxState.PENDING:
        if entry.next_attempt_at is None:
            return True
        return _require_aware(entry.next_attempt_at, "next_attempt_at") <= now
    return lease_expired(entry, now)


def due_entries(
    entries: Sequence[EntryView],
    now: datetime,
    paused_agencies: Collection[str],
    per_agency_limit: int,
    *,
    limit: int | None = None,
    agency_limits: Mapping[str, int] | None = None,
) -> list[EntryView]:
    """The entries to send now, interleaved across agencies so none starves another.

    Within an agency the oldest (created_at, then id) goes first. Agencies take turns, one
    entry each round, starting with the agency whose oldest due entry is oldest; each agency
    gets at most ``per_agency_limit`` (or its own ``agency_limits`` value, e.g. 1 for a
    half-open breaker's probe) and the whole list at most ``limit``. Pass the agencies whose
    breaker does not allow sending in ``paused_agencies`` together with the paused ones.
    """
    _require_aware(now, "now")
    if per_agency_limit < 0:
        raise ValueError(f"per_agency_limit must not be negative, got {per_agency_limit}")
    if limit is not None and limit <= 0:
        return []
    paused = set(paused_agencies)
    by_agency: dict[str, list[EntryView]] = {}
    for entry in entries:
        if entry.agency in paused or not is_due(entry, now):
            continue
        by_agency.setdefault(entry.agency, []).append(entry)
    queues: list[list[EntryView]] = []
    for agency, due in by_agency.items():
        due.sort(key=lambda e: (_require_aware(e.created_at, "created_at"), e.id))
        cap = per_agency_limit
        if agency_limits is not None and agency in agency_limits:
            cap = min(cap, agency_limits[agency])
        if cap > 0:
            queues.append(due[:cap])
    queues.sort(key=lambda q: (q[0].created_at, q[0].agency))
    chosen: list[EntryView] = []
    round_index = 0
    while queues:
        for queue in queues:
            chosen.append(queue[round_index])
            if limit is not None and len(chosen) >= limit:
                return chosen
        round_index += 1
        queues = [q for q in queues if len(q) > round_index]
    return chosen


class BreakerMode(StrEnum):
    CLOSED = "closed"  # sending normally
    OPEN = "open"  # too many transient failures: wait for the cool-down
    HALF_OPEN = "half_open"  # one probe is out; its answer decides


@dataclass(frozen=True)
class BreakerState:
    """A circuit breaker for one agency endpoint, as a value.

    closed --(failure_threshold consecutive unhealthy outcomes)--> open
    open --(cool_down_s passed; breaker_on_send)--> half_open (one probe)
    half_open --healthy answer--> closed; --unhealthy--> open (cool-down again)
    A probe that never reports back (worker died) is given up after cool_down_s, and another
    probe is allowed. Any healthy answer in any mode closes the breaker.
    """

    failure_threshold: int = 5
    cool_down_s: float = 30.0
    mode: BreakerMode = BreakerMode.CLOSED
    consecutive_failures: int = 0
    opened_at: datetime | None = None
    probe_started_at: datetime | None = None


def breaker_mode(state: BreakerState, now: datetime) -> BreakerMode:
    """The mode as it stands at ``now``: an open breaker past its cool-down is half-open."""
    _require_aware(now, "now")
    if state.mode is BreakerMode.OPEN:
        assert state.opened_at is not None
        if now >= state.opened_at + timedelta(seconds=state.cool_down_s):
            return BreakerMode.HALF_OPEN
    return state.mode


def breaker_allows(state: BreakerState, now: datetime) -> bool:
    """Whether one more request may go to this agency now.

    Half-open allows exactly one probe: after ``breaker_on_send`` records it, nothing more is
    allowed until its outcome comes back or it is given up.
    """
    _require_aware(now, "now")
    if state.mode is BreakerMode.CLOSED:
        return True
    if state.mode is BreakerMode.OPEN:
        return breaker_mode(state, now) is BreakerMode.HALF_OPEN
    assert state.probe_started_at is not None
    return now >= state.probe_started_at + timedelta(seconds=state.cool_down_s)


def breaker_on_send(state: BreakerState, now: datetime) -> BreakerState:
    """Record that a request is going out; from open (or a lost probe) this is the probe."""
    if state.mode is BreakerMode.CLOSED or not breaker_allows(state, now):
        return state
    return replace(state, mode=BreakerMode.HALF_OPEN, probe_started_at=now)


def breaker_after(state: BreakerState, outcome: Outcome, now: datetime) -> BreakerState:
    """The breaker after one outcome (see ``Outcome.agency_unhealthy``)."""
    _require_aware(now, "now")
    if not outcome.agency_unhealthy:
        return replace(
            state,
            mode=BreakerMode.CLOSED,
            consecutive_failures=0,
            opened_at=None,
            probe_started_at=None,
        )
    failures = state.consecutive_failures + 1
    if state.mode is BreakerMode.OPEN:
        # A late answer to a request sent before the breaker opened: keep the cool-down.
        return replace(state, consecutive_failures=failures)
    if state.mode is BreakerMode.HALF_OPEN or failures >= state.failure_threshold:
        return replace(
            state,
            mode=BreakerMode.OPEN,
            consecutive_failures=failures,
            opened_at=now,
            probe_started_at=None,
        )
    return replace(state, consecutive_failures=failures)
