"""The collection dialog driven by keyboard: scan, check, record; errors shown at the field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from mppdesk.ui.collection import CollectionDialog
from mppdesk.ui.theme import apply_theme
from tests.example_visits import KTP, completed_submission, finalize, start_sim
from tests.integration.conftest import SimHandle

SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")


def shoot(widget, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture
def agency_sim(tmp_path):
    sim = start_sim(tmp_path)
    yield SimHandle(sim.url, sim=sim)
    sim.stop()


def open_dialog(qtbot, runtime, actor, tasks) -> CollectionDialog:
    dialog = CollectionDialog(runtime, actor, tasks)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def test_scan_check_and_record_by_keyboard(qtbot, qapp, runtime, officer, tasks, agency_sim):
    apply_theme(qapp)
    summary = completed_submission(runtime, officer, agency_sim)
    dialog = open_dialog(qtbot, runtime, officer, tasks)
    assert QApplication.focusWidget() is dialog.tracking

    # A scanner types the QR's text and Enter; look-alike letters are forgiven.
    scanned = summary.tracking_number.lower().replace("0", "o")
    with qtbot.waitSignal(dialog.candidate_shown):
        qtbot.keyClicks(dialog.tracking, scanned)
        qtbot.keyClick(dialog.tracking, Qt.Key.Key_Return)
    assert dialog.tracking.text() == summary.tracking_number
    assert dialog.record_button.isEnabled()
    assert QApplication.focusWidget() is dialog.applicant_radio

    # Recording before the identity check is refused at the checkbox.
    with qtbot.waitSignal(dialog.failed):
        qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.errors.isVisible() and "identitas" in dialog.errors.text().lower()
    assert dialog.checked.property("invalid") is True
    shoot(dialog, "collection-error")

    qtbot.keyClick(dialog, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)  # &Identitas
    qtbot.waitUntil(dialog.checked.isChecked)  # a mnemonic clicks like a short press
    with qtbot.waitSignal(dialog.collected) as collected:
        qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert collected.args == [summary.submission_id]
    assert "Tercatat" in dialog.banner.text()
    assert not dialog.record_button.isEnabled()  # handed over once
    shoot(dialog, "collection-done")


def test_a_proxy_and_a_product_not_ready(qtbot, runtime, officer, tasks, agency_sim):
    waiting = finalize(runtime, officer, KTP)
    ready = completed_submission(runtime, officer, agency_sim)
    dialog = open_dialog(qtbot, runtime, officer, tasks)

    with qtbot.waitSignal(dialog.candidate_shown):
        qtbot.keyClicks(dialog.tracking, waiting.tracking_number)
        qtbot.keyClick(dialog.tracking, Qt.Key.Key_Return)
    assert not dialog.record_button.isEnabled()
    assert "belum" in dialog.banner.text()
    shoot(dialog, "collection-not-ready")

    dialog.tracking.clear()
    with qtbot.waitSignal(dialog.candidate_shown):
        qtbot.keyClicks(dialog.tracking, ready.tracking_number)
        qtbot.keyClick(dialog.tracking, Qt.Key.Key_Return)
    qtbot.keyClick(dialog, Qt.Key.Key_K, Qt.KeyboardModifier.AltModifier)  # &Kuasa
    qtbot.waitUntil(dialog.proxy_radio.isChecked)
    assert dialog.proxy_name.isEnabled()
    qtbot.keyClicks(dialog.proxy_name, "Budi Santoso")
    qtbot.keyClicks(dialog.proxy_nik, "1234")
    dialog.checked.setChecked(True)
    with qtbot.waitSignal(dialog.failed):
        qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.proxy_nik.property("invalid") is True
    assert dialog.letter.property("invalid") is True
    assert QApplication.focusWidget() is dialog.proxy_nik

    dialog.proxy_nik.setText("3174014506900001")
    qtbot.keyClicks(dialog.letter, "SK-17/XI/2026")
    with qtbot.waitSignal(dialog.collected):
        qtbot.keyClick(dialog, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert "Budi Santoso" in dialog.banner.text()
    dialog.close()


def test_an_unknown_number_is_explained(qtbot, runtime, officer, tasks):
    dialog = open_dialog(qtbot, runtime, officer, tasks)
    with qtbot.waitSignal(dialog.failed) as failed:
        qtbot.keyClicks(dialog.tracking, "K01-261130-0001")
        qtbot.keyClick(dialog.tracking, Qt.Key.Key_Return)
    assert "tidak valid" in failed.args[0]
    assert dialog.tracking.property("invalid") is True
    dialog.close()
