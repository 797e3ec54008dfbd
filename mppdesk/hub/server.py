"""Running the hub: ``serve`` for ``mppdesk hub serve``, ``serve_in_thread`` for tests, the
benchmarks and the demo.

Python API (what other parts and later tests use)::

    from mppdesk.hub.server import init_hub, serve_in_thread
    from mppdesk.hub.store import HubStore

    init_hub("postgresql+psycopg://…/hub", key_file=path)      # schema + key file, repeatable
    handle = serve_in_thread("postgresql+psycopg://…/hub", key_file=path)  # port 0: any free
    handle.url          # "http://127.0.0.1:54321"
    handle.store        # the HubStore behind it: add_desk(code) -> token, add_user(...), …
    handle.stop()       # graceful: in-flight requests finish, then the thread ends

The subprocess form is the CLI: ``mppdesk hub serve --db URL --port 0`` prints
``listening on http://127.0.0.1:PORT`` as its first line and stops cleanly on SIGTERM.
With ``--workers N`` (:func:`serve_workers`) N processes accept on the one listening socket,
so the hub's Python (sealing, the chain check) runs on N cores instead of one.
"""

from __future__ import annotations

import ipaddress
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from mppdesk.core.masking import MaskingFilter
from mppdesk.hub import database
from mppdesk.hub.app import RateLimiter, create_app
from mppdesk.hub.crypto import HubKey, create_key_file
from mppdesk.hub.store import HubStore

log = logging.getLogger("mppdesk.hub")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def init_hub(db_url: str, *, key_file: Path | None = None) -> str:
    """Create the key file when missing and create or upgrade the schema; the revision."""
    create_key_file(key_file)
    engine = database.create_hub_engine(db_url)
    try:
        revision = database.upgrade(engine)
        # Officers' names stored in clear by a hub before 0003 are sealed now, and the
        # foreigners stored before 0005 get their other number's alias (the key lives
        # outside the database, so the migrations themselves cannot).
        store = HubStore(engine, HubKey.load(key_file))
        store.seal_plain_officer_names()
        store.fill_applicant_aliases()
        return revision
    finally:
        engine.dispose()


def open_store(db_url: str, *, key_file: Path | None = None, check: bool = True) -> HubStore:
    """A store on an initialized hub database with the hub key loaded."""
    key = HubKey.load(key_file)
    engine = database.create_hub_engine(db_url)
    try:
        if check:
            database.check_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return HubStore(engine, key)


def configure_logging(stream=None) -> None:  # type: ignore[no-untyped-def]
    """One masked handler on stderr for the hub and uvicorn's own messages."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class _Server(uvicorn.Server):
    """A uvicorn server that tells when it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        await super().startup(sockets)
        if self.started:
            self._on_started()

    async def shutdown(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        # Idle keep-alive connections are cut at once: a TLS one closed politely waits for
        # the client's close_notify, which a pooled client never sends, and would hold the
        # stop for the whole grace period and leave its socket open after the loop ends.
        self._abort_connections(idle_only=True)
        await super().shutdown(sockets)
        self._abort_connections(idle_only=False)  # still busy after the grace period

    def _abort_connections(self, *, idle_only: bool) -> None:
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            idle = cycle is None or getattr(cycle, "response_complete", False)
            transport = getattr(connection, "transport", None)
            if transport is not None and (idle or not idle_only):
                transport.abort()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off only on sockets it recognises as TCP,
    # and with Nagle on, a keep-alive client waits ~40 ms (delayed ACK) for every answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _config(app, cert: Path | None, key: Path | None) -> uvicorn.Config:  # type: ignore[no-untyped-def]
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        ssl_certfile=str(cert) if cert else None,
        ssl_keyfile=str(key) if key else None,
        timeout_graceful_shutdown=5,
    )


