"""The submissions view: today's and earlier submissions with their send and agency state.

The table model reads from SQL one page at a time (``canFetchMore``/``fetchMore``) through
the desk layer, on the TaskRunner's store thread: sorting and filtering happen in SQL, so a
store of a million submissions is never loaded into Python and the GUI never waits. The
view refreshes only what it is told changed (it is a ``ChangeListener``, see
``mppdesk.ui.notifier``): the rows of the submissions a change names, placed and recounted
when a visit brought new ones, and everything only when a change could not say which.
"""

from __future__ import annotations

import bisect
import html
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
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
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.masking import mask_nik
from mppdesk.core.send_errors import describe_send_error
from mppdesk.core.states import OutboxState, ReviewState, SubmissionStatus
from mppdesk.desk import corrections, review, submission_views
from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.desk.submission_views import SubmissionFilter
from mppdesk.desk.sync_status import retry_now
from mppdesk.store.views import PAGE_SIZE, SubmissionDetail, SubmissionRow
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.tasks import TaskRunner
from mppdesk.ui.visit_state import AttachmentRef, ServiceEntry, VisitState

log = logging.getLogger(__name__)


COLUMNS = (
    "time",
    "tracking",
    "name",
    "service",
    "agency",
    "status",
    "review",
    "send",
    "attempts",
    "error",
    "next",
    "ref",
    "agency_status",
)
SORTABLE = {"time", "tracking", "name", "service", "agency", "status", "review"}
# What the table shows at 1366 px without a cut header or cell: the sending details
# (attempts, last problem, next retry, agency reference and status) live in the "send"
# cell's tooltip and in the detail pane beside the table, not in columns of their own.
SHOWN = ("time", "tracking", "name", "service", "agency", "status", "review", "send")
FIXED = ("time", "tracking", "agency")  # as wide as their widest text: never elided
WEIGHTS = {"name": 3, "service": 3, "status": 3, "review": 2, "send": 2}  # share the rest

RETRYABLE = {OutboxState.PENDING, OutboxState.PAUSED, OutboxState.FLAGGED}
COALESCE_MS = 150  # bursts of "changed" notes from the sync worker become one query


def _state(prefix: str, value: str | None) -> str:
    if not value:
        return ""
    key = f"{prefix}.{value}"
    return tr(key) if i18n.has(key) else value


