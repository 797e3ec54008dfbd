"""Payment state on screen: the submissions view's detail and the dashboard's payments tab
show the bill the sync worker stored (stored here through the same store function)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mppdesk.core.billing import parse_billing
from mppdesk.store import billing as bills
from mppdesk.ui.dashboard import DashboardPage
from mppdesk.ui.submissions import SubmissionsPage
from tests.example_visits import finalize

SKCK = "polri/skck"
SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")


def _bill(runtime, submission_id: str, **change) -> None:
    now = datetime.now(UTC)
    record = {
        "kode_billing": "820261234567890",
        "kind": "pnbp",
        "amount": 30000,
        "expires_at": (now + timedelta(hours=5)).isoformat(),
        **change,
    }
    with runtime.store.write() as session:
        assert bills.record(session, submission_id, parse_billing(record), now) is None


def test_the_submission_detail_shows_the_bill_and_then_its_ntpn(qtbot, runtime, officer, tasks):
    skck = finalize(runtime, officer, SKCK)
    _bill(runtime, skck.submission_id)
    page = SubmissionsPage(runtime, officer, tasks)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page._detail is not None, timeout=15_000)
    text = page.detail.toPlainText()
    assert "820261234567890" in text and "Belum dibayar" in text and "30.000" in text

    paid_at = datetime.now(UTC).isoformat()
    _bill(runtime, skck.submission_id, state="paid", ntpn="0A1B2C3D4E5F6A7B", paid_at=paid_at)
    page.model.refresh_ids([skck.submission_id])  # what a status pull's change triggers
    qtbot.waitUntil(lambda: "0A1B2C3D4E5F6A7B" in page.detail.toPlainText(), timeout=15_000)
    assert "Lunas" in page.detail.toPlainText()
    if SHOTS:
        page.resize(1400, 560)
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.grab().save(str(Path(SHOTS) / "submissions-payment.png"))


def test_the_dashboard_lists_unpaid_bills_near_expiry(qtbot, runtime, supervisor, officer, tasks):
    skck = finalize(runtime, officer, SKCK)
    _bill(runtime, skck.submission_id)
    page = DashboardPage(runtime, supervisor, tasks)
    qtbot.addWidget(page)
    page.refresh()
    qtbot.waitUntil(lambda: page.view is not None, timeout=15_000)
    model = page.models["bills_expiring"]
    assert model.rowCount() == 1
    assert model.data(model.index(0, 0)) == skck.tracking_number
    assert model.data(model.index(0, 2)) == "820261234567890"
