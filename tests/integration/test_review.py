"""Supervisor review on a real store: approve releases held entries, return and flag need a
reason, batches need the password again, every decision is audited and reaches the officer's
view; the ``mppdesk review`` command's exit codes; an approved submission really syncs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mppdesk.core.audit_chain import verify_chain
from mppdesk.core.states import ReviewState
from mppdesk.desk.errors import AuthError, InvalidInput, NotFound, PermissionDenied
from mppdesk.desk.review import approve, approve_batch, review
from mppdesk.desk.submission_views import SubmissionFilter, submissions_page
from mppdesk.store import repo
from mppdesk.store.models import AuditEvent, LoginAttempt, OutboxEntry, ReviewDecision, Submission
from tests.conftest import PASSWORD, run_cli
from tests.example_visits import HELD, KTP, agency_settings, finalize


def _entries(runtime, submission_id):
    with runtime.store.read() as session:
        return [
            (e.state, e.next_attempt_at)
            for e in session.scalars(
                select(OutboxEntry).where(OutboxEntry.submission_id == submission_id)
            )
        ]


def _submission(runtime, submission_id):
    with runtime.store.read() as session:
        s = session.get(Submission, submission_id)
        return s.status, s.review_state, s.review_reason


def _audit(runtime, submission_id):
    with runtime.store.read() as session:
        return [
            (e.action, e.actor, e.details)
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.object_id == submission_id)
                .order_by(AuditEvent.id)
            )
        ]


def test_approving_a_held_submission_releases_it_and_is_audited(runtime, officer, supervisor):
    held = finalize(runtime, officer, HELD)
    assert held.status == "held"
    assert [state for state, _ in _entries(runtime, held.submission_id)] == ["held"]

    outcome = approve(runtime, supervisor, held.submission_id)

    assert (outcome.decision, outcome.released, outcome.was_held) == ("approved", 1, True)
    [(state, due)] = _entries(runtime, held.submission_id)
    assert state == "pending" and due is not None
    assert _submission(runtime, held.submission_id) == ("queued", "approved", None)
    action, actor, details = _audit(runtime, held.submission_id)[-1]
    assert (action, actor, details["released"], details["status_before"]) == (
        "review.approved",
        "sari",
        1,
        "held",
    )
    # The officer's own submissions view shows the decision.
    [row] = [
        r
        for r in submissions_page(runtime, officer, SubmissionFilter())
        if r.id == held.submission_id
    ]
    assert row.review_state == "approved" and row.status == "queued"
    with runtime.store.read() as session:
        assert verify_chain(repo.audit_events(session)) is None


def test_approving_one_that_is_not_held_records_the_decision_only(runtime, officer, supervisor):
    queued = finalize(runtime, officer, KTP)
    outcome = approve(runtime, supervisor, queued.submission_id)
    assert (outcome.released, outcome.was_held) == (0, False)
    assert _submission(runtime, queued.submission_id) == ("queued", "approved", None)
    # Approving again is recorded again, and still releases nothing.
    assert approve(runtime, supervisor, queued.submission_id).released == 0
    decided = [a for a, _, _ in _audit(runtime, queued.submission_id) if a.startswith("review.")]
    assert decided == ["review.approved", "review.approved"]


@pytest.mark.parametrize("state", [ReviewState.RETURNED, ReviewState.FLAGGED])
def test_return_and_flag_keep_it_held_and_need_a_reason(runtime, officer, supervisor, state):
    # The review dialog, the CLI and the hub all decide through ``review``.
    def decide(rt, actor, submission_id, reason):
        return review(rt, actor, submission_id, state, reason)

    held = finalize(runtime, officer, HELD)
    with pytest.raises(InvalidInput) as caught:
        decide(runtime, supervisor, held.submission_id, "   ")
    assert caught.value.errors[0].path == "reason"

    outcome = decide(runtime, supervisor, held.submission_id, "  Foto  BPKB\tburam ")
    assert outcome.reason == "Foto BPKB buram" and outcome.released == 0
    assert _submission(runtime, held.submission_id) == ("held", state, "Foto BPKB buram")
    assert [s for s, _ in _entries(runtime, held.submission_id)] == ["held"]
    action, _actor, details = _audit(runtime, held.submission_id)[-1]
    assert action == f"review.{state}" and details["reason"] == "Foto BPKB buram"
    # The officer sees the returned / flagged state and the reason is on the submission.
    [row] = submissions_page(runtime, officer, SubmissionFilter())
    assert row.review_state == state


def test_an_officer_may_not_review(runtime, officer):
    held = finalize(runtime, officer, HELD)
    with pytest.raises(PermissionDenied):
        approve(runtime, officer, held.submission_id)
    with pytest.raises(PermissionDenied):
        approve_batch(runtime, officer, [held.submission_id], PASSWORD)
    assert _submission(runtime, held.submission_id)[1] == "unreviewed"


def test_unknown_submission(runtime, supervisor):
    with pytest.raises(NotFound):
        approve(runtime, supervisor, "no-such-id")


def test_batch_approval_needs_the_password_and_is_all_or_nothing(runtime, officer, supervisor):
    held = [finalize(runtime, officer, HELD, ticket=f"B-{i}").submission_id for i in range(3)]

    with pytest.raises(AuthError):
        approve_batch(runtime, supervisor, held, "wrong-password")
    assert {_submission(runtime, s)[0] for s in held} == {"held"}
    with runtime.store.read() as session:
        failures = session.scalars(
            select(LoginAttempt).where(LoginAttempt.username == "sari", LoginAttempt.ok.is_(False))
        ).all()
        assert len(failures) == 1  # it counts toward the lockout
        assert repo.count_audit(session, "password.confirm_failed", "sari") == 1

    with pytest.raises(NotFound):
        approve_batch(runtime, supervisor, [*held, "no-such-id"], PASSWORD)
    assert {_submission(runtime, s)[0] for s in held} == {"held"}

    outcomes = approve_batch(runtime, supervisor, held, PASSWORD)
    assert [o.released for o in outcomes] == [1, 1, 1]
    assert {_submission(runtime, s) for s in held} == {("queued", "approved", None)}
    assert {s for sid in held for s, _ in _entries(runtime, sid)} == {"pending"}
    with runtime.store.read() as session:
        decisions = session.scalars(select(ReviewDecision)).all()
        assert len(decisions) == 3 and all(d.actor == "sari" for d in decisions)
        for sid in held:
            [(action, _a, details)] = [a for a in _audit(runtime, sid) if a[0] == "review.approved"]
            assert details["batch"] is True


def test_an_approved_submission_is_sent(runtime, officer, supervisor, agency_sim):
    """The held submission goes nowhere until approved; then the worker delivers it."""
    from mppdesk.sync.worker import SyncWorker
    from tests.example_visits import Clock

    held = finalize(runtime, officer, HELD)
    runtime.settings = agency_settings(
        runtime.settings, {held.agency: agency_sim.agency_url(held.agency)}
    )
    clock = Clock()
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=clock)
    try:
        worker.run_once()
        assert agency_sim.stats(held.agency)["submissions"] == 0
        approve(runtime, supervisor, held.submission_id)
        clock.advance(5)
        worker.run_once()
    finally:
        worker.close()
    assert [s for s, _ in _entries(runtime, held.submission_id)] == ["done"]
    assert agency_sim.stats(held.agency)["submissions"] == 1
    assert _submission(runtime, held.submission_id)[0] == "accepted"


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def cli_store(data_dir):
    """A data dir with an officer, a supervisor and one held submission; closed for the CLI."""
    from mppdesk.desk.runtime import open_runtime
    from tests.conftest import make_user

    runtime = open_runtime(data_dir)
    try:
        officer = make_user(runtime, "ani", "officer")
        make_user(runtime, "sari", "supervisor")
        held = finalize(runtime, officer, HELD)
    finally:
        runtime.close()
    return data_dir, held.submission_id


def test_cli_review(cli_store):
    import json

    data_dir, submission_id = cli_store
    ok = run_cli(
        "review",
        submission_id,
        "--approve",
        "--user",
        "sari",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["released"] == 1

    again = run_cli(
        "review",
        submission_id,
        "--approve",
        "--user",
        "sari",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert again.returncode == 0, again.stderr  # not held any more: recorded, exit 0

    flagged = run_cli(
        "review",
        submission_id,
        "--flag",
        "cek ulang NIK",
        "--user",
        "sari",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert flagged.returncode == 0, flagged.stderr

    unknown = run_cli(
        "review",
        "no-such-id",
        "--approve",
        "--user",
        "sari",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert unknown.returncode == 2 and "no-such-id" in unknown.stderr

    wrong = run_cli(
        "review",
        submission_id,
        "--approve",
        "--user",
        "sari",
        "--password-stdin",
        stdin="nope\n",
        data_dir=data_dir,
    )
    assert wrong.returncode == 4

    by_officer = run_cli(
        "review",
        submission_id,
        "--return",
        "alasan",
        "--user",
        "ani",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert by_officer.returncode == 4
    assert "officer" in by_officer.stderr and "review" in by_officer.stderr

    empty_reason = run_cli(
        "review",
        submission_id,
        "--return",
        " ",
        "--user",
        "sari",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert empty_reason.returncode == 2 and "reason" in empty_reason.stderr
