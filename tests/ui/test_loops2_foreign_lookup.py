"""Issue 12 leftovers (loops2) at the counter's look-up field: a passport number of digits
alone is looked up as a passport, not refused as a bad NIK; and one look-up by passport or
KITAS/KITAP is one entry of the access log (``mppdesk audit log``'s store function)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mppdesk.desk.audit import AccessQuery, access_log_rows
from mppdesk.desk.intake import finalize_visit, parse_visit
from tests.conftest import PASSWORD, make_user
from tests.example_visits import example_visit
from tests.ui.desk_ui import open_window, press, sign_in_to_visit, type_text

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

BANK = "bri/pembukaan-rekening"  # example 0: a foreigner with passport and KITAS
DIGITS_PASSPORT = "512345678"  # a United States passport prints 9 digits, no letter


@pytest.fixture
def foreigner(runtime, officer) -> dict:
    visit = example_visit(BANK)
    visit["applicant"]["no_paspor"] = DIGITS_PASSPORT
    finalize_visit(runtime, officer, parse_visit(visit))
    return visit["applicant"]


def _look_up(qtbot, page, text: str):
    press(Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: page.nik_edit.hasFocus())
    type_text(text)
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as signal:
        press(Qt.Key.Key_Return)
    return signal.args[0]


def _views(runtime, supervisor, number: str) -> int:
    rows = access_log_rows(runtime, supervisor, AccessQuery(subject=number))
    return sum(1 for row in rows if row["action"] == "applicant.viewed")


def test_a_passport_of_digits_alone_is_looked_up_as_a_passport(
    qtbot, runtime, officer, foreigner
):
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)

    record = _look_up(qtbot, page, DIGITS_PASSPORT)
    assert record is not None and record.name == foreigner["nama"]
    page.collect()
    applicant = page.state.applicant
    assert "nik" not in applicant and applicant["kewarganegaraan"] == "WNA"
    assert applicant["no_paspor"] == DIGITS_PASSPORT

    unknown = _look_up(qtbot, page, "987654321")  # not on file: a new WNA applicant
    assert unknown is None
    page.collect()
    assert page.state.applicant["no_paspor"] == "987654321"
    assert "nik" not in page.state.applicant and page.state.new_applicant

    # Digits of no passport length are still a NIK mistyped (15 here): the NIK's message.
    press(Qt.Key.Key_F3)
    type_text("317101470890000")
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "NIK harus 16 digit" in page.banner.text(), timeout=10_000)
    assert _look_up(qtbot, page, "3171014708900003") is None  # 16 digits: a NIK, as before
    page.collect()
    assert page.state.applicant["nik"] == "3171014708900003"


@pytest.mark.parametrize("which", ["no_paspor", "no_kitas"])
def test_one_look_up_by_passport_or_kitas_is_one_access_log_entry(
    qtbot, runtime, officer, foreigner, which
):
    """The foreigner is keyed by the KITAS; looked up by the passport the counter tries the
    passport, maps it to the KITAS and opens the record once: one ``applicant.viewed``
    naming the person, whichever number was typed and whichever is asked about."""
    sari = make_user(runtime, "sari", "supervisor")
    passport, kitas = foreigner["no_paspor"], foreigner["no_kitas"]
    assert _views(runtime, sari, passport) == _views(runtime, sari, kitas) == 0
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)

    record = _look_up(qtbot, page, foreigner[which].lower())
    assert record is not None
    qtbot.waitUntil(lambda: page.tasks.pending == 0, timeout=10_000)
    assert _views(runtime, sari, passport) == 1
    assert _views(runtime, sari, kitas) == 1  # the same entry, found by either number
