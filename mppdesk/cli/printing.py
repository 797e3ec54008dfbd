"""``mppdesk receipt|slip|checklist|handover``: printed documents, to a file or a printer.

Data-dir commands: they run as the OS account that owns the data dir, without an officer
login; every print is audited (who, when, which record).

Where the document goes: ``-o FILE.pdf``; ``--printer QUEUE`` (the PDF through the OS print
system, CUPS ``lp``); ``--to tcp://HOST:9100 | file:PATH | usb:VID:PID`` (receipt and slip
as ESC/POS for a raw thermal printer). With none of them, the printer named in the
settings (``[printing] receipt_printer``). ``--format`` defaults to ``[printing] paper``.
A printer that cannot take the job is a message and exit 1; a ``--to`` that names no
printer is exit 2.

A visit is named by its id or any of its tracking numbers (what the citizen's receipt
shows); ``--copy`` marks a receipt, slip or visit checklist SALINAN. A visit's documents show
it as submitted (the frozen payloads), never today's applicant record.

``mppdesk handover AGENCY [--date D] [--user U --password-stdin]`` prints what is still to
hand over to an agency without an API, signed with the officer's full name (without a login
the name is left for the hand); ``mppdesk agency deliver TRACKING_NO [--received-by NAME]
[--ref REF] --user U --password-stdin`` (a name or a reference, or both) records the handover, which sets the outbox entry
``done`` (exit 0; 2 unknown number or bad input; 4 wrong login; 1 refused: held for
approval, already handed over, or not a manual agency).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    message_language,
    opened_runtime,
    read_password,
    run_desk_command,
    say,
    signed_in,
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
    p.add_argument("--copy", action="store_true", help="mark it SALINAN (a reprint)")
    p.set_defaults(handler=_receipt)

    p = subparsers.add_parser("slip", help='a visit\'s "berkas belum lengkap" slip as PDF')
    p.add_argument("visit_id", metavar="VISIT", help="visit id or one of its tracking numbers")
    _common(p, None, escpos=True)
    p.add_argument("--copy", action="store_true", help="mark it SALINAN (a reprint)")
    p.set_defaults(handler=_slip)

    p = subparsers.add_parser(
        "checklist",
        help="requirement checklist of services (no visit needed), or a visit's as submitted",
    )
    p.add_argument("services", nargs="*", metavar="SERVICE")
    p.add_argument(
        "--visit",
        metavar="VISIT",
        help="a visit's checklist with what was handed over ticked (id or tracking number; "
        "marked SALINAN)",
    )
    _common(p, "a4")
    p.set_defaults(handler=_checklist)

    p = subparsers.add_parser("handover", help="handover list (berita acara) for a manual agency")
    p.add_argument("agency")
    p.add_argument("--date", help="local date YYYY-MM-DD (default: today)")
    p.add_argument("--user", help="the officer who signs it (full name printed)")
    p.add_argument(
        "--password-stdin", action="store_true", help="read --user's password from standard input"
    )
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


def output_target(args: argparse.Namespace) -> tuple[Any, int | None]:
    """``--to`` parsed and ``--printer`` checked before any work: (target, None), or
    (None, exit code) after saying which option is wrong."""
    from mppdesk.printing.escpos import TargetError, parse_target
    from mppdesk.printing.os_print import PrinterError, check_queue_name

    target = None
    if getattr(args, "to", None):
        try:
            target = parse_target(args.to)
        except TargetError as exc:
            print(f"--to: {exc}", file=sys.stderr)
            return None, EXIT_INVALID
    if args.printer is not None:
        try:
            check_queue_name(args.printer)
        except PrinterError as exc:
            print(f"--printer: {exc.message(message_language(args))}", file=sys.stderr)
            return None, EXIT_INVALID
    return target, None


def send_output(
    args: argparse.Namespace, data: bytes, target: Any, printer: str | None, title: str,
    *, failed_code: str = "cli.error", job_to_stdout: bool = True,
) -> int:
    """Send a built document where it was asked: ESC/POS to ``target``, a PDF to the print
    queue ``printer``, else to ``-o``. A printer fault is one line and exit 1."""
    from mppdesk.printing.escpos import send
    from mppdesk.printing.os_print import PrinterError, submit_pdf

    try:
        if target is not None:
            send(data, target)
            print(f"{target} ({len(data)} bytes ESC/POS)", file=sys.stderr)
        elif printer is not None:
            job = submit_pdf(data, printer, title=title)
            print(f"{printer}: {job} ({len(data)} bytes)", file=sys.stderr)
            if job_to_stdout:
                print(job)
        else:
            _write(args.output, data)
    except PrinterError as exc:
        reason = exc.message(message_language(args))
        key = "message" if failed_code == "cli.error" else "reason"
        print(say(failed_code, args, **{key: reason}), file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _document(args: argparse.Namespace, build, title: str) -> int:
    """Build the document (PDF, or ESC/POS with ``--to``) and send it where it was asked."""
    target, refused = output_target(args)
    if refused is not None:
        return refused

    def run() -> int:
        from mppdesk.desk.auth import login, os_actor

        password = read_password() if getattr(args, "user", None) else None
        with opened_runtime(args) as runtime:
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
            actor = login(runtime, args.user, password) if password is not None else os_actor()
            data = build(runtime, actor, "escpos" if target is not None else "pdf")
        return send_output(args, data, target, printer, title)

    return run_desk_command(run)


def _receipt(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_receipt

    return _document(
        args,
        lambda rt, actor, output: print_receipt(
            rt, actor, args.visit_id, args.format, args.lang, output=output, reprint=args.copy
        ),
        f"mppdesk receipt {args.visit_id}",
    )


def _slip(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_slip

    return _document(
        args,
        lambda rt, actor, output: print_slip(
            rt, actor, args.visit_id, args.format, args.lang, output=output, reprint=args.copy
        ),
        f"mppdesk slip {args.visit_id}",
    )


def _checklist(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_checklist, print_visit_checklist

    if bool(args.services) == bool(args.visit):
        print("name SERVICE … or --visit VISIT (one of them)", file=sys.stderr)
        return EXIT_INVALID
    if args.visit:
        return _document(
            args,
            lambda rt, actor, _output: print_visit_checklist(
                rt, actor, args.visit, args.format, args.lang
            ),
            f"mppdesk checklist --visit {args.visit}",
        )
    return _document(
        args,
        lambda rt, actor, _output: print_checklist(rt, args.services, args.format, args.lang),
        "mppdesk checklist",
    )


def _handover(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_handover

    if bool(args.user) != bool(args.password_stdin):
        print("--user and --password-stdin go together", file=sys.stderr)
        return EXIT_INVALID
    day = None
    if args.date is not None:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            print(f"--date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
            return EXIT_INVALID
    return _document(
        args,
        lambda rt, actor, _output: print_handover(rt, actor, args.agency, day, args.lang),
        f"mppdesk handover {args.agency} {args.date or ''}".strip(),
    )


def register_deliver(agency_commands: argparse._SubParsersAction) -> None:
    """``mppdesk agency deliver``: registered by ``mppdesk.cli.sync`` beside ``agency set``."""
    p = agency_commands.add_parser(
        "deliver",
        help="record that a manual agency received a submission's files (handover)",
        description="Sets the submission's outbox entry done: it leaves the send queue. "
        "Exit 0 done, 2 unknown tracking number or bad input, 4 login refused, 1 refused "
        "(held for approval, already handed over, or an agency with an API).",
    )
    add_data_dir_option(p)
    p.add_argument("tracking_number", metavar="TRACKING_NO")
    p.add_argument(
        "--received-by", default="", metavar="NAME",
        help="the agency officer who took them (needed unless --ref names the agency's receipt)"
    )
    p.add_argument("--ref", metavar="REF", help="the agency's reference (receipt number), if any")
    p.add_argument("--user", required=True, help="the officer handing the files over")
    p.add_argument("--password-stdin", action="store_true", required=True)
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(handler=_deliver)


def _deliver(args: argparse.Namespace) -> int:
    import json

    def run() -> int:
        from mppdesk.desk.documents import hand_over

        password = read_password()
        with signed_in(args, password) as (runtime, actor):
            outcome = hand_over(runtime, actor, args.tracking_number, args.received_by, args.ref)
        if args.json:
            print(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
        else:
            print(f"{outcome.tracking_number}  {outcome.agency}  done")
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)
