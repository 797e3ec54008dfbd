"""Sync state at the bottom of the window: per agency online or offline, what waits to go,
and when something last went out; for a desk joined to the mall hub, the hub's state first
(connected or not, what is still to push, the last pull in local time, a rejected catalog).

Updated from ``SyncBridge`` signals only: the bar never reads the store or calls an agency.
Agencies needing attention (paused, offline, with a queue) come first, so with twenty
agencies configured the officer still sees at a glance what is wrong.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizeGrip,
    QSizePolicy,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.send_errors import describe_send_error
from mppdesk.core.states import OutboxState
from mppdesk.desk.review import refusal_reason
from mppdesk.sync.worker import AgencyHealth
from mppdesk.ui import i18n
from mppdesk.ui.i18n import tr
from mppdesk.ui.sync_bridge import HubView, RefusedApproval, SyncBridge

ONLINE = "#12652b"
OFFLINE = "#a8200d"
PAUSED = "#b26b00"
UNKNOWN = "#8a93a0"
MAX_LISTED = 8  # beyond this, healthy idle agencies are folded into "+N online"
MAX_REFUSALS_LISTED = 5  # refused hub approvals named in the hub's tooltip


def refusal_text(refused: RefusedApproval) -> str:
    """One refused hub approval in the officer's words: whose approval of which submission,
    and why this desk did not apply it (the replacement's tracking number, when superseded).
    Names the supervisor and the tracking number only, never the applicant."""
    return tr(
        "hubreview.refused_here",
        tracking=refused.tracking_number,
        actor=refused.actor,
        why=refusal_reason(refused.refusal, refused.superseded_by),
    )


def paused_reason_text(reason: str | None) -> str:
    """A few words on why an agency is paused, in the officer's language."""
    lowered = (reason or "").lower()
    if any(w in lowered for w in ("token", "credential", "unauthorized", "forbidden")):
        return tr("syncbar.reason.credentials")
    if "no endpoint" in lowered or "settings.toml" in lowered:
        return tr("syncbar.reason.config")
    if "base url" in lowered or "http_404" in lowered:
        return tr("syncbar.reason.address")
    return _short_error(reason, 40)


_NETWORK_ERROR = re.compile(r"^network error \((\w+)\)$")


def error_words(text: str | None) -> str:
    """The worker's last error (English, for the log) in the officer's words.

    "network error (refused)" is the send-error class "refused": its catalog words; a failed
    health check says so; anything else keeps its text (a protocol problem the words would
    only blur), which a supervisor reads in the log too.
    """
    raw = " ".join((text or "").split())
    match = _NETWORK_ERROR.match(raw)
    if match is not None:
        return describe_send_error(match[1], i18n.language())
    if raw == "health check failed":
        return tr("counter.syncbar.health_failed")
    return raw


def _when(moment: datetime | None, tz: Any) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    if local.date() == datetime.now(tz).date():
        return f"{local:%H:%M}"
    return i18n.format_datetime(moment, tz)


def _short_error(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AgencyIndicator(QWidget):
    """A coloured dot, the agency's short name and its queue, with the details as tooltip."""

    def __init__(self, code: str, short_name: str, manual: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.code = code
        self.short_name = short_name
        self.manual = manual
        self.setObjectName(f"agency-{code}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        self.dot = QLabel("●", self)
        self.name = QLabel(short_name, self)
        self.queue = QLabel("", self)
        self.queue.setStyleSheet("font-weight: 600;")
        for label in (self.dot, self.name, self.queue):
            layout.addWidget(label)
        self.state = "unknown"
        self.pending = 0
        self.flagged = 0  # entries no retry will move: a supervisor must look

    def show_state(self, health: AgencyHealth | None, counts: dict[str, int], tz: Any) -> None:
        pending = sum(
            counts.get(s, 0)
            for s in (OutboxState.PENDING, OutboxState.IN_FLIGHT, OutboxState.PAUSED)
        )
        self.pending = pending
        self.flagged = counts.get(OutboxState.FLAGGED, 0)
        if self.manual:
            state, colour = "manual", UNKNOWN
        elif health is not None and health.paused_reason:
            state, colour = "paused", PAUSED
        elif health is None or health.online is None:
            state, colour = "unknown", UNKNOWN
        elif health.online:
            state, colour = "online", ONLINE
        else:
            state, colour = "offline", OFFLINE
        self.state = state
        self.dot.setStyleSheet(f"color: {colour}; font-size: 12pt;")
        self.queue.setText(str(pending) if pending else "")
        self.queue.setVisible(bool(pending))
        lines = [f"{self.short_name}: {self._state_text(health)}"]
        if pending:
            lines.append(tr("syncbar.pending", count=pending))
        if counts.get(OutboxState.FAILED):
            lines.append(tr("syncbar.failed", count=counts[OutboxState.FAILED]))
        if counts.get(OutboxState.HELD):
            lines.append(tr("syncbar.held", count=counts[OutboxState.HELD]))
        if self.flagged:
            lines.append(tr("syncbar.flagged", count=self.flagged))
        if not self.manual:
            when = health.last_success_at if health is not None else None
            lines.append(
                tr("syncbar.last_success", when=_when(when, tz)) if when else tr("syncbar.never")
            )
            if health is not None and health.last_error and state != "online":
                words = error_words(health.last_error)
                lines.append(tr("syncbar.last_error", error=_short_error(words, 200)))
        self.setToolTip("\n".join(lines))
        self.setAccessibleName("; ".join(lines))
        notes = []
        if state == "paused":
            reason = paused_reason_text(health.paused_reason if health else "")
            notes.append(tr("syncbar.paused", reason=reason))
        if self.flagged:
            notes.append(tr("syncbar.flagged_short", count=self.flagged))
        self.name.setText(f"{self.short_name} ({'; '.join(notes)})" if notes else self.short_name)

    def _state_text(self, health: AgencyHealth | None) -> str:
        if self.manual:
            return tr("syncbar.manual")
        if health is not None and health.paused_reason:
            return tr("syncbar.paused", reason=_short_error(health.paused_reason, 200))
        if health is None or health.online is None:
            return tr("syncbar.unknown")
        return tr("syncbar.online") if health.online else tr("syncbar.offline")

    @property
    def needs_attention(self) -> bool:
        return self.state in ("paused", "offline") or self.pending > 0 or self.flagged > 0


class HubIndicator(QWidget):
    """The mall hub in a few words: a dot, "Hub: terhubung", what is still to push, the last
    pull; a catalog the hub published that this desk refused is said plainly, in red, and so
    are hub approvals this desk refused to apply ("2 persetujuan ditolak"). The details
    (address, last push and pull, the last problem, each refused approval and why) are the
    tooltip."""

    def __init__(self, tz: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hubIndicator")
        self._tz = tz
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 8, 0)
        layout.setSpacing(4)
        self.dot = QLabel("●", self)
        self.state = QLabel("", self)
        self.state.setStyleSheet("font-weight: 600;")
        self.detail = QLabel("", self)
        self.detail.setObjectName("muted")
        self.catalog = QLabel(tr("hubbar.catalog_failed"), self)
        self.catalog.setStyleSheet(f"color: {OFFLINE}; font-weight: 600;")
        self.refusals = QLabel("", self)
        self.refusals.setObjectName("hubRefusals")
        self.refusals.setStyleSheet(f"color: {OFFLINE}; font-weight: 600;")
        for label in (self.dot, self.state, self.detail, self.catalog, self.refusals):
            layout.addWidget(label)
        self.view: HubView | None = None
        self.show_view(None)

    def show_view(self, view: HubView | None) -> None:
        self.view = view
        state = view.state if view is not None else "connecting"
        colour = {"connected": ONLINE, "offline": OFFLINE, "refused": PAUSED}.get(state, UNKNOWN)
        self.dot.setStyleSheet(f"color: {colour}; font-size: 12pt;")
        self.state.setText(tr(f"hubbar.{state}"))
        parts = []
        if view is not None and view.pending:
            parts.append(tr("hubbar.pending", count=view.pending))
        if view is not None and view.last_pull is not None:
            parts.append(tr("hubbar.pulled", time=_when(view.last_pull, self._tz)))
        self.detail.setText(" · ".join(parts))
        self.detail.setVisible(bool(parts))
        self.catalog.setVisible(view is not None and view.catalog_problem is not None)
        refused = view.refused_approvals if view is not None else ()
        self.refusals.setText(tr("loops2.refused_count", count=len(refused)) if refused else "")
        self.refusals.setVisible(bool(refused))
        if view is None:
            self.setToolTip("")
            return
        never = tr("hubbar.never")
        lines = [
            tr(
                "hubbar.tip",
                url=view.url,
                desk=view.desk,
                push=_when(view.last_push, self._tz) or never,
                pull=_when(view.last_pull, self._tz) or never,
                pending=view.pending,
            )
        ]
        if view.error:
            lines.append(tr("hubbar.tip_error", error=_short_error(view.error, 200)))
        if view.catalog_problem is not None:
            lines.append(tr("hubbar.tip_catalog", problem=_short_error(view.catalog_problem, 200)))
        if refused:
            lines.append(tr("loops2.refused_tip"))
            lines.extend(f"• {refusal_text(r)}" for r in refused[:MAX_REFUSALS_LISTED])
            if len(refused) > MAX_REFUSALS_LISTED:
                lines.append(tr("loops2.refused_more", count=len(refused) - MAX_REFUSALS_LISTED))
        self.setToolTip("\n".join(lines))
        self.setAccessibleName("; ".join(line.replace("\n", "; ") for line in lines))

    def text(self) -> str:
        """What the bar says, as one line (tests and the tour read it)."""
        shown = [self.state.text()]
        if self.detail.isVisibleTo(self):
            shown.append(self.detail.text())
        if self.catalog.isVisibleTo(self):
            shown.append(self.catalog.text())
        if self.refusals.isVisibleTo(self):
            shown.append(self.refusals.text())
        return " · ".join(shown)


class SyncStatusBar(QWidget):
    """Per agency state, the total queue and the last successful sync; place it in the
    main window's QStatusBar with ``addPermanentWidget``."""

    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatusBar")
        self.bridge = bridge
        runtime = bridge.runtime
        self._tz = runtime.tz
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.hub: HubIndicator | None = None
        if runtime.settings.hub.url:  # joined to the mall hub: its state comes first
            self.hub = HubIndicator(runtime.tz, self)
            self.hub.show_view(bridge.hub)
            layout.addWidget(self.hub)
            bridge.hub_changed.connect(self.hub.show_view)
        self.total = QLabel("", self)
        self.total.setObjectName("syncTotal")
        layout.addWidget(self.total)
        self._agency_box = QHBoxLayout()
        self._agency_box.setSpacing(2)
        layout.addLayout(self._agency_box)
        self.folded = QLabel("", self)
        self.folded.setObjectName("muted")
        layout.addWidget(self.folded)
        # When even the agencies needing attention do not fit (15 offline at 1366 px), the
        # bar collapses to one summary; the button opens every agency's details.
        self.summary = QPushButton("", self)
        self.summary.setObjectName("syncSummary")
        self.summary.setFlat(True)
        self.summary.setVisible(False)
        self.summary.clicked.connect(self.show_details)
        layout.addWidget(self.summary)
        self.details: QFrame | None = None
        self.collapsed = False
        self.last_sync = QLabel("", self)
        self.last_sync.setObjectName("muted")
        layout.addWidget(self.last_sync)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.indicators: dict[str, AgencyIndicator] = {}
        catalog = runtime.catalog
        for code, endpoint in sorted(runtime.settings.agencies.items()):
            agency = catalog.agencies.get(code)
            short = agency.short_name if agency is not None else code
            self.indicators[code] = AgencyIndicator(code, short, endpoint.mode == "manual", self)
        self._health: dict[str, AgencyHealth] = dict(bridge.health)
        self._backlog: dict[str, dict[str, int]] = dict(bridge.backlog)
        self._error: str | None = None
        self._watching = False  # the status bar's resizes re-fold the agencies
        self._rendering = False
        self._window_width = 0
        bridge.agency_health_changed.connect(self._on_health)
        bridge.backlog_changed.connect(self._on_backlog)
        bridge.failed.connect(self._on_failed)
        self._render()

    def _indicator(self, code: str) -> AgencyIndicator:
        indicator = self.indicators.get(code)
        if indicator is None:  # an agency with entries but no endpoint in the settings
            agency = self.bridge.runtime.catalog.agencies.get(code)
            short = agency.short_name if agency is not None else code
            indicator = AgencyIndicator(code, short, False, self)
            self.indicators[code] = indicator
        return indicator

    def _on_health(self, health: AgencyHealth) -> None:
        self._health[health.agency] = health
        self._indicator(health.agency)
        self._render()

    def _on_backlog(self, backlog: dict[str, dict[str, int]]) -> None:
        self._backlog = dict(backlog)
        for code in backlog:
            self._indicator(code)
        self._render()

    def _on_failed(self, error: str) -> None:
        self._error = error
        self._render()

    def _render(self) -> None:
        self._rendering = True
        try:
            self._lay_out()
        finally:
            self._rendering = False
        self._window_width = self.window().width()

    def _lay_out(self) -> None:
        for code, indicator in self.indicators.items():
            indicator.show_state(self._health.get(code), self._backlog.get(code, {}), self._tz)
        order = sorted(
            self.indicators.values(),
            key=lambda i: (
                0 if i.flagged else 1,
                {"paused": 0, "offline": 1}.get(i.state, 2),
                0 if i.pending else 1,
                i.manual,
                i.short_name.lower(),
            ),
        )
        while self._agency_box.count():
            self._agency_box.takeAt(0)
        folded: list[AgencyIndicator] = []
        for position, indicator in enumerate(order):
            if position >= MAX_LISTED and not indicator.needs_attention:
                folded.append(indicator)
                indicator.hide()
                continue
            self._agency_box.addWidget(indicator)
            indicator.show()
        self.collapsed = False
        self.summary.setVisible(False)
        folded.extend(self._fold_to_fit(order))
        self.folded.setVisible(bool(folded))
        if folded:
            self.folded.setText(tr("syncbar.more_online", count=len(folded)))
            self.folded.setToolTip("\n".join(i.toolTip() for i in folded))
        total = sum(i.pending for i in self.indicators.values())
        self.total.setText(tr("syncbar.total_pending", count=total))
        self._collapse_if_cut(order)
        latest: datetime | None = max(
            (h.last_success_at for h in self._health.values() if h.last_success_at),
            default=None,
        )
        if self._error:
            self.last_sync.setText(tr("syncbar.stopped", error=_short_error(self._error)))
            self.last_sync.setStyleSheet(f"color: {OFFLINE}; font-weight: 600;")
        else:
            self.last_sync.setStyleSheet("")
            self.last_sync.setText(
                tr("syncbar.summary_last", when=_when(latest, self._tz))
                if latest
                else tr("syncbar.summary_none")
            )
        self.last_sync.setAlignment(Qt.AlignmentFlag.AlignVCenter)

    def _collapse_if_cut(self, order: list[AgencyIndicator]) -> None:
        """Still wider than the window allows: one summary line instead of the names."""
        budget = self._budget()
        layout = self.layout()
        if layout is not None:
            layout.activate()
        if budget is None or self.sizeHint().width() <= budget:
            return
        for indicator in order:
            indicator.hide()
            self._agency_box.removeWidget(indicator)
        self.folded.setVisible(False)
        states = [i.state for i in self.indicators.values()]
        self.summary.setText(
            tr(
                "counter.syncbar.summary",
                count=len(states),
                online=states.count("online"),
                offline=states.count("offline"),
                paused=states.count("paused"),
            )
        )
        self.summary.setToolTip(tr("counter.syncbar.details_hint"))
        self.summary.setAccessibleName(self.summary.text())
        self.summary.setVisible(True)
        self.collapsed = True

    def detail_lines(self) -> list[str]:
        """Every agency's state in words, those needing attention first (the popup's text)."""
        order = sorted(
            self.indicators.values(),
            key=lambda i: (
                not i.flagged,
                not i.pending,
                not i.needs_attention,
                i.short_name.lower(),
            ),
        )
        return [i.toolTip().replace("\n", " · ") for i in order]

    def show_details(self) -> QFrame:
        """The popup under the summary: one line per agency; Esc or a click elsewhere closes."""
        if self.details is not None:
            self.details.close()
            self.details.deleteLater()
        popup = QFrame(self, Qt.WindowType.Popup)
        popup.setObjectName("syncDetails")
        popup.setFrameShape(QFrame.Shape.StyledPanel)
        column = QVBoxLayout(popup)
        column.setContentsMargins(12, 10, 12, 10)
        heading = QLabel(tr("counter.syncbar.details_title"), popup)
        heading.setObjectName("subheading")
        column.addWidget(heading)
        text = QLabel("\n".join(self.detail_lines()), popup)
        text.setTextFormat(Qt.TextFormat.PlainText)
        text.setObjectName("syncDetailsText")
        column.addWidget(text)
        popup.adjustSize()
        anchor = self.summary.mapToGlobal(self.summary.rect().topLeft())
        popup.move(anchor.x(), max(0, anchor.y() - popup.sizeHint().height()))
        popup.show()
        self.details = popup
        return popup

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._render()  # now in its status bar: fit it to the window

    def _fold_to_fit(self, order: list[AgencyIndicator]) -> list[AgencyIndicator]:
        """Fold healthy, idle agencies (last in ``order`` first) until the bar fits beside
        the status bar's other widgets (at 1366 px with the hub and every agency configured,
        eight names do not); agencies needing attention always stay."""
        budget = self._budget()
        folded: list[AgencyIndicator] = []
        if budget is None:
            return folded
        self.folded.setText(tr("syncbar.more_online", count=len(self.indicators)))
        self.folded.setVisible(True)  # measured with the "+N" it will show
        for indicator in reversed(order):
            layout = self.layout()
            if layout is not None:
                layout.activate()
            if self.sizeHint().width() <= budget:
                break
            if indicator.isHidden() or indicator.needs_attention:
                continue
            indicator.hide()
            self._agency_box.removeWidget(indicator)
            folded.append(indicator)
        return folded

    def _budget(self) -> int | None:
        """The width this bar may take in its QStatusBar (None outside one)."""
        bar = self._status_bar()
        window = self.window()
        if bar is None or window is self or window.width() <= 0:
            return None
        if not self._watching:  # the window's width bounds the bar (it may not shrink)
            window.installEventFilter(self)
            self._watching = True
        others = sum(
            widget.sizeHint().width() + 12
            for widget in bar.findChildren(
                QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly
            )
            if widget is not self and widget.isVisible() and not isinstance(widget, QSizeGrip)
        )
        return min(bar.width(), window.width()) - others - 24

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            event.type() == QEvent.Type.Resize
            and not self._rendering
            and watched is self.window()
            and watched.width() != self._window_width  # a new width, not our own re-layout
        ):
            self._render()
        return False

    def _status_bar(self) -> QWidget | None:
        bar = self.parentWidget()
        while bar is not None and not isinstance(bar, QStatusBar):
            bar = bar.parentWidget()
        return bar

    # --- for tests and the tour ----------------------------------------------------------

    def state_of(self, code: str) -> str:
        return self.indicators[code].state
