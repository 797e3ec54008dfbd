"""Submitting a PDF to a named OS print queue (CUPS ``lp``), for the headless desk.

The counter's printer is named in the settings (``[printing] receipt_printer``); the CLI
hands the exact PDF bytes to CUPS so the paper shows what the preview showed, with vector
text. ``lp`` is an outside program talking to an outside daemon: it may be missing, slow or
refuse the queue, so every call is bounded in time and every failure becomes a
:class:`PrinterError` with a message for the person at the desk (never a traceback).

On Windows there is no ``lp``: the desk window prints through Qt to the named printer
(``QPrinter.setPrinterName``), and the headless ``--printer`` says it needs CUPS.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from typing import Any

from mppdesk.core import messages

log = logging.getLogger(__name__)

LP_TIMEOUT_S = 20.0
_MAX_TITLE = 80
# CUPS queue names: printable characters except space, "/", "#", "\\" and quotes (cupsd
# refuses those); a leading "-" would read as an option of lp.
_QUEUE = re.compile(r"^[^\s/#\\'\"\-][^\s/#\\'\"]{0,126}$")
_JOB = re.compile(r"request id is (\S+)")
_MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]")
A4_PT = (595.28, 841.89)


class PrinterError(Exception):
    """A printer that cannot take the job: a ``printer.`` message code and its parameters,
    worded for the officer by ``message(lang)``; ``str()`` is the Indonesian text."""

    def __init__(self, code: str, /, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(messages.text(code, "id", **params))

    def message(self, lang: str = "id") -> str:
        return messages.text(self.code, lang, **self.params)


def check_queue_name(printer: str) -> str:
    """A CUPS queue name, or :class:`PrinterError` (a name is input from settings or argv)."""
    if not _QUEUE.match(printer or ""):
        raise PrinterError("printer.bad_name", printer=printer)
    return printer


def paper_option(pdf: bytes) -> str | None:
    """The CUPS ``media`` of the PDF's first page, so a thermal receipt is not cut to A4.

    CUPS puts a page on the queue's default paper unless told otherwise: an 80 mm receipt
    40 cm long came out as its last 29.7 cm. Our PDFs come from reportlab, whose page
    dictionaries are plain text.
    """
    match = _MEDIA_BOX.search(pdf[:200_000])
    if match is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    width, height = abs(x1 - x0), abs(y1 - y0)
    if not (36 <= width <= 5000 and 36 <= height <= 20000):
        return None
    if abs(width - A4_PT[0]) < 2 and abs(height - A4_PT[1]) < 2:
        return "A4"
    return f"Custom.{width:.2f}x{height:.2f}"


def submit_pdf(pdf: bytes, printer: str, *, title: str, timeout_s: float = LP_TIMEOUT_S) -> str:
    """Queue ``pdf`` on the CUPS queue ``printer``; returns CUPS's job id (``QUEUE-N``).

    Queued is all CUPS promises: a printer out of paper shows in its queue, not here.
    """
    check_queue_name(printer)
    lp = shutil.which("lp")
    if lp is None:
        raise PrinterError("printer.no_lp")
    clean_title = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in title)
    command = [lp, "-d", printer, "-t", clean_title[:_MAX_TITLE] or "mppdesk"]
    media = paper_option(pdf)
    if media:
        command += ["-o", f"media={media}"]
    try:
        done = subprocess.run(
            command, input=pdf, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise PrinterError("printer.lp_timeout", seconds=timeout_s, printer=printer) from None
    except OSError as exc:
        raise PrinterError("printer.lp_cannot_run", reason=str(exc.strerror or exc)) from None
    answer = (done.stdout + done.stderr).decode("utf-8", "replace").strip()[:400]
    if done.returncode != 0:
        log.warning("lp refused the job for %s: %s", printer, answer)
        lowered = answer.lower()
        if "does not exist" in lowered or "unknown destination" in lowered:
            raise PrinterError("printer.unknown_queue", printer=printer)
        if "not accepting" in lowered:
            raise PrinterError("printer.not_accepting", printer=printer)
        if "scheduler" in lowered or "connect" in lowered:
            raise PrinterError("printer.cups_down")
        raise PrinterError("printer.refused", printer=printer, answer=answer or done.returncode)
    match = _JOB.search(answer)
    if match is None:  # lp said yes without a job id: unknown is not "printed"
        raise PrinterError("printer.no_job_id", answer=answer)
    return match.group(1)
