"""Serah terima berkas: handing the files of agencies without an API to their staff.

One manual agency at a time: what is still to hand over (taken in on or before the chosen
day), the receiving officer's name and an optional reference, "Tandai sudah diserahkan" per
file (its outbox entry becomes done), what was handed over that day, and the berita acara
signed with the officer's full name. Keyboard: Alt+I agency, Alt+G date, the list (↑/↓;
Tab leaves it), Alt+N name, Alt+R reference, Enter or Alt+S marks, Alt+C prints (the
Indonesian mnemonics; none is a menu's letter).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.changes import Changes, Kind
from mppdesk.desk import documents
from mppdesk.desk.auth import Actor
from mppdesk.desk.documents import HandoverItem, HandoverOutcome
from mppdesk.desk.runtime import Runtime
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.pdf_output import OutputResult, PdfDialog, show_result
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole


def _table(parent: QWidget, columns: list[str], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setObjectName(name)
    table.setHorizontalHeaderLabels([plain(c) for c in columns])
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)  # Tab leaves the table for the next field
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


class HandoverPage(QWidget):
    """``HandoverPage(runtime, actor, tasks, parent)``: a page of the window (F12).

    ``loaded`` is emitted after each list arrives, ``handed_over`` with each outcome,
    ``printed`` with the berita acara's PDF once built (tests wait on them)."""

    loaded = Signal()
    handed_over = Signal(object)
    printed = Signal(bytes)
    message = Signal(str)

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("handoverPage")
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.waiting_items: list[HandoverItem] = []
        self.done_items: list[HandoverItem] = []
        self.pdf_dialog: PdfDialog | None = None
        self._generation = 0
        self._build()
        # The window focuses the page it shows: the list, or the agency when there is none.
        self.setFocusProxy(self.waiting if self.agency.count() else self.agency)
        self.reload(audit=True)

    # --- building ----------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        heading = QLabel(tr("handover.heading"), self)
        heading.setObjectName("heading")
        outer.addWidget(heading)

        bar = QHBoxLayout()
        agency_label = QLabel(tr("handover.agency"), self)
        self.agency = QComboBox(self)
        self.agency.setObjectName("handoverAgency")
        self._fill_agencies()
        agency_label.setBuddy(self.agency)
        day_label = QLabel(tr("handover.day"), self)
        self.day = QDateEdit(self)
        self.day.setObjectName("handoverDay")
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("dd-MM-yyyy")
        today = self.runtime.local_today()
        self.day.setDate(QDate(today.year, today.month, today.day))
        day_label.setBuddy(self.day)
        bar.addWidget(agency_label)
        bar.addWidget(self.agency, 1)
        bar.addSpacing(12)
        bar.addWidget(day_label)
        bar.addWidget(self.day)
        outer.addLayout(bar)

        self.banner = QLabel("", self)
        self.banner.setWordWrap(True)
        self.banner.hide()
        outer.addWidget(self.banner)
        if self.agency.count() == 0:
            show_result(self.banner, OutputResult(False, tr("handover.no_manual")))

        self.waiting_label = QLabel(plain("handover.waiting", count=0), self)
        self.waiting_label.setObjectName("subheading")
        outer.addWidget(self.waiting_label)
        self.waiting = _table(
            self,
            [
                "handover.col.tracking",
                "handover.col.applicant",
                "handover.col.service",
                "handover.col.taken",
                "handover.col.documents",
            ],
            "handoverWaiting",
        )
        self.waiting.setAccessibleName(plain("handover.waiting", count=0))
        outer.addWidget(self.waiting, 3)

        form = QFormLayout()
        self.receiver = QLineEdit(self)
        self.receiver.setObjectName("handoverReceiver")
        self.receiver.setMaxLength(documents.NAME_MAX)
        self.reference = QLineEdit(self)
        self.reference.setObjectName("handoverReference")
        self.reference.setMaxLength(documents.REFERENCE_MAX)
        receiver_label = QLabel(tr("handover.receiver"), self)
        receiver_label.setBuddy(self.receiver)
        reference_label = QLabel(tr("handover.reference"), self)
        reference_label.setBuddy(self.reference)
        form.addRow(receiver_label, self.receiver)
        form.addRow(reference_label, self.reference)
        outer.addLayout(form)

        buttons = QHBoxLayout()
        self.mark_button = QPushButton(tr("handover.mark"), self)
        self.mark_button.setObjectName("primary")
        self.mark_button.clicked.connect(self.mark_selected)
        self.print_button = QPushButton(tr("handover.print"), self)
        self.print_button.setObjectName("handoverPrint")
        self.print_button.clicked.connect(self.print_record)
        buttons.addWidget(self.mark_button)
        buttons.addStretch(1)
        buttons.addWidget(self.print_button)
        outer.addLayout(buttons)

        self.done_label = QLabel(plain("handover.done", count=0), self)
        self.done_label.setObjectName("subheading")
        outer.addWidget(self.done_label)
        self.done = _table(
            self,
            [
                "handover.col.tracking",
                "handover.col.applicant",
                "handover.col.service",
                "handover.col.received_by",
                "handover.col.reference",
            ],
            "handoverDone",
        )
        self.done.setAccessibleName(plain("handover.done", count=0))
        outer.addWidget(self.done, 2)

        order = [
            self.agency,
            self.day,
            self.waiting,
            self.receiver,
            self.reference,
            self.mark_button,
            self.print_button,
            self.done,
        ]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self.receiver.returnPressed.connect(self.mark_selected)
        self.reference.returnPressed.connect(self.mark_selected)
        self.agency.currentIndexChanged.connect(lambda _i: self.reload(audit=True))
        self.day.dateChanged.connect(lambda _d: self.reload(audit=True))
        enabled = self.agency.count() > 0
        for widget in (self.mark_button, self.print_button, self.receiver, self.reference):
            widget.setEnabled(enabled)

    def _fill_agencies(self) -> None:
        """The manual agencies of the settings, keeping the chosen one when it still is."""
        current = self.agency.currentData()
        self.agency.blockSignals(True)
        self.agency.clear()
        for code in documents.manual_agencies(self.runtime):
            agency = self.runtime.catalog.agencies[code]
            self.agency.addItem(f"{agency.short_name} — {agency.name.get(i18n.language())}", code)
        self.agency.setCurrentIndex(max(0, self.agency.findData(current)))
        self.agency.blockSignals(False)
        if hasattr(self, "mark_button"):
            enabled = self.agency.count() > 0
            for widget in (self.mark_button, self.print_button, self.receiver, self.reference):
                widget.setEnabled(enabled)
            if not enabled:
                show_result(self.banner, OutputResult(False, tr("handover.no_manual")))

    # --- reading -----------------------------------------------------------------------

    @property
    def agency_code(self) -> str | None:
        code = self.agency.currentData()
        return str(code) if code else None

    @property
    def chosen_day(self) -> date:
        qdate = self.day.date()
        return date(qdate.year(), qdate.month(), qdate.day())

    def reload(self, audit: bool = False) -> None:
        agency = self.agency_code
        if agency is None:
            return
        self._generation += 1
        generation = self._generation
        runtime, actor, day, lang = self.runtime, self.actor, self.chosen_day, i18n.language()
        self.tasks.run(
            lambda: documents.handover_list(runtime, actor, agency, day, lang, audit=audit),
            lambda lists: self._arrived(generation, lists),
            self._failed,
        )

    def _arrived(
        self, generation: int, lists: tuple[list[HandoverItem], list[HandoverItem]]
    ) -> None:
        if generation != self._generation:
            return
        selected = self.selected_item()
        self.waiting_items, self.done_items = lists
        self._fill(
            self.waiting,
            [
                (
                    i.tracking_number,
                    i.applicant_name,
                    i.service_name,
                    i18n.format_datetime(i.received_at),
                    ", ".join(i.documents),
                )
                for i in self.waiting_items
            ],
            [i.submission_id for i in self.waiting_items],
        )
        self._fill(
            self.done,
            [
                (
                    i.tracking_number,
                    i.applicant_name,
                    i.service_name,
                    i.received_by or "",
                    i.reference or "",
                )
                for i in self.done_items
            ],
            [i.submission_id for i in self.done_items],
        )
        self.waiting_label.setText(plain("handover.waiting", count=len(self.waiting_items)))
        self.done_label.setText(plain("handover.done", count=len(self.done_items)))
        ids = [i.submission_id for i in self.waiting_items]
        if ids:
            keep = (
                ids.index(selected.submission_id)
                if selected and selected.submission_id in ids
                else 0
            )
            self.waiting.selectRow(keep)
        self.loaded.emit()

    @staticmethod
    def _fill(table: QTableWidget, rows: list[tuple[str, ...]], ids: list[str]) -> None:
        table.setRowCount(len(rows))
        for r, (values, submission_id) in enumerate(zip(rows, ids, strict=True)):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(ID_ROLE, submission_id)
                item.setToolTip(value)  # a cut cell still reads whole
                if c == 0:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                table.setItem(r, c, item)

    def _failed(self, error: BaseException) -> None:
        show_result(
            self.banner, OutputResult(False, tr("handover.failed", error=i18n.error_text(error)))
        )

    def selected_item(self) -> HandoverItem | None:
        row = self.waiting.currentRow()
        if 0 <= row < len(self.waiting_items) and self.waiting.selectionModel().hasSelection():
            return self.waiting_items[row]
        return None

    # --- marking -----------------------------------------------------------------------

    def mark_selected(self) -> None:
        """Record that the selected file went to the agency officer named in the field."""
        item = self.selected_item()
        if item is None:
            show_result(self.banner, OutputResult(False, tr("handover.choose")))
            return
        runtime, actor = self.runtime, self.actor
        receiver, reference = self.receiver.text(), self.reference.text()
        self.mark_button.setEnabled(False)
        self.tasks.run(
            lambda: documents.hand_over(runtime, actor, item.submission_id, receiver, reference),
            self._marked,
            self._mark_failed,
        )

    def _marked(self, outcome: HandoverOutcome) -> None:
        self.mark_button.setEnabled(True)
        self.reference.clear()  # the same officer usually takes several files: the name stays
        text = tr("handover.marked", tracking=outcome.tracking_number, name=outcome.received_by)
        show_result(self.banner, OutputResult(True, text))
        self.message.emit(text)
        announce(self, outcome.changes)
        self.reload()
        self.handed_over.emit(outcome)
        self.waiting.setFocus(Qt.FocusReason.OtherFocusReason)

    def _mark_failed(self, error: BaseException) -> None:
        self.mark_button.setEnabled(True)
        show_result(self.banner, OutputResult(False, i18n.error_text(error)))
        if getattr(error, "errors", None):
            self.receiver.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- the berita acara ----------------------------------------------------------------

    def print_record(self) -> None:
        agency = self.agency_code
        if agency is None:
            return
        runtime, actor, day, lang = self.runtime, self.actor, self.chosen_day, i18n.language()
        self.tasks.run(
            lambda: documents.print_handover(runtime, actor, agency, day, lang),
            self._record_built,
            self._failed,
        )

    def _record_built(self, data: bytes) -> None:
        agency = self.agency_code or ""
        title = plain("handover.print")
        dialog = PdfDialog(
            data,
            title,
            f"berita-acara-{agency}-{self.chosen_day.isoformat()}.pdf",
            self.runtime.settings.printing.receipt_printer,
            self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.pdf_dialog = dialog
        dialog.show()
        self.printed.emit(data)

    # --- following changes -------------------------------------------------------------

    def wants(self, changes: Changes) -> bool:
        kinds = {Kind.OUTBOX, Kind.SUBMISSIONS, Kind.VISITS, Kind.REVIEW, Kind.SETTINGS}
        return bool(changes.kinds & kinds)

    def apply_changes(self, changes: Changes, origin: Any = None) -> None:
        if Kind.SETTINGS in changes.kinds:
            self._fill_agencies()  # an agency may have become manual, or got an API
        if origin is not self:
            self.reload()

    def focus_first(self) -> None:
        target = self.waiting if self.waiting_items else self.agency
        target.setFocus(Qt.FocusReason.OtherFocusReason)
