"""The ``mppdesk`` command: one entry point, one module per area of subcommands.

Each area module exposes ``register(subparsers)`` that adds its subcommands with
``set_defaults(handler=...)``; a handler takes the parsed arguments and returns the exit code.

Exit codes: 0 ok, 1 error, 2 invalid input, 3 timed out, 4 authentication or permission refused,
5 `sync --drain` left entries that need a person (paused, failed, flagged, held).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mppdesk import __version__

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2
EXIT_TIMEOUT = 3
EXIT_REFUSED = 4
EXIT_NEEDS_PERSON = 5  # sync --drain: entries left paused, failed, flagged or held

_AREAS = (
    "mppdesk.cli.admin",
    "mppdesk.cli.intake",
    "mppdesk.cli.catalog",
    "mppdesk.cli.sync",
    "mppdesk.cli.demo",
    "mppdesk.cli.printing",
    "mppdesk.cli.audit",
    "mppdesk.cli.agency_sim",
    "mppdesk.cli.review",
    "mppdesk.cli.backup",
    "mppdesk.cli.hub",
    "mppdesk.cli.applicant",
    "mppdesk.cli.ticket",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="mppdesk",
        description="MPP Desk: intake for every agency of a Mal Pelayanan Publik, offline first.",
    )
    parser.add_argument("--version", action="version", version=f"mppdesk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more on stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _AREAS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Whatever the desk writes (store, WAL, backups, attachments, exports, crash reports) is
    # for this OS account only, whatever the umask of the shell that started it.
    import os

    os.umask(0o077)
    if not (sys.argv[1:] if argv is None else list(argv)):
        # Plain `mppdesk` opens the desk window without loading every subcommand first:
        # the sign-in window should appear about as fast as an empty Qt window.
        from mppdesk.app import main as open_desk

        return open_desk()
    parser = build_parser()
    args = parser.parse_args(argv)
    from mppdesk.logs import configure_logging

    configure_logging(args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        from mppdesk.app import main as open_desk  # plain `mppdesk` opens the desk window

        return open_desk()
    from mppdesk.cli.common import report_fault, set_current_args

    set_current_args(args)
    # The error boundary: no traceback and no exception text ever reaches the terminal.
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("dihentikan / interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return report_fault(exc, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
