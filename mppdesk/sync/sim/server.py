"""The reference agency server: the sync protocol over HTTP/1.1, many agencies on one port.

Each agency lives under its own base path, ``http://HOST:PORT/<agency>``; the admin endpoints
under ``/_admin`` (never faulted, never authenticated: the sim listens on loopback) let tests
and the demo advance statuses, read counters and change faults while it runs.

Robustness rules: a client that disconnects mid-request gets nothing stored and nothing
answered; garbage gets a 4xx; a bug in the handler is caught, logged and answered 500 (the
tests hold that none happens); every answer carries Content-Length so keep-alive works.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mppdesk.core.canonical import canonical_json

from .faults import FaultPlan, RequestFaults, parse_fault_spec
from .store import MESSAGES, ListedAttachment, SimBill, SimStore, iso, planned_outcome
from .validation import (
    attachment_name_problem,
    is_sha256_hex,
    validate_submission,
)

log = logging.getLogger(__name__)

MAX_SUBMISSION_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024
MAX_ADMIN_BYTES = 64 * 1024
MAX_DISCARD_BYTES = 1024 * 1024
IDLE_TIMEOUT_S = 30.0
AGENCY_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def is_agency_code(value: str) -> bool:
    return 0 < len(value) <= 64 and value[0] != "-" and all(c in AGENCY_CODE_CHARS for c in value)


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    agencies: frozenset[str] | None = None  # None: serve any agency code
    db_path: str = ":memory:"
    faults: str = ""
    seed: int = 0
    tokens: Mapping[str, str] = field(default_factory=dict)  # agency or "*" → bearer token
    advance_after_s: float | None = None
    billing_ttl_s: float = 2 * 24 * 3600.0  # how long a bill's code can be paid
    max_submission_bytes: int = MAX_SUBMISSION_BYTES
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES


class _Abort(Exception):
    """Stop handling this request: the connection is already answered or closed."""


class AgencySim:
    """One running reference server: store, fault plan, HTTP listener and its thread."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        for agency in config.tokens:
            if agency != "*" and not is_agency_code(agency):
                raise ValueError(f"token given for {agency!r}, which is not an agency code")
        self.store = SimStore(config.db_path)
        self._plan = FaultPlan.from_spec(config.faults, config.seed, time.monotonic())
        self._wake = threading.Condition()
        self._generation = 0
        self._stopping = False
        self._in_progress: set[tuple[str, str]] = set()
        self._in_progress_lock = threading.Lock()
        self._active = 0
        self._active_cond = threading.Condition()
        self._counters: dict[str, dict[str, int]] = {}
        self._audit_heads: dict[tuple[str, str], str] = {}
        self._counters_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        try:
            self._httpd = _HTTPServer((config.host, config.port), _Handler, self)
        except BaseException:
            self.store.close()
            raise

    # -- life cycle --------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def agency_url(self, agency: str) -> str:
        return f"{self.url}/{agency}"

    def start(self) -> AgencySim:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() waits for the loop
            name=f"agency-sim:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening, cut open connections, wake slow requests, close the store."""
        with self._wake:
            self._stopping = True
            self._generation += 1
            self._wake.notify_all()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout)
        self._httpd.server_close()
        self._httpd.close_connections()
        with self._active_cond:
            self._active_cond.wait_for(lambda: self._active == 0, timeout)
        self.store.close()

    def __enter__(self) -> AgencySim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and waiting ------------------------------------------------------------

    def set_faults(self, spec: str, seed: int | None = None) -> FaultPlan:
        """Apply a new SPEC now (its time windows start now); wake requests that are slow."""
        rules = parse_fault_spec(spec)
        plan = FaultPlan(rules, self._plan.seed if seed is None else seed, time.monotonic())
        self._plan = plan
        with self._wake:
            self._generation += 1
            self._wake.notify_all()
        log.info("faults now %r (seed %s)", plan.spec, plan.seed)
        return plan

    @property
    def plan(self) -> FaultPlan:
        return self._plan

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when faults change or the server stops (tests stay fast)."""
        with self._wake:
            generation = self._generation
            self._wake.wait_for(
                lambda: self._generation != generation or self._stopping, timeout=seconds
            )

    # -- bookkeeping -------------------------------------------------------------------

    def count(self, agency: str, name: str, by: int = 1) -> None:
        with self._counters_lock:
            per_agency = self._counters.setdefault(agency, {})
            per_agency[name] = per_agency.get(name, 0) + by

    def claim(self, agency: str, key: str) -> bool:
        with self._in_progress_lock:
            if (agency, key) in self._in_progress:
                return False
            self._in_progress.add((agency, key))
            return True

    def release(self, agency: str, key: str) -> None:
        with self._in_progress_lock:
            self._in_progress.discard((agency, key))

    def in_progress(self) -> dict[str, int]:
        with self._in_progress_lock:
            result: dict[str, int] = {}
            for agency, _ in self._in_progress:
                result[agency] = result.get(agency, 0) + 1
            return result

    def enter(self) -> None:
        with self._active_cond:
            self._active += 1

    def leave(self) -> None:
        with self._active_cond:
            self._active -= 1
            self._active_cond.notify_all()

    def record_audit_head(self, agency: str, desk: str, head: str) -> None:
        """The desk's audit chain head as last seen: kept off the desk's PC."""
        with self._counters_lock:
            self._audit_heads[(agency, desk)] = head

    def audit_heads(self) -> dict[str, dict[str, str]]:
        with self._counters_lock:
            out: dict[str, dict[str, str]] = {}
            for (agency, desk), head in self._audit_heads.items():
                out.setdefault(agency, {})[desk] = head
            return out

    def stats(self) -> dict[str, Any]:
        durable = self.store.stats()
        with self._counters_lock:
            volatile = {agency: dict(values) for agency, values in self._counters.items()}
        in_progress = self.in_progress()
        agencies: dict[str, dict[str, Any]] = {}
        for agency in sorted(set(durable) | set(volatile) | set(in_progress)):
            stored = durable.get(agency, {})
            seen = volatile.get(agency, {})
            replays = stored.get("replays", 0)
            conflicts = stored.get("idempotency_conflicts", 0)
            agencies[agency] = {
                "submissions": stored.get("submissions", 0),
                "attachments": stored.get("attachments", 0),
                "bills_issued": stored.get("bills_issued", 0),
                "bills_paid": stored.get("bills_paid", 0),
                "duplicates_refused": replays + conflicts,
                "replays": replays,
                "idempotency_conflicts": conflicts,
                "in_progress_refused": seen.get("in_progress_refused", 0),
                "in_progress": in_progress.get(agency, 0),
                "requests": seen.get("requests", 0),
                "faults_injected": {
                    name[len("fault:") :]: value
                    for name, value in sorted(seen.items())
                    if name.startswith("fault:")
                },
            }
        heads = self.audit_heads()
        for agency, desks in heads.items():
            if agency in agencies:
                agencies[agency]["audit_heads"] = desks
        return {
            "agencies": agencies,
            "faults": self._plan.spec,
            "seed": self._plan.seed,
            # TCP connections accepted since start and open now: a client that keeps its
            # connections alive opens a few, not one per request.
            "connections": self._httpd.connection_counts(),
        }

    def serves(self, agency: str) -> bool:
        if not is_agency_code(agency):
            return False
        return self.config.agencies is None or agency in self.config.agencies

    def token_for(self, agency: str) -> str | None:
        return self.config.tokens.get(agency, self.config.tokens.get("*"))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, sim: AgencySim) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._accepted = 0
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
            self._accepted += 1
        super().process_request(request, client_address)

    def connection_counts(self) -> dict[str, int]:
        with self._connections_lock:
            return {"accepted": self._accepted, "open": len(self._connections)}

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            # Resets, timeouts, a socket closed at shutdown: the network's doing, not a bug.
            log.debug("connection from %s ended: %r", client_address, error)
        else:
            log.exception("unexpected error on the connection from %s", client_address)


def _json_bytes(value: Any) -> bytes:
    return canonical_json(value)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "mppdesk-agency-sim/1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_S

    # -- plumbing ----------------------------------------------------------------------

    @property
    def sim(self) -> AgencySim:
        return self.server.sim

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base signature)
        log.debug("%s %s", self.address_string(), format % args)

    def handle_one_request(self) -> None:
        self._body_done = False
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError) as error:
            log.debug("client went away: %r", error)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors raised by the request parser (bad request line, headers too large ...)."""
        if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method: not ours to offer
            code = HTTPStatus.METHOD_NOT_ALLOWED
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # garbage, not a real 0.9 client: use headers
            self.request_version = "HTTP/1.0"
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        body = {"error": "bad_request" if code == 400 else phrase.lower().replace(" ", "_")}
        body["message"] = message or phrase
        self._send(code, _json_bytes(body), head_only=self.command == "HEAD")

    def _send(
        self,
        code: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        head_only: bool = False,
    ) -> None:
        self._handle_unread_body()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not head_only:
                self.wfile.write(body)
            self.wfile.flush()
        except (ConnectionError, TimeoutError) as error:
            # No path when the request line itself was garbage (a TLS hello, say).
            log.debug("could not answer %s: %r", getattr(self, "path", "?"), error)
            self.close_connection = True

    def _answer(self, code: int, value: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(code, _json_bytes(value), headers)

    def _error(self, code: int, error: str, message: str, **extra: Any) -> None:
        self._answer(code, {"error": error, "message": message, **extra})

    def _validation(self, fields: Mapping[str, str]) -> None:
        self._answer(
            422,
            {
                "error": "validation",
                "message": "the agency refuses the content",
                "fields": dict(fields),
            },
        )

    def _content_length(self) -> int | None:
        """The declared body length; None when there is none; -1 when it cannot be read."""
        if self.headers.get("Transfer-Encoding"):
            return -1
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return None
        if len(set(values)) != 1 or not values[0].strip().isdigit():
            return -1
        return int(values[0])

    def _handle_unread_body(self) -> None:
        """Keep the connection usable after answering without reading a request body."""
        if self._body_done or self.close_connection:
            return
        self._body_done = True
        length = self._content_length()
        if length is None or length == 0:
            return
        if length < 0 or length > MAX_DISCARD_BYTES:
            self.close_connection = True
            return
        try:
            if len(self.rfile.read(length)) != length:
                self.close_connection = True
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _read_body(self, limit: int, faults: RequestFaults | None = None) -> bytes:
        """The whole request body, or an answer/abort (raises _Abort) when there is none."""
        length = self._content_length()
        if length is None:
            self._error(411, "length_required", "send the body with a Content-Length")
            raise _Abort
        if length < 0:
            self.close_connection = True
            self._error(400, "bad_request", "Content-Length is invalid (chunked is not accepted)")
            raise _Abort
        if length > limit:
            self.close_connection = True
            self._error(413, "too_large", f"the body may be at most {limit} bytes")
            raise _Abort
        self._body_done = True
        if faults is not None and faults.drop_midway:
            self.rfile.read(length // 2)
            self._close_without_answer(reset=True)
        data = self.rfile.read(length)
        if len(data) != length:
            log.debug("client sent %d of %d bytes and went away", len(data), length)
            self._close_without_answer(reset=False)
        return data

    def _close_without_answer(self, *, reset: bool) -> None:
        self.close_connection = True
        self._body_done = True
        if reset:
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            except OSError:
                pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR if not reset else socket.SHUT_RD)
        except OSError:
            pass
        raise _Abort

    # -- dispatch ----------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_OPTIONS(self) -> None:
        self._dispatch("OPTIONS")

    def do_HEAD(self) -> None:
        self.close_connection = True
        self._send(405, b"", {"Allow": "GET, POST, PUT"}, head_only=True)

    def _dispatch(self, method: str) -> None:
        self.sim.enter()
        try:
            self._route(method)
        except _Abort:
            pass
        except (ConnectionError, TimeoutError) as error:
            log.debug("client went away during %s %s: %r", method, self.path, error)
            self.close_connection = True
        except Exception:
            log.exception("bug while answering %s %s", method, self.path)
            self.close_connection = True
            if not getattr(self, "_answered", False):
                self._error(500, "internal", "the agency server failed; this is a bug")
        finally:
            self.sim.leave()

    def send_response(self, code: int, message: str | None = None) -> None:
        self._answered = True
        super().send_response(code, message)

    def _route(self, method: str) -> None:
        self._answered = False
        try:
            parts = urlsplit(self.path)
            segments = [unquote(s, errors="strict") for s in parts.path.split("/")[1:]]
        except (ValueError, UnicodeDecodeError):
            self._error(400, "bad_request", "the path is not valid UTF-8 percent-encoding")
            return
        if segments and segments[0] == "_admin":
            self._admin(method, segments[1:], parts.query)
            return
        if not segments or not segments[0] or not self.sim.serves(segments[0]):
            self._error(404, "not_found", "no such agency on this server")
            return
        agency, rest = segments[0], segments[1:]
        if rest == ["health"]:
            self._allow(method, "GET") and self._health(agency)
        elif rest == ["submissions"]:
            self._allow(method, "POST") and self._post_submission(agency)
        elif len(rest) == 2 and rest[0] == "submissions" and rest[1]:
            self._allow(method, "GET") and self._get_status(agency, rest[1])
        elif len(rest) == 4 and rest[0] == "submissions" and rest[2] == "attachments":
            if rest[1] and rest[3] and self._allow(method, "PUT"):
                self._put_attachment(agency, rest[1], rest[3])
            elif not (rest[1] and rest[3]):
                self._error(404, "not_found", "no such endpoint")
        else:
            self._error(404, "not_found", "no such endpoint")

    def _allow(self, method: str, allowed: str) -> bool:
        if method == allowed:
            return True
        self._send(
            405,
            _json_bytes({"error": "method_not_allowed", "message": f"use {allowed}"}),
            {"Allow": allowed},
        )
        return False

    # -- the agency's side -------------------------------------------------------------

    def _gate(self, agency: str, *, is_health: bool, has_body: bool) -> RequestFaults:
        """Faults, then credentials: answers (and raises _Abort) when the request stops here."""
        sim = self.sim
        sim.count(agency, "requests")
        faults = sim.plan.decide(
            agency, has_body=has_body, is_health=is_health, now=time.monotonic()
        )
        for name in faults.names:
            sim.count(agency, f"fault:{name}")
        if faults.refuse:
            self._close_without_answer(reset=True)
        if faults.status in (401, 403):
            self._injected(faults)
            raise _Abort
        if not is_health:
            self._check_credentials(agency)
            desk = self.headers.get("X-MPP-Desk", "").strip()
            if not desk:
                self._error(400, "bad_request", "the X-MPP-Desk header is required")
                raise _Abort
            head = self.headers.get("X-MPP-Audit-Head", "").strip()
            if head:
                sim.record_audit_head(agency, desk[:64], head[:200])
        return faults

    def _check_credentials(self, agency: str) -> None:
        expected = self.sim.token_for(agency)
        if expected is None:
            return
        header = self.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        presented = presented.strip()
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.encode("utf-8", "replace"), expected.encode("utf-8")
        ):
            return
        if (
            scheme.lower() == "bearer"
            and presented
            and any(
                hmac.compare_digest(presented.encode("utf-8", "replace"), token.encode("utf-8"))
                for token in self.sim.config.tokens.values()
            )
        ):
            self._error(403, "forbidden", "this token is not valid for this agency")
            raise _Abort
        self._send(
            401,
            _json_bytes({"error": "unauthorized", "message": "a valid bearer token is required"}),
            {"WWW-Authenticate": 'Bearer realm="agency"'},
        )
        raise _Abort

    def _injected(self, faults: RequestFaults) -> None:
        assert faults.status is not None
        headers: dict[str, str] = {}
        if faults.retry_after is not None:
            headers["Retry-After"] = str(int(round(faults.retry_after)))
        if faults.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="agency"'
        try:
            phrase = HTTPStatus(faults.status).phrase
        except ValueError:
            phrase = ""
        self._send(
            faults.status,
            _json_bytes(
                {
                    "error": "injected",
                    "message": f"injected fault: {faults.status} {phrase}".strip(),
                }
            ),
            headers,
        )

    def _health(self, agency: str) -> None:
        faults = self._gate(agency, is_health=True, has_body=False)
        if faults.slow_delay:
            self.sim.wait(faults.slow_delay)
        if faults.status is not None:
            self._injected(faults)
            return
        self._answer(200, {"status": "ok", "agency": agency})

    def _post_submission(self, agency: str) -> None:
        sim = self.sim
        faults = self._gate(agency, is_health=False, has_body=True)
        key = self.headers.get("Idempotency-Key", "").strip()
        if not key:
            self._error(400, "bad_request", "the Idempotency-Key header is required")
            return
        body = self._read_body(sim.config.max_submission_bytes, faults)
        if faults.status is not None:
            self._injected(faults)
            return
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            self._error(400, "bad_request", "Content-Type must be application/json")
            return
        document = _parse_json(body)
        if document is _NOT_JSON:
            self._error(400, "bad_request", "the body is not JSON (UTF-8, no NaN or Infinity)")
            return
        if not sim.claim(agency, key):
            sim.count(agency, "in_progress_refused")
            self._error(409, "in_progress", "a request with this Idempotency-Key is still running")
            return
        try:
            if faults.slow_delay:
                sim.wait(faults.slow_delay)
            code, answer = self._store_submission(
                agency, key, body, document, bad_billing=faults.bad_billing
            )
        finally:
            sim.release(agency, key)
        if faults.drop_after_commit:
            self._close_without_answer(reset=False)
        self._send(code, answer)

    def _store_submission(
        self, agency: str, key: str, body: bytes, document: Any, *, bad_billing: bool = False
    ) -> tuple[int, bytes]:
        store = self.sim.store
        existing = store.get(agency, key)
        if existing is not None:
            if hmac.compare_digest(existing.body, body):
                store.count(agency, "replays")
                return 200, existing.first_answer
            store.count(agency, "idempotency_conflicts")
            return 409, _json_bytes(
                {
                    "error": "idempotency_conflict",
                    "message": "this Idempotency-Key was used with a different body",
                    "agency_ref": existing.agency_ref,
                }
            )
        problems = validate_submission(body, document, agency, key)
        if problems:
            return 422, _json_bytes(
                {
                    "error": "validation",
                    "message": "the agency refuses the content",
                    "fields": problems,
                }
            )
        listed = [
            ListedAttachment(a["name"], a["sha256"], a["size"], a["content_type"])
            for a in document["attachments"]
        ]
        answer = store.insert(
            agency,
            key,
            body,
            self.headers.get("X-MPP-Desk", "").strip(),
            planned_outcome(key, document["answers"]),
            listed,
            lambda ref, bill: _json_bytes(
                _accepted(key, ref, bill, time.time(), bad_billing=bad_billing)
            ),
            time.time(),
            fee=_fee_of(document),
            billing_ttl_s=self.sim.config.billing_ttl_s,
        )
        return 201, answer

    def _get_status(self, agency: str, submission_id: str) -> None:
        sim = self.sim
        faults = self._gate(agency, is_health=False, has_body=False)
        if faults.slow_delay:
            sim.wait(faults.slow_delay)
        if faults.status is not None:
            self._injected(faults)
            return
        if sim.config.advance_after_s:
            sim.store.catch_up(agency, submission_id, time.time(), sim.config.advance_after_s)
        stored = sim.store.get(agency, submission_id)
        if stored is None:
            self._error(404, "not_found", "no submission with this id at this agency")
            return
        missing = sim.store.missing_attachments(agency, submission_id)
        message = MESSAGES[stored.status]
        if missing:
            message = "Menunggu lampiran: " + ", ".join(missing) + "."
        answer = {
            "submission_id": submission_id,
            "agency_ref": stored.agency_ref,
            "status": stored.status,
            "message": message,
            "missing_attachments": missing,
            "updated_at": iso(stored.updated_at),
        }
        bill = sim.store.bill(agency, submission_id)
        if bill is not None:
            answer["billing"] = _bill_json(bill, time.time(), faults.bad_billing)
        self._answer(200, answer)

    def _put_attachment(self, agency: str, submission_id: str, name: str) -> None:
        sim = self.sim
        faults = self._gate(agency, is_health=False, has_body=True)
        stored = sim.store.get(agency, submission_id)
        if stored is None:
            self._error(404, "not_found", "no submission with this id at this agency")
            return
        problem = attachment_name_problem(name)
        listed = None if problem else sim.store.listed_attachment(agency, submission_id, name)
        if listed is None:
            self._validation({"name": problem or "not listed in the submission's attachments"})
            return
        declared = self.headers.get("X-Content-SHA256", "").strip()
        if not is_sha256_hex(declared):
            self._validation({"X-Content-SHA256": "required: 64 lower-case hex digits"})
            return
        data = self._read_body(sim.config.max_attachment_bytes, faults)
        if faults.status is not None:
            self._injected(faults)
            return
        if faults.slow_delay:
            sim.wait(faults.slow_delay)
        actual = hashlib.sha256(data).hexdigest()
        if actual != declared:
            self._validation({"X-Content-SHA256": "does not match the bytes received"})
            return
        if declared != listed.sha256:
            self._error(
                409,
                "attachment_conflict",
                "the submission lists this attachment with another hash",
            )
            return
        already = sim.store.stored_attachment_sha256(agency, submission_id, name)
        created = False
        if already is None:
            content_type = self.headers.get("Content-Type", "") or "application/octet-stream"
            created = sim.store.put_attachment(
                agency, submission_id, name, actual, content_type, data, time.time()
            )
        if faults.drop_after_commit:
            self._close_without_answer(reset=False)
        self._answer(
            201 if created else 200,
            {
                "submission_id": submission_id,
                "name": name,
                "sha256": actual,
                "size": len(data),
                "missing_attachments": sim.store.missing_attachments(agency, submission_id),
            },
        )

    # -- admin -------------------------------------------------------------------------

    def _admin(self, method: str, segments: list[str], query: str) -> None:
        sim = self.sim
        if segments == ["stats"]:
            self._allow(method, "GET") and self._answer(200, sim.stats())
        elif segments == ["faults"]:
            if method == "GET":
                self._answer(200, {"spec": sim.plan.spec, "seed": sim.plan.seed})
            elif self._allow(method, "POST"):
                self._admin_faults()
        elif segments == ["advance"]:
            self._allow(method, "POST") and self._admin_advance()
        elif segments == ["pay"]:
            self._allow(method, "POST") and self._admin_pay()
        elif segments == ["submissions"]:
            if self._allow(method, "GET"):
                agency = parse_qs(query).get("agency", [""])[0]
                if not is_agency_code(agency):
                    self._validation({"agency": "give ?agency=<agency code>"})
                    return
                self._answer(200, {"submissions": sim.store.list_submissions(agency)})
        else:
            self._error(404, "not_found", "no such admin endpoint")

    def _admin_document(self) -> dict[str, Any] | None:
        document = _parse_json(self._read_body(MAX_ADMIN_BYTES))
        if not isinstance(document, dict):
            self._error(400, "bad_request", "send a JSON object")
            return None
        return document

    def _admin_faults(self) -> None:
        if self.headers.get("Content-Type", "").startswith("text/plain"):
            raw = self._read_body(MAX_ADMIN_BYTES)
            try:
                document: dict[str, Any] | None = {"spec": raw.decode("utf-8")}
            except UnicodeDecodeError:
                self._error(400, "bad_request", "the SPEC is not UTF-8 text")
                return
        else:
            document = self._admin_document()
        if document is None:
            return
        spec, seed = document.get("spec", ""), document.get("seed")
        if not isinstance(spec, str):
            self._validation({"spec": "must be a string"})
            return
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            self._validation({"seed": "must be an integer"})
            return
        try:
            plan = self.sim.set_faults(spec, seed)
        except ValueError as error:
            self._validation({"spec": str(error)})
            return
        self._answer(200, {"spec": plan.spec, "seed": plan.seed})

    def _admin_advance(self) -> None:
        document = self._admin_document()
        if document is None:
            return
        agency, submission_id = document.get("agency"), document.get("submission_id")
        if agency is not None and not (isinstance(agency, str) and is_agency_code(agency)):
            self._validation({"agency": "must be an agency code or null"})
            return
        if submission_id is not None and (not isinstance(submission_id, str) or agency is None):
            self._validation({"submission_id": "must be a string, with an agency, or null"})
            return
        store = self.sim.store
        if submission_id is not None and store.get(agency, submission_id) is None:
            self._error(404, "not_found", "no submission with this id at this agency")
            return
        agencies = [agency] if agency is not None else sorted(store.stats())
        advanced: list[dict[str, str]] = []
        waiting: list[dict[str, str]] = []
        now = time.time()
        for code in agencies:
            moved, blocked = store.advance(code, submission_id, now)
            advanced += [{"agency": code, "submission_id": s, "status": st} for s, st in moved]
            waiting += [{"agency": code, "submission_id": s} for s in blocked]
        self._answer(200, {"advanced": advanced, "waiting_for_attachments": waiting})


    def _admin_pay(self) -> None:
        """``{"agency": A, "submission_id": S}``: the citizen paid; the next status pull
        reports the bill paid with its NTPN. 404 without a bill, 409 ``expired`` after its
        expiry; paying twice answers the first payment."""
        document = self._admin_document()
        if document is None:
            return
        agency, submission_id = document.get("agency"), document.get("submission_id")
        if not (isinstance(agency, str) and is_agency_code(agency)):
            self._validation({"agency": "must be an agency code"})
            return
        if not isinstance(submission_id, str) or not submission_id:
            self._validation({"submission_id": "must be a submission id"})
            return
        now = time.time()
        result, bill = self.sim.store.pay(agency, submission_id, now)
        if result == "no_bill":
            self._error(404, "not_found", "no bill for this submission at this agency")
        elif result == "expired":
            self._error(409, "expired", "the bill expired before it was paid")
        else:
            assert bill is not None
            self._answer(200, {"agency": agency, "submission_id": submission_id,
                               "billing": bill.as_json(now)})  # fmt: skip


def _fee_of(document: dict[str, Any]) -> int | None:
    """The fee the desk sent (whole Rupiah); anything else issues no bill."""
    fee = document.get("fee")
    if isinstance(fee, int) and not isinstance(fee, bool) and fee > 0:
        return fee
    return None


def _bill_json(bill: SimBill, now: float, malformed: bool) -> dict[str, Any]:
    body = bill.as_json(now)
    if malformed:  # the bad_billing fault: what a broken agency gateway sends
        if bill.kind == "pnbp":
            body["kode_billing"] = bill.code[:-1]
        else:
            body["amount"] = -bill.amount
    return body


def _accepted(
    key: str, ref: str, bill: SimBill | None, now: float, *, bad_billing: bool
) -> dict[str, Any]:
    answer: dict[str, Any] = {"submission_id": key, "agency_ref": ref, "status": "received"}
    if bill is not None:
        answer["billing"] = _bill_json(bill, now, bad_billing)
    return answer


_NOT_JSON = object()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _NOT_JSON
