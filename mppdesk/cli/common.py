"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path


def add_data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the desk's data directory (default: MPPDESK_DATA_DIR or the user data dir)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="store URL (default: MPPDESK_DB or SQLite in the data dir)",
    )


def data_dir_from(args: argparse.Namespace) -> Path:
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    env = os.environ.get("MPPDESK_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("mppdesk", appauthor=False))


def db_url_from(args: argparse.Namespace) -> str | None:
    return getattr(args, "db", None) or os.environ.get("MPPDESK_DB") or None


def read_password() -> str:
    """The first line of standard input, without its line end."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def open_runtime_from(args: argparse.Namespace):
    from mppdesk.desk.runtime import open_runtime

    return open_runtime(data_dir_from(args), db_url_from(args))


def run_desk_command(run: Callable[[], int], *, json_errors: bool = False) -> int:
    """Run a handler, turning the desk's known errors into a message and an exit code."""
    from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_REFUSED
    from mppdesk.desk.errors import AuthError, DeskError, InvalidInput, NotFound, PermissionDenied
    from mppdesk.forms.catalog import CatalogError
    from mppdesk.settings import SettingsError
    from mppdesk.store.database import StoreError

    try:
        return run()
    except InvalidInput as exc:
        if json_errors:
            print(
                json.dumps(
                    {"errors": [e.as_dict() for e in exc.errors]}, ensure_ascii=False, indent=2
                )
            )
        for error in exc.errors:
            print(f"{error.path}: {error.message}", file=sys.stderr)
        return EXIT_INVALID
    except (AuthError, PermissionDenied) as exc:
        if json_errors:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(str(exc), file=sys.stderr)
        return EXIT_REFUSED
    except NotFound as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except CatalogError as exc:
        print("the catalog has problems (run 'mppdesk catalog check'):", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return EXIT_ERROR
    except (StoreError, SettingsError, DeskError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
