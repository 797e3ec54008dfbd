"""``mppdesk sync`` and ``mppdesk agency``: delivery to agencies, no officer login needed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from mppdesk.cli import EXIT_ERROR, EXIT_INVALID, EXIT_NEEDS_PERSON, EXIT_OK, EXIT_TIMEOUT
from mppdesk.cli.common import (
    add_data_dir_option,
    bounded_float,
    data_dir_from,
    open_runtime_from,
    opened_runtime,
    run_desk_command,
)

SYNC_EPILOG = """\
exit codes with --drain:
  0  everything due was delivered
  3  --timeout ran out; what was in flight went back to pending (nothing lost), or
     changes are still to be pushed to the mall hub (a joined desk; "hub" in --json)
  5  entries need a person: paused (credentials, address, unconfigured agency), failed
     (the agency refused them), flagged (answers outside the protocol, lost at the agency,
     an unreadable attachment on this PC) or held for a supervisor's approval
  1  stopped by a signal, or an error
SIGTERM or Ctrl+C stop within a second or two; entries in flight go back to pending.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sync",
        help="send the outbox to the agencies",
        epilog=SYNC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_dir_option(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass over due entries")
    mode.add_argument(
        "--drain",
        action="store_true",
        help="until nothing is pending or in flight (exit 5 when entries need a person)",
    )
    p.add_argument(
        "--timeout",
        type=bounded_float(0.0, 1e7),
        default=300.0,
        help="seconds, with --drain (exit 3 when over)",
    )
    p.add_argument("--json", action="store_true", help="summary per agency as JSON on stdout")
    p.set_defaults(handler=_sync)

    agency = subparsers.add_parser("agency", help="agency endpoints in settings.toml")
    sub = agency.add_subparsers(dest="agency_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="list agencies with their endpoint and queue")
    add_data_dir_option(q)
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=_agency_list)
    q = sub.add_parser("set", help="set an agency's endpoint")
    add_data_dir_option(q)
    q.add_argument("code")
    target = q.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--url", help="base URL, e.g. https://api.agency.example/mpp (no user:password@)"
    )
    target.add_argument("--manual", action="store_true", help="no API: printed handover list")
    q.add_argument("--token-env", help="environment variable holding the bearer token")
    q.add_argument("--connect-timeout", type=bounded_float(0.1, 600.0))
    q.add_argument("--read-timeout", type=bounded_float(0.1, 600.0))
    q.add_argument(
        "--ca-file",
        help="PEM file of the CA that signed the agency's certificate ('' for the system's)",
    )
    q.set_defaults(handler=_agency_set)
    from mppdesk.cli.printing import register_deliver  # the handover lives with its documents

    register_deliver(sub)


def _summary(runtime) -> dict:
    from mppdesk.desk.sync_status import backlog_summary

    return backlog_summary(runtime)


def _sync(args: argparse.Namespace) -> int:
    def run() -> int:
        from mppdesk.sync.worker import SyncWorker

        runtime = open_runtime_from(args)
        worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs)

        def progress(report) -> None:
            if report.sent or report.status_updates:
                print(
                    f"sync: sent {report.sent}, delivered {report.delivered}, retry {report.retried}, "
                    f"failed {report.failed}, paused {report.paused}, flagged {report.flagged}, "
                    f"status {report.status_updates}",
                    file=sys.stderr,
                    flush=True,
                )

        stop = threading.Event()
        stop_hub = None
        hub_report = None

        def on_signal(signum, _frame) -> None:
            stop.set()
            if stop_hub is not None:
                stop_hub()
            # Not here: the handler runs on the main thread, which may hold a lock stop() needs.
            threading.Thread(target=worker.stop, name="sync-stop", daemon=True).start()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        code = EXIT_OK
        try:
            if args.once:
                progress(worker.run_once())
            elif args.drain:
                waiting = _summary(runtime)["totals"]["pending"]
                print(
                    f"sync: draining {waiting} waiting entr{'y' if waiting == 1 else 'ies'} "
                    f"(timeout {args.timeout:g} s)",
                    file=sys.stderr,
                    flush=True,
                )
                hub_drain = _HubDrain(runtime, args.timeout)
                stop_hub = hub_drain.stop
                finished, _total = worker.drain(args.timeout, on_pass=progress)
                hub_report = hub_drain.join()
                if stop.is_set():
                    print("sync: stopped; entries in flight are pending again", file=sys.stderr)
                    code = EXIT_ERROR
                elif not finished:
                    print(
                        f"sync: time ran out after {args.timeout:g} s; entries in flight are "
                        "pending again",
                        file=sys.stderr,
                    )
                    code = EXIT_TIMEOUT
                else:
                    code = _needs_a_person(runtime)
                if hub_report is not None and hub_report.pending:
                    print(
                        f"sync: {hub_report.pending} change(s) not yet at the hub "
                        f"({hub_report.messages[-1] if hub_report.messages else 'no answer'})",
                        file=sys.stderr,
                    )
                    code = EXIT_TIMEOUT if code == EXIT_OK else code
            else:
                print("sync: running until stopped (Ctrl+C)", file=sys.stderr, flush=True)
                worker.run_forever(on_pass=progress)
            summary = _summary(runtime)
            if args.drain:
                summary["hub"] = hub_report.as_dict() if hub_report is not None else None
        finally:
            worker.close()
            runtime.close()
        if args.json:
            print(json.dumps(summary, indent=2, ensure_ascii=False))
        else:
            for agency, counts in sorted(summary["agencies"].items()):
                print(f"{agency:24s} " + " ".join(f"{k}={v}" for k, v in counts.items() if v))
        return code

    return run_desk_command(run)


