"""What an agency's answer means, when to try again and what to send next: pure decisions.

The outbox worker only reads entries, calls the agency and records; every choice it makes comes
from here, over plain values, so the rules of the sync protocol (resources/protocol/
agency-sync.md) are tested without a server or a clock. Nothing here reads the time: ``now`` is
always passed in, and every datetime must be timezone-aware (a naive one is a bug in the caller
and raises ``ValueError`` naming the argument).

The answer table, exactly as the protocol says, plus the choices it leaves open. "Protocol
error" is a retry that also counts towards ``protocol_errors``: after
``SyncSettings.protocol_error_flag_after`` of them in a row the entry is flagged for a
supervisor (never ``done``, never ``failed``), because an agency (or a captive portal in front
of it) that keeps answering outside the protocol is a configuration a person must look at.

=============================================  ==============  ===============================
answer                                         kind            why
=============================================  ==============  ===============================
200, 201 whose JSON body matches the           delivered       the agency holds it, and said
protocol's schema, names the submission                        so in the protocol's words
(and attachment) sent and uses the
protocol's status words
200, 201 with anything else (cut JSON,         protocol error  a captive portal or a wrong
text/html, ``{}``, another submission's id,                    endpoint answers 200 too: a
an unknown status word, an oversized body)                     status code proves nothing
other 2xx (202, 204, ...)                      protocol error  not an answer the protocol has
409 ``idempotency_conflict`` (POST),           conflict        same key, different bytes: only
``attachment_conflict`` (PUT)                                  a person can sort it out
409 ``in_progress``                            retry           the first request still runs
400, 422 with the protocol's error body        failed          the agency refuses the content
400, 409, 422 without one (HTML, empty,        protocol error  not the agency speaking: a
an unknown 409 word)                                           proxy or portal in between
401, 403                                       paused          credentials: no retries burned
404                                            paused          wrong base URL (or the agency lost
                                                               the submission an attachment
                                                               belongs to: a person must look)
405, 410                                       paused          the endpoint is not what we
                                                               think: configuration
3xx                                            paused          redirects are never followed for
                                                               a delivery: the base URL is stale
408, 425, 429, 500, 502, 503, 504              retry           transient; obey Retry-After
other 4xx (407, 411, 413, 415, 418, ...)       protocol error  outside the protocol's permanent
                                                               set: never a rejection; retried,
                                                               shown, flagged after N tries
other 5xx (501, 505, 507, ...)                 retry           the agency's side; the backoff
                                                               cap and the breaker bound it
1xx or out of range                            protocol error  no acknowledgement
refused, reset, timeout (the whole exchange    retry           the agency may have stored it:
has a deadline), tls, other network error                      same key, same bytes
=============================================  ==============  ===============================

A status pull (``GET /submissions/{id}``) is judged by ``status_answer``: only a body that
matches the schema, names the submission and uses a protocol status word is stored; a 404 for
a submission the agency accepted means it was lost there ("hilang di instansi").

Clock jumps: every stored wait is bounded (``next_attempt_at`` by the backoff cap, a lease by
``lease_s``), so ``is_due`` and ``lease_expired`` treat a time further ahead than that bound
as due: it can only have been written while the clock was wrong, and waiting for it would
strand the entry for the size of the jump.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from mppdesk.core.states import AgencyStatus, OutboxState

RETRY_AFTER_CAP_S = 3600.0
"""No agency makes us wait longer than an hour on one answer; the desk keeps trying after."""

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
PAUSING_STATUSES = frozenset({401, 403, 404, 405, 410})
VALIDATION_STATUSES = frozenset({400, 422})
NETWORK_ERROR_KINDS = frozenset({"refused", "reset", "timeout", "tls", "other"})
ACCEPTED_STATUSES = frozenset({200, 201})
AGENCY_STATUS_WORDS = frozenset(s.value for s in AgencyStatus)
CONFLICT_ERRORS = {"post": "idempotency_conflict", "put": "attachment_conflict"}

# What the client says about a body it could not use (``Answer.body_problem``).
BODY_PROBLEMS = frozenset({"not_json", "bad_json", "not_object", "too_large"})
# Limits of the protocol's schemas that the store relies on (String(100) / String(16)).
AGENCY_REF_MAX = 100
MESSAGE_MAX = 2000

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"  # acknowledged: mark sent / attachment done
    RETRY = "retry"  # transient: same key, same bytes, later
    FAILED = "failed"  # permanent refusal of the content: show the reasons
    PAUSED = "paused"  # credentials or configuration: pause the agency's queue
    CONFLICT = "conflict"  # permanent: same key, different content; flag for the supervisor
    FLAGGED = "flagged"  # needs a person, not a retry nor a refusal (see OutboxState.FLAGGED)


@dataclass(frozen=True)
class Expected:
    """What a valid acceptance must say: which call it answers and what was sent.

    ``call`` is "post", "put" or "status"; ``name``, ``sha256`` and ``size`` describe the
    attachment of a PUT.
    """

    call: str
    submission_id: str
    name: str | None = None
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.call not in ("post", "put", "status"):
            raise ValueError(f"call must be post, put or status, got {self.call!r}")
        if self.call == "put" and (self.name is None or self.sha256 is None):
            raise ValueError("a PUT's expectation needs the attachment's name and sha256")


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to, in the terms the outbox records.

    ``reason`` is a short stable class for the UI and the logs ("http_503", "timeout",
    "validation", "not_json" ...); ``message`` is the human text. ``fields`` holds the
    agency's per-field reasons of a 422. ``retry_after_s`` is the agency's own wait, already
    capped, or None. ``protocol`` marks a retry caused by an answer outside the protocol
    (it counts towards flagging the entry for a supervisor). ``waiting`` marks a retry in
    which nothing failed: the agency holds the entry and has not confirmed it yet (a folder
    drop waiting for its receipt); it burns no attempt and does not feed the breaker.

    Every transport (``mppdesk.sync.transports``) answers in these terms, whatever its wire:
    DELIVERED with the agency's reference, FAILED with the reasons, RETRY with a reason,
    PAUSED, CONFLICT or FLAGGED.
    """

    kind: OutcomeKind
    reason: str
    message: str = ""
    retry_after_s: float | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    agency_ref: str | None = None
    agency_status: str | None = None
    protocol: bool = False
    waiting: bool = False
    billing: Any = None  # a validated mppdesk.core.billing.Billing the answer carried

    @property
    def burns_attempt(self) -> bool:
        """A pause is the desk's configuration, not the entry's fault: its attempts stay; a
        wait for the agency's confirmation is nobody's fault."""
        return self.kind is not OutcomeKind.PAUSED and not self.waiting

    @property
    def agency_unhealthy(self) -> bool:
        """Whether this outcome says the agency itself is struggling (feeds the breaker).

        ``in_progress`` is a retry, but the agency answered sensibly, so it does not count.
        """
        return self.kind is OutcomeKind.RETRY and self.reason != "in_progress" and not self.waiting

    @property
    def permanent(self) -> bool:
        return self.kind in (OutcomeKind.FAILED, OutcomeKind.CONFLICT)

    @property
    def unreachable(self) -> bool:
        """The agency could not be reached at all (a network error, not an answer): a status
        pull asks the rest of its batch later instead of now."""
        return self.kind is OutcomeKind.RETRY and self.reason in NETWORK_ERROR_KINDS


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value


