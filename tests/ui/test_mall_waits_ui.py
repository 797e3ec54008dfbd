"""The mall scope shows the queue (issue 14 leftover): per ticket group the tickets, no-shows,
and the waits (issued → called) and service times (called → done), mean and nearest-rank p90,
from the hub's daily report, read over loopback HTTP from a real hub.

The tickets are taken, called and finished at the hub at known times (the hub's queue takes
its clock as a parameter); the test recomputes every figure from those times alone and finds
it in the panel's table and tile. One resent step whose desk time the hub did not believe
shows the note that says so. Screenshots at 1366×768 and 1920×1080 (written to tmp_path;
also to docs/images with MPPDESK_SCREENSHOTS=docs/images).
"""

from __future__ import annotations

import math
import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from mppdesk.hub import tickets as hub_queue
from mppdesk.hub.server import init_hub, serve_in_thread
from mppdesk.hub.store import Desk
from mppdesk.printing.daily_report import format_cell
from mppdesk.ui import i18n
from mppdesk.ui.mall_scope import MallScopePanel
from tests.conftest import PASSWORD
from tests.hub_fixtures import HASHER
from tests.ui.test_mall_billing_ui import joined_supervisor

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

WIB = ZoneInfo("Asia/Jakarta")
DAY = datetime(2026, 12, 3, tzinfo=WIB).date()
SIZES = ((1366, 768), (1920, 1080))
SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")

# Per ticket: (group, label, minute issued, minute called, ending, minute it ended), minutes
# after 08:00 WIB; every group is called in the order it was issued (no priority).
PLAN = [
    ("F", "dukcapil", 0.0, 5.0, "done", 20.5),
    ("F", "dukcapil", 1.0, 9.0, "no_show", 15.0),
    ("F", "dukcapil", 2.5, 12.0, "done", 31.0),
    ("F", "dukcapil", 3.0, 14.25, "done", 22.0),
    ("P", "polri", 3.5, 10.0, "done", 25.0),
    ("P", "polri", 4.0, 11.0, "done", 40.0),
    ("P", "polri", 6.0, 42.0, "served", 43.0),  # sent again later, with a desk time ahead
    ("P", "polri", 7.0, None, None, None),  # still waiting at the end of the day
]


def at(minutes: float) -> datetime:
    return datetime(2026, 12, 3, 8, 0, tzinfo=WIB) + timedelta(minutes=minutes)


