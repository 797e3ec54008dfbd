"""The desk's side of the mall hub (issue 13), against a real hub on loopback.

Each test starts the hub server (``mppdesk.hub.server.serve_in_thread``, its SQLite store in
``tmp_path``) and real desks (their own encrypted SQLite stores, joined with a real token).
Replication runs through the same lane the sync worker runs (``HubLane``), one step at a
time, so each assertion follows a push or a pull that really crossed HTTP.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from mppdesk.desk import counter
from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import login
from mppdesk.desk.errors import AuthError, PermissionDenied
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.runtime import open_runtime
from mppdesk.hub.server import serve_in_thread
from mppdesk.store import hub as hub_store
from mppdesk.store.database import StoreError
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.sync.hub_sync import HubLane, client_for
from tests.conftest import PASSWORD, cli_json, run_cli
from tests.hub_fixtures import HASHER, Hub, add_counter_staff
from tests.integration.test_intake import example_visit

KTP = "dukcapil/ktp-el"
HELD = "samsat/bbn-ii"  # requires a supervisor's approval


@pytest.fixture
def hub(tmp_path):
    running = Hub(tmp_path)
    add_counter_staff(running)
    yield running
    running.stop()


class Desk:
    """A desk process's parts: its runtime and the hub lane its sync worker would run."""

    def __init__(self, data_dir: Path, hub: Hub, code: str):
        data_dir.mkdir()
        open_runtime(data_dir).close()  # mppdesk init
        desk_hub.join(data_dir, hub.url, code, hub.store.add_desk(code))
        self.runtime = open_runtime(data_dir)
        client = client_for(self.runtime.settings, self.runtime.store)
        assert client is not None
        self.lane = HubLane(self.runtime.store, self.runtime.settings, client)

    def sync(self, timeout_s: float = 10.0):
        return self.lane.drain(timeout_s)

    def pending(self) -> int:
        with self.runtime.store.read() as session:
            return hub_store.pending_count(session)

    def close(self) -> None:
        self.lane.stop()
        self.runtime.close()


@pytest.fixture
def desks(tmp_path, hub):
    made: list[Desk] = []

    def make(code: str) -> Desk:
        desk = Desk(tmp_path / code, hub, code)
        made.append(desk)
        return desk

    yield make
    for desk in made:
        desk.close()


def test_an_applicant_registered_at_one_desk_is_prefilled_at_another(desks, hub):
    first, second = desks("K01"), desks("K02")
    for desk in (first, second):
        desk.sync()  # accounts come from the hub
    ani1 = login(first.runtime, "ani", PASSWORD)
    visit = example_visit(KTP)
    nik = visit["applicant"]["nik"]
    finalize_visit(first.runtime, ani1, parse_visit(visit))
    report = first.sync()
    assert report.pending == 0 and report.pushed > 0

    ani2 = login(second.runtime, "ani", PASSWORD)
    record = counter.lookup_applicant(second.runtime, ani2, nik)
    assert record is not None and record.applicant_id == ""  # not in K02's store
    assert record.profile["nama"] == visit["applicant"]["nama"]
    assert record.profile["tanggal_lahir"] == visit["applicant"]["tanggal_lahir"]
    found = desk_hub.lookup(second.runtime, ani2, nik)
    assert found.source == "hub" and found.hub_version is not None

    hub.stop()  # offline: the hub's earlier answer, kept at the desk, still pre-fills
    cached = desk_hub.lookup(second.runtime, ani2, nik)
    assert cached.source == "hub" and cached.cached
    assert cached.profile == found.profile
    hub.start()
    # K01 itself answers from its own store when the hub cannot
    assert desk_hub.lookup(first.runtime, ani1, "3171999999999999") is None


