"""Resent ticket steps keep the desk's time (issue 14 leftover), over real HTTP on a
PostgreSQL hub that a test stops and starts again on the same port.

A joined desk calls tickets at the hub, the hub goes away, the desk serves, finishes and
marks no-shows at times its runtime clock is set to; the hub comes back and the next call
that reaches it resends those steps. The hub keeps the desk's times when it believes them
(`judge_claim`: aware, at most 2 minutes ahead of the hub, on the ticket's day, not before
the ticket's previous step), so its wait and service figures, the stats route and the mall
daily report equal figures recomputed here from the desk's own times. A claim it does not
believe (an hour ahead, before the call, yesterday, no time at all) gets the hub's clock and a
note the report counts; a live step always gets the hub's clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from mppdesk.desk import hub as desk_hub
from mppdesk.desk import tickets
from mppdesk.desk.runtime import open_runtime
from mppdesk.hub import schema
from mppdesk.store import tickets as store_tickets
from mppdesk.store.models import QueueTicket
from tests.conftest import PASSWORD, fresh_pg_database, make_user
from tests.hub_fixtures import HASHER, Hub


@pytest.fixture
def hub(tmp_path):
    with fresh_pg_database("mppdesk_resend") as url:
        running = Hub(tmp_path, url)
        running.store.add_user("ani", "officer", HASHER.hash(PASSWORD), "Ani")
        running.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")
        try:
            yield running
        finally:
            running.stop()


class Clock:
    """The desk's clock: real time until a test sets it."""

    def __init__(self) -> None:
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        return self.now or datetime.now(UTC)


@pytest.fixture
def counter(tmp_path, hub):
    data_dir = tmp_path / "K03"
    data_dir.mkdir()
    open_runtime(data_dir).close()
    desk_hub.join(data_dir, hub.url, "K03", hub.store.add_desk("K03"))
    runtime = open_runtime(data_dir)
    runtime.clock = Clock()
    try:
        yield runtime, make_user(runtime, "ani", "officer")
    finally:
        runtime.close()


class Supervisor:
    """Another desk's supervisor reading the hub over HTTP (stats and the daily report)."""

    def __init__(self, hub) -> None:
        self.hub, self.code = hub, "K09"
        self.token = hub.store.add_desk(self.code)
        self.http = requests.Session()

    def _headers(self, officer: str) -> dict:
        return {"Authorization": f"Bearer {self.token}", "X-MPP-Desk": self.code,
                "X-MPP-Officer": officer}

    def get(self, path: str, **params) -> dict:
        answer = self.http.get(self.hub.url + path, params=params, headers=self._headers("sari"),
                               timeout=20)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: dict) -> requests.Response:
        return self.http.post(self.hub.url + path, json=body, headers=self._headers("ani"),
                              timeout=20)


@pytest.fixture
def supervisor(hub):
    reader = Supervisor(hub)
    yield reader
    reader.http.close()


def _hub_rows(hub, day: str) -> dict[str, dict]:
    c = schema.tickets.c
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            select(c.grp, c.seq, c.status, c.issued_at, c.called_at, c.served_at, c.finished_at)
            .where(c.day == day)
        ).all()
    return {f"{r.grp}-{r.seq:03d}": r._asdict() for r in rows}


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[math.ceil(0.9 * len(ordered)) - 1], 1)


def _hub_day(runtime) -> str:
    with runtime.store.read() as session:
        return session.query(QueueTicket).first().local_date


def _call_three(runtime, ani) -> dict[str, tickets.QueueTicket]:
    for _ in range(3):
        tickets.take(runtime, "F")
    called = {}
    for _ in range(3):
        ticket = tickets.call_next(runtime, ani, "F", walk_in=False)
        assert ticket is not None and ticket.source == "hub"
        called[ticket.number] = ticket
    assert sorted(called) == ["F-001", "F-002", "F-003"]
    return called


