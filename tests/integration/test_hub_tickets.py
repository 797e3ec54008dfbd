"""The mall's queue at a real hub over HTTP on loopback, on PostgreSQL and on SQLite: priority
ordering by the stated rule, no-shows, true waiting and service times from the hub's stamps,
refusals of bad input that issue nothing, concurrent calls never sharing a ticket, and the
display's state (numbers and counters only)."""

from __future__ import annotations

import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from mppdesk.hub import schema as t
from mppdesk.hub import tickets
from mppdesk.hub.store import Desk
from tests.hub_fixtures import hub_on_backend

_groups = itertools.count(1)


def new_group() -> str:
    """A group of its own per test (the hub is shared by the module's tests)."""
    return f"Q{next(_groups)}{uuid.uuid4().hex[:1].upper()}"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    return tmp_path_factory.mktemp("hubkey") / "hub.key"


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def hub(request, key_file, tmp_path_factory):
    with hub_on_backend(request, key_file, tmp_path_factory) as handle:
        yield handle


class Desk_:
    def __init__(self, hub, http: requests.Session):
        self.hub, self.http = hub, http
        self.code = "K" + uuid.uuid4().hex[:5].upper()
        self.token = hub.store.add_desk(self.code)

    def post(self, path: str, body: dict, officer: str | None = "ani") -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "X-MPP-Desk": self.code}
        if officer:
            headers["X-MPP-Officer"] = officer
        return self.http.post(self.hub.url + path, json=body, headers=headers, timeout=20)

    def take(self, group: str, priority: str | None = None) -> dict:
        answer = self.post("/v1/tickets/take", {"group": group, "priority": priority})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def call(self, group: str, **extra) -> dict | None:
        answer = self.post("/v1/tickets/call", {"group": group, **extra})
        assert answer.status_code == 200, answer.text
        return answer.json()["ticket"]


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def count_tickets(hub, group: str) -> int:
    with hub.store.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(t.tickets).where(t.tickets.c.grp == group)
        ).scalar_one()


def test_priority_first_at_most_three_in_a_row_with_people_ahead(hub, http):
    desk = Desk_(hub, http)
    g = new_group()
    kinds = [None, None, "lansia", "disabilitas", "ibu-hamil", "membawa-balita", None]
    taken = [desk.take(g, kind) for kind in kinds]
    assert [x["number"] for x in taken] == [f"{g}-{i:03d}" for i in range(1, 8)]
    assert all(x["status"] == "waiting" for x in taken)
    # People ahead by the rule: regulars wait behind every priority ticket (three in a row).
    assert [x["ahead"] for x in taken] == [0, 1, 0, 1, 2, 4, 6]
    called = [desk.call(g)["number"] for _ in kinds]
    # Priority 3, 4, 5 in a row, then the oldest regular, then the last priority, then regulars.
    assert called == [f"{g}-{n:03d}" for n in (3, 4, 5, 1, 6, 2, 7)]
    assert desk.call(g) is None  # nobody waits: null, nothing issued
    assert count_tickets(hub, g) == 7


def test_no_show_and_done_with_true_wait_and_service_times(hub):
    store = hub.store
    desk = Desk("K00")
    g = new_group()
    t0 = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 08:00 WIB
    first = tickets.take(store, desk, g, None, "dukcapil", now=t0)
    second = tickets.take(store, desk, g, "lansia", now=t0 + timedelta(minutes=2))
    third = tickets.take(store, desk, g, None, now=t0 + timedelta(minutes=3))
    assert (first["ahead"], second["ahead"], third["ahead"]) == (0, 0, 2)
    a = tickets.call(store, desk, "ani", g, now=t0 + timedelta(minutes=5))
    assert a["number"] == second["number"] and a["called_at"] > a["issued_at"]
    b = tickets.call(store, desk, "ani", g, now=t0 + timedelta(minutes=6))
    assert b["number"] == first["number"]
    # The lansia came and was served; the first never came; the third was served at once.
    tickets.set_state(store, desk, "ani", a["number"], "served", now=t0 + timedelta(minutes=6))
    done = tickets.set_state(store, desk, "ani", a["number"], "done", now=t0 + timedelta(minutes=17))
    assert done["status"] == "done"
    gone = tickets.set_state(store, desk, "ani", b["number"], "no_show", now=t0 + timedelta(minutes=9))
    assert gone["status"] == "no_show" and gone["finished_at"]
    c = tickets.call(store, desk, "ani", g, now=t0 + timedelta(minutes=10))
    assert c["number"] == third["number"]
    tickets.set_state(store, desk, "ani", c["number"], "done", now=t0 + timedelta(minutes=14))
    # A no-show cannot become done; an unknown number is not found; nothing changes.
    from mppdesk.hub.store import HubError

    with pytest.raises(HubError) as refused:
        tickets.set_state(store, desk, "ani", b["number"], "done", now=t0 + timedelta(minutes=20))
    assert refused.value.code == "invalid" and "no_show" in refused.value.message
    with pytest.raises(HubError) as missing:
        tickets.set_state(store, desk, "ani", f"{g}-099", "done", now=t0 + timedelta(minutes=20))
    assert missing.value.status == 404
    times = tickets.day_times(store, "2026-12-03")
    mine = sorted(times.waits)
    # Waits issued → called: lansia 3 min, first 6 min, third 7 min (the no-show's wait counts).
    assert [w for w in mine if w in (180.0, 360.0, 420.0)] == [180.0, 360.0, 420.0]
    # Service called → done: lansia 12 min, third 4 min; the no-show has none.
    assert {720.0, 240.0} <= set(times.services)
    assert times.counts["no_show"] >= 1 and times.counts["done"] >= 2


