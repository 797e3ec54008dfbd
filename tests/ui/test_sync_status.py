"""SyncBridge and SyncStatusBar: the real worker on its thread, a real agency server that
goes down and comes back on loopback, and the bar following it through signals only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mppdesk.ui.status_bar import SyncStatusBar
from mppdesk.ui.sync_bridge import SyncBridge
from tests.example_visits import KTP, agency_settings, finalize, free_port, start_sim

SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")


def shoot(widget, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(SHOTS) / f"{name}.png"))


@pytest.fixture
def bridge(qtbot, runtime):
    sync = SyncBridge(runtime)
    yield sync
    assert sync.stop(30)


def test_the_bar_follows_an_agency_going_down_and_coming_back(
    qtbot, runtime, officer, bridge, tmp_path
):
    port = free_port()
    runtime.settings = agency_settings(
        runtime.settings,
        {"dukcapil": f"http://127.0.0.1:{port}/dukcapil"},
        backoff_base_s=0.05,
        backoff_cap_s=0.2,
        poll_interval_s=600,  # nothing happens unless something is due or sync_now is asked
    )
    sid = finalize(runtime, officer, KTP).submission_id
    bar = SyncStatusBar(bridge)
    qtbot.addWidget(bar)

    bridge.start()
    qtbot.waitUntil(lambda: bar.state_of("dukcapil") == "offline", timeout=10_000)
    qtbot.waitUntil(lambda: bar.indicators["dukcapil"].pending == 1, timeout=10_000)
    tip = bar.indicators["dukcapil"].toolTip()
    assert "server instansi tidak dapat dihubungi" in tip  # words, not "network error (refused)"
    assert "refused" not in tip
    shoot(bar, "status-bar-offline")

    sim = start_sim(tmp_path, port)
    try:
        with qtbot.waitSignal(
            bridge.outbox_changed, timeout=10_000, check_params_cb=lambda ids: sid in ids
        ):
            bridge.sync_now()
        qtbot.waitUntil(lambda: bar.state_of("dukcapil") == "online", timeout=10_000)
        qtbot.waitUntil(lambda: bar.indicators["dukcapil"].pending == 0, timeout=10_000)
        assert bridge.health["dukcapil"].last_success_at is not None
        assert "Sinkron terakhir" in bar.last_sync.text()
        shoot(bar, "status-bar-online")
    finally:
        sim.stop()

    bridge.sync_now()  # the health check finds it gone
    qtbot.waitUntil(lambda: bar.state_of("dukcapil") == "offline", timeout=10_000)
    assert bridge.stop(30) and not bridge.running


def test_a_paused_agency_says_why_and_the_others_keep_flowing(
    qtbot, runtime, officer, bridge, tmp_path, monkeypatch
):
    monkeypatch.delenv("MPPDESK_TEST_TOKEN_DUKCAPIL", raising=False)
    sim = start_sim(tmp_path, tokens={"dukcapil": "rahasia"})
    try:
        runtime.settings = agency_settings(
            runtime.settings,
            {a: sim.agency_url(a) for a in ("dukcapil", "bpjs-kesehatan")},
            token_env={"dukcapil": "MPPDESK_TEST_TOKEN_DUKCAPIL"},
            poll_interval_s=600,
        )
        finalize(runtime, officer, KTP)
        bpjs = finalize(runtime, officer, "bpjs-kesehatan/peserta-mandiri").submission_id
        bar = SyncStatusBar(bridge)
        qtbot.addWidget(bar)
        with qtbot.waitSignal(
            bridge.outbox_changed, timeout=10_000, check_params_cb=lambda ids: bpjs in ids
        ):
            bridge.start()
        qtbot.waitUntil(lambda: bar.state_of("dukcapil") == "paused", timeout=10_000)
        qtbot.waitUntil(lambda: bar.indicators["bpjs-kesehatan"].pending == 0, timeout=10_000)
        assert bar.indicators["dukcapil"].pending == 1
        assert "dijeda" in bar.indicators["dukcapil"].name.text()
        assert bar.state_of("bpjs-kesehatan") == "online"
        # attention first: the paused agency leads the row
        assert bar._agency_box.itemAt(0).widget() is bar.indicators["dukcapil"]
        shoot(bar, "status-bar-paused")
        assert bridge.stop(30)
    finally:
        sim.stop()


def test_a_worker_that_dies_is_reported_not_hidden(qtbot, runtime, bridge):
    bar = SyncStatusBar(bridge)
    qtbot.addWidget(bar)
    runtime.store.close()
    runtime.store.engine.dispose()
    # A store that cannot even be read is the environment's fault: shown, and the thread ends.
    runtime.store.read = None  # type: ignore[method-assign]
    with qtbot.waitSignal(bridge.failed, timeout=10_000):
        bridge.start()
    qtbot.waitUntil(lambda: "berhenti" in bar.last_sync.text(), timeout=5_000)


def test_a_captive_portal_is_shown_as_a_problem_and_then_flagged_for_a_supervisor(
    qtbot, runtime, officer, bridge
):
    from tests.integration.wrong_agency import WrongAgency

    with WrongAgency() as portal:
        runtime.settings = agency_settings(
            runtime.settings,
            {"dukcapil": portal.agency_url("post:html")},
            backoff_base_s=0.01,
            backoff_cap_s=0.05,
            protocol_error_flag_after=2,
            poll_interval_s=600,
        )
        finalize(runtime, officer, KTP)
        bar = SyncStatusBar(bridge)
        qtbot.addWidget(bar)
        bridge.start()
        qtbot.waitUntil(lambda: bar.indicators["dukcapil"].flagged == 1, timeout=10_000)
        indicator = bar.indicators["dukcapil"]
        assert bar.state_of("dukcapil") == "offline"  # a 200 from a portal is no contact
        assert bar.indicators["dukcapil"].pending == 0  # not waiting: a person must look
        assert "captive portal" in indicator.toolTip()
        assert "perlu diperiksa supervisor" in indicator.toolTip()
        assert "perlu supervisor" in indicator.name.text()
        assert bridge.health["dukcapil"].last_success_at is None  # never counted as a sync
        assert portal.count("POST") == 2
        shoot(bar, "status-bar-flagged")
        assert bridge.stop(30)