def _error_code(body: Mapping[str, Any] | None) -> str | None:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
    return None


def _body_message(body: Mapping[str, Any] | None) -> str:
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str):
            return message[:MESSAGE_MAX]
    return ""


def _body_fields(body: Mapping[str, Any] | None) -> Mapping[str, str]:
    if isinstance(body, Mapping) and isinstance(body.get("fields"), Mapping):
        return MappingProxyType({str(k): str(v) for k, v in body["fields"].items()})
    return MappingProxyType({})


def protocol_error(reason: str, message: str) -> Outcome:
    """A retry caused by an answer the protocol does not have (counts towards flagging)."""
    return Outcome(OutcomeKind.RETRY, reason, message, protocol=True)


def _body_words(problem: str | None, detail: str) -> str:
    what = {
        "not_json": "not the protocol's JSON",
        "bad_json": "JSON that does not parse (cut off?)",
        "not_object": "JSON that is not an object",
        "too_large": "a body over the size limit",
    }.get(problem or "", "no body")
    return what + (f" [{detail}]" if detail else "")


def _schema_problem(expect: Expected, body: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first way ``body`` misses the protocol's answer schema for ``expect.call``, as
    (reason, message); None when it matches (see the SubmissionAccepted, AttachmentAccepted
    and SubmissionStatus schemas of agency-sync.openapi.yaml)."""
    required: tuple[str, ...]
    if expect.call == "post":
        required = ("submission_id", "agency_ref", "status")
    elif expect.call == "put":
        required = ("submission_id", "name", "sha256", "size", "missing_attachments")
    else:
        required = (
            "submission_id",
            "agency_ref",
            "status",
            "message",
            "missing_attachments",
            "updated_at",
        )
    missing = [key for key in required if key not in body]
    if missing:
        return "schema", f"answer lacks {', '.join(missing)}"
    sid = body["submission_id"]
    if not isinstance(sid, str) or (expect.call == "post" and not _UUID.match(sid)):
        return "schema", "submission_id is not a submission id"
    if sid != expect.submission_id:
        return (
            "other_submission",
            f"answer names submission {sid[:40]!r}, not {expect.submission_id!r}",
        )
    if "agency_ref" in required:
        ref = body["agency_ref"]
        limit = 0 if expect.call == "status" else 1
        if not isinstance(ref, str) or not limit <= len(ref) <= AGENCY_REF_MAX:
            return "schema", f"agency_ref must be text of {limit} to {AGENCY_REF_MAX} characters"
    if "status" in required:
        status = body["status"]
        if not isinstance(status, str) or status not in AGENCY_STATUS_WORDS:
            return (
                "unknown_status",
                f"status {str(status)[:40]!r} is not one of the protocol's "
                f"({', '.join(sorted(AGENCY_STATUS_WORDS))})",
            )
    if "missing_attachments" in required:
        listed = body["missing_attachments"]
        if not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
            return "schema", "missing_attachments must be a list of names"
    if expect.call == "status":
        for key in ("message", "updated_at"):
            if not isinstance(body[key], str):
                return "schema", f"{key} must be text"
    if expect.call == "put":
        if body["name"] != expect.name:
            return "other_submission", f"answer names attachment {str(body['name'])[:60]!r}"
        sha = body["sha256"]
        if not isinstance(sha, str) or not _SHA256.match(sha):
            return "schema", "sha256 must be 64 lower-case hex digits"
        if sha != expect.sha256:
            return "schema", "the acknowledged sha256 is not the one sent"
        size = body["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return "schema", "size must be a whole number >= 0"
        if expect.size is not None and size != expect.size:
            return "schema", f"the acknowledged size {size} is not the {expect.size} bytes sent"
    return None


def judge_acceptance(
    code: int,
    body: Mapping[str, Any] | None,
    expect: Expected | None,
    *,
    body_problem: str | None = None,
    detail: str = "",
) -> Outcome:
    """A 2xx is a delivery only when it proves it (see the module table)."""
    if code not in ACCEPTED_STATUSES:
        return protocol_error(f"http_{code}", f"agency answered {code}, not 200 or 201")
    if body_problem is not None or not isinstance(body, Mapping):
        reason = body_problem if body_problem in BODY_PROBLEMS else "not_json"
        return protocol_error(
            reason,
            f"agency answered {code} with {_body_words(body_problem, detail)}: not an "
            "acknowledgement (captive portal or wrong address?)",
        )
    if expect is None:
        return protocol_error("unverified", f"agency answered {code}; nothing to check it by")
    problem = _schema_problem(expect, body)
    if problem is not None:
        reason, text = problem
        return protocol_error(reason, f"agency answered {code} outside the protocol: {text}")
    agency_ref = body.get("agency_ref")
    status = body.get("status")
    return Outcome(
        OutcomeKind.DELIVERED,
        f"http_{code}",
        "",
        agency_ref=agency_ref if isinstance(agency_ref, str) and agency_ref else None,
        agency_status=status if isinstance(status, str) else None,
    )


def status_answer(
    code: int | None,
    body: Mapping[str, Any] | None,
    submission_id: str,
    *,
    body_problem: str | None = None,
    detail: str = "",
) -> Outcome:
    """What a status pull came to: DELIVERED (store ``agency_status``), CONFLICT with reason
    ``lost_at_agency`` on a 404 with the protocol's error body (the agency does not know a
    submission it accepted: a supervisor must look), or a protocol error / other outcome
    whose body is never stored."""
    if code == 404 and _error_code(body) is not None:
        return Outcome(
            OutcomeKind.CONFLICT,
            "lost_at_agency",
            "hilang di instansi: the agency answers 404 for a submission it accepted "
            f"({_body_message(body) or _error_code(body)})",
        )
    if code is None:
        return Outcome(OutcomeKind.RETRY, "other", "no answer")
    if 200 <= code < 300:
        judged = judge_acceptance(
            code,
            body,
            Expected("status", submission_id),
            body_problem=body_problem,
            detail=detail,
        )
        if judged.kind is OutcomeKind.DELIVERED and body is not None:
            return replace(judged, message=_body_message(body))
        return judged
    return classify(code, body, None, expect=None, body_problem=body_problem, detail=detail)


def classify(
    status_code: int | None,
    body: Mapping[str, Any] | None,
    error_kind: str | None,
    *,
    retry_after: str | None = None,
    now: datetime | None = None,
    retry_after_cap_s: float = RETRY_AFTER_CAP_S,
    expect: Expected | None = None,
    body_problem: str | None = None,
    detail: str = "",
) -> Outcome:
    """Turn one answer (or network error) into what the outbox does next (see module table).

    ``expect`` says what a valid acceptance of this call must contain; a 2xx without it is
    never a delivery. ``body_problem``/``detail`` are the client's words on a body it could
    not use. ``retry_after`` is the raw Retry-After header; reading its HTTP-date form needs
    ``now``, so passing a Retry-After without ``now`` raises ``ValueError``. Retry-After is
    only honoured on a retry outcome.
    """
    if status_code is None:
        kind = error_kind if error_kind in NETWORK_ERROR_KINDS else "other"
        return Outcome(OutcomeKind.RETRY, kind, f"network error ({kind})")

    if retry_after is not None and now is None:
        raise ValueError("now is needed to read a Retry-After header")
    error = _error_code(body)
    message = _body_message(body)
    code = status_code
    unreadable = f"agency answered {code} with {_body_words(body_problem, detail)}"

    if 200 <= code < 300:
        return judge_acceptance(code, body, expect, body_problem=body_problem, detail=detail)
    if code == 409:
        if error == "in_progress":
            return _retry(code, "in_progress", message, retry_after, now, retry_after_cap_s)
        call = expect.call if expect is not None else None
        known = set(CONFLICT_ERRORS.values()) if call is None else {CONFLICT_ERRORS.get(call)}
        if error in known:
            return Outcome(OutcomeKind.CONFLICT, error, message or "same key, different content")
        if error is None:
            return protocol_error("http_409", unreadable)
        return protocol_error("http_409", f"agency answered 409 {error[:40]!r}: not the protocol's")
    if code in VALIDATION_STATUSES:
        if error is None:
            return protocol_error(f"http_{code}", unreadable + ", not the protocol's error")
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
        outcome = _retry(
            code,
            f"http_{code}",
            message or f"agency answered {code}, outside the protocol's permanent answers",
            retry_after,
            now,
            retry_after_cap_s,
        )
        return replace(outcome, protocol=True)
    return protocol_error(f"http_{code}", message or f"unexpected answer {code}")


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

    The jittered backoff is never shorter than the agency's Retry-After (both are waits the
    agency asked for, so the longer one wins) and never longer than ``cap_s``: a stored time
    further ahead than the cap can then only come from a clock jump (see ``is_due``).
    """
    _require_aware(now, "now")
    if outcome.kind is not OutcomeKind.RETRY:
        return None
    delay = backoff_delay(attempts, base_s, cap_s, rand)
    if outcome.retry_after_s is not None:
        delay = max(delay, outcome.retry_after_s)
    return now + timedelta(seconds=min(delay, cap_s))


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


