"""Calls from plain Python threads, run on the GUI thread: the one way in from a worker.

With PySide 6.12 on Python 3.11, emitting a Qt signal or posting a Qt event from a Python
worker thread corrupted reference counts and killed the process within a few thousand calls
(measured here; see ``mppdesk.ui.tasks``). What held up: worker threads that touch no Qt
object at all, putting calls in a locked queue and waking the GUI thread through a socket
pair watched by a ``QSocketNotifier`` (the classic self-pipe). Every worker-to-GUI hand-over
of the desk goes through this class.
"""

from __future__ import annotations

import logging
import queue
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)


class GuiInbox(QObject):
    """``post(fn, *args)`` from any thread; ``fn(*args)`` then runs on the GUI thread."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._calls: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self.deliver)
        self.destroyed.connect(partial(_release, self._notifier, self._read, self._write))

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Thread-safe, touches no Qt object: queue the call and wake the GUI thread."""
        self._calls.put((fn, args))
        try:
            self._write.send(b"\0")
        except OSError:  # already awake (buffer full), or the inbox is gone
            pass

    def deliver(self, *_args: Any) -> None:
        """On the GUI thread: run every queued call (also callable directly, e.g. in tests)."""
        try:
            while self._read.recv(4096):
                pass
        except OSError:
            pass
        while True:
            try:
                fn, args = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - one bad call must not starve the others
                log.exception("a call posted to the GUI thread failed")


def _release(notifier: QSocketNotifier, *sockets: socket.socket) -> None:
    if shiboken6.isValid(notifier):
        notifier.setEnabled(False)
    for sock in sockets:
        sock.close()
