"""Payments reach the mall hub (issue 14 over issue 13): a desk's bills go up with its other
replicated rows, and the mall scope's daily figures show the money.

A real hub on loopback (SQLite, and PostgreSQL when ``MPPDESK_TEST_PG_URL`` is set: its push
writes through binary COPY and a pipelined merge, a different path), a real desk joined to it
with its own encrypted store, the reference agency server issuing the bill and taking the
payment (``/_admin/pay``), and the desk's sync worker and hub lane run step by step.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from argon2 import PasswordHasher
from sqlalchemy import select

from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import login
from mppdesk.desk.runtime import open_runtime
from mppdesk.hub import schema as hub_schema
from mppdesk.hub.billing import FIELDS
from mppdesk.hub.server import init_hub, serve_in_thread
from mppdesk.store import billing as bills
from mppdesk.store import hub as hub_store
from mppdesk.sync.hub_sync import HubLane, client_for
from mppdesk.sync.worker import SyncWorker
from tests.conftest import PASSWORD, cli_json, run_cli
from tests.example_visits import Clock, agency_settings, finalize, start_sim

HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
SKCK = "polri/skck"  # a fixed PNBP fee of Rp30.000
MALL_TZ = ZoneInfo("Asia/Jakarta")
_codes = itertools.count(1)


def _desk_code() -> str:
    return f"B{next(_codes)}{uuid.uuid4().hex[:3].upper()}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    """One hub per backend for the module; each test enrolls desks of its own."""
    root = tmp_path_factory.mktemp("hub")
    key_file = root / "hub.key"
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_module_url")
    else:
        url = f"sqlite:///{root / 'hub.sqlite'}"
    init_hub(url, key_file=key_file)
    handle = serve_in_thread(url, key_file=key_file)
    handle.store.add_user("ani", "officer", HASHER.hash(PASSWORD), "Ani")
    handle.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")
    yield handle
    handle.stop()


class Desk:
    """A joined desk: its runtime, its hub lane and a sync worker against the agency sim."""

    def __init__(self, data_dir: Path, hub, sim, clock: Clock):
        data_dir.mkdir()
        open_runtime(data_dir).close()
        self.code = _desk_code()
        desk_hub.join(data_dir, hub.url, self.code, hub.store.add_desk(self.code))
        self.runtime = open_runtime(data_dir)
        client = client_for(self.runtime.settings, self.runtime.store)
        assert client is not None
        self.lane = HubLane(self.runtime.store, self.runtime.settings, client)
        self.runtime.settings = agency_settings(
            self.runtime.settings, {"polri": sim.agency_url("polri")}
        )
        self.worker = SyncWorker(
            self.runtime.store, self.runtime.settings, self.runtime.blobs,
            clock=clock, rand=lambda: 0.5,
        )

    def waiting(self) -> list[dict]:
        """The records the hub lane pushes next (as they will cross the wire)."""
        with self.runtime.store.read() as session:
            return hub_store.records(session, hub_store.journal_batch(session))

    def close(self) -> None:
        self.worker.close()
        self.lane.stop()
        self.runtime.close()


@pytest.fixture
def sim(tmp_path):
    handle = start_sim(tmp_path)
    yield handle
    handle.stop()


@pytest.fixture
def desk(tmp_path, hub, sim):
    made = Desk(tmp_path / "desk", hub, sim, Clock())
    made.lane.drain(10.0)  # accounts come from the hub
    yield made
    made.close()


def _mall_billing(desk: Desk, day: str) -> dict:
    """The mall scope's figures as a supervisor at the desk reads them (HTTP to the hub)."""
    sari = login(desk.runtime, "sari", PASSWORD)
    return desk_hub.mall_daily_report(desk.runtime, sari, day)["billing"]


def _hub_bill(hub, desk_code: str, submission_id: str):
    c = hub_schema.billing.c
    with hub.store.engine.connect() as conn:
        return conn.execute(
            select(hub_schema.billing).where(c.desk == desk_code, c.submission_id == submission_id)
        ).first()


