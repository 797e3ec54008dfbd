"""``mppdesk review`` (approve, return, flag), ``mppdesk cancel`` and ``mppdesk correct``
(corrections, by tracking number) and ``mppdesk report daily`` (PDF, XLSX, CSV)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from mppdesk.cli import EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    add_login_options,
    read_password,
    run_desk_command,
    say,
    signed_in,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "review",
        help="approve, return or flag a submission (as a supervisor)",
        description="Approving a held submission releases it to the outbox; approving one "
        "that is not held records the decision.",
    )
    add_data_dir_option(p)
    p.add_argument("submission_id", metavar="SUBMISSION", help="submission id or tracking number")
    decision = p.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true", help="approve (releases a held one)")
    decision.add_argument(
        "--return",
        dest="return_reason",
        metavar="REASON",
        help="return it to the officer with a reason",
    )
    decision.add_argument(
        "--flag",
        dest="flag_reason",
        metavar="REASON",
        help="flag it for a second look with a reason",
    )
    add_login_options(p, "supervisor")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(handler=_review)

    cancel = subparsers.add_parser(
        "cancel",
        help="cancel a submission (sends the agency a cancellation superseding it)",
        description="A submission not sent yet is withdrawn and never sent; one already sent "
        "is followed by a cancellation naming it in `supersedes`.",
    )
    add_data_dir_option(cancel)
    cancel.add_argument("submission_id", metavar="TRACKING_NO")
    cancel.add_argument("--reason", required=True, help="why it is cancelled (audited)")
    add_login_options(cancel)
    cancel.add_argument("--json", action="store_true", help="print the outcome as JSON")
    cancel.set_defaults(handler=_cancel)

    correct = subparsers.add_parser(
        "correct",
        help="write a visit file that corrects a submission, pre-filled from it",
        description="Writes the visit as submitted (attachments beside it) with `supersedes` "
        "set; edit it and store it with `mppdesk intake --input FILE`.",
    )
    add_data_dir_option(correct)
    correct.add_argument("submission_id", metavar="TRACKING_NO")
    correct.add_argument("-o", "--output", type=Path, required=True, help="visit file to write")
    add_login_options(correct)
    correct.add_argument("--json", action="store_true", help="print the visit file as JSON too")
    correct.set_defaults(handler=_correct)

    report = subparsers.add_parser("report", help="supervisor reports")
    kinds = report.add_subparsers(dest="report_kind", metavar="KIND", required=True)
    daily = kinds.add_parser("daily", help="the daily report as PDF, XLSX or CSV")
    add_data_dir_option(daily)
    daily.add_argument(
        "--date", type=_day, default=None, help="the local day, YYYY-MM-DD (default: today)"
    )
    daily.add_argument("--format", choices=("pdf", "xlsx", "csv"), required=True)
    daily.add_argument("-o", "--output", type=Path, required=True, help="file to write")
    daily.add_argument("--lang", choices=("id", "en"), default="id")
    daily.add_argument(
        "--scope",
        choices=("desk", "mall"),
        default="desk",
        help="this desk (default) or the whole MPP, read from the hub (a joined desk)",
    )
    add_login_options(daily, "supervisor")
    daily.add_argument("--json", action="store_true", help="print the result as JSON")
    daily.set_defaults(handler=_report_daily)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(say("cli.bad_date", text=text)) from None


def _review(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.core.states import ReviewState
        from mppdesk.desk.documents import resolve_submission
        from mppdesk.desk.review import review

        password = read_password()
        if args.approve:
            decision, reason = ReviewState.APPROVED, None
        elif args.return_reason is not None:
            decision, reason = ReviewState.RETURNED, args.return_reason
        else:
            decision, reason = ReviewState.FLAGGED, args.flag_reason
        with signed_in(args, password) as (runtime, actor):
            submission_id = resolve_submission(runtime, args.submission_id)
            outcome = review(runtime, actor, submission_id, decision, reason)
        if args.json:
            print(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
        else:
            released = f", {outcome.released} antrean kirim dilepas" if outcome.released else ""
            print(f"{outcome.tracking_number}  {outcome.decision}{released}")
        return EXIT_OK

    return run_desk_command(run)


def _cancel(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.corrections import cancel

        password = read_password()
        with signed_in(args, password) as (runtime, actor):
            outcome = cancel(runtime, actor, args.submission_id, args.reason)
        if args.json:
            print(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2))
        else:
            print(
                say(
                    "cli.cancel_done",
                    args,
                    tracking=outcome.tracking_number,
                    original=outcome.cancels_tracking,
                )
            )
        return EXIT_OK

    return run_desk_command(run)


def _correct(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.corrections import correction_of, write_visit_file

        password = read_password()
        output = args.output.absolute()
        if not output.parent.is_dir():
            print(say("cli.no_such_folder", args, folder=str(output.parent)), file=sys.stderr)
            return EXIT_INVALID
        with signed_in(args, password) as (runtime, actor):
            draft = correction_of(runtime, actor, args.submission_id)
            write_visit_file(runtime, draft, output)
        if args.json:
            print(json.dumps(draft.visit_file(), ensure_ascii=False, indent=2))
        else:
            print(
                say(
                    "cli.correction_written",
                    args,
                    tracking=draft.tracking_number,
                    path=str(output),
                )
            )
        return EXIT_OK

    return run_desk_command(run)


def _report_daily(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.reports import Period, export_report

        password = read_password()
        if getattr(args, "scope", "desk") == "mall":
            from mppdesk.cli.hub_desk import report_daily_mall

            return report_daily_mall(args, password)
        if not args.output.parent.exists():
            print(say("cli.no_such_folder", args, folder=str(args.output.parent)), file=sys.stderr)
            return EXIT_INVALID
        with signed_in(args, password) as (runtime, actor):
            day = args.date or runtime.local_today()
            result = export_report(
                runtime, actor, Period.day(day), args.format, args.output, args.lang
            )
        if args.json:
            print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            print(f"{result.path}  {result.format}  {result.size} bytes  sha256 {result.sha256}")
        return EXIT_OK

    return run_desk_command(run)
