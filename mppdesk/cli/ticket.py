"""``mppdesk ticket take|call|mark``: the queue from the command line (a kiosk, a counter).

``take`` needs no login (a kiosk in the hall) and prints the ticket slip where asked:
``-o FILE.pdf``, ``--printer QUEUE`` (CUPS), ``--to tcp://HOST:9100|file:PATH|usb:VID:PID``
(ESC/POS), else the settings' ``[printing] receipt_printer`` when one is named, else no slip.
The ticket is issued before the slip prints: a printer fault is a message and exit 1 with the
ticket's JSON still on stdout, never a lost number.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mppdesk.cli import EXIT_ERROR, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    add_login_options,
    opened_runtime,
    read_password,
    run_desk_command,
    say,
    signed_in,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ticket", help="queue tickets: take (kiosk), call, mark")
    kinds = p.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)

    take = kinds.add_parser("take", help="take a queue ticket and print its slip")
    add_data_dir_option(take)
    take.add_argument("--group", required=True, help="the queue group: its letter (F) or name")
    take.add_argument("--priority", help="lansia, disabilitas, ibu-hamil or membawa-balita")
    take.add_argument("--format", choices=("80mm", "58mm"), help="slip paper (default: settings)")
    where = take.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="write the slip as a PDF file")
    where.add_argument("--printer", metavar="QUEUE", help="print through CUPS (lp)")
    where.add_argument(
        "--to", metavar="TARGET", help="ESC/POS printer: tcp://HOST[:9100], file:PATH, usb:VID:PID"
    )
    take.add_argument("--lang", choices=("id", "en"), default="id")
    take.add_argument("--json", action="store_true", help="print the ticket as JSON")
    take.set_defaults(handler=_take)

    call = kinds.add_parser("call", help="call the group's next ticket (priority first)")
    add_data_dir_option(call)
    call.add_argument("--group", required=True, help="the queue group: its letter (F) or name")
    call.add_argument(
        "--walk-in",
        action="store_true",
        help="nobody waiting: issue a ticket and call it at once (else the answer is null)",
    )
    add_login_options(call)
    call.add_argument("--json", action="store_true", help="print the called ticket as JSON")
    call.set_defaults(handler=_call)

    mark = kinds.add_parser("mark", help="a called ticket's next step: served, done, no-show")
    add_data_dir_option(mark)
    mark.add_argument("number", metavar="NUMBER", help="the ticket number, e.g. F-012")
    mark.add_argument("state", choices=("served", "done", "no-show"))
    add_login_options(mark)
    mark.add_argument("--json", action="store_true", help="print the ticket as JSON")
    mark.set_defaults(handler=_mark)


def _take(args: argparse.Namespace) -> int:
    from mppdesk.cli.printing import output_target, send_output

    target, refused = output_target(args)
    if refused is not None:
        return refused

    def run() -> int:
        from mppdesk.desk import tickets

        with opened_runtime(args) as runtime:
            ticket = tickets.take(runtime, args.group, args.priority)
            layout = tickets.slip_layout(runtime, args.format)
            printer = args.printer
            if args.output is None and printer is None and target is None:
                printer = runtime.settings.printing.receipt_printer or None
            slip = None
            if args.output is not None or printer is not None or target is not None:
                slip = tickets.slip(
                    runtime, ticket, layout, args.lang,
                    output="escpos" if target is not None else "pdf",
                )
        if args.json:
            print(json.dumps(ticket.as_json(), ensure_ascii=False))
        else:
            print(say("tickets.cli_taken", args, number=ticket.number, group=ticket.group,
                      ahead=ticket.ahead))
        if slip is None:
            return EXIT_OK
        try:  # the ticket is issued already: a slip that cannot be written is one line
            return send_output(
                args, slip, target, printer, f"mppdesk ticket {ticket.number}",
                failed_code="tickets.kiosk_print_failed", job_to_stdout=False,
            )
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            print(say("tickets.kiosk_print_failed", args, reason=reason), file=sys.stderr)
            return EXIT_ERROR

    return run_desk_command(run, json_errors=args.json)


def _called_json(ticket) -> dict:  # type: ignore[no-untyped-def]
    if ticket is None:
        return {"number": None}
    return {
        "number": ticket.number,
        "group": ticket.group,
        "priority": ticket.priority,
        "status": ticket.status,
        "issued_at": ticket.issued_at.isoformat(),
        "called_at": ticket.called_at.isoformat() if ticket.called_at else None,
        "wait_s": ticket.wait_s,
        "source": ticket.source,
    }


def _call(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk import tickets

        with signed_in(args, read_password()) as (runtime, actor):
            ticket = tickets.call_next(runtime, actor, args.group, walk_in=args.walk_in)
        if args.json:
            print(json.dumps(_called_json(ticket), ensure_ascii=False))
        elif ticket is None:
            print(say("tickets.cli_nobody", args))
        else:
            print(say("tickets.cli_called", args, number=ticket.number))
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)


def _mark(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk import tickets

        with signed_in(args, read_password()) as (runtime, actor):
            ticket = tickets.step(runtime, actor, args.number, args.state.replace("-", "_"))
        if args.json:
            print(json.dumps(_called_json(ticket), ensure_ascii=False))
        else:
            print(f"{ticket.number}  {ticket.status}")
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)
