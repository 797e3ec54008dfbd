"""HTTP client of one agency endpoint: the sync protocol's four calls, and nothing more.

The outbox owns retries, so this client never retries and never raises for what the network
does: every call comes back as an ``Answer`` (a status and JSON body, or an error kind that
``mppdesk.core.sync_policy.classify`` understands). It always passes (connect, read) timeouts,
verifies TLS (against the endpoint's own CA file when one is configured), never follows
redirects (a POST turned into a GET by a redirect would look like a delivery), and sends the
frozen body bytes exactly as given.

A read timeout bounds each socket read, not the answer: a server trickling one byte a second
never trips it. So every exchange also has a deadline (connect, upload and the whole answer)
and the answer a size cap: a watchdog thread shuts the socket down when the deadline passes
or when ``abort()`` is called (the worker stopping), which ends a blocked read at once.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import requests.adapters
import requests.auth
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from mppdesk import __version__

log = logging.getLogger(__name__)

ERROR_KINDS = ("refused", "reset", "timeout", "tls", "other", "aborted")
_MESSAGE_LIMIT = 300
_DETAIL_LIMIT = 120
DEFAULT_DEADLINE_S = 30.0
DEFAULT_MAX_ANSWER_BYTES = 1 << 20
UPLOAD_MIN_RATE = 64 * 1024  # bytes/s an upload may take on top of the deadline
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    """One call's result: an HTTP answer (``status_code`` set) or a network error
    (``status_code`` None, ``error_kind`` one of ERROR_KINDS)."""

    status_code: int | None
    body: dict[str, Any] | None
    error_kind: str | None
    error_message: str
    retry_after: str | None
    body_problem: str | None = None  # not_json | bad_json | not_object | too_large
    detail: str = ""  # what the unusable body was: its content type and first characters

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
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
    ) -> None:
        parts = urlsplit(base_url)
        if "@" in parts.netloc:
            # Never echo it: the part before the @ is a credential.
            raise ValueError(
                "agency base URL must not carry user:password@ credentials "
                "(use token_env or the keyring)"
            )
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
        if not (connect_timeout > 0 and read_timeout > 0):
            raise ValueError("connect_timeout and read_timeout must be positive")
        if not (0 < deadline_s < float("inf")):
            raise ValueError("deadline_s must be a positive number of seconds")
        if max_answer_bytes <= 0:
            raise ValueError("max_answer_bytes must be positive")
        self.base_url = base_url.rstrip("/")
        self.desk_id = desk_id
        self.audit_head: str | None = None  # "ID:HASH" of the desk's audit chain, set per pass
        self.timeout = (connect_timeout, read_timeout)
        self.deadline_s = deadline_s
        self.max_answer_bytes = max_answer_bytes
        self._token = token
        self._verify: bool | str = ca_bundle if ca_bundle else True
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        adapter = _WatchedAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._watchdog = _Watchdog()
        # Set by the owner (the sync worker's stop event): while set, every call comes back
        # "aborted" without going out, so nothing starts after abort() has swept.
        self.cancel: threading.Event | None = None

    def __repr__(self) -> str:  # never the token
        return f"AgencyClient({self.base_url!r}, desk_id={self.desk_id!r})"

    def close(self) -> None:
        self._watchdog.abort_all()  # nothing in flight outlives its client unwatched
        self._watchdog.close()
        if self._owns_session:
            self._session.close()

    def abort(self) -> None:
        """Cut every exchange in progress now (the worker is stopping): each comes back as
        an ``aborted`` Answer within moments, whatever the server is doing."""
        self._watchdog.abort_all()

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
            # A large scan over slow mall Wi-Fi takes its time going up.
            extra_s=len(data) / UPLOAD_MIN_RATE,
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
        extra_s: float = 0.0,
    ) -> Answer:
        url = self.base_url + path
        exchange = _Exchange(time.monotonic() + self.deadline_s + extra_s)
        self._watchdog.add(exchange)
        if self.cancel is not None and self.cancel.is_set():
            # Checked after add(): an abort() sweeping now either sees this exchange or
            # was preceded by the event this reads.
            self._watchdog.remove(exchange)
            return Answer(None, None, "aborted", f"aborted: the desk is stopping ({method})", None)
        _current.exchange = exchange
        response: requests.Response | None = None
        try:
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
                    stream=True,
                )
                content, too_large = self._read_capped(response, exchange)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                return self._failed(method, url, exchange, error)
            if exchange.cut is not None:
                return self._failed(method, url, exchange, None)
        finally:
            _current.exchange = None
            self._watchdog.remove(exchange)
            if response is not None:
                response.close()
        content_type = response.headers.get("Content-Type", "")
        if too_large:
            body, problem = None, "too_large"
        else:
            body, problem = _json_object(content, content_type)
        detail = _detail(content, content_type, too_large) if problem else ""
        message = ""
        if response.status_code >= 300:
            if body is not None and isinstance(body.get("message"), str):
                message = _short(body["message"])
            elif body is None:
                message = _short(content[:2000].decode("utf-8", "replace"))
        return Answer(
            response.status_code,
            body,
            None,
            message,
            response.headers.get("Retry-After"),
            problem,
            detail,
        )

    def _read_capped(self, response: requests.Response, exchange: _Exchange) -> tuple[bytes, bool]:
        """The answer's body, read in chunks until the end, the size cap or the deadline."""
        cap = self.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            return b"", True
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(_CHUNK):
            if exchange.cut is not None:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                return b"", True
        return b"".join(chunks), False

    def _failed(
        self, method: str, url: str, exchange: _Exchange, error: BaseException | None
    ) -> Answer:
        if exchange.cut == "aborted":
            kind, why = "aborted", "the desk is stopping"
        elif exchange.cut == "deadline":
            kind = "timeout"
            why = f"no complete answer within the {self.deadline_s:g} s deadline"
        else:
            assert error is not None
            kind = error_kind_of(error)
            why = _root_cause_text(error)
        message = f"{kind}: {why} ({method} {url})"
        log.info("%s", message)
        return Answer(None, None, kind, _short(message), None)


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


