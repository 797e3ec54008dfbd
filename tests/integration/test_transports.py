"""Agency transports behind one port (issue 11, item 4).

The folder drop end to end against a real folder and a collector thread that plays the
agency (woken through the worker's listener, never by sleeping); http and folder agencies
drained by one worker; a crash between the temporary write and the rename; and a transport
defined only in this module, registered and used by the worker without touching any module
of the desk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mppdesk.core.sync_policy import Outcome, OutcomeKind
from mppdesk.settings import AgencyEndpoint, SettingsError, load_settings, save_settings
from mppdesk.store.models import Submission
from mppdesk.sync.transports import (
    Delivery,
    Progress,
    Transport,
    TransportContext,
    register_transport,
    unregister_transport,
)
from mppdesk.sync.transports.folder import judge_receipt
from mppdesk.sync.worker import AgencyHealth, SyncWorker
from tests.example_visits import BPJS, KTP, Clock, agency_settings, finalize

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.5, "poll_interval_s": 0.2}


def folder_endpoint(drop_dir: Path, code: str = "dukcapil") -> AgencyEndpoint:
    return AgencyEndpoint(
        code=code, transport="folder", drop_dir=str(drop_dir), receipt_check_s=0.05
    )


def folder_settings(runtime, drop_dir: Path, **sync: Any):
    settings = agency_settings(runtime.settings, {}, **{**FAST, **sync})
    return settings.with_agency(folder_endpoint(drop_dir))


def entry(runtime, submission_id: str):
    with runtime.store.read() as session:
        (found,) = session.get(Submission, submission_id).outbox
        return found


def submission(runtime, submission_id: str) -> Submission:
    with runtime.store.read() as session:
        return session.get(Submission, submission_id)


def write_atomically(path: Path, data: bytes) -> None:
    """How the contract asks the agency to write a receipt: a hidden name, then a rename."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def visible(drop_dir: Path) -> list[str]:
    """What a collector looks at: everything but hidden (temporary) names."""
    return sorted(p.name for p in drop_dir.iterdir() if not p.name.startswith("."))


class Collector:
    """The agency's side of the folder drop, on its own thread.

    It is the worker's listener: each outbox change wakes it (a Condition, no sleeping); it
    takes every complete submission folder, checks the files against the payload's list,
    writes the receipt ``decide`` returns and clears the folder, as docs/transports.md asks.
    """

    def __init__(self, drop_dir: Path, decide: Callable[[str, dict], dict]) -> None:
        self.drop_dir = drop_dir
        self.decide = decide
        self.collected: dict[str, tuple[bytes, dict[str, bytes]]] = {}
        self.errors: list[str] = []
        self._cond = threading.Condition()
        self._generation = 0
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self._thread.start()

    # SyncListener
    def outbox_changed(self, agency: str, submission_ids: list[str]) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def agency_health_changed(self, health: AgencyHealth) -> None:
        pass

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(10)

    def _run(self) -> None:
        self._handled = 0
        while True:
            with self._cond:
                self._cond.wait_for(self._woken)
                if self._closing:
                    return
                self._handled = self._generation
            self._collect()

    def _woken(self) -> bool:
        return self._generation > self._handled or self._closing

    def _collect(self) -> None:
        for name in visible(self.drop_dir):
            folder = self.drop_dir / name
            if not folder.is_dir() or name in self.collected:
                continue
            payload = (folder / "submission.json").read_bytes()
            body = json.loads(payload)
            files = {}
            if (folder / "attachments").exists():
                files = {p.name: p.read_bytes() for p in (folder / "attachments").iterdir()}
            for listed in body["attachments"]:
                data = files.get(listed["sha256"])
                if data is None or hashlib.sha256(data).hexdigest() != listed["sha256"]:
                    self.errors.append(f"{name}: {listed['name']} missing or damaged")
            self.collected[name] = (payload, files)
            receipt = self.decide(name, body)
            write_atomically(
                self.drop_dir / f"{name}.receipt.json", json.dumps(receipt).encode()
            )
            shutil.rmtree(folder)