def beyond(at: datetime, now: datetime, bound_s: float | None) -> bool:
    """Whether ``at`` lies further ahead of ``now`` than any wait the desk ever sets.

    Such a time was written while the clock was ahead (or is garbage): the entry is treated
    as due instead of being stranded for the size of the jump.
    """
    if bound_s is None:
        return False
    return _require_aware(at, "at") > _require_aware(now, "now") + timedelta(seconds=bound_s)


def wait_horizon(now: datetime, bound_s: float) -> datetime:
    """The latest time a stored wait may name at ``now`` (store queries compare with it)."""
    return _require_aware(now, "now") + timedelta(seconds=bound_s)


def lease_expired(entry: EntryView, now: datetime, lease_s: float | None = None) -> bool:
    """An in_flight entry whose lease ran out belongs to a worker that died or hung.

    An in_flight entry without a lease is treated as expired: nothing is sending forever.
    With ``lease_s``, a lease ending later than ``now + lease_s`` is expired too: no lease is
    ever given for longer, so it was taken while the clock was ahead.
    """
    if entry.state != OutboxState.IN_FLIGHT:
        return False
    if entry.lease_expires_at is None:
        return True
    at = _require_aware(entry.lease_expires_at, "lease_expires_at")
    return at <= now or beyond(at, now, lease_s)


