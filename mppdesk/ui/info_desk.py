"""Meja informasi: "what do I bring?" answered without an applicant or a visit.

The officer finds services (the counter's search over every agency), adds them to the list,
sees each one's requirements, fee, completion time and where to go, and prints the checklist
(or saves it as PDF) for the citizen to take home. Nothing personal is typed or stored; each
print is audited. Keyboard (Indonesian mnemonics): F11 opens it; Alt+C search (↓ into the
results), Enter adds, Alt+I the chosen list (Delete removes), Alt+E paper, Alt+N prints,
Alt+S saves; none is a menu's letter.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk import documents
from mppdesk.desk.auth import Actor
from mppdesk.desk.counter import search_services
from mppdesk.desk.runtime import Runtime
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.pdf_output import OutputResult, print_document, save_document, show_result
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

CODE_ROLE = Qt.ItemDataRole.UserRole
PAPERS = ("a4", "80mm", "58mm")


class InfoDeskPage(QWidget):
    """``InfoDeskPage(runtime, actor, tasks, parent)``: a page of the window (F11).

    ``output`` is emitted with each print or save result, ``built`` with the PDF printed."""

    output = Signal(object)  # OutputResult
    built = Signal(bytes)
    message = Signal(str)

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("infoDeskPage")
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.pdf: bytes | None = None
        self._pending: tuple[str, Any] | None = None
        self._build()
        self.search_now()
        self.setFocusProxy(self.search)

    # --- building ----------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        heading = QLabel(tr("infodesk.heading"), self)
        heading.setObjectName("heading")
        outer.addWidget(heading)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        outer.addWidget(splitter, 1)

        left = QWidget(splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 8, 0)
        search_label = QLabel(tr("infodesk.search"), left)
        self.search = QLineEdit(left)
        self.search.setObjectName("infoDeskSearch")
        self.search.setPlaceholderText(plain("infodesk.search_hint"))
        self.search.setClearButtonEnabled(True)
        search_label.setBuddy(self.search)
        found_label = QLabel(tr("infodesk.found"), left)
        self.found = QListWidget(left)
        self.found.setObjectName("infoDeskFound")
        found_label.setBuddy(self.found)
        chosen_label = QLabel(tr("infodesk.chosen"), left)
        self.chosen = QListWidget(left)
        self.chosen.setObjectName("infoDeskChosen")
        self.chosen.setMaximumHeight(150)
        chosen_label.setBuddy(self.chosen)
        move = QHBoxLayout()
        self.add_button = QPushButton(tr("infodesk.add"), left)
        self.add_button.clicked.connect(self.add_current)
        self.remove_button = QPushButton(tr("infodesk.remove"), left)
        self.remove_button.clicked.connect(self.remove_current)
        move.addWidget(self.add_button)
        move.addWidget(self.remove_button)
        for widget in (search_label, self.search, found_label, self.found):
            left_layout.addWidget(widget)
        left_layout.addLayout(move)
        left_layout.addWidget(chosen_label)
        left_layout.addWidget(self.chosen)

        right = QWidget(splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        self.detail = QTextBrowser(right)
        self.detail.setObjectName("infoDeskDetail")
        self.detail.setAccessibleName(plain("infodesk.requirements"))
        self.detail.setHtml(f"<p>{html.escape(plain('infodesk.empty'))}</p>")
        right_layout.addWidget(self.detail, 1)
        self.banner = QLabel("", right)
        self.banner.setWordWrap(True)
        self.banner.hide()
        right_layout.addWidget(self.banner)
        buttons = QHBoxLayout()
        paper_label = QLabel(tr("infodesk.paper"), right)
        self.paper = QComboBox(right)
        self.paper.setObjectName("infoDeskPaper")
        for paper in PAPERS:
            self.paper.addItem(paper.upper() if paper == "a4" else paper, paper)
        paper_label.setBuddy(self.paper)
        self.print_button = QPushButton(tr("infodesk.print"), right)
        self.print_button.setObjectName("primary")
        self.print_button.clicked.connect(lambda: self.print_checklist())
        self.save_button = QPushButton(tr("infodesk.save"), right)
        self.save_button.setObjectName("infoDeskSave")
        self.save_button.clicked.connect(lambda: self.save_checklist())
        buttons.addWidget(paper_label)
        buttons.addWidget(self.paper)
        buttons.addStretch(1)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        right_layout.addLayout(buttons)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([520, 800])
        for names in (self.found, self.chosen):
            names.setWordWrap(True)  # long service names wrap rather than being cut

        order = [
            self.search,
            self.found,
            self.add_button,
            self.remove_button,
            self.chosen,
            self.detail,
            self.paper,
            self.print_button,
            self.save_button,
        ]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self.search.textChanged.connect(lambda _t: self.search_now())
        self.search.returnPressed.connect(self.add_current)
        self.search.installEventFilter(self)
        self.found.itemActivated.connect(lambda _item: self.add_current())
        self.chosen.currentRowChanged.connect(lambda _r: self._show_detail())
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.chosen, self.remove_current)
        self._enable()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        """↓ in the search box moves into the results, as in the counter's service search."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.found.count():
                step = 1 if event.key() == Qt.Key.Key_Down else -1
                row = max(0, min(self.found.count() - 1, self.found.currentRow() + step))
                self.found.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)

    # --- choosing ----------------------------------------------------------------------

    @property
    def codes(self) -> list[str]:
        return [str(self.chosen.item(i).data(CODE_ROLE)) for i in range(self.chosen.count())]

    def search_now(self) -> None:
        """The counter's service search, over the catalog alone (pure, no store)."""
        hits = search_services(self.runtime.catalog, self.search.text(), None, i18n.language())
        self.found.clear()
        for hit in hits:
            item = QListWidgetItem(f"{hit.name} — {hit.agency_short}")
            item.setData(CODE_ROLE, hit.code)
            self.found.addItem(item)
        if self.found.count():
            self.found.setCurrentRow(0)

    def add_current(self) -> None:
        item = self.found.currentItem()
        if item is None:
            return
        code = str(item.data(CODE_ROLE))
        if code not in self.codes:
            chosen = QListWidgetItem(item.text())
            chosen.setData(CODE_ROLE, code)
            self.chosen.addItem(chosen)
        self.chosen.setCurrentRow(self.codes.index(code))
        self._enable()
        self._show_detail()

    def remove_current(self) -> None:
        row = self.chosen.currentRow()
        if row < 0:
            return
        self.chosen.takeItem(row)
        self._enable()
        self._show_detail()

    def _enable(self) -> None:
        has = self.chosen.count() > 0
        self.print_button.setEnabled(has)
        self.save_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    def _show_detail(self) -> None:
        """Each chosen service's requirements, fee, completion time and where to go."""
        codes = self.codes
        if not codes:
            self.detail.setHtml(f"<p>{html.escape(plain('infodesk.empty'))}</p>")
            return
        lang, catalog, esc = i18n.language(), self.runtime.catalog, html.escape
        from mppdesk.printing.text import catalog_fee_text, sla_text

        parts = []
        for code in codes:
            service = catalog.services[code]
            agency = catalog.agencies.get(service.agency)
            where = documents.where_to_go(self.runtime, service, lang)
            requirements = "".join(
                f"<li>{esc(r.label.get(lang))}</li>" for r in service.requirements
            )
            parts.append(
                f"<h3>{esc(service.name.get(lang))}</h3>"
                f"<p><i>{esc(agency.name.get(lang) if agency else service.agency)}</i></p>"
                f"<p><b>{esc(plain('infodesk.requirements'))}</b></p><ul>{requirements}</ul>"
                f"<p><b>{esc(plain('infodesk.fee'))}:</b> "
                f"{esc(catalog_fee_text(service.fee, lang))}<br>"
                f"<b>{esc(plain('infodesk.sla'))}:</b> {esc(sla_text(service.sla, lang))}<br>"
                f"<b>{esc(plain('infodesk.where'))}:</b> {esc(where)}</p>"
            )
        self.detail.setHtml("<hr>".join(parts))

    # --- printing ----------------------------------------------------------------------

    def _build_pdf(self, then: str, target: Any) -> None:
        codes = list(self.codes)
        if not codes:
            return
        runtime, actor = self.runtime, self.actor
        paper, lang = str(self.paper.currentData()), i18n.language()
        self.print_button.setEnabled(False)
        self.save_button.setEnabled(False)
        self._pending = (then, target)
        self.tasks.run(
            lambda: documents.print_checklist(runtime, codes, paper, lang, actor),
            self._built,
            self._failed,
        )

    def print_checklist(self, printer: Any = None) -> None:
        """Build (audited) and print; ``printer`` is a test's PDF printer."""
        self._build_pdf("print", printer)

    def save_checklist(self, path: str | None = None) -> None:
        self._build_pdf("save", path)

    def _built(self, data: bytes) -> None:
        self.pdf = data
        self.built.emit(data)
        self._enable()
        then, target = self._pending or ("print", None)
        self._pending = None
        if then == "print":
            result = print_document(
                self, data, self.runtime.settings.printing.receipt_printer, target
            )
            if result is not None and result.ok:
                result = OutputResult(
                    True, tr("infodesk.printed", printer=result.where), result.where
                )
        else:
            result = save_document(self, data, "daftar-persyaratan.pdf", target)
            if result is not None and result.ok:
                result = OutputResult(True, tr("infodesk.saved", path=result.where), result.where)
        if result is not None:
            show_result(self.banner, result)
            self.output.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._enable()
        result = OutputResult(False, i18n.error_text(error))
        show_result(self.banner, result)
        self.output.emit(result)

    def focus_first(self) -> None:
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)