def accept(sid: str, body: dict) -> dict:
    return {"submission_id": sid, "result": "accepted", "agency_ref": f"PDAM-{sid[:8]}",
            "status": "received", "message": "berkas diterima"}


@pytest.fixture
def drop_dir(tmp_path: Path) -> Path:
    path = tmp_path / "agency-inbox"
    path.mkdir()
    return path


@pytest.fixture
def collectors() -> Iterator[Callable[..., Collector]]:
    started: list[Collector] = []

    def start(drop: Path, decide: Callable[[str, dict], dict]) -> Collector:
        collector = Collector(drop, decide)
        started.append(collector)
        return collector

    yield start
    for collector in started:
        collector.close()


def test_folder_drop_accepted_rejected_and_a_lying_receipt(runtime, officer, drop_dir, collectors):
    ids = [finalize(runtime, officer, KTP).submission_id for _ in range(3)]
    accepted, rejected, lied_about = ids
    other = "00000000-0000-4000-8000-000000000000"

    def decide(sid: str, body: dict) -> dict:
        if sid == rejected:
            return {"submission_id": sid, "result": "rejected", "message": "NIK tidak cocok",
                    "fields": {"applicant.nik": "tidak terdaftar"}}
        if sid == lied_about:  # a receipt that names another submission is no acceptance
            return {**accept(other, body), "agency_ref": "PDAM-LIE"}
        return accept(sid, body)

    collector = collectors(drop_dir, decide)
    settings = folder_settings(runtime, drop_dir, protocol_error_flag_after=2)
    worker = SyncWorker(runtime.store, settings, runtime.blobs, listener=collector)
    try:
        finished, report = worker.drain(timeout_s=30)
    finally:
        worker.close()

    assert finished, report
    assert collector.errors == []
    assert report.delivered == 1 and report.failed == 1 and report.flagged == 1
    assert report.waiting >= 3  # each was dropped, then waited for its receipt
    # Delivered: the frozen payload byte for byte, and the agency's reference kept.
    done = entry(runtime, accepted)
    assert done.state == "done" and done.attempts == 0  # waiting for a receipt burns nothing
    assert done.agency_ref == f"PDAM-{accepted[:8]}"
    assert collector.collected[accepted][0] == done.payload
    listed = json.loads(done.payload)["attachments"]
    assert sorted(collector.collected[accepted][1]) == sorted(a["sha256"] for a in listed)
    assert submission(runtime, accepted).status == "accepted"
    # Rejected by the agency's receipt: the reasons shown, no retry.
    refused = entry(runtime, rejected)
    assert refused.state == "failed" and refused.last_error_class == "validation"
    assert "NIK tidak cocok" in refused.last_error_message
    assert "applicant.nik: tidak terdaftar" in refused.last_error_message
    assert submission(runtime, rejected).status == "rejected"
    # The lying receipt: never an acceptance; after two in a row a supervisor looks.
    lied = entry(runtime, lied_about)
    assert lied.state == "flagged" and lied.last_error_class == "other_submission"
    assert other in lied.last_error_message and lied.agency_ref is None
    assert submission(runtime, lied_about).status != "accepted"
    assert submission(runtime, lied_about).review_state == "flagged"
    # Nothing half-written was ever left in view: only the receipts remain.
    assert visible(drop_dir) == sorted(f"{sid}.receipt.json" for sid in ids)


