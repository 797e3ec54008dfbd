"""The finalize write path (mppdesk.store.finalize) on a real encrypted store.

Finalize writes on the DB-API connection instead of the ORM; these prove it keeps what the
session path guaranteed: all or nothing (the day's number too), rows the ORM reads back as
it wrote them, and an unbroken audit chain.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mppdesk.core.canonical import canonical_json
from mppdesk.desk.audit import verify_audit
from mppdesk.desk.counter import save_draft
from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.queries import info
from mppdesk.desk.runtime import open_runtime
from mppdesk.store import repo
from mppdesk.store.models import ApplicantNameToken
from tests.conftest import make_user
from tests.integration.test_intake import _three_service_visit, example_visit


def test_a_write_failing_at_its_last_table_stores_nothing_and_takes_no_number(runtime, officer):
    request = parse_visit(_three_service_visit())
    first = finalize_visit(runtime, officer, request)
    number_before = max(int(s.tracking_number.split("-")[-2]) for s in first.submissions)
    with runtime.store.read() as session:
        head_before = repo.audit_head(session)
    counts_before = info(runtime)["counts"]
    raw = runtime.store.raw_connection()
    try:
        # Audit events are inserted last: everything before them must be rolled back.
        raw.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        with pytest.raises(IntegrityError):
            finalize_visit(runtime, officer, request)
        raw.execute("DROP TRIGGER refuse")
    finally:
        raw.close()

    assert info(runtime)["counts"] == counts_before
    with runtime.store.read() as session:
        assert repo.audit_head(session) == head_before
    # The failed write took no number: the next visit continues right after the first.
    result = finalize_visit(runtime, officer, request)
    assert [int(s.tracking_number.split("-")[-2]) for s in result.submissions] == [
        number_before + 1, number_before + 2, number_before + 3
    ]
    assert verify_audit(runtime)["ok"]


def test_rows_read_back_through_the_orm_as_written(runtime, officer):
    visit = _three_service_visit()
    visit["proxy"] = {"nama": "Budi Santoso", "hubungan": "kakak"}
    result = finalize_visit(runtime, officer, parse_visit(visit))
    now = runtime.now()
    with runtime.store.read() as session:
        stored = repo.get_visit(session, result.visit_id)
        assert stored.status == "finalized" and stored.proxy == visit["proxy"]
        assert abs((stored.finalized_at - now).total_seconds()) < 60
        assert stored.finalized_at.tzinfo is not None
        for summary, submission, sent in zip(
            result.submissions, stored.submissions, visit["services"], strict=True
        ):
            assert submission.id == summary.submission_id
            assert submission.tracking_number == summary.tracking_number
            assert submission.sla_due == summary.sla_due
            assert submission.finalized_at == stored.finalized_at
            assert submission.service == sent["service"]
            (entry,) = submission.outbox
            payload = json.loads(entry.payload)
            # The tracking number is spliced into bytes canonicalised before the write: the
            # result must be exactly the canonical JSON of the whole payload, hash included.
            assert entry.payload == canonical_json(payload)
            assert entry.payload_sha256 == hashlib.sha256(entry.payload).hexdigest()
            assert payload["tracking_number"] == summary.tracking_number
            assert payload["submission_id"] == summary.submission_id
            assert submission.answers == payload["answers"] and submission.answers
            assert [
                {"id": c.requirement_id, "state": c.state}
                for c in sorted(submission.checklist, key=lambda c: c.position)
            ] == payload["checklist"]
            assert entry.created_at == stored.finalized_at
            assert entry.attachments_acked == {}
            assert entry.state in ("pending", "held")
            assert (entry.next_attempt_at is None) == (entry.state == "held")
    assert verify_audit(runtime)["ok"]


@pytest.fixture
def any_runtime(data_dir):
    """The desk's store (always SQLite: a desk on PostgreSQL is retired, issue 13)."""
    runtime = open_runtime(data_dir)
    yield runtime
    runtime.close()


def test_draft_visit_renamed_applicant_and_correction_on_either_store(any_runtime):
    """The statements only finalize runs: a draft row turned finalized, a merged profile with
    a new name (its search words replaced), a correction checked against the earlier one."""
    runtime = any_runtime
    actor = make_user(runtime, "ani", "officer")
    first = example_visit("dukcapil/ktp-el")
    earlier = finalize_visit(runtime, actor, parse_visit(first)).submissions[0]

    visit_id = save_draft(runtime, actor, None, {"ticket": "B-7"})
    second = example_visit("dukcapil/ktp-el")
    second["applicant"]["nama"] = "Zubaidah Qorinawati"
    second["services"][0]["supersedes"] = earlier.submission_id
    result = finalize_visit(runtime, actor, parse_visit(second), visit_id=visit_id)

    assert result.visit_id == visit_id and "nama" in result.applicant_changes
    with runtime.store.read() as session:
        stored = repo.get_visit(session, visit_id)
        assert (stored.status, stored.draft, stored.ticket) == ("finalized", None, "A-001")
        (submission,) = stored.submissions
        assert submission.supersedes_id == earlier.submission_id
        changes = repo.applicant_changes(session, result.applicant_id)
        assert {c.field for c in changes} >= {"nama"}
        # The search words are the new name's; the old name's are gone.
        tokens = session.scalars(
            select(ApplicantNameToken.token).where(
                ApplicantNameToken.applicant_id == result.applicant_id
            )
        )
        assert set(tokens) == repo.name_tokens("Zubaidah Qorinawati")
    with pytest.raises(InvalidInput) as again:
        finalize_visit(runtime, actor, parse_visit(second), visit_id=visit_id)
    assert [e.path for e in again.value.errors] == ["visit"]
    wrong = example_visit("dukcapil/ktp-el")
    wrong["services"][0]["supersedes"] = "no-such-submission"
    with pytest.raises(InvalidInput) as missing:
        finalize_visit(runtime, actor, parse_visit(wrong))
    assert [e.path for e in missing.value.errors] == ["services[0].supersedes"]
    assert verify_audit(runtime)["ok"]
