"""The status bar's count of returned submissions still owed a correction.

A supervisor's return is only useful if the officer notices it: the count sits in the status
bar from sign-in to sign-out (hidden at zero), reloads when a review decision, a visit (a
correction finalized) or the hub's pull changed something, and says where to look (F6).
The count is the desk's (``mppdesk.desk.corrections.open_returns``), read on the store thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from mppdesk.core.changes import Changes, Kind
from mppdesk.desk import corrections
from mppdesk.ui.i18n import plain, tr

OBJECT_NAME = "returnsIndicator"


class ReturnsIndicator(QLabel):
    def __init__(self, runtime: Any, actor: Any, tasks: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.count: int | None = None
        self.loads = 0  # counts that reached the label (tests follow it)
        self._window: Any = None  # the main window whose status bar holds it
        self.setVisible(False)
        self.refresh()

    def remove(self) -> None:
        """Off the status bar for good (sign-out, or another sign-in replacing it)."""
        window, self._window = self._window, None
        if window is not None:
            window.signed_out.disconnect(self.remove)
            window.statusBar().removeWidget(self)
        self.deleteLater()

    def wants(self, changes: Changes) -> bool:
        return changes.touches(Kind.REVIEW, Kind.VISITS, Kind.HUB)

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        self.refresh()

    def refresh(self) -> None:
        runtime, actor = self.runtime, self.actor
        self.tasks.run(lambda: corrections.open_returns(runtime, actor), self._show)

    def _show(self, count: int) -> None:
        self.count = count
        self.loads += 1
        self.setText(tr("status.returns", count=count))
        self.setToolTip(plain("status.returns_tip", count=count))
        self.setAccessibleName(plain("status.returns", count=count))
        self.setVisible(count > 0)


def show_returns(window: Any) -> ReturnsIndicator:
    """Put the signed-in actor's count in ``window``'s status bar; gone at sign-out."""
    old = window.findChild(ReturnsIndicator, OBJECT_NAME)
    if old is not None:
        old.remove()
    indicator = ReturnsIndicator(window.runtime, window.actor, window.tasks, window)
    indicator.setStyleSheet("color: #a8200d; font-weight: bold; padding: 0 6px;")
    window.statusBar().addWidget(indicator)
    window.notifier.follow(indicator)
    window.signed_out.connect(indicator.remove)
    indicator._window = window
    return indicator
