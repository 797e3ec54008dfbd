"""Keyboard-wedge scanners: a burst of characters and Enter into whatever field has the focus.

``QTest.keyClicks`` delivers every key event back to back with no event-loop turn in
between: faster than any scanner (a few milliseconds per character), so nothing in the
fields may depend on typing pauses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from PySide6.QtCore import Qt

from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import (
    KNOWN_NIK,
    focused,
    open_window,
    shoot,
    sign_in_to_visit,
    store_known_applicant,
)


def scan(qtbot, widget, text: str) -> None:
    """What a scanner does: the characters, then Enter, with no wait anywhere."""
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def _desk(qtbot, runtime):
    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    return window, sign_in_to_visit(qtbot, window, "ani", PASSWORD)


def test_nik_burst_and_enter_looks_the_applicant_up(qtbot, runtime):
    window, page = _desk(qtbot, runtime)
    page.focus_nik()
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as looked_up:
        scan(qtbot, page.nik_edit, KNOWN_NIK)
    assert looked_up.args[0] is not None and looked_up.args[0].name == "DEWI LESTARI"
    assert page.nik_edit.text() == KNOWN_NIK
    assert page.state.applicant["nama"] == "DEWI LESTARI"
    shoot(window, "scanner-nik")


def test_ikd_qr_content_fills_the_nik_and_looks_up(qtbot, runtime):
    _window, page = _desk(qtbot, runtime)
    payload = json.dumps({"nik": KNOWN_NIK, "nama": "DEWI LESTARI", "kk": "3578030101950001x"})
    page.focus_nik()
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as looked_up:
        scan(qtbot, page.nik_edit, payload)
    assert looked_up.args[0].name == "DEWI LESTARI"
    assert page.nik_edit.text() == KNOWN_NIK  # the field keeps the NIK, not the QR text

    # A second scan into the field that still holds the NIK: the new code counts.
    page.nik_edit.setFocus()
    page.nik_edit.end(False)
    with qtbot.waitSignal(page.looked_up, timeout=10_000):
        scan(qtbot, page.nik_edit, f"IKD:{KNOWN_NIK}")
    assert page.nik_edit.text() == KNOWN_NIK


def test_a_scan_that_is_not_one_nik_is_refused_with_a_message(qtbot, runtime):
    _window, page = _desk(qtbot, runtime)
    for refused in (
        "https://example.com/pay?id=12345",
        f"NIK:{KNOWN_NIK};KK:3578030101950001",  # two 16-digit numbers: no guessing
        '{"nik": "12345"}',
    ):
        page.nik_edit.setFocus()
        page.nik_edit.selectAll()
        with qtbot.assertNotEmitted(page.looked_up, wait=50):
            scan(qtbot, page.nik_edit, refused)
        assert "bukan NIK" in page.banner.text()
        assert page.banner.objectName() == "bannerError"
        assert focused() is page.nik_edit and page.nik_edit.selectedText() == refused
    page.nik_edit.selectAll()
    scan(qtbot, page.nik_edit, "1234")
    assert page.banner.text().startswith("NIK harus 16 digit")


def test_ticket_scan_is_taken_and_a_nik_scanned_there_is_moved(qtbot, runtime):
    _window, page = _desk(qtbot, runtime)
    runtime.clock = lambda: datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    page.ticket_edit.setFocus()
    with qtbot.waitSignal(page.ticket_taken) as taken:
        scan(qtbot, page.ticket_edit, "b42")
    assert taken.args == ["B-042"] and page.ticket_edit.text() == "B-042"
    assert page.state.ticket == "B-042" and page.state.ticket_at.startswith("2026-12-01T02:00")
    assert focused() is page.nik_edit  # the KTP or IKD is scanned next

    # The officer's focus was on the ticket field: the scanner typed the NIK after it.
    page.ticket_edit.setFocus()
    page.ticket_edit.end(False)
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as looked_up:
        scan(qtbot, page.ticket_edit, KNOWN_NIK)
    assert looked_up.args[0].name == "DEWI LESTARI"
    assert page.ticket_edit.text() == "B-042" and page.nik_edit.text() == KNOWN_NIK
    assert page.state.ticket == "B-042"
