"""The tour's loops around the visit (issue 12, proof): a return seen by the officer, its
correction, a manual agency's delivery and a reprint, each by keyboard alone through the same
functions the tour (``python -m mppdesk.ui.tour``) drives, each one's effect read back from
the store, and each one's keys counted and held under a ceiling."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mppdesk.core.states import OutboxState, ReviewState
from mppdesk.desk.review import review
from mppdesk.settings import AgencyEndpoint
from mppdesk.store import repo
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.ui.returns_indicator import ReturnsIndicator
from mppdesk.ui.tour_keys import correction, manual_delivery, reprint, return_seen
from tests.conftest import PASSWORD, make_user
from tests.example_visits import example_visit, finalize
from tests.ui.desk_ui import open_window, sign_in_to_visit

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

BPN = "bpn/sertipikat-hilang"  # a manual agency here, and held for a supervisor's approval
REASON = "Foto sertipikat buram, mohon pindai ulang"


def _outbox(runtime, submission_id: str) -> list[str]:
    with runtime.store.read() as session:
        return sorted(
            e.state
            for e in session.query(OutboxEntry).filter(OutboxEntry.submission_id == submission_id)
        )


def test_the_tour_loops_close_in_the_store(qtbot, runtime):
    runtime.settings = runtime.settings.with_agency(AgencyEndpoint(code="bpn", mode="manual"))
    ani = make_user(runtime, "ani", "officer")
    sari = make_user(runtime, "sari", "supervisor")
    returned = finalize(runtime, ani, BPN, ticket="C-001")
    review(runtime, sari, returned.submission_id, ReviewState.RETURNED, REASON)
    nik = example_visit(BPN)["applicant"]["nik"]

    window = open_window(qtbot, runtime)
    sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    indicator = window.findChild(ReturnsIndicator)
    qtbot.waitUntil(lambda: indicator.count == 1, timeout=10_000)

    def wait(condition) -> None:
        qtbot.waitUntil(condition, timeout=10_000)

    # 1. the return, seen by the officer: its reason in the detail
    seen = return_seen(window, wait, returned.tracking_number, nik)
    page = window.submissions_page
    assert REASON in page.detail.toPlainText()
    assert page._detail.row.id == returned.submission_id

    # 2. the correction: stored, superseding the returned one, which is never sent
    fixed = correction(window, wait)
    [corrected] = window.done_page.done.result.submissions
    with runtime.store.read() as session:
        assert session.get(Submission, corrected.submission_id).supersedes_id == (
            returned.submission_id
        )
        assert session.get(Submission, returned.submission_id).status == "superseded"
    assert _outbox(runtime, returned.submission_id) == ["superseded"]
    qtbot.waitUntil(lambda: indicator.count == 0, timeout=10_000)

    # 3. the supervisor approves it; the officer hands the file to BPN's officer
    review(runtime, sari, corrected.submission_id, ReviewState.APPROVED)
    assert _outbox(runtime, corrected.submission_id) == [OutboxState.PENDING]
    delivered = manual_delivery(window, wait, corrected.tracking_number, "Budi Santoso", "BA-17")
    assert _outbox(runtime, corrected.submission_id) == [OutboxState.DONE]
    with runtime.store.read() as session:
        assert repo.count_audit(session, "submission.handed_over", corrected.submission_id) == 1

    # 4. the reprint of its receipt: a copy marked SALINAN, audited as a reprint
    printed = reprint(window, wait, corrected.tracking_number)
    dialog = window.submissions_page.reprint_dialog
    with runtime.store.read() as session:
        visit_id = session.get(Submission, corrected.submission_id).visit_id
        events = [
            e
            for e in repo.audit_events(session)
            if e.object_id == visit_id
            and e.action == "receipt.printed"
            and e.details.get("reprint")
        ]
    assert [e.details["copy"] for e in events] == [True]  # one copy, marked SALINAN
    if shutil.which("pdftotext") is not None:
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=dialog.pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "SALINAN" in text
    dialog.close()

    for name, count in (
        ("return", seen),
        ("correction", fixed),
        ("delivery", delivered),
        ("reprint", printed),
    ):
        print(f"keys: {name}: {count.summary()}")
    # Ceilings: a change that adds keys to closing a loop shows up here.
    assert seen.overhead <= 12 and fixed.total <= 3, (seen.summary(), fixed.summary())
    assert delivered.overhead <= 8 and printed.overhead <= 8, (
        delivered.summary(),
        printed.summary(),
    )


def test_the_tour_runs_every_step_and_prints_its_key_counts(qapp, tmp_path, capsys):
    """``python -m mppdesk.ui.tour``: its 14 screenshots, and a key count per keyed step,
    the KTP-el + BPJS visit within issue 12's budget (≤ 300 keys, ≤ 50 overhead)."""
    import re

    from mppdesk.ui import i18n
    from mppdesk.ui.tour import run

    language = i18n.language()
    try:
        saved = run(tmp_path)
    finally:
        i18n.set_language(language)
    names = [p.name for p in saved]
    assert len(names) == 14 and all(p.stat().st_size > 10_000 for p in saved), names
    assert names[-4:] == [
        "step-11-return-seen.png",
        "step-12-correction-done.png",
        "step-13-manual-delivery.png",
        "step-14-reprint.png",
    ]
    printed = capsys.readouterr().out
    counts = {
        m[1]: (int(m[2]), int(m[3]), int(m[4]))
        for m in re.finditer(r"keys: (.+?): (\d+) keys \((\d+) data, (\d+) overhead\)", printed)
    }
    assert list(counts) == [
        "new applicant, KTP-el + BPJS",
        "return seen",
        "correction",
        "manual delivery",
        "reprint",
    ]
    total, data, overhead = counts["new applicant, KTP-el + BPJS"]
    assert total == data + overhead and total <= 300 and overhead <= 50
    assert counts["correction"] == (2, 0, 2)  # Ctrl+E, Ctrl+Enter
