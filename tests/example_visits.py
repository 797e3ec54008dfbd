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
    (summary,) = finalize_visit(runtime, actor, parse_visit(example_visit(code, **kwargs))).submissions
    return summary


def free_port() -> int:
    """A loopback port nobody listens on (yet): an agency that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def agency_settings(
    base: Settings, urls: dict[str, str], *, token_env: dict[str, str] | None = None, **sync: Any
) -> Settings:
    """``base`` with an endpoint per agency (code → base URL) and sync timings for tests."""
    settings = replace(
        base, sync=replace(base.sync if base.sync else SyncSettings(), **sync)
    )
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
