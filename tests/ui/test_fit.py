"""Every part fits 1366×768: the sync bar with fifteen agencies offline collapses to one
summary whose details open in a popup (issue 12, words and fit)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from mppdesk.ui.status_bar import SyncStatusBar
from mppdesk.ui.sync_bridge import SyncBridge
from mppdesk.ui.theme import apply_theme
from tests.example_visits import KTP, agency_settings, finalize, free_port

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


@pytest.fixture
def bridge(qtbot, runtime):
    sync = SyncBridge(runtime)
    yield sync
    assert sync.stop(30)


def test_fifteen_agencies_offline_collapse_to_a_summary_at_1366(qtbot, runtime, officer, bridge):
    apply_theme(QApplication.instance())
    port = free_port()  # nobody listens: every agency is offline
    agencies = sorted(runtime.catalog.agencies)
    assert len(agencies) >= 15
    runtime.settings = agency_settings(
        runtime.settings,
        {code: f"http://127.0.0.1:{port}/{code}" for code in agencies},
        poll_interval_s=600,
    )
    finalize(runtime, officer, KTP)
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.statusBar().addWidget(QLabel("Ani Petugas · Petugas · loket K01"))
    bar = SyncStatusBar(bridge)
    window.statusBar().addPermanentWidget(bar)
    window.show()
    bridge.start()
    qtbot.waitUntil(
        lambda: all(bar.state_of(code) == "offline" for code in agencies), timeout=20_000
    )
    bar._render()
    qtbot.waitUntil(lambda: bar.collapsed)
    assert bar.summary.isVisible()
    assert f"{len(agencies)} instansi" in bar.summary.text()
    assert f"{len(agencies)} terputus" in bar.summary.text()
    assert bar.geometry().right() <= window.width()  # nothing cut at the window's edge
    assert not any(i.isVisible() for i in bar.indicators.values())

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    bar.summary.setFocus()
    QTest.keyClick(bar.summary, Qt.Key.Key_Space)  # the summary opens by keyboard too
    qtbot.waitUntil(lambda: bar.details is not None and bar.details.isVisible())
    popup = bar.details
    lines = popup.findChild(QLabel, "syncDetailsText").text().splitlines()
    assert len(lines) == len(agencies)
    assert lines[0].startswith("Dukcapil")  # the one with a queue comes first
    popup.close()

    assert _look(qtbot, window, "statusbar-collapsed", (1366, 768)) == []
    # At 1920 px the bar is laid out again for the width; collapsed or not, nothing is cut.
    assert _look(qtbot, window, "statusbar-collapsed", (1920, 1080)) == []
    assert bar.geometry().right() <= window.width()
    assert bar.summary.isVisible() == bar.collapsed


SIZES = ((1366, 768), (1920, 1080))


def _shots_dir():
    import os
    from pathlib import Path

    folder = os.environ.get("MPPDESK_FIT_SHOTS")  # docs/images when refreshing the pictures
    return Path(folder) if folder else None


def _look(qtbot, window, name: str, size: tuple[int, int]) -> list[str]:
    from PySide6.QtCore import QEventLoop, QTimer

    from mppdesk.ui.fit import cut_widgets

    window.resize(*size)
    loop = QEventLoop()
    QTimer.singleShot(60, loop.quit)
    loop.exec()
    folder = _shots_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(folder / f"{name}-{size[0]}.png"))
    return cut_widgets(window)


def test_the_counter_fits_1366_and_1920(qtbot, runtime):
    from mppdesk.ui.tour_keys import BPJS, KTP, NEW_NIK
    from tests.conftest import PASSWORD, make_user
    from tests.ui.desk_ui import look_up_nik, open_window, sign_in_to_visit

    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    look_up_nik(qtbot, page, NEW_NIK)
    problems = {}
    for size in SIZES:
        page.go_step(0)
        problems[f"applicant {size}"] = _look(qtbot, window, "counter-new-applicant", size)
    page.add_service(KTP)
    page.add_service(BPJS)
    for size in SIZES:
        page.go_step(1)
        problems[f"ktp {size}"] = _look(qtbot, window, "counter-ktp", size)
        page.go_step(2)
        problems[f"bpjs {size}"] = _look(qtbot, window, "counter-bpjs", size)
        page.go_step(3)
        problems[f"summary {size}"] = _look(qtbot, window, "counter-summary", size)
    assert {k: v for k, v in problems.items() if v} == {}
