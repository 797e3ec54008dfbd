"""Fewer keys at the counter: what the NIK tells is not typed again, defaults are shown,
dates are digits, no dead Tab stops, and the new applicant's KTP-el + BPJS visit is counted."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mppdesk.store import repo
from mppdesk.ui.fields import dashed_date
from mppdesk.ui.tour_keys import BPJS, KTP, NEW_NIK, new_applicant_visit
from tests.conftest import PASSWORD, make_user
from tests.ui import desk_ui
from tests.ui.desk_ui import focused, open_window, press, shoot, sign_in_to_visit, tab, type_text

# The offscreen platform cannot raise a dialog or grab the keyboard for a completer's popup.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def _new_applicant(qtbot, runtime, nik: str = NEW_NIK):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    desk_ui.look_up_nik(qtbot, page, nik)
    qtbot.waitUntil(lambda: page.applicant_form.focus_stops()[-1].isVisible())
    return window, page


def test_new_applicant_ktp_and_bpjs_within_the_key_budget(qtbot, runtime):
    """Issue 12, fewer keys: ≤ 300 keys in all and ≤ 50 that are not the citizen's data."""
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    sign_in_to_visit(qtbot, window, "ani", PASSWORD)

    count = new_applicant_visit(window, lambda c: qtbot.waitUntil(c, timeout=10_000))
    print(count.summary())  # the tour prints the same line
    shoot(window, "keys-done")

    result = window.done_page.done.result
    assert [s.service for s in result.submissions] == [KTP, BPJS]
    with runtime.store.read() as session:
        visit = repo.get_visit(session, result.visit_id)
        ktp, bpjs = visit.submissions
        assert ktp.answers["tanggal_surat_kehilangan"] == "2026-11-20"  # typed as 20112026
        assert bpjs.answers["kelas_rawat"] == "kelas_3"  # "3" picked "Kelas 3"
        assert bpjs.answers["nama_pemilik_rekening"] == "DEWI LESTARI"  # never typed
        husband = bpjs.answers["anggota_keluarga"][0]
        assert husband["anggota_tanggal_lahir"] == "1992-08-15"  # from his NIK
        assert husband["anggota_jenis_kelamin"] == "L"
        profile = repo.counts(session)
    assert profile["submissions"] == 2
    assert count.total <= 300, count.summary()
    assert count.overhead <= 50, count.summary()


def test_not_found_shows_the_whole_form_prefilled_from_the_nik(qtbot, runtime):
    window, page = _new_applicant(qtbot, runtime)
    rows = page.applicant_form.rows
    # No service chosen yet, and still the whole profile is there to type.
    for field in ("no_kk", "tempat_lahir", "alamat", "rt", "rw", "wilayah", "no_hp", "agama"):
        assert f"applicant.{field}" in rows, field
    # The NIK encodes birth date (day 68 = 28 + 40: a woman) and the district.
    assert rows["applicant.tanggal_lahir"].editor.value() == "28-01-1995"
    assert rows["applicant.jenis_kelamin"].editor.value() == "P"
    region = rows["applicant.wilayah"].editor
    assert [c.currentData() for c in region.combos[:3]] == ["35", "3578", "357803"]
    assert region.value() is None  # the village is still to pick: nothing answered yet
    assert rows["applicant.kewarganegaraan"].editor.value() == "WNI"  # the default, shown
    assert focused() is rows["applicant.no_kk"].editor.widget  # typing starts at once
    shoot(window, "keys-new-applicant")

    # Editable: another date typed as digits replaces the NIK's and gets its dashes.
    date_edit = rows["applicant.tanggal_lahir"].editor.widget
    date_edit.setFocus()
    date_edit.selectAll()
    type_text("27011995")
    assert date_edit.text() == "27-01-1995"
    page.evaluate()
    assert page.state.applicant["tanggal_lahir"] == "27-01-1995"
    warnings = [e for e in page.check.applicant_entries if e.path == "applicant.nik"]
    assert warnings, "the engine says the typed date differs from the NIK's"

    # The region search looks in the NIK's district first: three letters, Enter.
    region.search.setFocus()
    type_text("run")
    qtbot.waitUntil(lambda: region.search.completer().popup().isVisible())
    press(Qt.Key.Key_Return)
    assert region.value() == "3578031002"  # Rungkut Kidul
    assert focused() is rows["applicant.no_hp"].editor.widget  # on past the cascade


