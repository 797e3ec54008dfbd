"""The command line of the reference agency server (``mppdesk agency-sim`` and
``python -m mppdesk.sync.sim``): one definition of the options for both."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from .faults import FaultSpecError, parse_fault_spec
from .server import AgencySim, SimConfig, is_agency_code

log = logging.getLogger(__name__)

DESCRIPTION = """\
Reference agency server for the MPP Desk sync protocol (resources/protocol/agency-sync.md).
Each agency is served at http://HOST:PORT/<agency> (health, submissions, attachments, status);
/_admin/stats, /_admin/faults, /_admin/advance, /_admin/pay and /_admin/submissions?agency=A
are for tests
and the demo. With --port 0 a free port is chosen; the first line on stdout is always
'listening on http://HOST:PORT'. Runs until SIGINT or SIGTERM.
"""

FAULTS_HELP = """\
fault SPEC: comma-separated rules SCOPE:FAULT=VALUE[:PARAM=VALUE...]; SCOPE is an agency
code or '*' (an agency's own rule replaces the '*' rule for the same fault).
  drop_after_commit=P            POST/PUT: store and commit, then close without answering
  drop_midway=P                  POST/PUT: read half the body, close; nothing stored
  statusNNN=P[:retry_after=S]    answer NNN (400..599) without processing
  bad_billing=P                  POST/GET of a fee-bearing submission: a malformed billing record
  slow=P[:delay=S]               wait S seconds (default 1) before processing
  refuse_for=S                   for S seconds close connections at once (TCP reset)
  unauthorized_for=S             for S seconds answer 401 (not /health)
  forbidden_for=S                for S seconds answer 403 (not /health)
P is a probability in [0, 1] drawn from --seed; S is seconds, windows counted from start
(or from POST /_admin/faults). Example:
  dukcapil:drop_after_commit=0.2,*:status500=0.1,bpjs:status429=0.1:retry_after=2,
  *:slow=0.05:delay=1.5,imigrasi:refuse_for=10,polri:unauthorized_for=5
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument(
        "--agencies",
        default=None,
        help="comma-separated agency codes to serve (default: any agency code)",
    )
    parser.add_argument(
        "--db",
        default=":memory:",
        help="the sim's own SQLite file (default: in memory, gone when it stops)",
    )
    parser.add_argument(
        "--faults", default="", metavar="SPEC", help="faults to inject (grammar below)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default 0)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="AGENCY=TOKEN",
        help="require this bearer token for AGENCY ('*' for every agency); repeatable",
    )
    parser.add_argument(
        "--advance-after",
        type=float,
        default=None,
        metavar="S",
        help="move a submission's status one step every S seconds once its files are complete "
        "(default: only on POST /_admin/advance)",
    )
    parser.add_argument(
        "--billing-ttl",
        type=float,
        default=2 * 24 * 3600.0,
        metavar="S",
        help="a bill issued for a fee can be paid for S seconds, then expires (default 2 days)",
    )


def config_from(args: argparse.Namespace) -> SimConfig:
    """The config for ``args``; ValueError names the option that is wrong."""
    agencies = None
    if args.agencies:
        codes = [code.strip() for code in args.agencies.split(",") if code.strip()]
        bad = [code for code in codes if not is_agency_code(code)]
        if bad or not codes:
            raise ValueError(f"--agencies: not agency codes: {', '.join(bad) or '(none given)'}")
        agencies = frozenset(codes)
    tokens: dict[str, str] = {}
    for item in args.token:
        agency, sep, token = item.partition("=")
        agency = agency.strip()
        if not sep or not token or (agency != "*" and not is_agency_code(agency)):
            raise ValueError(f"--token {item.split('=')[0]}=...: expected AGENCY=TOKEN")
        tokens[agency] = token
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: must be 0 to 65535")
    if args.advance_after is not None and not args.advance_after > 0:
        raise ValueError(f"--advance-after {args.advance_after}: must be a positive number")
    if not 0 <= args.billing_ttl <= 365 * 24 * 3600:
        raise ValueError(f"--billing-ttl {args.billing_ttl}: must be 0 to a year in seconds")
    try:
        parse_fault_spec(args.faults)
    except FaultSpecError as error:
        raise ValueError(f"--faults: {error}") from None
    return SimConfig(
        host=args.host,
        port=args.port,
        agencies=agencies,
        db_path=args.db,
        faults=args.faults,
        seed=args.seed,
        tokens=tokens,
        advance_after_s=args.advance_after,
        billing_ttl_s=args.billing_ttl,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; exit 0 after a clean stop, 2 on bad options, 1 if it cannot
    listen or open its store."""
    try:
        config = config_from(args)
    except ValueError as error:
        print(f"agency-sim: {error}", file=sys.stderr)
        return 2
    try:
        sim = AgencySim(config)
    except OSError as error:
        print(f"agency-sim: cannot listen on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # sqlite3 errors: the store file is unusable
        print(f"agency-sim: cannot open the store {config.db_path}: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sim.start()
        print(f"listening on {sim.url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mppdesk.sync.sim",
        description=DESCRIPTION,
        epilog=FAULTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more on stderr")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from mppdesk.core.masking import MaskingFilter

    for handler in logging.getLogger().handlers:  # submissions carry NIKs: mask every record
        handler.addFilter(MaskingFilter())
    return run(args)