def url_for(host: str, port: int, tls: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def serve(
    store: HubStore,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    cert: Path | None = None,
    key: Path | None = None,
    announce=None,  # type: ignore[no-untyped-def]
) -> None:
    """Serve in this thread until SIGINT/SIGTERM; ``announce(url)`` once it accepts."""
    sock = bind(host, port)
    url = url_for(host, sock.getsockname()[1], cert is not None)

    def started() -> None:
        if announce is not None:
            announce(url)
        log.info("hub listening on %s", url)

    server = _Server(_config(create_app(store), cert, key), started)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class HubHandle:
    """A hub serving from a background thread (tests, benchmarks, the demo)."""

    url: str
    store: HubStore
    _server: uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket
    _owns_engine: bool = True
    errors: list[BaseException] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        if self._owns_engine:
            self.store.engine.dispose()

    def __enter__(self) -> HubHandle:
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self.stop()


def serve_in_thread(
    db_url: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    key_file: Path | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    store: HubStore | None = None,
    rate_limiter: RateLimiter | None = None,
    start_timeout: float = 15.0,
) -> HubHandle:
    """Start a hub on an initialized database in a daemon thread; returns once it accepts."""
    if not is_loopback(host) and cert is None:
        raise ValueError("plain HTTP is only served on loopback: give cert and key")
    owns = store is None
    if store is None:
        if db_url is None:
            raise ValueError("db_url or store is required")
        store = open_store(db_url, key_file=key_file)
    sock = bind(host, port)
    started = threading.Event()
    server = _Server(
        _config(create_app(store, rate_limiter=rate_limiter), cert, key), started.set
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # noqa: BLE001 - reported through the handle
            errors.append(exc)
            started.set()

    thread = threading.Thread(target=run, name="mppdesk-hub", daemon=True)
    thread.start()
    if not started.wait(start_timeout) or errors:
        server.should_exit = True
        thread.join(5)
        sock.close()
        if owns:
            store.engine.dispose()
        raise RuntimeError("the hub did not start") from (errors[0] if errors else None)
    handle = HubHandle(
        url=url_for(host, sock.getsockname()[1], cert is not None),
        store=store,
        _server=server,
        _thread=thread,
        _socket=sock,
        _owns_engine=owns,
        errors=errors,
    )
    return handle


# --- several worker processes -------------------------------------------------------------

WORKER_START_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 15.0


def _worker_main(  # pragma: no cover - runs in a worker process (exercised by the CLI tests)
    sock: socket.socket,
    db_url: str,
    key_file: str | None,
    cert: str | None,
    key: str | None,
    ready,  # type: ignore[no-untyped-def]
) -> None:
    """One worker: its own engine and app on the inherited listening socket."""
    configure_logging()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the hub stops
    store = open_store(db_url, key_file=Path(key_file) if key_file else None)
    server = _Server(
        _config(create_app(store), Path(cert) if cert else None, Path(key) if key else None),
        ready.set,
    )
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        store.engine.dispose()


def serve_workers(
    db_url: str,
    *,
    workers: int,
    key_file: Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    cert: Path | None = None,
    key: Path | None = None,
    announce=None,  # type: ignore[no-untyped-def]
) -> int:
    """Serve with ``workers`` processes until SIGINT/SIGTERM; 0 on a clean stop, 1 when a
    worker failed to start or died (the service manager restarts the hub).

    The parent binds the socket and announces once every worker accepts; each worker opens
    its own engine (a pool of connections per process) and bounds its own pushes and rate
    buckets, so with N workers a desk's rate limit is up to N times RATE_PER_SECOND.
    """
    if workers < 1:
        raise ValueError("workers is at least 1")
    sock = bind(host, port)
    url = url_for(host, sock.getsockname()[1], cert is not None)
    stop = threading.Event()

    def on_signal(_signum, _frame) -> None:  # type: ignore[no-untyped-def]
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    context = multiprocessing.get_context("spawn")  # no fork of a parent holding threads
    children = []
    failed = False
    try:
        for _ in range(workers):
            ready = context.Event()
            child = context.Process(
                target=_worker_main,
                args=(sock, db_url, str(key_file) if key_file else None,
                      str(cert) if cert else None, str(key) if key else None, ready),
                name="mppdesk-hub-worker",
                daemon=False,
            )
            child.start()
            children.append((child, ready))
        for child, ready in children:
            while not ready.wait(0.1):
                if stop.is_set() or not child.is_alive():
                    break
            if not ready.is_set() and not stop.is_set():
                failed = True
                log.error("a hub worker did not start (exit code %s)", child.exitcode)
                break
        if not failed and not stop.is_set():
            if announce is not None:
                announce(url)
            log.info("hub listening on %s with %d workers", url, workers)
            sentinels = [child.sentinel for child, _ready in children]
            while not stop.is_set():
                if multiprocessing.connection.wait(sentinels, timeout=0.5):
                    failed = not stop.is_set()
                    if failed:
                        log.error("a hub worker died: stopping the hub")
                    break
    finally:
        for child, _ready in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        for child, _ready in children:
            child.join(WORKER_STOP_TIMEOUT_S)
            if child.is_alive():
                child.kill()
                child.join()
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
