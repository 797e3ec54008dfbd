"""Calls from plain Python threads, run on the GUI thread: the one way in from a worker.

With PySide 6.12 on Python 3.11, emitting a Qt signal or posting a Qt event from a Python
worker thread corrupted reference counts and killed the process within a few thousand calls
(measured here; see ``mppdesk.ui.tasks``). What held up: worker threads that touch no Qt
object at all, putting calls in a locked queue and waking the GUI thread through a pipe
watched by a ``QSocketNotifier`` (the classic self-pipe). Every worker-to-GUI hand-over
of the desk goes through this class.

A posted call that raises is a bug: it goes to ``sys.excepthook`` like an exception escaping
a slot (the desk's crash hook in the app, pytest-qt's capture in the tests, where it fails
the test that caused it), never only to a log line.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier


class GuiInbox(QObject):
    """``post(fn, *args)`` from any thread; ``fn(*args)`` then runs on the GUI thread."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        # A pipe of plain file descriptors: closed with the inbox, and never a socket object
        # that warns when the garbage collector finds it first.
        self._pipe = _Pipe()
        self._notifier = QSocketNotifier(self._pipe.read_fd, QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self.deliver)
        # Closed when the C++ object goes, or when the wrapper is collected first; either way
        # the notifier is switched off before its descriptor closes (Qt warns of a notifier
        # on a closed descriptor, "QSocketNotifier: Invalid socket").
        self.destroyed.connect(partial(_release, self._notifier, self._pipe))
        weakref.finalize(self, _release, self._notifier, self._pipe)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Thread-safe, touches no Qt object: queue the call and wake the GUI thread."""
        self._calls.put((fn, args))
        self._pipe.wake()

    def deliver(self, *_args: Any) -> None:
        """On the GUI thread: run every queued call (also callable directly, e.g. in tests)."""
        self._pipe.drain()
        while True:
            try:
                fn, args = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - reported; one bad call must not starve the others
                sys.excepthook(*sys.exc_info())


class _Pipe:
    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self._lock = threading.Lock()
        self.closed = False

    def wake(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                os.write(self.write_fd, b"\0")
            except OSError:  # the pipe is full: the GUI thread is awake already
                pass

    def drain(self) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                while os.read(self.read_fd, 4096):
                    pass
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            os.close(self.read_fd)
            os.close(self.write_fd)


def _release(notifier: QSocketNotifier, pipe: _Pipe) -> None:
    if shiboken6.isValid(notifier):
        if threading.current_thread() is not threading.main_thread():
            return  # the collector ran on a worker: Qt is touched on the GUI thread only
        notifier.setEnabled(False)
    pipe.close()
