"""Several requests in flight per agency (``[sync] concurrency_per_agency``), each on its own
kept-alive connection, against the reference agency server over real HTTP on loopback.

The sim counts the TCP connections it accepted, so "none is opened per request" is seen from
the server's side; its store commits concurrent writes together (group commit) and each
write alone stays durable and independent of its neighbours.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest

from mppdesk.core.sync_policy import BreakerMode
from mppdesk.settings import SETTINGS_FILE, SettingsError, load_settings
from mppdesk.store.models import Submission
from mppdesk.sync.sim.store import ListedAttachment, SimStore
from mppdesk.sync.worker import SyncWorker
from tests.example_visits import BPJS, KTP, Clock, agency_settings, finalize


def make_worker(runtime, settings, **kwargs) -> SyncWorker:
    runtime.settings = settings
    return SyncWorker(
        runtime.store, settings, runtime.blobs, clock=Clock(), rand=lambda: 0.5, **kwargs
    )


def entries(runtime, submission_ids):
    with runtime.store.read() as session:
        return [e for sid in submission_ids for e in session.get(Submission, sid).outbox]


@pytest.mark.parametrize("concurrency", [1, 4, 12])
def test_each_request_in_flight_keeps_its_own_connection_alive(
    runtime, officer, agency_sim, concurrency
):
    """N requests in flight open exactly N connections, reused for every later request:
    12 is above urllib3's default pool of 10, which would discard and re-open connections."""
    ids = [finalize(runtime, officer, KTP).submission_id for _ in range(2 * concurrency + 4)]
    # Each answer takes a moment, so the requests of the pass really overlap.
    agency_sim.set_faults("dukcapil:slow=1:delay=0.05")
    settings = agency_settings(
        runtime.settings,
        {"dukcapil": agency_sim.agency_url("dukcapil")},
        concurrency_per_agency=concurrency,
    )
    worker = make_worker(runtime, settings)
    assert worker.concurrency_per_agency == concurrency  # read from the settings
    before = agency_sim.stats()["connections"]["accepted"]  # the test's own (kept alive)

    finished, report = worker.drain(30)
    worker.close()

    assert finished and report.delivered == len(ids)
    stats = agency_sim.stats()
    assert stats["agencies"]["dukcapil"]["submissions"] == len(ids)
    dukcapil = stats["agencies"]["dukcapil"]
    # One POST each and one PUT per attachment: nothing was sent twice.
    assert dukcapil["requests"] == len(ids) + dukcapil["attachments"]
    assert stats["connections"]["accepted"] - before == concurrency
    assert {e.state for e in entries(runtime, ids)} == {"done"}


def test_the_breaker_stops_one_agency_while_another_is_delivered_at_full_concurrency(
    runtime, officer, agency_sim
):
    """Retry-After and the circuit breaker stay per agency with four requests in flight:
    the failing agency gets at most threshold + 3 requests (those already in flight), each
    failure waits at least its Retry-After, the rest of its batch is given back untried, and
    the other agency's batch is delivered meanwhile."""
    failing = [finalize(runtime, officer, KTP).submission_id for _ in range(16)]
    healthy = [finalize(runtime, officer, BPJS).submission_id for _ in range(8)]
    agency_sim.set_faults("dukcapil:status429=1:retry_after=40")
    settings = agency_settings(
        runtime.settings,
        {a: agency_sim.agency_url(a) for a in ("dukcapil", "bpjs-kesehatan")},
        concurrency_per_agency=4,
        backoff_base_s=1,
        backoff_cap_s=600,
    )
    worker = make_worker(runtime, settings)
    now = worker.clock()

    report = worker.run_once()
    worker.close()

    assert worker.health["dukcapil"].breaker.mode is BreakerMode.OPEN
    threshold = worker.health["dukcapil"].breaker.failure_threshold
    tried = [e for e in entries(runtime, failing) if e.attempts]
    asked = agency_sim.stats("dukcapil")["requests"]
    assert threshold <= len(tried) == asked <= threshold + 3
    assert all(e.next_attempt_at >= now + timedelta(seconds=40) for e in tried)
    untried = [e for e in entries(runtime, failing) if not e.attempts]
    assert len(untried) == len(failing) - asked
    assert all(e.state == "pending" and e.lease_owner is None for e in untried)
    assert report.per_agency["dukcapil"]["released"] == len(untried)
    assert {e.state for e in entries(runtime, healthy)} == {"done"}
    assert agency_sim.stats("bpjs-kesehatan")["submissions"] == len(healthy)


def test_concurrency_per_agency_is_a_checked_setting(tmp_path):
    path = tmp_path / SETTINGS_FILE
    assert load_settings(tmp_path).sync.concurrency_per_agency == 4  # the default
    path.write_text("[sync]\nconcurrency_per_agency = 8\n", encoding="utf-8")
    assert load_settings(tmp_path).sync.concurrency_per_agency == 8
    for bad in ("0", "33", "2.5", '"4"'):
        path.write_text(f"[sync]\nconcurrency_per_agency = {bad}\n", encoding="utf-8")
        with pytest.raises(SettingsError, match="concurrency_per_agency"):
            load_settings(tmp_path)