class _HubDrain:
    """The push to the mall hub drained beside the agencies' (its own thread), then one
    pull; nothing when the desk has not joined a hub."""

    def __init__(self, runtime, timeout_s: float) -> None:
        from mppdesk.sync.hub_client import HubConfigError
        from mppdesk.sync.hub_sync import HubLane, client_for

        self.report = None
        self._lane = None
        self._thread: threading.Thread | None = None
        try:
            client = client_for(runtime.settings, runtime.store)
        except (HubConfigError, ValueError) as exc:
            print(f"sync: the hub cannot be used: {exc}", file=sys.stderr)
            client = None
        if client is None:
            return
        self._lane = HubLane(runtime.store, runtime.settings, client)
        self._thread = threading.Thread(
            target=self._run, args=(timeout_s,), name="hub-drain", daemon=True
        )
        self._thread.start()

    def _run(self, timeout_s: float) -> None:
        from mppdesk.store.hub import LAST_ERROR, get_state

        assert self._lane is not None
        try:
            self.report = self._lane.drain(timeout_s)
            if self.report.pending:
                with self._lane.store.read() as session:
                    error = get_state(session, LAST_ERROR) or {}
                self.report.messages.append(str(error.get("message") or "no answer"))
        except Exception as exc:  # noqa: BLE001 - reported, the agencies' drain goes on
            from mppdesk.sync.hub_sync import DrainReport

            self.report = DrainReport(ok=False, messages=[type(exc).__name__])

    def stop(self) -> None:
        if self._lane is not None:
            threading.Thread(target=self._lane.stop, name="hub-stop", daemon=True).start()

    def join(self):
        if self._thread is None:
            return None
        self._thread.join()
        assert self._lane is not None
        self._lane.client.close()
        return self.report


def _needs_a_person(runtime) -> int:
    """Exit 5, with what waits for whom, when a drain left entries no retry will move."""
    from mppdesk.desk.sync_status import needing_a_person

    waiting = needing_a_person(runtime)
    if not waiting:
        return EXIT_OK
    words = {
        "paused": "paused (credentials, address or an unconfigured agency)",
        "failed": "refused by the agency",
        "flagged": "flagged for a supervisor",
        "held": "held for a supervisor's approval",
    }
    parts = [f"{count} {words.get(state, state)}" for state, count in sorted(waiting.items())]
    print("sync: entries need a person: " + "; ".join(parts), file=sys.stderr)
    return EXIT_NEEDS_PERSON


def _agency_list(args: argparse.Namespace) -> int:
    def run() -> int:
        with opened_runtime(args) as runtime:
            summary = _summary(runtime)
            rows = []
            for code, agency in sorted(runtime.catalog.agencies.items()):
                endpoint = runtime.settings.agencies.get(code)
                rows.append(
                    {
                        "agency": code,
                        "name": agency.name.id,
                        "mode": endpoint.mode if endpoint else "unconfigured",
                        "base_url": endpoint.base_url if endpoint else None,
                        "token_env": endpoint.token_env if endpoint else None,
                        "queue": summary["agencies"].get(code, {}),
                    }
                )
        if args.json:
            print(json.dumps(rows, indent=2, ensure_ascii=False))
        else:
            for row in rows:
                print(f"{row['agency']:24s} {row['mode']:12s} {row['base_url'] or ''}")
        return EXIT_OK

    return run_desk_command(run)


def _agency_set(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from mppdesk.settings import AgencyEndpoint, SettingsError, load_settings, save_settings

    data_dir = data_dir_from(args)
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.url is not None and not args.url.startswith(("http://", "https://")):
        print("--url: expected an http:// or https:// URL", file=sys.stderr)
        return EXIT_INVALID
    if args.url is not None and "@" in urlsplit(args.url).netloc:
        # The URL is not echoed: what stands before the @ is a secret.
        print(
            "--url: credentials (user:password@) are not allowed in the URL; "
            "name the token's environment variable with --token-env",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.ca_file and not Path(args.ca_file).expanduser().is_file():
        print(f"--ca-file: no such file {args.ca_file!r}", file=sys.stderr)
        return EXIT_INVALID
    endpoint = settings.agencies.get(args.code) or AgencyEndpoint(code=args.code)
    endpoint = replace(
        endpoint,
        mode="manual" if args.manual else "http",
        base_url="" if args.manual else args.url.rstrip("/"),
    )
    if args.token_env is not None:
        endpoint = replace(endpoint, token_env=args.token_env or None)
    if args.connect_timeout is not None:
        endpoint = replace(endpoint, connect_timeout_s=args.connect_timeout)
    if args.read_timeout is not None:
        endpoint = replace(endpoint, read_timeout_s=args.read_timeout)
    if args.ca_file is not None:
        ca_file = str(Path(args.ca_file).expanduser().resolve()) if args.ca_file else None
        endpoint = replace(endpoint, ca_file=ca_file)
    path = save_settings(data_dir, settings.with_agency(endpoint))

    def resume() -> int:
        from mppdesk.desk.sync_status import resume_agency

        with opened_runtime(args) as runtime:
            resumed = resume_agency(runtime, args.code)
        print(
            f"{args.code}: {endpoint.mode} {endpoint.base_url} saved in {path}; "
            f"{resumed} paused entr{'y' if resumed == 1 else 'ies'} resumed",
            file=sys.stderr,
        )
        return EXIT_OK

    return run_desk_command(resume)