def is_due(
    entry: EntryView,
    now: datetime,
    *,
    max_wait_s: float | None = None,
    lease_s: float | None = None,
) -> bool:
    """Pending and its time has come (or lies beyond ``max_wait_s``, the backoff cap: a
    clock jump), or in flight with an expired lease."""
    _require_aware(now, "now")
    if entry.state == OutboxState.PENDING:
        if entry.next_attempt_at is None:
            return True
        at = _require_aware(entry.next_attempt_at, "next_attempt_at")
        return at <= now or beyond(at, now, max_wait_s)
    return lease_expired(entry, now, lease_s)


def due_entries(
    entries: Sequence[EntryView],
    now: datetime,
    paused_agencies: Collection[str],
    per_agency_limit: int,
    *,
    limit: int | None = None,
    agency_limits: Mapping[str, int] | None = None,
    max_wait_s: float | None = None,
    lease_s: float | None = None,
) -> list[EntryView]:
    """The entries to send now, interleaved across agencies so none starves another.

    Within an agency the oldest (created_at, then id) goes first. Agencies take turns, one
    entry each round, starting with the agency whose oldest due entry is oldest; each agency
    gets at most ``per_agency_limit`` (or its own ``agency_limits`` value, e.g. 1 for a
    half-open breaker's probe) and the whole list at most ``limit``. Pass the agencies whose
    breaker does not allow sending in ``paused_agencies`` together with the paused ones.
    ``max_wait_s`` and ``lease_s`` bound stored times as ``is_due`` says.
    """
    _require_aware(now, "now")
    if per_agency_limit < 0:
        raise ValueError(f"per_agency_limit must not be negative, got {per_agency_limit}")
    if limit is not None and limit <= 0:
        return []
    paused = set(paused_agencies)
    by_agency: dict[str, list[EntryView]] = {}
    for entry in entries:
        if entry.agency in paused or not is_due(entry, now, max_wait_s=max_wait_s, lease_s=lease_s):
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
