"""Corrections, cancellations, returns and the approval queue in the desk window, driven by
the keyboard alone (pytest-qt, offscreen): a return's reason reaches the officer (status bar,
list, detail), "Perbaiki" (Ctrl+E) opens a correcting visit that Ctrl+Enter stores and that
replaces the original, "Batalkan" (Alt+L) asks for a reason and stores the cancellation,
the supervisor's approval queue names the applicants and refuses their own intake."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication

from mppdesk.core.states import ReviewState
from mppdesk.desk.review import review
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.ui.returns_indicator import ReturnsIndicator
from mppdesk.ui.submissions import COLUMNS, CancelDialog
from tests.conftest import PASSWORD, make_user
from tests.example_visits import HELD, KTP, finalize
from tests.ui.desk_ui import SHOTS, focused, open_window, press, sign_in, type_text

SIZES = ((1366, 768), (1920, 1080))


def _shoot(window, name: str) -> None:
    """Screenshots at both sizes the desk must fit (MPPDESK_SCREENSHOTS=docs/images)."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        window.resize(width, height)
        loop = QEventLoop()
        QTimer.singleShot(60, loop.quit)
        loop.exec()
        window.grab().save(str(Path(SHOTS) / f"{name}-{width}.png"))


def _row_of(page, submission_id: str) -> int:
    model = page.model
    return next(r for r in range(model.rowCount()) if model.row_at(r).id == submission_id)


def _select(qtbot, page, submission_id: str) -> None:
    """Down-arrow through the table to the row (the table has the focus)."""
    page.table.setFocus()
    target = _row_of(page, submission_id)
    press(Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    for _ in range(target):
        press(Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: page._detail is not None and page._detail.row.id == submission_id)


def _status(runtime, submission_id: str) -> tuple[str, list[str]]:
    with runtime.store.read() as session:
        submission = session.get(Submission, submission_id)
        return submission.status, sorted(
            e.state
            for e in session.query(OutboxEntry).filter(OutboxEntry.submission_id == submission_id)
        )


def test_a_return_is_seen_and_corrected_by_keyboard(qtbot, runtime):
    ani = make_user(runtime, "ani", "officer")
    sari = make_user(runtime, "sari", "supervisor")
    returned = finalize(runtime, ani, HELD, ticket="B-001")
    review(runtime, sari, returned.submission_id, ReviewState.RETURNED, "Foto STNK buram")

    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    indicator = window.findChild(ReturnsIndicator)
    qtbot.waitUntil(lambda: indicator.count == 1, timeout=10_000)
    assert indicator.isVisible() and "1" in indicator.text()

    press(Qt.Key.Key_F6)
    page = window.submissions_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    _select(qtbot, page, returned.submission_id)
    review_column = page.model.index(0, COLUMNS.index("review"))
    assert "Foto STNK buram" in page.model.data(review_column)
    detail = page.detail.toPlainText()
    assert "Foto STNK buram" in detail and "Perbaiki" in detail
    assert page.correct_button.isEnabled() and page.cancel_button.isEnabled()
    _shoot(window, "corrections-returned")

    press(Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)  # Perbaiki
    qtbot.waitUntil(
        lambda: window.visit_page is not None
        and bool(window.visit_page.state.services)
        and window.visit_page.state.services[0].supersedes == returned.submission_id,
        timeout=10_000,
    )
    visit = window.visit_page
    assert window.counter_host.currentWidget() is visit
    assert returned.tracking_number in visit.banner.text()
    assert visit.state.applicant.get("nik")  # the applicant came with it
    qtbot.waitUntil(lambda: visit.check is not None and visit.check.plan.ok, timeout=10_000)
    _shoot(window, "corrections-visit")

    visit.setFocus()
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # finalize
    qtbot.waitUntil(lambda: window.done_page is not None, timeout=15_000)
    [correction] = window.done_page.done.result.submissions
    assert _status(runtime, returned.submission_id) == ("superseded", ["superseded"])
    with runtime.store.read() as session:
        assert session.get(Submission, correction.submission_id).supersedes_id == (
            returned.submission_id
        )
    qtbot.waitUntil(lambda: indicator.count == 0, timeout=10_000)
    assert not indicator.isVisible()

    press(Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    _select(qtbot, page, returned.submission_id)
    qtbot.waitUntil(lambda: page._detail.row.superseded_by == correction.tracking_number)
    status = page.model.index(_row_of(page, returned.submission_id), COLUMNS.index("status"))
    assert correction.tracking_number in page.model.data(status)
    assert not page.correct_button.isEnabled() and not page.cancel_button.isEnabled()
    assert correction.tracking_number in page.detail.toPlainText()


def test_cancel_by_keyboard_asks_for_a_reason(qtbot, runtime):
    ani = make_user(runtime, "ani", "officer")
    original = finalize(runtime, ani, KTP, ticket="A-001")
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    press(Qt.Key.Key_F6)
    page = window.submissions_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    _select(qtbot, page, original.submission_id)
    qtbot.waitUntil(page.cancel_button.isEnabled)

    press(Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)  # "Bata&lkan"
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), CancelDialog))
    dialog = QApplication.activeModalWidget()
    qtbot.waitUntil(lambda: focused() is dialog.reason)
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # no reason yet
    assert dialog.error.text() and dialog.isVisible()
    type_text("Pemohon salah pilih layanan")
    if SHOTS:  # a window of its own: window.grab() does not hold it
        dialog.grab().save(str(Path(SHOTS) / "corrections-cancel-dialog.png"))
    with qtbot.waitSignal(page.message, timeout=10_000) as said:
        press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert original.tracking_number in said.args[0]
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert _status(runtime, original.submission_id) == ("superseded", ["superseded"])
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    window.activateWindow()  # the dialog had the keyboard; back to the window
    qtbot.waitUntil(window.isActiveWindow)
    _select(qtbot, page, original.submission_id)
    qtbot.waitUntil(lambda: page._detail.row.superseded_by is not None, timeout=10_000)
    assert page._detail.row.cancelled and "Dibatalkan oleh" in page.detail.toPlainText()
    assert "tidak akan pernah dikirim" in page.detail.toPlainText()
    _shoot(window, "corrections-cancelled")


