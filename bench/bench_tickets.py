"""The queue at the hub: calling the next ticket by the priority rule with a long line waiting.

``ticket_call_1000_waiting``: one ``mppdesk.hub.tickets.call`` (lock the group's counter,
read the oldest waiting ticket of each kind and the last calls, choose by the rule, mark it
called) with 1000 tickets of the group waiting, one in five a priority ticket, on a SQLite
hub file. Floor: one bare transaction on the same engine that reads one ticket by key and
updates it, the least a call must do. Goal: at most 8x the floor at p50 (indexes keep a long
line as cheap as a short one; reading every waiting ticket made it 30-45x).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Result, cost_result, time_calls

GOAL = 8.0


def run(quick: bool) -> list[Result]:
    from sqlalchemy import select, update

    from mppdesk.hub import schema as t
    from mppdesk.hub import tickets
    from mppdesk.hub.server import init_hub, open_store
    from mppdesk.hub.store import Desk

    waiting = 300 if quick else 1000
    calls = 50 if quick else 150
    root = Path(tempfile.mkdtemp(prefix="mppdesk-bench-tickets-"))
    try:
        url = f"sqlite:///{root / 'hub.sqlite'}"
        key_file = root / "hub.key"
        init_hub(url, key_file=key_file)
        store = open_store(url, key_file=key_file)
        try:
            desk = Desk("K01")
            start = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
            for i in range(waiting + calls + 2):
                tickets.take(store, desk, "F", "lansia" if i % 5 == 0 else None,
                             now=start + timedelta(seconds=i))
            moment = [start + timedelta(hours=2)]

            def call() -> None:
                moment[0] += timedelta(seconds=1)
                assert tickets.call(store, desk, "ani", "F", now=moment[0]) is not None

            samples = time_calls(call, calls)
            seq = [1]

            def floor() -> None:
                seq[0] += 1
                with store.engine.begin() as conn:
                    conn.execute(
                        select(t.tickets.c.seq).where(
                            t.tickets.c.grp == "F", t.tickets.c.day == "2026-12-03",
                            t.tickets.c.seq == seq[0],
                        )
                    ).first()
                    conn.execute(
                        update(t.tickets)
                        .where(t.tickets.c.grp == "F", t.tickets.c.day == "2026-12-03",
                               t.tickets.c.seq == seq[0])
                        .values(officer="ani")
                    )

            floor_samples = time_calls(floor, calls)
        finally:
            store.engine.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return [
        cost_result(
            "ticket_call_1000_waiting" if not quick else "ticket_call_300_waiting",
            samples, floor_samples, GOAL, size=f"{waiting} waiting, 1 in 5 priority",
        )
    ]
