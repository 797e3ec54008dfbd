"""HTTP client of the mall hub: the calls of ``resources/protocol/hub-sync.md``, classified.

The hub is reached over the same watched urllib3 transport as the agencies
(``mppdesk.sync.client.AgencyClient``): a deadline for each whole exchange, a cap on the
answer, TLS always verified (against ``[hub] ca_file`` when given, else the system's bundle),
no redirects, no retries (the push lane owns them). On top of it this module refuses plain
HTTP to anything but a loopback host, and classifies every answer explicitly into one of
``OUTCOMES``: only an answer the contract allows is ``ok``; whatever else comes back (a
captive portal's page, cut JSON, a 5xx, a timeout) is ``retry``, never success.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from mppdesk.settings import is_loopback_host
from mppdesk.sync.client import AgencyClient, Answer

log = logging.getLogger(__name__)

OK = "ok"
RETRY = "retry"  # try again later (network, 5xx, 429, an answer outside the contract)
PAUSED = "paused"  # 401: the desk's token is unknown or revoked; an admin must act
REFUSED = "refused"  # the hub refused what was sent (chain_broken, too_large, invalid)
GAP = "gap"  # 409 sequence_gap: the hub expects another first sequence (``expected``)
OUTCOMES = (OK, RETRY, PAUSED, REFUSED, GAP)

DEFAULT_MAX_ANSWER_BYTES = 32 << 20  # a pull page may carry the published catalog
LOOKUP_TIMEOUT_S = 1.5  # the officer waits on a look-up: the store answers after this


class HubConfigError(ValueError):
    """The hub's URL or CA cannot be used (shown with what to change)."""


@dataclass(frozen=True)
class HubResult:
    outcome: str
    body: dict[str, Any] | None = None
    message: str = ""
    code: str = ""  # the hub's error code, when it gave one
    expected: int | None = None  # GAP: the sequence the hub expects next
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == OK


def check_hub_url(url: str) -> str:
    """The hub URL without a trailing slash, or HubConfigError: http(s) with a host, no
    credentials, no query, and plain http only to this PC (loopback)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubConfigError("the hub URL must be http(s)://host[:port]")
    if "@" in parts.netloc:
        raise HubConfigError("the hub URL must not carry user:password@ credentials")
    if parts.query or parts.fragment:
        raise HubConfigError("the hub URL must not have a query or fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise HubConfigError(
            "plain http is only allowed to a hub on this PC (loopback); use https"
        )
    return url.rstrip("/")


class HubClient:
    """One desk's calls to its hub, authenticated as that desk (safe from several threads)."""

    def __init__(
        self,
        url: str,
        desk: str,
        token: str,
        *,
        ca_file: str | None = None,
        timeout_s: float = 10.0,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        self.url = check_hub_url(url)
        self.desk = desk
        self.timeout_s = timeout_s
        self._transport = AgencyClient(
            self.url,
            token,
            desk,
            connect_timeout=min(3.0, timeout_s),
            read_timeout=timeout_s,
            ca_bundle=ca_file or None,
            deadline_s=timeout_s,
            max_answer_bytes=max_answer_bytes,
            max_connections=4,
        )
        self._lookup = AgencyClient(  # its own short deadline: an officer is waiting
            self.url,
            token,
            desk,
            connect_timeout=min(1.0, LOOKUP_TIMEOUT_S),
            read_timeout=LOOKUP_TIMEOUT_S,
            ca_bundle=ca_file or None,
            deadline_s=LOOKUP_TIMEOUT_S,
            max_answer_bytes=1 << 20,
            max_connections=2,
        )

    def __repr__(self) -> str:  # never the token
        return f"HubClient({self.url!r}, desk={self.desk!r})"

    def close(self) -> None:
        self._transport.close()
        self._lookup.close()

    def abort(self) -> None:
        """Cut every exchange in progress (the desk is stopping)."""
        self._transport.abort()
        self._lookup.abort()

    # --- the contract -------------------------------------------------------------------

    def health(self) -> bool:
        answer = self._transport._call("GET", "/v1/health")
        return answer.status_code == 200

    def push(self, records: list[dict[str, Any]]) -> HubResult:
        """One batch; ``ok`` only with an ``acked`` in [first-1, last] of the batch."""
        if not records:
            raise ValueError("an empty push")
        first, last = int(records[0]["seq"]), int(records[-1]["seq"])
        answer = self._post("/v1/push", {"desk": self.desk, "records": records})
        result = classify(answer)
        if result.outcome != OK:
            return result
        acked = (result.body or {}).get("acked")
        if isinstance(acked, bool) or not isinstance(acked, int) or not first - 1 <= acked <= last:
            return HubResult(RETRY, None, f"push answer outside the contract: acked={acked!r}")
        return result

    def pull(self, since: int) -> HubResult:
        answer = self._transport._call("GET", f"/v1/pull?since={int(since)}")
        result = classify(answer)
        if result.outcome != OK:
            return result
        body = result.body or {}
        cursor, items, more = body.get("cursor"), body.get("items"), body.get("more", False)
        if (
            isinstance(cursor, bool)
            or not isinstance(cursor, int)
            or cursor < 0
            or not isinstance(items, list)
            or not all(isinstance(i, dict) and isinstance(i.get("kind"), str) for i in items)
            or not isinstance(more, bool)
            or len(items) > 1000
        ):
            return HubResult(RETRY, None, "pull answer outside the contract")
        return result

    def login_result(self, username: str, ok: bool, at: str) -> HubResult:
        answer = self._post(
            "/v1/login-failures", {"username": username, "ok": bool(ok), "at": at},
            officer=username, client=self._lookup,
        )
        result = classify(answer)
        if result.ok:
            locked = (result.body or {}).get("locked_until")
            if locked is not None and not isinstance(locked, str):
                return HubResult(RETRY, None, "lockout answer outside the contract")
        return result

    def lookup(self, id_kind: str, id_number: str, officer: str) -> HubResult:
        answer = self._post(
            "/v1/applicants/lookup",
            {"id_kind": id_kind, "id_number": id_number},
            officer=officer,
            client=self._lookup,
        )
        result = classify(answer)
        if result.ok:
            body = result.body or {}
            found = body.get("found")
            applicant = body.get("applicant")
            if found is True and not answers_for(applicant, id_kind, id_number):
                # Another person's record, or none: never pre-fill from it.
                return HubResult(RETRY, None, "look-up answer outside the contract")
            if found is not True and found is not False:
                return HubResult(RETRY, None, "look-up answer outside the contract")
        return result

    def ticket(self, group: str, officer: str) -> HubResult:
        answer = self._post("/v1/tickets", {"group": group}, officer=officer, client=self._lookup)
        result = classify(answer)
        if result.ok:
            number = (result.body or {}).get("number")
            if not isinstance(number, str) or not number.startswith(f"{group}-") or len(number) > 32:
                return HubResult(RETRY, None, "ticket answer outside the contract")
        return result

    def daily_report(self, day: str, officer: str) -> HubResult:
        answer = self._transport._call(
            "GET", f"/v1/reports/daily?date={day}", headers={"X-MPP-Officer": officer}
        )
        return classify(answer)

    def review_queue(self, officer: str) -> HubResult:
        answer = self._transport._call(
            "GET", "/v1/review/queue", headers={"X-MPP-Officer": officer}
        )
        return classify(answer)

    def review(self, submission_id: str, decision: str, reason: str | None, officer: str) -> HubResult:
        from urllib.parse import quote

        return classify(
            self._post(
                f"/v1/review/{quote(submission_id, safe='')}",
                {"decision": decision, "reason": reason},
                officer=officer,
            )
        )

    # --- plumbing -----------------------------------------------------------------------

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        officer: str | None = None,
        client: AgencyClient | None = None,
    ) -> Answer:
        try:
            # A push carries up to 500 records: orjson writes the same compact UTF-8 JSON as
            # the json module, about 20 times faster, on the desk's sync thread.
            data = orjson.dumps(body)
        except TypeError:  # an integer beyond 64 bits, a non-string key: the json module's way
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if officer:
            headers["X-MPP-Officer"] = officer
        return (client or self._transport)._call("POST", path, data=data, headers=headers)


