"""Receipts and slips as ESC/POS bytes for thermal printers used raw, and sending them.

Many counters have an 80 mm or 58 mm thermal printer with no OS driver: it takes ESC/POS
commands on TCP port 9100 (network models), on a USB printer-class device or a serial line.
The text is the PDF receipt's, in the same words (:mod:`mppdesk.printing.text`), laid out in
the printer's own font (48 columns on 80 mm, 32 on 58 mm); the QR code is the printer's
native ``GS ( k`` command, so it prints sharp at any resolution and costs a few bytes.

Targets (``--to``):

* ``tcp://HOST[:PORT]`` — a network printer (port 9100 when not given).
* ``file:PATH`` — a file or a device node: ``file:/dev/usb/lp0`` is a USB printer on Linux
  (the ``usblp`` driver), ``file:COM3`` a serial port on Windows; a regular file keeps the
  bytes for a test or a later ``copy /b``.
* ``usb:VENDOR:PRODUCT`` — a USB printer through libusb (``pip install 'python-escpos[usb]'``;
  on Windows with a WinUSB driver installed by Zadig), e.g. ``usb:0x0416:0x5011``.

python-escpos builds the bytes (imported on first use: about 0.2 s); the sending is ours,
bounded in time and with a message for the officer on every failure.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from textwrap import wrap
from typing import Any
from urllib.parse import urlsplit

from mppdesk.printing.os_print import PrinterError
from mppdesk.printing.views import Layout, ReceiptView, SlipView

log = logging.getLogger(__name__)

COLUMNS = {Layout.THERMAL_80: 48, Layout.THERMAL_58: 32}
SEND_TIMEOUT_S = 10.0
DEFAULT_PORT = 9100
QR_MODULE = {Layout.THERMAL_80: 6, Layout.THERMAL_58: 5}  # dots per QR module
SCHEMES = ("tcp://", "file:", "usb:")

_FOLD = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "·": "-",
        "•": "*",
        "✓": "+",
        "✗": "-",
        "☐": "[ ]",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "…": "...",
        "×": "x",
        "\u00a0": " ",
    }
)


class TargetError(ValueError):
    """A ``--to`` that names no printer we can reach (the CLI exits 2)."""


@dataclass(frozen=True)
class Target:
    scheme: str  # tcp | file | usb
    host: str = ""
    port: int = DEFAULT_PORT
    path: str = ""
    vendor: int = 0
    product: int = 0

    def __str__(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.host}:{self.port}"
        if self.scheme == "file":
            return f"file:{self.path}"
        return f"usb:{self.vendor:#06x}:{self.product:#06x}"


def parse_target(text: str) -> Target:
    """``tcp://host[:port]``, ``file:PATH`` or ``usb:VID:PID``; anything else is refused."""
    text = (text or "").strip()
    if text.startswith("tcp://"):
        try:
            parts = urlsplit(text)
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise TargetError(f"bad port in {text!r}") from None
        if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
            raise TargetError(f"expected tcp://HOST[:PORT], got {text!r}")
        return Target("tcp", host=parts.hostname, port=port)
    if text.startswith("file:"):
        path = text[len("file:") :]
        if path.startswith("//"):  # file:///dev/usb/lp0 as well as file:/dev/usb/lp0
            path = path[2:]
        if not path or "\0" in path:
            raise TargetError(f"expected file:PATH, got {text!r}")
        return Target("file", path=path)
    if text.startswith("usb:"):
        try:
            vendor, product = (int(part, 16) for part in text[len("usb:") :].split(":"))
        except ValueError:
            raise TargetError(f"expected usb:VENDOR:PRODUCT in hex, got {text!r}") from None
        if not (0 < vendor <= 0xFFFF and 0 < product <= 0xFFFF):
            raise TargetError(f"USB ids out of range in {text!r}")
        return Target("usb", vendor=vendor, product=product)
    raise TargetError(f"expected {', '.join(s + '…' for s in SCHEMES)}, got {text!r}")


