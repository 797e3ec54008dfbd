"""What an operation changed reaches the views through the window's one notifier: the
dashboard reloads after a survey, a collection, a review and a sync pass against the real
agency server; a hidden view reloads once when shown; and a screen registered by this module
alone (its own kind of change included) gets a menu entry, a shortcut and its reloads."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.permissions import Operation
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.survey import ELEMENTS
from mppdesk.ui import i18n, screens
from mppdesk.ui.screens import Screen, ScreenContext
from tests.conftest import make_user
from tests.example_visits import (
    HELD,
    KTP,
    agency_settings,
    completed_submission,
    example_visit,
    finalize,
    free_port,
    start_sim,
)
from tests.integration.conftest import SimHandle
from tests.ui.desk_ui import press, signed_in, type_text

# The offscreen platform cannot raise a dialog; it says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")



def open_dashboard(qtbot, window):
    press(Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: window.dashboard_page is not None)
    page = window.dashboard_page
    assert window.counter_host.currentWidget() is page
    qtbot.waitUntil(lambda: page.view is not None and page.idle, timeout=15_000)
    return page


def reloaded(qtbot, page, before: int) -> None:
    qtbot.waitUntil(lambda: page.loads > before and page.idle, timeout=15_000)


def tile(page, key: str) -> str:
    return page.tiles[key].value.text()


def visible(window, cls):
    return next((d for d in window.findChildren(cls) if d.isVisible()), None)


def answer_all(dialog) -> None:
    for index in range(len(ELEMENTS)):
        dialog.answer(index, 4)


def test_dashboard_reloads_after_a_survey_a_collection_and_a_review(qtbot, runtime, tmp_path):
    from mppdesk.ui.collection import CollectionDialog
    from mppdesk.ui.survey_dialog import SurveyDialog

    sari = make_user(runtime, "sari", "supervisor")
    handle = SimHandle((sim := start_sim(tmp_path)).url, sim=sim)
    try:
        product = completed_submission(runtime, sari, handle)  # ready to hand over
    finally:
        handle.stop()
    ani = make_user(runtime, "ani", "officer")  # sari may not approve her own intake
    held = finalize(runtime, ani, HELD, ticket="H-001")
    surveyed = finalize_visit(runtime, sari, parse_visit(example_visit(KTP, ticket="S-001")))
    window = signed_in(qtbot, runtime, "sari")
    page = open_dashboard(qtbot, window)
    assert tile(page, "responses") == "0"

    # Nothing the page shows: it stays as it is.
    window.notifier.notify(Changes.of(Kind.USERS, Kind.SETTINGS.value + ".printers"))
    assert page.idle

    # (a) a survey saved in a dialog of this window
    before = page.loads
    dialog = SurveyDialog(runtime, window.actor, window.tasks, surveyed.visit_id, window)
    dialog.open()
    answer_all(dialog)
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.submit()
    reloaded(qtbot, page, before)
    assert tile(page, "responses") == "1"

    # (b) a collection recorded through F7, the number typed as a scanner would
    window.activateWindow()  # the survey dialog took the activation with it
    qtbot.waitUntil(window.isActiveWindow)
    page.setFocus()
    press(Qt.Key.Key_F7)
    qtbot.waitUntil(lambda: visible(window, CollectionDialog) is not None)
    collect = visible(window, CollectionDialog)
    qtbot.waitUntil(collect.isActiveWindow)
    with qtbot.waitSignal(collect.candidate_shown, timeout=10_000):
        type_text(product.tracking_number)
        press(Qt.Key.Key_Return)
    collect.checked.setChecked(True)
    before = page.loads
    with qtbot.waitSignal(collect.collected, timeout=10_000):
        collect.record()
    reloaded(qtbot, page, before)
    collect.close()

    # (c) a review decision taken on the page
    rows = page.models["held"]
    assert rows.rowCount() == 1 and rows.submission_id(0) == held.submission_id
    page.tables["held"].selectRow(0)
    before = page.loads
    review = page.open_review("approved")
    with qtbot.waitSignal(review.decided, timeout=10_000):
        review.submit()
    reloaded(qtbot, page, before)
    assert rows.rowCount() == 0 and tile(page, "held") == "0"


def test_hidden_views_reload_once_when_shown(qtbot, runtime):
    """A finalize and a survey while the officer is at the counter: the dashboard and the
    submissions view only note they are stale, and each reloads once when shown."""
    from mppdesk.ui.visit import FinalizedVisit

    make_user(runtime, "sari", "supervisor")
    window = signed_in(qtbot, runtime, "sari")
    press(Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: window.submissions_page is not None)
    subs = window.submissions_page
    qtbot.waitUntil(lambda: not subs.model.loading and subs.model.count == 0)
    page = open_dashboard(qtbot, window)
    visits, before = tile(page, "visits"), page.loads
    press(Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.counter_host.currentWidget() is window.visit_page)

    # The visit page says it finalized (as after Ctrl+Enter); the window shows the done page.
    result = finalize_visit(runtime, window.actor, parse_visit(example_visit(KTP, ticket="B-1")))
    window.visit_page.finalized.emit(
        FinalizedVisit(result=result, receipt_pdf=None, slip_pdf=None, documents_error=None)
    )
    qtbot.waitUntil(lambda: window.done_page is not None)
    assert page.idle and not subs.isVisible()
    assert window.notifier.stale(page).visits
    assert window.notifier.stale(subs).submission_ids == {result.submissions[0].submission_id}

    survey = window.done_page.open_survey()
    answer_all(survey)
    with qtbot.waitSignal(survey.saved, timeout=10_000):
        survey.submit()
    assert page.idle and window.notifier.stale(page).survey
    assert not window.notifier.stale(subs).survey  # not a thing it shows

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.done_page.setFocus()
    press(Qt.Key.Key_F9)
    reloaded(qtbot, page, before)
    assert page.loads == before + 1  # both operations, one reload
    assert tile(page, "visits") == str(int(visits) + 1) and tile(page, "responses") == "1"
    assert not window.notifier.stale(page)

    press(Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: subs.model.count == 1)
    assert subs.model.row_at(0).id == result.submissions[0].submission_id


def test_dashboard_reloads_after_a_sync_pass_to_the_agency_server(qtbot, runtime, tmp_path):
    """An approval wakes the worker through the notifier (the poll interval is ten minutes:
    nothing else would try the released entry), and the pass's own changes reload the
    dashboard once the agency server is back."""
    from mppdesk.desk.sync_status import retry_now

    port = free_port()  # the agencies are down when the desk opens
    runtime.settings = agency_settings(
        runtime.settings,
        {a: f"http://127.0.0.1:{port}/{a}" for a in ("dukcapil", "samsat")},
        backoff_base_s=600,  # one refused attempt, then a long wait: no breaker opens
        backoff_cap_s=600,
        poll_interval_s=600,
    )
    sari = make_user(runtime, "sari", "supervisor")
    sent = finalize(runtime, sari, KTP)
    ani = make_user(runtime, "ani", "officer")  # sari may not approve her own intake
    held = finalize(runtime, ani, HELD, ticket="H-001")
    window = signed_in(qtbot, runtime, "sari", start_sync=True)
    bridge = window.sync_bridge
    for agency in ("dukcapil", "samsat"):  # the first cycle: tried, refused, then asleep
        qtbot.waitUntil(lambda a=agency: bridge.health.get(a) is not None, timeout=10_000)
        qtbot.waitUntil(lambda a=agency: bridge.health[a].last_error is not None, timeout=10_000)
    page = open_dashboard(qtbot, window)
    assert tile(page, "undelivered") == "2" and tile(page, "held") == "1"  # held counts
    heard: list[tuple[Changes, object]] = []
    window.notifier.changed.connect(lambda changes, origin: heard.append((changes, origin)))

    def sync_named(submission_id: str) -> bool:
        return any(
            origin is bridge and changes.outbox and submission_id in (changes.submission_ids or ())
            for changes, origin in heard
        )

    page.tables["held"].selectRow(0)
    review = page.open_review("approved")
    with qtbot.waitSignal(review.decided, timeout=10_000):
        review.submit()
    qtbot.waitUntil(lambda: sync_named(held.submission_id), timeout=15_000)  # tried at once
    qtbot.waitUntil(lambda: page.idle and tile(page, "held") == "0", timeout=15_000)
    assert not sync_named(sent.submission_id)  # not due: left alone

    sim = start_sim(tmp_path, port)
    try:
        heard.clear()
        # Due now, told to nobody: only the pass itself can tell the dashboard.
        for submission_id in (sent.submission_id, held.submission_id):
            assert retry_now(runtime, sari, submission_id) == 1
        bridge.sync_now()
        qtbot.waitUntil(lambda: tile(page, "undelivered") == "0", timeout=15_000)
        assert sync_named(sent.submission_id) and sync_named(held.submission_id)
        assert all(origin is bridge for _changes, origin in heard)
    finally:
        assert bridge.stop(30)
        sim.stop()


def test_a_pass_that_moved_nothing_changes_nothing():
    from mppdesk.sync.worker import PassReport
    from mppdesk.ui.sync_bridge import changes_of_pass

    assert not changes_of_pass(PassReport())
    report = PassReport()
    report.count("dukcapil", "delivered")
    assert changes_of_pass(report) == Changes.of(Kind.OUTBOX)


class QueueBoard(QLabel):
    """A screen this test module brings: it shows the hub's tickets, a kind of change no
    module of the desk names."""

    def __init__(self, ctx: ScreenContext) -> None:
        super().__init__("A-017 → loket 3", ctx.parent)
        self.reloads = 0

    def wants(self, changes: Changes) -> bool:
        return changes.touches("hub.tickets")

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        self.reloads += 1


@pytest.fixture
def queue_board(monkeypatch):
    monkeypatch.setitem(i18n.TEXTS, "test.queue_board", ("Papan &antrean", "Queue &board"))
    with screens.registered(
        Screen("queueBoard", "test.queue_board", "F10", Operation.VIEW_OWN, QueueBoard)
    ) as screen:
        yield screen


def test_a_screen_registered_here_gets_its_menu_shortcut_and_reloads(qtbot, runtime, queue_board):
    make_user(runtime, "ani", "officer")
    window = signed_in(qtbot, runtime, "ani")
    action = window.actions_by_name["showQueueBoard"]
    assert action.text().startswith("Papan &antrean") and action.shortcut().toString() == "F10"
    assert window.actions_by_name["showSubmissions"].shortcut().toString() == "F6"

    press(Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: window.screen_pages.get("queueBoard") is not None)
    board = window.screen_pages["queueBoard"]
    assert window.counter_host.currentWidget() is board and board.isVisible()

    tickets = Changes.of("hub.tickets")
    window.notifier.notify(tickets)
    window.notifier.notify(Changes.of(Kind.SURVEY, Kind.HUB))  # not what it shows
    assert board.reloads == 1

    press(Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: not board.isVisible())
    window.notifier.notify(tickets)
    window.notifier.notify(tickets | Changes.of(Kind.VISITS))
    assert board.reloads == 1 and window.notifier.stale(board).touches("hub.tickets")
    window.show_screen("queueBoard")
    assert board.reloads == 2 and not window.notifier.stale(board)

    window.sign_out()
    assert "queueBoard" not in window.screen_pages


def test_a_view_follows_once_and_finds_the_notifier_above_it(qtbot):
    from PySide6.QtWidgets import QWidget

    from mppdesk.ui.notifier import ChangeNotifier, announce

    host = QWidget()
    qtbot.addWidget(host)
    notifier = ChangeNotifier(host)
    board = QueueBoard(ScreenContext(None, None, None, host, print))  # type: ignore[arg-type]
    host.show()
    notifier.follow(board)
    notifier.follow(board)
    notifier.notify(Changes.of("hub.tickets"))
    assert board.reloads == 1
    assert ChangeNotifier.of(board) is notifier and ChangeNotifier.of(QLabel()) is None
    assert announce(board, Changes.of("hub.tickets")) and board.reloads == 2
    assert not announce(board, Changes())  # nothing changed: nothing to tell
    with pytest.raises(TypeError):
        notifier.follow(QLabel(host))