def test_bad_input_is_refused_and_nothing_is_issued(hub, http):
    desk = Desk_(hub, http)
    g = new_group()
    bad_priority = desk.post("/v1/tickets/take", {"group": g, "priority": "vip"})
    assert bad_priority.status_code == 400
    error = bad_priority.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "priority" and "lansia" in error["message"]
    bad_group = desk.post("/v1/tickets/take", {"group": "??", "priority": None})
    assert bad_group.status_code == 400 and bad_group.json()["error"]["field"] == "group"
    assert desk.post("/v1/tickets/call", {"group": g}, officer=None).status_code == 400
    assert desk.post(f"/v1/tickets/{g}-001/state", {"state": "finished"}).status_code == 400
    assert desk.post(f"/v1/tickets/{g}-001/state", {"state": "done"}).status_code == 404
    assert count_tickets(hub, g) == 0
    # Still numbered from 1 afterwards: the refusals took no number.
    assert desk.take(g)["number"] == f"{g}-001"


def test_walk_in_is_issued_and_called_at_once(hub, http):
    desk = Desk_(hub, http)
    g = new_group()
    walk_in = desk.call(g, walk_in=True, label="samsat")
    assert walk_in["number"] == f"{g}-001" and walk_in["status"] == "called"
    assert walk_in["issued_at"] == walk_in["called_at"] and walk_in["counter"] == desk.code


def test_concurrent_calls_never_share_a_ticket(hub, http):
    desks = [Desk_(hub, http) for _ in range(4)]
    g = new_group()
    for i in range(12):
        desks[0].take(g, "lansia" if i % 4 == 0 else None)

    def calls(index: int) -> list[str]:
        with requests.Session() as own:  # each desk on its own connection
            d = desks[index]
            d_http, d.http = d.http, own
            try:
                return [d.call(g)["number"] for _ in range(3)]
            finally:
                d.http = d_http

    with ThreadPoolExecutor(4) as pool:
        got = [n for numbers in pool.map(calls, range(4)) for n in numbers]
    assert sorted(got) == [f"{g}-{i:03d}" for i in range(1, 13)]


def test_display_state_shows_calls_and_counters_only(hub, http):
    desk = Desk_(hub, http)
    g = new_group()
    desk.take(g, "lansia")
    desk.take(g)
    called = desk.call(g)
    state = http.get(hub.url + "/display/state", timeout=5)
    assert state.status_code == 200 and state.headers["cache-control"] == "no-store"
    group = next(x for x in state.json()["groups"] if x["group"] == g)
    assert group["calls"][0] == {
        "number": called["number"], "counter": desk.code, "at": called["called_at"]
    }
    assert group["waiting"] == 1
    assert set(group) == {"group", "label", "calls", "waiting"}
    page = http.get(hub.url + "/display", timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Nomor Antrean Dipanggil" in page.text and "nonce-" in page.headers["content-security-policy"]


def test_stats_for_a_supervisor_only(hub, http):
    desk = Desk_(hub, http)
    spv = "spv_" + desk.code.lower()
    hub.store.add_user(spv, "supervisor", "$argon2id$x")
    headers = {"Authorization": f"Bearer {desk.token}", "X-MPP-Desk": desk.code}
    day = tickets.mall_day(datetime.now(UTC))
    answer = http.get(
        hub.url + "/v1/tickets/stats", params={"date": day},
        headers={**headers, "X-MPP-Officer": spv}, timeout=5,
    )
    assert answer.status_code == 200 and answer.json()["date"] == day
    assert set(answer.json()["wait_s"]) == {"n", "mean", "p90"}
    officer = http.get(
        hub.url + "/v1/tickets/stats", params={"date": day},
        headers={**headers, "X-MPP-Officer": "ani"}, timeout=5,
    )
    assert officer.status_code == 403