# --- rendering --------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Printable on any ESC/POS code page: typographic marks to ASCII, accents dropped."""
    text = str(text).translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isascii() and (ch.isprintable() or ch == "\n"))


def _dummy() -> Any:
    # python-escpos caches its printer profiles as a pickle in a fresh temporary directory
    # per process unless told where: keep one cache in the user's cache dir instead.
    if "ESCPOS_CAPABILITIES_PICKLE_DIR" not in os.environ:
        import platformdirs

        cache = platformdirs.user_cache_path("mppdesk", appauthor=False) / "escpos"
        try:
            cache.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = str(cache)
        except OSError:
            pass
    from escpos.printer import Dummy

    return Dummy()


class _Paper:
    """Lines onto a python-escpos ``Dummy`` at the roll's width in characters."""

    def __init__(self, layout: Layout):
        if layout not in COLUMNS:
            raise ValueError("ESC/POS prints on 80mm or 58mm rolls, not A4")
        self.layout = layout
        self.width = COLUMNS[layout]
        self.printer = _dummy()
        self.printer.hw("INIT")

    def line(self, text: str = "", *, bold: bool = False, indent: int = 0) -> None:
        if bold:
            self.printer.set(bold=True)
        lines = wrap(_fold(text), self.width - indent, subsequent_indent="") or [""]
        for piece in lines:
            self.printer.text(" " * indent + piece + "\n")
        if bold:
            self.printer.set(bold=False)

    def pair(self, label: str, value: str) -> None:
        self.line(f"{label}: {value}")

    def items(self, mark: str, texts: list[str]) -> None:
        for text in texts:
            lines = wrap(_fold(text), self.width - 2) or [""]
            self.printer.text(f"{_fold(mark)} {lines[0]}\n")
            for more in lines[1:]:
                self.printer.text(f"  {more}\n")

    def centred(self, text: str, *, bold: bool = False, big: bool = False) -> None:
        self.printer.set(align="center")
        if big:
            self.printer.set(double_height=True)
        self.line(text, bold=bold)
        if big:
            self.printer.set(normal_textsize=True)
        self.printer.set(align="left")

    def big(self, text: str) -> None:
        """The tracking number: bold and double height, easy to read out at the counter."""
        self.printer.set(bold=True, double_height=True)
        self.printer.text(_fold(text)[: self.width] + "\n")
        self.printer.set(bold=False, normal_textsize=True)

    def qr(self, value: str) -> None:
        from escpos.constants import QR_ECLEVEL_M

        self.printer.set(align="center")
        self.printer.qr(_fold(value), ec=QR_ECLEVEL_M, size=QR_MODULE[self.layout], native=True)
        self.printer.set(align="left")

    def rule(self) -> None:
        self.printer.text("-" * self.width + "\n")

    def finish(self) -> bytes:
        self.printer.cut()
        return bytes(self.printer.output)


def _copy_banner(paper: _Paper, view: ReceiptView | SlipView, lang: str) -> None:
    from mppdesk.printing.text import date_time, t

    if view.reprinted_at is not None:
        paper.centred(t("copy_mark", lang), bold=True)
        paper.centred(t("reprinted", lang, when=date_time(view.reprinted_at, lang, view.tz_label)))


def _visit_rows(paper: _Paper, view: ReceiptView | SlipView, lang: str) -> None:
    from mppdesk.printing.text import date_time, id_label, mask_identifier, t

    paper.pair(t("desk", lang), view.desk)
    paper.pair(t("ticket", lang), view.ticket)
    paper.pair(t("officer", lang), view.officer)
    paper.pair(t("time", lang), date_time(view.printed_at, lang, view.tz_label))
    paper.pair(t("applicant", lang), view.applicant_name)
    if view.applicant_id:
        masked = mask_identifier(view.applicant_id, view.applicant_id_kind)
        paper.pair(id_label(view.applicant_id_kind, lang), masked)