def test_a_review_decision_taken_at_the_hub_releases_the_held_submission(desks, hub):
    desk = desks("K01")
    desk.sync()
    ani = login(desk.runtime, "ani", PASSWORD)
    result = finalize_visit(desk.runtime, ani, parse_visit(example_visit(HELD)))
    submission_id = result.submissions[0].submission_id
    with desk.runtime.store.read() as session:
        assert {e.state for e in session.query(OutboxEntry)} == {"held"}
    desk.sync()
    hub.store.decide("sari", submission_id, "approved", None)  # a supervisor at another desk
    report = desk.sync()
    assert report.pulled >= 1
    with desk.runtime.store.read() as session:
        submission = session.get(Submission, submission_id)
        assert submission.review_state == "approved"
        assert submission.status == "queued"
        assert {e.state for e in session.query(OutboxEntry)} == {"pending"}
    assert desk.pending() == 0  # the release itself went back up to the hub
    desk.sync()  # pulled again: applied once
    with desk.runtime.store.read() as session:
        assert session.get(Submission, submission_id).review_state == "approved"


def _held_by(desk, username: str):
    actor = login(desk.runtime, username, PASSWORD)
    result = finalize_visit(desk.runtime, actor, parse_visit(example_visit(HELD)))
    return actor, result.submissions[0]


def _states(desk, submission_id: str) -> tuple[str, str, set[str]]:
    with desk.runtime.store.read() as session:
        row = session.get(Submission, submission_id)
        entries = session.query(OutboxEntry).filter(OutboxEntry.submission_id == submission_id)
        return row.review_state, row.status, {e.state for e in entries}


def test_the_hub_refuses_an_approval_by_the_supervisor_who_took_it_in(desks, hub):
    """Issue 12: nobody approves a submission they took in, in the mall screen either: the
    hub refuses it (403 own_intake) directly and over HTTP, where the desk says it as
    PermissionDenied; another supervisor's approval goes through."""
    from mppdesk.hub.store import HubError

    desk = desks("K01")
    desk.sync()  # the mall's accounts
    sari, held = _held_by(desk, "sari")
    desk.sync()
    with pytest.raises(HubError) as refused:
        hub.store.decide("sari", held.submission_id, "approved", None)
    assert (refused.value.status, refused.value.code) == (403, "own_intake")
    assert refused.value.extra["tracking_number"] == held.tracking_number
    with pytest.raises(PermissionDenied) as said:
        desk_hub.mall_decide(desk.runtime, sari, held.submission_id, "approved", None)
    assert said.value.code == "hubreview.own_intake"
    assert hub.store.review_queue("sari")[0]["submission_id"] == held.submission_id
    desk.sync()
    assert _states(desk, held.submission_id) == ("unreviewed", "held", {"held"})

    hub.store.add_user("budi", "supervisor", HASHER.hash(PASSWORD), "Budi")
    hub.store.decide("budi", held.submission_id, "approved", None)
    desk.sync()
    assert _states(desk, held.submission_id) == ("approved", "queued", {"pending"})


def test_the_hub_refuses_approving_a_superseded_submission(desks, hub):
    """Issue 12: a submission cancelled at its desk (superseded, never sent) can no longer
    be approved in the mall screen: the hub refuses (403 superseded) and nothing is sent."""
    from mppdesk.desk import corrections
    from mppdesk.hub.store import HubError

    desk = desks("K01")
    desk.sync()
    ani, held = _held_by(desk, "ani")
    corrections.cancel(desk.runtime, ani, held.tracking_number, "Pemohon membatalkan")
    desk.sync()
    with pytest.raises(HubError) as refused:
        hub.store.decide("sari", held.submission_id, "approved", None)
    assert (refused.value.status, refused.value.code) == (403, "superseded")
    sari = login(desk.runtime, "sari", PASSWORD)
    with pytest.raises(PermissionDenied) as said:
        desk_hub.mall_decide(desk.runtime, sari, held.submission_id, "approved", None)
    assert said.value.code == "hubreview.superseded"
    assert hub.store.decide("sari", held.submission_id, "returned", "KK buram")["desk"] == "K01"
    desk.sync()
    review_state, status, entries = _states(desk, held.submission_id)
    assert (status, entries) == ("superseded", {"superseded"})


