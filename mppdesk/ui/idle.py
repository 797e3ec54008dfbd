"""Idle lock: the desk locks itself after the configured minutes without keyboard or mouse.

A counter is a public place; an officer called away must not leave a citizen's data on
screen. The watcher filters the application's input events (it never consumes them) and
restarts one timer; nothing polls.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication


def _activity_types() -> frozenset:
    return frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
            QEvent.Type.TouchBegin,
        }
    )


class IdleWatcher(QObject):
    idle = Signal()

    def __init__(self, timeout_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(max(1, timeout_ms))
        self.timer.timeout.connect(self.idle.emit)
        self._installed = False
        self._activity: frozenset = frozenset()  # built at start(): after the window shows

    def start(self) -> None:
        if not self._activity:
            self._activity = _activity_types()
        app = QApplication.instance()
        if app is not None and not self._installed:
            app.installEventFilter(self)
            self._installed = True
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None and self._installed:
            app.removeEventFilter(self)
            self._installed = False

    def set_timeout(self, timeout_ms: int) -> None:
        self.timer.setInterval(max(1, timeout_ms))
        if self.timer.isActive():
            self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() in self._activity and self.timer.isActive():
            self.timer.start()
        return False
