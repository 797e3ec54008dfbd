"""One helper for background work, results back on the GUI thread.

A widget never waits on SQL or HTTP: it hands a function to ``TaskRunner.run`` and gets the
result (or the exception) in a callback on the GUI thread. Store work runs on one thread so
writes queue in order; network work has a small pool of its own (Anki's taskman model).

How results come back matters with PySide 6.12 on Python 3.11. Measured here, each of these
killed the process within a few thousand tasks ("Fatal Python error: bool_dealloc" or
"none_dealloc": reference counts of ``None``/``True`` corrupted): emitting a Qt signal from a
worker thread (``QThreadPool`` with a Python ``QRunnable`` or callable, or a plain Python
thread), and ``QCoreApplication.postEvent`` from worker threads. What held up (40,000 tasks
from 4 threads, repeatedly): workers that are plain Python threads touching no Qt object at
all, handing outcomes to ``mppdesk.ui.inbox.GuiInbox`` (a locked queue and a socket pair
watched by a ``QSocketNotifier``). So that is what this module does.

A task's failure goes to its ``on_failure`` callback, else to whoever listens to ``failed``
(the main window), else to ``sys.excepthook``: never only to a log line. A callback that
raises reaches ``sys.excepthook`` through the inbox.
"""

from __future__ import annotations

import itertools
import logging
import queue
import sys
import threading
import traceback
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QMetaMethod, QObject, Signal

from mppdesk.ui.inbox import GuiInbox

log = logging.getLogger(__name__)

_IDLE_EXIT_S = 30.0  # an idle worker thread ends; the next task starts a new one


class _WorkerPool:
    """Plain Python worker threads, started on demand, that never call into Qt."""

    def __init__(
        self, name: str, size: int, finished: Callable[[int, Any, BaseException | None], None]
    ):
        self.name = name
        self.size = size
        # Weakly: a pool holding its runner made a reference cycle, which the collector could
        # break on a worker thread and so delete the runner's Qt objects off the GUI thread.
        self._finished = weakref.WeakMethod(finished)
        self._jobs: queue.SimpleQueue[tuple[int, Callable[[], Any]]] = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._unfinished = 0

    def submit(self, task_id: int, fn: Callable[[], Any]) -> None:
        with self._lock:
            self._unfinished += 1
            start = self._idle == 0 and self._threads < self.size
            if start:
                self._threads += 1
        self._jobs.put((task_id, fn))
        if start:
            threading.Thread(
                target=self._loop, name=f"{self.name}-{self._threads}", daemon=True
            ).start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                task_id, fn = self._jobs.get(timeout=_IDLE_EXIT_S)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._jobs.empty():
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
            try:
                value, error = fn(), None
            except BaseException as exc:  # noqa: BLE001 - handed to the failure callback
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                value, error = None, exc
            finished = self._finished()
            if finished is not None:  # else the runner is gone: nobody waits for this
                finished(task_id, value, error)
            # Let go now, not when the next task comes: the last reference to a widget the
            # task held is then dropped on the GUI thread, where Qt objects may be deleted.
            del finished, fn, value, error
            with self._lock:
                self._unfinished -= 1
                self._lock.notify_all()

    def wait_done(self, msecs: int) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self._unfinished == 0, msecs / 1000)

    waitForDone = wait_done  # noqa: N815 - the QThreadPool spelling callers may know


class TaskRunner(QObject):
    """Runs functions off the GUI thread and calls back on it."""

    failed = Signal(object)  # an exception nobody handled: shown by the main window

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pending = 0
        self._ids = itertools.count(1)
        self._callbacks: dict[
            int, tuple[Callable[[Any], None] | None, Callable[[BaseException], None] | None]
        ] = {}
        self._inbox: GuiInbox | None = None  # made on the first task: start-up stays short
        self.store_pool = _WorkerPool("store", 1, self._finished)
        self.network_pool = _WorkerPool("network", 4, self._finished)

    def run(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        *,
        network: bool = False,
    ) -> None:
        if self._inbox is None:
            self._inbox = GuiInbox(self)
        task_id = next(self._ids)
        self._callbacks[task_id] = (on_success, on_failure)
        self.pending += 1
        (self.network_pool if network else self.store_pool).submit(task_id, fn)

    def _finished(self, task_id: int, value: Any, error: BaseException | None) -> None:
        """On a worker thread: hand the outcome to the GUI thread (no Qt call here)."""
        inbox = self._inbox
        if inbox is not None:
            inbox.post(self._deliver, task_id, value, error)

    def _deliver(self, task_id: int, value: Any, error: BaseException | None) -> None:
        on_success, on_failure = self._callbacks.pop(task_id, (None, None))
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
            elif self.isSignalConnected(QMetaMethod.fromSignal(self.failed)):
                log.error("background task failed: %s", getattr(error, "__traceback_text__", error))
                self.failed.emit(error)
            else:  # nobody to show it: the crash hook (pytest-qt's capture in the tests)
                sys.excepthook(type(error), error, error.__traceback__)
            return
        if callback is not None:
            callback(value)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Wait for queued work (used at shutdown and in tests)."""
        ok = self.store_pool.wait_done(msecs)
        return self.network_pool.wait_done(msecs) and ok


def _owner_gone(callback: Callable[..., Any] | None) -> bool:
    """Whether ``callback`` is a method (or a partial of one) of a QObject already deleted."""
    target = callback
    while isinstance(target, partial):
        target = target.func
    owner = getattr(target, "__self__", None)
    return isinstance(owner, QObject) and not shiboken6.isValid(owner)
