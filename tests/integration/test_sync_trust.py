"""Trust the delivery: no answer that is not a valid acceptance ever marks a submission
delivered or rejected, no agency can hang sync, and a fault of this PC is the desk's.

A real wrong-answer agency (tests/integration/wrong_agency.py) and the reference agency server
on loopback, real stores, the real worker and the real ``mppdesk sync`` command.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mppdesk.settings import SettingsError, load_settings, save_settings
from mppdesk.store import outbox
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.sync.client import AgencyClient
from mppdesk.sync.worker import SyncWorker
from tests.conftest import cli_json, run_cli
from tests.example_visits import BPJS, KTP, Clock, agency_settings, finalize
from tests.integration.wrong_agency import WrongAgency

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def wrong():
    with WrongAgency() as agency:
        yield agency


def make_worker(runtime, settings, clock=None) -> SyncWorker:
    runtime.settings = settings
    return SyncWorker(
        runtime.store, settings, runtime.blobs, clock=clock or Clock(), rand=lambda: 0.5
    )


def entry(runtime, submission_id: str) -> OutboxEntry:
    with runtime.store.read() as session:
        (found,) = session.get(Submission, submission_id).outbox
        return found


def submission(runtime, submission_id: str) -> Submission:
    with runtime.store.read() as session:
        return session.get(Submission, submission_id)


def states(runtime) -> dict[str, int]:
    with runtime.store.read() as session:
        counts: dict[str, int] = {}
        for found in session.query(OutboxEntry):
            counts[found.state] = counts.get(found.state, 0) + 1
        return counts


# --- item 1 and 3: silent accepts and 4xx outside the permanent set ----------------------

WRONG_ANSWERS = [
    ("post:cut", "bad_json"),
    ("post:html", "not_json"),
    ("post:empty", "schema"),
    ("post:other_id", "other_submission"),
    ("post:unknown_status", "unknown_status"),
    ("post:418", "http_418"),
    ("post:407", "http_407"),
    ("post:413", "http_413"),
    ("post:huge", "too_large"),
    ("put:html", "not_json"),
    ("put:other_id", "other_submission"),
    ("put:413", "http_413"),
]


@pytest.mark.parametrize(("fault", "reason"), WRONG_ANSWERS)
def test_a_wrong_answer_is_a_visible_retry_never_done_nor_rejected(
    runtime, officer, wrong, fault, reason
):
    worker = make_worker(
        runtime, agency_settings(runtime.settings, {"dukcapil": wrong.agency_url(fault)})
    )
    try:
        sid = finalize(runtime, officer, KTP).submission_id
        started = time.monotonic()
        report = worker.run_once()
        elapsed = time.monotonic() - started
    finally:
        worker.close()

    assert report.delivered == 0 and report.failed == 0 and report.retried == 1
    waiting = entry(runtime, sid)
    assert waiting.state == "pending"
    assert waiting.last_error_class == reason
    assert waiting.last_error_message  # the reason, in words, on the outbox row
    assert waiting.attempts == 1 and waiting.protocol_errors == 1
    assert waiting.next_attempt_at is not None
    assert states(runtime) == {"pending": 1}  # 0 done, 0 failed
    status = submission(runtime, sid).status
    assert status not in ("accepted", "rejected", "conflict")
    if fault.startswith("put:"):
        assert waiting.delivered_at is not None and status == "sent"  # the POST was fine
    else:
        assert waiting.delivered_at is None and waiting.agency_ref is None
    assert elapsed < 10  # a 10 MB answer is not read past the cap


def test_answers_outside_the_protocol_flag_the_entry_for_a_supervisor(
    runtime, officer, wrong, data_dir
):
    settings = agency_settings(
        runtime.settings,
        {"dukcapil": wrong.agency_url("post:html")},
        protocol_error_flag_after=3,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
    )
    clock = Clock()
    worker = make_worker(runtime, settings, clock)
    try:
        sid = finalize(runtime, officer, KTP).submission_id
        reports = []
        for _ in range(4):
            reports.append(worker.run_once())
            clock.advance(60)
    finally:
        worker.close()

    assert [r.retried for r in reports] == [1, 1, 0, 0]
    assert [r.flagged for r in reports] == [0, 0, 1, 0]  # and then never tried again
    flagged = entry(runtime, sid)
    assert flagged.state == "flagged" and flagged.last_error_class == "not_json"
    assert "3 answers in a row outside the protocol" in flagged.last_error_message
    assert "text/html" in flagged.last_error_message
    assert flagged.attempts == 3 and flagged.next_attempt_at is None
    held = submission(runtime, sid)
    assert held.status == "queued" and held.review_state == "flagged"
    assert wrong.count("POST") == 3

    # The command says it: a drain with a flagged entry exits 5, naming why.
    save_settings(data_dir, settings)
    drained = run_cli("sync", "--drain", "--timeout", "10", "--json", data_dir=data_dir)
    assert drained.returncode == 5, drained.stderr
    assert "flagged for a supervisor" in drained.stderr
    assert cli_json(drained)["totals"]["flagged"] == 1
    listed = run_cli("submissions", "list", "--json", data_dir=data_dir)
    (row,) = [r for r in cli_json(listed) if r["submission_id"] == sid]
    assert row["outbox"][0]["state"] == "flagged"
    assert row["outbox"][0]["last_error"].startswith("not_json: ")
    assert row["review_state"] == "flagged"


def test_a_status_pull_stores_only_the_protocol_and_a_404_means_lost_at_the_agency(
    runtime, officer, wrong, data_dir
):
    clock = Clock()
    settings = agency_settings(
        runtime.settings, {"dukcapil": wrong.agency_url("status:unknown_status")}
    )
    worker = make_worker(runtime, settings, clock)
    try:
        sid = finalize(runtime, officer, KTP).submission_id
        assert worker.run_once().delivered == 1
        assert submission(runtime, sid).agency_status == "received"
        clock.advance(3600)
        assert worker.run_once().status_updates == 0
        unchanged = entry(runtime, sid)
        assert unchanged.state == "done" and unchanged.agency_status == "received"
        assert unchanged.last_error_class == "unknown_status"
        assert "diterima" in unchanged.last_error_message
        assert submission(runtime, sid).agency_status == "received"

        worker.update_settings(
            agency_settings(runtime.settings, {"dukcapil": wrong.agency_url("status:404")})
        )
        clock.advance(3600)
        assert worker.run_once().flagged == 1
    finally:
        worker.close()
    lost = entry(runtime, sid)
    assert lost.state == "flagged" and lost.last_error_class == "lost_at_agency"
    assert "hilang di instansi" in lost.last_error_message
    assert lost.next_status_check_at is None
    assert submission(runtime, sid).review_state == "flagged"
    listed = run_cli("submissions", "list", "--json", data_dir=data_dir)
    (row,) = [r for r in cli_json(listed) if r["submission_id"] == sid]
    assert row["outbox"][0]["state"] == "flagged"
    assert "hilang di instansi" in row["outbox"][0]["last_error"]

    # "Kirim ulang": the whole submission goes out again, same key, same bytes.
    with runtime.store.write() as session:
        assert outbox.retry_now(session, sid, clock()) == 1
    again = entry(runtime, sid)
    assert again.state == "pending" and again.delivered_at is None


# --- item 4: a fault of this PC ------------------------------------------------------------


def test_an_unreadable_attachment_is_a_local_fault_and_the_status_is_still_pulled(
    runtime, officer, agency_sim
):
    clock = Clock()
    worker = make_worker(
        runtime,
        agency_settings(runtime.settings, {"dukcapil": agency_sim.agency_url("dukcapil")}),
        clock,
    )
    sid = finalize(runtime, officer, KTP).submission_id
    with runtime.store.read() as session:
        (sha,) = [a.sha256 for a in session.get(Submission, sid).attachments]
    runtime.blobs.path_for(sha).unlink()
    try:
        report = worker.run_once()
        assert report.failed == 0 and report.flagged == 1
        fault = entry(runtime, sid)
        assert fault.state == "flagged" and fault.last_error_class == "local_fault"
        assert "unreadable on this PC" in fault.last_error_message
        assert "kirim ulang" in fault.last_error_message  # what to do
        held = submission(runtime, sid)
        assert held.status == "sent"  # the agency holds it and refused nothing
        assert held.review_state == "flagged"
        assert agency_sim.stats("dukcapil")["submissions"] == 1

        agency_sim.advance("dukcapil", sid)
        clock.advance(3600)
        assert worker.run_once().status_updates == 1
    finally:
        worker.close()
    pulled = entry(runtime, sid)
    # Pulled while flagged: the agency says it waits for the attachment this PC lost.
    assert pulled.state == "flagged" and pulled.agency_status == "received"
    assert "Menunggu lampiran" in pulled.agency_message
    assert submission(runtime, sid).agency_message == pulled.agency_message


# --- item 2: hangs -----------------------------------------------------------------------------


def test_a_trickling_answer_is_cut_at_the_deadline_and_a_huge_one_at_the_cap(wrong):
    client = AgencyClient(wrong.agency_url("post:trickle"), None, "K01", 1.0, 5.0, deadline_s=1.5)
    try:
        started = time.monotonic()
        answer = client.post_submission("0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", b"{}")
        elapsed = time.monotonic() - started
    finally:
        client.close()
    assert (answer.status_code, answer.error_kind) == (None, "timeout")
    assert "deadline" in answer.error_message
    # The 1.5 s deadline fired, not the read timeout (5 s a read, which a trickle never hits);
    # the slack up to 4.5 s is for a busy CPU (the other test worker).
    assert 1.4 < elapsed < 4.5

    client = AgencyClient(wrong.agency_url("status:huge"), None, "K01", 1.0, 5.0)
    try:
        answer = client.get_status("0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3")
    finally:
        client.close()
    assert (answer.status_code, answer.body, answer.body_problem) == (200, None, "too_large")


def test_abort_cuts_a_trickle_at_once(wrong):
    client = AgencyClient(wrong.agency_url("post:trickle"), None, "K01", 1.0, 5.0, deadline_s=60)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(client.post_submission("k", b"{}")))
    thread.start()
    try:
        assert wrong.trickling.wait(10)
        started = time.monotonic()
        client.abort()
        thread.join(5)
        assert not thread.is_alive() and time.monotonic() - started < 1.5
    finally:
        client.close()
    assert answers[0].error_kind == "aborted"


def test_one_trickling_agency_does_not_delay_another(runtime, officer, wrong, agency_sim):
    settings = agency_settings(
        runtime.settings,
        {
            "dukcapil": wrong.agency_url("post:trickle"),
            "bpjs-kesehatan": agency_sim.agency_url("bpjs-kesehatan"),
        },
        poll_interval_s=600,
    )
    settings = settings.with_agency(replace(settings.agencies["dukcapil"], deadline_s=120))
    worker = make_worker(
        runtime, settings, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    )
    slow = finalize(runtime, officer, KTP).submission_id
    thread = threading.Thread(target=worker.run_forever, name="test-run-forever")
    thread.start()
    try:
        assert wrong.trickling.wait(10), "the slow agency never started answering"
        fast = [finalize(runtime, officer, BPJS).submission_id for _ in range(3)]
        worker.wake()
        agency_sim.wait_until(
            lambda: all(entry(runtime, sid).state == "done" for sid in fast),
            timeout=10,
            what="the fast agency's deliveries",
        )
        assert wrong.trickling.is_set()  # delivered while the slow one is still trickling
        assert entry(runtime, slow).state == "in_flight"
        stopping = time.monotonic()
        worker.stop()
        thread.join(5)
        assert not thread.is_alive() and time.monotonic() - stopping < 2.0
    finally:
        worker.stop()
        thread.join(10)
        worker.close()
    back = entry(runtime, slow)
    assert back.state == "pending" and back.attempts == 0  # given back, nothing burned
    assert back.lease_owner is None


def _threads_on_or_waiting_for_a_core() -> dict[int, tuple[float, float]]:
    """Per thread of this process: seconds it ran and seconds it waited in the run queue
    (Linux schedstat); empty where the kernel does not say.

    A thread that spins is on a core or queued for one all the time, however loaded the
    machine is (the other pytest-xdist worker, other CI jobs); a sleeping thread is neither,
    save a moment each time it wakes. CPU time alone shrinks when others take the cores, so
    a spin could pass under load.
    """
    out: dict[int, tuple[float, float]] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            ran, waited, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue  # no schedstat here, or a thread that ended meanwhile
        out[int(task.name)] = (int(ran) / 1e9, int(waited) / 1e9)
    return out


def test_the_lanes_never_spin_on_work_they_cannot_do(runtime, officer, wrong, agency_sim):
    """A manual agency's pending entry and status pulls answered 401 wake no lane again and
    again: the planning loop sleeps (measured as the CPU the process burns while idle)."""
    settings = agency_settings(
        runtime.settings,
        {"dukcapil": wrong.agency_url("status:401")},
        status_poll_interval_s=0.3,
        backoff_cap_s=0.3,
        poll_interval_s=600,
    )
    settings = settings.with_agency(
        replace(settings.agencies["dukcapil"], code="bpjs-kesehatan", mode="manual", base_url="")
    )
    worker = make_worker(
        runtime, settings, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    )
    sid = finalize(runtime, officer, KTP).submission_id
    finalize(runtime, officer, BPJS)  # handed over by hand: stays pending, never planned
    thread = threading.Thread(target=worker.run_forever, name="test-run-forever")
    thread.start()
    try:
        agency_sim.wait_until(lambda: wrong.count("GET") >= 1, timeout=10, what="a status pull")
        before, cpu, wall = _threads_on_or_waiting_for_a_core(), time.process_time(), time.monotonic()
        threading.Event().wait(1.5)
        after = _threads_on_or_waiting_for_a_core()
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    finally:
        worker.stop()
        thread.join(10)
        worker.close()
    assert entry(runtime, sid).state == "done"
    assert wrong.count("GET") <= 2 + wall / 0.3  # asked again after the wait, not at once
    assert cpu < 0.5 * wall, f"{cpu:.2f} s of CPU in {wall:.2f} s idle"
    # No one thread (the planning loop, a lane) wanted a core most of the time: one that spins
    # wants it all the time (1.0 of the wait) however busy the machine is; a sleeping one only
    # at its wake-ups (under 0.5 with 13 runnable processes on 2 cores, measured).
    names = {t.native_id: t.name for t in threading.enumerate()}
    wanted = {
        names.get(tid, str(tid)): ran + waited - sum(before.get(tid, (0.0, 0.0)))
        for tid, (ran, waited) in after.items()
    }
    busiest = max(wanted, key=wanted.get, default=None)
    assert busiest is None or wanted[busiest] < 0.8 * wall, (
        f"{busiest} on or waiting for a core {wanted[busiest]:.2f} s of {wall:.2f} s idle"
    )


def _sync_process(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mppdesk", "sync", *args, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
def test_drain_against_a_trickle_times_out_on_time_with_the_entry_pending(
    runtime, officer, wrong, agency_sim, data_dir
):
    settings = agency_settings(
        runtime.settings,
        {
            "dukcapil": wrong.agency_url("post:trickle"),
            "bpjs-kesehatan": agency_sim.agency_url("bpjs-kesehatan"),
        },
    )
    save_settings(data_dir, settings)
    slow = finalize(runtime, officer, KTP).submission_id
    fast = finalize(runtime, officer, BPJS).submission_id
    started = time.monotonic()
    # The trickle would outlast any drain; 6 s is enough for the other agency's entry.
    process = _sync_process(data_dir, "--drain", "--timeout", "6")
    try:
        _out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    elapsed = time.monotonic() - started
    assert process.returncode == 3, err
    assert elapsed < 15  # the timeout and a process start-up
    assert "time ran out" in err and "Traceback" not in err
    back = entry(runtime, slow)
    assert back.state == "pending" and back.attempts == 0 and back.lease_owner is None
    assert entry(runtime, fast).state == "done"


def test_sigterm_stops_a_sync_stuck_on_a_trickle_within_two_seconds(
    runtime, officer, wrong, data_dir
):
    save_settings(
        data_dir, agency_settings(runtime.settings, {"dukcapil": wrong.agency_url("post:trickle")})
    )
    sid = finalize(runtime, officer, KTP).submission_id
    process = _sync_process(data_dir)
    try:
        assert wrong.trickling.wait(20), "the sync command never reached the agency"
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - stopping
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert elapsed < 2.5, f"took {elapsed:.1f} s"
    assert "Traceback" not in err
    back = entry(runtime, sid)
    assert back.state == "pending" and back.attempts == 0 and back.lease_owner is None


def test_drain_exits_5_for_an_unconfigured_agency_and_0_when_all_is_delivered(
    runtime, officer, agency_sim, data_dir
):
    save_settings(
        data_dir, agency_settings(runtime.settings, {"dukcapil": agency_sim.agency_url("dukcapil")})
    )
    finalize(runtime, officer, KTP)
    drained = run_cli("sync", "--drain", "--timeout", "20", data_dir=data_dir)
    assert drained.returncode == 0, drained.stderr
    finalize(runtime, officer, BPJS)  # bpjs-kesehatan has no endpoint: paused, needs a person
    started = time.monotonic()
    paused = run_cli("sync", "--drain", "--timeout", "20", "--json", data_dir=data_dir)
    assert paused.returncode == 5, paused.stderr
    assert time.monotonic() - started < 15  # not waiting for a probe that cannot help
    assert "paused" in paused.stderr
    assert cli_json(paused)["agencies"]["bpjs-kesehatan"]["paused"] == 1
    helped = run_cli("sync", "--help")
    assert " 5 " in helped.stdout and "need a person" in helped.stdout


# --- item 5: clock jumps ------------------------------------------------------------------------


def test_times_written_while_the_clock_was_ahead_strand_nothing(runtime, officer):
    first, second = (finalize(runtime, officer, KTP).submission_id for _ in range(2))
    now = dt.datetime.now(dt.UTC)
    jumped = now + dt.timedelta(days=3)
    with runtime.store.write() as session:
        a, b = entry(runtime, first), entry(runtime, second)
        session.query(OutboxEntry).filter(OutboxEntry.id == a.id).update(
            {"next_attempt_at": jumped}
        )
        session.query(OutboxEntry).filter(OutboxEntry.id == b.id).update(
            {"state": "in_flight", "lease_owner": "gone", "lease_expires_at": jumped}
        )
    bounds = {"max_wait_s": 900.0, "lease_s": 120.0}
    with runtime.store.read() as session:
        assert outbox.due_candidates(session, now, 10) == []  # unbounded: stranded 3 days
        due = outbox.due_candidates(session, now, 10, **bounds)
        assert {v.id for v in due} == {a.id, b.id}
        assert set(outbox.next_due_by_agency(session, now, **bounds).values()) == {now}
    with runtime.store.write() as session:
        taken = outbox.claim_many(session, [a.id, b.id], "me", now, 120.0, max_wait_s=900.0)
    assert sorted(taken) == sorted([a.id, b.id])


# --- item 6: exposure on agency endpoints --------------------------------------------------------


def test_credentials_in_an_agency_url_are_refused_and_never_echoed(data_dir):
    (data_dir / "settings.toml").write_text(
        '[agencies.dukcapil]\nbase_url = "https://ani:s3cr3t-token@api.example/dukcapil"\n'
    )
    with pytest.raises(SettingsError) as refused:
        load_settings(data_dir)
    assert "agencies.dukcapil.base_url" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)
    (data_dir / "settings.toml").unlink()

    result = run_cli(
        "agency",
        "set",
        "dukcapil",
        "--url",
        "https://ani:s3cr3t-token@api.example/x",
        data_dir=data_dir,
    )
    assert result.returncode == 2
    assert "--url" in result.stderr and "credentials" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    assert not (data_dir / "settings.toml").exists()
    with pytest.raises(ValueError) as client_refused:
        AgencyClient("https://ani:s3cr3t@api.example/x", None, "K01")
    assert "s3cr3t" not in str(client_refused.value)


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA made here and a certificate it signs for 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Agency CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def test_an_agency_ca_file_is_trusted_and_tls_is_verified_without_it(
    runtime, officer, tmp_path, data_dir, monkeypatch
):
    import ssl

    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    ca_file, cert_file, key_file = _tls_files(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    (data_dir / "certs").mkdir()
    (data_dir / "certs" / "agency-ca.pem").write_bytes(ca_file.read_bytes())
    with WrongAgency(tls=context) as agency:
        url = agency.agency_url("good")
        (data_dir / "settings.toml").write_text(
            f'[agencies.dukcapil]\nbase_url = "{url}"\nca_file = "certs/agency-ca.pem"\n'
        )
        settings = load_settings(data_dir)
        endpoint = settings.agencies["dukcapil"]
        assert endpoint.ca_file == str(data_dir / "certs" / "agency-ca.pem")

        refused = AgencyClient(url, None, "K01", 2, 2)
        try:
            answer = refused.get_status("0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3")
        finally:
            refused.close()
        assert (answer.status_code, answer.error_kind) == (None, "tls")

        worker = make_worker(runtime, replace(runtime.settings, agencies=settings.agencies))
        try:
            sid = finalize(runtime, officer, KTP).submission_id
            assert worker.run_once().delivered == 1  # through the configured CA
        finally:
            worker.close()
        assert entry(runtime, sid).state == "done"

    (data_dir / "settings.toml").write_text(
        f'[agencies.dukcapil]\nbase_url = "{url}"\nca_file = "certs/missing.pem"\n'
    )
    with pytest.raises(SettingsError, match=r"agencies\.dukcapil\.ca_file"):
        load_settings(data_dir)