@pytest.fixture
def hub(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    init_hub(db_url, key_file=tmp_path / "hub.key")
    handle = serve_in_thread(db_url, key_file=tmp_path / "hub.key")
    handle.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")
    yield handle
    handle.stop()


def run_the_day(store) -> None:
    """The plan at the hub: issue all, call in time order, end each, at the plan's times."""
    kiosk, counter = Desk("K01"), Desk("K02")
    events = []
    for group, label, issued, called, ending, ended in PLAN:
        events.append((issued, "take", group, label))
        if called is not None:
            events.append((called, "call", group, label))
            events.append((ended, ending, group, label))
    numbers: dict[str, list[str]] = {}
    called_order: dict[str, list[str]] = {}
    for minute, what, group, label in sorted(events, key=lambda e: e[0]):
        if what == "take":
            ticket = hub_queue.take(store, kiosk, group, None, label, now=at(minute))
            numbers.setdefault(group, []).append(ticket["number"])
        elif what == "call":
            ticket = hub_queue.call(store, counter, "ani", group, now=at(minute))
            called_order.setdefault(group, []).append(ticket["number"])
        else:
            # the ticket this step ends: the group's calls in order, matched to the plan's rows
            rows = [p for p in PLAN if p[0] == group and p[3] is not None]
            index = next(i for i, p in enumerate(rows) if p[5] == minute)
            number = called_order[group][index]
            # A served step resent by a desk whose clock is an hour ahead: the hub's clock
            # (``now``), noted; every other step live.
            resend = {"resent": True, "at": at(minute + 60).isoformat()} if what == "served" else {}
            hub_queue.set_state(store, counter, "ani", number, what, now=at(minute), **resend)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def expected_rows(runtime) -> dict[str, tuple]:
    """Every figure recomputed from the plan's times."""
    from mppdesk.desk.tickets import group_name

    out = {}
    for group, label in (("F", "dukcapil"), ("P", "polri")):
        rows = [p for p in PLAN if p[0] == group]
        waits = [(p[3] - p[2]) * 60 for p in rows if p[3] is not None]
        services = [(p[5] - p[3]) * 60 for p in rows if p[4] == "done"]
        total, done = len(rows), sum(p[4] == "done" for p in rows)
        out[group] = (
            f"{group} · {group_name(runtime, label)}",
            total,
            done,
            sum(p[4] == "no_show" for p in rows),
            round(sum(waits) / len(waits) / 60, 1),
            round(_p90(waits) / 60, 1),
            round(sum(services) / len(services) / 60, 1),
            round(_p90(services) / 60, 1),
        )
    return out


def test_the_mall_scope_shows_waits_and_service_per_group(qtbot, runtime, tasks, hub, tmp_path):
    run_the_day(hub.store)
    sari = joined_supervisor(runtime, hub)
    panel = MallScopePanel(runtime, sari, tasks)
    qtbot.addWidget(panel)
    panel.show()
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.load(DAY)

    table = panel.models["waits"].table
    assert table.title == i18n.tr("mall.table.waits")
    expected = expected_rows(runtime)
    assert {row[0].split(" ")[0]: row for row in table.rows} == expected
    assert expected["F"][1:4] == (4, 3, 1)  # the plan as read: 4 tickets, 3 done, 1 no-show
    labels = [c.label for c in table.columns]
    assert labels[:4] == ["Kelompok", "Tiket", "Selesai", "Tidak hadir"]

    # The whole mall's mean wait in the tile: every called ticket of both groups.
    waits = [(p[3] - p[2]) * 60 for p in PLAN if p[3] is not None]
    mean_min = round(sum(waits) / len(waits) / 60, 1)
    assert panel.tiles["wait"].value.text() == format_cell(mean_min, "minutes", "id")
    # The table shows minutes as a person reads them (Indonesian decimal comma).
    model = panel.models["waits"]
    f_row = next(i for i, r in enumerate(table.rows) if r[0].startswith("F "))
    shown = model.data(model.index(f_row, 5), Qt.ItemDataRole.DisplayRole)
    assert shown == format_cell(expected["F"][5], "minutes", "id") and "," in shown
    # The resent step stamped by the hub's clock is said, once.
    assert panel.clock_note.isVisibleTo(panel)
    assert panel.clock_note.text().startswith("1 langkah tiket")

    for width, height in SIZES:
        panel.resize(width, height)
        qtbot.waitUntil(lambda w=width: panel.width() == w, timeout=10_000)
        shot = tmp_path / f"mall-waits-{width}.png"
        assert panel.grab().save(str(shot))
        image = QImage(str(shot))
        assert (image.width(), image.height()) == (width, height)
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            assert panel.grab().save(str(Path(SHOTS) / f"mall-waits-{width}.png"))


def test_a_hub_without_queue_figures_shows_none_not_zero(qtbot, runtime, tasks, hub):
    """A hub older than the figures (no ``tickets``) or one that sends nonsense: the table is
    empty, the tile says unknown (–), never a wait of 0 minutes; no note."""
    sari = joined_supervisor(runtime, hub)
    panel = MallScopePanel(runtime, sari, tasks)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=15_000):
        panel.load(datetime(2031, 1, 2).date())
    assert panel.models["waits"].table.rows == ()
    assert panel.tiles["wait"].value.text() == "–"
    panel._show_waits({"tickets": {"groups": {"F": {"label": 3, "wait_s": {"mean": "x"},
                                                    "counts": {"done": -1}}},
                                   "all": [], "hub_clock": {"steps": True}}})
    (row,) = panel.models["waits"].table.rows
    assert row[1:] == (0, 0, 0, None, None, None, None)
    assert panel.tiles["wait"].value.text() == "–"
    assert not panel.clock_note.isVisibleTo(panel)
