"""One helper for background work, results back on the GUI thread.

A widget never waits on SQL or HTTP: it hands a function to ``TaskRunner.run`` and gets the
result (or the exception) in a callback on the GUI thread. Store work runs on one thread so
writes queue in order; network work has a small pool of its own (Anki's taskman model).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the GUI thread; the worker emits, Qt queues the call to the GUI thread."""

    done = Signal(object, object, object)  # callback, value, error


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay, on_success, on_failure):
        super().__init__()
        self.fn = fn
        self.relay = relay
        self.on_success = on_success
        self.on_failure = on_failure
        self.setAutoDelete(True)

    def run(self) -> None:  # runs on a pool thread
        try:
            value = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the failure callback
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.relay.done.emit(self.on_failure, None, exc)
            return
        self.relay.done.emit(self.on_success, value, None)


class TaskRunner(QObject):
    """Runs functions off the GUI thread and calls back on it."""

    failed = Signal(object)  # an exception nobody handled: shown by the main window

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._relay = _Relay(self)
        self._relay.done.connect(self._deliver)
        self.store_pool = QThreadPool(self)
        self.store_pool.setMaxThreadCount(1)
        self.network_pool = QThreadPool(self)
        self.network_pool.setMaxThreadCount(4)
        self.pending = 0

    def run(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        *,
        network: bool = False,
    ) -> None:
        self.pending += 1
        task = _Task(fn, self._relay, on_success, on_failure)
        (self.network_pool if network else self.store_pool).start(task)

    @Slot(object, object, object)
    def _deliver(self, callback, value, error) -> None:
        self.pending -= 1
        if _owner_gone(callback):
            # The widget that asked was closed meanwhile (a dialog shut while its lookup ran):
            # calling into its deleted C++ half would crash the process.
            log.debug("dropped the result of a task whose widget is gone")
            return
        if error is not None:
            if callback is not None:
                callback(error)
            else:
                log.error("background task failed: %s", getattr(error, "__traceback_text__", error))
                self.failed.emit(error)
            return
        if callback is not None:
            callback(value)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Wait for queued work (used at shutdown and in tests)."""
        ok = self.store_pool.waitForDone(msecs)
        return self.network_pool.waitForDone(msecs) and ok


def _owner_gone(callback: Callable[..., Any] | None) -> bool:
    """Whether ``callback`` is a method (or a partial of one) of a QObject already deleted."""
    target = callback
    while isinstance(target, partial):
        target = target.func
    owner = getattr(target, "__self__", None)
    return isinstance(owner, QObject) and not shiboken6.isValid(owner)