def test_status_pulls_read_the_rewritten_receipt(runtime, officer, drop_dir, collectors):
    sid = finalize(runtime, officer, KTP).submission_id
    collector = collectors(drop_dir, accept)
    settings = folder_settings(runtime, drop_dir)
    worker = SyncWorker(runtime.store, settings, runtime.blobs, listener=collector)
    try:
        finished, _report = worker.drain(timeout_s=30)
    finally:
        worker.close()
    assert finished and entry(runtime, sid).agency_status == "received"

    receipt = drop_dir / f"{sid}.receipt.json"
    body = json.loads(receipt.read_bytes())
    write_atomically(receipt, json.dumps({**body, "status": "completed",
                                          "message": "KTP-el selesai"}).encode())
    clock = Clock()
    clock.advance(3600)  # the status pull is due
    later = SyncWorker(runtime.store, settings, runtime.blobs, clock=clock)
    try:
        report = later.run_once()
    finally:
        later.close()
    assert report.status_updates == 1
    done = entry(runtime, sid)
    assert done.agency_status == "completed" and done.next_status_check_at is None
    assert submission(runtime, sid).agency_message == "KTP-el selesai"


def test_a_missing_drop_folder_pauses_the_agency_until_it_is_there(
    runtime, officer, tmp_path, collectors
):
    sid = finalize(runtime, officer, KTP).submission_id
    missing = tmp_path / "share-not-mounted"
    settings = folder_settings(runtime, missing, pause_probe_s=0.1)
    worker = SyncWorker(runtime.store, settings, runtime.blobs)
    try:
        report = worker.run_once()
        assert report.paused == 1 and report.sent == 1
        paused = entry(runtime, sid)
        assert paused.state == "paused" and paused.last_error_class == "drop_dir_missing"
        assert str(missing) in paused.last_error_message and paused.attempts == 0
        assert worker.health["dukcapil"].paused_reason
    finally:
        worker.close()

    missing.mkdir()  # the share is mounted again: the next probe resumes the queue
    collector = collectors(missing, accept)
    worker = SyncWorker(runtime.store, settings, runtime.blobs, listener=collector)
    try:
        finished, report = worker.drain(timeout_s=30)
    finally:
        worker.close()
    assert finished and report.delivered == 1
    assert entry(runtime, sid).state == "done"


def test_transport_settings_round_trip_and_the_older_key_still_loads(data_dir, drop_dir):
    settings = load_settings(data_dir).with_agency(folder_endpoint(drop_dir))
    settings = settings.with_agency(AgencyEndpoint(code="bpn", mode="manual"))
    save_settings(data_dir, settings)
    text = (data_dir / "settings.toml").read_text(encoding="utf-8")
    assert 'transport = "folder"' in text and 'transport = "manual"' in text
    assert "mode =" not in text
    loaded = load_settings(data_dir)
    assert loaded.agencies == settings.agencies
    assert loaded.agencies["bpn"].mode == "manual"  # read by callers of the older name

    (data_dir / "settings.toml").write_text(
        '[agencies.pdam]\ntransport = "folder"\ndrop_dir = "relative/inbox"\n', encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"agencies\.pdam\.drop_dir: .*absolute"):
        load_settings(data_dir)


def test_an_oversized_or_garbled_receipt_is_never_an_acceptance():
    sid = "11111111-2222-4333-8444-555555555555"
    good = {"submission_id": sid, "result": "accepted", "agency_ref": "R-1"}
    assert judge_receipt(json.dumps(good).encode(), sid).kind is OutcomeKind.DELIVERED
    for data, reason in [
        (b'{"submission_id": "' + sid.encode(), "bad_json"),
        (b"[1, 2]", "not_object"),
        (json.dumps({**good, "result": "maybe"}).encode(), "schema"),
        (json.dumps({**good, "agency_ref": ""}).encode(), "schema"),
        (json.dumps({**good, "agency_ref": "x" * 101}).encode(), "schema"),
        (json.dumps({**good, "status": "done"}).encode(), "unknown_status"),
        (json.dumps({**good, "status": ["received"]}).encode(), "unknown_status"),
        (json.dumps({**good, "submission_id": sid.replace("1", "9")}).encode(), "other_submission"),
    ]:
        judged = judge_receipt(data, sid)
        assert judged.kind is OutcomeKind.RETRY and judged.protocol, data
        assert judged.reason == reason, (data, judged)


