"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mppdesk.desk.auth import Actor
    from mppdesk.desk.runtime import Runtime


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
    """The store URL given (None: SQLite in the data dir). Anything but SQLite is refused
    here with exit 2: a desk pointed straight at PostgreSQL is retired (the hub's now)."""
    url = getattr(args, "db", None) or os.environ.get("MPPDESK_DB") or None
    if url is not None:
        from mppdesk.store.database import StoreError, refuse_shared_store

        try:
            refuse_shared_store(url)
        except StoreError:
            print(say("cli.shared_store_retired", args), file=sys.stderr)
            raise SystemExit(2) from None
    return url


def read_password() -> str:
    """The first line of standard input, without its line end."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def add_login_options(parser: argparse.ArgumentParser, role: str = "officer") -> None:
    """``--user NAME --password-stdin``, both required: a command that acts as a person
    signs in as one (the password never on the command line)."""
    parser.add_argument("--user", required=True, help=f"{role} user name")
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="read the password from the first line of standard input",
    )


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [minimum, maximum], else exit 2 naming the range.

    ``--limit 99999999999999999999`` would otherwise reach SQLite and overflow there.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be between {minimum} and {maximum}, got {text}"
            )
        return value

    parse.__name__ = "whole number"
    return parse


def bounded_float(minimum: float, maximum: float) -> Callable[[str], float]:
    """An argparse type: a finite number in [minimum, maximum] (no inf, no nan)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise argparse.ArgumentTypeError(
                f"must be between {minimum:g} and {maximum:g}, got {text}"
            )
        return value

    parse.__name__ = "number"
    return parse


def message_language(args: argparse.Namespace | None = None) -> str:
    """The language of messages on stderr: ``--lang`` where a command has it, else
    ``MPPDESK_LANG``, else the desk's ``[desk] language`` setting, else Indonesian (the
    desk's first language)."""
    from mppdesk.core.messages import language_of

    lang = getattr(args, "lang", None) or os.environ.get("MPPDESK_LANG")
    if not lang and args is not None and hasattr(args, "data_dir"):
        lang = _settings_language(args)
    return language_of(lang)


def _settings_language(args: argparse.Namespace) -> str | None:
    """The desk's display language from its settings file, or None when it cannot be read
    (a bad settings file is itself reported, in Indonesian, instead of failing twice)."""
    from mppdesk.settings import load_settings

    try:
        return load_settings(data_dir_from(args)).desk.language
    except Exception:  # noqa: BLE001 - any fault here leaves the default language
        return None


def say(code: str, args: argparse.Namespace | None = None, **params: object) -> str:
    """The catalog message ``code`` in the command's message language."""
    from mppdesk.core.messages import text

    return text(code, message_language(args if args is not None else _CURRENT_ARGS), **params)


def open_runtime_from(args: argparse.Namespace, *, create: bool = False):
    """The runtime of the command's data dir; only ``mppdesk init`` passes ``create``."""
    from mppdesk.desk.runtime import open_runtime

    return open_runtime(data_dir_from(args), db_url_from(args), create=create)


@contextmanager
def opened_runtime(args: argparse.Namespace, *, create: bool = False) -> Iterator[Runtime]:
    """The command's runtime for the ``with`` block, closed however the block ends."""
    runtime = open_runtime_from(args, create=create)
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def signed_in(args: argparse.Namespace, password: str) -> Iterator[tuple[Runtime, Actor]]:
    """(runtime, actor) for ``--user`` with ``password``: a refused login still closes the
    runtime (and ends the command with exit 4 through ``run_desk_command``)."""
    from mppdesk.desk.auth import login

    with opened_runtime(args) as runtime:
        yield runtime, login(runtime, args.user, password)


def report_fault(
    exc: BaseException, args: argparse.Namespace | None = None, *, json_errors: bool = False
) -> int:
    """The error boundary of every command: a known fault becomes one plain message and its
    exit code; anything else a crash report in the data dir and one line saying where.
    Never a traceback, never an exception's own text (it may hold personal data)."""
    from mppdesk.cli import EXIT_ERROR, EXIT_INVALID
    from mppdesk.desk.faults import INPUT, explain

    lang = message_language(args)
    try:
        fault = explain(exc)
    except Exception:  # noqa: BLE001 - classifying must never be what crashes
        fault = None
    if fault is not None:
        message = fault.message(lang)
        if json_errors:
            print(json.dumps({"error": message, "code": fault.title}, ensure_ascii=False))
        print(message, file=sys.stderr)
        return EXIT_INVALID if fault.kind == INPUT else EXIT_ERROR
    from mppdesk.desk.crash import crash_line, write_crash_report

    data_dir = None
    if args is not None and hasattr(args, "data_dir"):
        try:
            data_dir = data_dir_from(args)
        except Exception:  # noqa: BLE001 - no data dir: the report goes to the cache folder
            data_dir = None
    report = write_crash_report(exc, data_dir)
    line = crash_line(exc, report, lang)
    if json_errors:
        print(json.dumps({"error": line}, ensure_ascii=False))
    print(line, file=sys.stderr)
    return EXIT_ERROR


def run_desk_command(run: Callable[[], int], *, json_errors: bool = False) -> int:
    """Run a handler, turning the desk's known errors into a message and an exit code.

    Faults of the environment (disk, store, key, settings) get their plain message here;
    anything unknown is re-raised to the boundary in ``mppdesk.cli.main``, which writes the
    crash report.
    """
    from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_REFUSED
    from mppdesk.desk.errors import AuthError, DeskError, InvalidInput, NotFound, PermissionDenied

    try:
        return run()
    except InvalidInput as exc:
        lang = message_language(_CURRENT_ARGS)
        if json_errors:
            print(
                json.dumps(
                    {"errors": [e.as_dict(lang) for e in exc.errors]},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        for error in exc.errors:
            print(say("cli.field_error", path=error.path, message=error.text(lang)), file=sys.stderr)
        return EXIT_INVALID
    except (AuthError, PermissionDenied) as exc:
        _print_error(exc, message_language(_CURRENT_ARGS), json_errors)
        return EXIT_REFUSED
    except NotFound as exc:
        _print_error(exc, message_language(_CURRENT_ARGS), json_errors)
        return EXIT_INVALID
    except DeskError as exc:
        lang = message_language(_CURRENT_ARGS)
        if json_errors:
            print(json.dumps(_error_json(exc, lang), ensure_ascii=False))
        print(say("cli.error", message=exc.text(lang)), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        from mppdesk.desk.faults import explain

        if explain(exc) is None:
            raise  # a bug: the boundary in main writes the crash report
        return report_fault(exc, _CURRENT_ARGS, json_errors=json_errors)


def _error_json(exc, lang: str) -> dict[str, str]:
    out = {"error": exc.text(lang)}
    if exc.code:
        out["code"] = exc.code
    return out


def _print_error(exc, lang: str, json_errors: bool) -> None:
    if json_errors:
        print(json.dumps(_error_json(exc, lang), ensure_ascii=False))
    print(exc.text(lang), file=sys.stderr)


# The parsed arguments of the running command (set by mppdesk.cli.main), so handlers that
# call run_desk_command(run) without them still get the right data dir and language.
_CURRENT_ARGS: argparse.Namespace | None = None


def set_current_args(args: argparse.Namespace | None) -> None:
    global _CURRENT_ARGS
    _CURRENT_ARGS = args
