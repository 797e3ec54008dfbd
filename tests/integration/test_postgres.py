"""The shared mall-wide store: the same code on PostgreSQL.

Intake, lookups, sequences under concurrent desks, the audit chain and delivery to an agency,
all on a real PostgreSQL server (CI starts it with .ci/postgres.sh).
"""

from __future__ import annotations

import threading

import pytest

from mppdesk.core.audit_chain import verify_chain
from mppdesk.desk import counter
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.queries import info
from mppdesk.desk.runtime import open_runtime
from mppdesk.settings import AgencyEndpoint, Settings, SyncSettings, save_settings
from mppdesk.store import repo
from mppdesk.sync.worker import SyncWorker
from tests.conftest import make_user
from tests.integration.test_intake import CATALOG, _three_service_visit


@pytest.fixture
def pg_runtime(data_dir, pg_url):
    runtime = open_runtime(data_dir, pg_url)
    yield runtime
    runtime.close()


def test_intake_and_lookups_on_postgres(pg_runtime):
    assert info(pg_runtime)["store"] == "postgresql"
    actor = make_user(pg_runtime, "ani", "officer")
    visit = _three_service_visit()
    result = finalize_visit(pg_runtime, actor, parse_visit(visit))
    assert len({s.tracking_number for s in result.submissions}) == 3
    nik = visit["applicant"]["nik"]
    # The visit page's NIK look-up: raw reads and an audited view in one PostgreSQL transaction.
    record = counter.lookup_applicant(pg_runtime, actor, nik)
    assert record is not None and record.profile["nama"] == visit["applicant"]["nama"]
    assert record.id_number == nik and record.updated_at.tzinfo is not None
    assert counter.lookup_applicant(pg_runtime, actor, "3578036801950099") is None
    with pg_runtime.store.read() as session:
        events = list(repo.audit_events(session))
        assert verify_chain(iter(events)) is None
    viewed = [e for e in events if e.action == "applicant.viewed"]
    assert [e.object_id for e in viewed] == [record.applicant_id]


def test_two_desks_share_sequences_without_collisions(pg_runtime):
    taken: list[int] = []
    lock = threading.Lock()

    def desk():
        for _ in range(20):
            with pg_runtime.store.write() as session:
                value = repo.next_sequence(session, "tracking:K01:261129")
            with lock:
                taken.append(value)

    threads = [threading.Thread(target=desk) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(1, 61))


def test_sync_from_a_postgres_store(data_dir, pg_url, agency_sim):
    settings = Settings(sync=SyncSettings(backoff_base_s=0.01, backoff_cap_s=0.1))
    for agency in CATALOG.agencies:
        settings = settings.with_agency(
            AgencyEndpoint(code=agency, base_url=agency_sim.agency_url(agency))
        )
    save_settings(data_dir, settings)
    runtime = open_runtime(data_dir, pg_url)
    try:
        actor = make_user(runtime, "ani", "officer")
        result = finalize_visit(runtime, actor, parse_visit(_three_service_visit()))
        worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs)
        finished, _report = worker.drain(60)
        worker.close()
        assert finished
        for summary in result.submissions:
            stored = {s["submission_id"] for s in agency_sim.submissions(summary.agency)}
            assert summary.submission_id in stored
    finally:
        runtime.close()
