"""``mppdesk audit verify|head|log``: the hash chain of audit events and the access log.

``audit log`` answers "who saw this person's data" as the data dir's OS account (like
``audit verify``): ``--subject`` takes the person's NIK, passport or KITAS/KITAP number and
finds them by keyed hash (``mppdesk.store.access_log``); the output never holds the number.
"""

from __future__ import annotations

import argparse
import json
import sys

from mppdesk.cli import EXIT_ERROR, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    bounded_int,
    opened_runtime,
    run_desk_command,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail")
    sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = sub.add_parser("verify", help="exit 0 if the chain holds, 1 naming the first bad event")
    add_data_dir_option(p)
    p.add_argument("--expect-head", help="ID:HASH of a head recorded elsewhere (report, agency)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_verify)
    p = sub.add_parser("head", help="print the chain head (ID:HASH) to record elsewhere")
    add_data_dir_option(p)
    p.set_defaults(handler=_head)
    p = sub.add_parser("log", help="who saw whose data: look-ups, searches, opened details")
    add_data_dir_option(p)
    p.add_argument("--subject", metavar="NIK", help="the person's NIK, passport or KITAS number")
    p.add_argument("--user", metavar="U", help="only this officer's events")
    p.add_argument("--date", metavar="D", help="only this local day, YYYY-MM-DD")
    p.add_argument(
        "--limit", type=bounded_int(1, 5000), default=500, help="at most this many (newest first)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_log)


def _verify(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.audit import verify_audit

        with opened_runtime(args) as runtime:
            report = verify_audit(runtime, args.expect_head)
        if args.json:
            print(json.dumps(report, indent=2))
        elif report["ok"]:
            print(f"audit chain ok: {report['events']} events, head {report['head']}")
        else:
            where = f"event {report['first_bad_event']}"
            if report.get("position"):
                where += f" (number {report['position']} of the chain)"
            print(
                f"rantai audit rusak / audit chain broken at {where}: {report['reason']}",
                file=sys.stderr,
            )
        return EXIT_OK if report["ok"] else EXIT_ERROR

    return run_desk_command(run)


def _head(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.audit import chain_head

        with opened_runtime(args) as runtime:
            print(chain_head(runtime))
        return EXIT_OK

    return run_desk_command(run)


def _log(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.audit import AccessQuery, access_log_rows, read_day
        from mppdesk.desk.auth import os_actor

        query = AccessQuery(
            subject=args.subject, user=args.user, day=read_day(args.date), limit=args.limit
        )
        with opened_runtime(args) as runtime:
            rows = access_log_rows(runtime, os_actor(), query)
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                print(
                    f"{row['at']}  {row['user']:16s} {row['action']:24s} "
                    f"{row['object_type']}:{row['object_id']}"
                )
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)
