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
"""

from __future__ import annotations

import ipaddress
import logging
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
        return database.upgrade(engine)
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
