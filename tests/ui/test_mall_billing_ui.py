"""The mall scope shows money (issue 14 over issue 13): what every desk collected per agency
that day and the unpaid bills about to expire at any desk, read from a real hub on loopback.

Two other desks push their bills to the hub over HTTP as a desk's hub lane does (``billing``
records); the panel of this desk (joined, a supervisor signed in) loads the day through the
TaskRunner's network pool, and the test waits on its ``loaded`` signal.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from argon2 import PasswordHasher

from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import login
from mppdesk.hub.server import init_hub, serve_in_thread
from mppdesk.settings import load_settings
from mppdesk.sync.hub_sync import HubLane, client_for
from mppdesk.ui import i18n
from mppdesk.ui.mall_scope import MallScopePanel
from tests.conftest import PASSWORD

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


@pytest.fixture
def hub(tmp_path):
    """A real hub (SQLite in tmp_path, loopback) with the mall's supervisor Sari."""
    db_url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    init_hub(db_url, key_file=tmp_path / "hub.key")
    handle = serve_in_thread(db_url, key_file=tmp_path / "hub.key")
    handle.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")
    yield handle
    handle.stop()


def joined_supervisor(runtime, hub):
    """Join the test's desk (K01) to the hub, pull the mall's accounts, sign Sari in."""
    desk_hub.join(runtime.data_dir, hub.url, "K01", hub.store.add_desk("K01"))
    runtime.settings = load_settings(runtime.data_dir)
    lane = HubLane(runtime.store, runtime.settings, client_for(runtime.settings, runtime.store))
    try:
        lane.drain(10.0)
    finally:
        lane.stop()
    return login(runtime, "sari", PASSWORD)


def push_bills(hub, desk: str, bodies: list[dict]) -> None:
    token = hub.store.add_desk(desk)
    records = [
        {"seq": i + 1, "kind": "billing", "id": body["submission_id"], "body": body}
        for i, body in enumerate(bodies)
    ]
    with requests.Session() as http:
        answer = http.post(
            hub.url + "/v1/push",
            json={"desk": desk, "records": records},
            headers={"Authorization": f"Bearer {token}", "X-MPP-Desk": desk},
            timeout=20,
        )
    assert answer.status_code == 200, answer.text


def bill(agency: str, code: str, amount: int, state: str, expires: datetime, **paid) -> dict:
    return {
        "submission_id": str(uuid.uuid4()),
        "agency": agency,
        "code": code,
        "kind": "pnbp",
        "amount": amount,
        "expires_at": expires.isoformat(),
        "state": state,
        "ntpn": paid.get("ntpn"),
        "paid_at": paid.get("paid_at"),
    }


def test_the_mall_scope_shows_collected_per_agency_and_bills_near_expiry(
    qtbot, runtime, tasks, hub
):
    now = datetime.now(UTC).replace(microsecond=0)
    day = now.astimezone(ZoneInfo("Asia/Jakarta")).date()
    paid = {"ntpn": "0A1B2C3D4E5F6G7H", "paid_at": now.isoformat()}
    push_bills(hub, "K02", [
        bill("polri", "820261203000001", 30000, "paid", now + timedelta(days=1), **paid),
        bill("imigrasi", "820261203000002", 350000, "paid", now + timedelta(days=1),
             ntpn="1A1B2C3D4E5F6G7H", paid_at=now.isoformat()),
        bill("polri", "820261203000003", 30000, "unpaid", now + timedelta(hours=2)),
    ])
    push_bills(hub, "K03", [
        bill("polri", "820261203000004", 30000, "paid", now + timedelta(days=1),
             ntpn="2A1B2C3D4E5F6G7H", paid_at=now.isoformat()),
        bill("polri", "820261203000005", 30000, "unpaid", now + timedelta(days=5)),  # not soon
    ])
    sari = joined_supervisor(runtime, hub)

    panel = MallScopePanel(runtime, sari, tasks)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.load(day)

    assert panel.tiles["collected"].value.text() == "Rp410.000"
    collected = panel.models["collected"].table
    names = {row[0]: row[1:] for row in collected.rows}
    polri = runtime.catalog.agencies["polri"].short_name
    imigrasi = runtime.catalog.agencies["imigrasi"].short_name
    assert names == {polri: (2, 60000), imigrasi: (1, 350000)}
    assert [c.label for c in collected.columns] == ["Instansi", "Tagihan lunas", "Jumlah (Rp)"]

    bills = panel.models["bills"].table
    assert len(bills.rows) == 1  # only K02's bill dies within a day
    desk, _tracking, agency, code, amount, expires = bills.rows[0]
    assert (desk, agency, code, amount) == ("K02", polri, "820261203000003", 30000)
    assert expires == (now + timedelta(hours=2)).astimezone(runtime.tz)
    assert bills.title == i18n.tr("mall.table.bills")
    assert "24 jam" in bills.title


def test_a_day_without_payments_shows_rp0_not_free(qtbot, runtime, tasks, hub):
    """A hub answer without money (another day, or a hub older than the billing records):
    the tile says Rp0, never "Gratis", and the tables are empty rather than broken."""
    sari = joined_supervisor(runtime, hub)
    panel = MallScopePanel(runtime, sari, tasks)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.load(datetime(2031, 1, 2).date())
    assert panel.tiles["collected"].value.text() == "Rp0"
    assert panel.models["collected"].table.rows == ()
    panel._show_billing({"billing": {"collected": "rusak", "unpaid_near_expiry": []}})
    assert panel.tiles["collected"].value.text() == "Rp0"
    assert panel.models["bills"].table.rows == ()
