"""Retention: finished, delivered submissions lose their personal data after the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from mppdesk.desk.auth import os_actor
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.retention import purge
from mppdesk.store.models import OutboxEntry, Submission
from tests.conftest import cli_json, run_cli
from tests.integration.test_intake import example_visit

SERVICE_WITH_FILE = "dukcapil/ktp-el"


def _finish(runtime, submission_id: str, status: str, days_ago: int, delivered: bool = True) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with runtime.store.write() as session:
        session.execute(update(Submission).where(Submission.id == submission_id)
                        .values(agency_status=status, agency_updated_at=at))
        if delivered:
            session.execute(update(OutboxEntry).where(OutboxEntry.submission_id == submission_id)
                            .values(state="done", delivered_at=at))


def _store_bytes(runtime) -> bytes:
    """What the store holds as readable bytes: the file itself, or a decrypted copy of it."""
    path = runtime.store.path
    if runtime.store.encrypted:
        plain = path.with_name("plaintext-copy.sqlite")
        plain.unlink(missing_ok=True)
        raw = runtime.store.raw_connection()
        try:
            raw.execute(f"ATTACH DATABASE '{plain}' AS plain KEY ''")
            raw.execute("SELECT sqlcipher_export('plain')")
            raw.execute("DETACH DATABASE plain")
        finally:
            raw.close()
        data = plain.read_bytes()
        plain.unlink()
        return data
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture(params=["encrypted", "plain"])
def runtime(request, data_dir):
    """Both kinds of store: encrypted (default) and plain, whose freed pages are overwritten."""
    from mppdesk.desk.runtime import open_runtime

    if request.param == "plain":
        (data_dir / "settings.toml").write_text("[desk]\nencrypt = false\n")
    rt = open_runtime(data_dir)
    assert rt.store.encrypted is (request.param == "encrypted")
    yield rt
    rt.close()


def test_purge_only_what_is_finished_delivered_and_old(runtime, officer):
    visits = [example_visit(SERVICE_WITH_FILE) for _ in range(4)]
    niks = ["3174014506900011", "3174014506900012", "3174014506900013", "3174014506900014"]
    results = []
    for visit, nik in zip(visits, niks, strict=True):
        visit["applicant"]["nik"] = nik
        results.append(finalize_visit(runtime, officer, parse_visit(visit)).submissions[0])
    old, recent, undelivered, processing = results
    _finish(runtime, old.submission_id, "completed", days_ago=400)
    _finish(runtime, recent.submission_id, "completed", days_ago=10)
    _finish(runtime, undelivered.submission_id, "completed", days_ago=400, delivered=False)
    _finish(runtime, processing.submission_id, "processing", days_ago=400)

    dry = purge(runtime, os_actor(), dry_run=True)
    assert dry.submissions == (old.tracking_number,)
    assert niks[0].encode() in _store_bytes(runtime)

    report = purge(runtime, os_actor())
    assert report.submissions == (old.tracking_number,)
    assert report.applicants_forgotten == 1
    runtime.store.checkpoint()
    stored = _store_bytes(runtime)
    assert niks[0].encode() not in stored, "purged NIK still in the store file or WAL"
    for kept in niks[1:]:
        assert kept.encode() in stored
    with runtime.store.read() as session:
        purged = session.get(Submission, old.submission_id)
        assert purged.answers == {} and purged.purged_at is not None
        assert purged.tracking_number == old.tracking_number
    assert purge(runtime, os_actor()).submissions == ()  # nothing twice


def test_cli_purge_dry_run(data_dir, runtime, officer):
    result = finalize_visit(runtime, officer, parse_visit(example_visit(SERVICE_WITH_FILE)))
    _finish(runtime, result.submissions[0].submission_id, "completed", days_ago=999)
    runtime.close()
    dry = run_cli("purge", "--dry-run", "--json", data_dir=data_dir)
    assert dry.returncode == 0, dry.stderr
    assert cli_json(dry)["submissions"] == [result.submissions[0].tracking_number]
    assert cli_json(run_cli("purge", "--dry-run", "--json", data_dir=data_dir))["submissions"]
    done = cli_json(run_cli("purge", "--json", data_dir=data_dir))
    assert done["dry_run"] is False and len(done["submissions"]) == 1


def test_purge_refuses_a_clock_far_ahead_of_the_newest_record(runtime, officer):
    """Issue 10 item 8: a clock far ahead made purge list submissions it must keep."""
    from mppdesk.desk.retention import ClockImplausible

    result = finalize_visit(runtime, officer, parse_visit(example_visit(SERVICE_WITH_FILE)))
    submission = result.submissions[0]
    _finish(runtime, submission.submission_id, "completed", days_ago=1)  # within retention
    real = datetime.now(UTC)
    runtime.clock = lambda: real + timedelta(days=400)  # a year ahead: it would look old
    for dry_run in (True, False):
        with pytest.raises(ClockImplausible, match="400 hari"):
            purge(runtime, os_actor(), dry_run=dry_run)
    with runtime.store.read() as session:
        assert session.get(Submission, submission.submission_id).purged_at is None
    runtime.clock = lambda: real + timedelta(days=1)  # a day ahead is plausible
    assert purge(runtime, os_actor()).submissions == ()


def test_cli_purge_refuses_when_nothing_was_recorded_for_days(data_dir, runtime, officer):
    """Everything was written 30 days ago (as a clock jump forward would make it look): the
    command refuses, purges nothing, and ``--trust-clock`` is the explicit way through."""
    from sqlalchemy import text

    result = finalize_visit(runtime, officer, parse_visit(example_visit(SERVICE_WITH_FILE)))
    submission = result.submissions[0]
    _finish(runtime, submission.submission_id, "completed", days_ago=999)
    month_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    with runtime.store.write() as session:
        for table, column in (("audit_events", "at"), ("login_attempts", "at"),
                              ("visits", "updated_at"), ("submissions", "finalized_at"),
                              ("outbox", "created_at"), ("outbox", "last_attempt_at")):
            session.execute(text(f"UPDATE {table} SET {column} = :at WHERE {column} IS NOT NULL"),
                            {"at": month_ago})
    runtime.close()
    refused = run_cli("purge", "--json", data_dir=data_dir)
    assert refused.returncode == 1
    assert "30 hari" in refused.stderr and "--trust-clock" in refused.stderr
    assert "Traceback" not in refused.stderr and refused.stdout == ""
    listed = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
    assert listed[0]["submission_id"] == submission.submission_id
    trusted = run_cli("purge", "--json", "--trust-clock", data_dir=data_dir)
    assert trusted.returncode == 0, trusted.stderr
    assert cli_json(trusted)["submissions"] == [submission.tracking_number]


def _age_supersession(runtime, superseding_id: str, days_ago: int) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with runtime.store.write() as session:
        session.execute(update(Submission).where(Submission.id == superseding_id)
                        .values(finalized_at=at))


def test_a_superseded_submission_never_sent_is_purged_after_the_period(runtime, officer):
    """Issue 12: a submission cancelled (superseded) before it was sent has its entries
    withdrawn and no agency status; it used to be kept forever. It is purged once the
    retention period has passed since its supersession, never before, and never when one of
    its entries was sent (the agency has it: it waits for the agency's answer)."""
    from mppdesk.desk import corrections

    niks = ["3174014506900021", "3174014506900022", "3174014506900023"]
    made = []
    for nik in niks:
        visit = example_visit(SERVICE_WITH_FILE)
        visit["applicant"]["nik"] = nik
        made.append(finalize_visit(runtime, officer, parse_visit(visit)).submissions[0])
    old, recent, sent = made
    with runtime.store.write() as session:  # one entry of ``sent`` reached the agency
        session.execute(update(OutboxEntry).where(OutboxEntry.submission_id == sent.submission_id)
                        .values(state="done", delivered_at=datetime.now(UTC)))
    cancels = {
        s.submission_id: corrections.cancel(runtime, officer, s.tracking_number, "Batal")
        for s in made
    }
    with runtime.store.read() as session:
        states = {e.state for e in session.query(OutboxEntry)
                  .filter(OutboxEntry.submission_id == old.submission_id)}
        assert states == {"superseded"}
        assert session.get(Submission, old.submission_id).agency_status is None
    _age_supersession(runtime, cancels[old.submission_id].submission_id, days_ago=400)
    _age_supersession(runtime, cancels[recent.submission_id].submission_id, days_ago=10)
    _age_supersession(runtime, cancels[sent.submission_id].submission_id, days_ago=400)

    # The unsent cancellation of ``old`` goes with it (loops2): it never went out either.
    expected = {old.tracking_number, cancels[old.submission_id].tracking_number}
    assert set(purge(runtime, os_actor(), dry_run=True).submissions) == expected
    report = purge(runtime, os_actor())
    assert set(report.submissions) == expected
    with runtime.store.read() as session:
        gone = session.get(Submission, old.submission_id)
        assert gone.answers == {} and gone.purged_at is not None
        assert all(e.payload == b"" for e in session.query(OutboxEntry)
                   .filter(OutboxEntry.submission_id == old.submission_id))
        assert session.get(Submission, recent.submission_id).purged_at is None
        assert session.get(Submission, sent.submission_id).purged_at is None
    assert purge(runtime, os_actor()).submissions == ()  # nothing twice


def test_printouts_past_the_period_are_deleted_by_the_same_run(runtime, officer, data_dir):
    """Issue 12: receipts kept as PDF in <data dir>/printouts (no printer) hold personal
    data; the retention run deletes those older than the period (dry run only counts them),
    keeps recent ones, other files, links and sub-folders, and audits the deletion."""
    import os

    from mppdesk.desk.retention import PRINTOUTS_DIR
    from mppdesk.store.models import AuditEvent
    from mppdesk.ui.done import PRINTOUTS_DIR as UI_PRINTOUTS_DIR

    assert PRINTOUTS_DIR == UI_PRINTOUTS_DIR  # the folder the done page writes
    assert purge(runtime, os_actor()).printouts_deleted == 0  # no folder: nothing to do
    folder = runtime.data_dir / PRINTOUTS_DIR
    folder.mkdir(mode=0o700)
    old_stamp = (datetime.now(UTC) - timedelta(days=400)).timestamp()
    new_stamp = (datetime.now(UTC) - timedelta(days=10)).timestamp()
    future = (datetime.now(UTC) + timedelta(days=400)).timestamp()
    files = {
        "receipt-OLD.pdf": old_stamp,
        "slip-OLD.PDF": old_stamp,
        "receipt-NEW.pdf": new_stamp,
        "receipt-FUTURE.pdf": future,  # a wrong clock's date: kept
        "notes.txt": old_stamp,  # not the desk's PDF
    }
    for name, stamp in files.items():
        (folder / name).write_bytes(b"%PDF-1.4 3174014506900031")
        os.utime(folder / name, (stamp, stamp))
    outside = data_dir.parent / "elsewhere.pdf"
    outside.write_bytes(b"%PDF-1.4 not ours")
    os.utime(outside, (old_stamp, old_stamp))
    (folder / "link.pdf").symlink_to(outside)
    (folder / "sub.pdf").mkdir()

    dry = purge(runtime, os_actor(), dry_run=True)
    assert (dry.printouts_deleted, dry.as_dict()["printouts_deleted"]) == (2, 2)
    assert (folder / "receipt-OLD.pdf").exists()

    report = purge(runtime, os_actor())
    assert (report.printouts_deleted, report.printouts_failed) == (2, 0)
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["link.pdf", "notes.txt", "receipt-FUTURE.pdf", "receipt-NEW.pdf", "sub.pdf"]
    assert outside.exists()
    with runtime.store.read() as session:
        audit = [e for e in session.query(AuditEvent)
                 if e.action == "retention.printouts_deleted"]
    assert len(audit) == 1 and audit[0].details["deleted"] == 2
    assert purge(runtime, os_actor()).printouts_deleted == 0
