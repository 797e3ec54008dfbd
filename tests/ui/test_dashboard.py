"""The supervisor dashboard: its numbers equal the raw rows, every table model passes Qt's model
tester, it reloads on intake and outbox notes, review and survey dialogs work by keyboard, an
officer is refused, and a screenshot with a day of demo data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from mppdesk.printing.daily_report import format_cell
from mppdesk.store.models import SURVEY_COLUMNS, Submission
from mppdesk.ui.dashboard import DashboardPage
from mppdesk.ui.tasks import TaskRunner
from tests.conftest import PASSWORD, make_user
from tests.example_visits import HELD, finalize
from tests.report_day import DAY, recompute, report_clock, seed_day

DOCS_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "images" / "dashboard.png"


@pytest.fixture
def day(runtime):
    people = [
        make_user(runtime, "ani", "officer"),
        make_user(runtime, "budi", "officer"),
        make_user(runtime, "sari", "supervisor"),
    ]
    seeded = seed_day(runtime, people)
    runtime.clock = report_clock(runtime)
    return people, seeded


def open_page(qtbot, runtime, actor, tasks) -> DashboardPage:
    page = DashboardPage(runtime, actor, tasks)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    qtbot.waitUntil(lambda: page.view is not None, timeout=15_000)
    return page


def _rows(page, key):
    model = page.models[key]
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_tiles_and_tables_show_the_raw_rows_figures(qtbot, qtmodeltester, runtime, tasks, day):
    (_ani, _budi, sari), _seeded = day
    page = open_page(qtbot, runtime, sari, tasks)
    want = recompute(runtime, DAY, DAY, DAY)
    tiles = {key: tile.value.text() for key, tile in page.tiles.items()}
    assert tiles["visits"] == format_cell(want["visits"], "int")
    assert tiles["submissions"] == format_cell(want["submissions"], "int")
    assert tiles["held"] == format_cell(len(want["held"]), "int")
    assert tiles["overdue"] == format_cell(len(want["overdue"]), "int")
    assert tiles["due_soon"] == format_cell(len(want["due_soon"]), "int")
    assert tiles["wait_avg"] == format_cell(round(want["wait"][1] / 60, 1), "minutes")
    assert tiles["service_p90"] == format_cell(round(want["service"][2] / 60, 1), "minutes")
    assert tiles["ikm"] == format_cell(want["ikm"][0], "score")
    names = {c: a.short_name for c, a in runtime.catalog.agencies.items()}  # names, not codes
    agencies = {row[0]: row[2] for row in _rows(page, "by_agency")}
    assert agencies == {names[a]: str(n) for a, n in want["by_agency"].items()}
    hours = {row[0]: (row[1], row[2]) for row in _rows(page, "by_hour")}
    assert hours == {f"{h:02d}:00": (str(v), str(s)) for h, (v, s) in want["by_hour"].items()}
    backlog = {row[0]: row[1:5] for row in _rows(page, "backlog")}
    assert backlog == {
        names[a]: [str(c.get(k, 0)) for k in ("held", "pending", "paused", "failed")]
        for a, c in want["backlog"].items()
    }
    assert len(_rows(page, "attention")) == len(want["attention"])
    for key, model in page.models.items():
        assert model.table is not None, key
        qtmodeltester.check(model)


def test_an_officer_gets_no_dashboard(qtbot, runtime, tasks, day):
    (ani, _budi, _sari), _seeded = day
    page = DashboardPage(runtime, ani, tasks)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.load_failed) as failed:
        pass
    assert "officer" in failed.args[0] and page.view is None


def test_reloads_on_outbox_and_intake_notes(qtbot, runtime, tasks, day):
    (ani, _budi, sari), seeded = day
    page = open_page(qtbot, runtime, sari, tasks)
    before = {row[0]: row for row in _rows(page, "backlog")}
    raw = runtime.store.raw_connection()
    try:
        agency = raw.execute(
            "SELECT agency FROM outbox WHERE state = 'pending' ORDER BY agency LIMIT 1"
        ).fetchone()[0]
        raw.execute(
            "UPDATE outbox SET state = 'paused' WHERE agency = ? AND state = 'pending'", (agency,)
        )
    finally:
        raw.close()
    agency = runtime.catalog.agencies[agency].short_name  # the table shows the agency's name
    page.outbox_changed([seeded.today[0]])
    page.outbox_changed([seeded.today[1]])  # a burst becomes one load
    qtbot.waitUntil(lambda: {r[0]: r for r in _rows(page, "backlog")}[agency][3] != "0")
    assert {r[0]: r for r in _rows(page, "backlog")}[agency][2] == "0"
    assert before[agency][2] != "0"

    submissions = page.tiles["submissions"].value.text()
    runtime.clock = report_clock(runtime)  # finalize "today" at 17:30
    added = finalize(runtime, ani, HELD, ticket="Z-001")
    page.visit_finalized([added.submission_id])
    qtbot.waitUntil(lambda: page.tiles["submissions"].value.text() != submissions)
    assert page.tiles["submissions"].value.text() == str(int(submissions) + 1)


def _select(page, key, rows):
    view = page.tables[key]
    view.clearSelection()
    from PySide6.QtCore import QItemSelectionModel

    for row in rows:
        view.selectionModel().select(
            page.models[key].index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_review_from_the_dashboard(qtbot, runtime, tasks, day):
    (ani, _budi, sari), _seeded = day
    runtime.clock = report_clock(runtime)
    for i in range(2):
        finalize(runtime, ani, HELD, ticket=f"H-{i}")
    page = open_page(qtbot, runtime, sari, tasks)
    held_before = page.models["held"].rowCount()
    assert held_before >= 3

    # Nobody approves their own intake: sari picks rows another officer took in.
    others = [r for r, line in enumerate(page.models["held"].lines) if line.officer != "sari"]
    # One submission: approve without the password.
    _select(page, "held", others[:1])
    first = page.models["held"].submission_id(others[0])
    dialog = page.open_review("approved")
    assert not dialog.needs_password
    with qtbot.waitSignal(page.reviewed) as reviewed:
        qtbot.keyClick(dialog.save, Qt.Key.Key_Return)
        dialog.submit()
    assert reviewed.args[0] == [first]
    qtbot.waitUntil(lambda: page.models["held"].rowCount() == held_before - 1)

    # Two at once: the password is asked again, a wrong one changes nothing.
    others = [r for r, line in enumerate(page.models["held"].lines) if line.officer != "sari"]
    _select(page, "held", others[:2])
    ids = page.selected_ids()
    dialog = page.open_review("approved")
    assert dialog.needs_password and dialog.password.isVisible()
    dialog.password.setText("salah-sekali")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.message.text() == "Kata sandi salah.")
    with runtime.store.read() as session:
        assert {session.get(Submission, i).status for i in ids} == {"held"}
    dialog.password.setText(PASSWORD)
    with qtbot.waitSignal(dialog.decided):
        dialog.submit()
    with runtime.store.read() as session:
        assert {session.get(Submission, i).review_state for i in ids} == {"approved"}

    # Return needs a reason; with one it is stored and shown to the officer.
    qtbot.waitUntil(lambda: page.models["held"].rowCount() == held_before - 3)
    _select(page, "attention", [0])
    target = page.models["attention"].submission_id(0)
    dialog = page.open_review("returned")
    dialog.submit()
    assert dialog.message.text() == "Tuliskan alasannya."
    dialog.reason.setPlainText("Foto KTP buram")
    with qtbot.waitSignal(dialog.decided):
        dialog.submit()
    with runtime.store.read() as session:
        stored = session.get(Submission, target)
        assert (stored.review_state, stored.review_reason) == ("returned", "Foto KTP buram")


def test_survey_dialog_by_keyboard(qtbot, runtime, tasks, day):
    from mppdesk.ui.survey_dialog import SurveyDialog

    (ani, _budi, _sari), seeded = day
    visit_id = seeded.visits_today[-1]  # not surveyed yet
    dialog = SurveyDialog(runtime, ani, tasks, visit_id)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.setFocus()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # nothing answered yet: not saved
    assert "9" in dialog.message.text()
    keys = [
        Qt.Key.Key_4,
        Qt.Key.Key_3,
        Qt.Key.Key_4,
        Qt.Key.Key_2,
        Qt.Key.Key_4,
        Qt.Key.Key_4,
        Qt.Key.Key_3,
        Qt.Key.Key_1,
        Qt.Key.Key_4,
    ]
    for key in keys:
        qtbot.keyClick(dialog, key)
    qtbot.keyClick(dialog, Qt.Key.Key_Up)  # back to the eighth question, and change it
    qtbot.keyClick(dialog, Qt.Key.Key_3)
    with qtbot.waitSignal(dialog.saved):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    raw = runtime.store.raw_connection()
    try:
        row = raw.execute(
            f"SELECT {', '.join(SURVEY_COLUMNS)} FROM survey_responses WHERE visit_id = ?",
            (visit_id,),
        ).fetchone()
    finally:
        raw.close()
    assert list(row) == [4, 3, 4, 2, 4, 4, 3, 3, 4]


def render_screenshot(qtbot, runtime, actor, tasks, path: Path) -> None:
    from mppdesk.ui.theme import apply_theme

    apply_theme(QApplication.instance())
    page = open_page(qtbot, runtime, actor, tasks)
    page.resize(1440, 900)
    page.show()
    qtbot.waitUntil(lambda: page._canvas not in (None, False))
    page._canvas.draw()
    QApplication.processEvents()
    assert page.grab().save(str(path))


@pytest.mark.slow
def test_screenshot_with_a_day_of_demo_data(qtbot, tmp_path):
    """``MPPDESK_SCREENSHOTS=1`` also writes docs/images/dashboard.png."""
    from mppdesk.desk.auth import login
    from mppdesk.desk.demo import start_demo

    env = start_demo(tmp_path / "demo", visits=40)
    runner = TaskRunner()
    try:
        sari = login(env.runtime, "sari", "supervisor-demo-1")
        _a_morning_of_sync_and_surveys(env)
        target = DOCS_IMAGE if os.environ.get("MPPDESK_SCREENSHOTS") else tmp_path / "d.png"
        render_screenshot(qtbot, env.runtime, sari, runner, target)
        assert target.stat().st_size > 20_000
    finally:
        assert runner.wait_idle(30_000)
        qtbot.waitUntil(lambda: runner.pending == 0)
        env.close()


def _a_morning_of_sync_and_surveys(env) -> None:
    """One sync pass to the demo's agency server (some are refused) and a survey for most
    visits, so every part of the page has something to show."""
    import random

    from mppdesk.desk.auth import login
    from mppdesk.desk.survey import record_survey
    from mppdesk.sync.worker import SyncWorker

    worker = SyncWorker(env.runtime.store, env.runtime.settings, env.runtime.blobs)
    try:
        worker.run_once()
    finally:
        worker.close()
    ani = login(env.runtime, "ani", "petugas-demo-1")
    rng = random.Random(3)
    for visit_id in env.visits[::2]:
        scores = {name: rng.choice((3, 3, 4, 4, 4, 2)) for name in SURVEY_COLUMNS}
        record_survey(env.runtime, ani, visit_id, scores)
    from mppdesk.desk.review import flag

    sari = login(env.runtime, "sari", "supervisor-demo-1")
    raw = env.runtime.store.raw_connection()
    try:
        ids = [
            r[0]
            for r in raw.execute(
                "SELECT id FROM submissions WHERE status != 'held' ORDER BY finalized_at LIMIT 2"
            )
        ]
    finally:
        raw.close()
    flag(env.runtime, sari, ids[0], "Nama di KK dan KTP berbeda ejaan")
    flag(env.runtime, sari, ids[1], "Lampiran surat kuasa belum bermeterai")


def test_supervisor_opens_the_dashboard_from_the_window_by_keyboard(qtbot, runtime):
    """F9 in the desk window shows the dashboard to a supervisor."""
    from PySide6.QtCore import Qt

    from tests.conftest import PASSWORD, make_user
    from tests.ui.desk_ui import open_window, press, sign_in

    make_user(runtime, "sari", "supervisor")
    window = open_window(qtbot, runtime, start_sync=False)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.actor is not None)
    press(Qt.Key.Key_F9)
    qtbot.waitUntil(
        lambda: window.dashboard_page is not None
        and window.counter_host.currentWidget() is window.dashboard_page
    )


def test_an_officer_has_no_dashboard(qtbot, runtime):
    from PySide6.QtCore import Qt

    from tests.conftest import PASSWORD, make_user
    from tests.ui.desk_ui import open_window, press, sign_in

    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime, start_sync=False)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: window.actor is not None)
    press(Qt.Key.Key_F9)
    window.show_dashboard()
    assert window.dashboard_page is None


def test_the_survey_opens_from_the_done_page_and_is_stored(qtbot, runtime):
    """After finalize the officer offers the SKM survey: Ctrl+K, scores by keyboard, saved."""
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.survey import ELEMENTS
    from mppdesk.ui.done import DonePage
    from mppdesk.ui.tasks import TaskRunner
    from mppdesk.ui.visit import FinalizedVisit
    from tests.conftest import make_user
    from tests.integration.test_intake import example_visit

    officer = make_user(runtime, "ani", "officer")
    result = finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    tasks = TaskRunner()
    page = DonePage(runtime, officer, tasks, FinalizedVisit(result=result, receipt_pdf=None,
                                                            slip_pdf=None, documents_error=None))
    qtbot.addWidget(page)
    dialog = page.open_survey()
    for index in range(len(ELEMENTS)):
        dialog.answer(index, 4)
    with qtbot.waitSignal(dialog.saved, timeout=10_000):
        dialog.submit()
    assert not page.survey_button.isEnabled()
