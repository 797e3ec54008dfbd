"""The counter of a joined desk finds a foreigner registered at another desk by the passport
when that desk keyed them by the KITAS (issue 13 × issue 12): one hub request, the form filled
as WNA with both numbers, "Data dari MPP" said. Real hub (SQLite, loopback), real desks, the
look-up field driven by keyboard."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import text

from mppdesk.desk.auth import login
from mppdesk.desk.intake import finalize_visit, parse_visit
from tests.conftest import PASSWORD, make_user
from tests.example_visits import example_visit
from tests.hub_fixtures import Hub, add_counter_staff, join
from tests.ui.desk_ui import press, signed_in, type_text
from tests.ui.test_hub_ui import OtherDesk

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

BANK = "bri/pembukaan-rekening"  # example 0: a foreigner with passport and KITAS


@pytest.fixture
def hub(tmp_path):
    running = Hub(tmp_path)
    add_counter_staff(running)
    yield running
    running.stop()


@pytest.fixture
def other_desk(tmp_path, hub):
    desk = OtherDesk(tmp_path / "K02", hub, "K02")
    desk.sync()  # the mall's accounts
    yield desk
    desk.close()


def test_a_passport_typed_at_the_counter_prefills_the_kitas_keyed_foreigner_from_the_mpp(
    qtbot, runtime, hub, other_desk
):
    visit = example_visit(BANK)
    foreigner = visit["applicant"]
    finalize_visit(other_desk.runtime, login(other_desk.runtime, "ani", PASSWORD),
                   parse_visit(visit))
    assert other_desk.sync().pending == 0
    make_user(runtime, "ani", "officer")
    join(runtime, hub)
    window = signed_in(qtbot, runtime, "ani")
    page = window.visit_page

    press(Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: page.nik_edit.hasFocus())
    type_text(foreigner["no_paspor"].lower())
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as looked_up:
        press(Qt.Key.Key_Return)
    record = looked_up.args[0]
    assert record is not None and record.source == "hub"
    assert (record.id_kind, record.id_number) == ("kitas", foreigner["no_kitas"])
    qtbot.waitUntil(lambda: page.banner.text().startswith("Data dari MPP"), timeout=10_000)
    page.collect()
    applicant = page.state.applicant
    assert applicant["nama"] == foreigner["nama"] and applicant["kewarganegaraan"] == "WNA"
    assert applicant["no_paspor"] == foreigner["no_paspor"]
    assert applicant["no_kitas"] == foreigner["no_kitas"]
    assert "nik" not in applicant
    # One hub request: one row in the hub's access log for this desk, the person found.
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT subject_hash, found FROM hub_access_log WHERE desk = 'K01'")
        ).all()
    assert [tuple(r) for r in rows] == [
        (hub.store.key.lookup_hash("kitas", foreigner["no_kitas"]), True)
    ]
