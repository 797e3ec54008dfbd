"""The queue in the desk window: the kiosk screen takes tickets (a priority one too), the
counter's F2 calls them by the rule with their true times, and "tidak hadir" records a
no-show. Screenshots (MPPDESK_SCREENSHOTS=docs/images) at 1366×768 and 1920×1080."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtCore import Qt

from mppdesk.store.models import QueueTicket
from mppdesk.ui.kiosk import KioskPage
from tests.conftest import PASSWORD
from tests.ui.desk_ui import KNOWN_NIK, open_window, press, shoot, sign_in

SIZES = ((1366, 768), (1920, 1080))


@pytest.fixture
def window(qtbot, runtime, officer):
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    return window


def take(qtbot, page: KioskPage, group: str, priority: str | None = None):
    if priority:
        page.priority_buttons[priority].click()
    with qtbot.waitSignal(page.taken, timeout=10_000) as taken:
        page.group_buttons[group].click()
    return taken.args[0].ticket


def test_kiosk_takes_tickets_and_the_counter_calls_priority_first(qtbot, window, runtime):
    page = window.show_screen("kiosk")
    assert isinstance(page, KioskPage) and window.counter_host.currentWidget() is page
    regular = take(qtbot, page, "dukcapil")
    lansia = take(qtbot, page, "dukcapil", "lansia")
    assert (regular.number, lansia.number) == ("F-001", "F-002")
    assert page.number_label.text() == "F-002" and "0 orang di depan" in page.ahead_label.text()
    assert page.chosen_priority() is None  # the next person starts without a priority
    later = take(qtbot, page, "dukcapil")
    assert later.ahead == 2 and "2 orang di depan" in page.ahead_label.text()
    for width, height in SIZES:
        window.resize(width, height)
        shoot(window, f"queue-kiosk-{width}")

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    visit = window.visit_page
    visit.group_combo.setCurrentIndex(visit.group_combo.findData("dukcapil"))
    with qtbot.waitSignal(visit.ticket_called, timeout=10_000) as called:
        press(Qt.Key.Key_F2)  # from the kiosk screen: back to the counter, and call
    assert window.counter_host.currentWidget() is visit
    assert called.args[0] == "F-002"  # the lansia before the two regular tickets
    # The visit carries the ticket's true times: waiting from issue, service from the call.
    assert visit.state.ticket_at == lansia.issued_at.isoformat()
    started = datetime.fromisoformat(visit.state.started_at)
    assert started >= datetime.fromisoformat(visit.state.ticket_at)
    assert visit.no_show_button.isEnabled()
    for width, height in SIZES:
        window.resize(width, height)
        shoot(window, f"queue-counter-{width}")

    # Nobody came: tidak hadir, then the next call takes the oldest regular ticket.
    visit.no_show_button.click()
    qtbot.waitUntil(lambda: visit.ticket_edit.text() == "", timeout=10_000)
    assert "F-002" in visit.banner.text() and not visit.no_show_button.isEnabled()
    with qtbot.waitSignal(visit.ticket_called, timeout=10_000) as called:
        visit.call_next_ticket()
    assert called.args[0] == "F-001"
    # The person came: their NIK looked up stamps the ticket served; no longer a no-show.
    visit.nik_edit.setText(KNOWN_NIK)
    with qtbot.waitSignal(visit.looked_up, timeout=10_000):
        visit.lookup()

    def served() -> bool:
        with runtime.store.read() as session:
            return session.query(QueueTicket).filter_by(number="F-001").one().status == "served"

    qtbot.waitUntil(served, timeout=10_000)
    assert not visit.no_show_button.isEnabled()
    with runtime.store.read() as session:
        states = {q.number: q.status for q in session.query(QueueTicket)}
    assert states == {"F-001": "served", "F-002": "no_show", "F-003": "waiting"}


def test_a_refused_ticket_is_shown_and_the_kiosk_stays_usable(qtbot, window, runtime):
    page = window.show_screen("kiosk")
    # The catalog changed under the page (a group published away): the desk refuses, the
    # kiosk says why, and the next tap works.
    with qtbot.waitSignal(page.failed, timeout=10_000) as failed:
        page.take("gone")
    assert "tidak dikenal" in failed.args[0] and page.number_label.text() == ""
    assert all(b.isEnabled() for b in page.group_buttons.values())
    assert take(qtbot, page, "pln").number.endswith("-001")
    with runtime.store.read() as session:
        assert session.query(QueueTicket).count() == 1