def test_steps_taken_while_the_hub_was_away_keep_the_desks_times(hub, counter, supervisor):
    runtime, ani = counter
    called = _call_three(runtime, ani)
    base = max(t.called_at for t in called.values())
    hub.stop()
    # The hub is away: the counter works on, its clock at known times after the last call.
    plan = [("F-001", "served", 5), ("F-001", "done", 20), ("F-002", "no_show", 30),
            ("F-003", "served", 40), ("F-003", "done", 47)]
    desk_times: dict[tuple[str, str], datetime] = {}
    for number, state, seconds in plan:
        runtime.clock.now = base + timedelta(seconds=seconds)
        tickets.step(runtime, ani, number, state)
        desk_times[number, state] = runtime.clock.now
    with runtime.store.read() as session:
        assert len(store_tickets.unsent_steps(session)) == 3  # kept, nothing lost

    hub.start()
    runtime.clock.now = None
    assert tickets.call_next(runtime, ani, "F", walk_in=False) is None  # reaches the hub
    with runtime.store.read() as session:
        assert store_tickets.unsent_steps(session) == []

    day = _hub_day(runtime)
    rows = _hub_rows(hub, day)
    for (number, state), moment in desk_times.items():
        column = "served_at" if state == "served" else "finished_at"
        assert _at(rows[number][column]) == moment, (number, state)  # the desk's exact time
        assert rows[number]["status"] == {"F-001": "done", "F-002": "no_show",
                                          "F-003": "done"}[number]

    # The figures, recomputed here: waits from the hub's issue and call stamps, services from
    # the call to the desk's own finishing time.
    waits = [(_at(r["called_at"]) - _at(r["issued_at"])).total_seconds() for r in rows.values()]
    services = [
        (desk_times[n, "done"] - _at(rows[n]["called_at"])).total_seconds()
        for n in ("F-001", "F-003")
    ]
    expected = {
        "wait_s": {"n": 3, "mean": round(sum(waits) / 3, 1), "p90": _p90(waits)},
        "service_s": {"n": 2, "mean": round(sum(services) / 2, 1), "p90": _p90(services)},
    }
    stats = supervisor.get("/v1/tickets/stats", date=day)
    assert {k: stats[k] for k in expected} == expected
    assert stats["counts"] == {"waiting": 0, "called": 0, "served": 0, "done": 2, "no_show": 1}
    report = supervisor.get("/v1/reports/daily", date=day)["tickets"]
    group = report["groups"]["F"]
    assert {k: group[k] for k in expected} == expected
    assert group["counts"]["no_show"] == 1 and group["label"] == "dukcapil"
    assert report["hub_clock"] == {"steps": 0, "by_reason": {}}


def test_claims_the_hub_does_not_believe_get_its_clock_and_are_counted(
    hub, counter, supervisor
):
    runtime, ani = counter
    called = _call_three(runtime, ani)
    base = max(t.called_at for t in called.values())
    hub.stop()
    # F-001: a no-show "10 s before it was called" (out of order);
    # F-002: done "an hour from now" (a clock running ahead, or a lie);
    # F-003: served and done 5 s and 15 s after the last call (believed: within the skew).
    lies = [("F-001", "no_show", called["F-001"].called_at - timedelta(seconds=10)),
            ("F-002", "done", datetime.now(UTC) + timedelta(hours=1)),
            ("F-003", "served", base + timedelta(seconds=5)),
            ("F-003", "done", base + timedelta(seconds=15))]
    for number, state, moment in lies:
        runtime.clock.now = moment
        tickets.step(runtime, ani, number, state)
    hub.start()
    runtime.clock.now = None
    before = datetime.now(UTC)
    assert tickets.call_next(runtime, ani, "F", walk_in=False) is None  # the resend
    after = datetime.now(UTC)

    day = _hub_day(runtime)
    rows = _hub_rows(hub, day)
    for number in ("F-001", "F-002"):  # the hub's own clock at the resend
        assert before <= _at(rows[number]["finished_at"]) <= after, number
    assert _at(rows["F-003"]["served_at"]) == lies[2][2]
    assert _at(rows["F-003"]["finished_at"]) == lies[3][2]

    # A live step keeps the hub's clock, whatever the desk's says.
    tickets.take(runtime, "F")
    live = tickets.call_next(runtime, ani, "F", walk_in=False)
    runtime.clock.now = live.called_at + timedelta(minutes=30)
    before = datetime.now(UTC)
    tickets.step(runtime, ani, live.number, "done")
    after = datetime.now(UTC)
    assert before <= _at(_hub_rows(hub, day)[live.number]["finished_at"]) <= after

    # Claims straight over HTTP: yesterday, no time, a resent flag that is no flag.
    taken = supervisor.post("/v1/tickets/take", {"group": "F"}).json()
    assert supervisor.post("/v1/tickets/call", {"group": "F"}).json()["ticket"]["number"] == (
        taken["number"]
    )
    path = f"/v1/tickets/{taken['number']}/state"
    bad_flag = supervisor.post(path, {"state": "served", "resent": "ya"})
    assert bad_flag.status_code == 400 and bad_flag.json()["error"]["field"] == "resent"
    yesterday = (datetime.now(UTC) - timedelta(days=1, hours=1)).isoformat()
    served = supervisor.post(path, {"state": "served", "resent": True, "at": yesterday})
    assert served.status_code == 200 and served.json()["clock"] == "hub"
    done = supervisor.post(path, {"state": "done", "resent": True, "at": "kemarin sore"})
    assert done.status_code == 200 and done.json()["clock"] == "hub"

    clock = supervisor.get("/v1/reports/daily", date=day)["tickets"]["hub_clock"]
    assert clock == {"steps": 4, "by_reason": {"order": 1, "future": 1, "day": 1,
                                               "unparsable": 1}}
