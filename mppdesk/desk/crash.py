"""Crash reports: an unexpected error written to a private file, with personal data masked.

The officer sees one line (what happened, where the report is); the engineer gets the whole
story in ``<data dir>/crash/crash-YYYYMMDD-HHMMSS.txt`` (mode 600). Exception texts pass
through ``mask_diagnostic``: NIK, KK and phone numbers are masked and the bound parameters
of a failed SQL statement are dropped (an integrity error's text holds the whole row it
tried to write: full NIKs, a child's name). Tracebacks name code only (files, lines,
source), never values, so they are kept.
"""

from __future__ import annotations

import os
import platform
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from mppdesk.core import messages
from mppdesk.core.masking import mask_diagnostic
from mppdesk.core.messages import Phrase
from mppdesk.desk.private import write_private_text

CRASH_FOLDER = "crash"
_MAX_MESSAGE = 2000


def safe_exception_text(exc: BaseException) -> str:
    """``Type: message`` of one exception, fit for a report: SQL parameters dropped, masked.

    A SQLAlchemy statement error (recognised by its ``statement``/``params``/``orig``, so this
    module needs no SQL library) is reduced to the driver's first line and the statement.
    """
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    orig = getattr(exc, "orig", None)
    if hasattr(exc, "statement") and hasattr(exc, "params"):
        reason = str(orig).splitlines()[0] if orig is not None and str(orig) else ""
        text = f"{type(orig).__name__ if orig is not None else ''}: {reason}"
        statement = getattr(exc, "statement", None)
        if statement:
            text += f"\n[SQL: {str(statement)[:_MAX_MESSAGE]}]\n[parameters: dropped]"
    else:
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001 - a broken __str__ must not break the report
            text = "<message not printable>"
    return f"{name}: {mask_diagnostic(text)[:_MAX_MESSAGE]}"


def format_exception_safely(exc: BaseException) -> str:
    """The traceback of ``exc`` and its causes, each message made safe."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 10:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nDuring or because of the error above:\n\n")
        frames = traceback.format_tb(item.__traceback__) if item.__traceback__ else []
        parts.append("Traceback (most recent call last):\n" + "".join(frames))
        parts.append(safe_exception_text(item) + "\n")
    return "".join(parts)


def where_it_happened(exc: BaseException) -> str:
    """``file:line in function`` of the innermost frame of our own code (names code, no data)."""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    ours = [f for f in frames if f"{os.sep}mppdesk{os.sep}" in f.filename] or frames
    if not ours:
        return "?"
    frame = ours[-1]
    filename = frame.filename
    marker = f"{os.sep}mppdesk{os.sep}"
    if marker in filename:
        filename = "mppdesk" + os.sep + filename.rsplit(marker, 1)[1]
    return f"{filename}:{frame.lineno} in {frame.name}"


def crash_dir_for(data_dir: Path | None) -> Path | None:
    """``<data dir>/crash`` when the data dir exists; else the user's cache folder."""
    if data_dir is not None and Path(data_dir).is_dir():
        return Path(data_dir) / CRASH_FOLDER
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("mppdesk", appauthor=False)) / CRASH_FOLDER
    except Exception:  # noqa: BLE001 - no cache folder: the one-line message still goes out
        return None


def write_crash_report(
    exc: BaseException,
    data_dir: Path | None,
    *,
    context: str = "",
    argv: Sequence[str] | None = None,
    now: datetime | None = None,
) -> Path | None:
    """Write the report; its path, or None when it cannot be written (full disk, no folder)."""
    from mppdesk import __version__

    folder = crash_dir_for(data_dir)
    if folder is None:
        return None
    moment = now or datetime.now(UTC)
    lines = [
        f"MPP Desk {__version__} crash report",
        f"time: {moment.isoformat(timespec='seconds')}",
        f"python: {platform.python_version()} on {platform.platform()}",
        f"process: {os.getpid()}",
        f"command: {mask_diagnostic(' '.join(argv if argv is not None else sys.argv))}",
    ]
    if context:
        lines.append(f"context: {mask_diagnostic(context)}")
    lines.append(f"where: {where_it_happened(exc)}")
    lines += ["", format_exception_safely(exc)]
    text = "\n".join(lines)
    stamp = moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    for attempt in range(100):
        suffix = f"-{attempt}" if attempt else ""
        path = folder / f"crash-{stamp}{suffix}.txt"
        try:
            return write_private_text(path, text).absolute()
        except FileExistsError:
            continue
        except OSError:
            return None
    return None


def crash_line(exc: BaseException, report: Path | None, lang: str = "id") -> str:
    """The one line the officer sees: what happened and where the report is; no data."""
    kind = type(exc).__name__
    where = where_it_happened(exc)
    told = (
        Phrase("fault.crash.report", {"report": str(report)})
        if report
        else Phrase("fault.crash.no_report")
    )
    line = messages.text("fault.crash", lang, kind=kind, where=where, told=told)
    if line == "fault.crash":  # no message catalog: the crash line must still say something
        line = f"error: unexpected {kind} at {where}; report: {report or 'none'}"
    return line


def install_thread_hook(data_dir: Path | None) -> None:
    """Errors of background threads also end in a crash report, not on stderr raw."""
    import threading

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        report = write_crash_report(args.exc_value, data_dir, context=f"thread {args.thread}")
        print(crash_line(args.exc_value, report), file=sys.stderr)

    threading.excepthook = hook
