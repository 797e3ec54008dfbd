"""``mppdesk receipt|slip|checklist|handover``: printed documents, to a file or a printer.

Data-dir commands: they run as the OS account that owns the data dir, without an officer
login; every print is audited (who, when, which record).

Where the document goes: ``-o FILE.pdf``; ``--printer QUEUE`` (the PDF through the OS print
system, CUPS ``lp``); ``--to tcp://HOST:9100 | file:PATH | usb:VID:PID`` (receipt and slip
as ESC/POS for a raw thermal printer). With none of them, the printer named in the
settings (``[printing] receipt_printer``). ``--format`` defaults to ``[printing] paper``.
A printer that cannot take the job is a message and exit 1; a ``--to`` that names no
printer is exit 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    message_language,
    open_runtime_from,
    run_desk_command,
    say,
)

FORMATS = ("80mm", "58mm", "a4")


def _common(p: argparse.ArgumentParser, default_format: str | None, escpos: bool = False) -> None:
    add_data_dir_option(p)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=default_format,
        help="paper (default: [printing] paper of the settings)"
        if default_format is None
        else None,
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="PDF file to write")
    where.add_argument(
        "--printer", metavar="QUEUE", help="print through the OS print system (CUPS lp)"
    )
    if escpos:
        where.add_argument(
            "--to",
            metavar="TARGET",
            help="ESC/POS thermal printer: tcp://HOST[:9100], file:PATH or usb:VID:PID",
        )
    p.add_argument("--lang", choices=("id", "en"), default="id")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("receipt", help="a visit's receipt (tanda terima) as PDF")
    p.add_argument("visit_id", metavar="VISIT", help="visit id or one of its tracking numbers")
    _common(p, None, escpos=True)
    p.set_defaults(handler=_receipt)

    p = subparsers.add_parser("slip", help='a visit\'s "berkas belum lengkap" slip as PDF')
    p.add_argument("visit_id", metavar="VISIT", help="visit id or one of its tracking numbers")
    _common(p, None, escpos=True)
    p.set_defaults(handler=_slip)

    p = subparsers.add_parser(
        "checklist", help="requirement checklist of services (no visit needed)"
    )
    p.add_argument("services", nargs="+", metavar="SERVICE")
    _common(p, "a4")
    p.set_defaults(handler=_checklist)

    p = subparsers.add_parser("handover", help="handover list (berita acara) for a manual agency")
    p.add_argument("agency")
    p.add_argument("--date", required=True, help="local date YYYY-MM-DD")
    add_data_dir_option(p)
    where = p.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="PDF file to write")
    where.add_argument("--printer", metavar="QUEUE", help="print through the OS print system")
    p.add_argument("--lang", choices=("id", "en"), default="id")
    p.set_defaults(handler=_handover)


def _write(path: Path, pdf: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(pdf)
    tmp.replace(path)
    print(f"{path} ({len(pdf)} bytes)", file=sys.stderr)


def _document(args: argparse.Namespace, build, title: str) -> int:
    """Build the document (PDF, or ESC/POS with ``--to``) and send it where it was asked."""
    from mppdesk.printing.escpos import TargetError, parse_target
    from mppdesk.printing.os_print import PrinterError, check_queue_name

    target = None
    if getattr(args, "to", None):
        try:
            target = parse_target(args.to)
        except TargetError as exc:
            print(f"--to: {exc}", file=sys.stderr)
            return EXIT_INVALID
    if args.printer is not None:
        try:
            check_queue_name(args.printer)
        except PrinterError as exc:
            print(f"--printer: {exc.message(message_language(args))}", file=sys.stderr)
            return EXIT_INVALID

    def run() -> int:
        from mppdesk.desk.auth import os_actor
        from mppdesk.printing.escpos import send
        from mppdesk.printing.os_print import submit_pdf

        runtime = open_runtime_from(args)
        try:
            printer = args.printer
            if args.output is None and printer is None and target is None:
                printer = runtime.settings.printing.receipt_printer or None
                if printer is None:
                    print(
                        "say where to print: -o FILE.pdf, --printer QUEUE"
                        + (" or --to TARGET" if hasattr(args, "to") else "")
                        + " (or name [printing] receipt_printer in the settings)",
                        file=sys.stderr,
                    )
                    return EXIT_INVALID
            data = build(runtime, os_actor(), "escpos" if target is not None else "pdf")
        finally:
            runtime.close()
        try:
            if target is not None:
                send(data, target)
                print(f"{target} ({len(data)} bytes ESC/POS)", file=sys.stderr)
            elif printer is not None:
                job = submit_pdf(data, printer, title=title)
                print(f"{printer}: {job} ({len(data)} bytes)", file=sys.stderr)
                print(job)
            else:
                _write(args.output, data)
        except PrinterError as exc:
            print(say("cli.error", args, message=exc.message(message_language(args))), file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK

    return run_desk_command(run)


def _receipt(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_receipt

    return _document(
        args,
        lambda rt, actor, output: print_receipt(
            rt, actor, args.visit_id, args.format, args.lang, output=output
        ),
        f"mppdesk receipt {args.visit_id}",
    )


def _slip(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_slip

    return _document(
        args,
        lambda rt, actor, output: print_slip(
            rt, actor, args.visit_id, args.format, args.lang, output=output
        ),
        f"mppdesk slip {args.visit_id}",
    )


def _checklist(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_checklist

    return _document(
        args,
        lambda rt, actor, _output: print_checklist(rt, args.services, args.format, args.lang),
        "mppdesk checklist",
    )


def _handover(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_handover

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"--date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
        return EXIT_INVALID
    return _document(
        args,
        lambda rt, actor, _output: print_handover(rt, actor, args.agency, day, args.lang),
        f"mppdesk handover {args.agency} {day.isoformat()}",
    )
