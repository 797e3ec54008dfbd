"""``mppdesk applicant show``: the counter's NIK, passport or KITAS/KITAP look-up, headless.

A joined desk asks the mall hub first (1.5 s at most) and falls back to its own store; the
look-up is audited as the desk's own are. Exit 0 whether or not the applicant is found
(``{"found": false, "applicant": null}``); a malformed passport or KITAS number exits 2.
"""

from __future__ import annotations

import argparse
import json

from mppdesk.cli import EXIT_OK
from mppdesk.cli.common import (
    add_data_dir_option,
    add_login_options,
    read_password,
    run_desk_command,
    say,
    signed_in,
)
from mppdesk.core import messages
from mppdesk.core.messages import Phrase


def register(subparsers: argparse._SubParsersAction) -> None:
    applicant = subparsers.add_parser("applicant", help="applicants (satu data)")
    sub = applicant.add_subparsers(dest="applicant_command", metavar="ACTION", required=True)
    p = sub.add_parser("show", help="look an applicant up (the hub first when joined)")
    add_data_dir_option(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--nik", metavar="N", help="the applicant's NIK")
    who.add_argument("--passport", metavar="P", help="a foreign applicant's passport number")
    who.add_argument("--kitas", metavar="K", help="a foreign applicant's KITAS/KITAP number")
    add_login_options(p)
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    password = read_password()

    def run() -> int:
        from mppdesk.desk.counter import resolve_identity
        from mppdesk.desk.hub import lookup

        if args.nik is not None:
            id_kind, number = "nik", args.nik
        elif args.passport is not None:
            id_kind, number = "paspor", args.passport
        else:
            id_kind, number = "kitas", args.kitas
        with signed_in(args, password) as (runtime, actor):
            # Exit 2 for a malformed passport/KITAS number; a passport finds the applicant
            # keyed by their KITAS.
            id_kind, number = resolve_identity(runtime, id_kind, number)
            found = lookup(runtime, actor, number, id_kind)
        answer: dict = {"found": found is not None, "applicant": None}
        if found is not None:
            answer = {"found": True, "source": found.source, "applicant": found.as_dict()}
        if args.json:
            print(json.dumps(answer, ensure_ascii=False, indent=2))
        elif found is None:
            print(say("cli.applicant.not_found", args))
        else:
            print(
                say(
                    "cli.applicant.found",
                    args,
                    name=found.name,
                    kind=found.id_kind,
                    source=Phrase(f"cli.applicant.source.{found.source}")
                    if messages.has(f"cli.applicant.source.{found.source}")
                    else found.source,
                )
            )
        return EXIT_OK

    return run_desk_command(run, json_errors=args.json)
