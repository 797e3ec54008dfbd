"""The sync worker on a background thread, its plain callbacks turned into Qt signals.

The worker (``mppdesk.sync.worker.SyncWorker``) knows nothing of Qt: it reports through a
``SyncListener``. This bridge is that listener; it posts each event to the GUI thread through
``GuiInbox`` and emits the Qt signal there (Electrum's ``QtEventListener`` model; a signal
emitted from a Python worker thread crashed PySide 6.12 here, see ``mppdesk.ui.inbox``).
The undelivered backlog per agency is counted on the worker's thread after every pass, so no
widget ever runs that query itself. Each agency runs on a lane of its own inside the worker
(``SyncWorker.run_forever``): one agency trickling its answers delays no other agency, and no
health check blocks the loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from mppdesk.desk.runtime import Runtime
from mppdesk.desk.submission_views import sync_backlog
from mppdesk.settings import Settings
from mppdesk.sync.worker import AgencyHealth, PassReport, SyncWorker
from mppdesk.ui.inbox import GuiInbox

log = logging.getLogger(__name__)


class _Listener:
    """The worker's ``SyncListener``: called on the worker's threads, emits signals."""

    def __init__(self, bridge: SyncBridge) -> None:
        self._bridge = bridge

    def outbox_changed(self, agency: str, submission_ids: list[str]) -> None:
        if submission_ids:
            self._bridge.inbox.post(self._bridge.outbox_changed.emit, list(submission_ids))

    def agency_health_changed(self, health: AgencyHealth) -> None:
        self._bridge.inbox.post(self._bridge.agency_health_changed.emit, health)


class SyncBridge(QObject):
    """Owns the worker thread. ``start()`` once the desk is open, ``stop()`` at shutdown.

    Signals (all delivered on the GUI thread):

    - ``outbox_changed(list)``: ids of submissions whose send or agency state changed;
    - ``agency_health_changed(object)``: an ``AgencyHealth`` snapshot of one agency;
    - ``backlog_changed(object)``: ``{agency: {state: count}}`` of undelivered entries;
    - ``pass_finished(object)``: the ``PassReport`` of one pass;
    - ``running_changed(bool)``;
    - ``failed(str)``: the worker stopped on an error it could not handle.
    """

    outbox_changed = Signal(list)
    agency_health_changed = Signal(object)
    backlog_changed = Signal(object)
    pass_finished = Signal(object)
    running_changed = Signal(bool)
    failed = Signal(str)

    def __init__(self, runtime: Runtime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        # Worker threads never emit Qt signals themselves: they post to the GUI thread.
        self.inbox = GuiInbox(self)
        self._worker: SyncWorker | None = None
        self._thread: threading.Thread | None = None
        self.health: dict[str, AgencyHealth] = {}  # last known, kept on the GUI thread
        self.backlog: dict[str, dict[str, int]] = {}
        self.agency_health_changed.connect(self._remember_health)
        self.backlog_changed.connect(self._remember_backlog)

    # --- life cycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._worker = SyncWorker(
            self.runtime.store,
            self.runtime.settings,
            self.runtime.blobs,
            clock=self.runtime.clock,
            listener=_Listener(self),
        )
        self._worker.request_health_probe()  # the first cycle asks every agency how it is
        self._thread = threading.Thread(
            target=self._run, args=(self._worker,), name="sync-bridge", daemon=True
        )
        self._thread.start()
        self.running_changed.emit(True)

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the worker and join its thread; True when it ended within ``timeout_s``.

        Requests in flight are cut at once; the entries they carried go back to pending
        without an attempt counted, and go out again next time.
        """
        worker, thread = self._worker, self._thread
        if worker is None or thread is None:
            return True
        worker.stop()
        thread.join(timeout_s)
        ended = not thread.is_alive()
        if ended:
            worker.close()
            self._worker = None
            self._thread = None
            self.running_changed.emit(False)
        else:
            log.warning("sync worker did not stop within %.0f s", timeout_s)
        return ended

    def sync_now(self) -> None:
        """Start a pass at once and ask every agency how it is (the officer's "sync now",
        after a retry-now or a finalized visit)."""
        if self._worker is not None:
            self._worker.request_health_probe()

    def update_settings(self, settings: Settings) -> None:
        self.runtime.settings = settings
        if self._worker is not None:
            self._worker.update_settings(settings)
            self.sync_now()

    # --- on the worker's thread ---------------------------------------------------------

    def _run(self, worker: SyncWorker) -> None:
        try:
            self._emit_backlog()
            worker.run_forever(on_pass=lambda report: self._after_pass(worker, report))
        except Exception as exc:  # noqa: BLE001 - shown in the status bar, and logged
            log.exception("sync worker stopped")
            self.inbox.post(self.failed.emit, str(exc) or type(exc).__name__)

    def _after_pass(self, worker: SyncWorker, report: PassReport) -> None:
        self._emit_backlog()
        self.inbox.post(self.pass_finished.emit, report)

    def _emit_backlog(self) -> None:
        self.inbox.post(self.backlog_changed.emit, sync_backlog(self.runtime))

    # --- on the GUI thread --------------------------------------------------------------

    def _remember_health(self, health: AgencyHealth) -> None:
        self.health[health.agency] = health

    def _remember_backlog(self, backlog: Any) -> None:
        self.backlog = dict(backlog)
