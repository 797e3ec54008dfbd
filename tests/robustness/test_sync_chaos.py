"""Sync chaos: 3 agencies x 1,000 submissions, every fault kind, 20 kill -9s of `mppdesk sync`.

The reference agency server counts what it stored; at the end nothing is lost, nothing is
stored twice and nothing is stuck. Scaled by MPPDESK_SLOW_SCALE (1 = 1,000 per agency).
The killed `mppdesk sync` processes are forked from one that imported the desk once
(cli_forker.py); the drains after the kills are started as the real command.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.settings import AgencyEndpoint, Settings, SyncSettings, save_settings
from mppdesk.store.models import OutboxEntry, Submission
from tests.conftest import make_user
from tests.example_visits import CATALOG, example_visit

ROOT = Path(__file__).resolve().parents[2]
FORKER = Path(__file__).with_name("cli_forker.py")
SERVICES = ("dukcapil/ktp-el", "polri/skck", "imigrasi/paspor")
FAULTS = (
    "*:drop_after_commit=0.04,*:status500=0.04,*:status503=0.03,"
    "*:status429=0.04:retry_after=1,*:slow=0.01:delay=0.4,*:drop_midway=0.02,"
    "polri:refuse_for=4,imigrasi:unauthorized_for=5"
)


def scale() -> float:
    return float(os.environ.get("MPPDESK_SLOW_SCALE", "1"))


def _visit_for(code: str, i: int) -> dict:
    visit = example_visit(code, ticket=f"C-{i:04d}")
    return visit


@pytest.mark.slow
def test_three_agencies_every_fault_and_twenty_kills(tmp_path, data_dir, runtime, start_agency_sim):
    per_agency = max(30, int(1000 * scale()))
    kills = 20
    sim = start_agency_sim(faults="", seed=7)
    agencies = sorted({CATALOG.services[c].agency for c in SERVICES})
    settings = Settings(sync=SyncSettings(backoff_base_s=0.05, backoff_cap_s=1.0, lease_s=2.0,
                                          poll_interval_s=0.5, status_poll_interval_s=3600,
                                          pause_probe_s=2.0))
    for agency in agencies:
        settings = settings.with_agency(
            AgencyEndpoint(code=agency, base_url=sim.agency_url(agency), read_timeout_s=3.0)
        )
    save_settings(data_dir, settings)

    actor = make_user(runtime, "ani", "officer")
    requests = [parse_visit(_visit_for(code, 0)) for code in SERVICES]
    started = time.monotonic()
    for _ in range(per_agency):
        for request in requests:
            finalize_visit(runtime, actor, request)
    intake_s = time.monotonic() - started
    with runtime.store.read() as session:
        expected = {
            agency: {s.id for s in session.query(Submission).filter(Submission.agency == agency)}
            for agency in agencies
        }
    runtime.close()
    assert all(len(ids) == per_agency for ids in expected.values())

    sim.set_faults(FAULTS, seed=11)
    rng = random.Random(29)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "mppdesk", "sync", "--drain", "--timeout", "900",
               "--data-dir", str(data_dir)]
    waiter = threading.Event()  # never set: its wait() times the kills
    started = time.monotonic()
    killed = 0
    errors = tmp_path / "forker.err"
    # `mppdesk sync` processes forked from one that imported the desk once (cli_forker.py):
    # each kill still ends a real sync process mid-drain, without a Python start-up each.
    with open(errors, "w") as stderr:
        forker = subprocess.Popen(
            [sys.executable, str(FORKER), str(data_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )
    try:
        assert forker.stdout.readline().strip() == "ready", errors.read_text()
        for _ in range(kills):
            forker.stdin.write(json.dumps(command[3:]) + "\n")
            forker.stdin.flush()
            started_line = forker.stdout.readline().split()
            assert started_line[:1] == ["child"], (started_line, errors.read_text())
            pid = int(started_line[1])
            # Kill at a random moment once the process is at work (its first progress
            # line); a child that finds nothing left to do exits at once and is not
            # counted. Agencies sync on lanes of their own, so a scaled-down outbox drains
            # within a few children when they live up to 0.8 s: kills come sooner to keep
            # landing mid-drain.
            line = forker.stdout.readline()
            if line.startswith("err "):
                waiter.wait(rng.uniform(0.02, 0.4))
                os.kill(pid, signal.SIGKILL)  # alive, or a zombie till "reap": never reused
            forker.stdin.write("reap\n")
            forker.stdin.flush()
            while not line.startswith("dead "):  # the rest of its progress, then its end
                assert line, ("the forking process ended", errors.read_text())
                line = forker.stdout.readline()
            status = int(line.split()[2])
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed += 1
    finally:
        forker.stdin.close()
        forker.wait(30)
        forker.stdout.close()
    kills_s = time.monotonic() - started
    # Drain to the end; entries paused by the 401 window come back through the probe that
    # follows settings' pause_probe_s, so a few more drains may be needed.
    for _ in range(20):
        final = subprocess.run(command + ["--json"], capture_output=True, text=True, env=env,
                               timeout=900, check=False)
        assert final.returncode == 0, final.stderr[-2000:]
        summary = json.loads(final.stdout)
        if summary["totals"]["paused"] == 0 and summary["totals"]["pending"] == 0:
            break
        waiter.wait(settings.sync.pause_probe_s)
    sync_s = time.monotonic() - started

    from mppdesk.desk.runtime import open_runtime

    check = open_runtime(data_dir)
    try:
        with check.store.read() as session:
            states = {}
            for entry in session.query(OutboxEntry):
                states[entry.state] = states.get(entry.state, 0) + 1
    finally:
        check.close()
    stats = sim.stats()["agencies"]
    report = {"per_agency": per_agency, "kills": killed, "intake_s": round(intake_s, 1),
              "kills_s": round(kills_s, 1), "sync_s": round(sync_s, 1),
              "outbox_states": states,
              "faults_injected": {a: stats[a].get("faults_injected") for a in agencies},
              "duplicates_refused": {a: stats[a].get("duplicates_refused") for a in agencies},
              "stored": {a: stats[a]["submissions"] for a in agencies}}
    print("\nsync chaos:", json.dumps(report))
    assert killed >= kills // 2, "most kills must land while the drain is still running"
    assert states == {"done": per_agency * len(agencies)}, "something is stuck or failed"
    for agency in agencies:
        stored = {s["submission_id"] for s in sim.submissions(agency)}
        assert stored == expected[agency], f"{agency}: lost or foreign submissions"
        assert stats[agency]["submissions"] == per_agency, f"{agency}: stored twice"
    assert summary["totals"]["pending"] == 0
    assert any(report["faults_injected"].values())
