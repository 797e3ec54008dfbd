"""Print preview and printing of the desk's PDFs (receipt, slip) through Qt.

The printing layer gives PDF bytes; ``QPdfDocument`` (the small PySide6-Pdf add-on) renders
each page to an image for the preview and, at printer resolution, onto a ``QPrinter``. The
officer sees exactly the bytes that are printed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from mppdesk.ui.i18n import tr

log = logging.getLogger(__name__)


class PdfDocument:
    """PDF bytes opened once; pages rendered on demand."""

    def __init__(self, data: bytes):
        from PySide6.QtPdf import QPdfDocument

        self.data = data
        self._bytes = QByteArray(data)
        self._buffer = QBuffer()
        self._buffer.setData(self._bytes)
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.document = QPdfDocument()
        self.document.load(self._buffer)
        if self.document.status() != QPdfDocument.Status.Ready:
            raise ValueError(f"PDF cannot be read ({self.document.error()})")

    @property
    def page_count(self) -> int:
        return self.document.pageCount()

    def page_points(self, index: int) -> tuple[float, float]:
        size = self.document.pagePointSize(index)
        return size.width(), size.height()

    def render(self, index: int, dpi: float) -> QImage:
        width, height = self.page_points(index)
        pixels = QSize(max(1, round(width * dpi / 72)), max(1, round(height * dpi / 72)))
        return self.document.render(index, pixels)


# Pages are rasterised no finer than this: thermal heads print 203 dpi, office printers
# gain nothing visible above 300, and a 40 cm receipt at a driver's 1200 dpi is 200 MB.
MAX_RENDER_DPI = 300


class PrinterUnavailable(OSError):
    """The desk's named printer cannot take a job now; the message is for the officer."""


def named_printer(name: str, *, fit_pdf: bytes | None = None):
    """The OS printer ``name`` ready to print without a dialog, or :class:`PrinterUnavailable`.

    Qt silently keeps its default printer when a name is unknown, so the name is checked
    against the OS's list first. With ``fit_pdf`` the paper is the PDF's first page (a
    thermal receipt is as long as its content), with no margins.
    """
    from PySide6.QtCore import QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize
    from PySide6.QtPrintSupport import QPrinter, QPrinterInfo

    info = QPrinterInfo.printerInfo(name)
    if info.isNull() or info.printerName() != name:
        raise PrinterUnavailable(tr("print.unknown", printer=name))
    if info.state() == QPrinter.PrinterState.Error:
        raise PrinterUnavailable(tr("print.offline", printer=name))
    printer = QPrinter(info, QPrinter.PrinterMode.HighResolution)
    if fit_pdf is not None:
        width, height = PdfDocument(fit_pdf).page_points(0)
        size = QPageSize(QSizeF(width, height), QPageSize.Unit.Point, "mppdesk")
        printer.setPageLayout(
            QPageLayout(
                size,
                QPageLayout.Orientation.Portrait,
                QMarginsF(0, 0, 0, 0),
                QPageLayout.Unit.Point,
            )
        )
    return printer


def print_pdf(data: bytes, printer) -> int:
    """Paint every page onto ``printer`` at its resolution; returns the pages printed."""
    pdf = PdfDocument(data)
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("the printer cannot be opened")
    try:
        dpi = printer.resolution()
        render_dpi = min(dpi, MAX_RENDER_DPI)
        for index in range(pdf.page_count):
            if index:
                printer.newPage()
            image = pdf.render(index, render_dpi)
            area = printer.pageRect(printer.Unit.DevicePixel).toRect()
            scale_up = dpi / render_dpi
            target = QRect(0, 0, round(image.width() * scale_up), round(image.height() * scale_up))
            if target.width() > area.width() and area.width() > 0:
                scale = area.width() / target.width()
                target = QRect(0, 0, area.width(), round(target.height() * scale))
            painter.drawImage(target, image)
    finally:
        painter.end()
    return pdf.page_count


class PdfView(QScrollArea):
    """The pages of one PDF as images on a grey ground, like paper on a desk."""

    def __init__(self, parent: QWidget | None = None, dpi: float = 110):
        super().__init__(parent)
        self.setObjectName("pdfView")
        self.dpi = dpi
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        host = QWidget()
        host.setStyleSheet("background: #d5dae1;")
        self.pages = QVBoxLayout(host)
        self.pages.setContentsMargins(16, 16, 16, 16)
        self.pages.setSpacing(16)
        self.pages.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setWidget(host)
        self.page_labels: list[QLabel] = []
        self.message = QLabel(tr("preview.rendering"))
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.pages.addWidget(self.message)

    def show_pdf(self, data: bytes | None, error: str | None = None) -> None:
        for label in self.page_labels:
            self.pages.removeWidget(label)
            label.hide()
            label.deleteLater()
        self.page_labels = []
        if data is None:
            self.message.setText(tr("preview.failed", error=error or "?"))
            self.message.setVisible(True)
            return
        try:
            pdf = PdfDocument(data)
        except (ImportError, ValueError) as exc:
            log.warning("preview failed: %s", exc)
            self.message.setText(tr("preview.failed", error=str(exc)))
            self.message.setVisible(True)
            return
        self.message.setVisible(False)
        for index in range(pdf.page_count):
            image = pdf.render(index, self.dpi)
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(image))
            label.setStyleSheet("background: white; border: 1px solid #9aa4b1;")
            label.setAccessibleName(tr("preview.page", n=index + 1, total=pdf.page_count))
            self.pages.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
            self.page_labels.append(label)
