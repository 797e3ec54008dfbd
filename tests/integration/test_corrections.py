"""Corrections and cancellations on a real store, delivered to the real reference agency server
on loopback: a superseded submission not yet sent never reaches the agency; one already sent
is followed there by the new one naming it in ``supersedes``; a superseded one can no longer
be approved; nobody approves their own intake; a return shows its reason until corrected."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import select

from mppdesk.core.states import OutboxState, ReviewState, SubmissionStatus
from mppdesk.desk import corrections
from mppdesk.desk.errors import InvalidInput, PermissionDenied
from mppdesk.desk.intake import finalize_visit
from mppdesk.desk.queries import list_submissions
from mppdesk.desk.review import approve, review
from mppdesk.desk.submission_views import SubmissionFilter, submissions_page
from mppdesk.store import outbox
from mppdesk.store import review as review_store
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.sync.worker import SyncWorker
from tests.conftest import make_user
from tests.example_visits import HELD, KTP, Clock, agency_settings, finalize


def _states(runtime, submission_id: str) -> tuple[str, list[str]]:
    with runtime.store.read() as session:
        submission = session.get(Submission, submission_id)
        entries = session.scalars(
            select(OutboxEntry.state).where(OutboxEntry.submission_id == submission_id)
        ).all()
        return submission.status, sorted(entries)


def _received(handle, agency: str) -> list[dict]:
    """The bodies the agency stored, in the order it received them."""
    with sqlite3.connect(handle.db_path) as db:
        rows = db.execute(
            "SELECT body FROM submissions WHERE agency = ? ORDER BY seq", (agency,)
        ).fetchall()
    return [json.loads(row[0]) for row in rows]


def _correct(runtime, actor, reference: str):
    draft = corrections.correction_of(runtime, actor, reference)
    (summary,) = finalize_visit(runtime, actor, draft.request(runtime.blobs.get)).submissions
    return summary


def _sync(runtime, handle, agency: str, clock: Clock) -> None:
    runtime.settings = agency_settings(runtime.settings, {agency: handle.agency_url(agency)})
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=clock)
    try:
        worker.run_once()
    finally:
        worker.close()


@pytest.fixture
def clock():
    return Clock()


def test_a_correction_of_an_unsent_submission_is_the_only_one_the_agency_gets(
    runtime, officer, agency_sim, clock
):
    original = finalize(runtime, officer, KTP)
    correction = _correct(runtime, officer, original.tracking_number)

    assert _states(runtime, original.submission_id) == ("superseded", ["superseded"])
    _sync(runtime, agency_sim, original.agency, clock)

    bodies = _received(agency_sim, original.agency)
    assert [b["submission_id"] for b in bodies] == [correction.submission_id]
    assert bodies[0]["supersedes"] == original.submission_id
    assert _states(runtime, original.submission_id) == ("superseded", ["superseded"])
    assert _states(runtime, correction.submission_id)[1] == ["done"]


def test_a_sent_submission_is_followed_by_its_correction_marked_as_superseding(
    runtime, officer, agency_sim, clock
):
    original = finalize(runtime, officer, KTP)
    _sync(runtime, agency_sim, original.agency, clock)
    assert _states(runtime, original.submission_id)[1] == ["done"]

    correction = _correct(runtime, officer, original.tracking_number)
    # Sent already: nothing to withdraw, the entry stays delivered.
    assert _states(runtime, original.submission_id) == ("superseded", ["done"])
    clock.advance(5)
    _sync(runtime, agency_sim, original.agency, clock)

    bodies = _received(agency_sim, original.agency)
    assert [b["submission_id"] for b in bodies] == [
        original.submission_id,
        correction.submission_id,
    ]
    assert bodies[1]["supersedes"] == original.submission_id
    assert bodies[1]["answers"] == bodies[0]["answers"]


def test_a_correction_waits_while_the_one_it_replaces_is_in_flight(runtime, officer):
    original = finalize(runtime, officer, KTP)
    now = runtime.now()
    with runtime.store.write() as session:
        [entry_id] = session.scalars(
            select(OutboxEntry.id).where(OutboxEntry.submission_id == original.submission_id)
        ).all()
        assert outbox.claim_many(session, [entry_id], "worker-a", now, 30.0) == [entry_id]
    correction = _correct(runtime, officer, original.tracking_number)
    # In flight: the sender's, not withdrawn.
    assert _states(runtime, original.submission_id) == ("superseded", ["in_flight"])
    with runtime.store.write() as session:
        [new_entry] = session.scalars(
            select(OutboxEntry.id).where(OutboxEntry.submission_id == correction.submission_id)
        ).all()
        assert outbox.claim_many(session, [new_entry], "worker-b", now, 30.0) == []
    # The first sender died: its lease runs out; a claim withdraws the old entry for good
    # and only then takes the correction.
    later = now + timedelta(seconds=60)
    with runtime.store.write() as session:
        assert outbox.claim_many(session, [entry_id], "worker-b", later, 30.0) == []
        assert outbox.claim_many(session, [new_entry], "worker-b", later, 30.0) == [new_entry]
    assert _states(runtime, original.submission_id) == ("superseded", ["superseded"])


def test_a_submission_is_replaced_once(runtime, officer):
    original = finalize(runtime, officer, KTP)
    first = _correct(runtime, officer, original.tracking_number)
    with pytest.raises(InvalidInput) as refused:
        corrections.correction_of(runtime, officer, original.submission_id)
    assert first.tracking_number in refused.value.text("en")
    # Also through a visit naming it directly (the headless intake).
    draft_of_first = corrections.correction_of(runtime, officer, first.tracking_number)
    stale = draft_of_first.request(runtime.blobs.get)
    from dataclasses import replace

    stale = replace(
        stale, services=(replace(stale.services[0], supersedes=original.tracking_number),)
    )
    with pytest.raises(InvalidInput) as again:
        finalize_visit(runtime, officer, stale)
    assert again.value.errors[0].path == "services[0].supersedes"
    assert first.tracking_number in again.value.text("en")


def test_a_superseded_held_submission_cannot_be_approved_and_leaves_the_queue(
    runtime, officer, supervisor
):
    original = finalize(runtime, officer, HELD)
    with runtime.store.read() as session:
        assert [line.id for line in review_store.approval_queue(session)[1]] == [
            original.submission_id
        ]
        [line] = review_store.approval_queue(session)[1]
        assert line.applicant_name  # the queue names the applicant
    review(runtime, supervisor, original.submission_id, ReviewState.RETURNED, "Foto buram")
    assert corrections.open_returns(runtime, officer) == 1
    with runtime.store.read() as session:
        assert review_store.approval_queue(session) == (0, [])  # the officer's turn now
    rows = list_submissions(runtime, officer)
    assert rows[0]["review_reason"] == "Foto buram"

    correction = _correct(runtime, officer, original.tracking_number)
    assert corrections.open_returns(runtime, officer) == 0
    assert _states(runtime, original.submission_id) == ("superseded", ["superseded"])
    with pytest.raises(InvalidInput) as refused:
        approve(runtime, supervisor, original.tracking_number)
    assert correction.tracking_number in refused.value.text("id")
    with runtime.store.read() as session:
        total, lines = review_store.approval_queue(session)
    assert (total, [line.id for line in lines]) == (1, [correction.submission_id])
    outcome = approve(runtime, supervisor, correction.tracking_number)
    assert outcome.released == 1

    listed = {r["tracking_number"]: r for r in list_submissions(runtime, officer)}
    assert listed[original.tracking_number]["superseded_by"] == correction.tracking_number
    assert listed[correction.tracking_number]["supersedes"] == original.tracking_number
    [row] = [
        r
        for r in submissions_page(runtime, officer, SubmissionFilter())
        if r.id == original.submission_id
    ]
    assert row.review_reason == "Foto buram"
    assert row.superseded_by == correction.tracking_number


def test_nobody_approves_their_own_intake(runtime, supervisor):
    own = finalize(runtime, supervisor, HELD)
    with pytest.raises(PermissionDenied) as refused:
        approve(runtime, supervisor, own.submission_id)
    assert own.tracking_number in refused.value.text("en")
    other = make_user(runtime, "budi", "supervisor")
    assert approve(runtime, other, own.tracking_number).released == 1


def test_cancelling_an_unsent_submission_sends_nothing(runtime, officer, agency_sim, clock):
    original = finalize(runtime, officer, KTP)
    outcome = corrections.cancel(runtime, officer, original.tracking_number, "Salah layanan")
    assert (outcome.sent, outcome.withdrawn) == (False, 1)
    assert _states(runtime, original.submission_id) == ("superseded", ["superseded"])
    assert _states(runtime, outcome.submission_id) == (SubmissionStatus.FINALIZED, [])
    _sync(runtime, agency_sim, original.agency, clock)
    assert _received(agency_sim, original.agency) == []


def test_cancelling_a_sent_submission_sends_the_cancellation(runtime, officer, agency_sim, clock):
    original = finalize(runtime, officer, KTP)
    _sync(runtime, agency_sim, original.agency, clock)
    outcome = corrections.cancel(runtime, officer, original.submission_id, "Pemohon membatalkan")
    assert (outcome.sent, outcome.withdrawn) == (True, 0)
    clock.advance(5)
    _sync(runtime, agency_sim, original.agency, clock)
    first, cancellation = _received(agency_sim, original.agency)
    assert first["submission_id"] == original.submission_id
    assert cancellation["submission_id"] == outcome.submission_id
    assert cancellation["supersedes"] == original.submission_id
    assert cancellation["answers"] == {"_cancel": True}
    assert cancellation["applicant"] == first["applicant"]
    assert cancellation["tracking_number"] == outcome.tracking_number
    assert _states(runtime, outcome.submission_id)[1] == [OutboxState.DONE]
    with pytest.raises(InvalidInput):  # a cancellation is final
        corrections.correction_of(runtime, officer, outcome.tracking_number)
    with pytest.raises(InvalidInput):
        corrections.cancel(runtime, officer, original.tracking_number, "lagi")
    with pytest.raises(InvalidInput):
        corrections.cancel(runtime, officer, outcome.tracking_number, "   ")


# --- the commands ---------------------------------------------------------------------------


def _as(user: str, *args: str, data_dir):
    from tests.conftest import PASSWORD, run_cli

    return run_cli(
        *args, "--user", user, "--password-stdin", stdin=PASSWORD + "\n", data_dir=data_dir
    )


@pytest.fixture
def cli_desk(data_dir):
    """A closed data dir: officer ani, supervisors sari and budi; ani took in a held one,
    sari one of her own."""
    from mppdesk.desk.runtime import open_runtime

    runtime = open_runtime(data_dir)
    try:
        ani = make_user(runtime, "ani", "officer")
        sari = make_user(runtime, "sari", "supervisor")
        make_user(runtime, "budi", "supervisor")
        held = finalize(runtime, ani, HELD)
        own = finalize(runtime, sari, HELD, ticket="A-002")
    finally:
        runtime.close()
    return data_dir, held.tracking_number, own.tracking_number


@pytest.mark.slow  # ten commands, each a process of its own
def test_cli_return_correct_refuse_cancel_by_tracking_number(cli_desk, tmp_path):
    from tests.conftest import cli_json, run_cli

    data_dir, held, own = cli_desk
    mine = _as("sari", "review", own, "--approve", data_dir=data_dir)
    assert mine.returncode == 4, mine.stderr
    assert own in mine.stderr and "Traceback" not in mine.stderr

    returned = _as("sari", "review", held, "--return", "Foto STNK buram", data_dir=data_dir)
    assert returned.returncode == 0, returned.stderr
    listed = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
    [row] = [r for r in listed if r["tracking_number"] == held]
    assert (row["review_state"], row["review_reason"]) == ("returned", "Foto STNK buram")

    work = tmp_path / "koreksi"
    work.mkdir()
    visit_file = work / "visit.json"
    written = _as("ani", "correct", held.lower(), "-o", str(visit_file), data_dir=data_dir)
    assert written.returncode == 0, written.stderr
    document = json.loads(visit_file.read_text(encoding="utf-8"))
    [service] = document["services"]
    assert service["supersedes"] == row["submission_id"]
    assert all((work / name).is_file() for name in service["attachments"])

    stored = _as("ani", "intake", "--input", str(visit_file), "--json", data_dir=data_dir)
    assert stored.returncode == 0, stored.stderr
    [new] = cli_json(stored)["submissions"]

    refused = _as("budi", "review", held, "--approve", data_dir=data_dir)
    assert refused.returncode == 2, refused.stderr
    assert new["tracking_number"] in refused.stderr

    listed = {r["tracking_number"]: r for r in cli_json(run_cli(
        "submissions", "list", "--json", data_dir=data_dir
    ))}
    assert listed[held]["superseded_by"] == new["tracking_number"]
    assert listed[held]["status"] == "superseded"
    assert listed[new["tracking_number"]]["supersedes"] == held

    cancelled = _as(
        "ani", "cancel", new["tracking_number"], "--reason", "Pemohon batal", "--json",
        data_dir=data_dir,
    )
    assert cancelled.returncode == 0, cancelled.stderr
    outcome = cli_json(cancelled)
    assert outcome["cancels_tracking_number"] == new["tracking_number"]
    assert outcome["sent"] is False  # held, never approved: nothing reached the agency