def test_a_desk_refuses_a_hub_approval_of_what_it_superseded_meanwhile(desks, hub):
    """Issue 12: the hub approved before it knew the desk had cancelled the submission. The
    desk refuses to apply it (nothing released, nothing sent), audits it once and shows it
    in the hub status (``hub status --json`` and its text), however often it is pulled."""
    from mppdesk.desk import corrections
    from mppdesk.store.models import AuditEvent

    desk = desks("K01")
    desk.sync()
    ani, held = _held_by(desk, "ani")
    desk.sync()  # the hub has it held
    cancel = corrections.cancel(desk.runtime, ani, held.tracking_number, "Salah layanan")
    hub.store.decide("sari", held.submission_id, "approved", None)  # the hub did not know
    report = desk.sync()
    assert report.pulled >= 1
    assert _states(desk, held.submission_id) == ("unreviewed", "superseded", {"superseded"})
    status = desk_hub.status(desk.runtime, probe=False)
    assert len(status.refused_reviews) == 1
    refused = status.refused_reviews[0]
    assert (refused["tracking_number"], refused["actor"], refused["refusal"]) == (
        held.tracking_number, "sari", "superseded")
    assert refused["superseded_by"] == cancel.tracking_number
    assert status.as_dict()["refused_reviews"] == [refused]
    with desk.runtime.store.write() as session:  # the same decision pulled again
        again = hub_store.apply_review(
            session,
            {"submission_id": held.submission_id, "desk": "K01", "decision": "approved",
             "actor": "sari", "reason": None, "decided_at": refused["decided_at"]},
            "K01",
            desk.runtime.now(),
        )
    assert again == hub_store.REVIEW_SUPERSEDED
    with desk.runtime.store.read() as session:
        audit = [e for e in session.query(AuditEvent) if e.action == "review.refused_from_hub"]
        assert len(audit) == 1 and audit[0].object_id == held.submission_id
        assert len(hub_store.refused_reviews(session)) == 1
    desk.close()
    shown = run_cli("hub", "status", data_dir=desk.runtime.data_dir)
    assert shown.returncode == 0, shown.stderr
    assert f"Persetujuan dari hub untuk {held.tracking_number} oleh sari ditolak" in shown.stdout
    assert f"sudah diganti oleh {cancel.tracking_number}" in shown.stdout


def test_a_desk_refuses_a_pulled_approval_by_the_officer_who_took_it_in(desks, hub):
    """Issue 12: whatever a hub accepted (one that could not read the taker, an older one),
    the desk does not apply an approval by the officer who took the submission in."""
    desk = desks("K01")
    desk.sync()
    _sari, held = _held_by(desk, "sari")
    body = {"submission_id": held.submission_id, "desk": "K01", "decision": "approved",
            "actor": "sari", "reason": None, "decided_at": "2026-12-02T03:00:00+00:00"}
    outcome = desk.lane.apply_page([{"kind": "review", "body": body}], 7)
    assert outcome == 1  # used (refused and recorded), not dropped as unusable
    assert _states(desk, held.submission_id) == ("unreviewed", "held", {"held"})
    with desk.runtime.store.read() as session:
        assert [e["refusal"] for e in hub_store.refused_reviews(session)] == ["own_intake"]
        assert hub_store.get_state(session, hub_store.CURSOR) == 7
    other = dict(body, actor="budi")
    with desk.runtime.store.write() as session:
        assert hub_store.apply_review(session, other, "K01", desk.runtime.now()) == "applied"
    assert _states(desk, held.submission_id) == ("approved", "queued", {"pending"})


def test_a_user_disabled_at_the_hub_cannot_log_in_after_one_pull(desks, hub):
    desk = desks("K01")
    desk.sync()
    assert login(desk.runtime, "ani", PASSWORD).role == "officer"
    hub.store.disable_user("ani")
    desk.sync()
    with pytest.raises(AuthError):
        login(desk.runtime, "ani", PASSWORD)
    assert login(desk.runtime, "sari", PASSWORD).role == "supervisor"


