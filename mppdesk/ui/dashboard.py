"""The supervisor's dashboard: the day at a glance, what waits for approval, what is stuck.

Everything on the page comes from one ``DailyReportView`` (``mppdesk.desk.reports``), the
same view the XLSX, CSV and PDF exports are written from, so the screen and the files never
disagree. Loading runs on the TaskRunner's store thread; the GUI never waits on SQL.

Refreshing follows what changed (Anki's ``OpChanges`` habit), never a timer: the page is a
``ChangeListener`` (``mppdesk.ui.notifier``). A finalize, a survey, a collection, a review
decision or anything pulled from the hub reloads everything; a change of the outbox and its
submissions alone (a sync pass) reloads only the sync half: backlog, SLA and the rejected /
conflict / needs-info lists. While the page is hidden the notifier keeps what changed and the
page reloads when shown.

Bursts of notes are coalesced into one load, and a note that arrives while a load runs
schedules exactly one more.

Charts use matplotlib, imported when the page first shows data (about a third of a second
that the sign-in screen should not pay), drawn on a ``FigureCanvasQTAgg``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.changes import Changes, Kind
from mppdesk.desk import reports, review
from mppdesk.desk.auth import Actor
from mppdesk.desk.reports import Dashboard, Period
from mppdesk.desk.runtime import Runtime
from mppdesk.printing.daily_report import DailyReportView, ReportTable, format_cell
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.notifier import ChangeNotifier
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

COALESCE_MS = 200


PERIODS = ("today", "yesterday", "week", "month", "range")


_STATE_WORDS = {"status": "subs.state", "agency_status": "subs.agency", "review": "subs.review"}


def _words(key: str, value: Any, agency_names: dict[str, str]) -> str | None:
    """A code cell in words on screen (the exports keep the codes, for machines)."""
    if not isinstance(value, str) or not value:
        return None
    if key == "agency":
        return agency_names.get(value)
    prefix = _STATE_WORDS.get(key)
    if prefix is not None and i18n.has(f"{prefix}.{value}"):
        return i18n.plain(f"{prefix}.{value}")
    return None


class ReportTableModel(QAbstractTableModel):
    """One ``ReportTable`` of the report view, read-only; ``ids`` names each row's submission
    when the table lists submissions (the review actions need them)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._table: ReportTable | None = None
        self._ids: list[str] = []
        self.agency_names: dict[str, str] = {}  # code -> short name: words, not codes

    def set_table(self, table: ReportTable, ids: list[str] | None = None) -> None:
        self.beginResetModel()
        self._table = table
        self._ids = list(ids or [])
        self.endResetModel()

    @property
    def table(self) -> ReportTable | None:
        return self._table

    def submission_id(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() or self._table is None:
            return 0
        return len(self._table.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        if parent.isValid() or self._table is None:
            return 0
        return len(self._table.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or self._table is None:
            return None
        if not (0 <= index.row() < len(self._table.rows)):
            return None
        if not (0 <= index.column() < len(self._table.columns)):
            return None
        column = self._table.columns[index.column()]
        value = self._table.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _words(column.key, value, self.agency_names) or format_cell(
                value, column.kind, i18n.language()
            )
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column.kind in ("int", "minutes", "score", "percent"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return value
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or self._table is None:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._table.columns):
            return self._table.columns[section].label
        if orientation == Qt.Orientation.Vertical and 0 <= section < len(self._table.rows):
            return str(section + 1)
        return None


QUEUE_COLUMNS = ("time", "tracking", "name", "service", "agency", "officer", "review")


class ApprovalQueueModel(QAbstractTableModel):
    """The approval queue (``desk.review.approval_queue``): held submissions with the
    applicant's name, oldest first; the supervisor's own intake is marked (they may not
    approve it)."""

    def __init__(self, runtime: Runtime, actor: Actor, parent: Any = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.lines: list[Any] = []
        self.total = 0
        self.table: ReportTable | None = None  # the report's "held" table (the exports' view)

    def set_lines(self, total: int, lines: list[Any]) -> None:
        self.beginResetModel()
        self.total = total
        self.lines = list(lines)
        self.endResetModel()

    def submission_id(self, row: int) -> str | None:
        return self.lines[row].id if 0 <= row < len(self.lines) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(QUEUE_COLUMNS)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.lines):
            return None
        line = self.lines[index.row()]
        column = QUEUE_COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(line, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == "review":
            return line.review_reason or None
        if role == Qt.ItemDataRole.ForegroundRole and line.officer == self.actor.username:
            from PySide6.QtGui import QColor

            return QColor("#8c97a6")  # their own intake: another supervisor approves it
        return None

    def _text(self, line: Any, column: str) -> str:
        catalog = self.runtime.catalog
        if column == "time":
            return i18n.format_datetime(line.finalized_at, self.runtime.tz)
        if column == "tracking":
            return line.tracking_number
        if column == "name":
            return line.applicant_name
        if column == "service":
            service = catalog.services.get(line.service)
            return i18n.text_of(service.name) if service is not None else line.service
        if column == "agency":
            agency = catalog.agencies.get(line.agency)
            return agency.short_name if agency is not None else line.agency
        if column == "officer":
            own = f" ({tr('dash.queue.own')})" if line.officer == self.actor.username else ""
            return line.officer + own
        if column == "review":
            text = tr(f"subs.review.{line.review_state}")
            return f"{text}: {line.review_reason}" if line.review_reason else text
        return ""

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if 0 <= section < len(QUEUE_COLUMNS):
            return tr(f"dash.queue.col.{QUEUE_COLUMNS[section]}")
        return None


class _Tile(QFrame):
    """One key figure: the value large, its meaning small beneath."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.value = QLabel("–")
        self.value.setStyleSheet("font-size: 17pt; font-weight: 700;")
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        layout.addWidget(self.value)
        layout.addWidget(self.caption)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(74)


class DashboardPage(QWidget):
    """The supervisor's page. See the module docstring for when it reloads.

    Signals: ``loaded()`` after data landed on screen; ``load_failed(str)``;
    ``reviewed(list)`` with the ids of submissions just decided (the main window refreshes
    the submissions view with them and wakes the sync worker); ``exported(object)`` with the
    ``ExportResult`` of a saved report.
    """

    loaded = Signal()
    load_failed = Signal(str)
    reviewed = Signal(list)
    exported = Signal(object)

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.dashboard: Dashboard | None = None
        self.view: DailyReportView | None = None
        self._loading = False
        self._queued: str | None = None  # "all" or "sync": one more load after this one
        self.loads = 0  # loads that reached the screen (tests and the tour follow it)
        self._generation = 0
        self._figure: Any = None
        self._canvas: Any = None
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self._run_queued)
        self.models: dict[str, ReportTableModel] = {}
        self.tables: dict[str, QTableView] = {}
        self._build()
        self.refresh()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        outer.setSpacing(8)
        outer.addLayout(self._build_bar())
        self.period_box.currentIndexChanged.connect(self._period_changed)
        self.from_edit.dateChanged.connect(self._range_changed)
        self.to_edit.dateChanged.connect(self._range_changed)
        self._build_body(outer)
        QShortcut(QKeySequence("F5"), self, self.refresh)
        QShortcut(QKeySequence("Ctrl+Return"), self, partial(self.open_review, "approved"))
        QShortcut(QKeySequence("Ctrl+Enter"), self, partial(self.open_review, "approved"))

    def _build_bar(self) -> QHBoxLayout:
        """Heading, scope, period, refresh and exports on one line."""
        bar = QHBoxLayout()
        heading = QLabel(tr("dash.heading"))
        heading.setObjectName("heading")
        bar.addWidget(heading)
        bar.addSpacing(16)
        # "Desk ini / Seluruh MPP": only a desk joined to the mall hub has a mall to show.
        self.scope_label = QLabel(tr("scope.label"))
        self.scope_box = QComboBox()
        self.scope_box.setObjectName("scopeBox")
        self.scope_box.addItem(tr("scope.desk"), "desk")
        self.scope_box.addItem(tr("scope.mall"), "mall")
        self.scope_label.setBuddy(self.scope_box)
        joined = bool(self.runtime.settings.hub.url)
        for widget in (self.scope_label, self.scope_box):
            bar.addWidget(widget)
            widget.setVisible(joined)
        if joined:
            bar.addSpacing(12)
        period_label = QLabel(tr("dash.period"))
        self.period_box = QComboBox()
        for key in PERIODS:
            self.period_box.addItem(tr(f"dash.period.{key}"), key)
        period_label.setBuddy(self.period_box)
        bar.addWidget(period_label)
        bar.addWidget(self.period_box)
        today = self.runtime.local_today()
        self.from_edit = self._date_edit(today)
        self.to_edit = self._date_edit(today)
        self.from_label = QLabel(tr("dash.from"))
        self.from_label.setBuddy(self.from_edit)
        self.to_label = QLabel(tr("dash.to"))
        self.to_label.setBuddy(self.to_edit)
        for widget in (self.from_label, self.from_edit, self.to_label, self.to_edit):
            bar.addWidget(widget)
            widget.setVisible(False)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        bar.addWidget(self.status, 1)
        refresh = QPushButton(tr("dash.refresh"))
        refresh.clicked.connect(self.refresh)
        bar.addWidget(refresh)
        bar.addWidget(QLabel(tr("dash.export")))
        self.export_buttons = {}
        for fmt in ("xlsx", "csv", "pdf"):
            button = QPushButton(tr(f"dash.export_{fmt}"))
            button.clicked.connect(partial(self._ask_export, fmt))
            bar.addWidget(button)
            self.export_buttons[fmt] = button
        return bar

    def _build_body(self, outer: QVBoxLayout) -> None:
        """The desk scope (tiles, chart, tabs) in a stack the mall scope joins when chosen."""
        self.scope_stack = QStackedWidget()
        self.desk_view = QWidget()
        desk_layout = QVBoxLayout(self.desk_view)
        desk_layout.setContentsMargins(0, 0, 0, 0)
        desk_layout.setSpacing(8)
        self.scope_stack.addWidget(self.desk_view)
        self.mall: Any = None  # the MallScopePanel, made when the mall scope is first chosen
        outer.addWidget(self.scope_stack, 1)
        self.scope_box.currentIndexChanged.connect(self._scope_changed)

        self.tiles: dict[str, _Tile] = {}
        self.tile_grid = QGridLayout()
        self.tile_grid.setHorizontalSpacing(8)
        self.tile_grid.setVerticalSpacing(8)
        desk_layout.addLayout(self.tile_grid)

        self.chart_host = QFrame()
        self.chart_host.setObjectName("card")
        self.chart_layout = QVBoxLayout(self.chart_host)
        self.chart_layout.setContentsMargins(4, 4, 4, 4)
        self.chart_host.setMinimumHeight(220)

        # The approval queue comes first and gets the page's room (at 1366x768 a dozen rows,
        # with names); the charts are a tab of their own beside the other lists.
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_queue(), tr("dash.tab.approval", count=0))
        action = QWidget()
        action_layout = QVBoxLayout(action)
        buttons = QHBoxLayout()
        hint = QLabel(tr("dash.select_hint"))
        hint.setObjectName("muted")
        buttons.addWidget(hint, 1)
        self.approve_button = QPushButton(tr("dash.approve"))
        self.return_button = QPushButton(tr("dash.return"))
        self.flag_button = QPushButton(tr("dash.flag"))
        for button, decision in (
            (self.approve_button, "approved"),
            (self.return_button, "returned"),
            (self.flag_button, "flagged"),
        ):
            button.clicked.connect(partial(self.open_review, decision))
            buttons.addWidget(button)
        # The decisions sit above the tabs: for the queue and for the rest that needs a
        # supervisor (rejected, conflicts, returned, flagged) alike.
        lists = QWidget()
        lists_layout = QVBoxLayout(lists)
        lists_layout.setContentsMargins(0, 0, 0, 0)
        lists_layout.addLayout(buttons)
        lists_layout.addWidget(self.tabs, 1)
        action_layout.addWidget(self._table_box("attention", selectable=True))
        self.tabs.addTab(action, tr("dash.tab.action"))
        self.tabs.addTab(self.chart_host, tr("dash.tab.charts"))
        self.tabs.addTab(self._pair("by_agency", "by_service", "status"), tr("dash.tab.agencies"))
        self.tabs.addTab(self._pair("by_officer", "by_hour", "times"), tr("dash.tab.people"))
        self.tabs.addTab(self._pair("sla_agency", "overdue", "due_soon"), tr("dash.tab.sla"))
        self.tabs.addTab(self._pair("backlog"), tr("dash.tab.sync"))
        self.tabs.addTab(self._pair("bills_expiring", "collected"), tr("dash.tab.billing"))
        self.tabs.addTab(
            self._pair("survey_elements", "survey_service", "survey_agency"),
            tr("dash.tab.survey"),
        )
        desk_layout.addWidget(lists, 1)

    def _build_queue(self) -> QWidget:
        """The approval queue's own tab: every held submission, with names, full width."""
        box = QWidget()
        self.queue_layout = QVBoxLayout(box)
        self.queue_heading = QLabel(tr("dash.queue.heading", count=0))
        self.queue_heading.setObjectName("subheading")
        self.queue_layout.addWidget(self.queue_heading)
        self.queue_model = ApprovalQueueModel(self.runtime, self.actor, self)
        view = QTableView()
        view.setObjectName("approvalQueue")
        view.setModel(self.queue_model)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setVisible(False)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setTabKeyNavigation(False)  # Tab leaves the table
        view.setAccessibleName(plain("dash.queue.heading", count=0))
        self.queue_layout.addWidget(view, 1)
        # The queue is what "held" names for the review actions (and their tests).
        self.models["held"] = self.queue_model
        self.tables["held"] = view
        return box

    def _date_edit(self, day: date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("dd-MM-yyyy")
        return edit

    def _table_box(self, key: str, selectable: bool = False) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(reports.table_title(key, i18n.language()))
        title.setObjectName("subheading")
        layout.addWidget(title)
        model = ReportTableModel(self)
        model.agency_names = {c: a.short_name for c, a in self.runtime.catalog.agencies.items()}
        view = QTableView()
        view.setModel(model)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection
            if selectable
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(view)
        self.models[key] = model
        self.tables[key] = view
        return box

    def _pair(self, *keys: str) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for key in keys:
            splitter.addWidget(self._table_box(key))
        return splitter

    # --- period --------------------------------------------------------------------------

    def period(self) -> Period:
        key = self.period_box.currentData()
        day = self.runtime.local_today()
        if key == "yesterday":
            return Period.day(day - timedelta(days=1))
        if key == "week":
            return Period(day - timedelta(days=6), day)
        if key == "month":
            return Period(day - timedelta(days=29), day)
        if key == "range":
            first, last = self.from_edit.date().toPython(), self.to_edit.date().toPython()
            return Period(min(first, last), max(first, last))
        return Period.day(day)

    def _period_changed(self) -> None:
        custom = self.period_box.currentData() == "range"
        for widget in (self.from_label, self.from_edit, self.to_label, self.to_edit):
            widget.setVisible(custom)
        self.refresh()

    def _range_changed(self) -> None:
        if self.period_box.currentData() == "range":
            self._note("all")

    # --- scope ---------------------------------------------------------------------------

    @property
    def scope(self) -> str:
        """``desk`` (this desk's store) or ``mall`` (every desk, read from the hub)."""
        return str(self.scope_box.currentData() or "desk")

    def _scope_changed(self) -> None:
        mall = self.scope == "mall"
        if mall and self.mall is None:
            from mppdesk.ui.mall_scope import MallScopePanel

            self.mall = MallScopePanel(self.runtime, self.actor, self.tasks, self)
            self.mall.decided.connect(self._mall_decided)
            self.mall.loaded.connect(self._mall_loaded)
            self.mall.load_failed.connect(lambda _text: self.status.setText(""))
            self.scope_stack.addWidget(self.mall)
        self.scope_stack.setCurrentWidget(self.mall if mall else self.desk_view)
        for button in self.export_buttons.values():  # the exports are this desk's report
            button.setEnabled(not mall)
            button.setToolTip(tr("mall.export_desk_only") if mall else "")
        self.refresh()

    def _load_mall(self) -> None:
        period = self.period()
        note = None
        if period.first != period.last:
            note = tr("mall.one_day", date=i18n.format_date(period.last))
        self.mall.load(period.last, note)

    def _mall_loaded(self) -> None:
        now = self.runtime.local_now()
        self.status.setText(tr("mall.updated", time=now.strftime("%H:%M:%S")))

    def _mall_decided(self, answers: list[Any]) -> None:
        self.status.setText(tr("dash.decided", count=len(answers)))

    # --- loading -------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """No load running, none queued or about to start."""
        mall_idle = self.mall is None or self.mall.idle
        return (
            not self._loading
            and self._queued is None
            and not self._coalesce.isActive()
            and mall_idle
        )

    def refresh(self) -> None:
        """Reload everything now (F5, a new period); in the mall scope, the hub's figures."""
        if self.scope == "mall":
            self.status.setText(tr("mall.loading"))
            self._load_mall()
            return
        self._queued = "all"
        self._coalesce.stop()
        self._run_queued()

    # What the page shows: any of these changing makes it stale.
    depends_on = frozenset(
        {
            Kind.VISITS,
            Kind.SUBMISSIONS,
            Kind.OUTBOX,
            Kind.REVIEW,
            Kind.SURVEY,
            Kind.COLLECTION,
            Kind.CATALOG,
            Kind.HUB,
        }
    )

    def wants(self, changes: Changes) -> bool:
        return changes.touches(self.depends_on)

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        """Reload soon: only the sync half when only the outbox and its rows changed; the
        mall scope rereads the hub after a pull (decisions and figures of other desks)."""
        if self.scope == "mall":
            if changes.touches(Kind.HUB, Kind.REVIEW, Kind.VISITS):
                self._load_mall()
            return
        self._note("sync" if changes.only(Kind.OUTBOX, Kind.SUBMISSIONS) else "all")

    def visit_finalized(self, ids: list[str] | None = None) -> None:
        """For a caller without a notifier: these submissions were just stored."""
        self.apply_changes(Changes.of(Kind.VISITS, submission_ids=ids or ()))

    def outbox_changed(self, ids: list[str] | None = None) -> None:
        """For a caller without a notifier: these submissions' outbox entries moved."""
        self.apply_changes(Changes.of(Kind.OUTBOX, submission_ids=ids or ()))

    def _note(self, what: str) -> None:
        self._queued = "all" if "all" in (what, self._queued) else what
        if not self._loading:
            self._coalesce.start()

    def _run_queued(self) -> None:
        if self._loading:
            return  # _arrived starts the timer again for what was queued meanwhile
        what, self._queued = self._queued, None
        if what is None:
            return
        if what == "sync" and self.dashboard is None:
            what = "all"
        self._loading = True
        self._generation += 1
        generation = self._generation
        self.status.setText(tr("dash.loading"))
        runtime, actor, period = self.runtime, self.actor, self.period()
        language = i18n.language()
        previous = self.dashboard
        by = actor.full_name or actor.username

        def work() -> tuple[Dashboard, DailyReportView, Any]:
            if what == "sync" and previous is not None and previous.period == period:
                dashboard = replace(
                    previous,
                    sync=reports.load_sync(runtime, actor, period),
                    generated_at=runtime.local_now(),
                )
            else:
                dashboard = reports.load_dashboard(runtime, actor, period)
            view = reports.report_view(runtime, dashboard, language, by)
            return dashboard, view, review.approval_queue(runtime, actor)

        self.tasks.run(work, partial(self._arrived, generation), partial(self._failed, generation))

    def _arrived(
        self, generation: int, result: tuple[Dashboard, DailyReportView, Any]
    ) -> None:
        self._loading = False
        if generation == self._generation:
            self.loads += 1
            self.dashboard, self.view, queue = result
            self._show_queue(*queue)
            self._show(self.dashboard, self.view)
            self.status.setText(
                tr("dash.updated", time=result[0].generated_at.strftime("%H:%M:%S"))
            )
            self.loaded.emit()
        if self._queued is not None:
            self._coalesce.start()

    def _failed(self, generation: int, error: BaseException) -> None:
        self._loading = False
        log.error("dashboard: %s", error)
        self.status.setText(tr("dash.failed", error=str(error)))
        self.load_failed.emit(str(error))
        if self._queued is not None:
            self._coalesce.start()

    # --- showing -------------------------------------------------------------------------

    def _show(self, dashboard: Dashboard, view: DailyReportView) -> None:
        lang = i18n.language()
        for index, kpi in enumerate(view.kpis):
            tile = self.tiles.get(kpi.key)
            if tile is None:
                tile = _Tile()
                self.tiles[kpi.key] = tile
                self.tile_grid.addWidget(tile, index // 6, index % 6)
            tile.value.setText(format_cell(kpi.value, kpi.kind, lang))
            tile.caption.setText(kpi.label + (f" · {kpi.detail}" if kpi.detail else ""))
        ids = {
            "held": [line.id for line in dashboard.intake.held],
            "attention": [line.id for line in dashboard.sync.attention],
        }
        for table in view.tables:
            model = self.models.get(table.key)
            if isinstance(model, ReportTableModel):
                model.set_table(table, ids.get(table.key))
                keys = [column.key for column in table.columns]
                for position, key in enumerate(keys):  # a code beside its name: the name only
                    self.tables[table.key].setColumnHidden(position, f"{key}_name" in keys)
            elif model is not None:  # the approval queue: its own rows, names included
                model.table = table
        self._draw_charts(view)

    def _show_queue(self, total: int, lines: list[Any]) -> None:
        self.queue_model.set_lines(total, lines)
        heading = tr("dash.queue.heading", count=total)
        if total > len(lines):
            heading += "  " + tr("dash.queue.more", shown=len(lines), count=total)
        elif not total:
            heading = tr("dash.queue.empty")
        self.queue_heading.setText(heading)
        self.tabs.setTabText(0, tr("dash.tab.approval", count=total))

    def _draw_charts(self, view: DailyReportView) -> None:
        if self._canvas is None:
            try:
                from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
                from matplotlib.figure import Figure
            except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
                self.chart_layout.addWidget(QLabel(tr("dash.no_charts", error=exc)))
                self._canvas = False
                return
            self._figure = Figure(figsize=(10, 2.6), dpi=96, layout="constrained")
            self._canvas = FigureCanvasQTAgg(self._figure)
            self.chart_layout.addWidget(self._canvas)
        if self._canvas is False:
            return
        figure = self._figure
        figure.clear()
        charts = [c for c in view.charts if c.key in ("by_hour", "by_agency", "backlog")]
        colours = ("#0b57a4", "#e08a1e", "#8c97a6", "#a8200d")
        axes = figure.subplots(1, max(1, len(charts)), squeeze=False)[0]
        for ax, spec in zip(axes, charts, strict=False):
            ax.set_title(spec.title, fontsize=9, loc="left")
            ax.tick_params(labelsize=7)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            positions = list(range(len(spec.categories)))
            # Empty series stay out (and out of the legend); each keeps its own colour.
            series = [
                (colours[i % len(colours)], name, values)
                for i, (name, values) in enumerate(spec.series)
                if any(values)
            ] or [(colours[0], *spec.series[0])]
            count = len(series)
            if spec.horizontal:
                left = [0.0] * len(positions)
                for colour, name, values in series:
                    ax.barh(
                        positions,
                        values,
                        left=left if spec.stacked else None,
                        color=colour,
                        label=name,
                        height=0.7,
                    )
                    if spec.stacked:
                        left = [a + b for a, b in zip(left, values, strict=True)]
                ax.set_yticks(positions, list(spec.categories))
                ax.set_ylim(max(len(positions), 8) - 0.5, -0.5)  # a few bars stay slim
            else:
                width = 0.8 / count
                for i, (colour, name, values) in enumerate(series):
                    shifted = [p + (i - (count - 1) / 2) * width for p in positions]
                    ax.bar(shifted, values, width=width, color=colour, label=name)
                ax.set_xticks(positions, list(spec.categories))
            if spec.horizontal and (len(series) > 1 or spec.key == "backlog"):
                ax.legend(fontsize=7, frameon=False, loc="lower right")
            elif len(series) > 1:  # headroom above the tallest bar holds the legend
                top = max((max(v) for _c, _n, v in series if v), default=0.0)
                ax.set_ylim(0, max(1.0, top * 1.3))
                ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=len(series))
        self._canvas.draw_idle()

    # --- review --------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        """Submissions selected in the list shown (the approval queue or the attention
        list), else in the other one."""
        keys = ("attention", "held") if self.tabs.currentIndex() == 1 else ("held", "attention")
        for key in keys:
            view, model = self.tables[key], self.models[key]
            rows = sorted({index.row() for index in view.selectionModel().selectedRows()})
            ids = [model.submission_id(row) for row in rows]
            if ids:
                return [i for i in ids if i]
        return []

    def open_review(self, decision: str) -> Any:
        """The review dialog for the selected submissions (returns it, for tests)."""
        if self.scope == "mall" and self.mall is not None:
            return self.mall.open_review(decision)
        ids = self.selected_ids()
        if not ids:
            return None
        from mppdesk.ui.review_dialog import ReviewDialog

        lines = {line.id: line for line in self._lines()}
        items = [lines[i] for i in ids if i in lines]
        dialog = ReviewDialog(self.runtime, self.actor, self.tasks, items, decision, self)
        dialog.decided.connect(self._decided)
        dialog.open()
        return dialog

    def _lines(self) -> list[Any]:
        if self.dashboard is None:
            return []
        return [*self.queue_model.lines, *self.dashboard.sync.attention]

    def _decided(self, outcomes: list[Any]) -> None:
        self.status.setText(tr("dash.decided", count=len(outcomes)))
        self.reviewed.emit([o.submission_id for o in outcomes])
        # In the window the review dialog announced the decision and the notifier brought it
        # here with every other view; shown on its own, the page reloads itself.
        if ChangeNotifier.of(self) is None:
            self.apply_changes(review.changes_of(outcomes), self)

    # --- export --------------------------------------------------------------------------

    def _ask_export(self, fmt: str) -> None:
        period = self.period()
        suggested = str(Path.home() / f"laporan-{period.first}-{period.last}.{fmt}")
        path, _ = QFileDialog.getSaveFileName(self, tr(f"dash.export_{fmt}"), suggested)
        if path:
            self.export(fmt, Path(path))

    def export(self, fmt: str, path: Path) -> None:
        runtime, actor, period, lang = self.runtime, self.actor, self.period(), i18n.language()
        self.tasks.run(
            lambda: reports.export_report(runtime, actor, period, fmt, path, lang),
            self._exported,
            self._export_failed,
        )

    def _exported(self, result: Any) -> None:
        self.status.setText(tr("dash.exported", path=str(result.path)))
        self.exported.emit(result)

    def _export_failed(self, error: BaseException) -> None:
        self.status.setText(tr("dash.failed", error=str(error)))
        self.load_failed.emit(str(error))