class SubmissionTableModel(QAbstractTableModel):
    """Rows of the submissions view, fetched page by page on the store thread.

    ``page_loaded`` fires after each page (and after a reset's first page);
    ``count_changed(int)`` when the total for the filter is known; ``rows_refreshed`` after
    a refresh of changed ids was applied; ``load_failed(str)`` on an error.
    """

    page_loaded = Signal()
    count_changed = Signal(int)
    rows_refreshed = Signal(list)
    load_failed = Signal(str)
    loading_changed = Signal(bool)

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.page_size = page_size
        self._filter = SubmissionFilter()
        self._rows: list[SubmissionRow] = []
        self._index: dict[str, int] = {}
        self._generation = 0
        self._loading = False
        self._exhausted = True  # nothing to fetch until a filter is set
        self._tz = runtime.tz
        self.count: int | None = None

    # --- filter --------------------------------------------------------------------------

    @property
    def filter(self) -> SubmissionFilter:
        return self._filter

    def set_filter(self, flt: SubmissionFilter) -> None:
        """Start over with a new filter: the first page and the count load in the background."""
        self._filter = flt
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._index = {}
        self._exhausted = False
        self._loading = False
        self.endResetModel()
        self.count = None
        self._load_page()
        self._load_count()

    def reload(self) -> None:
        self.set_filter(self._filter)

    # --- paging --------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not parent.isValid():
            self._load_page()

    def _set_loading(self, loading: bool) -> None:
        if self._loading != loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    def _load_page(self) -> None:
        if self._loading or self._exhausted:
            return
        self._set_loading(True)
        after = self._rows[-1].cursor if self._rows else None
        flt, generation, limit = self._filter, self._generation, self.page_size
        runtime, actor = self.runtime, self.actor
        self.tasks.run(
            lambda: submission_views.submissions_page(runtime, actor, flt, after, limit),
            partial(self._page_arrived, generation),
            partial(self._failed, generation),
        )

    def _page_arrived(self, generation: int, rows: list[SubmissionRow]) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        fresh = [r for r in rows if r.id not in self._index]  # a refresh may have placed some
        if len(rows) < self.page_size:
            self._exhausted = True
        if fresh:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._rows.extend(fresh)
            for offset, row in enumerate(fresh):
                self._index[row.id] = start + offset
            self.endInsertRows()
        self.page_loaded.emit()

    def _load_count(self) -> None:
        flt, generation = self._filter, self._generation
        runtime, actor = self.runtime, self.actor
        self.tasks.run(
            lambda: submission_views.count_submissions(runtime, actor, flt),
            partial(self._count_arrived, generation),
            partial(self._failed, generation),
        )

    def _count_arrived(self, generation: int, count: int) -> None:
        if generation == self._generation:
            self.count = count
            self.count_changed.emit(count)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._set_loading(False)
        self._exhausted = True
        log.error("submissions view: %s", error)
        self.load_failed.emit(str(error))

    # --- refreshing what changed ---------------------------------------------------------

    def refresh_ids(self, ids: Iterable[str], *, recount: bool = False) -> None:
        """Re-read these submissions; update, move, add or drop their rows as needed."""
        wanted = sorted(set(ids))
        if not wanted:
            return
        flt, generation = self._filter, self._generation
        runtime, actor = self.runtime, self.actor
        self.tasks.run(
            lambda: submission_views.submissions_by_id(runtime, actor, flt, wanted),
            partial(self._refresh_arrived, generation, wanted),
            partial(self._failed, generation),
        )
        if recount:
            self._load_count()

    def _sort_key(self, row: SubmissionRow) -> tuple[Any, str]:
        return row.cursor

    def _position_for(self, row: SubmissionRow) -> int:
        keys = [self._sort_key(r) for r in self._rows]
        key = self._sort_key(row)
        if self._filter.descending:
            # bisect needs ascending keys: search the reversed order
            reversed_keys = keys[::-1]
            return len(keys) - bisect.bisect_right(reversed_keys, key)
        return bisect.bisect_left(keys, key)

    def _refresh_arrived(
        self, generation: int, asked: list[str], rows: list[SubmissionRow]
    ) -> None:
        if generation != self._generation:
            return
        found = {r.id: r for r in rows}
        changed: list[str] = []
        for submission_id in asked:
            position = self._index.get(submission_id)
            row = found.get(submission_id)
            if position is not None and row is None:
                self._remove(position)  # it no longer matches the filter
                changed.append(submission_id)
            elif position is not None and row is not None:
                old = self._rows[position]
                if self._sort_key(old) == self._sort_key(row):
                    self._rows[position] = row
                    self.dataChanged.emit(
                        self.index(position, 0), self.index(position, len(COLUMNS) - 1)
                    )
                else:
                    self._remove(position)
                    self._insert(row)
                changed.append(submission_id)
            elif row is not None and self._insert(row):
                changed.append(submission_id)
        if changed:
            self.rows_refreshed.emit(changed)

    def _remove(self, position: int) -> None:
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        self.endRemoveRows()
        self._reindex()

    def _insert(self, row: SubmissionRow) -> bool:
        position = self._position_for(row)
        if position >= len(self._rows) and not self._exhausted:
            return False  # beyond what is loaded: the next page brings it
        self.beginInsertRows(QModelIndex(), position, position)
        self._rows.insert(position, row)
        self.endInsertRows()
        self._reindex()
        return True

    def _reindex(self) -> None:
        self._index = {row.id: i for i, row in enumerate(self._rows)}

    # --- the Qt model --------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def row_at(self, position: int) -> SubmissionRow:
        return self._rows[position]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return tr(f"subs.col.{COLUMNS[section]}")
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        if role == Qt.ItemDataRole.ForegroundRole and column in (
            "send", "error", "status", "review"
        ):
            return self._colour(row, column)
        return None

    def _display(self, row: SubmissionRow, column: str) -> str:
        entries = row.outbox
        if column == "time":
            local = row.finalized_at.astimezone(self._tz)
            if local.date() == self.runtime.local_today():
                return f"{local:%H:%M}"
            return i18n.format_datetime(row.finalized_at, self._tz)
        if column == "tracking":
            return row.tracking_number
        if column == "name":
            return row.applicant_name
        if column == "service":
            service = self.runtime.catalog.services.get(row.service)
            return i18n.text_of(service.name) if service is not None else row.service
        if column == "agency":
            agency = self.runtime.catalog.agencies.get(row.agency)
            return agency.short_name if agency is not None else row.agency
        if column == "status":
            text = _state("subs.state", row.status)
            return f"{text} → {row.superseded_by}" if row.superseded_by else text
        if column == "review":
            text = _state("subs.review", row.review_state)
            if row.review_state == ReviewState.RETURNED and row.review_reason:
                return f"{text}: {row.review_reason}"  # the officer sees why, in the list
            return text
        if column == "send":
            return self._per_agency(entries, lambda e: _state("subs.send", e.state))
        if column == "attempts":
            return self._per_agency(entries, lambda e: str(e.attempts))
        if column == "error":
            return self._per_agency(
                entries,
                lambda e: describe_send_error(e.last_error_class, i18n.language()),
            )
        if column == "next":
            return self._per_agency(entries, self._next_retry)
        if column == "ref":
            return self._per_agency(entries, lambda e: e.agency_ref or "") or (row.agency_ref or "")
        if column == "agency_status":
            text = self._per_agency(entries, lambda e: _state("subs.agency", e.agency_status))
            return text or _state("subs.agency", row.agency_status)
        return ""

    def _next_retry(self, entry: Any) -> str:
        if entry.state not in (OutboxState.PENDING, OutboxState.PAUSED, OutboxState.IN_FLIGHT):
            return ""
        at = entry.next_attempt_at
        if at is None:
            return ""
        if at <= self.runtime.now():
            return tr("subs.now")
        local = at.astimezone(self._tz)
        if local.date() == self.runtime.local_today():
            return f"{local:%H:%M:%S}"
        return i18n.format_datetime(at, self._tz)

    @staticmethod
    def _per_agency(entries: tuple[Any, ...], text: Any) -> str:
        if len(entries) == 1:
            return text(entries[0])
        parts = [f"{e.agency}: {text(e)}" for e in entries if text(e)]
        return "; ".join(parts)

    def _tooltip(self, row: SubmissionRow, column: str) -> str:
        """The whole text of an elided cell; for "send" also the columns it stands for."""
        if column == "name":
            identity = row.applicant_id_number
            masked = mask_nik(identity) if identity.isdigit() else identity
            return f"{row.applicant_name} ({masked})" if masked else row.applicant_name
        if column != "send":
            return self._display(row, column)
        lines = [self._display(row, "send")]
        for extra in ("attempts", "error", "next", "ref", "agency_status"):
            value = self._display(row, extra)
            if value and not (extra == "attempts" and value == "0"):
                lines.append(f"{plain(f'subs.col.{extra}')}: {value}")
        return "\n".join(lines)

    @staticmethod
    def _colour(row: SubmissionRow, column: str) -> Any:
        from PySide6.QtGui import QColor

        states = {e.state for e in row.outbox}
        if column == "review" and row.review_state == ReviewState.RETURNED:
            # A return still owed a correction stands out; a corrected one is history.
            return QColor("#8c97a6") if row.superseded_by else QColor("#a8200d")
        if column == "status" and row.status == SubmissionStatus.SUPERSEDED:
            return QColor("#8c97a6")
        if column == "status" and row.status in (
            SubmissionStatus.REJECTED,
            SubmissionStatus.CONFLICT,
        ):
            return QColor("#a8200d")
        if column in ("send", "error"):
            if OutboxState.FAILED in states or OutboxState.FLAGGED in states:
                return QColor("#a8200d")
            if OutboxState.PAUSED in states or any(e.last_error_class for e in row.outbox):
                return QColor("#6b4500")
            if states == {OutboxState.DONE}:
                return QColor("#12652b")
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting is SQL's job: a sortable column restarts the view in that order."""
        if not 0 <= column < len(COLUMNS) or COLUMNS[column] not in SORTABLE:
            return
        self.set_filter(
            replace(
                self._filter,
                sort=COLUMNS[column],
                descending=order == Qt.SortOrder.DescendingOrder,
            )
        )

    def sort_column(self) -> int:
        return COLUMNS.index(self._filter.sort)


