"""The submissions view's "Cetak ulang": a copy of a visit's receipt, slip or checklist.

The copy is built by ``mppdesk.desk.documents`` from the visit AS SUBMITTED (the frozen
payloads), marked SALINAN and audited when it is built; the officer sees it before printing
it or saving it as PDF. Keyboard (Indonesian mnemonics): Alt+D document, Alt+K paper,
Alt+C print, Alt+S save, Esc closes.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk import documents
from mppdesk.desk.auth import Actor
from mppdesk.desk.runtime import Runtime
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.pdf_output import OutputResult, print_document, save_document, show_result
from mppdesk.ui.preview import PdfView
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

KINDS = ("receipt", "slip", "checklist")
PAPERS = ("80mm", "58mm", "a4")


class ReprintDialog(QDialog):
    """``ReprintDialog(runtime, actor, tasks, tracking_number, parent)``.

    ``built`` is emitted with each copy's PDF bytes once it is ready (tests wait on it)."""

    built = Signal(bytes)
    done_output = Signal(object)  # OutputResult

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        tracking_number: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reprintDialog")
        self.setWindowTitle(plain("reprint.title", tracking=tracking_number))
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.tracking_number = tracking_number
        self.pdf: bytes | None = None
        self._generation = 0
        self._build()
        self.resize(720, 640)
        self.rebuild()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        note = QLabel(tr("reprint.note"), self)
        note.setWordWrap(True)
        layout.addWidget(note)
        choices = QHBoxLayout()
        kind_label = QLabel(tr("reprint.kind"), self)
        self.kind = QComboBox(self)
        self.kind.setObjectName("reprintKind")
        for kind in KINDS:
            self.kind.addItem(plain(f"reprint.kind.{kind}"), kind)
        kind_label.setBuddy(self.kind)
        paper_label = QLabel(tr("reprint.paper"), self)
        self.paper = QComboBox(self)
        self.paper.setObjectName("reprintPaper")
        for paper in PAPERS:
            self.paper.addItem(paper.upper() if paper == "a4" else paper, paper)
        desk_paper = str(self.runtime.settings.printing.paper)
        self.paper.setCurrentIndex(max(0, self.paper.findData(desk_paper)))
        paper_label.setBuddy(self.paper)
        choices.addWidget(kind_label)
        choices.addWidget(self.kind, 1)
        choices.addWidget(paper_label)
        choices.addWidget(self.paper)
        layout.addLayout(choices)
        self.view = PdfView(self, dpi=90)
        layout.addWidget(self.view, 1)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.print_button = QPushButton(tr("reprint.print"), self)
        self.print_button.setObjectName("primary")
        self.print_button.setEnabled(False)
        self.print_button.clicked.connect(lambda: self.print_copy())
        self.save_button = QPushButton(tr("reprint.save"), self)
        self.save_button.setObjectName("reprintSave")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.save_copy())
        close = QPushButton(tr("reprint.close"), self)
        close.clicked.connect(self.reject)
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.kind.currentIndexChanged.connect(lambda _i: self.rebuild())
        self.paper.currentIndexChanged.connect(lambda _i: self.rebuild())
        self.setTabOrder(self.kind, self.paper)
        self.setTabOrder(self.paper, self.view)
        self.setTabOrder(self.view, self.print_button)
        self.setTabOrder(self.print_button, self.save_button)
        self.setTabOrder(self.save_button, close)
        self.kind.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def rebuild(self) -> None:
        """Build the chosen copy off the GUI thread (each build is an audited reprint)."""
        self._generation += 1
        generation = self._generation
        kind, paper, lang = self.current_kind, str(self.paper.currentData()), i18n.language()
        runtime, actor, reference = self.runtime, self.actor, self.tracking_number
        self.print_button.setEnabled(False)
        self.save_button.setEnabled(False)

        def work() -> bytes:
            if kind == "receipt":
                return documents.print_receipt(runtime, actor, reference, paper, lang, reprint=True)
            if kind == "slip":
                return documents.print_slip(runtime, actor, reference, paper, lang, reprint=True)
            return documents.print_visit_checklist(runtime, actor, reference, paper, lang)

        self.tasks.run(
            work,
            lambda data: self._arrived(generation, data),
            lambda error: self._failed(generation, error),
        )

    def _arrived(self, generation: int, data: bytes) -> None:
        if generation != self._generation:
            return
        self.pdf = data
        self.view.show_pdf(data)
        self.print_button.setEnabled(True)
        self.save_button.setEnabled(True)
        self.built.emit(data)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.pdf = None
        self.view.show_pdf(None, i18n.error_text(error))
        self._show(OutputResult(False, i18n.error_text(error)))

    def print_copy(self, printer: Any = None) -> OutputResult | None:
        if self.pdf is None:
            return None
        name = self.runtime.settings.printing.receipt_printer
        result = print_document(self, self.pdf, name, printer)
        if result is not None and result.ok:
            result = OutputResult(True, tr("reprint.printed", printer=result.where), result.where)
        return self._show(result)

    def save_copy(self, path: str | None = None) -> OutputResult | None:
        if self.pdf is None:
            return None
        suggested = f"salinan-{self.current_kind}-{self.tracking_number}.pdf"
        result = save_document(self, self.pdf, suggested, path)
        if result is not None and result.ok:
            result = OutputResult(True, tr("reprint.saved", path=result.where), result.where)
        return self._show(result)

    def _show(self, result: OutputResult | None) -> OutputResult | None:
        if result is None:
            return None
        show_result(self.message, result)
        self.done_output.emit(result)
        return result


def open_reprint(page: Any) -> ReprintDialog | None:
    """Open the reprint dialog for the submissions page's selected row (non-modal, so the
    tests and the officer can go on; it closes with Esc). None with nothing selected."""
    index = page.table.selectionModel().currentIndex()
    if not index.isValid():
        page.message.emit(tr("reprint.choose"))
        return None
    row = page.model.row_at(index.row())
    dialog = ReprintDialog(page.runtime, page.actor, page.tasks, row.tracking_number, page)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    page.reprint_dialog = dialog
    return dialog
