"""Issue 12 leftover (loops2): the cancellation of a submission that was never sent is
purged by retention like the other finished submissions, with the runtime's clock moved
forward past the period (real SQLite store, real retention run)."""

from __future__ import annotations

from datetime import timedelta

from mppdesk.desk import corrections
from mppdesk.desk.auth import os_actor
from mppdesk.desk.retention import purge
from mppdesk.store.models import Applicant, OutboxEntry, Submission
from tests.example_visits import KTP, finalize


def test_an_unsent_cancellation_is_purged_after_the_period_and_the_applicant_forgotten(
    runtime, officer
):
    original = finalize(runtime, officer, KTP)
    cancel = corrections.cancel(runtime, officer, original.tracking_number, "Pemohon batal")
    assert not cancel.sent  # nothing reached an agency: the cancellation never goes out
    with runtime.store.read() as session:
        assert session.query(OutboxEntry).filter_by(submission_id=cancel.submission_id).count() == 0
        applicant_id = session.get(Submission, original.submission_id).applicant_id
    days = runtime.settings.desk.retention_days
    real = runtime.clock

    runtime.clock = lambda: real() + timedelta(days=days - 1)  # still within the period
    assert purge(runtime, os_actor(), trust_clock=True).submissions == ()

    runtime.clock = lambda: real() + timedelta(days=days + 1)  # past it
    dry = purge(runtime, os_actor(), dry_run=True, trust_clock=True)
    assert set(dry.submissions) == {original.tracking_number, cancel.tracking_number}
    report = purge(runtime, os_actor(), trust_clock=True)
    assert set(report.submissions) == {original.tracking_number, cancel.tracking_number}
    assert report.applicants_forgotten == 1
    with runtime.store.read() as session:
        gone = session.get(Submission, cancel.submission_id)
        assert gone.purged_at is not None and gone.answers == {}
        person = session.get(Applicant, applicant_id)
        assert person.purged_at is not None and person.name == "" and person.profile == {}
    assert purge(runtime, os_actor(), trust_clock=True).submissions == ()  # nothing twice


def test_a_sent_cancellation_still_waits_for_the_agency(runtime, officer):
    """A cancellation that must go out (the original reached the agency) is not purged by
    age alone: it waits, like every sent submission, for delivery and the agency's answer."""
    from sqlalchemy import update

    original = finalize(runtime, officer, KTP)
    with runtime.store.write() as session:
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.submission_id == original.submission_id)
            .values(state="done", delivered_at=runtime.now())
        )
    cancel = corrections.cancel(runtime, officer, original.tracking_number, "Pemohon batal")
    assert cancel.sent
    real = runtime.clock
    runtime.clock = lambda: real() + timedelta(days=runtime.settings.desk.retention_days + 1)
    assert purge(runtime, os_actor(), trust_clock=True).submissions == ()