def test_an_oversized_receipt_file_is_refused_unread(runtime, officer, drop_dir):
    sid = finalize(runtime, officer, KTP).submission_id
    (drop_dir / f"{sid}.receipt.json").write_bytes(b" " * (64 * 1024 + 1))
    worker = SyncWorker(runtime.store, folder_settings(runtime, drop_dir), runtime.blobs)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert report.retried == 1 and report.delivered == 0
    kept = entry(runtime, sid)
    assert kept.state == "pending" and kept.last_error_class == "too_large"
    assert visible(drop_dir) == [f"{sid}.receipt.json"]  # nothing dropped on a bad receipt


CRASH_CHILD = """
import os, signal, sys
from pathlib import Path
from mppdesk.desk.runtime import open_runtime
from mppdesk.sync.worker import SyncWorker

def crash(source, target, *args, **kwargs):
    print("rename", source, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the power goes between the write and the rename

runtime = open_runtime(Path(sys.argv[1]))
os.rename = crash
SyncWorker(runtime.store, runtime.settings, runtime.blobs).run_once()
print("survived", flush=True)
"""


def test_a_crash_between_the_write_and_the_rename_leaves_nothing_in_view(
    runtime, officer, data_dir, drop_dir
):
    sid = finalize(runtime, officer, KTP).submission_id
    settings = folder_settings(runtime, drop_dir)
    save_settings(data_dir, settings)

    child = subprocess.run(
        [sys.executable, "-c", CRASH_CHILD, str(data_dir)],
        capture_output=True, text=True, timeout=120,
    )

    assert child.returncode == -9, child.stderr[-2000:]
    assert "rename" in child.stdout and "survived" not in child.stdout
    hidden = [p for p in drop_dir.iterdir() if p.name.startswith(f".{sid}.")]
    assert len(hidden) == 1 and (hidden[0] / "submission.json").exists()
    assert visible(drop_dir) == []  # the collector sees nothing of the half-done drop

    clock = Clock()
    clock.advance(settings.sync.lease_s + 1)  # the dead worker's lease runs out
    worker = SyncWorker(runtime.store, settings, runtime.blobs, clock=clock)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert report.waiting == 1
    assert visible(drop_dir) == [sid]
    assert [p.name for p in drop_dir.iterdir() if p.name.startswith(".")] == []
    assert (drop_dir / sid / "submission.json").read_bytes() == entry(runtime, sid).payload


def test_one_worker_drains_http_and_folder_agencies(
    runtime, officer, drop_dir, collectors, agency_sim
):
    ktp = finalize(runtime, officer, KTP)  # dukcapil: the folder drop
    bpjs = finalize(runtime, officer, BPJS)  # bpjs-kesehatan: http, the reference server
    assert (ktp.agency, bpjs.agency) == ("dukcapil", "bpjs-kesehatan")
    settings = agency_settings(
        runtime.settings, {"bpjs-kesehatan": agency_sim.agency_url("bpjs-kesehatan")}, **FAST
    ).with_agency(folder_endpoint(drop_dir))
    collector = collectors(drop_dir, accept)
    worker = SyncWorker(runtime.store, settings, runtime.blobs, listener=collector)
    try:
        finished, report = worker.drain(timeout_s=30)
    finally:
        worker.close()

    assert finished and report.delivered == 2
    assert report.per_agency["bpjs-kesehatan"]["delivered"] == 1
    assert report.per_agency["dukcapil"]["delivered"] == 1
    assert [s["submission_id"] for s in agency_sim.submissions("bpjs-kesehatan")] == [
        bpjs.submission_id
    ]
    assert agency_sim.stats("bpjs-kesehatan")["attachments"] == 1
    assert list(collector.collected) == [ktp.submission_id]
    for sid in (ktp.submission_id, bpjs.submission_id):
        assert entry(runtime, sid).state == "done"
        assert submission(runtime, sid).status == "accepted"


