"""The submissions view: a paged SQL model (checked by Qt's model tester), search, sort,
refresh of only what changed, retry now, and the keyboard."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from mppdesk.store import repo
from mppdesk.store.models import Submission
from mppdesk.store.views import PAGE_SIZE
from mppdesk.sync.worker import SyncWorker
from mppdesk.ui.submissions import COLUMNS, SubmissionsPage, SubmissionTableModel
from mppdesk.ui.theme import apply_theme
from tests.example_visits import BPJS, KTP, Clock, agency_settings, finalize, free_port

SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")


@pytest.fixture
def four(runtime, officer):
    return [finalize(runtime, officer, code) for code in (KTP, BPJS, KTP, BPJS)]


def make_page(qtbot, runtime, actor, tasks, **kwargs) -> SubmissionsPage:
    page = SubmissionsPage(runtime, actor, tasks, **kwargs)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: not page.model.loading and page.model.count is not None)
    return page


def column(name: str) -> int:
    return COLUMNS.index(name)


def shown(model, row: int, name: str) -> str:
    return model.data(model.index(row, column(name)))



def _position(model, submission_id: str) -> int:
    """The table row showing a submission, as a person finds it: by scanning the rows."""
    return next(i for i in range(model.rowCount()) if model.row_at(i).id == submission_id)


def test_the_model_passes_qt_model_tester_while_paging(
    qtbot, qtmodeltester, runtime, officer, tasks, four
):
    model = SubmissionTableModel(runtime, officer, tasks, page_size=3)
    with qtbot.waitSignal(model.page_loaded):
        model.set_filter(model.filter)
    assert model.rowCount() == 3 and model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: model.rowCount() == 4 and model.exhausted)
    assert not model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    assert [model.row_at(i).id for i in range(4)] == [s.submission_id for s in reversed(four)]


def test_pages_arrive_as_the_view_scrolls_not_all_at_once(qtbot, runtime, officer, tasks, four):
    page = make_page(qtbot, runtime, officer, tasks, page_size=2)
    model = page.model
    assert model.rowCount() == 2  # one page: the store is not read whole
    assert model.count == 4
    with qtbot.waitSignal(model.page_loaded):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == 4
    assert shown(model, 0, "send") == "Menunggu kirim"
    assert shown(model, 0, "agency") in ("Dukcapil", "BPJS Kesehatan")
    assert PAGE_SIZE >= 50


def test_search_and_sort_run_in_sql(qtbot, runtime, officer, tasks, four):
    page = make_page(qtbot, runtime, officer, tasks)
    model = page.model
    with qtbot.waitSignal(model.page_loaded):
        page.set_search(four[2].tracking_number.lower())
    assert [model.row_at(i).id for i in range(model.rowCount())] == [four[2].submission_id]

    nik = model.row_at(0).applicant_id_number
    with qtbot.waitSignal(model.page_loaded):
        page.set_search(nik)
    assert {model.row_at(i).id for i in range(model.rowCount())} == {
        four[0].submission_id,
        four[2].submission_id,
    }

    with qtbot.waitSignal(model.page_loaded):
        page.set_search("")
    with qtbot.waitSignal(model.page_loaded):
        page.table.horizontalHeader().setSortIndicator(
            column("tracking"), Qt.SortOrder.AscendingOrder
        )
    numbers = [model.row_at(i).tracking_number for i in range(model.rowCount())]
    assert numbers == sorted(s.tracking_number for s in four)
    # a column SQL cannot sort keeps the current order and indicator
    with qtbot.assertNotEmitted(model.modelReset):
        page.table.horizontalHeader().setSortIndicator(column("error"), Qt.SortOrder.AscendingOrder)
    assert page.table.horizontalHeader().sortIndicatorSection() == column("tracking")


def test_only_what_changed_is_refreshed(qtbot, runtime, officer, tasks, four):
    page = make_page(qtbot, runtime, officer, tasks)
    model = page.model
    port = free_port()
    runtime.settings = agency_settings(
        runtime.settings,
        {a: f"http://127.0.0.1:{port}/{a}" for a in ("dukcapil", "bpjs-kesehatan")},
    )
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=Clock())
    worker.run_once()  # every agency down: each entry now shows its error and next retry
    worker.close()
    target = four[1].submission_id
    position = _position(model, target)

    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.rows_refreshed):
        page.refresh_submissions([target])
    assert shown(model, position, "attempts") == "1"
    assert shown(model, position, "error").startswith("server instansi tidak dapat dihubungi")
    assert shown(model, position, "next")
    other = _position(model, four[0].submission_id)
    assert shown(model, other, "attempts") == "0"  # not re-read: nobody said it changed

    new = finalize(runtime, officer, KTP)
    with qtbot.assertNotEmitted(model.modelReset), qtbot.waitSignal(model.rows_refreshed):
        page.visit_finalized([new.submission_id])
    assert model.row_at(0).id == new.submission_id  # newest first, placed without a reload
    qtbot.waitUntil(lambda: model.count == 5)


def test_retry_now_from_the_keyboard(qtbot, runtime, officer, tasks, four):
    port = free_port()
    runtime.settings = agency_settings(
        runtime.settings,
        {a: f"http://127.0.0.1:{port}/{a}" for a in ("dukcapil", "bpjs-kesehatan")},
        backoff_base_s=3600,
        backoff_cap_s=3600,
    )
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, rand=lambda: 0.9)
    worker.run_once()
    worker.close()
    page = make_page(qtbot, runtime, officer, tasks)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    qtbot.waitUntil(lambda: page.retry_button.isEnabled())
    selected = page.selected_id()
    assert selected == four[3].submission_id

    with qtbot.waitSignal(page.sync_requested):
        qtbot.keyClick(page, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    with runtime.store.read() as session:
        (entry,) = session.get(Submission, selected).outbox
        assert entry.next_attempt_at <= runtime.now()
        assert repo.count_audit(session, "outbox.retry_now", selected) == 1

    qtbot.keyClick(page, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is page.search
    with qtbot.waitSignal(page.model.page_loaded):
        qtbot.keyClicks(page.search, four[0].tracking_number)
        qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert page.model.rowCount() == 1
    assert QApplication.focusWidget() is page.table
    page.close()


def test_screenshot_of_the_view(qtbot, qapp, runtime, officer, tasks, four):
    apply_theme(qapp)
    page = make_page(qtbot, runtime, officer, tasks)
    page.resize(1400, 560)
    qtbot.waitUntil(lambda: page._detail is not None)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.grab().save(str(Path(SHOTS) / "submissions.png"))
    assert page.detail.toPlainText().startswith(page.model.row_at(0).tracking_number)
