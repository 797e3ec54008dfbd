"""Every review, report and survey operation against every role, checked in the desk layer
(the same functions the UI and the CLI call): a table of who may do what."""

from __future__ import annotations

import pytest

from mppdesk.core.states import ReviewState
from mppdesk.desk import reports, review, submission_views, survey
from mppdesk.desk.errors import PermissionDenied
from mppdesk.store.models import SURVEY_COLUMNS
from tests.conftest import PASSWORD, make_user
from tests.example_visits import HELD, KTP, finalize

ROLES = ("officer", "supervisor", "admin")
SCORES = dict.fromkeys(SURVEY_COLUMNS, 3)


def _other_desk(runtime, submission) -> str:
    """Move the submission's visit to another desk (a shared store holds many)."""
    raw = runtime.store.raw_connection()
    try:
        raw.execute(
            "UPDATE visits SET desk = 'K99' WHERE id = "
            "(SELECT visit_id FROM submissions WHERE id = ?)",
            (submission.submission_id,),
        )
        return raw.execute(
            "SELECT visit_id FROM submissions WHERE id = ?", (submission.submission_id,)
        ).fetchone()[0]
    finally:
        raw.close()


def _visit_of(runtime, submission) -> str:
    raw = runtime.store.raw_connection()
    try:
        return raw.execute(
            "SELECT visit_id FROM submissions WHERE id = ?", (submission.submission_id,)
        ).fetchone()[0]
    finally:
        raw.close()


# operation → (roles allowed, call(runtime, actor, world))
OPERATIONS = {
    "approve": (
        {"supervisor", "admin"},
        lambda rt, a, w: review.approve(rt, a, w["held"].submission_id),
    ),
    "return": (
        {"supervisor", "admin"},
        lambda rt, a, w: review.review(
            rt, a, w["held"].submission_id, ReviewState.RETURNED, "foto buram"
        ),
    ),
    "flag": (
        {"supervisor", "admin"},
        lambda rt, a, w: review.flag(rt, a, w["held"].submission_id, "cek NIK"),
    ),
    "approve_batch": (
        {"supervisor", "admin"},
        lambda rt, a, w: review.approve_batch(rt, a, [w["held"].submission_id], PASSWORD),
    ),
    "dashboard": ({"supervisor", "admin"}, lambda rt, a, w: reports.load_dashboard(rt, a)),
    "dashboard_sync": ({"supervisor", "admin"}, lambda rt, a, w: reports.load_sync(rt, a)),
    **{
        f"export_{fmt}": (
            {"supervisor", "admin"},
            lambda rt, a, w, fmt=fmt: reports.export_report(
                rt, a, reports.today(rt), fmt, w["dir"] / f"report.{fmt}"
            ),
        )
        for fmt in reports.FORMATS
    },
    "survey_own_desk": (
        set(ROLES),
        lambda rt, a, w: survey.record_survey(rt, a, w["own_visit"], SCORES),
    ),
    "survey_other_desk": (
        {"supervisor", "admin"},
        lambda rt, a, w: survey.record_survey(rt, a, w["other_visit"], SCORES),
    ),
    "detail_own_desk": (
        set(ROLES),
        lambda rt, a, w: submission_views.submission_detail(rt, a, w["own"].submission_id),
    ),
    "detail_other_desk": (
        {"supervisor", "admin"},
        lambda rt, a, w: submission_views.submission_detail(rt, a, w["other"].submission_id),
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_operation_by_role(runtime, tmp_path, operation, role):
    allowed, call = OPERATIONS[operation]
    clerk = make_user(runtime, "ani", "officer")
    actor = clerk if role == "officer" else make_user(runtime, f"{role}1", role)
    own = finalize(runtime, clerk, KTP, ticket="A-001")
    other = finalize(runtime, clerk, KTP, ticket="A-002")
    world = {
        "held": finalize(runtime, clerk, HELD, ticket="A-003"),
        "own": own,
        "own_visit": _visit_of(runtime, own),
        "other": other,
        "other_visit": _other_desk(runtime, other),
        "dir": tmp_path,
    }
    if role in allowed:
        call(runtime, actor, world)
    else:
        with pytest.raises(PermissionDenied) as refused:
            call(runtime, actor, world)
        message = str(refused.value)
        assert "officer" in message or "loket lain" in message
        if operation.startswith("export_"):
            assert not any(world["dir"].glob("report.*"))
