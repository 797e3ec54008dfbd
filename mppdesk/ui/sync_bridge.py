"""The sync worker on a background thread, its plain callbacks turned into Qt signals.

The worker (``mppdesk.sync.worker.SyncWorker``) knows nothing of Qt: it reports through a
``SyncListener``. This bridge is that listener; it posts each event to the GUI thread through
``GuiInbox`` and emits the Qt signal there (Electrum's ``QtEventListener`` model; a signal
emitted from a Python worker thread crashed PySide 6.12 here, see ``mppdesk.ui.inbox``).
The undelivered backlog per agency is counted on the worker's thread after every pass, so no
widget ever runs that query itself. Each agency runs on a lane of its own inside the worker
(``SyncWorker.run_forever``): one agency trickling its answers delays no other agency, and no
health check blocks the loop.

What the worker changed reaches the views as ``Changes`` (``changed``): each outbox event as
the outbox and the submissions it names, and a pass that moved entries without naming them
as the outbox alone. The bridge also follows the window's notifier: an outbox change made
elsewhere (a finalize, an approval releasing held entries, "retry now") starts a pass at once.

A desk joined to the mall hub replicates on the worker's hub lane, which records what it did
in the store's hub state (last push, last pull, pull cursor, last error, catalog outcome).
The bridge watches that state on a thread of its own (one small read a second, never HTTP)
and posts a ``HubView`` (``hub_changed``) when it differs; when the pull cursor moved, the
pull brought accounts, catalog, settings or review decisions, and ``changed`` carries
``HUB_PULL_CHANGES`` so the views that show them reload (and the worker looks at once for
outbox entries a pulled approval released).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, Signal

from mppdesk.core.changes import NOTHING, Changes, Kind
from mppdesk.desk import hub as desk_hub
from mppdesk.desk.runtime import Runtime
from mppdesk.desk.submission_views import sync_backlog
from mppdesk.settings import Settings
from mppdesk.sync.worker import AgencyHealth, PassReport, SyncWorker
from mppdesk.ui.inbox import GuiInbox

log = logging.getLogger(__name__)

HUB_WATCH_S = 1.0  # how often the hub lane's recorded state is looked at
# How long a hub approval this desk refused stays on the status bar (the submission's detail
# and ``mppdesk hub status`` keep saying it afterwards).
REFUSED_SHOWN = timedelta(hours=24)
# What a pull that brought something may have changed (the items' kinds are not recorded):
# accounts, catalog overrides, decisions on this desk's submissions (which release outbox
# entries). Not SETTINGS: the lane writes agency endpoints to settings.toml, not to this
# window's settings, and the window's own settings (language, idle lock) never come from it.
HUB_PULL_CHANGES = Changes.of(
    Kind.HUB,
    Kind.USERS,
    Kind.CATALOG,
    Kind.REVIEW,
    Kind.SUBMISSIONS,
    Kind.OUTBOX,
)


@dataclass(frozen=True)
class RefusedApproval:
    """One approval pulled from the hub that this desk refused to apply
    (``mppdesk.store.hub.apply_review``): which submission, who approved, why (``refusal``:
    ``own_intake`` or ``superseded``, then ``superseded_by`` names the replacement)."""

    submission_id: str
    tracking_number: str
    actor: str
    refusal: str
    superseded_by: str | None
    at: datetime


@dataclass(frozen=True)
class HubView:
    """The hub as the status bar shows it. ``state``: ``connecting`` (joined, nothing heard
    yet), ``connected``, ``offline`` (the last try failed, or nothing heard for longer than
    three pulls), ``refused`` (the hub refused the token or a batch: an admin must act).
    ``refused_approvals``: the hub approvals this desk lately refused to apply (by the
    supervisor who took the submission in, or of one superseded here meanwhile)."""

    url: str
    desk: str
    state: str
    pending: int
    last_push: datetime | None
    last_pull: datetime | None
    error: str | None
    catalog_problem: str | None
    cursor: int
    refused_approvals: tuple[RefusedApproval, ...] = ()  # refused here within REFUSED_SHOWN


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def hub_view(status: desk_hub.HubStatus, now: datetime, settings: Settings) -> HubView:
    """Pure: what the recorded hub state means for the officer at ``now``."""
    last_push, last_pull = _moment(status.last_push), _moment(status.last_pull)
    error = status.last_error or {}
    error_at = _moment(error.get("at"))
    heard = max((m for m in (last_push, last_pull) if m is not None), default=None)
    stale_after = timedelta(
        seconds=3 * settings.hub.pull_interval_s + settings.hub.timeout_s
    )
    failed_since = error_at is not None and (heard is None or error_at > heard)
    if failed_since and error.get("outcome") in ("paused", "refused"):
        state = "refused"
    elif failed_since:
        state = "offline"
    elif heard is None:
        state = "connecting"
    elif now - heard > stale_after:
        state = "offline"
    else:
        state = "connected"
    problem = None
    if status.catalog_error:
        problems = status.catalog_error.get("problems") or []
        problem = str(problems[0]) if problems else "?"
    message = error.get("message") if failed_since else None
    refused = []
    for entry in status.refused_reviews:  # newest first, as the store keeps them
        at = _moment(entry.get("at"))
        if at is None or now - at > REFUSED_SHOWN:
            continue
        refused.append(
            RefusedApproval(
                submission_id=str(entry.get("submission_id") or ""),
                tracking_number=str(entry.get("tracking_number") or ""),
                actor=str(entry.get("actor") or ""),
                refusal=str(entry.get("refusal") or ""),
                superseded_by=(
                    str(entry["superseded_by"]) if entry.get("superseded_by") else None
                ),
                at=at,
            )
        )
    return HubView(
        url=status.url,
        desk=status.desk,
        state=state,
        pending=status.pending,
        last_push=last_push,
        last_pull=last_pull,
        error=str(message) if message else None,
        catalog_problem=problem,
        cursor=status.cursor,
        refused_approvals=tuple(refused),
    )


def changes_of_pass(report: PassReport) -> Changes:
    """What one pass changed, as far as its report tells: the outbox when any entry moved
    (sent, answered, retried, failed, paused, flagged, released, or an agency status read);
    nothing for a pass that only asked how the agencies are."""
    moved = (
        report.sent,
        report.delivered,
        report.retried,
        report.failed,
        report.paused,
        report.flagged,
        report.released,
        report.status_updates,
    )
    return Changes.of(Kind.OUTBOX) if any(moved) else NOTHING


class _Listener:
    """The worker's ``SyncListener``: called on the worker's threads, emits signals."""

    def __init__(self, bridge: SyncBridge) -> None:
        self._bridge = bridge

    def outbox_changed(self, agency: str, submission_ids: list[str]) -> None:
        if submission_ids:
            self._bridge.inbox.post(self._bridge._outbox_event, list(submission_ids))

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
    - ``failed(str)``: the worker stopped on an error it could not handle;
    - ``changed(object)``: the ``Changes`` of an outbox event, of a pass or of a hub pull
      (see the module docstring), for the window's notifier;
    - ``hub_changed(object)``: a ``HubView`` when the desk is joined to a hub and what the
      hub lane recorded changed.
    """

    outbox_changed = Signal(list)
    changed = Signal(object)
    agency_health_changed = Signal(object)
    backlog_changed = Signal(object)
    pass_finished = Signal(object)
    running_changed = Signal(bool)
    failed = Signal(str)
    hub_changed = Signal(object)

    def __init__(self, runtime: Runtime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        # Worker threads never emit Qt signals themselves: they post to the GUI thread.
        self.inbox = GuiInbox(self)
        self._worker: SyncWorker | None = None
        self._thread: threading.Thread | None = None
        self.health: dict[str, AgencyHealth] = {}  # last known, kept on the GUI thread
        self.backlog: dict[str, dict[str, int]] = {}
        self._named_since_pass = False  # an outbox event named its submissions this pass
        self.hub: HubView | None = None  # last known, kept on the GUI thread
        self._hub_stop = threading.Event()
        self._hub_thread: threading.Thread | None = None
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
        self._start_hub_watch()
        self.running_changed.emit(True)

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the worker and join its thread; True when it ended within ``timeout_s``.

        Requests in flight are cut at once; the entries they carried go back to pending
        without an attempt counted, and go out again next time.
        """
        self._stop_hub_watch(timeout_s)
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

    # --- the hub lane's recorded state -------------------------------------------------

    def _start_hub_watch(self) -> None:
        if not desk_hub.joined(self.runtime.settings) or self._hub_thread is not None:
            return
        self._hub_stop.clear()
        self._hub_thread = threading.Thread(
            target=self._watch_hub, name="sync-bridge-hub", daemon=True
        )
        self._hub_thread.start()

    def _stop_hub_watch(self, timeout_s: float) -> None:
        thread, self._hub_thread = self._hub_thread, None
        if thread is not None:
            self._hub_stop.set()
            thread.join(timeout_s)

    def _watch_hub(self) -> None:
        """On the watch thread: post the hub's view when it changed, and the pull's changes
        when the cursor moved. A store fault is logged and tried again next time."""
        shown: HubView | None = None
        cursor: int | None = None
        while True:
            runtime = self.runtime
            try:
                view = hub_view(desk_hub.status(runtime, probe=False), runtime.now(), runtime.settings)
            except Exception:  # noqa: BLE001 - the next look may work; the bar keeps the last
                log.exception("hub state could not be read")
            else:
                if cursor is not None and view.cursor != cursor:
                    self.inbox.post(self._hub_pulled)
                cursor = view.cursor
                if view != shown:
                    shown = view
                    self.inbox.post(self._hub_event, view)
            if self._hub_stop.wait(HUB_WATCH_S):
                return

    def _hub_event(self, view: HubView) -> None:
        self.hub = view
        self.hub_changed.emit(view)

    def _hub_pulled(self) -> None:
        self.changed.emit(HUB_PULL_CHANGES)
        self.sync_now()  # a pulled approval released entries: nobody else tells the worker

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
        self.inbox.post(self._pass_event, report)

    def _emit_backlog(self) -> None:
        self.inbox.post(self.backlog_changed.emit, sync_backlog(self.runtime))

    # --- on the GUI thread --------------------------------------------------------------

    def _outbox_event(self, submission_ids: list[str]) -> None:
        self._named_since_pass = True
        self.outbox_changed.emit(submission_ids)
        self.changed.emit(Changes.of(Kind.OUTBOX, submission_ids=submission_ids))

    def _pass_event(self, report: PassReport) -> None:
        # Views heard of every named submission already; a pass that moved entries without
        # naming any (given back unsent, a backlog that changed) still tells the outbox's.
        named, self._named_since_pass = self._named_since_pass, False
        self.pass_finished.emit(report)
        changes = changes_of_pass(report)
        if changes and not named:
            self.changed.emit(changes)

    # As a follower of the window's notifier: outbox work made elsewhere is due now.
    def wants(self, changes: Changes) -> bool:
        return changes.outbox

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        if origin is not self:
            self.sync_now()

    def _remember_health(self, health: AgencyHealth) -> None:
        self.health[health.agency] = health

    def _remember_backlog(self, backlog: Any) -> None:
        self.backlog = dict(backlog)
