"""``mppdesk hub …``: run and administer the mall hub (``mppdesk.hub``).

The server-side subcommands (init, serve, desk, user, catalog, stats) work on the hub's own
database (``--db URL``, else ``MPPDESK_HUB_DB``) and key file (``MPPDESK_HUB_KEY_FILE``, else
``hub.key`` in the user config dir). The desk-side subcommands (join, status) come from
``mppdesk.cli.hub_desk`` when that module is present.

Faults of the environment (database down, bad URL, key file unreadable, certificate unusable)
are one plain message and exit 1 (2 for input that is wrong), never a traceback, never a
password from the URL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import bounded_float, bounded_int, read_password

DB_ENV = "MPPDESK_HUB_DB"


def register(subparsers: argparse._SubParsersAction) -> None:
    hub = subparsers.add_parser(
        "hub", help="the mall hub: serve it, enroll desks, accounts, catalog, stats"
    )
    sub = hub.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")

    def db_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", default=None, help=f"hub database URL (default: {DB_ENV})")
        parser.add_argument(
            "--key-file",
            type=Path,
            default=None,
            help="hub key file (default: MPPDESK_HUB_KEY_FILE or hub.key in the config dir)",
        )

    p = sub.add_parser("init", help="create or upgrade the hub schema and key (repeatable)")
    db_options(p)
    p.set_defaults(handler=_guarded(_init))

    p = sub.add_parser("serve", help="serve the hub over HTTP(S)")
    db_options(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True, help="TCP port (0: any free port)")
    p.add_argument("--cert", type=Path, default=None, help="TLS certificate chain (PEM)")
    p.add_argument("--key", type=Path, default=None, help="TLS private key (PEM)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes accepting on the one port (about one per core; default 1)",
    )
    p.set_defaults(handler=_guarded(_serve))

    desk = sub.add_parser("desk", help="enroll, revoke and list desks")
    desk_sub = desk.add_subparsers(dest="desk_command", metavar="DESK_COMMAND")
    p = desk_sub.add_parser("add", help="enroll a desk; prints its one-time token")
    p.add_argument("code")
    db_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_guarded(_desk_add))
    p = desk_sub.add_parser("revoke", help="revoke a desk's token")
    p.add_argument("code")
    db_options(p)
    p.set_defaults(handler=_guarded(_desk_revoke))
    p = desk_sub.add_parser("list", help="desks: last seen, acked, pending, chain errors")
    db_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_guarded(_desk_list))
    p = desk_sub.add_parser(
        "clear-chain-error", help="clear a desk's chain error once an admin has acted on it"
    )
    p.add_argument("code")
    db_options(p)
    p.set_defaults(handler=_guarded(_desk_clear))

    user = sub.add_parser("user", help="mall-wide accounts (pulled by every desk)")
    user_sub = user.add_subparsers(dest="user_command", metavar="USER_COMMAND")
    p = user_sub.add_parser("add", help="add or update an account")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=("officer", "supervisor", "admin"))
    p.add_argument("--full-name", default="")
    p.add_argument("--password-stdin", action="store_true", required=True)
    db_options(p)
    p.set_defaults(handler=_guarded(_user_add))
    p = user_sub.add_parser("disable", help="disable an account at every desk")
    p.add_argument("name")
    db_options(p)
    p.set_defaults(handler=_guarded(_user_disable))

    catalog = sub.add_parser("catalog", help="catalog overrides for every desk")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", metavar="CATALOG_COMMAND")
    p = catalog_sub.add_parser("publish", help="check DIR and publish it to every desk")
    p.add_argument("dir", type=Path)
    db_options(p)
    p.set_defaults(handler=_guarded(_catalog_publish))

    agency = sub.add_parser("agency", help="agency endpoint settings for every desk (no tokens)")
    agency_sub = agency.add_subparsers(dest="agency_command", metavar="AGENCY_COMMAND")
    p = agency_sub.add_parser("set", help="publish an agency's endpoint settings")
    p.add_argument("code")
    p.add_argument("--base-url", required=True)
    p.add_argument("--connect-timeout-s", type=bounded_float(0.05, 300), default=3.0)
    p.add_argument("--read-timeout-s", type=bounded_float(0.05, 3600), default=15.0)
    db_options(p)
    p.set_defaults(handler=_guarded(_agency_set))

    holidays = sub.add_parser("holidays", help="public holidays for every desk's SLA dates")
    holidays_sub = holidays.add_subparsers(dest="holidays_command", metavar="HOLIDAYS_COMMAND")
    p = holidays_sub.add_parser("set", help="publish a year's holidays (replaces that year)")
    p.add_argument("year", type=bounded_int(2000, 2100))
    p.add_argument("dates", nargs="+", metavar="YYYY-MM-DD")
    db_options(p)
    p.set_defaults(handler=_guarded(_holidays_set))

    p = sub.add_parser("stats", help="what each desk has pushed; duplicates")
    db_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_guarded(_stats))

    import importlib

    try:
        hub_desk = importlib.import_module("mppdesk.cli.hub_desk")
    except ModuleNotFoundError as exc:
        # The desk side (hub join, hub status) is a module of its own; a build without it
        # still runs the hub. Any other import failure is a real fault and propagates.
        if exc.name != "mppdesk.cli.hub_desk":
            raise
    else:
        hub_desk.register_desk_commands(sub)

    def no_command(args: argparse.Namespace) -> int:
        hub.print_help(sys.stderr)
        return EXIT_INVALID

    hub.set_defaults(handler=no_command)
    for parent in (desk, user, catalog, agency, holidays):
        parent.set_defaults(handler=lambda args, parent=parent: _help(parent))


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_INVALID


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The hub commands' error boundary: known environment faults become one line."""

    def handler(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import DBAPIError, OperationalError

        from mppdesk.hub.crypto import HubKeyError
        from mppdesk.hub.database import HubDatabaseError, safe_url
        from mppdesk.hub.store import HubError

        try:
            return run(args)
        except _Usage as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_INVALID
        except HubKeyError as exc:
            print(f"hub key: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except HubDatabaseError as exc:
            print(f"hub database: {exc}", file=sys.stderr)
            return EXIT_INVALID if exc.invalid else EXIT_ERROR
        except HubError as exc:
            print(exc.message, file=sys.stderr)
            return EXIT_INVALID if exc.status == 400 else EXIT_ERROR
        except (OperationalError, DBAPIError):
            print(
                f"hub database: cannot use the database at {safe_url(_db(args))}"
                " (is it running and reachable, and the URL right?)",
                file=sys.stderr,
            )
            return EXIT_ERROR

    return handler


class _Usage(Exception):
    pass


def _db(args: argparse.Namespace) -> str:
    url = getattr(args, "db", None) or os.environ.get(DB_ENV)
    if not url:
        raise _Usage(f"give the hub database with --db URL (or set {DB_ENV})")
    return url


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from mppdesk.hub.server import open_store

    return open_store(_db(args), key_file=args.key_file)


def _init(args: argparse.Namespace) -> int:
    from mppdesk.hub.crypto import default_key_file
    from mppdesk.hub.server import init_hub

    revision = init_hub(_db(args), key_file=args.key_file)
    print(f"hub schema at revision {revision}; key file {args.key_file or default_key_file()}")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import ssl

    from mppdesk.hub.server import configure_logging, is_loopback, serve

    if (args.cert is None) != (args.key is None):
        raise _Usage("give both --cert and --key, or neither")
    if args.cert is None and not is_loopback(args.host):
        raise _Usage(
            f"refusing plain HTTP on {args.host}: the hub serves without TLS on loopback only; "
            "give --cert and --key to listen on the network"
        )
    if not 0 <= args.port <= 65535:
        raise _Usage("--port is between 0 and 65535")
    if not 1 <= args.workers <= 64:
        raise _Usage("--workers is between 1 and 64")
    if args.cert is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                args.cert, args.key
            )
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or "unusable"
            raise _Usage(f"cannot use the certificate and key: {reason}") from None
    store = _store(args)  # the database and key are checked here, before any worker starts
    configure_logging()
    if args.workers > 1:
        return _serve_workers(args, store)
    stopped: list[int] = []

    # uvicorn stops gracefully on SIGTERM/SIGINT and then raises the signal again to the
    # handler that was installed before it: this one, so the process ends with exit 0.
    def _note(signum, _frame) -> None:  # type: ignore[no-untyped-def]
        stopped.append(signum)

    signal.signal(signal.SIGTERM, _note)

    def announce(url: str) -> None:
        print(f"listening on {url}", flush=True)

    try:
        serve(store, host=args.host, port=args.port, cert=args.cert, key=args.key,
              announce=announce)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.engine.dispose()
    print("hub stopped", file=sys.stderr)
    return EXIT_OK


def _serve_workers(args: argparse.Namespace, store) -> int:  # type: ignore[no-untyped-def]
    from mppdesk.hub.server import serve_workers

    store.engine.dispose()  # each worker opens its own

    def announce(url: str) -> None:
        print(f"listening on {url}", flush=True)

    try:
        code = serve_workers(
            _db(args), workers=args.workers, key_file=args.key_file, host=args.host,
            port=args.port, cert=args.cert, key=args.key, announce=announce,
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR
    if code:
        print("hub stopped: a worker failed (see the log above)", file=sys.stderr)
        return EXIT_ERROR
    print("hub stopped", file=sys.stderr)
    return EXIT_OK


def _desk_add(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        token = store.add_desk(args.code)
    finally:
        store.engine.dispose()
    code = args.code.strip().upper()
    if args.json:
        print(json.dumps({"desk": code, "token": token}))
    else:
        print(f"desk {code} enrolled; its token (shown once): {token}")
    return EXIT_OK


def _desk_revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        found = store.revoke_desk(args.code)
    finally:
        store.engine.dispose()
    if not found:
        print(f"no desk {args.code.strip().upper()} at this hub", file=sys.stderr)
        return EXIT_INVALID
    print(f"desk {args.code.strip().upper()} revoked")
    return EXIT_OK


def _desk_clear(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        found = store.clear_chain_error(args.code)
    finally:
        store.engine.dispose()
    if not found:
        print(f"no desk {args.code.strip().upper()} at this hub", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _desk_list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        desks = store.list_desks()
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps({"desks": desks}))
        return EXIT_OK
    for d in desks:
        chain = (
            f"CHAIN BROKEN at seq {d['chain_error']['seq']}: {d['chain_error']['reason']}"
            if d["chain_error"]
            else "chain ok"
        )
        state = "revoked" if d["revoked"] else "active"
        pending = "?" if d["pending"] is None else d["pending"]
        print(
            f"{d['desk']:<8} {state:<8} last seen {d['last_seen'] or 'never'}  "
            f"acked {d['acked']}  pending {pending}  {chain}"
        )
    return EXIT_OK


def _user_add(args: argparse.Namespace) -> int:
    from argon2 import PasswordHasher

    password = read_password()
    if not password:
        raise _Usage("the password (first line of standard input) is empty")
    # The desk's parameters (mppdesk/desk/auth.py): OWASP's argon2id minimum.
    hashed = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(password)
    store = _store(args)
    try:
        store.add_user(args.name, args.role, hashed, args.full_name)
    finally:
        store.engine.dispose()
    print(f"user {args.name} ({args.role}) saved; desks get it at their next pull")
    return EXIT_OK


def _user_disable(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        found = store.disable_user(args.name)
    finally:
        store.engine.dispose()
    if not found:
        print(f"no user {args.name} at this hub", file=sys.stderr)
        return EXIT_INVALID
    print(f"user {args.name} disabled at every desk after its next pull")
    return EXIT_OK


def _catalog_publish(args: argparse.Namespace) -> int:
    from mppdesk.hub.catalog import CatalogRefused, read_overrides

    try:
        files, digest = read_overrides(args.dir)
    except CatalogRefused as refused:
        for problem in refused.problems:
            print(problem, file=sys.stderr)
        print(f"{len(refused.problems)} problem(s): nothing published", file=sys.stderr)
        return EXIT_INVALID
    store = _store(args)
    try:
        store.publish_catalog(files, digest)
    finally:
        store.engine.dispose()
    print(f"catalog published: {len(files)} file(s), sha256 {digest}")
    return EXIT_OK


def _agency_set(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    code = args.code.strip().lower()
    if not code or len(code) > 64 or not code.replace("-", "").replace("_", "").isalnum():
        raise _Usage("an agency code is letters, digits, '-' or '_'")
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Usage("--base-url is an http(s) URL")
    if parts.username or parts.password:
        raise _Usage("--base-url must not carry credentials (tokens stay on each desk)")
    store = _store(args)
    try:
        store.set_agency(
            code,
            {
                "base_url": args.base_url,
                "connect_timeout_s": args.connect_timeout_s,
                "read_timeout_s": args.read_timeout_s,
            },
        )
    finally:
        store.engine.dispose()
    print(f"agency {code} published; desks get it at their next pull")
    return EXIT_OK


def _holidays_set(args: argparse.Namespace) -> int:
    import datetime as dt

    dates = []
    for text in args.dates:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise _Usage(f"not a date (YYYY-MM-DD): {text}") from None
        if day.year != args.year:
            raise _Usage(f"{text} is not in {args.year}")
        dates.append(day.isoformat())
    store = _store(args)
    try:
        store.set_holidays(args.year, dates)
    finally:
        store.engine.dispose()
    print(f"{len(set(dates))} holiday(s) of {args.year} published")
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        stats = store.stats()
    finally:
        store.engine.dispose()
    if args.json:
        print(json.dumps(stats))
        return EXIT_OK
    for code, d in stats["desks"].items():
        print(
            f"{code:<8} visits {d['visits']:>7}  submissions {d['submissions']:>7}  "
            f"applicants {d['applicants']:>7}  last seen {d['last_seen'] or 'never'}"
        )
    t = stats["totals"]
    print(
        f"total    visits {t['visits']:>7}  submissions {t['submissions']:>7}  "
        f"applicants {t['applicants']:>7}  duplicates {stats['duplicates']}"
    )
    return EXIT_OK
