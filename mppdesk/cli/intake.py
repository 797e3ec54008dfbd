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


# A visit file is a few kilobytes; attachments are files of their own. Anything much larger
# is not a visit (or is /dev/zero) and is refused before it fills memory.
MAX_VISIT_FILE_BYTES = 4 * 1024 * 1024


def _invalid(path: str, message: str) -> int:
    print(json.dumps({"errors": [{"path": path, "message": message}]}, ensure_ascii=False))
    print(f"{path or 'input'}: {message}", file=sys.stderr)
    return EXIT_INVALID


def _read_visit_text(source: Path) -> str:
    """The visit file's text, at most MAX_VISIT_FILE_BYTES; raises ValueError with a message."""
    too_big = f"{source}: berkas kunjungan lebih dari {MAX_VISIT_FILE_BYTES} byte"
    try:
        if str(source) == "-":
            # Text mode: the password line was read through the same buffered stream.
            text = sys.stdin.read(MAX_VISIT_FILE_BYTES + 1)
            if len(text) > MAX_VISIT_FILE_BYTES:
                raise ValueError(too_big)
            return text
        with open(source, "rb") as handle:
            raw = handle.read(MAX_VISIT_FILE_BYTES + 1)
        if len(raw) > MAX_VISIT_FILE_BYTES:
            raise ValueError(too_big)
        return raw.decode("utf-8")
    except OSError as exc:
        raise ValueError(f"{source}: tidak dapat dibaca ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{source}: bukan teks UTF-8 (byte {exc.start})") from None


def _intake(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.auth import login
        from mppdesk.desk.intake import finalize_visit, parse_visit

        password = read_password()
        base_dir = Path.cwd() if str(args.input) == "-" else args.input.parent
        try:
            text = _read_visit_text(args.input)
        except ValueError as exc:
            return _invalid("", str(exc))
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            return _invalid(
                "",
                f"{args.input}: JSON tidak valid, baris {exc.lineno} kolom {exc.colno}: {exc.msg}",
            )
        except RecursionError:
            return _invalid("", f"{args.input}: JSON bersarang terlalu dalam")
        runtime = open_runtime_from(args)
        try:
            actor = login(runtime, args.user, password)
            request = parse_visit(document, base_dir, runtime.settings.intake)
            result = finalize_visit(runtime, actor, request)
        finally:
            runtime.close()
        if args.json:
            print(json.dumps(result.as_dict(args.lang), ensure_ascii=False, indent=2))
            return EXIT_OK
        for s in result.submissions:
            print(f"{s.tracking_number}  {s.service}  {s.status}  SLA {s.sla_due}")
        # Stored, but the officer must hear what the engine doubts (--json carries them).
        label = "peringatan" if args.lang == "id" else "warning"
        for warning in result.warnings:
            entry = warning.as_dict(args.lang)
            print(f"{label}: {entry['path']}: {entry['message']}", file=sys.stderr)
        return EXIT_OK

    return run_desk_command(run, json_errors=True)