def test_a_bill_paid_at_the_agency_reaches_the_mall_totals_once(desk, hub, sim, tmp_path):
    ani = login(desk.runtime, "ani", PASSWORD)
    skck = finalize(desk.runtime, ani, SKCK)
    assert desk.worker.run_once().delivered == 1
    with desk.runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
    assert bill is not None and bill.state == "unpaid"

    # The bill goes up with the desk's other rows, and carries nothing about the applicant.
    waiting = [r for r in desk.waiting() if r["kind"] == "billing"]
    assert [r["id"] for r in waiting] == [skck.submission_id]
    assert set(waiting[0]["body"]) <= FIELDS
    assert desk.lane.drain(10.0).pending == 0
    row = _hub_bill(hub, desk.code, skck.submission_id)
    assert (row.state, row.amount, row.code, row.agency) == ("unpaid", 30000, bill.code, "polri")

    paid = requests.post(
        sim.url + "/_admin/pay",
        json={"agency": "polri", "submission_id": skck.submission_id},
        timeout=(2, 10),
    )
    assert paid.status_code == 200, paid.text
    ntpn = paid.json()["billing"]["ntpn"]
    desk.worker.clock.advance(3600)  # the status pull is due
    assert desk.worker.run_once().status_updates >= 1
    with desk.runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
    assert bill.state == "paid" and bill.ntpn == ntpn

    replay = desk.waiting()  # what the next push carries: the paid state
    assert any(r["kind"] == "billing" and r["body"]["state"] == "paid" for r in replay)
    assert desk.lane.drain(10.0).pending == 0
    day = bill.paid_at.astimezone(MALL_TZ).date().isoformat()
    mall = _mall_billing(desk, day)
    assert mall["collected"]["polri"] == {"paid": 1, "amount": 30000}
    assert mall["collected_total"] == {"paid": 1, "amount": 30000}
    stored = _hub_bill(hub, desk.code, skck.submission_id)
    assert (stored.state, stored.ntpn) == ("paid", ntpn)

    # The same push again (an ack lost on the way back): acknowledged, nothing changes.
    again = desk.lane.client.push(replay)
    assert again.ok, again.message
    assert _hub_bill(hub, desk.code, skck.submission_id) == stored
    assert _mall_billing(desk, day) == mall
    # Another day's figures do not count it.
    other = (datetime.fromisoformat(day) - timedelta(days=1)).date().isoformat()
    assert "polri" not in _mall_billing(desk, other)["collected"]

    # The command line's mall report carries the same money.
    shown = run_cli("report", "daily", "--scope", "mall", "--date", day, "--format", "csv",
                    "-o", str(tmp_path / "mall.csv"), "--json", "--user", "sari",
                    "--password-stdin", stdin=PASSWORD + "\n", data_dir=desk.runtime.data_dir)
    report = cli_json(shown)["report"]
    assert report["billing"]["collected"]["polri"] == {"paid": 1, "amount": 30000}
    assert "billing.collected.polri.amount,30000" in (tmp_path / "mall.csv").read_text()


def _bill_body(submission_id: str, state: str, *, expires: datetime, **extra) -> dict:
    body = {
        "submission_id": submission_id,
        "agency": "polri",
        "code": "820261203000001",
        "kind": "pnbp",
        "amount": 50000,
        "expires_at": expires.isoformat(),
        "state": state,
        "ntpn": None,
        "paid_at": None,
    }
    body.update(extra)
    return body


class RawDesk:
    """A desk as the hub sees it on the wire: a code, a token and its own sequence."""

    def __init__(self, hub):
        self.hub = hub
        self.code = _desk_code()
        self.token = hub.store.add_desk(self.code)
        self.seq = 0
        self.http = requests.Session()

    def push(self, bodies: list[dict], *, seq: int | None = None) -> requests.Response:
        first = self.seq + 1 if seq is None else seq
        records = [
            {"seq": first + i, "kind": "billing", "id": body["submission_id"], "body": body}
            for i, body in enumerate(bodies)
        ]
        answer = self.http.post(
            self.hub.url + "/v1/push",
            json={"desk": self.code, "records": records},
            headers={"Authorization": f"Bearer {self.token}", "X-MPP-Desk": self.code},
            timeout=20,
        )
        if answer.status_code == 200:
            self.seq = max(self.seq, answer.json()["acked"])
        return answer

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def raw(hub):
    made = RawDesk(hub)
    yield made
    made.close()


