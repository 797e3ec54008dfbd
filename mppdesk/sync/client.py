"""HTTP client of one agency endpoint: the sync protocol's four calls, and nothing more.

The outbox owns retries, so this client never retries and never raises for what the network
does: every call comes back as an ``Answer`` (a status and JSON body, or an error kind that
``mppdesk.core.sync_policy.classify`` understands). It always passes (connect, read) timeouts,
verifies TLS, never follows redirects (a POST turned into a GET by a redirect would look like
a delivery), and sends the frozen body bytes exactly as given.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import requests.auth
import urllib3.exceptions

from mppdesk import __version__

log = logging.getLogger(__name__)

ERROR_KINDS = ("refused", "reset", "timeout", "tls", "other")
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Answer:
    """One call's result: an HTTP answer (``status_code`` set) or a network error
    (``status_code`` None, ``error_kind`` one of ERROR_KINDS)."""

    status_code: int | None
    body: dict[str, Any] | None
    error_kind: str | None
    error_message: str
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class AgencyClient:
    """Calls one agency's base URL; a shared ``requests.Session`` keeps connections alive."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        desk_id: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        session: requests.Session | None = None,
        *,
        ca_bundle: str | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"agency base URL must be http(s)://host[:port]/path, got {base_url!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"agency base URL must not have a query or fragment: {base_url!r}")
        if not desk_id.strip():
            raise ValueError("desk_id must not be empty")
        _check_header_value("desk_id", desk_id)
        if token is not None:
            _check_header_value("token", token)
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("connect_timeout and read_timeout must be positive")
        self.base_url = base_url.rstrip("/")
        self.desk_id = desk_id
        self.audit_head: str | None = None  # "ID:HASH" of the desk's audit chain, set per pass
        self.timeout = (connect_timeout, read_timeout)
        self._token = token
        self._verify: bool | str = ca_bundle if ca_bundle else True
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    def __repr__(self) -> str:  # never the token
        return f"AgencyClient({self.base_url!r}, desk_id={self.desk_id!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> AgencyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the protocol ------------------------------------------------------------------

    def health(self) -> bool:
        answer = self._call("GET", "/health")
        return (
            answer.status_code == 200
            and answer.body is not None
            and answer.body.get("status") == "ok"
        )

    def post_submission(self, submission_id: str, body: bytes) -> Answer:
        if not isinstance(body, bytes):
            raise TypeError("the body must be the frozen payload bytes, not a re-encoded value")
        _check_header_value("submission_id", submission_id)
        return self._call(
            "POST",
            "/submissions",
            data=body,
            headers={"Idempotency-Key": submission_id, "Content-Type": "application/json"},
        )

    def put_attachment(
        self, submission_id: str, name: str, data: bytes, content_type: str, sha256: str
    ) -> Answer:
        if not isinstance(data, bytes):
            raise TypeError("attachment data must be bytes")
        _check_header_value("content_type", content_type)
        _check_header_value("sha256", sha256)
        return self._call(
            "PUT",
            f"/submissions/{_segment(submission_id)}/attachments/{_segment(name)}",
            data=data,
            headers={"Content-Type": content_type, "X-Content-SHA256": sha256},
        )

    def get_status(self, submission_id: str) -> Answer:
        return self._call("GET", f"/submissions/{_segment(submission_id)}")

    # -- plumbing ----------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": f"mppdesk/{__version__}",
            "X-MPP-Desk": self.desk_id,
        }
        if self.audit_head:
            # The desk's audit chain head travels with every request, so a rewrite of the
            # local chain is caught at the agency.
            headers["X-MPP-Audit-Head"] = self.audit_head
        headers.update(extra or {})
        return headers

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = self.base_url + path
        try:
            response = self._session.request(
                method,
                url,
                data=data,
                headers=self._headers(headers),
                timeout=self.timeout,
                verify=self._verify,
                allow_redirects=False,
                auth=_BearerAuth(self._token),
            )
            content = response.content  # read it all here, inside the try
        except requests.RequestException as error:
            kind = error_kind_of(error)
            message = f"{kind}: {_root_cause_text(error)} ({method} {url})"
            log.info("%s", message)
            return Answer(None, None, kind, _short(message), None)
        body = _json_object(content, response.headers.get("Content-Type", ""))
        message = ""
        if response.status_code >= 300:
            if body is not None and isinstance(body.get("message"), str):
                message = body["message"]
            elif body is None:
                message = _short(content.decode("utf-8", "replace"))
        return Answer(
            response.status_code,
            body,
            None,
            message,
            response.headers.get("Retry-After"),
        )


class _BearerAuth(requests.auth.AuthBase):
    """Always passed, even without a token, so requests never falls back to ~/.netrc and sends
    someone's Basic credentials to an agency."""

    def __init__(self, token: str | None) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._token:
            request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def _check_header_value(name: str, value: str) -> None:
    """Headers are ASCII: a value that is not would fail inside http.client, as a bug."""
    if not value or not value.isascii() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{name} must be non-empty printable ASCII to go into an HTTP header")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _json_object(content: bytes, content_type: str) -> dict[str, Any] | None:
    if not content or "json" not in content_type.lower():
        return None
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _causes(error: BaseException) -> list[BaseException]:
    """The error and everything it wraps (requests → urllib3 → socket), breadth first."""
    seen: list[BaseException] = []
    queue: list[BaseException] = [error]
    while queue and len(seen) < 20:
        current = queue.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for nested in (
            current.__cause__,
            current.__context__,
            getattr(current, "reason", None),
            *getattr(current, "args", ()),
        ):
            if isinstance(nested, BaseException):
                queue.append(nested)
    return seen


def _root_cause_text(error: BaseException) -> str:
    """The innermost readable reason ("[Errno 111] Connection refused"), not the wrappers."""
    for cause in reversed(_causes(error)):
        text = str(cause).strip()
        if text and not isinstance(cause, requests.RequestException):
            return text
    return str(error) or type(error).__name__


def error_kind_of(error: BaseException) -> str:
    """Map a requests exception to the protocol's error classes."""
    chain = _causes(error)
    if any(isinstance(e, (requests.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return "tls"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused"
    if any(
        isinstance(
            e,
            (
                requests.Timeout,
                urllib3.exceptions.TimeoutError,
                TimeoutError,
            ),
        )
        for e in chain
    ):
        return "timeout"
    if any(
        isinstance(
            e,
            (
                ConnectionResetError,
                ConnectionAbortedError,
                BrokenPipeError,
                RemoteDisconnected,
                urllib3.exceptions.ProtocolError,
                requests.exceptions.ChunkedEncodingError,
            ),
        )
        for e in chain
    ):
        return "reset"
    return "other"
