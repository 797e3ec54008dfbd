"""Printing and saving a document's PDF from a screen other than the done page.

The reprint dialog, the handover screen and the information desk all hold PDF bytes built by
``mppdesk.desk.documents``; this prints them to the desk's named printer without a dialog
(``[printing] receipt_printer``), else through Qt's print dialog, or saves them to a file.
Each answers with the line to show the officer, never an exception for a printer's fault.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.preview import PdfView, PrinterUnavailable, named_printer, print_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputResult:
    ok: bool
    message: str
    where: str = ""  # the printer's name or the file written


def print_document(
    parent: QWidget, data: bytes, printer_name: str = "", printer: Any = None
) -> OutputResult | None:
    """Print ``data``: to ``printer`` (a test's PDF printer), the named printer, or a printer
    chosen in the dialog. None when the officer cancelled the dialog."""
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    if printer is None and printer_name:
        try:
            printer = named_printer(printer_name, fit_pdf=data)
        except PrinterUnavailable as exc:
            log.warning("printer %r unavailable: %s", printer_name, exc)
            return OutputResult(False, str(exc))
        except ValueError as exc:
            return OutputResult(False, tr("preview.failed", error=str(exc)))
    if printer is None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, parent)
        dialog.setWindowTitle(plain("preview.title"))
        if dialog.exec() != QPrintDialog.DialogCode.Accepted:
            return None
    name = printer.printerName() or printer.outputFileName()
    try:
        print_pdf(data, printer)
    except OSError as exc:
        log.warning("printing to %r failed: %s", name, exc)
        return OutputResult(False, tr("print.cannot_open", printer=name))
    except (ValueError, ImportError) as exc:
        return OutputResult(False, tr("preview.failed", error=str(exc)))
    return OutputResult(True, name, name)


def save_document(
    parent: QWidget, data: bytes, suggested: str, path: str | Path | None = None
) -> OutputResult | None:
    """Write ``data`` to ``path`` (asked for in a file dialog when None; None if cancelled)."""
    if path is None:
        chosen, _filter = QFileDialog.getSaveFileName(
            parent, plain("reprint.save"), str(Path.home() / suggested), "PDF (*.pdf)"
        )
        if not chosen:
            return None
        path = chosen
    target = Path(path)
    if target.suffix.lower() != ".pdf":
        target = target.with_name(target.name + ".pdf")
    try:
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as exc:
        log.warning("saving %s failed: %s", target, exc.strerror)
        return OutputResult(False, tr("handover.failed", error=exc.strerror or str(exc)))
    return OutputResult(True, str(target), str(target))


class PdfDialog(QDialog):
    """A built document shown before it is printed or saved (the handover record)."""

    output = Signal(object)  # OutputResult

    def __init__(
        self,
        data: bytes,
        title: str,
        suggested: str,
        printer_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pdfDialog")
        self.setWindowTitle(title)
        self.data = data
        self.suggested = suggested
        self.printer_name = printer_name
        layout = QVBoxLayout(self)
        self.view = PdfView(self, dpi=80)
        layout.addWidget(self.view, 1)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.print_button = QPushButton(tr("reprint.print"), self)
        self.print_button.setObjectName("primary")
        self.print_button.clicked.connect(lambda: self.print_now())
        self.save_button = QPushButton(tr("reprint.save"), self)
        self.save_button.clicked.connect(lambda: self.save())
        close = QPushButton(tr("reprint.close"), self)
        close.clicked.connect(self.reject)
        for button in (self.print_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self.view.show_pdf(data)
        self.resize(760, 680)
        self.print_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def print_now(self, printer: Any = None) -> OutputResult | None:
        return self._show(print_document(self, self.data, self.printer_name, printer))

    def save(self, path: str | Path | None = None) -> OutputResult | None:
        return self._show(save_document(self, self.data, self.suggested, path))

    def _show(self, result: OutputResult | None) -> OutputResult | None:
        if result is None:
            return None
        show_result(self.message, result)
        self.output.emit(result)
        return result


def show_result(label: QLabel, result: OutputResult) -> None:
    """The outcome as a green or red banner line."""
    label.setObjectName("bannerOk" if result.ok else "bannerError")
    label.setText(result.message)
    label.setVisible(True)
    label.style().unpolish(label)
    label.style().polish(label)