def test_agency_endpoints_and_holidays_come_from_the_hub_without_tokens(desks, hub):
    from mppdesk.settings import load_settings

    desk = desks("K01")
    hub.store.set_agency(
        "dukcapil", {"base_url": "http://127.0.0.1:9/dukcapil", "deadline_s": 12, "token": "s3"}
    )
    hub.store.set_holidays(2027, ["2027-01-01", "2027-03-10"])
    desk.sync()
    settings = load_settings(desk.runtime.data_dir)
    assert settings.agencies["dukcapil"].base_url == "http://127.0.0.1:9/dukcapil"
    assert settings.agencies["dukcapil"].deadline_s == 12
    assert settings.hub.url == hub.url  # the desk's own [hub] stays
    assert "s3" not in (desk.runtime.data_dir / "settings.toml").read_text()
    with desk.runtime.store.read() as session:
        assert hub_store.hub_holidays(session)["2027"] == ["2027-01-01", "2027-03-10"]
    desk.runtime.settings = settings
    assert date(2027, 3, 10) in desk.runtime.holidays(2027)  # SLA dates skip it


def _override(fee_text: str) -> dict[str, str]:
    from mppdesk.paths import catalog_dir

    source = catalog_dir() / "services" / "dukcapil" / "ktp-el.yaml"
    text = source.read_text(encoding="utf-8")
    return {"services/dukcapil/ktp-el.yaml": text.replace("name:", fee_text, 1)}


def test_a_published_catalog_reaches_the_desk_and_a_broken_one_does_not(desks, hub):
    desk = desks("K01")
    files = _override("name:")  # the shipped definition, published as an override
    sha = hub_store.canonical_files_sha(files)
    hub.store.publish_catalog(files, sha)
    desk.sync()
    placed = desk.runtime.data_dir / "catalog" / "services" / "dukcapil" / "ktp-el.yaml"
    assert placed.read_text(encoding="utf-8") == files["services/dukcapil/ktp-el.yaml"]
    state = desk_hub.status(desk.runtime, probe=False)
    assert state.catalog["sha256"] == sha and state.catalog_error is None

    broken = {"services/dukcapil/ktp-el.yaml": "code: [unclosed\n"}
    hub.store.publish_catalog(broken, hub_store.canonical_files_sha(broken))
    desk.sync()
    assert placed.read_text(encoding="utf-8") == files["services/dukcapil/ktp-el.yaml"]
    state = desk_hub.status(desk.runtime, probe=False)
    assert state.catalog["sha256"] == sha  # the previous overrides stay in use
    assert state.catalog_error and state.catalog_error["problems"]

    tampered = dict(files)
    hub.store.publish_catalog(tampered, "0" * 64)  # content and hash disagree
    desk.sync()
    state = desk_hub.status(desk.runtime, probe=False)
    assert "sha256" in state.catalog_error["problems"][0]
    assert state.catalog["sha256"] == sha


def test_with_the_hub_down_intake_works_and_the_push_catches_up_in_order(desks, hub):
    desk = desks("K01")
    desk.sync()
    ani = login(desk.runtime, "ani", PASSWORD)
    hub.stop()
    for code in (KTP, HELD, KTP):
        finalize_visit(desk.runtime, ani, parse_visit(example_visit(code)))
    ticket = counter.call_next_ticket(desk.runtime, ani, "dukcapil")
    assert "-K01-" in ticket.number  # numbered from this desk's own block
    offline = desk.sync(timeout_s=1.0)
    assert offline.pending > 0 and offline.pushed == 0
    assert desk_hub.status(desk.runtime).connected is False
    hub.start()
    report = desk.sync()
    assert report.pending == 0 and report.pushed >= offline.pending
    listed = {d["desk"]: d for d in hub.store.list_desks()}
    with desk.runtime.store.read() as session:
        acked = hub_store.get_state(session, hub_store.ACKED)
    assert listed["K01"]["acked"] == acked
    assert not listed["K01"].get("chain_error")  # every audit event arrived in the chain's order
    totals = hub.store.stats()["totals"]
    assert totals["visits"] == 3 and totals["submissions"] == 3 and totals["applicants"] >= 1
    hub_ticket = counter.call_next_ticket(desk.runtime, ani, "dukcapil")
    assert "-K01-" not in hub_ticket.number


