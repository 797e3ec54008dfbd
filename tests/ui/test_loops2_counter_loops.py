"""Issue 12 leftovers at the counter (loops2): a refused hub approval is shown, and the
submissions view's sync request reaches the sync worker. Real windows under pytest-qt, a
real SQLite store, a real hub and a real agency server on loopback."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt

from mppdesk.core.states import OutboxState
from mppdesk.desk import hub as desk_hub
from mppdesk.store import hub as hub_store
from mppdesk.store.models import OutboxEntry
from mppdesk.ui import i18n
from mppdesk.ui.sync_bridge import hub_view
from tests.conftest import PASSWORD, make_user
from tests.example_visits import HELD, KTP, agency_settings, example_visit, finalize, start_sim
from tests.hub_fixtures import HASHER, Hub, join
from tests.ui.desk_ui import press, signed_in

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

@pytest.fixture
def hub(tmp_path):
    """A real mall hub: its own SQLite file, served on loopback."""
    running = Hub(tmp_path)
    running.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")
    yield running
    running.stop()


def _open_submissions(qtbot, window):
    press(Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: window.submissions_page is not None, timeout=10_000)
    page = window.submissions_page
    qtbot.waitUntil(lambda: not page.model.loading and page.model.count is not None)
    return page


def _select(qtbot, page, submission_id: str) -> None:
    model = page.model
    qtbot.waitUntil(
        lambda: any(model.row_at(i).id == submission_id for i in range(model.rowCount())),
        timeout=10_000,
    )
    row = next(i for i in range(model.rowCount()) if model.row_at(i).id == submission_id)
    page.table.setCurrentIndex(model.index(row, 0))


def test_a_hub_approval_refused_here_is_counted_on_the_bar_and_explained_in_the_detail(
    qtbot, runtime, hub, caplog
):
    """The hub lane refuses to apply an approval by the supervisor who took the submission
    in: the status bar counts it ("1 persetujuan ditolak", English too) with the reason in
    its tooltip, and the submission's detail says why it is still not approved. Nothing of
    the applicant reaches the log."""
    caplog.set_level(logging.DEBUG)
    make_user(runtime, "sari", "supervisor")
    join(runtime, hub, pull_interval_s=0.2, timeout_s=1.0)
    applicant = example_visit(HELD)["applicant"]
    held = finalize(runtime, make_user(runtime, "sari2", "supervisor"), HELD, ticket="H-001")
    window = signed_in(qtbot, runtime, "sari", start_sync=True)
    bridge, bar = window.sync_bridge, window.sync_bar
    qtbot.waitUntil(lambda: bridge.hub is not None, timeout=15_000)  # the hub watch runs
    assert not bar.hub.refusals.isVisibleTo(bar.hub)

    # What the hub lane does with a pulled approval by the officer who took it in.
    decision = {
        "submission_id": held.submission_id, "desk": "K01", "decision": "approved",
        "actor": "sari2", "reason": None, "decided_at": runtime.now().isoformat(),
    }
    with runtime.store.write() as session:
        outcome = hub_store.apply_review(session, decision, "K01", runtime.now())
    assert outcome == hub_store.REVIEW_OWN_INTAKE

    qtbot.waitUntil(lambda: bar.hub.refusals.isVisibleTo(bar.hub), timeout=15_000)
    assert bar.hub.refusals.text() == "1 persetujuan ditolak"
    assert "1 persetujuan ditolak" in bar.hub.text()
    tip = bar.hub.toolTip()
    assert (
        f"Persetujuan dari hub untuk {held.tracking_number} oleh sari2 ditolak di loket ini: "
        "disetujui oleh petugas yang menginputnya sendiri"
    ) in tip
    i18n.set_language("en")
    try:
        bar.hub.show_view(bridge.hub)
        assert bar.hub.refusals.text() == "1 approval(s) refused"
        assert "approved by the officer who took it in" in bar.hub.toolTip()
    finally:
        i18n.set_language("id")
        bar.hub.show_view(bridge.hub)

    # The bar says it for a day; the detail and ``hub status`` keep saying it afterwards.
    status = desk_hub.status(runtime, probe=False)
    later = hub_view(status, runtime.now() + timedelta(hours=25), runtime.settings)
    assert len(hub_view(status, runtime.now(), runtime.settings).refused_approvals) == 1
    assert later.refused_approvals == ()

    page = _open_submissions(qtbot, window)
    _select(qtbot, page, held.submission_id)
    qtbot.waitUntil(lambda: "Persetujuan ditolak" in page.detail.toPlainText(), timeout=10_000)
    detail = page.detail.toPlainText()
    assert "Persetujuan oleh sari2" in detail
    assert "menginputnya sendiri" in detail
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert applicant["nik"] not in logged and applicant["nama"] not in logged


def test_the_submissions_view_sync_request_runs_a_pass_at_once(qtbot, runtime, tmp_path):
    """``SubmissionsPage.sync_requested`` wakes the window's sync worker: a submission that
    became due while the worker sleeps (a poll every 10 minutes) goes to the agency server
    right after the request, not at the next poll."""
    sim = start_sim(tmp_path)
    try:
        runtime.settings = agency_settings(
            runtime.settings, {"dukcapil": sim.agency_url("dukcapil")}, poll_interval_s=600
        )
        ani = make_user(runtime, "ani", "officer")
        window = signed_in(qtbot, runtime, "ani", start_sync=True)
        bridge = window.sync_bridge
        qtbot.waitUntil(
            lambda: bridge.health.get("dukcapil") is not None and bridge.health["dukcapil"].online,
            timeout=15_000,
        )
        page = _open_submissions(qtbot, window)
        # Stored behind the window's back (no notifier heard of it): only a request wakes it.
        sid = finalize(runtime, ani, KTP).submission_id

        def state() -> str:
            with runtime.store.read() as session:
                (entry,) = session.query(OutboxEntry).filter_by(submission_id=sid).all()
                return entry.state

        assert state() == OutboxState.PENDING
        page.sync_requested.emit()
        qtbot.waitUntil(lambda: state() == OutboxState.DONE, timeout=15_000)
        assert bridge.stop(30)
    finally:
        sim.stop()
