"""Real visits from the catalog's worked examples, agency settings pointing at a loopback
server, and a clock the sync worker can be moved forward with: shared by the sync, collection
and submissions-view tests."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog
from mppdesk.settings import AgencyEndpoint, Settings, SyncSettings

CATALOG = load_catalog(builtin_catalog_dirs())
KTP = "dukcapil/ktp-el"  # one attachment
BPJS = "bpjs-kesehatan/peserta-mandiri"  # one attachment
HELD = "samsat/bbn-ii"  # needs a supervisor's approval before sending


def example_visit(code: str, *, ticket: str = "A-001", index: int = 0) -> dict[str, Any]:
    example = CATALOG.services[code].examples[index]
    return {
        "ticket": ticket,
        "applicant": dict(example.applicant),
        "proxy": dict(example.proxy) if example.proxy else None,
        "services": [
            {
                "service": code,
                "answers": dict(example.answers),
                "checklist": dict(example.checklist),
                "attachments": [str(CATALOG.resolve_path(a)) for a in example.attachments],
            }
        ],
    }


def finalize(runtime, actor, code: str, **kwargs: Any):
    """Finalize one example visit of ``code``; returns its one SubmissionSummary."""
    (summary,) = finalize_visit(
        runtime, actor, parse_visit(example_visit(code, **kwargs))
    ).submissions
    return summary


def free_port() -> int:
    """A loopback port nobody listens on (yet): an agency that is down, and comes back there.

    The port is left in TIME_WAIT (listened on, connected to, closed by the server side), so
    for a minute the kernel gives it to no other ``bind(("127.0.0.1", 0))``: a server that a
    test in the other pytest-xdist worker starts meanwhile cannot take it. A server that sets
    SO_REUSEADDR (the reference agency does) can still bind it later on purpose.
    """
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = server.accept()
            accepted.close()  # the server side closes first, so the port holds the TIME_WAIT
    return port


def agency_settings(
    base: Settings, urls: dict[str, str], *, token_env: dict[str, str] | None = None, **sync: Any
) -> Settings:
    """``base`` with an endpoint per agency (code → base URL) and sync timings for tests."""
    settings = replace(base, sync=replace(base.sync if base.sync else SyncSettings(), **sync))
    for code, url in urls.items():
        settings = settings.with_agency(
            AgencyEndpoint(
                code=code,
                base_url=url,
                token_env=(token_env or {}).get(code),
                connect_timeout_s=2.0,
                read_timeout_s=5.0,
            )
        )
    return settings


class Clock:
    """The worker's idea of now, moved forward by the test instead of waiting.

    It starts a minute ahead of the real time, so what the test finalizes (at the real time)
    is already due for the worker.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC) + timedelta(minutes=1)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


def completed_submission(runtime, actor, handle, code: str = KTP, *, tries: int = 20):
    """A submission delivered to ``handle``'s sim and reported ``completed`` by the agency,
    through the real worker: finalize, send, advance the agency, pull the status back."""
    from mppdesk.sync.sim.store import planned_outcome
    from mppdesk.sync.worker import SyncWorker

    for _ in range(tries):
        summary = finalize(runtime, actor, code)
        if planned_outcome(summary.submission_id, {}) != "rejected":
            break
    else:  # pragma: no cover - one id in twenty is rejected
        raise AssertionError("the sim rejects every id")
    agency = summary.agency
    if agency not in runtime.settings.agencies:
        runtime.settings = agency_settings(runtime.settings, {agency: handle.agency_url(agency)})
    clock = Clock()
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=clock)
    try:
        worker.run_once()
        for _ in range(3):  # received → processing → completed (or via needs_info)
            handle.advance(agency, summary.submission_id)
        clock.advance(3600)
        worker.run_once()
    finally:
        worker.close()
    return summary


def start_sim(directory, port: int = 0, **config: Any):
    """The reference agency server in a thread on ``port`` (an agency that was down comes
    back where it was); the caller stops it."""
    from mppdesk.sync.sim import AgencySim, SimConfig

    db_path = str(directory / f"sim-{port or 'any'}-{id(config)}.sqlite3")
    return AgencySim(SimConfig(port=port, db_path=db_path, **config)).start()