def receipt_escpos(
    view: ReceiptView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The visit's tanda terima as ESC/POS: the PDF receipt's content, native QR per service."""
    from mppdesk.printing.text import (
        check_lang,
        fee_text,
        id_label,
        item_text,
        long_date,
        mask_identifier,
        rupiah,
        send_state_text,
        t,
        total_fee_text,
    )

    check_lang(lang)
    paper = _Paper(Layout.parse(layout))
    paper.centred(view.mpp_name, bold=True, big=True)
    paper.centred(t("receipt_title", lang), bold=True)
    _copy_banner(paper, view, lang)
    paper.rule()
    _visit_rows(paper, view, lang)
    if view.proxy is not None:
        proxy = view.proxy.name
        if view.proxy.id_number:
            masked = mask_identifier(view.proxy.id_number, view.proxy.id_kind)
            proxy += f" ({id_label(view.proxy.id_kind, lang)} {masked})"
        paper.pair(t("proxy", lang), proxy)
    paper.rule()
    paper.line(t("services_heading", lang, n=len(view.services)), bold=True)
    for number, line in enumerate(view.services, start=1):
        paper.line()
        paper.line(f"{number}. {line.service_name}", bold=True)
        paper.line(line.agency_name)
        paper.line(t("tracking", lang))
        paper.big(line.tracking_number)
        paper.qr(line.tracking_number)
        fee = fee_text(line.fee, lang) + (f" ({line.fee_note})" if line.fee_note else "")
        paper.pair(t("fee", lang), fee)
        due = long_date(line.sla_due, lang) if line.sla_due else t("due_unknown", lang)
        paper.pair(t("due", lang), due)
        received = [item_text(item, lang) for item in line.received]
        paper.line(f"{t('received', lang)}:" + ("" if received else " " + t("none", lang)))
        paper.items("✓", received)
        if line.missing:
            paper.line(f"{t('missing', lang)}:", bold=True)
            paper.items("✗", [item_text(item, lang) for item in line.missing])
        paper.pair(t("status", lang), send_state_text(line, lang))
        if line.payment is not None:  # the bill (and the MPP's QRIS) beside the PDF's
            from mppdesk.printing.payment import payment_rows, qris_to_print

            paper.line(t("payment", lang), bold=True)
            for label, value in payment_rows(line.payment, lang, view.tz_label):
                paper.pair(label, value)
            if qris_to_print(line.payment):
                paper.qr(line.payment.qris or "")
                amount = rupiah(line.payment.amount, lang)
                paper.centred(t("qris_caption", lang, amount=amount))
    paper.rule()
    paper.pair(t("total", lang), total_fee_text(view.services, lang))
    paper.line()
    paper.line(view.status_help or t("status_help", lang))
    paper.line(t("keep_receipt", lang))
    paper.rule()
    paper.line(t("notice_title", lang), bold=True)
    paper.line(t("notice_purpose", lang))
    recipients: dict[str, list[str]] = {}  # what each agency receives, as the PDF says
    for line in view.services:
        items = recipients.setdefault(line.agency_short, [])
        shared = list(line.data_shared) or [t("notice_form_data", lang, service=line.service_name)]
        items.extend(value for value in shared if value not in items)
    paper.items(
        "•",
        [
            t("notice_recipient", lang, agency=agency, items=", ".join(items))
            for agency, items in recipients.items()
        ],
    )
    paper.line(t("notice_ask", lang, contact=view.data_contact or t("notice_ask_default", lang)))
    paper.line()
    return paper.finish()


def slip_escpos(
    view: SlipView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The "berkas belum lengkap" slip as ESC/POS, with the tracking numbers in bold."""
    from mppdesk.printing.text import check_lang, item_text, long_date, t

    check_lang(lang)
    paper = _Paper(Layout.parse(layout))
    paper.centred(view.mpp_name, bold=True, big=True)
    paper.centred(t("slip_title_complete" if view.complete else "slip_title", lang), bold=True)
    _copy_banner(paper, view, lang)
    paper.rule()
    _visit_rows(paper, view, lang)
    paper.rule()
    if view.complete:
        paper.line(t("slip_complete", lang), bold=True)
    else:
        paper.line(t("slip_intro", lang))
    for number, service in enumerate(view.services, start=1):
        paper.line()
        paper.line(f"{number}. {service.service_name}", bold=True)
        paper.line(service.agency_name)
        if service.tracking_number:
            paper.line(t("tracking", lang))
            paper.big(service.tracking_number)
        if service.missing:
            paper.line(f"{t('still_missing', lang)}:", bold=True)
            paper.items("☐", [item_text(item, lang) for item in service.missing])
        else:
            paper.line(t("slip_service_complete", lang))
    if not view.complete:
        paper.line()
        if view.return_by is not None:
            paper.line(t("return_by", lang, date=long_date(view.return_by, lang)), bold=True)
        else:
            paper.line(t("return_any", lang), bold=True)
    paper.rule()
    paper.line(f"{t('officer_name', lang)}: " + "_" * 12)
    paper.line(f"{t('initials', lang)}: " + "_" * 12)
    paper.line()
    return paper.finish()


# --- sending ----------------------------------------------------------------------------


def send(data: bytes, target: Target, timeout_s: float = SEND_TIMEOUT_S) -> None:
    """Deliver ``data`` to the printer within ``timeout_s``, or raise :class:`PrinterError`."""
    if target.scheme == "tcp":
        _send_tcp(data, target, timeout_s)
    elif target.scheme == "file":
        _send_file(data, target, timeout_s)
    elif target.scheme == "usb":
        _send_usb(data, target, timeout_s)
    else:  # a Target built by hand with another scheme is a bug
        raise ValueError(f"unknown printer target {target!r}")


def _send_tcp(data: bytes, target: Target, timeout_s: float) -> None:
    where = f"{target.host}:{target.port}"
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout_s) as conn:
            conn.settimeout(timeout_s)
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
    except ConnectionRefusedError:
        raise PrinterError("printer.tcp_refused", where=where) from None
    except TimeoutError:
        raise PrinterError("printer.tcp_timeout", where=where, seconds=timeout_s) from None
    except socket.gaierror:
        raise PrinterError("printer.unknown_host", host=target.host) from None
    except OSError as exc:
        raise PrinterError("printer.unreachable", where=where, reason=str(exc.strerror or exc)) from None
    log.info("sent %d ESC/POS bytes to %s", len(data), where)


def _send_file(data: bytes, target: Target, timeout_s: float) -> None:
    """Write in a helper thread: a device node of a printer that is off can block forever."""
    failure: list[BaseException] = []

    def write() -> None:
        try:
            with open(Path(target.path), "wb") as sink:
                sink.write(data)
                sink.flush()
        except OSError as exc:
            failure.append(exc)

    worker = threading.Thread(target=write, name="escpos-file", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise PrinterError("printer.file_timeout", path=target.path, seconds=timeout_s)
    if failure:
        exc = failure[0]
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PrinterError("printer.file_unwritable", path=target.path, reason=reason)


def _send_usb(data: bytes, target: Target, timeout_s: float) -> None:  # pragma: no cover
    """Through libusb; not exercised in CI (no USB printer there)."""
    try:
        from escpos.printer import Usb
    except ImportError as exc:
        raise PrinterError("printer.usb_missing", error=str(exc)) from None
    printer = Usb(target.vendor, target.product, timeout=int(timeout_s * 1000))
    try:
        printer.open()
        printer._raw(data)
    except Exception as exc:  # noqa: BLE001 - pyusb raises its own classes (USBError …)
        raise PrinterError("printer.usb_unusable", target=str(target), error=str(exc)) from None
    finally:
        printer.close()