# A passport number also finds the foreigner keyed by their KITAS/KITAP whose profile holds
# it, and the reverse (the hub's alias, see the contract's look-up): asked kind -> (the key
# kind such an answer has, the profile field that must hold the number asked for).
_FOREIGN_ALIAS = {"paspor": ("kitas", "no_paspor"), "kitas": ("paspor", "no_kitas")}


def answers_for(applicant: Any, id_kind: str, id_number: str) -> bool:
    """Whether the hub's record is the person asked about: keyed by that number, or a
    foreigner keyed by their other number whose profile holds this one. Anything else is
    another person's record, never pre-filled."""
    if not isinstance(applicant, dict) or not isinstance(applicant.get("profile", {}), dict):
        return False
    kind, number = applicant.get("id_kind"), applicant.get("id_number")
    if kind == id_kind and number == id_number:
        return True
    alias = _FOREIGN_ALIAS.get(id_kind)
    if alias is None or kind != alias[0] or not isinstance(number, str):
        return False
    held = (applicant.get("profile") or {}).get(alias[1])
    return isinstance(held, str) and _compact(held) == _compact(id_number)


def _compact(number: str) -> str:
    return "".join(number.split()).upper()


def classify(answer: Answer) -> HubResult:
    """What one hub answer means for the desk (see the contract's error codes)."""
    if answer.status_code is None:
        return HubResult(RETRY, None, answer.error_message or (answer.error_kind or "network"))
    status = answer.status_code
    error = (answer.body or {}).get("error") if answer.body is not None else None
    code = error.get("code", "") if isinstance(error, dict) else ""
    code = code if isinstance(code, str) else ""
    message = error.get("message", "") if isinstance(error, dict) else ""
    message = str(message)[:300] if message else (answer.error_message or f"HTTP {status}")
    if status == 200:
        if answer.body is None:
            return HubResult(RETRY, None, f"HTTP 200 without a JSON body ({answer.detail})")
        return HubResult(OK, answer.body)
    if status == 401:
        return HubResult(PAUSED, None, message, code or "unauthorized")
    if status == 409 and code == "sequence_gap":
        expected = error.get("expected") if isinstance(error, dict) else None
        if isinstance(expected, bool) or not isinstance(expected, int) or expected < 1:
            return HubResult(RETRY, None, "sequence_gap without a usable 'expected'")
        return HubResult(GAP, None, message, code, expected=expected)
    if status == 409 and code == "chain_broken":
        return HubResult(REFUSED, None, message, code)
    if status in (400, 413, 422) and code in ("invalid", "too_large"):
        return HubResult(REFUSED, None, message, code)
    if status == 403 and code:
        return HubResult(REFUSED, None, message, code)
    if status == 404 and code == "not_found":
        return HubResult(REFUSED, None, message, code)
    retry_after = None
    if answer.retry_after and answer.retry_after.strip().isdigit():
        retry_after = min(float(answer.retry_after.strip()), 3600.0)
    return HubResult(RETRY, None, message, code, retry_after_s=retry_after)
