"""``mppdesk agency-sim``: run the reference agency server (see mppdesk.sync.sim)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from mppdesk.sync.sim.command import DESCRIPTION, FAULTS_HELP, add_arguments, run

    parser = subparsers.add_parser(
        "agency-sim",
        help="run the reference agency server (HTTP, own SQLite store, injectable faults)",
        description=DESCRIPTION,
        epilog=FAULTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
