"""Backups off the PC: back up a desk with real visits, wipe it, restore it, deliver what was
waiting exactly once; and the bad cases: a full or missing target, another desk key, a
damaged or half-written backup, an existing desk in the way.

Real stores and files in tmp_path, the real agency sim over loopback HTTP, the real
``mppdesk`` command in a child process for exit codes and messages; the full target is a
real tmpfs of 300 KB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from mppdesk.desk.backup import (
    BACKUP_PREFIX,
    BackupStatus,
    backup_due,
    make_backup,
    read_status,
    restore_backup,
)
from mppdesk.desk.runtime import open_runtime
from mppdesk.settings import save_settings
from mppdesk.store import outbox
from mppdesk.store.models import Attachment, OutboxEntry, Submission, Visit
from mppdesk.sync.worker import SyncWorker
from tests.conftest import run_cli
from tests.example_visits import BPJS, HELD, KTP, Clock, agency_settings, finalize
from tests.integration.conftest import mounted_tmpfs


def _desk_state(runtime) -> dict:
    """Everything a restore must bring back, as plain values."""
    with runtime.store.read() as session:
        visits = sorted((v.id, v.ticket, v.applicant_id) for v in session.query(Visit))
        submissions = sorted(
            (s.id, s.tracking_number, s.status, s.service) for s in session.query(Submission)
        )
        entries = {
            e.id: (e.submission_id, e.agency, e.state, e.attempts, e.payload_sha256, e.agency_ref)
            for e in session.query(OutboxEntry)
        }
        attachments = sorted((a.submission_id, a.sha256) for a in session.query(Attachment))
    return {
        "visits": visits,
        "submissions": submissions,
        "entries": entries,
        "attachments": attachments,
    }


def _backups_in(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if BACKUP_PREFIX in name)


def test_backup_wipe_restore_brings_everything_back_and_delivers_nothing_twice(
    tmp_path, data_dir, runtime, officer, start_agency_sim
):
    handle = start_agency_sim()
    urls = {a: handle.agency_url(a) for a in ("dukcapil", "bpjs-kesehatan", "samsat")}
    runtime.settings = agency_settings(runtime.settings, urls)
    save_settings(data_dir, runtime.settings)  # the restored desk must reach the same agencies
    clock = Clock()
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=clock)
    try:
        delivered = finalize(runtime, officer, KTP, ticket="A-001").submission_id
        assert worker.run_once().delivered == 1
        handle.set_faults("dukcapil:drop_after_commit=1")  # stored there, the desk never heard
        replayed = finalize(runtime, officer, KTP, ticket="A-002").submission_id
        assert worker.run_once().retried == 1
        handle.set_faults("")
    finally:
        worker.close()
    unsent = finalize(runtime, officer, BPJS, ticket="A-003").submission_id
    held = finalize(runtime, officer, HELD, ticket="A-004").submission_id
    # The backup catches two entries in flight (a worker that was mid-send).
    with runtime.store.write() as session:
        in_flight = [e.id for s in (replayed, unsent) for e in session.get(Submission, s).outbox]
        taken = outbox.claim_many(
            session, in_flight, "dead-worker", clock() + timedelta(days=1), 600
        )
        assert sorted(taken) == sorted(in_flight)
    before = _desk_state(runtime)
    assert len(before["visits"]) == 4 and len(before["attachments"]) >= 3
    usb = tmp_path / "usb"
    usb.mkdir()

    result = make_backup(runtime, usb)

    assert _backups_in(usb) == [result.path.name]
    assert result.path.name.startswith(f"{BACKUP_PREFIX}K01-")
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["desk"] == "K01"
    assert manifest["schema_version"] == runtime.store.schema_version()
    assert manifest["encrypted"] is True and len(manifest["key_fingerprint"]) == 64
    assert manifest["counts"]["submissions"] == 4 and manifest["missing_attachments"] == []
    listed = {f["path"] for f in manifest["files"]}
    assert {"mppdesk.sqlite", "settings.toml"} <= listed
    assert {f"attachments/{d[:2]}/{d}" for _sid, d in before["attachments"]} <= listed
    runtime.close()
    shutil.rmtree(data_dir)  # the PC's disk died

    restored = restore_backup(result.path, data_dir)

    assert restored.requeued_in_flight == 2 and restored.audit_ok
    again = open_runtime(data_dir)
    try:
        after = _desk_state(again)
        assert after["visits"] == before["visits"]
        assert after["submissions"] == before["submissions"]
        assert after["attachments"] == before["attachments"]
        for _sid, digest in after["attachments"]:
            assert again.blobs.get(digest)  # decrypts with this PC's key, hash checked
        for entry_id, old in before["entries"].items():
            new = after["entries"][entry_id]
            expected_state = "pending" if entry_id in in_flight else old[2]
            assert new == (*old[:2], expected_state, *old[3:])
        assert {e[2] for e in after["entries"].values()} == {"done", "pending", "held"}
        verify = run_cli("audit", "verify", data_dir=data_dir)
        assert verify.returncode == 0, verify.stderr
        assert "audit chain ok" in verify.stdout

        worker = SyncWorker(again.store, again.settings, again.blobs, clock=clock)
        try:
            finished, report = worker.drain(timeout_s=30)
        finally:
            worker.close()
        assert finished and report.delivered == 2
        final = _desk_state(again)
    finally:
        again.close()
    ids = {a: sorted(s["submission_id"] for s in handle.submissions(a)) for a in urls}
    assert ids["dukcapil"] == sorted([delivered, replayed])  # each once
    assert ids["bpjs-kesehatan"] == [unsent]
    assert ids["samsat"] == []  # still held for approval
    assert handle.stats("dukcapil")["replays"] == 1  # the one the agency already had
    done_entry = next(k for k, v in before["entries"].items() if v[0] == delivered)
    assert final["entries"][done_entry] == before["entries"][done_entry]  # not sent again
    assert next(v for v in final["entries"].values() if v[0] == held)[2] == "held"


def _desk_with_big_attachment(tmp_path: Path, runtime, officer, size: int) -> None:
    """A desk whose backup cannot fit in a few hundred KB: incompressible attachment bytes."""
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from tests.example_visits import example_visit

    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + os.urandom(size))
    visit = example_visit(KTP)
    visit["services"][0]["attachments"] = [str(scan)]
    finalize_visit(runtime, officer, parse_visit(visit))


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 300 KB file system: a USB stick that fills up mid-backup."""
    with mounted_tmpfs(tmp_path / "usb-full", "300k") as point:
        yield point


