"""The desk window's error boundary (issue 10): a failing callback ends in a crash report with
personal data masked and a plain dialog; a fault at start-up is a plain message on the
sign-in page, never an exception's text."""

from __future__ import annotations

import stat
import sys
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mppdesk.ui.crash_hook import install_excepthook
from mppdesk.ui.login import FAILED
from mppdesk.ui.window import DeskWindow

NIK = "3174014506900021"
PHONE = "081234567890"


@pytest.fixture
def restore_hooks(monkeypatch):
    """The hooks the test installs are taken down again after it."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)


def _dialogs() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]


@pytest.mark.qt_no_exception_capture  # the desk's own hook must see the slot's exception
def test_a_failing_callback_writes_a_masked_crash_report_and_says_where(
    qtbot, tmp_path, restore_hooks
):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    install_excepthook(data_dir)

    def on_timer() -> None:  # a slot of the window that fails with an applicant in its text
        raise ValueError(f"pemohon {NIK} dengan HP {PHONE} tidak cocok")

    QTimer.singleShot(0, on_timer)
    crash_dir = data_dir / "crash"
    qtbot.waitUntil(lambda: crash_dir.is_dir() and any(crash_dir.iterdir()), timeout=5000)
    qtbot.waitUntil(lambda: bool(_dialogs()), timeout=5000)

    (report,) = crash_dir.iterdir()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    text = report.read_text()
    assert "ValueError" in text and "on_timer" in text
    assert "3174********0021" in text and NIK not in text and PHONE not in text
    (dialog,) = _dialogs()
    shown = dialog.text()
    assert str(report) in shown and "ValueError" in shown
    assert NIK not in shown and "pemohon" not in shown  # the exception's own text stays out
    dialog.close()


def test_a_bad_setting_at_start_up_is_a_plain_message_on_the_sign_in_page(qtbot, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "settings.toml").write_text("[sync]\nlease_s = inf\n")
    window = DeskWindow(start_sync=False)
    qtbot.addWidget(window)
    window.show()

    window.open_install(data_dir)

    qtbot.waitUntil(lambda: window.login_page.mode == FAILED, timeout=10_000)
    message = window.login_page.message.text()
    assert "sync.lease_s" in message and "pengaturan" in message
    assert "Traceback" not in message
    assert not (data_dir / "crash").exists()  # a known fault, not a crash
