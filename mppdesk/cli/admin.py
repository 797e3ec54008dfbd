"""Administration of the desk's own data dir, run as the OS account that owns it.

Like ``createuser`` run as the database's OS user, these need no officer login:
``init``, ``user add|list|unlock|disable|enable|reset-password``, ``info``,
``submissions list``. Every account change is audited with the OS account as its actor.
"""

from __future__ import annotations

import argparse
import json
import sys

from mppdesk.cli import EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    bounded_int,
    opened_runtime,
    read_password,
    run_desk_command,
    say,
)

MAX_LIST_LIMIT = 1_000_000  # rows; more is a typo, and SQLite's integers end at 2**63


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("init", help="create the data dir and its store")
    add_data_dir_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_init)

    user = subparsers.add_parser("user", help="manage officer accounts")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    p = sub.add_parser("add", help="add an officer, supervisor or admin")
    add_data_dir_option(p)
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=("officer", "supervisor", "admin"))
    p.add_argument("--full-name", default="")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from the first line of standard input",
    )
    p.set_defaults(handler=_user_add)
    p = sub.add_parser("list", help="list accounts (role, disabled, locked, last sign-in)")
    add_data_dir_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_user_list)
    for action, helptext in (
        ("unlock", "lift a lockout now (the failed attempts stop counting)"),
        ("disable", "disable an account: it can no longer sign in"),
        ("enable", "enable a disabled account again"),
    ):
        p = sub.add_parser(action, help=helptext)
        add_data_dir_option(p)
        p.add_argument("username")
        p.set_defaults(handler=_user_change, user_action=action)
    p = sub.add_parser("reset-password", help="set a new password (also lifts a lockout)")
    add_data_dir_option(p)
    p.add_argument("username")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the new password from the first line of standard input",
    )
    p.set_defaults(handler=_user_reset_password)

    p = subparsers.add_parser("info", help="where the data is and how much of it")
    add_data_dir_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_info)

    submissions = subparsers.add_parser("submissions", help="list submissions and their sync state")
    sub = submissions.add_subparsers(dest="submissions_command", metavar="ACTION", required=True)
    p = sub.add_parser("list", help="list submissions with each outbox entry's state")
    add_data_dir_option(p)
    p.add_argument("--date", help="local date YYYY-MM-DD")
    p.add_argument("--status", help="submission status, e.g. queued, held, sent")
    p.add_argument("--limit", type=bounded_int(1, MAX_LIST_LIMIT), help="at most this many rows")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_submissions_list)

    register_purge(subparsers)


def _init(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.queries import info

        with opened_runtime(args, create=True) as runtime:  # the one command that makes a store
            details = info(runtime)
        if args.json:
            print(json.dumps(details, indent=2))
        else:
            print(f"data dir ready: {details['data_dir']} (schema {details['schema_version']})")
        return EXIT_OK

    return run_desk_command(run)


def _user_add(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import add_user, os_actor

        password = read_password()
        with opened_runtime(args) as runtime:
            add_user(runtime, os_actor(), args.username, args.role, password, args.full_name)
        print(f"user {args.username} added ({args.role})", file=sys.stderr)
        return EXIT_OK

    return run_desk_command(run)


def _user_list(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import list_accounts, os_actor

        with opened_runtime(args) as runtime:
            accounts = list_accounts(runtime, os_actor())
            rows = [account.as_dict(runtime.tz) for account in accounts]
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                state = say(
                    "accounts.cli.state_locked" if row["locked"] else
                    "accounts.cli.state_active" if row["active"] else "accounts.cli.state_disabled",
                    args,
                    until=(row["locked_until"] or "")[11:16],
                )
                print(f"{row['username']:20s} {row['role']:10s} {state:24s} {row['full_name']}")
        return EXIT_OK

    return run_desk_command(run)


def _user_change(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor, set_user_active, unlock_user

        with opened_runtime(args) as runtime:
            if args.user_action == "unlock":
                unlock_user(runtime, os_actor(), args.username)
            else:
                set_user_active(runtime, os_actor(), args.username, args.user_action == "enable")
        print(say(f"accounts.done.{args.user_action}", args, user=args.username), file=sys.stderr)
        return EXIT_OK

    return run_desk_command(run)


def _user_reset_password(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor, reset_password

        password = read_password()
        with opened_runtime(args) as runtime:
            reset_password(runtime, os_actor(), args.username, password)
        print(say("accounts.done.reset", args, user=args.username), file=sys.stderr)
        return EXIT_OK

    return run_desk_command(run)


def _info(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.queries import info

        with opened_runtime(args) as runtime:
            details = info(runtime)
        if args.json:
            print(json.dumps(details, indent=2))
        else:
            for key, value in details.items():
                print(f"{key}: {value}")
        return EXIT_OK

    return run_desk_command(run)


def _submissions_list(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor
        from mppdesk.desk.queries import list_submissions

        with opened_runtime(args) as runtime:
            rows = list_submissions(
                runtime, os_actor(), local_date=args.date, status=args.status, limit=args.limit
            )
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                states = ", ".join(f"{o['agency']}:{o['state']}" for o in row["outbox"])
                pay = row.get("payment")
                paid = f" bill {pay['code']}:{pay['state']}" if pay else ""
                print(
                    f"{row['tracking_number']:22s} {row['service']:32s} {row['status']:10s} {states}"
                    + paid
                )
        return EXIT_OK

    return run_desk_command(run)


def register_purge(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "purge", help="purge personal data of finished submissions past retention"
    )
    add_data_dir_option(p)
    p.add_argument("--dry-run", action="store_true", help="show what would go, change nothing")
    p.add_argument(
        "--trust-clock",
        action="store_true",
        help="run even though the clock is days ahead of the store's newest record "
        "(after a long closure, once the date is checked)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_purge)


def _purge(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor
        from mppdesk.desk.retention import purge

        with opened_runtime(args) as runtime:
            report = purge(
                runtime, os_actor(), dry_run=args.dry_run, trust_clock=args.trust_clock
            )
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
        else:
            verb = "would purge" if report.dry_run else "purged"
            print(
                f"{verb} {len(report.submissions)} submission(s) older than "
                f"{report.retention_days} days after completion"
            )
            for number in report.submissions:
                print(f"  {number}")
            print(f"{verb} {report.printouts_deleted} printout PDF(s) older than "
                  f"{report.retention_days} days")
        return EXIT_OK

    return run_desk_command(run)
