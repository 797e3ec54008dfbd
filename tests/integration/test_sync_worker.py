"""The outbox worker against the reference agency server over real HTTP on loopback.

Each test finalizes real visits into a real store, points the desk's settings at the sim,
and drives ``SyncWorker.run_once`` with a clock it moves forward instead of sleeping.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import requests

from mppdesk.core.sync_policy import BreakerMode, BreakerState
from mppdesk.desk.sync_status import resume_agency
from mppdesk.settings import save_settings
from mppdesk.store import outbox
from mppdesk.store.models import Submission
from mppdesk.sync.sim.store import planned_outcome
from mppdesk.sync.worker import AgencyHealth, SyncWorker
from tests.conftest import cli_json, run_cli
from tests.example_visits import (
    BPJS,
    HELD,
    KTP,
    Clock,
    agency_settings,
    finalize,
    free_port,
    start_sim,
)
from tests.integration.conftest import SimHandle


class Recorder:
    """A SyncListener that keeps what it was told."""

    def __init__(self) -> None:
        self.changed: list[tuple[str, list[str]]] = []
        self.health: list[AgencyHealth] = []

    def outbox_changed(self, agency: str, submission_ids: list[str]) -> None:
        self.changed.append((agency, list(submission_ids)))

    def agency_health_changed(self, health: AgencyHealth) -> None:
        self.health.append(health)

    def last_health(self, agency: str) -> AgencyHealth:
        return [h for h in self.health if h.agency == agency][-1]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start_sim_on_port(tmp_path):
    """Start the sim on a given port: the agency that was down comes up where it was."""
    started = []

    def start(port: int) -> SimHandle:
        sim = start_sim(tmp_path, port)
        started.append(sim)
        return SimHandle(sim.url, sim=sim)

    yield start
    for sim in started:
        sim.stop()


def make_worker(runtime, settings, clock, **kwargs) -> tuple[SyncWorker, Recorder]:
    runtime.settings = settings
    recorder = Recorder()
    worker = SyncWorker(
        runtime.store,
        settings,
        runtime.blobs,
        clock=clock,
        rand=lambda: 0.5,
        listener=recorder,
        **kwargs,
    )
    return worker, recorder


def entry(runtime, submission_id: str):
    with runtime.store.read() as session:
        (found,) = session.get(Submission, submission_id).outbox
        return found


def submission(runtime, submission_id: str) -> Submission:
    with runtime.store.read() as session:
        return session.get(Submission, submission_id)


def sim_ids(handle, agency: str) -> list[str]:
    return [s["submission_id"] for s in handle.submissions(agency)]


def test_offline_intake_waits_with_the_error_then_delivers_each_submission_once(
    runtime, officer, start_sim_on_port, clock
):
    port = free_port()
    urls = {a: f"http://127.0.0.1:{port}/{a}" for a in ("dukcapil", "bpjs-kesehatan")}
    worker, recorder = make_worker(runtime, agency_settings(runtime.settings, urls), clock)
    ids = {
        "dukcapil": [finalize(runtime, officer, KTP).submission_id for _ in range(2)],
        "bpjs-kesehatan": [finalize(runtime, officer, BPJS).submission_id],
    }

    report = worker.run_once()

    assert report.retried == 3 and report.delivered == 0
    for agency_ids in ids.values():
        for sid in agency_ids:
            waiting = entry(runtime, sid)
            assert waiting.state == "pending"
            assert waiting.attempts == 1
            assert waiting.last_error_class == "refused"
            assert "refused" in waiting.last_error_message.lower()
            assert waiting.next_attempt_at > clock()
    assert recorder.last_health("dukcapil").online is False

    handle = start_sim_on_port(port)
    clock.advance(3600)
    finished, total = worker.drain(timeout_s=30)

    assert finished and total.delivered == 3
    for agency, agency_ids in ids.items():
        assert sorted(sim_ids(handle, agency)) == sorted(agency_ids)
        assert handle.stats(agency)["submissions"] == len(agency_ids)
        assert handle.stats(agency)["attachments"] == len(agency_ids)
        for sid in agency_ids:
            done = entry(runtime, sid)
            assert done.state == "done" and done.last_error_class is None
            assert submission(runtime, sid).status == "accepted"
    health = recorder.last_health("dukcapil")
    assert health.online is True and health.last_success_at == clock()
    assert {sid for _, changed in recorder.changed for sid in changed} >= {
        sid for agency_ids in ids.values() for sid in agency_ids
    }


def test_an_answer_lost_after_the_commit_is_replayed_not_duplicated(
    runtime, officer, start_agency_sim, clock
):
    handle = start_agency_sim(faults="dukcapil:drop_after_commit=1")
    worker, _ = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": handle.agency_url("dukcapil")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id

    assert worker.run_once().retried == 1
    lost = entry(runtime, sid)
    assert lost.state == "pending" and lost.last_error_class == "reset"
    assert handle.stats("dukcapil")["submissions"] == 1  # stored, but the desk never heard

    handle.set_faults("")
    clock.advance(3600)
    assert worker.run_once().delivered == 1

    stats = handle.stats("dukcapil")
    assert stats["submissions"] == 1 and stats["replays"] == 1
    (stored,) = handle.submissions("dukcapil")
    assert entry(runtime, sid).agency_ref == stored["agency_ref"]
    assert submission(runtime, sid).agency_ref == stored["agency_ref"]


def test_a_409_conflict_fails_for_good_and_flags_the_submission(
    runtime, officer, agency_sim, make_submission, clock
):
    worker, _ = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": agency_sim.agency_url("dukcapil")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id
    # Something else already used this submission's key with other content.
    other = make_submission("dukcapil", submission_id=sid)
    answer = requests.post(
        agency_sim.agency_url("dukcapil") + "/submissions",
        data=other.body,
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": sid,
            "X-MPP-Desk": "other-desk",
        },
        timeout=(2, 5),
    )
    assert answer.status_code == 201

    report = worker.run_once()

    assert report.failed == 1
    failed = entry(runtime, sid)
    assert failed.state == "failed" and failed.last_error_class == "idempotency_conflict"
    assert failed.next_attempt_at is None
    flagged = submission(runtime, sid)
    assert flagged.status == "conflict" and flagged.review_state == "flagged"
    clock.advance(86400)
    assert worker.run_once().sent == 0  # never retried
    assert agency_sim.stats("dukcapil")["idempotency_conflicts"] == 1


def test_a_422_rejection_fails_with_the_agency_reasons(runtime, officer, agency_sim, clock):
    # A configuration slip: Dukcapil's submissions pointed at Imigrasi's endpoint.
    worker, _ = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": agency_sim.agency_url("imigrasi")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id

    assert worker.run_once().failed == 1

    failed = entry(runtime, sid)
    assert failed.state == "failed" and failed.last_error_class == "validation"
    assert "agency" in failed.last_error_message and "imigrasi" in failed.last_error_message
    assert submission(runtime, sid).status == "rejected"
    clock.advance(86400)
    assert worker.run_once().sent == 0


def test_401_pauses_only_that_agency_and_resumes_when_the_token_is_set(
    runtime, officer, start_agency_sim, clock, monkeypatch
):
    handle = start_agency_sim(tokens={"dukcapil": "rahasia-dukcapil"})
    monkeypatch.delenv("MPPDESK_TEST_TOKEN_DUKCAPIL", raising=False)
    settings = agency_settings(
        runtime.settings,
        {a: handle.agency_url(a) for a in ("dukcapil", "bpjs-kesehatan")},
        token_env={"dukcapil": "MPPDESK_TEST_TOKEN_DUKCAPIL"},
    )
    worker, recorder = make_worker(runtime, settings, clock)
    ktp = [finalize(runtime, officer, KTP).submission_id for _ in range(2)]
    bpjs = finalize(runtime, officer, BPJS).submission_id

    report = worker.run_once()

    assert report.per_agency["bpjs-kesehatan"].get("delivered") == 1
    assert entry(runtime, bpjs).state == "done"
    for sid in ktp:
        paused = entry(runtime, sid)
        assert paused.state == "paused" and paused.last_error_class == "unauthorized"
        assert paused.attempts == 0  # a pause burns no retries
    health = recorder.last_health("dukcapil")
    assert health.paused_reason and health.last_success_at is None
    assert recorder.last_health("bpjs-kesehatan").last_success_at is not None
    clock.advance(60)
    assert worker.run_once().sent == 0  # paused: not even tried again before the probe

    monkeypatch.setenv("MPPDESK_TEST_TOKEN_DUKCAPIL", "rahasia-dukcapil")
    worker.update_settings(settings)
    assert resume_agency(runtime, "dukcapil") == 2
    report = worker.run_once()

    assert report.delivered == 2
    assert sorted(sim_ids(handle, "dukcapil")) == sorted(ktp)
    assert recorder.last_health("dukcapil").paused_reason is None


def _seed_for(pattern: list[bool], probability: float) -> int:
    """A fault seed whose first draws fire exactly as ``pattern`` says (one draw a request)."""
    for seed in range(10_000):
        draws = random.Random(seed)
        if all((draws.random() < probability) == fires for fires in pattern):
            return seed
    raise AssertionError("no seed found")


def test_an_attachment_upload_cut_midway_is_retried_alone(
    runtime, officer, start_agency_sim, clock
):
    # POST passes, the attachment PUT is cut halfway, the retried PUT passes.
    seed = _seed_for([False, True, False], 0.5)
    handle = start_agency_sim(faults="dukcapil:drop_midway=0.5", seed=seed)
    worker, _ = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": handle.agency_url("dukcapil")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id

    assert worker.run_once().retried == 1
    half = entry(runtime, sid)
    assert half.state == "pending" and half.delivered_at is not None
    assert half.attachments_acked == {}
    assert submission(runtime, sid).status == "sent"
    stats = handle.stats("dukcapil")
    assert (stats["submissions"], stats["attachments"]) == (1, 0)

    clock.advance(3600)
    assert worker.run_once().delivered == 1

    stats = handle.stats("dukcapil")
    assert (stats["submissions"], stats["attachments"]) == (1, 1)
    # POST, cut PUT, a status pull (the agency holds the submission), PUT: not posted again.
    assert stats["requests"] == 4
    assert stats["replays"] == 0
    assert stats["faults_injected"] == {"drop_midway": 1}
    assert entry(runtime, sid).state == "done"


def test_agency_status_is_pulled_back_until_completed(runtime, officer, agency_sim, clock):
    worker, recorder = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": agency_sim.agency_url("dukcapil")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id
    for _ in range(20):  # the sim rejects about one id in twenty: take one it completes
        if planned_outcome(sid, {}) == "completed":
            break
        sid = finalize(runtime, officer, KTP).submission_id
    worker.run_once()
    assert submission(runtime, sid).agency_status == "received"

    agency_sim.advance("dukcapil")
    agency_sim.advance("dukcapil")
    recorder.changed.clear()
    clock.advance(60)
    report = worker.run_once()

    assert report.status_updates >= 1
    done = submission(runtime, sid)
    assert done.agency_status == "completed"
    assert done.agency_message
    assert entry(runtime, sid).next_status_check_at is None  # final: no more polling
    assert ("dukcapil", [sid]) in [(a, [s for s in ids if s == sid]) for a, ids in recorder.changed]
    clock.advance(3600)
    assert worker.run_once().status_updates == 0


def test_held_entries_wait_for_approval(runtime, officer, agency_sim, clock):
    summary = finalize(runtime, officer, HELD)
    agency = summary.agency
    worker, _ = make_worker(
        runtime, agency_settings(runtime.settings, {agency: agency_sim.agency_url(agency)}), clock
    )
    assert summary.status == "held"

    assert worker.run_once().sent == 0
    clock.advance(86400)
    assert worker.run_once().sent == 0
    assert agency_sim.stats(agency)["submissions"] == 0
    assert entry(runtime, summary.submission_id).state == "held"

    with runtime.store.write() as session:
        assert outbox.release_held(session, summary.submission_id, clock()) == 1
    assert worker.run_once().delivered == 1
    assert sim_ids(agency_sim, agency) == [summary.submission_id]


def test_an_open_breaker_holds_the_batch_and_the_loop_sleeps_until_it_reopens(
    runtime, officer, clock
):
    port = free_port()
    worker, _ = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": f"http://127.0.0.1:{port}/dukcapil"}),
        clock,
        concurrency_per_agency=1,
    )
    worker.health["dukcapil"] = AgencyHealth(
        "dukcapil", breaker=BreakerState(failure_threshold=1, cool_down_s=30)
    )
    first, second = (finalize(runtime, officer, KTP).submission_id for _ in range(2))

    report = worker.run_once()

    assert report.sent == 1 and report.retried == 1
    assert worker.health["dukcapil"].breaker.mode is BreakerMode.OPEN
    tried, held_back = entry(runtime, first), entry(runtime, second)
    if tried.attempts == 0:
        tried, held_back = held_back, tried
    assert tried.attempts == 1 and held_back.attempts == 0
    reopens = clock() + timedelta(seconds=30)
    assert held_back.state == "pending" and held_back.next_attempt_at == reopens
    # Not a busy loop: nothing is sent before the cool-down, and the loop knows it.
    assert worker.seconds_until_next_due(120) == pytest.approx(30, abs=0.01)
    assert worker.run_once().sent == 0


def test_wake_ends_the_wait_of_run_forever(runtime, officer, agency_sim, clock):
    import threading

    settings = agency_settings(
        runtime.settings, {"dukcapil": agency_sim.agency_url("dukcapil")}, poll_interval_s=600
    )
    worker, _ = make_worker(runtime, settings, clock)
    passes: list[int] = []
    second_pass = threading.Event()

    def on_pass(report) -> None:
        passes.append(report.delivered)
        if len(passes) == 2:
            second_pass.set()

    thread = threading.Thread(target=worker.run_forever, kwargs={"on_pass": on_pass})
    thread.start()
    try:
        agency_sim.wait_until(lambda: len(passes) == 1, what="first pass")
        sid = finalize(runtime, officer, KTP).submission_id
        worker.wake()
        assert second_pass.wait(10), "wake() did not start a pass"
        assert passes == [0, 1]
        assert entry(runtime, sid).state == "done"
    finally:
        worker.stop()
        thread.join(10)
    assert not thread.is_alive()


# --- the command line ------------------------------------------------------------------


def test_sync_command_once_and_drain(runtime, officer, data_dir, start_sim_on_port):
    port = free_port()
    sid = finalize(runtime, officer, KTP).submission_id
    settings = agency_settings(
        runtime.settings,
        {"dukcapil": f"http://127.0.0.1:{port}/dukcapil"},
        backoff_base_s=0.2,
        backoff_cap_s=0.5,
        poll_interval_s=0.5,
    )
    save_settings(data_dir, settings)

    once = run_cli("sync", "--once", "--json", data_dir=data_dir)
    assert once.returncode == 0, once.stderr
    assert cli_json(once)["agencies"]["dukcapil"]["pending"] == 1
    assert entry(runtime, sid).last_error_class == "refused"

    timed_out = run_cli("sync", "--drain", "--timeout", "1", "--json", data_dir=data_dir)
    assert timed_out.returncode == 3, timed_out.stderr
    assert "time ran out" in timed_out.stderr
    assert cli_json(timed_out)["agencies"]["dukcapil"]["pending"] == 1

    handle = start_sim_on_port(port)
    drained = run_cli("sync", "--drain", "--timeout", "30", "--json", data_dir=data_dir)
    assert drained.returncode == 0, drained.stderr
    summary = cli_json(drained)
    assert summary["agencies"]["dukcapil"]["sent"] == 1
    assert summary["agencies"]["dukcapil"]["pending"] == 0
    assert sim_ids(handle, "dukcapil") == [sid]