def test_the_journal_is_written_by_the_committing_transaction(desks):
    """Every kind the contract names reaches the journal, in commit order, and a write that
    rolls back leaves no entry (and no hole in the sequence)."""
    desk = desks("K01")
    desk.sync()
    ani = login(desk.runtime, "ani", PASSWORD)
    finalize_visit(desk.runtime, ani, parse_visit(example_visit(KTP)))
    with desk.runtime.store.read() as session:
        rows = hub_store.journal_dump(session)
    kinds = {kind for _, kind, _ in rows}
    assert {"applicant", "visit", "submission", "checklist", "outbox_state", "audit"} <= kinds
    seqs = [seq for seq, _, _ in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    with pytest.raises(RuntimeError), desk.runtime.store.write() as session:
        from mppdesk.store import repo

        repo.append_audit(session, actor="ani", action="x.test")
        raise RuntimeError("rolled back")
    with desk.runtime.store.read() as session:
        assert hub_store.journal_dump(session) == rows


def test_a_desk_with_history_from_before_the_journal_pushes_all_of_it(tmp_path, hub):
    """Rows written before migration 0006 have no journal entry: joining journals them first,
    so the hub gets the whole history and the audit chain from its first event."""
    data_dir = tmp_path / "K09"
    data_dir.mkdir()
    runtime = open_runtime(data_dir)
    try:
        with runtime.store.write() as session:
            hub_store.upsert_officer(session, {"username": "ani", "full_name": "Ani",
                                               "role": "officer", "disabled": False,
                                               "password_hash": HASHER.hash(PASSWORD)})
        ani = login(runtime, "ani", PASSWORD)
        finalize_visit(runtime, ani, parse_visit(example_visit(KTP)))
        with runtime.store.write() as session:  # the store as an upgrade from 0005 left it
            session.execute(text("DELETE FROM hub_journal"))
            session.execute(text("DELETE FROM sqlite_sequence WHERE name = 'hub_journal'"))
        finalize_visit(runtime, ani, parse_visit(example_visit(KTP)))  # journalled as usual
        with runtime.store.read() as session:
            after_upgrade = hub_store.journal_dump(session)
    finally:
        runtime.close()

    desk_hub.join(data_dir, hub.url, "K09", hub.store.add_desk("K09"))
    desk = object.__new__(Desk)
    desk.runtime = open_runtime(data_dir)
    client = client_for(desk.runtime.settings, desk.runtime.store)
    desk.lane = HubLane(desk.runtime.store, desk.runtime.settings, client)
    try:
        with desk.runtime.store.read() as session:
            journal = hub_store.journal_dump(session)
        assert [seq for seq, _, _ in journal] == list(range(1, len(journal) + 1))
        # the history first, then what was journalled since, in its order
        assert [(k, e) for _, k, e in journal[-len(after_upgrade):]] == [
            (k, e) for _, k, e in after_upgrade
        ]
        report = desk.sync()
        assert report.pending == 0 and report.pushed == len(journal)
        listed = {d["desk"]: d for d in hub.store.list_desks()}
        assert not listed["K09"]["chain_error"]  # the chain verified from its first event
        assert hub.store.stats()["desks"]["K09"]["visits"] == 2
        # joining again (a new token) journals nothing twice once the desk has pushed
        desk_hub.join(data_dir, hub.url, "K09", hub.store.add_desk("K09"))
        assert desk.pending() == 0
    finally:
        desk.close()


@pytest.mark.slow  # seven real command processes (2-4 s each on a loaded CI machine)
def test_the_command_line_joins_shows_status_looks_up_and_drains(tmp_path, hub):
    data_dir = tmp_path / "desk"
    data_dir.mkdir()
    open_runtime(data_dir).close()  # mppdesk init
    token = hub.store.add_desk("K07")
    joined = run_cli("hub", "join", hub.url, "--desk", "K07", "--token-stdin", "--json",
                     stdin=token + "\n", data_dir=data_dir)
    assert joined.returncode == 0, joined.stderr
    assert token not in (data_dir / "settings.toml").read_text()
    drained = run_cli("sync", "--drain", "--timeout", "20", "--json", data_dir=data_dir)
    assert drained.returncode == 0, drained.stderr
    assert cli_json(drained)["hub"]["pending"] == 0 and cli_json(drained)["hub"]["pulled"] >= 2
    status = cli_json(run_cli("hub", "status", "--json", data_dir=data_dir))
    assert status["connected"] is True and status["pending"] == 0
    assert status["last_pull"] and status["last_push"] is None  # nothing to push yet

    absent = run_cli("applicant", "show", "--nik", "3171999999999999", "--user", "ani",
                     "--password-stdin", "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert absent.returncode == 0, absent.stderr
    assert cli_json(absent) == {"found": False, "applicant": None}
    runtime = open_runtime(data_dir)
    try:
        visit = example_visit(KTP)
        finalize_visit(runtime, login(runtime, "ani", PASSWORD), parse_visit(visit))
        with pytest.raises(PermissionDenied):  # the mall scope is for supervisors
            desk_hub.mall_daily_report(runtime, login(runtime, "ani", PASSWORD), "2026-12-02")
    finally:
        runtime.close()
    drained = cli_json(run_cli("sync", "--drain", "--timeout", "20", "--json", data_dir=data_dir))
    assert drained["hub"]["pushed"] > 0 and drained["hub"]["pending"] == 0
    nik = visit["applicant"]["nik"]
    shown = run_cli("applicant", "show", "--nik", nik, "--user", "ani", "--password-stdin",
                    "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    answer = cli_json(shown)
    assert answer["found"] is True and answer["source"] == "hub"
    assert answer["applicant"]["id_number"] == nik
    assert nik not in shown.stderr

    report = tmp_path / "mall.csv"
    mall = run_cli("report", "daily", "--format", "csv", "-o", str(report), "--scope", "mall",
                   "--user", "sari", "--password-stdin", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert mall.returncode == 0, mall.stderr
    assert report.read_text(encoding="utf-8").startswith("key,value")


def test_a_desk_refuses_a_postgresql_store(tmp_path, data_dir):
    url = "postgresql+psycopg://mppdesk:secret-pw@127.0.0.1:5432/mall"
    with pytest.raises(StoreError) as refused:
        open_runtime(data_dir, url)
    assert refused.value.reason == "not_sqlite"
    result = run_cli("info", "--json", "--db", url, data_dir=data_dir,
                     env={"MPPDESK_LANG": "en"})
    assert result.returncode == 2
    assert "hub" in result.stderr and "Traceback" not in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
    by_env = run_cli("info", data_dir=data_dir, env={"MPPDESK_DB": url})
    assert by_env.returncode == 2 and "PostgreSQL" in by_env.stderr


def test_the_sync_worker_replicates_a_finalized_visit_within_two_seconds(desks, hub):
    """The worker's own loop (``run_forever``) runs the hub lane of a joined desk: a visit is
    at the hub well within the 2 s the mall's supervisors are promised."""
    import threading
    import time

    from mppdesk.sync.worker import SyncWorker

    desk = desks("K01")
    desk.sync()
    ani = login(desk.runtime, "ani", PASSWORD)
    worker = SyncWorker(desk.runtime.store, desk.runtime.settings, desk.runtime.blobs)
    thread = threading.Thread(target=worker.run_forever, daemon=True)
    thread.start()
    try:
        tick = threading.Event()
        lags = []
        for expected in (1, 2):
            finalize_visit(desk.runtime, ani, parse_visit(example_visit(KTP)))
            committed = time.monotonic()
            while hub.store.stats()["totals"]["visits"] < expected:
                assert time.monotonic() - committed < 10, "the visit never reached the hub"
                tick.wait(0.02)
            lags.append(time.monotonic() - committed)
        assert max(lags) < 2.0, lags
    finally:
        worker.stop()
        thread.join(10)
        worker.close()
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://10.0.0.5:8443", "loopback"),
        ("https://user:pw@hub.example", "credentials"),
        ("ftp://hub.example", "http(s)"),
    ],
)
def test_a_hub_url_a_desk_must_not_use_is_refused(tmp_path, url, problem):
    from mppdesk.settings import SettingsError, load_settings
    from mppdesk.sync.hub_client import HubConfigError, check_hub_url

    with pytest.raises(HubConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check_hub_url(url)
    (tmp_path / "settings.toml").write_text(f'[hub]\nurl = "{url}"\n')
    with pytest.raises(SettingsError, match="hub.url"):
        load_settings(tmp_path)


def test_join_refuses_a_wrong_token_and_writes_nothing(tmp_path, hub):
    data_dir = tmp_path / "desk"
    data_dir.mkdir()
    hub.store.add_desk("K09")
    with pytest.raises(AuthError):
        desk_hub.join(data_dir, hub.url, "K09", "not-the-token")
    assert not (data_dir / "settings.toml").exists()
    from mppdesk.store.hub_keys import load_hub_token

    assert load_hub_token(data_dir) is None


def test_a_lockout_counts_across_the_mall(desks, hub):
    """Failures at one desk lock the name at another (the hub counts every desk's results)."""
    from mppdesk.desk.errors import AccountLocked

    first, second = desks("K01"), desks("K02")
    first.sync()
    second.sync()
    for _ in range(5):
        with pytest.raises(AuthError):
            login(first.runtime, "ani", "salah-sandi-1")
    with pytest.raises(AccountLocked):
        login(second.runtime, "ani", PASSWORD)  # the right password, at a desk with no failures
    assert login(second.runtime, "sari", PASSWORD).role == "supervisor"


def test_a_desk_trusts_the_hub_only_through_its_ca_file(tmp_path, hub, monkeypatch):
    """TLS to the hub is verified: with the CA that signed the hub's certificate the desk
    joins; with another CA (or none, the system's store) it refuses and writes nothing."""
    from tests.integration.test_sync_trust import _tls_files

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    (tmp_path / "right").mkdir()
    (tmp_path / "other").mkdir()
    ca_file, cert_file, key_file = _tls_files(tmp_path / "right")
    other_ca, _, _ = _tls_files(tmp_path / "other")
    tls_hub = serve_in_thread(hub.db_url, key_file=hub.key_file, cert=cert_file, key=key_file)
    try:
        assert tls_hub.url.startswith("https://")
        for ca in (str(other_ca), None):
            stranger = tmp_path / f"stranger-{'other' if ca else 'system'}"
            stranger.mkdir()
            with pytest.raises(desk_hub.HubUnavailable, match="tls"):
                desk_hub.join(stranger, tls_hub.url, "K11", hub.store.add_desk("K11"), ca)
            assert not (stranger / "settings.toml").exists()
        trusted = tmp_path / "trusted"
        trusted.mkdir()
        desk_hub.join(trusted, tls_hub.url, "K12", hub.store.add_desk("K12"), str(ca_file))
        runtime = open_runtime(trusted)
        try:
            assert runtime.settings.hub.ca_file == str(ca_file.resolve())
            assert desk_hub.status(runtime).connected is True
        finally:
            runtime.close()
    finally:
        tls_hub.stop()


@pytest.mark.slow  # the whole demo: agency server, hub, seeded visits, a drain
def test_the_demo_desk_replicates_to_its_embedded_hub(tmp_path):
    result = run_cli("demo", "--no-ui", "--visits", "2", "--json", "--data-dir",
                     str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    summary = cli_json(result)
    assert summary["hub"]["url"].startswith("http://127.0.0.1:")
    assert summary["hub"]["pending"] == 0
    assert summary["hub"]["totals"]["visits"] == 2
    assert "demo mall hub:" in result.stderr


class _HostileHub:
    """A loopback server answering every push with one fixed answer (``answer``)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hostile = self
        self.answer: tuple[int, str, bytes] = (200, "text/html", b"<html>login</html>")
        self.pushes = 0

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hostile.pushes += 1
                status, content_type, body = hostile.answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.mark.parametrize(
    ("status", "content_type", "body", "outcome"),
    [
        (200, "text/html", b"<html>Wi-Fi login</html>", "retry"),  # a captive portal
        (200, "application/json", b'{"acked": 99999}', "retry"),  # more than was sent
        (200, "application/json", b'{"acked": 1', "retry"),  # cut JSON
        (503, "application/json", b'{"error": {"code": "x", "message": "down"}}', "retry"),
        (401, "application/json", b'{"error": {"code": "revoked", "message": "no"}}', "paused"),
        (409, "application/json",
         b'{"error": {"code": "chain_broken", "message": "broken", "seq": 3}}', "refused"),
    ],
)
def test_a_push_answer_outside_the_contract_keeps_the_journal(
    tmp_path, status, content_type, body, outcome
):
    """Only ``200 {"acked": n}`` within the batch forgets journal entries; every other answer
    leaves them to push again and is recorded for ``hub status``."""
    from mppdesk.desk.auth import add_user, os_actor
    from mppdesk.sync.hub_client import HubClient

    hostile = _HostileHub()
    hostile.answer = (status, content_type, body)
    runtime = open_runtime(tmp_path / "desk")
    try:
        add_user(runtime, os_actor(), "ani", "officer", PASSWORD)
        finalize_visit(runtime, login(runtime, "ani", PASSWORD), parse_visit(example_visit(KTP)))
        with runtime.store.read() as session:
            before = hub_store.journal_dump(session)
        lane = HubLane(runtime.store, runtime.settings, HubClient(hostile.url, "K01", "t0ken"))
        report = lane.drain(0.3)
        lane.client.close()
        with runtime.store.read() as session:
            assert hub_store.journal_dump(session)[: len(before)] == before
            error = hub_store.get_state(session, hub_store.LAST_ERROR)
            assert hub_store.get_state(session, hub_store.ACKED) is None
        assert report.pushed == 0 and report.pending >= len(before) and hostile.pushes >= 1
        assert error["outcome"] == outcome
    finally:
        runtime.close()
        hostile.close()


def test_a_sequence_gap_resumes_from_what_the_hub_expects(tmp_path):
    """``409 sequence_gap`` ahead of the batch: the hub already holds those records (its ack
    was lost on the way back), so the desk forgets them and goes on from ``expected``; the
    same answer again (the hub behind the journal) stops the lane loudly instead of looping."""
    from mppdesk.desk.auth import add_user, os_actor
    from mppdesk.sync.hub_client import HubClient

    hostile = _HostileHub()
    runtime = open_runtime(tmp_path / "desk")
    try:
        add_user(runtime, os_actor(), "ani", "officer", PASSWORD)
        finalize_visit(runtime, login(runtime, "ani", PASSWORD), parse_visit(example_visit(KTP)))
        with runtime.store.read() as session:
            before = hub_store.journal_dump(session)
        expected = before[0][0] + 2
        hostile.answer = (409, "application/json", json.dumps(
            {"error": {"code": "sequence_gap", "message": "gap", "expected": expected}}
        ).encode())
        lane = HubLane(runtime.store, runtime.settings, HubClient(hostile.url, "K01", "t0ken"))
        started = time.monotonic()
        lane.drain(30)  # returns once refused: the next try (300 s on) is past the deadline
        lane.client.close()
        assert time.monotonic() - started < 15
        assert hostile.pushes == 2  # the gap, then the same answer again: no loop
        with runtime.store.read() as session:
            assert hub_store.journal_dump(session)[0][0] == expected
            assert hub_store.get_state(session, hub_store.ACKED) == expected - 1
            error = hub_store.get_state(session, hub_store.LAST_ERROR)
        assert error["outcome"] == "refused" and "expects sequence" in error["message"]
    finally:
        runtime.close()
        hostile.close()
