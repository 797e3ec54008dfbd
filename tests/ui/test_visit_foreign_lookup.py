"""The counter looks foreign applicants up by passport or KITAS/KITAP, typed in the same
field as a NIK, by keyboard (issue 12, foreign applicants: "look-up is by NIK only")."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mppdesk.desk.intake import finalize_visit, parse_visit
from tests.conftest import PASSWORD
from tests.example_visits import example_visit
from tests.ui.desk_ui import open_window, press, sign_in_to_visit, type_text
from tests.ui.test_fit import SIZES, _look

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

BANK = "bri/pembukaan-rekening"  # example 0: a foreigner with passport and KITAS


@pytest.fixture
def foreigner(runtime, officer) -> dict:
    visit = example_visit(BANK)
    finalize_visit(runtime, officer, parse_visit(visit))
    return visit["applicant"]


def _look_up(qtbot, page, text: str):
    """F3 to the look-up field, the number typed over what is there, Enter."""
    press(Qt.Key.Key_F3)
    qtbot.waitUntil(lambda: page.nik_edit.hasFocus())
    type_text(text)
    with qtbot.waitSignal(page.looked_up, timeout=10_000) as signal:
        press(Qt.Key.Key_Return)
    return signal.args[0]


def test_passport_and_kitas_find_the_foreign_applicant(qtbot, runtime, officer, foreigner):
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    passport, kitas = foreigner["no_paspor"], foreigner["no_kitas"]

    record = _look_up(qtbot, page, " " + passport.lower())  # as an officer types it
    assert record is not None and record.name == foreigner["nama"]
    assert foreigner["nama"] in page.banner.text()
    assert page.nik_edit.text() == passport  # shown as printed: upper case, no spaces
    page.collect()
    applicant = page.state.applicant
    assert "nik" not in applicant  # the passport in the field is not taken for a NIK
    assert applicant["kewarganegaraan"] == "WNA"
    assert applicant["no_paspor"] == passport and applicant["no_kitas"] == kitas
    # The found foreigner's screen fits both sizes without cut text (shots on request).
    assert {s: _look(qtbot, window, "counter-foreign-found", s) for s in SIZES} == {
        s: [] for s in SIZES
    }

    again = _look_up(qtbot, page, kitas.lower())
    assert again is not None and again.applicant_id == record.applicant_id


def test_unknown_passport_starts_a_new_foreign_applicant(qtbot, runtime, officer, foreigner):
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    record = _look_up(qtbot, page, "x1234567")
    assert record is None
    assert "X1234567" in page.banner.text() and "WNA" in page.banner.text()
    page.collect()
    applicant = page.state.applicant
    assert applicant["kewarganegaraan"] == "WNA" and applicant["no_paspor"] == "X1234567"
    assert "nik" not in applicant and page.state.new_applicant


def test_a_malformed_number_is_refused_and_a_nik_still_works(qtbot, runtime, officer, foreigner):
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    press(Qt.Key.Key_F3)
    type_text("AB!12345")
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "'!'" in page.banner.text(), timeout=10_000)
    assert page.banner.objectName() == "bannerError"
    assert page.nik_edit.hasFocus()  # typed again at once, over the selection
    record = _look_up(qtbot, page, "3171014708900003")
    assert record is None  # a NIK is looked up as a NIK, as before
    page.collect()
    assert page.state.applicant["nik"] == "3171014708900003"