def test_the_approval_queue_names_applicants_and_refuses_own_intake(qtbot, runtime):
    ani = make_user(runtime, "ani", "officer")
    make_user(runtime, "sari", "supervisor")
    theirs = finalize(runtime, ani, HELD, ticket="B-001")
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    mine = finalize(runtime, window.actor, HELD, ticket="B-002")

    press(Qt.Key.Key_F9)
    dash = window.dashboard_page
    qtbot.waitUntil(lambda: dash.queue_model.rowCount() == 2, timeout=15_000)
    names = {line.tracking_number: line.applicant_name for line in dash.queue_model.lines}
    assert all(names.values())
    assert dash.tabs.currentIndex() == 0 and "2" in dash.tabs.tabText(0)
    _shoot(window, "corrections-approval-queue")

    queue = dash.tables["held"]
    queue.setFocus()
    lines = dash.queue_model.lines
    own_row = next(r for r, line in enumerate(lines) if line.id == mine.submission_id)
    press(Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    for _ in range(own_row):
        press(Qt.Key.Key_Down)
    assert dash.selected_ids() == [mine.submission_id]
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # approve
    qtbot.waitUntil(lambda: QApplication.activeModalWidget() is not None)
    dialog = QApplication.activeModalWidget()
    qtbot.waitUntil(lambda: focused() is dialog.save)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: mine.tracking_number in dialog.message.text(), timeout=10_000)
    assert dialog.isVisible()
    assert _status(runtime, mine.submission_id)[0] == "held"
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert theirs.tracking_number in names
