"""``mppdesk receipt|slip|checklist|handover``: printed documents as PDF files.

Data-dir commands: they run as the OS account that owns the data dir, without an officer
login; every print is audited (who, when, which record).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from mppdesk.cli import EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import add_data_dir_option, open_runtime_from, run_desk_command

FORMATS = ("80mm", "58mm", "a4")


def _common(p: argparse.ArgumentParser, default_format: str) -> None:
    add_data_dir_option(p)
    p.add_argument("--format", choices=FORMATS, default=default_format)
    p.add_argument("-o", "--output", type=Path, required=True, help="PDF file to write")
    p.add_argument("--lang", choices=("id", "en"), default="id")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("receipt", help="a visit's receipt (tanda terima) as PDF")
    p.add_argument("visit_id")
    _common(p, "80mm")
    p.set_defaults(handler=_receipt)

    p = subparsers.add_parser("slip", help='a visit\'s "berkas belum lengkap" slip as PDF')
    p.add_argument("visit_id")
    _common(p, "80mm")
    p.set_defaults(handler=_slip)

    p = subparsers.add_parser(
        "checklist", help="requirement checklist of services (no visit needed)"
    )
    p.add_argument("services", nargs="+", metavar="SERVICE")
    _common(p, "a4")
    p.set_defaults(handler=_checklist)

    p = subparsers.add_parser("handover", help="handover list (berita acara) for a manual agency")
    p.add_argument("agency")
    p.add_argument("--date", required=True, help="local date YYYY-MM-DD")
    add_data_dir_option(p)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--lang", choices=("id", "en"), default="id")
    p.set_defaults(handler=_handover)


def _write(path: Path, pdf: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(pdf)
    tmp.replace(path)
    print(f"{path} ({len(pdf)} bytes)", file=sys.stderr)


def _document(args: argparse.Namespace, build) -> int:
    def run() -> int:
        from mppdesk.desk.auth import os_actor

        runtime = open_runtime_from(args)
        try:
            pdf = build(runtime, os_actor())
        finally:
            runtime.close()
        _write(args.output, pdf)
        return EXIT_OK

    return run_desk_command(run)


def _receipt(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_receipt

    return _document(
        args, lambda rt, actor: print_receipt(rt, actor, args.visit_id, args.format, args.lang)
    )


def _slip(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_slip

    return _document(
        args, lambda rt, actor: print_slip(rt, actor, args.visit_id, args.format, args.lang)
    )


def _checklist(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_checklist

    return _document(
        args, lambda rt, actor: print_checklist(rt, args.services, args.format, args.lang)
    )


def _handover(args: argparse.Namespace) -> int:
    from mppdesk.desk.documents import print_handover

    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"--date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
        return EXIT_INVALID
    return _document(args, lambda rt, actor: print_handover(rt, actor, args.agency, day, args.lang))