# --- a transport of this module's own -------------------------------------------------


class SpoolTransport(Transport):
    """A transport no module of the desk knows: each entry becomes one line of a spool file
    (with its attachments' hashes checked), confirmed at once with a reference of its own."""

    name = "test-spool"

    def __init__(self, endpoint: AgencyEndpoint, context: TransportContext) -> None:
        self.spool = Path(endpoint.drop_dir) / "spool.jsonl"
        self.lock = threading.Lock()

    def deliver(self, delivery: Delivery, progress: Progress) -> Outcome:
        hashes = []
        for attachment in delivery.pending_attachments():
            data = progress.read(attachment)
            hashes.append(hashlib.sha256(data).hexdigest())
            progress.acked(attachment)
        line = {"id": delivery.submission_id, "payload": delivery.payload.decode(),
                "attachments": hashes}
        with self.lock, self.spool.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
        return Outcome(
            OutcomeKind.DELIVERED,
            "spooled",
            agency_ref=f"SPOOL-{delivery.submission_id[:8]}",
            agency_status="received",
        )


@pytest.fixture
def spool_transport() -> Iterator[str]:
    register_transport(SpoolTransport.name, SpoolTransport)
    yield SpoolTransport.name
    unregister_transport(SpoolTransport.name)


def test_a_transport_registered_by_this_module_is_used_by_the_worker(
    runtime, officer, data_dir, tmp_path, spool_transport
):
    sid = finalize(runtime, officer, KTP).submission_id
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    (data_dir / "settings.toml").write_text(
        f'[agencies.dukcapil]\ntransport = "{spool_transport}"\ndrop_dir = "{spool_dir}"\n',
        encoding="utf-8",
    )
    settings = load_settings(data_dir)  # the registered name is a valid setting now
    assert settings.agencies["dukcapil"].transport == spool_transport

    worker = SyncWorker(runtime.store, settings, runtime.blobs)
    try:
        finished, report = worker.drain(timeout_s=30)
    finally:
        worker.close()

    assert finished and report.delivered == 1
    (line,) = (spool_dir / "spool.jsonl").read_text(encoding="utf-8").splitlines()
    spooled = json.loads(line)
    done = entry(runtime, sid)
    assert spooled["id"] == sid and spooled["payload"].encode() == done.payload
    assert done.state == "done" and done.agency_ref == f"SPOOL-{sid[:8]}"
    listed = json.loads(done.payload)["attachments"]
    assert spooled["attachments"] == [a["sha256"] for a in listed]
    assert done.attachments_acked == {a["name"]: a["sha256"] for a in listed}


def test_unknown_transports_are_refused_in_settings_and_paused_at_runtime(
    runtime, officer, data_dir
):
    (data_dir / "settings.toml").write_text(
        '[agencies.dukcapil]\ntransport = "soap"\n', encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"agencies\.dukcapil\.transport: unknown transport"):
        load_settings(data_dir)
    (data_dir / "settings.toml").write_text(
        '[agencies.dukcapil]\nmode = "carrier-pigeon"\n', encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"agencies\.dukcapil\.mode: unknown transport"):
        load_settings(data_dir)
    (data_dir / "settings.toml").write_text(
        '[agencies.bpn]\nmode = "manual"\n', encoding="utf-8"
    )
    assert load_settings(data_dir).agencies["bpn"].transport == "manual"  # the older name

    sid = finalize(runtime, officer, KTP).submission_id
    endpoint = AgencyEndpoint(code="dukcapil", transport="soap")  # built in code, not loaded
    settings = replace(runtime.settings, agencies={"dukcapil": endpoint})
    worker = SyncWorker(runtime.store, settings, runtime.blobs)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert report.paused == 1
    paused = entry(runtime, sid)
    assert paused.state == "paused" and paused.last_error_class == "config"
    assert "'soap'" in paused.last_error_message and "not registered" in paused.last_error_message