def test_malformed_nik_is_refused_at_look_up(qtbot, runtime):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    looked_up: list[object] = []
    page.looked_up.connect(looked_up.append)
    for nik in ("3578037713950001", "3578032813950001"):  # day 77; month 13
        page.nik_edit.setFocus()
        page.nik_edit.selectAll()
        type_text(nik)
        press(Qt.Key.Key_Return)
        assert page.banner.objectName() == "bannerError"
        assert "NIK ini tidak sah" in page.banner.text()
        assert focused() is page.nik_edit
    qtbot.wait(600)  # longer than the pause that looks a typed NIK up: still nothing
    assert looked_up == []
    assert "applicant.no_kk" not in page.applicant_form.rows


def test_defaults_follow_until_edited(qtbot, runtime):
    window, page = _new_applicant(qtbot, runtime)
    page.add_service(BPJS)
    qtbot.waitUntil(lambda: page.service_pages[-1].isVisible())
    holder = page.service_pages[-1].form.rows["answers.nama_pemilik_rekening"].editor
    name = page.applicant_form.rows["applicant.nama"].editor.widget
    name.setFocus()
    type_text("DEWI")
    assert holder.value() == "DEWI"  # the account holder is the applicant …
    type_text(" LESTARI")
    assert holder.value() == "DEWI LESTARI"  # … and follows her name as it is typed
    page.collect()
    assert "nama_pemilik_rekening" not in page.state.services[-1].answers  # not "typed"

    holder.widget.setFocus()
    holder.widget.selectAll()
    type_text("BUDI SANTOSO")  # someone else's account: the officer's word now stands
    name.setFocus()
    type_text("X")
    assert holder.value() == "BUDI SANTOSO"
    page.collect()
    assert page.state.services[-1].answers["nama_pemilik_rekening"] == "BUDI SANTOSO"


def test_no_dead_tab_stops(qtbot, runtime):
    """Every Tab stop of the counter page is a control with a name: no banner, no scroll area."""
    window, page = _new_applicant(qtbot, runtime)
    page.add_service(KTP)
    qtbot.waitUntil(lambda: page.service_pages[-1].isVisible())
    page.ticket_edit.setFocus()
    seen = []
    for _ in range(120):
        tab()
        widget = focused()
        if widget is page.ticket_edit:
            break
        seen.append(widget)
    assert page.banner not in seen
    names = [w.objectName() for w in seen]
    assert all(names), f"unnamed Tab stops after {[n for n in names if n][-3:]}"
    assert "req.kk" in names and names.index("req.kk") < names.index("attach")


def test_digit_dates_get_their_dashes():
    assert dashed_date("28011995") == "28-01-1995"
    assert dashed_date("280") == "28-0"
    assert dashed_date("28-011") == "28-01-1"  # after a dash placed for the officer
    assert dashed_date("1995-01-28") is None  # an ISO date pasted stays as it is
    assert dashed_date("28/01/1995") is None


def test_a_due_date_in_a_year_without_holidays_says_so(qtbot, runtime, tasks):
    """Issue 12: the holiday list ends in 2027; a due date in 2028 warns instead of lying."""
    from datetime import UTC, datetime

    from mppdesk.ui.visit import VisitPage

    actor = make_user(runtime, "ani", "officer")
    runtime.clock = lambda: datetime(2027, 12, 31, 2, 0, tzinfo=UTC)  # due in 2028
    page = VisitPage(runtime, actor, tasks)
    qtbot.addWidget(page)
    page.add_service(KTP)
    facts = page.service_pages[0].facts.text()
    assert "daftar hari libur 2028 belum ada" in facts

    (runtime.data_dir / "holidays.toml").write_text(
        '[2028]\nlibur_nasional = ["2028-01-01"]\n', encoding="utf-8"
    )
    page.evaluate()
    assert "belum ada" not in page.service_pages[0].facts.text()


def test_the_ticket_group_is_remembered_across_sessions(qtbot, runtime):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    assert page.group_combo.currentText().endswith("· Bank")  # a name, not "BANK"
    samsat = page.group_combo.findData("samsat")
    page.group_combo.setCurrentIndex(samsat)
    qtbot.waitUntil(lambda: (runtime.data_dir / "counter-memory.json").exists())
    window.close()  # the desk closes at the end of the shift …

    again = open_window(qtbot, runtime)  # … and opens the next morning
    page = sign_in_to_visit(qtbot, again, "ani", PASSWORD)
    assert page.group_combo.currentData() == "samsat"
    assert page.group_combo.currentText() == "N · Samsat"
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: page.ticket_edit.text().startswith("N-"), timeout=10_000)
