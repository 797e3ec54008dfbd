"""``mppdesk intake``: one headless visit, stored whole or not at all."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mppdesk.cli import EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    add_login_options,
    message_language,
    read_password,
    run_desk_command,
    say,
    signed_in,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("intake", help="store one visit from a JSON file (as an officer)")
    add_data_dir_option(p)
    p.add_argument("--input", required=True, type=Path, help="visit JSON file, or - for stdin")
    add_login_options(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="check the visit as finalize would (its plan), store nothing",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--lang",
        choices=("id", "en"),
        default=None,
        help="language of messages (default: MPPDESK_LANG, else the desk's setting, else id)",
    )
    p.set_defaults(handler=_intake)


# A visit file is a few kilobytes; attachments are files of their own. Anything much larger
# is not a visit (or is /dev/zero) and is refused before it fills memory.
MAX_VISIT_FILE_BYTES = 4 * 1024 * 1024


class _UnreadableVisit(ValueError):
    """The visit file cannot be read as text: a message code and its parameters."""

    def __init__(self, code: str, /, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _invalid(args: argparse.Namespace, path: str, code: str, /, **params: object) -> int:
    """A visit refused before it is parsed: JSON on stdout (with the code), a line on stderr."""
    message = say(code, args, **params)
    entry = {"path": path, "message": message, "code": code}
    print(json.dumps({"errors": [entry]}, ensure_ascii=False))
    print(say("cli.field_error", args, path=path or "input", message=message), file=sys.stderr)
    return EXIT_INVALID


def _read_visit_text(source: Path) -> str:
    """The visit file's text, at most MAX_VISIT_FILE_BYTES; raises _UnreadableVisit."""
    too_big = _UnreadableVisit("intake.file_too_big", file=str(source), max=MAX_VISIT_FILE_BYTES)
    try:
        if str(source) == "-":
            # Text mode: the password line was read through the same buffered stream.
            text = sys.stdin.read(MAX_VISIT_FILE_BYTES + 1)
            if len(text) > MAX_VISIT_FILE_BYTES:
                raise too_big
            return text
        with open(source, "rb") as handle:
            raw = handle.read(MAX_VISIT_FILE_BYTES + 1)
        if len(raw) > MAX_VISIT_FILE_BYTES:
            raise too_big
        return raw.decode("utf-8")
    except OSError as exc:
        raise _UnreadableVisit(
            "intake.file_unreadable", file=str(source), reason=exc.strerror or ""
        ) from None
    except UnicodeDecodeError as exc:
        raise _UnreadableVisit("intake.file_not_utf8", file=str(source), byte=exc.start) from None


def _intake(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.intake import check_visit, finalize_visit, parse_visit, plan_summary

        password = read_password()
        lang = message_language(args)  # --lang, else MPPDESK_LANG, else the desk's setting
        base_dir = Path.cwd() if str(args.input) == "-" else args.input.parent
        try:
            text = _read_visit_text(args.input)
        except _UnreadableVisit as exc:
            return _invalid(args, "", exc.code, **exc.params)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            return _invalid(
                args,
                "",
                "intake.json_invalid",
                file=str(args.input),
                line=exc.lineno,
                column=exc.colno,
                problem=exc.msg,
            )
        except RecursionError:
            return _invalid(args, "", "intake.json_too_deep", file=str(args.input))
        with signed_in(args, password) as (runtime, actor):
            request = parse_visit(document, base_dir, runtime.settings.intake)
            if args.check:
                return _print_check(plan_summary(check_visit(runtime, actor, request), lang), args)
            result = finalize_visit(runtime, actor, request)
            names = {s.service: _service_name(runtime, s.service, lang) for s in result.submissions}
        if args.json:
            print(json.dumps(result.as_dict(lang), ensure_ascii=False, indent=2))
            return EXIT_OK
        for s in result.submissions:
            print(
                say(
                    "counter.intake_line",
                    args,
                    tracking=s.tracking_number,
                    service=names[s.service],
                    status=say(f"done.state.{s.status}", args)
                    if s.status in ("held", "queued")
                    else s.status,
                    due=s.sla_due,
                )
            )
        # Stored, but the officer must hear what the engine doubts (--json carries them).
        for warning in result.warnings:
            entry = warning.as_dict(lang)
            print(
                say("cli.warning_line", args, path=entry["path"], message=entry["message"]),
                file=sys.stderr,
            )
        return EXIT_OK

    return run_desk_command(run, json_errors=True)


def _service_name(runtime, code: str, lang: str) -> str:
    service = runtime.catalog.services.get(code)
    return service.name.get(lang) if service is not None else code


def _print_check(summary: dict, args: argparse.Namespace) -> int:
    """The plan of a visit that would be stored (exit 0); one line per service without --json."""
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    for service in summary["services"]:
        missing = ", ".join(service["missing"]) or "-"
        print(f"{service['service']}  {service['status']}  SLA {service['sla_due']}  {missing}")
    for warning in summary["warnings"]:
        print(
            say("cli.warning_line", args, path=warning["path"], message=warning["message"]),
            file=sys.stderr,
        )
    return EXIT_OK
