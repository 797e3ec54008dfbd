"""After finalize: tracking numbers, what is missing, the receipt preview and printing."""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk.auth import Actor
from mppdesk.desk.runtime import Runtime
from mppdesk.ui.i18n import format_date, format_rupiah, plain, text_of, tr
from mppdesk.ui.preview import PdfView, PrinterUnavailable, named_printer, print_pdf
from mppdesk.ui.service_page import card, scrolling
from mppdesk.ui.tasks import TaskRunner
from mppdesk.ui.visit import FinalizedVisit

log = logging.getLogger(__name__)

PRINTOUTS_DIR = "printouts"  # in the data dir: receipts kept as PDF when no printer exists


def available_printers() -> list[str]:
    """The OS's printers (CUPS queues, Windows printers); empty on a PC without any."""
    from PySide6.QtPrintSupport import QPrinterInfo

    return QPrinterInfo.availablePrinterNames()


class DonePage(QWidget):
    new_visit_requested = Signal()
    printed = Signal(str, int)  # document kind, pages

    def open_survey(self) -> QWidget:
        """Ctrl+K: the SKM survey dialog for this visit (optional for the citizen)."""
        from mppdesk.ui.survey_dialog import SurveyDialog

        dialog = SurveyDialog(self.runtime, self.actor, self.tasks, self.done.result.visit_id, self)
        dialog.saved.connect(lambda _id: self.survey_button.setEnabled(False))
        dialog.open()
        return dialog

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        done: FinalizedVisit,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("donePage")
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.done = done
        self.saved_pdf = None  # where the last document went when there was no printer
        self.printers = available_printers  # the OS's list (a PC with none is a test's case)

        outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(14)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 4, 0)
        column.setSpacing(12)
        summary_card, layout = card()
        heading = QLabel(plain("done.heading"))
        heading.setObjectName("heading")
        layout.addWidget(heading)
        for submission in done.result.submissions:
            self._add_submission(layout, submission)
        if done.documents_error:
            problem = QLabel(tr("preview.failed", error=done.documents_error))
            problem.setObjectName("bannerError")
            problem.setWordWrap(True)
            layout.addWidget(problem)
        self.message = QLabel()
        self.message.setObjectName("bannerOk")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        layout.addLayout(self._buttons())
        hint = QLabel(tr("done.next"))
        hint.setObjectName("muted")
        layout.addWidget(hint)
        column.addWidget(summary_card)
        column.addStretch(1)
        left = scrolling(body)
        left.setMaximumWidth(520)
        outer.addWidget(left, 2)
        outer.addWidget(self._previews(), 3)
        self._install_shortcuts()

    def _add_submission(self, layout: QVBoxLayout, submission: Any) -> None:
        """One stored service: agency and name, tracking number, state, fee, due, missing."""
        catalog = self.runtime.catalog
        service = catalog.services.get(submission.service)
        agency = catalog.agencies.get(submission.agency)
        name = (
            f"{agency.short_name if agency else submission.agency} · "
            f"{text_of(service.name) if service else submission.service}"
        )
        line = QLabel(name)
        line.setObjectName("subheading")
        line.setWordWrap(True)
        layout.addWidget(line)
        tracking = QLabel(submission.tracking_number)
        tracking.setObjectName("ticket")
        tracking.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tracking.setAccessibleName(
            tr("done.line", service=name, tracking=submission.tracking_number)
        )
        layout.addWidget(tracking)
        state_key = "done.state.held" if submission.status == "held" else "done.state.queued"
        facts = [
            tr(state_key),
            f"{plain('visit.fee')}: {format_rupiah(submission.fee)}",
            f"{plain('visit.sla_due')}: {format_date(submission.sla_due)}",
        ]
        detail = QLabel("  ·  ".join(facts))
        detail.setObjectName("muted")
        detail.setWordWrap(True)
        layout.addWidget(detail)
        if submission.missing and service is not None:
            labels = {r.id: text_of(r.label) for r in service.requirements}
            missing = QLabel(
                tr(
                    "done.missing",
                    items=", ".join(labels.get(m, m) for m in submission.missing),
                )
            )
            missing.setObjectName("bannerWarning")
            missing.setWordWrap(True)
            layout.addWidget(missing)

    def _buttons(self) -> QVBoxLayout:
        """Print receipt / slip, choose a printer, the survey, a new visit."""
        done = self.done
        buttons = QVBoxLayout()
        self.print_receipt_button = QPushButton(tr("done.print_receipt") + "   Ctrl+P")
        self.print_receipt_button.setObjectName("primary")
        self.print_receipt_button.setEnabled(done.receipt_pdf is not None)
        self.print_receipt_button.clicked.connect(lambda: self.print_document("receipt"))
        buttons.addWidget(self.print_receipt_button)
        self.print_slip_button = QPushButton(tr("done.print_slip") + "   Ctrl+Shift+P")
        self.print_slip_button.setObjectName("printSlip")
        self.print_slip_button.clicked.connect(lambda: self.print_document("slip"))
        buttons.addWidget(self.print_slip_button)
        # With a printer named in the settings Ctrl+P prints at once; this still asks.
        self.choose_printer_button = QPushButton(tr("print.choose"))
        self.choose_printer_button.setObjectName("choosePrinter")
        self.choose_printer_button.setEnabled(done.receipt_pdf is not None)
        self.choose_printer_button.clicked.connect(lambda: self.print_document("receipt", ask=True))
        buttons.addWidget(self.choose_printer_button)
        # The optional satisfaction survey (SKM) of this visit, asked before the citizen leaves.
        self.survey_button = QPushButton(tr("done.survey") + "   Ctrl+K")
        self.survey_button.setObjectName("survey")
        self.survey_button.setShortcut("Ctrl+K")
        self.survey_button.clicked.connect(self.open_survey)
        buttons.addWidget(self.survey_button)
        self.new_button = QPushButton(tr("done.new_visit"))
        self.new_button.setObjectName("newVisit")
        self.new_button.clicked.connect(self.new_visit_requested.emit)
        buttons.addWidget(self.new_button)
        return buttons

    def _previews(self) -> QTabWidget:
        """The receipt's preview, and the slip's when something is missing."""
        done = self.done
        self.tabs = QTabWidget()
        self.tabs.setObjectName("previewTabs")
        self.receipt_view = PdfView()
        self.tabs.addTab(self.receipt_view, plain("preview.receipt"))
        self.receipt_view.show_pdf(done.receipt_pdf, done.documents_error)
        self.slip_view: PdfView | None = None
        if done.slip_pdf is not None:
            self.slip_view = PdfView()
            self.tabs.addTab(self.slip_view, plain("preview.slip"))
            self.slip_view.show_pdf(done.slip_pdf)
        return self.tabs

    def _install_shortcuts(self) -> None:
        for keys, slot in (
            ("Ctrl+P", lambda: self.print_document("receipt")),
            ("Ctrl+Shift+P", lambda: self.print_document("slip")),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        # Only now is every widget parented: showing a parentless one would open a window.
        self.print_slip_button.setVisible(self.done.slip_pdf is not None)
        self.choose_printer_button.setVisible(bool(self.printer_name))
        self.setTabOrder(self.print_receipt_button, self.print_slip_button)
        self.setTabOrder(self.print_slip_button, self.choose_printer_button)
        self.setTabOrder(self.choose_printer_button, self.new_button)
        self.setTabOrder(self.new_button, self.tabs)

    @property
    def printer_name(self) -> str:
        """The desk's printer (``[printing] receipt_printer``); "" means ask every time."""
        return self.runtime.settings.printing.receipt_printer

    def print_document(self, kind: str, printer=None, *, ask: bool = False) -> int:
        """Print to the desk's named printer without a dialog, else through the dialog.

        ``printer`` (e.g. a PDF file in tests) skips both. A named printer that cannot take
        the job leaves a message; the document stays in the preview, ready to print again.
        """
        data = self.done.receipt_pdf if kind == "receipt" else self.done.slip_pdf
        if data is None:
            return 0
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        if printer is None and self.printer_name and not ask:
            try:
                printer = named_printer(self.printer_name, fit_pdf=data)
            except PrinterUnavailable as exc:
                log.warning("printer %r unavailable: %s", self.printer_name, exc)
                self._show_message("bannerError", str(exc))
                return 0
            except ValueError as exc:  # the PDF itself cannot be read
                self._show_message("bannerError", tr("preview.failed", error=str(exc)))
                return 0
        if printer is None and not self.printers():
            return self._save_as_pdf(kind, data)  # no printer at all: never Qt's file dialog
        if printer is None:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            dialog = QPrintDialog(printer, self)
            dialog.setWindowTitle(plain("preview.title"))
            if dialog.exec() != QPrintDialog.DialogCode.Accepted:
                return 0
        try:
            pages = print_pdf(data, printer)
        except OSError as exc:  # the printer would not open
            log.warning("printing to %r failed: %s", printer.printerName(), exc)
            name = printer.printerName() or printer.outputFileName()
            self._show_message("bannerError", tr("print.cannot_open", printer=name))
            return 0
        except (ValueError, ImportError) as exc:  # damaged PDF, no QtPdf
            self._show_message("bannerError", tr("preview.failed", error=str(exc)))
            return 0
        name = printer.printerName() or printer.outputFileName()
        self._show_message("bannerOk", tr("preview.printed", printer=name))
        self.printed.emit(kind, pages)
        return pages

    def _save_as_pdf(self, kind: str, data: bytes) -> int:
        """No printer on this PC: the document is kept as a PDF in the data dir (private to
        the desk's account, like the store) and the done page says where, to print it from
        another PC or once a printer is connected."""
        folder = self.runtime.data_dir / PRINTOUTS_DIR
        name = f"{kind}-{self._document_name()}.pdf"
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            path = folder / name
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            log.warning("saving the %s as PDF failed: %s", kind, exc)
            self._show_message(
                "bannerError", tr("counter.print_pdf_failed", reason=exc.strerror or str(exc))
            )
            return 0
        self.saved_pdf = path
        self._show_message("bannerWarning", tr("counter.print_no_printer", path=str(path)))
        return 0

    def _document_name(self) -> str:
        submissions = getattr(self.done.result, "submissions", ()) or ()
        if submissions:
            return str(submissions[0].tracking_number)
        return str(self.done.result.visit_id)

    def _show_message(self, kind: str, text: str) -> None:
        self.message.setObjectName(kind)
        self.message.setText(text)
        self.message.setVisible(True)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def focus_first(self) -> None:
        self.print_receipt_button.setFocus(Qt.FocusReason.OtherFocusReason)