def test_a_full_target_leaves_nothing_that_looks_like_a_backup(
    tmp_path, data_dir, runtime, officer, small_tmpfs
):
    _desk_with_big_attachment(tmp_path, runtime, officer, 400_000)
    runtime.close()

    result = run_cli("backup", "--to", str(small_tmpfs), data_dir=data_dir)

    assert result.returncode == 1, result.stderr
    # Indonesian, the desk's first language: the catalog's backup.target_full
    assert "penuh" in result.stderr and "tidak ada cadangan yang ditulis" in result.stderr
    assert "Traceback" not in result.stderr
    assert os.listdir(small_tmpfs) == []  # the .partial folder was removed too
    status = read_status(data_dir)
    assert status.last_success_at is None and status.error_code == "backup.target_full"
    assert status.error_params["target"] == str(small_tmpfs)  # a code and params, not text
    assert "is full" in status.error_text("en") and "penuh" in status.error_text("id")


@pytest.mark.skipif(os.name != "posix", reason="RLIMIT_FSIZE is POSIX")
def test_a_file_too_large_for_the_target_is_explained_and_leaves_nothing(
    tmp_path, data_dir, runtime, officer
):
    """Without root: a child whose files may not grow past 1 MB (EFBIG, like FAT32's 4 GB)."""
    import resource
    import signal

    _desk_with_big_attachment(tmp_path, runtime, officer, 1_500_000)
    runtime.close()
    usb = tmp_path / "usb"
    usb.mkdir()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    command = [
        sys.executable,
        "-m",
        "mppdesk",
        "backup",
        "--to",
        str(usb),
        "--data-dir",
        str(data_dir),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, preexec_fn=limit, check=False
    )

    assert result.returncode == 1, result.stderr
    assert (
        "tidak dapat menampung berkas sebesar ini" in result.stderr
        and "tidak ada cadangan yang ditulis" in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert os.listdir(usb) == []


def test_a_missing_target_is_a_clear_message_and_nothing_is_created(tmp_path, data_dir, runtime):
    runtime.close()
    target = tmp_path / "media" / "usb"  # the stick is not plugged in

    result = run_cli("backup", "--to", str(target), data_dir=data_dir, env={"MPPDESK_LANG": "en"})

    assert result.returncode == 1
    assert "does not exist" in result.stderr and "mounted" in result.stderr  # in English
    assert "Traceback" not in result.stderr
    assert not target.exists() and not target.parent.exists()


def test_a_backup_from_another_desk_key_is_refused_and_nothing_written(
    tmp_path, data_dir, runtime, officer
):
    finalize(runtime, officer, KTP)
    usb = tmp_path / "usb"
    usb.mkdir()
    backup = make_backup(runtime, usb).path
    runtime.close()
    other_key = tmp_path / "other" / "desk.key"
    other_key.parent.mkdir()
    other_key.write_text(os.urandom(32).hex() + "\n")
    other_key.chmod(0o600)
    target = tmp_path / "new-pc"

    result = run_cli(
        "restore", str(backup), "--data-dir", str(target), env={"MPPDESK_KEY_FILE": str(other_key)}
    )

    assert result.returncode == 4, result.stderr
    assert "kunci desk lain" in result.stderr and "tidak ada yang dipulihkan" in result.stderr
    assert not target.exists()
    missing = run_cli(
        "restore",
        str(backup),
        "--data-dir",
        str(target),
        env={"MPPDESK_KEY_FILE": str(tmp_path / "nokey" / "desk.key")},
    )
    assert missing.returncode == 4 and "no desk key here" in missing.stderr
    assert not (tmp_path / "nokey").exists()  # no new key made up on the way


def test_restore_refuses_an_existing_desk_unless_forced(tmp_path, data_dir, runtime, officer):
    summary = finalize(runtime, officer, KTP)
    usb = tmp_path / "usb"
    usb.mkdir()
    backup = make_backup(runtime, usb).path
    runtime.close()
    other = tmp_path / "other-desk"
    open_runtime(other).close()  # someone ran `mppdesk init` on the new PC first

    refused = run_cli("restore", str(backup), "--data-dir", str(other))
    assert refused.returncode == 2 and "--force" in refused.stderr
    forced = run_cli("restore", str(backup), "--data-dir", str(other), "--force", "--json")
    assert forced.returncode == 0, forced.stderr

    report = json.loads(forced.stdout)
    aside = Path(report["moved_aside"])
    assert aside.parent == other and (aside / "mppdesk.sqlite").exists()
    listed = run_cli("submissions", "list", "--json", data_dir=other)
    assert [s["tracking_number"] for s in json.loads(listed.stdout)] == [summary.tracking_number]


def test_a_damaged_or_half_written_backup_is_refused(tmp_path, data_dir, runtime, officer):
    finalize(runtime, officer, KTP)
    usb = tmp_path / "usb"
    usb.mkdir()
    backup = make_backup(runtime, usb).path
    runtime.close()
    manifest = json.loads((backup / "manifest.json").read_text())
    attachment = next(f["path"] for f in manifest["files"] if f["path"].startswith("attach"))
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    blob = damaged / attachment
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    half = tmp_path / "half"
    shutil.copytree(backup, half)
    (half / "manifest.json").unlink()  # a backup that never finished
    target = tmp_path / "new-pc"

    bad = run_cli("restore", str(damaged), "--data-dir", str(target))
    assert bad.returncode == 1 and "rusak" in bad.stderr
    assert [p.name for p in target.iterdir()] == []  # the staging folder is gone
    partial = run_cli("restore", str(half), "--data-dir", str(target))
    assert partial.returncode == 1 and "bukan cadangan MPP Desk yang lengkap" in partial.stderr
    escaping = tmp_path / "escaping"
    shutil.copytree(backup, escaping)
    manifest["files"][0]["path"] = "../../etc/passwd"
    (escaping / "manifest.json").write_text(json.dumps(manifest))
    hostile = run_cli("restore", str(escaping), "--data-dir", str(target))
    assert hostile.returncode == 1 and "bukan jalur relatif di dalam cadangan" in hostile.stderr


def test_the_schedule_is_due_after_the_interval_and_retries_a_failure_later():
    now = Clock()()
    assert backup_due(BackupStatus(), 24, now)
    assert not backup_due(BackupStatus(last_success_at=now - timedelta(hours=23)), 24, now)
    assert backup_due(BackupStatus(last_success_at=now - timedelta(hours=25)), 24, now)
    failed = BackupStatus(
        last_attempt_at=now - timedelta(minutes=5), error_code="backup.target_full"
    )
    assert not backup_due(failed, 24, now)  # the USB disk is not back yet: not every tick
    assert backup_due(failed, 24, now + timedelta(minutes=15))
    assert not backup_due(BackupStatus(), 0, now)  # interval 0 turns the schedule off


def test_an_older_backup_is_migrated_on_restore_and_a_newer_one_refused(tmp_path):
    from mppdesk.store.backup import known_schema_versions

    old_desk = tmp_path / "old-desk"
    runtime = open_runtime(old_desk, migrate=False)
    try:
        runtime.store.migrate("0003")  # a desk still on an older MPP Desk
        usb = tmp_path / "usb"
        usb.mkdir()
        backup = make_backup(runtime, usb).path
    finally:
        runtime.close()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["schema_version"] == "0003"

    restored = restore_backup(backup, tmp_path / "new-pc")

    assert restored.schema_version != "0003" and restored.schema_version in known_schema_versions()
    assert restored.audit_ok
    newer = tmp_path / "newer"
    shutil.copytree(backup, newer)
    manifest["schema_version"] = "9999"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    refused = run_cli("restore", str(newer), "--data-dir", str(tmp_path / "third-pc"))
    assert refused.returncode == 1 and "MPP Desk yang lebih baru" in refused.stderr
    assert not (tmp_path / "third-pc").exists()


def test_the_status_file_keeps_a_code_and_params_and_still_reads_old_text(tmp_path):
    """Issue 11 item 2: a failure is stored as a catalog code, worded in either language;
    a status file written before the catalog (English text) is still shown as it was."""
    from mppdesk.desk.backup import BackupError, record_status

    at = Clock()()
    error = BackupError.of("backup.target_missing", target="/media/usb")
    record_status(tmp_path, at=at, result=None, error=error)
    raw = json.loads((tmp_path / "backup-status.json").read_text(encoding="utf-8"))
    assert raw["error_code"] == "backup.target_missing"
    assert raw["error_params"] == {"target": "/media/usb"}
    assert "last_error" not in raw  # no text to parse
    status = read_status(tmp_path)
    assert status.failed and "does not exist" in status.error_text("en")
    assert status.error_text("id").startswith("tujuan cadangan /media/usb tidak ada")

    record_status(tmp_path, at=at, result=None, error=OSError("disk on fire"))
    assert read_status(tmp_path).error_text("en") == "the backup failed: disk on fire"

    (tmp_path / "backup-status.json").write_text(
        json.dumps({"last_attempt_at": at.isoformat(), "last_error": "old words"}),
        encoding="utf-8",
    )
    old = read_status(tmp_path)
    assert old.failed and old.error_code is None and old.error_text("id") == "old words"
    assert not backup_due(old, 24, at)  # a failure just now: retried later, as before
