"""Sync throughput: submissions delivered per second, recorded durably on the desk.

The reference agency server runs as its own process with a durable store (one fresh store per
measurement). The floor is a bare sequential keep-alive ``requests.Session`` POST loop (one
connection) of the same frozen bodies to an identical fresh server, in the same run; goal
ratio >= 1. The desk runs the real ``SyncWorker.drain`` with ``[sync] concurrency_per_agency``
at its default; each repetition measures the floor, the desk and the desk at concurrency 1
back to back, so a neighbour's load on the machine hits all three alike. ``extra`` holds the
ratio at concurrency 1: how much of the gain comes from requests in flight at once.

- sync_throughput_1: all submissions to one agency
- sync_throughput_3: the same number spread over three agencies
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Result, rate_result


def _start_sim(db: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mppdesk", "agency-sim", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"agency-sim did not start: {line!r}")
    return process, line.removeprefix("listening on ")


def _stop_sim(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    process.stdout.close()


def _services(catalog) -> dict[str, str]:
    """One service without attachments per agency (codes checked against the catalog)."""
    chosen = {}
    for code in sorted(catalog.services):
        service = catalog.service(code)
        example = service.examples[0]
        if service.agency in chosen or example.attachments or service.requires_approval:
            continue
        chosen[service.agency] = code
    return chosen


def _prepare(root: Path, agencies: list[str], per_agency: int):
    """A desk with ``per_agency`` queued submissions for each agency; returns the runtime."""
    from mppdesk.desk.auth import add_user, login, os_actor
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime

    shutil.rmtree(root, ignore_errors=True)
    runtime = open_runtime(root)
    add_user(runtime, os_actor(), "ani", "officer", "rahasia-bench-1")
    actor = login(runtime, "ani", "rahasia-bench-1")
    services = _services(runtime.catalog)
    for agency in agencies:
        example = runtime.catalog.service(services[agency]).examples[0]
        request = parse_visit({
            "ticket": "B-1", "applicant": dict(example.applicant),
            "services": [{"service": services[agency], "answers": dict(example.answers),
                          "checklist": dict(example.checklist)}],
        })
        for _ in range(per_agency):
            finalize_visit(runtime, actor, request)
    return runtime


def _bodies(runtime) -> list[tuple[str, str, bytes]]:
    from mppdesk.store.models import OutboxEntry

    with runtime.store.read() as session:
        return [(e.agency, e.submission_id, e.payload) for e in session.query(OutboxEntry)]


def _floor_rate(bodies, tmp: Path, run: int) -> float:
    import requests

    process, url = _start_sim(tmp / f"floor-{run}.sqlite")
    try:
        session = requests.Session()
        start = time.perf_counter()
        for agency, submission_id, body in bodies:
            response = session.post(
                f"{url}/{agency}/submissions", data=body, timeout=(3, 15),
                headers={"Idempotency-Key": submission_id, "Content-Type": "application/json",
                         "X-MPP-Desk": "K01"},
            )
            assert response.status_code == 201, response.text
        elapsed = time.perf_counter() - start
        session.close()
    finally:
        _stop_sim(process)
    return len(bodies) / elapsed


def _desk_rate(runtime, agencies, tmp: Path, run: str, concurrency: int | None = None) -> float:
    from mppdesk.settings import AgencyEndpoint, Settings, SyncSettings
    from mppdesk.store.models import OutboxEntry
    from mppdesk.sync.worker import SyncWorker

    process, url = _start_sim(tmp / f"desk-{run}.sqlite")
    try:
        sync = SyncSettings(status_poll_interval_s=3600)
        if concurrency is not None:
            sync = SyncSettings(status_poll_interval_s=3600, concurrency_per_agency=concurrency)
        settings = Settings(sync=sync)
        for agency in agencies:
            settings = settings.with_agency(AgencyEndpoint(code=agency, base_url=f"{url}/{agency}"))
        with runtime.store.write() as session:  # every entry due again, nothing delivered
            session.query(OutboxEntry).update(
                {"state": "pending", "delivered_at": None, "attempts": 0, "lease_owner": None,
                 "lease_expires_at": None, "next_attempt_at": None}, synchronize_session=False)
        with runtime.store.write() as session:
            from datetime import UTC, datetime

            session.query(OutboxEntry).update({"next_attempt_at": datetime.now(UTC)},
                                              synchronize_session=False)
        worker = SyncWorker(runtime.store, settings, runtime.blobs)
        start = time.perf_counter()
        finished, report = worker.drain(600)
        elapsed = time.perf_counter() - start
        worker.close()
        assert finished and report.delivered > 0, report
        return report.delivered / elapsed
    finally:
        _stop_sim(process)


def run(quick: bool) -> list[Result]:
    from mppdesk.settings import SyncSettings

    saved = os.environ.get("MPPDESK_KEY_FILE")
    tmp = Path(tempfile.mkdtemp(prefix="mppdesk-bench-sync-"))
    os.environ["MPPDESK_KEY_FILE"] = str(tmp / "desk.key")
    total = 300 if quick else 1200
    repeats = 3
    concurrency = SyncSettings().concurrency_per_agency
    results = []
    from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog

    candidates = sorted(_services(load_catalog(builtin_catalog_dirs())))
    try:
        for name, count in (("sync_throughput_1", 1), ("sync_throughput_3", 3)):
            agencies = candidates[:count]
            runtime = _prepare(tmp / name, agencies, total // count)
            floor, desk, sequential = [], [], []
            try:
                bodies = _bodies(runtime)
                for i in range(repeats):
                    floor.append(_floor_rate(bodies, tmp, f"{name}-{i}"))
                    desk.append(_desk_rate(runtime, agencies, tmp, f"{name}-{i}"))
                    sequential.append(_desk_rate(runtime, agencies, tmp, f"{name}-{i}-c1", 1))
            finally:
                runtime.close()
            per_agency = total // count
            size = (
                f"1 agency x {per_agency} submissions"
                if count == 1
                else f"{count} agencies x {per_agency} submissions"
            )
            floor_p50 = statistics.median(floor)
            extra = {
                "submissions": per_agency * count,
                "agencies": count,
                "concurrency_per_agency": concurrency,
                "ratio_at_concurrency_1": round(statistics.median(sequential) / floor_p50, 3),
                "rate_at_concurrency_1": round(statistics.median(sequential), 1),
            }
            results.append(rate_result(name, desk, floor, goal=1.0, extra=extra, size=size))
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if saved is None:
            os.environ.pop("MPPDESK_KEY_FILE", None)
        else:
            os.environ["MPPDESK_KEY_FILE"] = saved
