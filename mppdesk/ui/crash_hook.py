"""The desk window's error boundary: no exception ends as a raw traceback or a silent stop.

PySide calls ``sys.excepthook`` for an exception escaping a slot or a callback and then
carries on; by default that prints a traceback on a terminal nobody watches. Here a known
fault of the environment (full disk, damaged store, key, settings) becomes its plain
message in a dialog, and anything else a crash report in the data dir (personal data
masked) plus a dialog saying where it is. Background threads get the same treatment.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from mppdesk.desk.crash import crash_line, install_thread_hook, write_crash_report
from mppdesk.desk.faults import explain
from mppdesk.ui import i18n

log = logging.getLogger(__name__)

Hook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def failure_text(error: BaseException, data_dir: Path | None) -> str:
    """What to tell the officer about ``error``: a known fault's message, else where the crash
    report is (written now). Never the exception's own text."""
    lang = i18n.language()
    try:
        fault = explain(error)
    except Exception:  # noqa: BLE001 - classifying must never be what crashes
        fault = None
    if fault is not None:
        return fault.message(lang)
    return crash_line(error, write_crash_report(error, data_dir), lang)


def install_excepthook(data_dir: Path | None, *, show: bool = True) -> Hook:
    """Install the window's boundary for the GUI thread and background threads."""

    def hook(
        exc_type: type[BaseException], exc: BaseException, _tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            _quit()
            return
        text = failure_text(exc, data_dir)
        log.error("%s", text)
        if show:
            _show(text)

    sys.excepthook = hook
    install_thread_hook(data_dir)
    return hook


def _quit() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.quit()


_open_dialogs: list[Any] = []


def _show(text: str) -> None:
    """A non-modal dialog: the officer reads it while the desk keeps running."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance()
    if app is None:
        print(text, file=sys.stderr)
        return
    box = QMessageBox(QMessageBox.Icon.Critical, "MPP Desk", text, QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.finished.connect(lambda _result, b=box: _open_dialogs.remove(b))
    _open_dialogs.append(box)
    box.show()