def _insert(store: SimStore, key: str) -> bytes:
    return store.insert(
        "dukcapil",
        key,
        b"{}",
        "K01",
        "completed",
        [ListedAttachment("a.pdf", "0" * 64, 1, "application/pdf")],
        lambda ref, bill: ref.encode(),
        time.time(),
    )


def test_writes_that_share_a_commit_are_each_their_own(tmp_path):
    """Concurrent inserts queued behind a commit go in the next one together; a duplicate
    among them fails alone (its savepoint), the others are stored, numbered and durable."""
    path = tmp_path / "sim.sqlite3"
    store = SimStore(path)
    _insert(store, "first")
    results: dict[str, object] = {}

    def insert(key: str) -> None:
        try:
            results[key] = _insert(store, key)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[key] = error

    keys = [f"k{i}" for i in range(6)] + ["first"]
    with store._lock:  # a commit "in progress": every insert queues behind it
        threads = [threading.Thread(target=insert, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        # One leader waits for the lock with its own write; the others queue for the next.
        while len(store._queue) < len(keys) - 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert len(store._queue) == len(keys) - 1
    for thread in threads:
        thread.join(10)
    store.close()

    assert isinstance(results.pop("first"), Exception)  # the primary key refuses a duplicate
    refs = sorted(r.decode() for r in results.values())  # type: ignore[union-attr]
    assert refs == [f"DUKCAPIL-{n:06d}" for n in range(2, 8)]
    again = SimStore(path)  # committed to the file, not only to memory
    try:
        assert again.stats()["dukcapil"]["submissions"] == 7
        for key in keys:
            assert again.get("dukcapil", key) is not None
            assert again.missing_attachments("dukcapil", key) == ["a.pdf"]
    finally:
        again.close()


def test_reads_do_not_wait_for_a_commit(tmp_path):
    """A key lookup (every POST makes one) reads on its own WAL connection while the writer
    holds its lock, e.g. during another request's fsync."""
    store = SimStore(tmp_path / "sim.sqlite3")
    try:
        _insert(store, "stored")
        found = threading.Event()

        def lookup() -> None:
            if store.get("dukcapil", "stored") is not None:
                found.set()

        with store._lock:
            thread = threading.Thread(target=lookup)
            thread.start()
            assert found.wait(5)
        thread.join(5)
    finally:
        store.close()


def test_an_in_memory_store_still_serves_reads_and_writes(tmp_path):
    store = SimStore(":memory:")
    try:
        assert _insert(store, "one") == b"DUKCAPIL-000001"
        assert store.get("dukcapil", "one").agency_ref == "DUKCAPIL-000001"
        store.count("dukcapil", "replays")
        assert store.stats()["dukcapil"] == {"submissions": 1, "replays": 1}
    finally:
        store.close()


def test_a_worker_built_with_a_concurrency_keeps_it_over_the_settings(runtime):
    settings = agency_settings(runtime.settings, {}, concurrency_per_agency=6)
    assert make_worker(runtime, settings, concurrency_per_agency=2).concurrency_per_agency == 2
    worker = make_worker(runtime, settings)
    worker.update_settings(replace(settings, sync=replace(settings.sync, concurrency_per_agency=3)))
    assert worker.concurrency_per_agency == 3


def test_the_environment_proxy_still_applies_though_read_once_per_client(
    agency_sim, make_submission, monkeypatch
):
    """The client reads the proxy settings once instead of on every call (a sixth of each
    call's CPU): a proxy in the environment is still used, and NO_PROXY still bypasses it."""
    from mppdesk.sync.client import AgencyClient
    from tests.example_visits import free_port

    draft = make_submission("dukcapil")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with AgencyClient(agency_sim.agency_url("dukcapil"), None, "K01", 2, 2) as proxied:
        answer = proxied.post_submission(draft.submission_id, draft.body)
    assert (answer.status_code, answer.error_kind) == (None, "refused")  # went to the proxy
    assert "dukcapil" not in agency_sim.sim.stats()["agencies"]  # nothing reached the agency

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with AgencyClient(agency_sim.agency_url("dukcapil"), None, "K01", 2, 2) as direct:
        answer = direct.post_submission(draft.submission_id, draft.body)
    assert answer.status_code == 201


@pytest.mark.parametrize("bad", [0, 33, 2.5, True])
def test_a_client_refuses_a_connection_count_it_cannot_keep(bad):
    from mppdesk.sync.client import AgencyClient

    with pytest.raises(ValueError, match="max_connections"):
        AgencyClient("http://127.0.0.1:9/dukcapil", None, "K01", max_connections=bad)
