"""The desk window in a mall (issue 13): the dashboard's "Desk ini / Seluruh MPP" scope, the
hub in the status bar, hub pulls reaching the views through the notifier, and the counter's
look-up saying the data came from the MPP.

Every test runs a real hub (``mppdesk.hub.server.serve_in_thread``, SQLite in ``tmp_path``,
loopback HTTP) and real desks: the window's desk (K01) joined with a real token, and another
desk (K02) replicating through the same hub lane its sync worker runs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mppdesk.core.changes import Changes
from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import login
from mppdesk.desk.runtime import open_runtime
from mppdesk.store import hub as hub_store
from mppdesk.store.models import Submission
from mppdesk.sync.hub_sync import HubLane, client_for
from mppdesk.ui.i18n import tr
from mppdesk.ui.sync_bridge import hub_view
from tests.conftest import PASSWORD, make_user
from tests.example_visits import HELD, KTP, example_visit, finalize
from tests.hub_fixtures import HASHER, Hub, add_counter_staff, join
from tests.ui.desk_ui import (
    focused,
    look_up_nik,
    press,
    shoot,
    signed_in,
    type_text,
)

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
SIZES = ((1366, 768), (1920, 1080))


@pytest.fixture
def hub(tmp_path):
    running = Hub(tmp_path)
    add_counter_staff(running)
    yield running
    running.stop()


class OtherDesk:
    """Another desk of the mall: its own store, replicating through the hub lane."""

    def __init__(self, data_dir: Path, hub: Hub, code: str) -> None:
        data_dir.mkdir()
        open_runtime(data_dir).close()
        desk_hub.join(data_dir, hub.url, code, hub.store.add_desk(code))
        self.runtime = open_runtime(data_dir)
        client = client_for(self.runtime.settings, self.runtime.store)
        assert client is not None
        self.lane = HubLane(self.runtime.store, self.runtime.settings, client)

    def sync(self):
        return self.lane.drain(10)

    def close(self) -> None:
        self.lane.stop()
        self.runtime.close()


@pytest.fixture
def other_desk(tmp_path, hub):
    desk = OtherDesk(tmp_path / "K02", hub, "K02")
    desk.sync()  # the mall's accounts
    yield desk
    desk.close()




def open_dashboard(qtbot, window):
    press(Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: window.dashboard_page is not None)
    page = window.dashboard_page
    qtbot.waitUntil(lambda: page.view is not None and page.idle, timeout=15_000)
    return page


def choose_mall_by_keyboard(qtbot, window, page) -> None:
    """Alt+U (the scope's mnemonic) reaches the selector; Down picks "Seluruh MPP"."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.setFocus()
    press(Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: focused() is page.scope_box)
    before = page.mall.loads if page.mall is not None else 0
    press(Qt.Key.Key_Down)
    assert page.scope == "mall"
    qtbot.waitUntil(lambda: page.mall is not None and page.mall.loads > before, timeout=15_000)
    qtbot.waitUntil(lambda: page.idle, timeout=15_000)


def held_at_k02_in_the_mall(qtbot, runtime, hub, other_desk, taker: str):
    """A submission ``taker`` took in at K02, held for approval and pushed to the hub; Sari
    signed in at K01 (joined) with the dashboard's mall scope chosen by keyboard."""
    held = finalize(other_desk.runtime, login(other_desk.runtime, taker, PASSWORD), HELD,
                    ticket="H-001")
    assert other_desk.sync().pending == 0
    make_user(runtime, "sari", "supervisor")
    join(runtime, hub)
    window = signed_in(qtbot, runtime, "sari")
    page = open_dashboard(qtbot, window)
    choose_mall_by_keyboard(qtbot, window, page)
    return held, window, page


def review_at(desk, submission_id: str) -> tuple[str, str]:
    """(review state, status) of a submission in ``desk``'s own store."""
    with desk.runtime.store.read() as session:
        row = session.get(Submission, submission_id)
        return row.review_state, row.status


def mnemonic(text: str) -> str:
    return text[text.index("&") + 1].lower()


def test_the_scope_mnemonic_is_unique_on_the_dashboard_and_its_menus():
    from mppdesk.core import messages

    for lang in ("id", "en"):
        taken = [
            mnemonic(messages.text(code, lang))
            for code in (
                "dash.period", "dash.from", "dash.to", "dash.export_xlsx", "dash.export_csv",
                "dash.export_pdf", "dash.approve", "dash.return", "dash.flag", "menu.visit",
                "menu.submissions", "menu.admin", "menu.view", "menu.help",
            )
        ]
        assert mnemonic(messages.text("scope.label", lang)) not in taken


def test_the_scope_selector_shows_only_on_a_joined_desk(qtbot, runtime, tasks, tmp_path):
    from mppdesk.ui.dashboard import DashboardPage

    sari = make_user(runtime, "sari", "supervisor")
    alone = DashboardPage(runtime, sari, tasks)
    qtbot.addWidget(alone)
    alone.show()
    qtbot.waitUntil(lambda: alone.view is not None and alone.idle, timeout=15_000)
    assert not alone.scope_box.isVisible() and alone.scope == "desk"

    hub = Hub(tmp_path)
    try:
        join(runtime, hub)
        joined = DashboardPage(runtime, sari, tasks)
        qtbot.addWidget(joined)
        joined.show()
        qtbot.waitUntil(lambda: joined.view is not None and joined.idle, timeout=15_000)
        assert joined.scope_box.isVisible() and joined.scope_label.buddy() is joined.scope_box
        assert [joined.scope_box.itemText(i) for i in range(2)] == ["Desk ini", "Seluruh MPP"]
    finally:
        hub.stop()


def test_a_supervisor_decides_another_desks_submission_in_the_mall_scope(
    qtbot, runtime, hub, other_desk
):
    """K02 holds a submission for approval; Sari at K01 sees the mall's day and approves it;
    K02 pulls the decision and releases it to its outbox. With the hub gone, the mall scope
    says so in plain words and the desk scope still works."""
    held, window, page = held_at_k02_in_the_mall(qtbot, runtime, hub, other_desk, "ani")
    mall = page.mall
    assert page.scope_stack.currentWidget() is mall and not mall.message.isVisible()
    assert mall.tiles["visits"].value.text() == "1"
    assert mall.tiles["submissions"].value.text() == "1"
    assert mall.tiles["held"].value.text() == "1"
    queue = mall.models["queue"]
    assert queue.rowCount() == 1 and queue.submission_id(0) == held.submission_id
    assert queue.data(queue.index(0, 0)) == "K02"
    assert not page.export_buttons["pdf"].isEnabled()  # the exports are this desk's

    mall.tables["queue"].selectRow(0)
    before = mall.loads
    dialog = page.open_review("approved")  # Ctrl+Enter's path
    assert dialog.mall and "K02" in dialog.findChildren(type(mall.heading))[1].text()
    with qtbot.waitSignal(dialog.decided, timeout=10_000) as decided:
        dialog.submit()
    assert decided.args[0][0]["desk"] == "K02"
    qtbot.waitUntil(lambda: mall.loads > before and mall.idle, timeout=15_000)
    assert queue.rowCount() == 0 and mall.tiles["held"].value.text() == "0"
    assert "K02" in mall.notice.text()

    report = other_desk.sync()  # the owning desk pulls the decision
    assert report.pulled >= 1
    assert review_at(other_desk, held.submission_id) == ("approved", "queued")

    hub.stop()
    window.activateWindow()  # the review dialog took the activation with it
    qtbot.waitUntil(window.isActiveWindow)
    page.setFocus()
    press(Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: mall.offline and mall.idle, timeout=15_000)
    assert mall.message.isVisible() and mall.message.text() == tr("mall.offline")
    assert "Hub MPP tidak dapat dihubungi" in mall.message.text()
    assert not mall.content.isVisible()

    page.scope_box.setCurrentIndex(0)  # this desk's own figures need no hub
    qtbot.waitUntil(lambda: page.idle, timeout=15_000)
    assert page.scope_stack.currentWidget() is page.desk_view
    assert page.export_buttons["pdf"].isEnabled()


def test_the_mall_screen_refuses_approving_ones_own_intake(qtbot, runtime, hub, other_desk):
    """Issue 12: Sari took a submission in at K02; at K01 the mall queue shows it, and her
    approval is refused by the hub and said in the dialog in plain words (nothing decided,
    the row stays in the queue); K02 pulls nothing that releases it."""
    held, _window, page = held_at_k02_in_the_mall(qtbot, runtime, hub, other_desk, "sari")
    mall = page.mall
    queue = mall.models["queue"]
    assert queue.rowCount() == 1 and queue.submission_id(0) == held.submission_id

    mall.tables["queue"].selectRow(0)
    dialog = page.open_review("approved")
    heard: list[object] = []
    dialog.decided.connect(heard.append)
    dialog.submit()
    expected = tr("hubreview.own_intake")
    qtbot.waitUntil(lambda: dialog.message.text() == expected, timeout=10_000)
    assert "supervisor lain" in expected
    qtbot.waitUntil(dialog.save.isEnabled)
    assert heard == [] and dialog.isVisible()
    dialog.reject()
    assert hub.store.review_queue("sari")[0]["submission_id"] == held.submission_id

    other_desk.sync()
    assert review_at(other_desk, held.submission_id) == ("unreviewed", "held")


def test_hub_state_and_pulls_reach_the_status_bar_and_the_views(qtbot, runtime, hub):
    """The bar says connected, what is pending and when the desk last pulled; a decision
    taken at the hub reaches the dashboard through the notifier; a broken catalog is said
    plainly; a stopped hub shows as offline."""
    sari = make_user(runtime, "sari", "supervisor")
    join(runtime, hub, pull_interval_s=0.2, timeout_s=1.0)
    held = finalize(runtime, sari, HELD, ticket="H-001")
    window = signed_in(qtbot, runtime, "sari", start_sync=True)
    bridge, bar = window.sync_bridge, window.sync_bar
    assert bar.hub is not None
    qtbot.waitUntil(
        lambda: bridge.hub is not None and bridge.hub.state == "connected"
        and bridge.hub.pending == 0 and bridge.hub.last_pull is not None,
        timeout=15_000,
    )
    text = bar.hub.text()
    assert text.startswith("Hub: terhubung") and "tarik " in text
    local = bridge.hub.last_pull.astimezone(runtime.tz).strftime("%H:%M")
    qtbot.waitUntil(lambda: "belum terkirim" not in bar.hub.text())
    assert local[:2] in bar.hub.text()  # the pull time in the desk's local time
    assert bar.hub.width() >= bar.hub.sizeHint().width()  # nothing of it cut

    page = open_dashboard(qtbot, window)
    qtbot.waitUntil(lambda: page.tiles["held"].value.text() == "1", timeout=15_000)
    heard: list[tuple[Changes, object]] = []
    window.notifier.changed.connect(lambda changes, origin: heard.append((changes, origin)))
    before = page.loads
    # Sari took it in: another supervisor approves it, at another desk (issue 12)
    hub.store.add_user("budi", "supervisor", HASHER.hash(PASSWORD), "Budi")
    hub.store.decide("budi", held.submission_id, "approved", None)
    qtbot.waitUntil(
        lambda: any(c.hub and c.review and o is bridge for c, o in heard), timeout=15_000
    )
    qtbot.waitUntil(lambda: page.loads > before and page.idle, timeout=15_000)
    qtbot.waitUntil(lambda: page.tiles["held"].value.text() == "0", timeout=15_000)
    with runtime.store.read() as session:
        assert session.get(Submission, held.submission_id).review_state == "approved"

    broken = {"services/dukcapil/ktp-el.yaml": "code: [unclosed\n"}
    hub.store.publish_catalog(broken, hub_store.canonical_files_sha(broken))
    qtbot.waitUntil(lambda: bar.hub.catalog.isVisible(), timeout=15_000)
    assert "katalog hub ditolak" in bar.hub.text()
    assert "katalog sebelumnya tetap" in bar.hub.toolTip()

    hub.stop()
    qtbot.waitUntil(lambda: bridge.hub.state == "offline", timeout=15_000)
    assert bar.hub.text().startswith("Hub: tidak terhubung")
    assert bridge.stop(30)


def test_the_counter_says_the_data_came_from_the_mpp_and_falls_back_offline(
    qtbot, runtime, hub, other_desk
):
    ani2 = login(other_desk.runtime, "ani", PASSWORD)
    visit = example_visit(KTP)
    nik, name = visit["applicant"]["nik"], visit["applicant"]["nama"]
    from mppdesk.desk.intake import finalize_visit, parse_visit

    finalize_visit(other_desk.runtime, ani2, parse_visit(visit))
    assert other_desk.sync().pending == 0
    make_user(runtime, "ani", "officer")
    join(runtime, hub)
    window = signed_in(qtbot, runtime, "ani")
    page = window.visit_page

    def look_up(number: str):
        page.nik_edit.setFocus()
        page.nik_edit.clear()
        type_text(number)
        with qtbot.waitSignal(page.looked_up, timeout=10_000) as looked_up:
            press(Qt.Key.Key_Return)
        return looked_up.args[0]

    record = look_up(nik)
    assert record is not None and record.source == "hub" and not record.cached
    assert page.banner.text().startswith("Data dari MPP") and name in page.banner.text()
    assert page.state.applicant["nama"] == name
    born = visit["applicant"]["tanggal_lahir"]  # shown as the form shows dates: DD-MM-YYYY
    assert page.state.applicant["tanggal_lahir"] == "-".join(reversed(born.split("-")))

    hub.stop()  # the hub's earlier answer, kept at this desk, still pre-fills
    started = datetime.now(UTC)
    record = look_up(nik)
    assert record.source == "hub" and record.cached
    assert "salinan di desk ini" in page.banner.text()
    record = look_up("3171010101900009")  # unknown anywhere: a first visit, no error
    assert record is None and (datetime.now(UTC) - started) < timedelta(seconds=5)
    assert page.banner.objectName() == "banner"

    # Both look-ups the hub answered (live, then from the desk's copy) name the person, so a
    # data-protection officer asking "who saw this NIK" finds them (`audit log --subject`).
    from mppdesk.store import access_log

    with runtime.store.read() as session:
        seen = access_log.access_events(session, numbers=[nik], actions=["applicant.viewed"])
    viewed = [e for e in seen if e["action"] == "applicant.viewed"]
    assert [e["details"]["cached"] for e in viewed] == [True, False]  # newest first
    assert all(nik not in str(e["details"]) for e in viewed)


def test_the_status_bar_fits_1366_pixels_with_the_hub_and_every_agency(qtbot, runtime, hub):
    """Fifteen agencies configured (as in the demo) and the hub: healthy, idle agencies fold
    into "+N" until the bar fits the window; widening the window lists them again."""
    from PySide6.QtWidgets import QLabel, QMainWindow

    from mppdesk.ui.status_bar import SyncStatusBar
    from mppdesk.ui.sync_bridge import SyncBridge
    from tests.example_visits import agency_settings

    join(runtime, hub)
    agencies = sorted(runtime.catalog.agencies)
    runtime.settings = agency_settings(
        runtime.settings, {code: f"http://127.0.0.1:1/{code}" for code in agencies}
    )
    window = QMainWindow()
    qtbot.addWidget(window)
    window.statusBar().addWidget(QLabel("Sari · Supervisor · loket K01"))
    bar = SyncStatusBar(SyncBridge(runtime, window))
    window.statusBar().addPermanentWidget(bar)
    window.resize(1366, 768)
    window.show()
    qtbot.waitUntil(lambda: bar.folded.isVisible())
    listed = [i for i in bar.indicators.values() if i.isVisible()]
    assert bar.hub.isVisible() and 0 < len(listed) < 8
    assert bar.geometry().right() <= window.width()
    assert str(len(agencies) - len(listed)) in bar.folded.text()
    window.resize(2560, 768)
    qtbot.waitUntil(lambda: len([i for i in bar.indicators.values() if i.isVisible()]) == 8)


def test_hub_view_reads_the_recorded_state(runtime):
    """Pure: connecting → connected → offline (an error since, or silence) → refused."""
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    settings = runtime.settings

    def status(**kw):
        base = dict(
            joined=True, url="http://127.0.0.1:1", desk="K01", connected=False,
            last_push=None, last_pull=None, pending=0, acked=0, last_error=None,
            catalog=None, catalog_error=None, cursor=0,
        )
        base.update(kw)
        return desk_hub.HubStatus(**base)

    at = (now - timedelta(seconds=2)).isoformat()
    old = (now - timedelta(minutes=5)).isoformat()
    assert hub_view(status(), now, settings).state == "connecting"
    assert hub_view(status(last_pull=at), now, settings).state == "connected"
    assert hub_view(status(last_pull=old), now, settings).state == "offline"
    error = {"at": now.isoformat(), "outcome": "retry", "message": "refused"}
    assert hub_view(status(last_pull=at, last_error=error), now, settings).state == "offline"
    paused = dict(error, outcome="paused")
    view = hub_view(status(last_push=at, last_error=paused), now, settings)
    assert view.state == "refused" and view.error == "refused"
    broken = {"problems": ["services/x.yaml: bad"], "sha256": "ab"}
    assert hub_view(status(last_pull=at, catalog_error=broken), now, settings).catalog_problem


@pytest.mark.skipif(not os.environ.get("MPPDESK_SCREENSHOTS"), reason="screenshots on request")
def test_hub_screenshots(qtbot, runtime, hub, other_desk, tmp_path):
    """docs/images/hub-*.png: the dashboard in both scopes, the status bar (every agency of
    the catalog configured, as in the demo) and the counter at 1366×768 and 1920×1080
    (MPPDESK_SCREENSHOTS=docs/images)."""
    from tests.example_visits import agency_settings, start_sim

    ani2 = login(other_desk.runtime, "ani", PASSWORD)
    for n in range(3):
        finalize(other_desk.runtime, ani2, HELD if n == 0 else KTP, ticket=f"B-{n + 1:03d}")
    other_desk.sync()
    sari = make_user(runtime, "sari", "supervisor")
    finalize(runtime, sari, KTP, ticket="A-001")
    join(runtime, hub)
    sim = start_sim(tmp_path)
    agencies = sorted(runtime.catalog.agencies)
    runtime.settings = agency_settings(
        runtime.settings, {code: f"{sim.url}/{code}" for code in agencies}
    )
    window = signed_in(qtbot, runtime, "sari", start_sync=True)
    bridge = window.sync_bridge
    qtbot.waitUntil(lambda: bridge.hub is not None and bridge.hub.state == "connected"
                    and bridge.hub.pending == 0, timeout=15_000)
    qtbot.waitUntil(
        lambda: all(bridge.health.get(a) and bridge.health[a].online for a in agencies),
        timeout=20_000,
    )
    page = open_dashboard(qtbot, window)
    for width, height in SIZES:
        window.resize(width, height)
        page.scope_box.setCurrentIndex(0)
        qtbot.waitUntil(lambda: page.idle, timeout=15_000)
        shoot(window, f"hub-dashboard-desk-{width}")
        shoot(window.statusBar(), f"hub-statusbar-{width}")
        page.scope_box.setCurrentIndex(1)
        qtbot.waitUntil(lambda: page.idle and page.mall.loads > 0, timeout=15_000)
        shoot(window, f"hub-dashboard-mall-{width}")
        assert window.sync_bar.hub.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.setFocus()
    press(Qt.Key.Key_F8)
    visit = window.visit_page
    qtbot.waitUntil(lambda: window.counter_host.currentWidget() is visit)
    look_up_nik(qtbot, visit, example_visit(KTP)["applicant"]["nik"])
    assert visit.banner.text().startswith("Data dari MPP")
    for width, height in SIZES:
        window.resize(width, height)
        shoot(window, f"hub-counter-{width}")
    assert bridge.stop(30)
    sim.stop()
