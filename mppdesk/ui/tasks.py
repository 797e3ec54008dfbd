"""One helper for background work, results back on the GUI thread.

A widget never waits on SQL or HTTP: it hands a function to ``TaskRunner.run`` and gets the
result (or the exception) in a callback on the GUI thread. Store work runs on one thread so
writes queue in order; network work has a small pool of its own (Anki's taskman model).
"""

from __future__ import annotations

import itertools
import logging
import threading
import traceback
from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the GUI thread; a worker emits a task id, Qt queues the call to the GUI thread.

    Only the id crosses threads. Python objects sent through a queued ``Signal(object)``
    from a pool thread corrupted reference counts under load here (PySide 6.12: "Fatal
    Python error: bool_dealloc" after a few thousand tasks), so outcomes wait in a locked
    dict on the runner instead.
    """

    done = Signal(int)


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
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._callbacks: dict[
            int, tuple[Callable[[Any], None] | None, Callable[[BaseException], None] | None]
        ] = {}
        self._outcomes: dict[int, tuple[Any, BaseException | None]] = {}

    def run(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        *,
        network: bool = False,
    ) -> None:
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_success, on_failure)
        self.pending += 1
        # A plain callable: Qt owns the runnable it wraps, so no Python QRunnable can be
        # collected (or deleted twice) while a pool thread still runs it.
        (self.network_pool if network else self.store_pool).start(partial(self._work, task_id, fn))

    def _work(self, task_id: int, fn: Callable[[], Any]) -> None:  # runs on a pool thread
        try:
            outcome: tuple[Any, BaseException | None] = (fn(), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the failure callback
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            outcome = (None, exc)
        with self._lock:
            self._outcomes[task_id] = outcome
        self._relay.done.emit(task_id)

    @Slot(int)
    def _deliver(self, task_id: int) -> None:
        with self._lock:
            value, error = self._outcomes.pop(task_id)
        on_success, on_failure = self._callbacks.pop(task_id)
        self.pending -= 1
        callback = on_failure if error is not None else on_success
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
