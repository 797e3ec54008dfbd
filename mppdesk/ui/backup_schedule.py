"""The scheduled backup of the running desk, and its last outcome in the status bar.

A timer asks every few minutes whether a backup is due (``[backup] dir`` and
``interval_hours`` in the settings, the last outcome in the data dir's status file); when it
is, the backup runs through the window's TaskRunner and the label follows. It runs on the
network pool, not the store thread: a backup of a large store takes many seconds and the
officer's saves must not queue behind it (the snapshot reads alongside writers; WAL).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMainWindow

from mppdesk.ui import i18n
from mppdesk.ui.i18n import tr
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


FAILED = "#a8200d"
CHECK_MS = 5 * 60_000  # how often the schedule looks; the interval itself is in hours
FIRST_CHECK_MS = 60_000  # after sign-in, not during it


class ScheduledBackup(QObject):
    """``finished(status)`` after each attempt; ``label`` goes into the status bar."""

    finished = Signal(object)

    def __init__(
        self,
        runtime: Any,
        tasks: TaskRunner,
        parent: QObject | None = None,
        *,
        check_ms: int = CHECK_MS,
        first_check_ms: int = FIRST_CHECK_MS,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.tasks = tasks
        self.running = False
        self.status: Any = None
        self.label = QLabel("")
        self.label.setObjectName("backupStatus")
        # Child timers, not QTimer.singleShot(callable): they die with the window.
        self._first = QTimer(self)
        self._first.setSingleShot(True)
        self._first.setInterval(first_check_ms)
        self._first.timeout.connect(self.check)
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        self._timer.start()
        self._first.start()
        self._render()

    def stop(self) -> None:
        self._first.stop()
        self._timer.stop()

    def check(self) -> None:
        """Back up if due (decided on the worker: it reads the status file)."""
        if self.running:
            return
        settings = self.runtime.settings.backup
        if not settings.dir or settings.interval_hours <= 0:
            self._render()
            return
        runtime, target, hours = (
            self.runtime,
            Path(settings.dir).expanduser(),
            settings.interval_hours,
        )

        def work() -> tuple[Any, bool]:
            from mppdesk.desk.backup import backup_due, read_status, scheduled_backup

            status = read_status(runtime.data_dir)
            if not backup_due(status, hours, runtime.now()):
                return status, False
            return scheduled_backup(runtime, target), True

        self.running = True
        self._render()
        self.tasks.run(work, self._done, self._failed, network=True)

    def _done(self, outcome: tuple[Any, bool]) -> None:
        self.running = False
        self.status, ran = outcome
        self._render()
        if ran:
            self.finished.emit(self.status)

    def _failed(self, error: BaseException) -> None:
        # A bug, not the target (those come back as a status): shown, tried again next tick.
        log.error("scheduled backup crashed: %s", getattr(error, "__traceback_text__", error))
        self.running = False
        self.label.setText(tr("backupbar.failed", error=_short(str(error))))
        self.label.setStyleSheet(f"color: {FAILED}; font-weight: 600;")

    def _render(self) -> None:
        settings = self.runtime.settings.backup
        status = self.status
        tz = self.runtime.tz
        self.label.setStyleSheet("")
        if self.running:
            self.label.setText(tr("backupbar.running"))
        elif not settings.dir or settings.interval_hours <= 0:
            self.label.setText(tr("backupbar.off"))
        elif status is None or (status.last_success_at is None and not status.failed):
            self.label.setText(tr("backupbar.never"))
        elif status.failed and (
            status.last_success_at is None or status.last_attempt_at > status.last_success_at
        ):
            error = status.error_text(i18n.language()) or ""
            self.label.setText(tr("backupbar.failed", error=_short(error)))
            self.label.setStyleSheet(f"color: {FAILED}; font-weight: 600;")
        else:
            self.label.setText(tr("backupbar.last", when=_when(status.last_success_at, tz)))
        lines = [tr("backupbar.where", dir=settings.dir or "—")]
        if status is not None and status.last_success_at is not None:
            lines.append(tr("backupbar.last_ok", when=_when(status.last_success_at, tz)))
            if status.last_backup:
                lines.append(status.last_backup)
        if status is not None and status.failed:
            lines.append(status.error_text(i18n.language()) or "")
        self.label.setToolTip("\n".join(lines))
        self.label.setAccessibleName("; ".join([self.label.text(), *lines]))


def start_backup_schedule(window: QMainWindow) -> ScheduledBackup | None:
    """Start the schedule once per window, its label at the right of the status bar."""
    schedule = getattr(window, "backup_schedule", None)
    if schedule is not None or getattr(window, "runtime", None) is None:
        return schedule
    schedule = ScheduledBackup(window.runtime, window.tasks, window)
    window.statusBar().addPermanentWidget(schedule.label)
    window.backup_schedule = schedule
    schedule.start()
    return schedule


def _when(moment: datetime | None, tz: Any) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    if local.date() == datetime.now(tz).date():
        return f"{local:%H:%M}"
    return i18n.format_datetime(moment, tz)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
