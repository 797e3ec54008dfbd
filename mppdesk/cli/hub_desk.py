"""The desk's side of ``mppdesk hub``: ``join`` and ``status`` (the hub's own commands are in
``mppdesk.cli.hub``, which calls ``register_desk_commands``), and the mall scope of
``mppdesk report daily``."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from mppdesk.cli import EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    bounded_float,
    data_dir_from,
    opened_runtime,
    read_password,
    run_desk_command,
    say,
    signed_in,
)
from mppdesk.core.messages import Phrase


def register_desk_commands(hub_subparsers: argparse._SubParsersAction) -> None:
    p = hub_subparsers.add_parser(
        "join",
        help="join this desk to the mall hub (run on the desk)",
        description="Checks the token with the hub, then writes [hub] in settings.toml and "
        "keeps the token where the desk key is kept (never in settings).",
    )
    add_data_dir_option(p)
    p.add_argument("url", metavar="URL", help="the hub, e.g. https://hub.mpp.example:8443")
    p.add_argument("--desk", required=True, metavar="CODE", help="this desk's code at the hub")
    p.add_argument(
        "--token-stdin",
        action="store_true",
        required=True,
        help="read the desk's one-time token from the first line of standard input",
    )
    p.add_argument("--ca", metavar="FILE", help="PEM of the CA that signed the hub's certificate")
    p.add_argument("--timeout", type=bounded_float(0.1, 600.0), default=10.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_join)

    p = hub_subparsers.add_parser("status", help="this desk's replication to the hub")
    add_data_dir_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_status)


def _join(args: argparse.Namespace) -> int:
    token = read_password()

    def run() -> int:
        from mppdesk.desk.hub import join

        data_dir = data_dir_from(args)
        if not data_dir.is_dir():
            print(say("cli.hub.no_data_dir", args, data_dir=str(data_dir)), file=sys.stderr)
            return EXIT_INVALID
        hub = join(data_dir, args.url, args.desk, token, args.ca, args.timeout)
        result = {"joined": True, "url": hub.url, "desk": args.desk.strip().upper()}
        if args.json:
            print(json.dumps(result))
        else:
            print(say("cli.hub.joined", args, desk=result["desk"], url=hub.url))
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)


def _status(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.desk.hub import status

        with opened_runtime(args) as runtime:
            state = status(runtime).as_dict()
        if args.json:
            print(json.dumps(state, ensure_ascii=False, indent=2))
        elif not state["joined"]:
            print(say("cli.hub.not_joined", args))
        else:
            print(
                say(
                    "cli.hub.status",
                    args,
                    url=state["url"],
                    desk=state["desk"],
                    connected=Phrase(
                        "cli.hub.connected" if state["connected"] else "cli.hub.not_connected"
                    ),
                    push=state["last_push"] or "-",
                    pull=state["last_pull"] or "-",
                    pending=state["pending"],
                )
            )
            if state["last_error"]:
                print(say("cli.hub.last_error", args, error=state["last_error"].get("message")))
            if state["catalog_error"]:
                problems = "; ".join(state["catalog_error"].get("problems", [])[:3])
                print(say("cli.hub.catalog_refused", args, problems=problems))
            for refused in state["refused_reviews"][:5]:
                why = refused.get("refusal")
                print(
                    say(
                        "hubreview.refused_here",
                        args,
                        tracking=refused.get("tracking_number"),
                        actor=refused.get("actor"),
                        why=Phrase(f"hubreview.why.{why}", {"by": refused.get("superseded_by")}),
                    )
                )
        return EXIT_OK

    return run_desk_command(run)


def report_daily_mall(args: argparse.Namespace, password: str) -> int:
    """``mppdesk report daily --scope mall``: the hub's figures of every desk for the day,
    as CSV rows (``key,value``) or JSON; supervisors of a joined desk only."""
    from mppdesk.desk.hub import mall_daily_report

    if args.format != "csv":
        print(say("cli.hub.mall_csv_only", args), file=sys.stderr)
        return EXIT_INVALID
    if not args.output.parent.exists():
        print(say("cli.no_such_folder", args, folder=str(args.output.parent)), file=sys.stderr)
        return EXIT_INVALID
    with signed_in(args, password) as (runtime, actor):
        day = (args.date or runtime.local_today()).isoformat()
        figures = mall_daily_report(runtime, actor, day)
    with open(args.output, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "value"])
        for key, value in _flatten(figures):
            writer.writerow([key, value])
    if args.json:
        print(json.dumps({"scope": "mall", "date": day, "path": str(args.output),
                          "report": figures}, ensure_ascii=False, indent=2))
    else:
        print(say("cli.hub.mall_report", args, path=str(args.output), date=day))
    return EXIT_OK


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        rows: list[tuple[str, Any]] = []
        for key in sorted(value):
            rows += _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list):
        return [(prefix, json.dumps(value, ensure_ascii=False))]
    return [(prefix, value)]

