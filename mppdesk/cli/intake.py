"""``mppdesk intake``: one headless visit, stored whole or not at all."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mppdesk.cli import EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    open_runtime_from,
    read_password,
    run_desk_command,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("intake", help="store one visit from a JSON file (as an officer)")
    add_data_dir_option(p)
    p.add_argument("--input", required=True, type=Path, help="visit JSON file, or - for stdin")
    p.add_argument("--user", required=True, help="officer user name")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from the first line of standard input",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--lang", choices=("id", "en"), default="id", help="language of messages")
    p.set_defaults(handler=_intake)


def _intake(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import login
        from mppdesk.desk.intake import finalize_visit, parse_visit

        password = read_password()
        if str(args.input) == "-":
            text, base_dir = sys.stdin.read(), Path.cwd()
        else:
            try:
                text, base_dir = args.input.read_text(encoding="utf-8"), args.input.parent
            except (OSError, UnicodeDecodeError) as exc:
                print(json.dumps({"errors": [{"path": "", "message": f"{args.input}: {exc}"}]}))
                return EXIT_INVALID
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            message = (
                f"{args.input}: JSON tidak valid, baris {exc.lineno} kolom {exc.colno}: {exc.msg}"
            )
            print(json.dumps({"errors": [{"path": "", "message": message}]}, ensure_ascii=False))
            return EXIT_INVALID
        runtime = open_runtime_from(args)
        try:
            actor = login(runtime, args.user, password)
            request = parse_visit(document, base_dir)
            result = finalize_visit(runtime, actor, request)
        finally:
            runtime.close()
        if args.json:
            print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        else:
            for s in result.submissions:
                print(f"{s.tracking_number}  {s.service}  {s.status}  SLA {s.sla_due}")
        return EXIT_OK

    return run_desk_command(run, json_errors=True)