class SubmissionsPage(QWidget):
    """Search box and period above, the paged table, and the selected submission's detail.

    ``sync_requested`` is emitted after "retry now" and after a cancellation that must go
    out: the page asks its window's sync bridge for a pass at once (``_wake_sync``); a page
    outside a window has no sync to ask. Call ``visit_finalized(ids)`` after a
    visit is stored so its submissions appear without re-reading the view.
    """

    sync_requested = Signal()
    detail_shown = Signal(str)
    correction_ready = Signal(object)  # the VisitState of a correction ("Perbaiki")
    message = Signal(str)

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("submissionsPage")
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.model = SubmissionTableModel(runtime, actor, tasks, self, page_size=page_size)
        self._detail: SubmissionDetail | None = None
        self._pending_changes: set[str] = set()
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self._flush_changes)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self.apply_filter)
        self._build()
        self.model.count_changed.connect(self._show_count)
        self.model.load_failed.connect(self._show_error)
        self.model.rows_refreshed.connect(self._rows_refreshed)
        self.model.page_loaded.connect(self._page_loaded)
        self.sync_requested.connect(self._wake_sync)
        self._refusals: list[dict[str, Any]] = []  # hub approvals refused, of the detail shown

    def _wake_sync(self) -> None:
        """A pass now, by the window's sync bridge (``DeskWindow._start_sync``): what was
        made due here (a retry, a cancellation) goes out without waiting for the worker's
        next poll. The notifier wakes it too when it hears the change; a second wake-up
        costs nothing, a missing one a whole poll interval."""
        bridge = getattr(self.window(), "sync_bridge", None)
        if bridge is not None:
            bridge.sync_now()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.setSpacing(8)
        heading = QLabel(tr("subs.heading"), self)
        heading.setObjectName("heading")
        outer.addWidget(heading)
        outer.addLayout(self._build_filter_bar())

        self.error_label = QLabel("", self)
        self.error_label.setObjectName("bannerError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        outer.addWidget(self.error_label)
        outer.addWidget(self._build_table_and_detail(), 1)

        # Focus follows the visual order: search, period, dates, status, table, detail, buttons.
        order = [
            self.search,
            self.period,
            self.date_from,
            self.date_to,
            self.status,
            self.table,
            self.detail,
            self.retry_button,
            self.refresh_button,
            self.reprint_button,
            self.correct_button,
            self.cancel_button,
        ]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)

        QShortcut(QKeySequence("Ctrl+F"), self, self._focus_search)
        QShortcut(QKeySequence("Ctrl+R"), self, self.retry_selected)
        QShortcut(QKeySequence("Ctrl+E"), self, self.correct_selected)
        QShortcut(QKeySequence("F5"), self, self.model.reload)

        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._search_now)
        self.period.currentIndexChanged.connect(self._period_changed)
        self.date_from.dateChanged.connect(lambda _d: self.apply_filter())
        self.date_to.dateChanged.connect(lambda _d: self.apply_filter())
        self.status.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self._period_changed()

    def _build_filter_bar(self) -> QHBoxLayout:
        """Search, period (with its dates for a range), status and the count."""
        bar = QHBoxLayout()
        bar.setSpacing(6)
        search_label = QLabel(tr("subs.search"), self)
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText(tr("subs.search_hint"))
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName(plain("subs.search"))
        self.search.setMinimumWidth(320)
        search_label.setBuddy(self.search)
        bar.addWidget(search_label)
        bar.addWidget(self.search, 3)

        period_label = QLabel(tr("subs.period"), self)
        self.period = QComboBox(self)
        self.period.setObjectName("period")
        self.period.setAccessibleName(plain("subs.period"))
        for key in ("today", "week", "month", "range", "all"):
            self.period.addItem(tr(f"subs.period.{key}"), key)
        period_label.setBuddy(self.period)
        bar.addWidget(period_label)
        bar.addWidget(self.period)

        today = self.runtime.local_today()
        self.from_label = QLabel(tr("subs.from"), self)
        self.date_from = QDateEdit(self)
        self.date_from.setObjectName("dateFrom")
        self.date_from.setCalendarPopup(True)
        self.date_from.setDisplayFormat("dd-MM-yyyy")
        self.date_from.setDate(QDate(today.year, today.month, today.day).addDays(-30))
        self.date_from.setAccessibleName(plain("subs.from"))
        self.from_label.setBuddy(self.date_from)
        self.to_label = QLabel(tr("subs.to"), self)
        self.date_to = QDateEdit(self)
        self.date_to.setObjectName("dateTo")
        self.date_to.setCalendarPopup(True)
        self.date_to.setDisplayFormat("dd-MM-yyyy")
        self.date_to.setDate(QDate(today.year, today.month, today.day))
        self.date_to.setAccessibleName(plain("subs.to"))
        self.to_label.setBuddy(self.date_to)
        for widget in (self.from_label, self.date_from, self.to_label, self.date_to):
            bar.addWidget(widget)

        status_label = QLabel(tr("subs.status"), self)
        self.status = QComboBox(self)
        self.status.setObjectName("statusFilter")
        self.status.setAccessibleName(plain("subs.status"))
        self.status.addItem(tr("subs.status.all"), None)
        for state in SubmissionStatus:
            if state in (SubmissionStatus.DRAFT, SubmissionStatus.FINALIZED):
                continue
            self.status.addItem(_state("subs.state", state.value), state.value)
        status_label.setBuddy(self.status)
        bar.addWidget(status_label)
        bar.addWidget(self.status)
        self.count_label = QLabel("", self)
        self.count_label.setObjectName("muted")
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        return bar

    def _build_table_and_detail(self) -> QSplitter:
        """The paged table beside the selected submission's detail and its buttons."""
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.table = QTableView(splitter)
        self.table.setObjectName("submissionsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setAccessibleName(tr("subs.heading"))
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSortIndicator(self.model.sort_column(), Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._sort_indicator_changed)
        self._fit_columns()
        self.table.viewport().installEventFilter(self)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        side = QWidget(splitter)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 0, 0, 0)
        self.detail = QTextBrowser(side)
        self.detail.setObjectName("submissionDetail")
        self.detail.setOpenLinks(False)
        self.detail.setAccessibleName(plain("subs.d.visit"))
        self.detail.setHtml(f"<p>{html.escape(tr('subs.detail_empty'))}</p>")
        side_layout.addWidget(self.detail, 1)
        buttons = QHBoxLayout()
        self.retry_button = QPushButton(tr("subs.retry"), side)
        self.retry_button.setObjectName("retryNow")
        self.retry_button.setEnabled(False)
        self.retry_button.clicked.connect(self.retry_selected)
        self.refresh_button = QPushButton(tr("subs.refresh"), side)
        self.refresh_button.setObjectName("reload")
        self.refresh_button.clicked.connect(self.model.reload)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.refresh_button)
        self.reprint_button = QPushButton(tr("reprint.action"), side)  # mppdesk.ui.reprint
        self.reprint_button.setObjectName("reprint")
        self.reprint_button.clicked.connect(self.reprint_selected)
        buttons.addStretch(1)
        side_layout.addLayout(buttons)
        # Corrections (mppdesk.desk.corrections): a row of their own, enabled when the
        # selected submission can still be replaced.
        loop_buttons = QHBoxLayout()  # with "Cetak ulang": the pane stays narrow at 1366 px
        loop_buttons.addWidget(self.reprint_button)
        self.correct_button = QPushButton(tr("subs.correct"), side)
        self.correct_button.setObjectName("correctSubmission")
        self.correct_button.setToolTip(plain("subs.correct_tip"))
        self.correct_button.setEnabled(False)
        self.correct_button.clicked.connect(self.correct_selected)
        self.cancel_button = QPushButton(tr("subs.cancel"), side)
        self.cancel_button.setObjectName("cancelSubmission")
        self.cancel_button.setToolTip(plain("subs.cancel_tip"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_selected)
        loop_buttons.addWidget(self.correct_button)
        loop_buttons.addWidget(self.cancel_button)
        loop_buttons.addStretch(1)
        side_layout.addLayout(loop_buttons)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 320])
        return splitter

    def _fit_columns(self) -> None:
        """Only ``SHOWN`` columns, all within the table's width: no horizontal scroll.

        Time, tracking number and agency are as wide as their widest text (never cut); the
        others share what is left by weight, never narrower than their header, and an
        elided name, service, state or return reason keeps its whole text in the tooltip
        and in the detail pane. Called again when the table is resized or a page arrives.
        """
        header = self.table.horizontalHeader()
        metrics = self.table.fontMetrics()
        padding = 18  # the cell's margins and the focus frame
        used = 0
        for position, name in enumerate(COLUMNS):
            if name not in SHOWN:
                self.table.setColumnHidden(position, True)
                continue
            header.setSectionResizeMode(position, QHeaderView.ResizeMode.Fixed)
            if name in FIXED:
                widest = max(
                    (metrics.horizontalAdvance(t) for t in self._fixed_texts(name)), default=0
                )
                width = max(header.sectionSizeFromContents(position).width(), widest + padding)
                self.table.setColumnWidth(position, width)
                used += width
        room = self.table.viewport().width() - used
        total = sum(WEIGHTS.values())
        least = {n: header.sectionSizeFromContents(COLUMNS.index(n)).width() for n in WEIGHTS}
        # The splitter may not squeeze the table below every header's width (plus a scroll bar).
        chrome = self.table.width() - self.table.viewport().width()
        scroll = self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(used + sum(least.values()) + max(chrome, scroll) + 2)
        widths = {n: max(least[n], room * w // total) for n, w in WEIGHTS.items()}
        excess = sum(widths.values()) - room
        while excess > 0:  # a header's minimum took more: the widest that can give, gives
            name = max((n for n in widths if widths[n] > least[n]), key=widths.get, default=None)
            if name is None:
                break  # narrower than every header: the splitter was squeezed by hand
            give = min(excess, widths[name] - least[name], 8)
            widths[name] -= give
            excess -= give
        for name, width in widths.items():
            self.table.setColumnWidth(COLUMNS.index(name), width)

    def _fixed_texts(self, name: str) -> list[str]:
        """What a fixed column shows in the loaded rows (and its narrowest sensible form)."""
        texts = {"time": ["23:59"], "tracking": ["K01-261231-0001-X"]}.get(name, [])
        column = COLUMNS.index(name)
        rows = min(self.model.rowCount(), 200)
        texts += [str(self.model.data(self.model.index(r, column)) or "") for r in range(rows)]
        return texts

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()  # the window, the splitter or a scroll bar changed the width
        return super().eventFilter(watched, event)

    # --- filtering -----------------------------------------------------------------------

    def _focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _search_now(self) -> None:
        self._search_timer.stop()
        self.apply_filter()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def _period_changed(self, _index: int = 0) -> None:
        is_range = self.period.currentData() == "range"
        for widget in (self.from_label, self.date_from, self.to_label, self.date_to):
            widget.setVisible(is_range)
        self.apply_filter()

    def current_filter(self) -> SubmissionFilter:
        today = self.runtime.local_today()
        key = self.period.currentData()
        date_from: date | None
        date_to: date | None = today
        if key == "today":
            date_from = today
        elif key == "week":
            date_from = today - timedelta(days=6)
        elif key == "month":
            date_from = today - timedelta(days=29)
        elif key == "range":
            date_from = self.date_from.date().toPython()
            date_to = self.date_to.date().toPython()
        else:
            date_from = date_to = None
        current = self.model.filter
        return SubmissionFilter(
            date_from=date_from,
            date_to=date_to,
            text=self.search.text().strip(),
            status=self.status.currentData(),
            sort=current.sort,
            descending=current.descending,
        )

    def apply_filter(self) -> None:
        if not hasattr(self, "status"):
            return  # still building
        flt = self.current_filter()
        if flt == self.model.filter and self.model.rowCount() and not self.model.loading:
            return
        self.error_label.hide()
        self.count_label.setText(tr("subs.counting"))
        self.model.set_filter(flt)

    def set_search(self, text: str) -> None:
        """Search now (the tour and other pages use this)."""
        self.search.setText(text)
        self._search_timer.stop()
        self.apply_filter()

    def _sort_indicator_changed(self, column: int, _order: Qt.SortOrder) -> None:
        if COLUMNS[column] not in SORTABLE:
            header = self.table.horizontalHeader()
            header.blockSignals(True)
            header.setSortIndicator(
                self.model.sort_column(),
                Qt.SortOrder.DescendingOrder
                if self.model.filter.descending
                else Qt.SortOrder.AscendingOrder,
            )
            header.blockSignals(False)

    def _show_count(self, count: int) -> None:
        self.count_label.setText(tr("subs.count", count=f"{count:,}".replace(",", ".")))

    def _show_error(self, error: str) -> None:
        self.error_label.setText(tr("subs.failed", error=error))
        self.error_label.show()

    def _page_loaded(self) -> None:
        self._fit_columns()
        if self.model.rowCount() == 0:
            self.detail.setHtml(f"<p>{html.escape(tr('subs.empty'))}</p>")
            self.retry_button.setEnabled(False)
        elif not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    # --- what changed elsewhere ----------------------------------------------------------

    depends_on = frozenset(
        {Kind.VISITS, Kind.SUBMISSIONS, Kind.OUTBOX, Kind.REVIEW, Kind.COLLECTION, Kind.HUB}
    )

    def wants(self, changes: Changes) -> bool:
        return changes.touches(self.depends_on)

    def apply_changes(self, changes: Changes, origin: object | None = None) -> None:
        if changes.ids_known:
            ids = sorted(changes.submission_ids or ())
            if changes.visits:
                self.visit_finalized(ids)
            else:
                self.refresh_submissions(ids)
        elif changes.submissions or changes.visits or changes.hub:
            self.model.reload()  # which rows is unknown: read the page again

    def refresh_submissions(self, submission_ids: list[str]) -> None:
        """These submissions changed (send or agency state): re-read only them, soon."""
        self._pending_changes.update(submission_ids)
        if not self._coalesce.isActive():
            self._coalesce.start()

    def visit_finalized(self, submission_ids: list[str]) -> None:
        """A visit was stored: show its submissions where they belong, and recount."""
        self.model.refresh_ids(submission_ids, recount=True)

    def _flush_changes(self) -> None:
        ids, self._pending_changes = self._pending_changes, set()
        self.model.refresh_ids(ids)

    def _rows_refreshed(self, ids: list[str]) -> None:
        self._fit_columns()  # a new row may be wider (an agency, a date)
        if self._detail is not None and self._detail.row.id in ids:
            self._load_detail(self._detail.row.id)
        if not self.table.selectionModel().hasSelection() and self.model.rowCount():
            self.table.selectRow(0)

    # --- detail and retry ----------------------------------------------------------------

    def selected_id(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        return self.model.row_at(index.row()).id

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        self._load_detail(self.model.row_at(current.row()).id)

    def _load_detail(self, submission_id: str) -> None:
        runtime, actor = self.runtime, self.actor

        def work() -> tuple[SubmissionDetail, list[dict[str, Any]]]:
            detail = submission_views.submission_detail(runtime, actor, submission_id)
            return detail, review.hub_refusals(runtime, actor, submission_id)

        self.tasks.run(work, self._detail_arrived, self._detail_failed)

    def _detail_arrived(self, arrived: tuple[SubmissionDetail, list[dict[str, Any]]]) -> None:
        detail, refusals = arrived
        if self.selected_id() not in (None, detail.row.id):
            return  # the officer moved on meanwhile
        self._refusals = refusals
        self._detail = detail
        self.detail.setHtml(self._detail_html(detail))
        self.retry_button.setEnabled(any(e.state in RETRYABLE for e in detail.row.outbox))
        replaceable = _replaceable(detail)
        self.correct_button.setEnabled(replaceable)
        self.cancel_button.setEnabled(replaceable)
        self.detail_shown.emit(detail.row.id)

    def _detail_failed(self, error: BaseException) -> None:
        if isinstance(error, DeskError):
            self.detail.setHtml(f"<p>{html.escape(str(error))}</p>")
            return
        self._show_error(str(error))

    def _detail_html(self, d: SubmissionDetail) -> str:
        row, tz = d.row, self.runtime.tz
        esc = html.escape
        service = self.runtime.catalog.services.get(row.service)
        agency = self.runtime.catalog.agencies.get(row.agency)

        def line(label_key: str, value: str) -> str:
            return f"<tr><td><b>{esc(plain(label_key))}</b></td><td>{value}</td></tr>"

        identity = row.applicant_id_number
        shown_id = mask_nik(identity) if identity.isdigit() and len(identity) == 16 else identity
        parts = [
            f"<h3>{esc(row.tracking_number)}</h3>",
            *_loop_notes(d),
            f"<p>{esc(i18n.text_of(service.name) if service else row.service)}<br>"
            f"{esc(i18n.text_of(agency.name) if agency else row.agency)}</p>",
            "<table cellspacing='2'>",
            line("subs.col.status", esc(_state("subs.state", row.status))),
            line("subs.col.review", esc(_state("subs.review", row.review_state))),
            line("subs.d.applicant", f"{esc(row.applicant_name)} ({esc(shown_id)})"),
        ]
        if d.proxy:
            parts.append(line("subs.d.proxy", esc(str(d.proxy.get("nama", "")))))
        parts += [
            line("subs.d.ticket", esc(d.ticket or "-")),
            line("subs.d.desk", esc(f"{d.desk} / {d.officer}")),
            line("subs.d.finalized", esc(i18n.format_datetime(row.finalized_at, tz))),
            line("subs.d.sla", esc(i18n.format_date(d.sla_due))),
            line("subs.d.fee", esc(i18n.format_rupiah(d.fee))),
        ]
        if d.payment:  # the agency's bill: code, amount, state, NTPN or expiry
            pay = d.payment
            parts.append(line("subs.d.payment", esc(tr(
                "subs.d.payment_paid_line" if pay["state"] == "paid" else "subs.d.payment_line",
                state=tr(f"subs.payment_{pay['state']}"), code=pay["code"], ntpn=pay["ntpn"],
                amount=i18n.format_rupiah(pay["amount"]),
                expires=i18n.format_datetime(datetime.fromisoformat(pay["expires"]), tz),
            ))))  # fmt: skip
        if d.agency_message:
            parts.append(line("subs.d.agency_message", esc(d.agency_message)))
        if d.collected_by:
            who = d.collected_by.get("name", "")
            parts.append(
                line(
                    "subs.d.collected",
                    esc(f"{i18n.format_datetime(row.collected_at, tz)} · {who}"),
                )
            )
        if d.supersedes_id:
            key = "subs.d.cancellation" if d.cancellation else "subs.d.supersedes"
            parts.append(line(key, esc(d.supersedes_tracking or d.supersedes_id)))
        if row.superseded_by:
            key = "subs.d.cancelled_by" if row.cancelled else "subs.d.superseded_by"
            parts.append(line(key, esc(row.superseded_by)))
        if row.review_reason:
            parts.append(line("subs.d.return_reason", esc(row.review_reason)))
        for refused in self._refusals[:3]:  # why a hub approval did not take effect here
            parts.append(line("loops2.d.refused", esc(self._refusal_line(refused))))
        parts.append("</table>")
        parts.append(f"<h4>{esc(plain('subs.d.sending'))}</h4>")
        for entry in row.outbox:
            sent_to = self.runtime.catalog.agencies.get(entry.agency)  # a name, not a code
            items = [
                f"<b>{esc(sent_to.short_name if sent_to else entry.agency)}</b>: "
                f"{esc(_state('subs.send', entry.state))}",
                f"{esc(plain('subs.col.attempts'))}: {entry.attempts}",
            ]
            if entry.last_attempt_at:
                items.append(
                    f"{esc(plain('subs.d.last_attempt'))}: "
                    f"{esc(i18n.format_datetime(entry.last_attempt_at, tz))}"
                )
            if entry.last_error_class:
                items.append(
                    f"{esc(plain('subs.col.error'))}: <span style='color:#a8200d'>"
                    f"{esc(describe_send_error(entry.last_error_class, i18n.language()))}</span>"
                    # the technical detail is English: shown in the English UI only
                    + (
                        f"<br><small>{esc(entry.last_error_message or '')}</small>"
                        if i18n.language() == "en"
                        else ""
                    )
                )
            retry = self.model._next_retry(entry)
            if retry:
                items.append(f"{esc(plain('subs.col.next'))}: {esc(retry)}")
            if entry.agency_ref:
                items.append(f"{esc(plain('subs.col.ref'))}: {esc(entry.agency_ref)}")
            if entry.agency_status:
                items.append(
                    f"{esc(plain('subs.col.agency_status'))}: "
                    f"{esc(_state('subs.agency', entry.agency_status))}"
                )
            parts.append("<p>" + "<br>".join(items) + "</p>")
        parts.append(f"<h4>{esc(plain('subs.d.checklist'))}</h4><ul>")
        labels = {r.id: i18n.text_of(r.label) for r in service.requirements} if service else {}
        for item in d.checklist:
            if item.applies:
                label = labels.get(item.requirement_id, item.requirement_id)
                state = _state("subs.check", item.state)
                colour = " style='color:#a8200d'" if item.state == "missing" else ""
                parts.append(f"<li{colour}>{esc(label)}: {esc(state)}</li>")
        parts.append("</ul>")
        attachments = ", ".join(d.attachments) or plain("subs.d.none")
        parts.append(f"<p><b>{esc(plain('subs.d.attachments'))}</b>: {esc(attachments)}</p>")
        return "".join(parts)

    def _refusal_line(self, refused: dict[str, Any]) -> str:
        """One refused hub approval of the shown submission: who approved, when, and why
        this desk did not apply it."""
        why = review.refusal_reason(str(refused.get("refusal") or ""), refused.get("superseded_by"))
        try:
            at = datetime.fromisoformat(str(refused.get("at")))
        except ValueError:
            at = None
        when = i18n.format_datetime(at, self.runtime.tz) if at is not None else "-"
        return tr("loops2.d.refused_line", actor=refused.get("actor") or "-", when=when, why=why)

    # --- corrections and cancellations ------------------------------------------------------

    def correct_selected(self) -> None:
        """"Perbaiki": a new visit pre-filled from the selected submission, replacing it."""
        detail = self._detail
        if detail is None or not self.correct_button.isEnabled():
            return
        runtime, actor, reference = self.runtime, self.actor, detail.row.id
        self.correct_button.setEnabled(False)
        self.tasks.run(
            lambda: corrections.correction_of(runtime, actor, reference),
            self._correction_ready,
            self._loop_failed,
        )

    def _correction_ready(self, draft: corrections.CorrectionDraft) -> None:
        state = correction_state(draft)
        self.correction_ready.emit(state)
        opener = getattr(self.window(), "open_visit", None)
        if opener is not None:
            opener(state)
        self.message.emit(tr("subs.correction_opened", tracking=draft.tracking_number))

    def cancel_selected(self) -> CancelDialog | None:
        """"Batalkan": asks for the reason, then stores and sends the cancellation."""
        detail = self._detail
        if detail is None or not self.cancel_button.isEnabled():
            return None
        service = self.runtime.catalog.services.get(detail.row.service)
        dialog = CancelDialog(
            detail.row.tracking_number,
            i18n.text_of(service.name) if service is not None else detail.row.service,
            self,
        )
        reference = detail.row.id
        dialog.confirmed.connect(lambda reason: self._cancel(reference, reason, dialog))
        dialog.open()
        return dialog

    def _cancel(self, reference: str, reason: str, dialog: CancelDialog) -> None:
        runtime, actor = self.runtime, self.actor
        dialog.busy(True)

        def done(outcome: corrections.CancelOutcome) -> None:
            dialog.accept()
            key = "subs.cancelled" if outcome.sent else "subs.cancelled_local"
            self.message.emit(
                tr(key, tracking=outcome.tracking_number, original=outcome.cancels_tracking)
            )
            if not announce(self, outcome.changes):
                self.visit_finalized([outcome.submission_id, outcome.cancels])
            if outcome.sent:
                self.sync_requested.emit()

        def failed(error: BaseException) -> None:
            dialog.busy(False)
            dialog.show_error(
                i18n.error_text(error) if isinstance(error, DeskError) else str(error)
            )

        self.tasks.run(lambda: corrections.cancel(runtime, actor, reference, reason), done, failed)

    def _loop_failed(self, error: BaseException) -> None:
        if self._detail is not None:
            replaceable = _replaceable(self._detail)
            self.correct_button.setEnabled(replaceable)
            self.cancel_button.setEnabled(replaceable)
        self._show_error(i18n.error_text(error) if isinstance(error, DeskError) else str(error))

    def reprint_selected(self) -> Any:
        """"Cetak ulang": copies of the selected submission's visit documents, as submitted."""
        from mppdesk.ui.reprint import open_reprint

        return open_reprint(self)

    def retry_selected(self) -> None:
        submission_id = self.selected_id()
        if submission_id is None or not self.retry_button.isEnabled():
            return
        runtime, actor = self.runtime, self.actor
        self.retry_button.setEnabled(False)
        self.tasks.run(
            lambda: retry_now(runtime, actor, submission_id),
            partial(self._retried, submission_id),
            self._detail_failed,
        )

    def _retried(self, submission_id: str, count: int) -> None:
        self.message.emit(tr("subs.retry_done", count=count) if count else tr("subs.retry_nothing"))
        changes = Changes.of(Kind.OUTBOX, submission_ids=[submission_id])
        # In the window the notifier brings the row back here and wakes the sync worker.
        if not count or not announce(self, changes):
            self.refresh_submissions([submission_id])
        if count:
            self.sync_requested.emit()


# --- corrections --------------------------------------------------------------------------


def _replaceable(detail: SubmissionDetail) -> bool:
    """May "Perbaiki" / "Batalkan" start from it (the desk checks again when it is done)."""
    row = detail.row
    return not (
        row.superseded_by
        or detail.cancellation
        or row.status in (SubmissionStatus.SUPERSEDED, SubmissionStatus.COLLECTED)
    )


def _loop_notes(detail: SubmissionDetail) -> list[str]:
    """What the officer must see first: a return still owed a correction, a withdrawal."""
    row = detail.row
    notes = []
    if row.review_state == ReviewState.RETURNED and not row.superseded_by:
        notes.append(
            "<p style='color:#a8200d'><b>"
            + html.escape(tr("subs.returned_banner", reason=row.review_reason or "-"))
            + "</b></p>"
        )
    if row.superseded_by and any(e.state == OutboxState.SUPERSEDED for e in row.outbox):
        notes.append(f"<p><i>{html.escape(tr('subs.d.withdrawn_note'))}</i></p>")
    return notes


def correction_state(draft: corrections.CorrectionDraft) -> VisitState:
    """The correcting visit as the counter page holds it: applicant, record, one service."""
    return VisitState(
        applicant=dict(draft.applicant),
        record=dict(draft.record),
        proxy=dict(draft.proxy) if draft.proxy else None,
        services=[
            ServiceEntry(
                code=draft.service,
                answers=dict(draft.answers),
                checklist=dict(draft.checklist),
                attachments=[
                    AttachmentRef(name, sha256, size, content_type)
                    for name, sha256, size, content_type in draft.attachments
                ],
                supersedes=draft.supersedes,
                supersedes_tracking=draft.tracking_number,
            )
        ],
    )


class CancelDialog(QDialog):
    """The reason for a cancellation; Enter in the reason box moves on, Ctrl+Enter sends."""

    confirmed = Signal(str)

    def __init__(self, tracking: str, service: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cancelDialog")
        self.setWindowTitle(plain("subs.cancel_title"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        prompt = QLabel(tr("subs.cancel_prompt", tracking=tracking, service=service))
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        label = QLabel(tr("subs.cancel_reason"))
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("cancelReason")
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(72)
        label.setBuddy(self.reason)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        self.error = QLabel("")
        self.error.setObjectName("message")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.reason.textChanged.connect(self.error.clear)
        box = QDialogButtonBox()
        self.send = box.addButton(tr("subs.cancel_confirm"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.send.setObjectName("sendCancellation")
        box.addButton(tr("subs.cancel_back"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self._send)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self._send)
        self.reason.setFocus()

    def _send(self) -> None:
        text = self.reason.toPlainText().strip()
        if not text:
            self.show_error(tr("corrections.reason_required"))
            self.reason.setFocus()
            return
        self.confirmed.emit(text)

    def busy(self, on: bool) -> None:
        self.send.setEnabled(not on)
        self.reason.setReadOnly(on)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