def test_a_stale_unpaid_after_paid_does_not_undo_the_payment(hub, raw):
    sub = str(uuid.uuid4())
    now = datetime.now(UTC)
    paid_at = now.replace(microsecond=0)
    expires = now + timedelta(hours=3)
    unpaid = _bill_body(sub, "unpaid", expires=expires)
    paid = _bill_body(sub, "paid", expires=expires, ntpn="0A1B2C3D4E5F6G7H", paid_at=paid_at.isoformat())
    day = paid_at.astimezone(MALL_TZ).date().isoformat()

    assert raw.push([unpaid]).status_code == 200
    near = hub.store.billing_figures(day)["unpaid_near_expiry"]
    assert any(i["desk"] == raw.code and i["amount"] == 50000 for i in near["items"])
    assert raw.push([paid]).status_code == 200
    before = hub.store.billing_figures(day)
    assert _hub_bill(hub, raw.code, sub).state == "paid"

    # A later record that says unpaid again (a stale copy), alone or after paid in one batch:
    # acknowledged (the desk's journal moves on), the bill stays paid and counted once.
    answer = raw.push([unpaid])
    assert answer.status_code == 200 and answer.json()["acked"] == raw.seq
    answer = raw.push([paid, unpaid])
    assert answer.status_code == 200
    row = _hub_bill(hub, raw.code, sub)
    assert (row.state, row.ntpn) == ("paid", "0A1B2C3D4E5F6G7H")
    after = hub.store.billing_figures(day)
    assert after["collected"] == before["collected"]
    assert not any(i["desk"] == raw.code for i in after["unpaid_near_expiry"]["items"])

    # A replay of an old sequence (already acknowledged) changes nothing either.
    assert raw.push([unpaid], seq=1).status_code == 200
    assert _hub_bill(hub, raw.code, sub).state == "paid"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "lunas"}, "state"),
        ({"amount": -5}, "amount"),
        ({"amount": "30000"}, "amount"),
        ({"code": "12"}, "code"),
        ({"expires_at": "besok"}, "expires_at"),
        ({"expires_at": "2026-12-03T10:00:00"}, "expires_at"),  # no offset: which clock?
        ({"state": "paid"}, "ntpn"),  # paid without its NTPN
        ({"ntpn": "0A1B2C3D4E5F6G7H"}, "ntpn"),  # an NTPN on an unpaid bill
        ({"nama": "Budi Santoso"}, "nama"),  # nothing about the applicant, ever
        ({"agency": "x" * 80}, "agency"),
    ],
)
def test_a_malformed_billing_record_is_refused_naming_the_field(hub, raw, change, field):
    sub = str(uuid.uuid4())
    body = _bill_body(sub, "unpaid", expires=datetime.now(UTC) + timedelta(days=1))
    body.update(change)
    answer = raw.push([_bill_body(str(uuid.uuid4()), "unpaid",
                                  expires=datetime.now(UTC) + timedelta(days=1)), body])
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert error["field"] == f"records[1].body.{field}", error
    # All or nothing: the good record of the batch was not stored, the sequence not moved.
    assert _hub_bill(hub, raw.code, sub) is None
    with hub.store.engine.connect() as conn:
        stored = conn.execute(
            select(hub_schema.billing.c.submission_id).where(hub_schema.billing.c.desk == raw.code)
        ).all()
    assert stored == []
    assert raw.push([_bill_body(sub, "unpaid", expires=datetime.now(UTC) + timedelta(days=1))]
                    ).json()["acked"] == 1


def test_bills_stored_before_replication_are_journalled_once(desk):
    """A desk that had pushed before bills were replicated sends the bills it holds once."""
    ani = login(desk.runtime, "ani", PASSWORD)
    skck = finalize(desk.runtime, ani, SKCK)
    assert desk.worker.run_once().delivered == 1
    with desk.runtime.store.write() as session:  # as a desk of the previous version left it
        hub_store.set_state(session, hub_store.BILLING_JOURNALLED, None)
        for seq, kind, _entity in hub_store.journal_dump(session):
            if kind == "billing":
                session.execute(
                    hub_store.HubJournal.__table__.delete().where(
                        hub_store.HubJournal.seq == seq
                    )
                )
    with desk.runtime.store.write() as session:
        assert hub_store.journal_billing_history(session) == 1
        assert hub_store.journal_billing_history(session) == 0  # once
    kinds = [(k, e) for _s, k, e in _dump(desk)]
    assert kinds.count(("billing", skck.submission_id)) == 1


def _dump(desk: Desk):
    with desk.runtime.store.read() as session:
        return hub_store.journal_dump(session)
