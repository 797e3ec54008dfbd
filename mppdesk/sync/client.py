"""HTTP client of one agency endpoint: the sync protocol's four calls, and nothing more.

The outbox owns retries, so this client never retries and never raises for what the network
does: every call comes back as an ``Answer`` (a status and JSON body, or an error kind that
``mppdesk.core.sync_policy.classify`` understands). It always passes (connect, read) timeouts,
verifies TLS (against the endpoint's own CA file when one is configured), never follows
redirects (a POST turned into a GET by a redirect would look like a delivery), and sends the
frozen body bytes exactly as given.

Several requests may be in flight at once (the worker's ``concurrency_per_agency``): the
client's urllib3 connection pool holds that many kept-alive connections (``max_connections``),
so each in-flight request reuses its own connection and none is opened per request. The
transport is urllib3 itself, not ``requests`` on top of it: the desk is CPU-bound when it
delivers, and the ``requests`` layers (hooks, cookies, auth, environment look-ups, response
wrapping) cost about 0.3 ms of CPU per call on top of urllib3's 0.2 ms. What ``requests``
did for us is done once per client instead: the environment's proxy for the agency (NO_PROXY
honoured) and its CA bundle (the agency's ``ca_file``, else REQUESTS_CA_BUNDLE or
CURL_CA_BUNDLE, else certifi's bundle as requests used) are read at construction; ~/.netrc is
never read, so nobody's Basic credentials reach an agency.

A read timeout bounds each socket read, not the answer: a server trickling one byte a second
never trips it. So every exchange also has a deadline (connect, upload and the whole answer)
and the answer a size cap: a watchdog thread shuts the socket down when the deadline passes
or when ``abort()`` is called (the worker stopping), which ends a blocked read at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import urllib3
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions
import urllib3.util
from requests.utils import get_environ_proxies, prepend_scheme_if_needed, select_proxy

from mppdesk import __version__

log = logging.getLogger(__name__)

ERROR_KINDS = ("refused", "reset", "timeout", "tls", "other", "aborted")
_MESSAGE_LIMIT = 300
_DETAIL_LIMIT = 120
DEFAULT_DEADLINE_S = 30.0
DEFAULT_MAX_ANSWER_BYTES = 1 << 20
DEFAULT_MAX_CONNECTIONS = 4  # kept-alive connections to the agency (requests in flight)
MAX_CONNECTIONS = 32
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
    """Calls one agency's base URL over a urllib3 connection pool that keeps connections alive
    (up to ``max_connections`` of them, one per request in flight; safe to call from that
    many threads at once)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        desk_id: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        pool_manager: urllib3.PoolManager | None = None,
        *,
        ca_bundle: str | None = None,
        deadline_s: float = DEFAULT_DEADLINE_S,
        max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
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
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or not 1 <= max_connections <= MAX_CONNECTIONS
        ):
            raise ValueError(f"max_connections must be 1 to {MAX_CONNECTIONS}")
        self.base_url = base_url.rstrip("/")
        self.desk_id = desk_id
        self.audit_head: str | None = None  # "ID:HASH" of the desk's audit chain, set per pass
        self.timeout = (connect_timeout, read_timeout)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.deadline_s = deadline_s
        self.max_answer_bytes = max_answer_bytes
        self.max_connections = max_connections
        self._base_path = parts.path.rstrip("/")
        self._base_headers = {
            "Accept": "application/json",
            "User-Agent": f"mppdesk/{__version__}",
            "X-MPP-Desk": desk_id,
        }
        if token:
            self._base_headers["Authorization"] = f"Bearer {token}"
        # Set when the transport could not be built (a CA bundle that cannot be read, a SOCKS
        # proxy without PySocks): every call then answers with it, as requests did per call.
        self._setup_error: BaseException | None = None
        # One host per client; its pool keeps max_connections connections alive. Not blocking:
        # a caller beyond them (a health probe during deliveries) gets a connection of its own
        # instead of waiting unwatched for one to come free. Never retried (the outbox owns
        # retries), never redirected (a POST turned into a GET would look like a delivery).
        pool_kwargs: dict[str, Any] = {
            "maxsize": max_connections,
            "block": False,
            "timeout": self._timeout,
            "retries": False,
        }
        if parts.scheme == "https":
            pool_kwargs["cert_reqs"] = ssl.CERT_REQUIRED
            try:
                pool_kwargs["ssl_context"] = _trust_context(ca_bundle)
            except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                self._setup_error = error
        self._owns_manager = pool_manager is None
        if pool_manager is None:
            try:
                pool_manager = _manager_for(self.base_url, pool_kwargs)
            except ImportError as error:  # a socks:// proxy without PySocks installed
                self._setup_error = error
                pool_manager = urllib3.PoolManager(num_pools=1, **pool_kwargs)
        pool_manager.pool_classes_by_scheme = dict(_WATCHED_POOLS)
        self._manager = pool_manager
        # Without a proxy the pool is looked up once, not on every call.
        self._pool: urllib3.HTTPConnectionPool | None = None
        if not isinstance(pool_manager, urllib3.ProxyManager):
            self._pool = pool_manager.connection_from_url(self.base_url, pool_kwargs=pool_kwargs)
        self._watchdog = _Watchdog()
        # Set by the owner (the sync worker's stop event): while set, every call comes back
        # "aborted" without going out, so nothing starts after abort() has swept.
        self.cancel: threading.Event | None = None

    def __repr__(self) -> str:  # never the token
        return f"AgencyClient({self.base_url!r}, desk_id={self.desk_id!r})"

    def close(self) -> None:
        self._watchdog.abort_all()  # nothing in flight outlives its client unwatched
        self._watchdog.close()
        if self._owns_manager:
            self._manager.clear()

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
        headers = dict(self._base_headers)
        if self.audit_head:
            # The desk's audit chain head travels with every request, so a rewrite of the
            # local chain is caught at the agency.
            headers["X-MPP-Audit-Head"] = self.audit_head
        if extra:
            headers.update(extra)
        return headers

    def _send(
        self, method: str, path: str, data: bytes | None, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        """One request, its answer left unread on the connection (streamed and capped)."""
        if self._pool is not None:
            return self._pool.urlopen(
                method,
                self._base_path + path,
                body=data,
                headers=headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
                preload_content=False,
                decode_content=True,
            )
        return self._manager.urlopen(  # through the environment's proxy
            method,
            self.base_url + path,
            body=data,
            headers=headers,
            timeout=self._timeout,
            retries=False,
            redirect=False,
            preload_content=False,
            decode_content=True,
        )

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
        if self._setup_error is not None:
            return self._failed(method, url, _Exchange(0.0), self._setup_error)
        exchange = _Exchange(time.monotonic() + self.deadline_s + extra_s)
        self._watchdog.add(exchange)
        if self.cancel is not None and self.cancel.is_set():
            # Checked after add(): an abort() sweeping now either sees this exchange or
            # was preceded by the event this reads.
            self._watchdog.remove(exchange)
            return Answer(None, None, "aborted", f"aborted: the desk is stopping ({method})", None)
        _current.exchange = exchange
        response: urllib3.BaseHTTPResponse | None = None
        complete = False
        try:
            try:
                response = self._send(method, path, data, self._headers(headers))
                content, too_large = self._read_capped(response, exchange)
            except (urllib3.exceptions.HTTPError, OSError) as error:
                return self._failed(method, url, exchange, error)
            if exchange.cut is not None:
                return self._failed(method, url, exchange, None)
            complete = not too_large
        finally:
            _current.exchange = None
            self._watchdog.remove(exchange)
            if response is not None:
                if not complete:
                    response.close()  # a cut or unread answer: the connection is not reused
                response.release_conn()
        response_headers = response.headers
        content_type = response_headers.get("Content-Type", "")
        if too_large:
            body, problem = None, "too_large"
        else:
            body, problem = _json_object(content, content_type)
        detail = _detail(content, content_type, too_large) if problem else ""
        message = ""
        status = response.status
        if status >= 300:
            if body is not None and isinstance(body.get("message"), str):
                message = _short(body["message"])
            elif body is None:
                message = _short(content[:2000].decode("utf-8", "replace"))
        return Answer(
            status,
            body,
            None,
            message,
            response_headers.get("Retry-After"),
            problem,
            detail,
        )

    def _read_capped(
        self, response: urllib3.BaseHTTPResponse, exchange: _Exchange
    ) -> tuple[bytes, bool]:
        """The answer's body, read in chunks until the end, the size cap or the deadline."""
        cap = self.max_answer_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            return b"", True
        chunks: list[bytes] = []
        total = 0
        for chunk in response.stream(_CHUNK, decode_content=True):
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


def _trust_context(ca_bundle: str | None) -> ssl.SSLContext:
    """What TLS trusts, built once per client: the agency's own CA file, else the bundle the
    environment names (as requests read it), else certifi's (requests' default), else the
    system's. Verification is always on; hostnames are matched by urllib3."""
    path = (
        ca_bundle
        or os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or _default_bundle()
    )
    context = urllib3.util.create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    if path is None:
        context.load_default_certs()
    elif os.path.isdir(path):
        context.load_verify_locations(capath=path)
    else:
        context.load_verify_locations(cafile=path)
    return context


def _default_bundle() -> str | None:
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return certifi.where()


def _manager_for(base_url: str, pool_kwargs: dict[str, Any]) -> urllib3.PoolManager:
    """A direct pool manager, or a proxy manager when the environment's proxy settings
    (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) send this agency through one, as requests would."""
    proxy = select_proxy(base_url, get_environ_proxies(base_url))
    if not proxy:
        return urllib3.PoolManager(num_pools=1, **pool_kwargs)
    proxy = prepend_scheme_if_needed(proxy, "http")
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager

        return SOCKSProxyManager(proxy, num_pools=1, **pool_kwargs)  # type: ignore[no-any-return]
    auth = urllib3.util.parse_url(proxy).auth
    proxy_headers = (
        urllib3.util.make_headers(proxy_basic_auth=unquote(auth)) if auth else None
    )
    return urllib3.ProxyManager(
        proxy, num_pools=1, proxy_headers=proxy_headers, **pool_kwargs
    )


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


class _Watched:
    """Tells the current exchange its socket: on a new connection once connected (a cut that
    came while connecting then shuts it at once), on a kept-alive one at each request."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedTLSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _WatchedPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTLSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedTLSConnection


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedTLSPool}


def _causes(error: BaseException) -> list[BaseException]:
    """The error and everything it wraps (urllib3 → ssl/socket), breadth first."""
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
        if text:
            return text
    return str(error) or type(error).__name__


def error_kind_of(error: BaseException) -> str:
    """Map a urllib3 (or socket) exception to the protocol's error classes."""
    chain = _causes(error)
    if any(isinstance(e, (urllib3.exceptions.SSLError, ssl.SSLError)) for e in chain):
        return "tls"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused"
    if any(
        isinstance(
            e,
            (
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
            ),
        )
        for e in chain
    ):
        return "reset"
    return "other"
