"""The admin's accounts dialog and the access-log screen, driven by keyboard; the sign-in
screen's attempts left, disabled accounts and a clean form after sign-out.

Screenshots at 1366×768 and 1920×1080 with MPPDESK_SCREENSHOTS=docs/images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QApplication

from mppdesk.desk import counter
from mppdesk.desk.auth import AccountDisabled, login, set_user_active
from mppdesk.desk.errors import AuthError
from tests.conftest import PASSWORD, make_user
from tests.example_visits import KTP, example_visit
from tests.ui.desk_ui import (
    focused,
    open_window,
    press,
    shoot,
    sign_in,
    sign_in_to_visit,
    tab,
    type_text,
)

SIZES = ((1366, 768), (1920, 1080))
SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")


def _shoot_with_dialog(window, dialog, name: str) -> None:
    """The window with its dialog drawn where the officer sees it (centred over it)."""
    if not SHOTS:
        return
    QApplication.processEvents()
    picture = window.grab()
    inner = dialog.grab()
    painter = QPainter(picture)
    at = QPoint((picture.width() - inner.width()) // 2, (picture.height() - inner.height()) // 3)
    # A top-level dialog's grab leaves out what the window system draws: its background and
    # frame. Both are drawn here, as the officer sees them.
    painter.fillRect(QRect(at, inner.size()), dialog.palette().color(QPalette.ColorRole.Window))
    painter.drawPixmap(at, inner)
    painter.setPen(QColor("#6b7280"))
    painter.drawRect(QRect(at, inner.size()).adjusted(-1, -1, 0, 0))
    painter.end()
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    picture.save(str(Path(SHOTS) / f"{name}.png"))


def _lock(runtime, username: str) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            login(runtime, username, "salah-sandi")


def _cell(table, row: int, column: int) -> str:
    item = table.item(row, column)
    return item.text() if item is not None else ""


def _row_of(dialog, username: str) -> int:
    return next(i for i, a in enumerate(dialog.accounts) if a.username == username)


def _alt(key: Qt.Key) -> None:
    press(key, Qt.KeyboardModifier.AltModifier)


def test_admin_unlocks_disables_enables_and_resets_by_keyboard(qtbot, runtime):
    from mppdesk.ui.admin import AccountsDialog, ResetPasswordDialog

    make_user(runtime, "ani", "officer")
    make_user(runtime, "kepala", "admin")
    _lock(runtime, "ani")
    window = open_window(qtbot, runtime)
    sign_in_to_visit(qtbot, window, "kepala", PASSWORD)
    window.actions_by_name["accounts"].trigger()
    dialog = window.findChild(AccountsDialog)
    qtbot.waitUntil(lambda: dialog.isActiveWindow() and len(dialog.accounts) == 2)
    table = dialog.table
    assert focused() is table
    ani = _row_of(dialog, "ani")
    assert _cell(table, ani, 3).startswith("Terkunci s.d.")
    assert _cell(table, ani, 2) == "Petugas"
    # Arrows choose the account; the buttons follow what it allows.
    press(Qt.Key.Key_Home)
    for _ in range(ani):
        press(Qt.Key.Key_Down)
    assert dialog.selected_username() == "ani"
    assert dialog.buttons["unlock"].isEnabled() and not dialog.buttons["enable"].isEnabled()
    for width, height in SIZES:
        window.resize(width, height)
        _shoot_with_dialog(window, dialog, f"accounts-dialog-{width}")

    _alt(Qt.Key.Key_B)  # Buka kunci
    qtbot.waitUntil(lambda: _cell(table, _row_of(dialog, "ani"), 3) == "Aktif")
    assert window.statusBar().currentMessage() == "Kunci akun ani dibuka."
    assert login(runtime, "ani", PASSWORD).username == "ani"

    assert dialog.selected_username() == "ani"  # the reload keeps the chosen account
    _alt(Qt.Key.Key_N)  # Nonaktifkan
    qtbot.waitUntil(lambda: _cell(table, _row_of(dialog, "ani"), 3) == "Nonaktif")
    with pytest.raises(AccountDisabled):
        login(runtime, "ani", PASSWORD)
    qtbot.waitUntil(lambda: dialog.buttons["enable"].isEnabled())
    _alt(Qt.Key.Key_F)  # Aktifkan
    qtbot.waitUntil(lambda: _cell(table, _row_of(dialog, "ani"), 3) == "Aktif")

    qtbot.waitUntil(lambda: dialog.buttons["reset"].isEnabled())
    _alt(Qt.Key.Key_G)  # Ganti sandi…
    qtbot.waitUntil(lambda: dialog.findChild(ResetPasswordDialog) is not None)
    reset = dialog.findChild(ResetPasswordDialog)
    qtbot.waitUntil(reset.isActiveWindow)
    assert focused() is reset.password
    type_text("sandi-baru-ani-1")
    tab()
    type_text("sandi-lain-ani-1")
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(reset.message.isVisible)
    assert reset.message.text() == "Kedua kata sandi tidak sama."
    reset.repeat.clear()
    type_text("sandi-baru-ani-1")
    with qtbot.waitSignal(reset.accepted, timeout=10_000):
        press(Qt.Key.Key_Return)
    assert login(runtime, "ani", "sandi-baru-ani-1").username == "ani"

    # The admin's own account cannot be disabled from here; Tab leaves the table.
    dialog.activateWindow()  # offscreen, closing the inner dialog activates nothing by itself
    qtbot.waitUntil(dialog.isActiveWindow)
    dialog.table.setFocus()
    dialog.table.selectRow(_row_of(dialog, "kepala"))
    assert not dialog.buttons["disable"].isEnabled()
    tab()
    assert focused() is not dialog.table
    _alt(Qt.Key.Key_U)  # T&utup
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_sign_in_tells_attempts_left_and_disabled_and_sign_out_leaves_no_name(qtbot, runtime):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = window.login_page
    sign_in(qtbot, window, "ani", "salah-sekali")
    qtbot.waitUntil(lambda: "Sisa 4 kali" in page.message.text() and page.submit.isEnabled())
    assert "Caps Lock" in page.message.text()
    for width, height in SIZES:
        window.resize(width, height)
        shoot(window, f"login-attempts-left-{width}")
    assert focused() is page.password
    type_text(PASSWORD)
    with qtbot.waitSignal(window.signed_in, timeout=10_000):
        press(Qt.Key.Key_Return)
    window.sign_out()
    assert page.username.text() == "" and page.password.text() == ""
    qtbot.waitUntil(lambda: focused() is page.username)

    set_user_active(runtime, make_user(runtime, "kepala", "admin"), "ani", False)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: "dinonaktifkan" in page.message.text())
    assert window.actor is None


def test_the_access_log_answers_who_saw_a_person_by_keyboard(qtbot, runtime):
    from mppdesk.desk.intake import finalize_visit, parse_visit

    ani = make_user(runtime, "ani", "officer")
    budi = make_user(runtime, "budi", "officer")
    make_user(runtime, "sari", "supervisor")
    visit = example_visit(KTP)
    finalize_visit(runtime, ani, parse_visit(visit))
    nik = visit["applicant"]["nik"]
    assert counter.lookup_applicant(runtime, budi, nik) is not None

    window = open_window(qtbot, runtime)
    sign_in_to_visit(qtbot, window, "sari", PASSWORD)
    window.actions_by_name["accessLog"].trigger()
    page = window.screen_pages["access_log"]
    qtbot.waitUntil(lambda: page.search.isEnabled() and page.status.text().endswith("kejadian."))
    assert focused() is page.subject
    type_text(nik)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.search.isEnabled() and page.table.rowCount() > 0)
    cells = [
        [_cell(page.table, r, c) for c in range(page.table.columnCount())]
        for r in range(page.table.rowCount())
    ]
    assert ["Budi (budi)", "Membuka data pemohon", "Data pemohon"] in [row[1:4] for row in cells]
    assert any(row[1] == "Ani (ani)" for row in cells)  # the intake concerns the person too
    assert nik not in str(cells)
    tab()
    assert focused() is page.user
    type_text("budi")
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: page.search.isEnabled()
        and {_cell(page.table, r, 1) for r in range(page.table.rowCount())} == {"Budi (budi)"}
    )
    for width, height in SIZES:
        window.resize(width, height)
        shoot(window, f"access-log-{width}")
    tab()
    type_text("31-02-2026")
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "tidak terbaca" in page.status.text())
