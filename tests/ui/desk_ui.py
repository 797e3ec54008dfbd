"""Driving the desk window the way an officer does: keys into whatever has the focus."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from mppdesk.ui.theme import apply_theme
from mppdesk.ui.window import DeskWindow

SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")
KTP = "dukcapil/ktp-el"
BPJS = "bpjs-kesehatan/peserta-mandiri"
KNOWN_NIK = "3578036801950002"  # the KTP-el example's applicant (DEWI LESTARI)


def shoot(widget: QWidget, name: str) -> None:
    if SHOTS:
        # Widgets added to a visible layout show on the next loop turn. Qt's own loop, not
        # processEvents in Python: that raced with worker threads in PySide 6.12.
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(SHOTS) / f"{name}.png"))


def open_window(qtbot, runtime, *, register: bool = True, **kwargs) -> DeskWindow:
    kwargs.setdefault("start_sync", False)
    apply_theme(QApplication.instance())  # as the app does: the stylesheet changes sizes
    window = DeskWindow(runtime=runtime, **kwargs)
    if register:  # closed by pytest-qt at the end; a window the test destroys is not
        qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(lambda: window.login_page.mode in ("login", "setup"), timeout=10_000)
    return window


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key goes where the keyboard goes: an open popup (a completer's list) first."""
    popup = QApplication.activePopupWidget()
    QTest.keyClick(popup if popup is not None else focused(), key, modifier)


def type_text(text: str) -> None:
    QTest.keyClicks(focused(), text)


def tab(times: int = 1) -> None:
    for _ in range(times):
        press(Qt.Key.Key_Tab)


def sign_in(qtbot, window: DeskWindow, username: str, password: str) -> None:
    """Type the user name and password; Enter signs in."""
    qtbot.waitUntil(lambda: focused() is window.login_page.username)
    type_text(username)
    tab()
    assert focused() is window.login_page.password
    type_text(password)
    press(Qt.Key.Key_Return)


def signed_in(qtbot, runtime, username: str, password: str | None = None, **kwargs) -> DeskWindow:
    """A desk window opened and signed in (with the tests' PASSWORD unless given), on its
    counter page."""
    from tests.conftest import PASSWORD

    window = open_window(qtbot, runtime, **kwargs)
    sign_in(qtbot, window, username, password or PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    return window


def sign_in_to_visit(qtbot, window: DeskWindow, username: str, password: str):
    sign_in(qtbot, window, username, password)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    page = window.visit_page
    qtbot.waitUntil(lambda: page.usage is not None, timeout=10_000)
    return page


def look_up_nik(qtbot, page, nik: str) -> None:
    """Type ``nik`` into the visit's NIK field and press Enter: back once the look-up answered
    (found or not)."""
    page.nik_edit.setFocus()
    type_text(nik)
    with qtbot.waitSignal(page.looked_up, timeout=10_000):
        press(Qt.Key.Key_Return)


def store_known_applicant(runtime, actor) -> None:
    """An earlier visit, so the NIK look-up finds the applicant and pre-fills the form."""
    from tests.example_visits import finalize

    finalize(runtime, actor, KTP, ticket="A-000")
