"""``mppdesk catalog list|show|check``: the catalog of services, no officer login needed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_OK
from mppdesk.cli.common import add_data_dir_option, data_dir_from, message_language, say


def register(subparsers: argparse._SubParsersAction) -> None:
    catalog = subparsers.add_parser("catalog", help="list, show and check service definitions")
    sub = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list the services")
    add_data_dir_option(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--lang", choices=("id", "en"), default=None, help="language (default: id)")
    p.set_defaults(handler=_list)

    p = sub.add_parser("show", help="print one service definition with its examples")
    add_data_dir_option(p)
    p.add_argument("service", help="service code, e.g. dukcapil/ktp-el")
    p.add_argument("--json", action="store_true")
    _add_message_lang(p)
    p.set_defaults(handler=_show)

    p = sub.add_parser(
        "check", help="validate the catalog (built-in, the data dir's, and any PATH given)"
    )
    add_data_dir_option(p)
    p.add_argument("paths", nargs="*", type=Path, help="extra catalog directories to check")
    _add_message_lang(p)
    p.set_defaults(handler=_check)


def _add_message_lang(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=("id", "en"),
        default=None,
        help="language of the messages (default: MPPDESK_LANG, the desk's setting, else id)",
    )


def _load(args: argparse.Namespace, extra: list[Path] | None = None):
    from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog_collecting

    dirs = builtin_catalog_dirs(data_dir_from(args)) + list(extra or [])
    return load_catalog_collecting(dirs)


def _print_problems(problems, args: argparse.Namespace) -> None:
    """Each problem with its code in brackets: docs/catalog-format.md lists the fix."""
    lang = message_language(args)
    for problem in problems:
        print(problem.line(lang), file=sys.stderr)


def _list(args: argparse.Namespace) -> int:
    catalog, problems = _load(args)
    if problems:
        _print_problems(problems, args)
        return EXIT_ERROR
    lang = message_language(args)
    rows = [
        {"service": code, "agency": s.agency, "name": s.name.get(lang)}
        for code, s in sorted(catalog.services.items())
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            print(f"{row['service']:40s} {row['name']}")
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    catalog, problems = _load(args)
    if problems:
        _print_problems(problems, args)
        return EXIT_ERROR
    if args.service not in catalog.services:
        print(say("cli.unknown_service", args, service=args.service), file=sys.stderr)
        return EXIT_INVALID
    service = catalog.services[args.service]
    document = service.model_dump(mode="json", exclude_none=True)
    document["service"] = service.code
    document["form_version"] = catalog.form_version(service.code)
    for example in document["examples"]:
        resolved = []
        for name in example.get("attachments", []):
            path = catalog.resolve_path(name)
            resolved.append(str(path) if path else name)
        example["attachments"] = resolved
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from mppdesk.forms.check import check_catalog

    catalog, problems = _load(args, args.paths)
    problems = list(problems) + check_catalog(catalog)
    _print_problems(problems, args)
    if problems:
        print(say("cli.check_problems", args, count=len(problems)), file=sys.stderr)
        return EXIT_ERROR
    print(
        say(
            "cli.check_ok",
            args,
            agencies=len(catalog.agencies),
            services=len(catalog.services),
        )
    )
    return EXIT_OK
