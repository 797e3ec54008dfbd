"""``mppdesk demo``: a throwaway desk with demo accounts, visits and a live agency server."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from mppdesk.cli import EXIT_OK
from mppdesk.cli.common import bounded_int, run_desk_command


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="open a demo desk (throwaway data, demo agency server)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the demo here instead of a temporary folder removed at exit",
    )
    p.add_argument("--visits", type=bounded_int(0, 10_000), default=12, help="demo visits to create")
    p.add_argument(
        "--no-ui", action="store_true", help="headless: create, sync once, print a summary and exit"
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="headless: keep the agency server and sync running until Ctrl+C",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    throwaway = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="mppdesk-demo-")) if throwaway else args.data_dir

    def run() -> int:
        from mppdesk.desk.demo import start_demo

        env = start_demo(data_dir, visits=args.visits)
        hub = None
        try:
            hub = _start_demo_hub(env, data_dir)
            print(
                f"demo data dir: {data_dir}" + (" (removed at exit)" if throwaway else ""),
                file=sys.stderr,
            )
            print(f"demo agency server: {env.sim.url}", file=sys.stderr)
            print(f"demo mall hub: {hub.url} (desk {env.runtime.settings.desk.code})", file=sys.stderr)
            for username, role, password, _name in env.accounts:
                print(f"  {role:10s} {username:8s} password: {password}", file=sys.stderr)
            if not args.no_ui and not args.serve:
                from mppdesk.ui.launch import launch_demo  # the desk window

                return launch_demo(env)
            from mppdesk.desk.sync_status import backlog_summary
            from mppdesk.sync.worker import SyncWorker

            worker = SyncWorker(env.runtime.store, env.runtime.settings, env.runtime.blobs)
            try:
                if args.serve:
                    thread = threading.Thread(target=worker.run_forever, daemon=True)
                    thread.start()
                    print("serving; Ctrl+C to stop", file=sys.stderr)
                    try:
                        thread.join()
                    except KeyboardInterrupt:
                        worker.stop()
                        thread.join(timeout=10)
                else:
                    worker.drain(60)
                    _drain_hub(env)
            finally:
                worker.close()
            summary = backlog_summary(env.runtime)
            summary["visits"] = len(env.visits)
            summary["data_dir"] = str(data_dir)
            summary["hub"] = _hub_summary(env, hub)
            if args.json:
                print(json.dumps(summary, indent=2))
            else:
                print(f"{len(env.visits)} demo visits; outbox: {summary['totals']}")
            return EXIT_OK
        finally:
            env.close()
            if hub is not None:
                hub.stop()

    try:
        return run_desk_command(run)
    finally:
        if throwaway:
            from mppdesk.store.hub_keys import forget_hub_token

            forget_hub_token(data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)


def _start_demo_hub(env, data_dir: Path):
    """An embedded mall hub (SQLite in the demo's data dir, loopback), the demo accounts
    enrolled at it, and the demo desk joined: its sync worker replicates from the start."""
    from mppdesk.desk.hub import join
    from mppdesk.hub.server import init_hub, serve_in_thread
    from mppdesk.settings import load_settings
    from mppdesk.store import repo

    db_url = f"sqlite:///{(data_dir / 'hub.sqlite').resolve()}"
    key_file = data_dir / "hub.key"
    init_hub(db_url, key_file=key_file)
    hub = serve_in_thread(db_url, key_file=key_file)
    try:
        with env.runtime.store.read() as session:
            officers = [
                (o.username, o.role, o.password_hash, o.full_name)
                for o in repo.list_officers(session)
            ]
        for username, role, password_hash, full_name in officers:
            hub.store.add_user(username, role, password_hash, full_name)
        code = env.runtime.settings.desk.code
        join(data_dir, hub.url, code, hub.store.add_desk(code))
        env.runtime.settings = load_settings(data_dir)
    except BaseException:
        hub.stop()
        raise
    return hub


def _drain_hub(env) -> None:
    from mppdesk.sync.hub_sync import HubLane, client_for

    client = client_for(env.runtime.settings, env.runtime.store)
    if client is not None:
        lane = HubLane(env.runtime.store, env.runtime.settings, client)
        try:
            lane.drain(30)
        finally:
            client.close()


def _hub_summary(env, hub) -> dict:
    from mppdesk.desk.hub import status

    state = status(env.runtime, probe=False).as_dict()
    totals = hub.store.stats().get("totals", {}) if hub is not None else {}
    return {"url": state["url"], "pending": state["pending"], "totals": totals}
