"""An agency server that answers wrongly on purpose: a real ``http.server`` on loopback.

Each agency base URL is ``http://127.0.0.1:PORT/<call>:<fault>`` (or ``/good``): the fault
applies to that call ("post", "put" or "status"), every other call is answered as the
protocol says. Faults:

=================  ============================================================================
cut                201 application/json whose body stops halfway
html               200 text/html: a captive portal's login page
empty              201 ``{}``
other_id           201 naming another submission
unknown_status     201 with the status word "diterima" (not the protocol's)
418, 407, 413 ...  that status with a JSON error body
trickle            200 with a Content-Length, then one byte a second until the desk hangs up
huge               200 application/json, 10 MB with no Content-Length (read until close)
404                404 ``{"error": "not_found"}`` (a status pull: the agency lost it)
=================  ============================================================================

``disable_nagle_algorithm`` is set, or every keep-alive request waits about 40 ms.
"""

from __future__ import annotations

import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HUGE_BYTES = 10 * 1024 * 1024


class WrongAgency:
    """The server, in a thread; ``trickling`` is set while a trickle is being sent."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.stop_event = threading.Event()
        self.trickling = threading.Event()
        self.requests: list[tuple[str, str]] = []  # (method, path) as received
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"agency": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def agency_url(self, fault: str) -> str:
        return f"{self.url}/{fault}"

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for m, _ in self.requests if m == method)

    def __enter__(self) -> WrongAgency:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)


class _Handler(BaseHTTPRequestHandler):
    agency: WrongAgency
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:
        pass

    # -- routing -----------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._route("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._route("PUT")

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def _route(self, method: str) -> None:
        self.agency.record(method, self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault_spec, _, rest = self.path.lstrip("/").partition("/")
        call, _, fault = fault_spec.partition(":")
        parts = rest.split("/")
        if method == "GET" and parts == ["health"]:
            return self._json(200, {"status": "ok"})
        this_call = {"POST": "post", "PUT": "put", "GET": "status"}[method]
        good = self._good_answer(method, parts, body)
        if call != this_call or not fault:
            return self._json(*good)
        self._fault(fault, good[1])

    def _good_answer(self, method: str, parts: list[str], body: bytes) -> tuple[int, dict]:
        if method == "POST":
            document = json.loads(body)
            sid = str(document.get("submission_id") or uuid.uuid4())
            return 201, {"submission_id": sid, "agency_ref": f"W-{sid[:8]}", "status": "received"}
        sid = parts[1]
        if method == "PUT":
            import hashlib

            return 201, {
                "submission_id": sid,
                "name": parts[3],
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
                "missing_attachments": [],
            }
        return 200, {
            "submission_id": sid,
            "agency_ref": f"W-{sid[:8]}",
            "status": "processing",
            "message": "Sedang diproses.",
            "missing_attachments": [],
            "updated_at": "2026-12-02T09:00:00+07:00",
        }

    # -- the faults --------------------------------------------------------------------

    def _fault(self, fault: str, good: dict) -> None:
        if fault == "cut":
            data = json.dumps(good).encode()
            return self._raw(201, "application/json", data[: len(data) // 2])
        if fault == "html":
            page = b"<html><body><h1>Selamat datang di Wi-Fi Mal</h1>Login dulu.</body></html>"
            return self._raw(200, "text/html; charset=utf-8", page)
        if fault == "empty":
            return self._json(201, {})
        if fault == "other_id":
            return self._json(201, {**good, "submission_id": str(uuid.uuid4())})
        if fault == "unknown_status":
            return self._json(201, {**good, "status": "diterima"})
        if fault == "trickle":
            return self._trickle(json.dumps(good).encode())
        if fault == "huge":
            return self._huge()
        if fault.isdigit():
            return self._json(int(fault), {"error": "injected", "message": f"answer {fault}"})
        raise AssertionError(f"unknown fault {fault!r}")

    def _json(self, code: int, value: dict) -> None:
        self._raw(code, "application/json", json.dumps(value).encode())

    def _raw(self, code: int, content_type: str, data: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _trickle(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) * 1000))
        self.end_headers()
        self.wfile.flush()
        self.agency.trickling.set()
        try:
            for i in range(len(data) * 1000):
                if self.agency.stop_event.wait(1.0):
                    break
                self.wfile.write(data[i % len(data) : i % len(data) + 1])
                self.wfile.flush()
        except OSError:
            pass  # the desk hung up: what it should do
        finally:
            self.agency.trickling.clear()
            self.close_connection = True

    def _huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"[" + b"0," * 32767 + b"0]"
        try:
            sent = 0
            while sent < HUGE_BYTES and not self.agency.stop_event.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the desk stopped reading at its cap and hung up
        self.close_connection = True