def _json_object(content: bytes, content_type: str) -> tuple[dict[str, Any] | None, str | None]:
    """The body as a JSON object, or None and what is wrong with it."""
    if not content or "json" not in content_type.lower():
        return None, "not_json"
    try:
        value = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "bad_json"
    if not isinstance(value, dict):
        return None, "not_object"
    return value, None


def _detail(content: bytes, content_type: str, too_large: bool) -> str:
    """A few words on an unusable body for the outbox: its type and how it starts."""
    kind = content_type.split(";")[0].strip() or "no content type"
    if too_large:
        return f"{kind}, over the size limit"
    start = " ".join(content[:_DETAIL_LIMIT].decode("utf-8", "replace").split())
    return f"{kind}, {len(content)} bytes" + (f": {start!r}" if start else "")


class _Exchange:
    """One request in progress: its deadline and the connection it runs on."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.cut: str | None = None  # "deadline" or "aborted" once the watchdog acted
        self._connection: Any = None
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection
        if self.cut is not None:
            self.shutdown()

    def shutdown(self) -> None:
        """Shut the socket down: a read blocked on it returns at once (close() would not)."""
        with self._lock:
            sock = getattr(self._connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


_current = threading.local()  # the exchange of the request this thread is making


class _Watchdog:
    """One thread per client that cuts the exchanges past their deadline, or all on abort."""

    _RECHECK_S = 0.1  # a cut exchange is shut again until it ends (it may still be connecting)

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._live: set[_Exchange] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._sleeps_until = float("inf")  # the watchdog needs waking only for an earlier one

    def add(self, exchange: _Exchange) -> None:
        with self._cond:
            self._live.add(exchange)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="sync-deadlines", daemon=True
                )
                self._thread.start()
            if exchange.deadline < self._sleeps_until:
                self._cond.notify()

    def remove(self, exchange: _Exchange) -> None:
        with self._cond:
            self._live.discard(exchange)

    def abort_all(self) -> None:
        with self._cond:
            live = list(self._live)
            for exchange in live:
                exchange.cut = "aborted"
            self._cond.notify()
        for exchange in live:  # at once, not on the watchdog's next turn
            exchange.shutdown()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _run(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                wait: float | None = None
                for exchange in list(self._live):
                    if exchange.cut is None and exchange.deadline <= now:
                        exchange.cut = "deadline"
                    if exchange.cut is not None:
                        exchange.shutdown()
                        wait = self._RECHECK_S
                    else:
                        until = exchange.deadline - now
                        wait = until if wait is None else min(wait, until)
                self._sleeps_until = float("inf") if wait is None else now + wait
                self._cond.wait(wait)
                self._sleeps_until = float("-inf")  # awake: add() need not notify


def _attach(connection: Any) -> None:
    exchange = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(connection)


class _WatchedConnection(urllib3.connection.HTTPConnection):
    """Tells the current exchange its socket: on a new connection once connected (a cut that
    came while connecting then shuts it at once), on a kept-alive one at each request."""

    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedTLSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedTLSPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """Connections that tell the watchdog which socket the current request runs on."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_WATCHED_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        return manager


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
