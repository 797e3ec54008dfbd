"""A whole two-service visit by keyboard alone, and finalize blocked by the engine's errors."""

from __future__ import annotations

from PySide6.QtCore import Qt

from mppdesk.store import repo
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import (
    BPJS,
    KNOWN_NIK,
    KTP,
    focused,
    open_window,
    press,
    shoot,
    sign_in_to_visit,
    store_known_applicant,
    tab,
    type_text,
)

CTRL = Qt.KeyboardModifier.ControlModifier


def tab_to(name: str, limit: int = 25) -> None:
    for _ in range(limit):
        if focused().objectName() == name:
            return
        tab()
    raise AssertionError(f"Tab never reached {name!r} (stuck at {focused().objectName()!r})")


def add_service_by_search(qtbot, page, query: str, expected_count: int) -> None:
    press(Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: focused().objectName() == "serviceQuery")
    type_text(query)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(page.state.services) == expected_count)
    qtbot.waitUntil(lambda: page.service_pages[-1].isAncestorOf(focused()))


def test_two_service_visit_by_keyboard_only(qtbot, runtime):
    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)

    # F2: the next ticket of the chosen group; the focus moves on to the NIK.
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: page.ticket_edit.text() == "A-001")
    qtbot.waitUntil(lambda: focused() is page.nik_edit)

    # The NIK finds the applicant of an earlier visit: shared data is filled in.
    type_text(KNOWN_NIK)
    with qtbot.waitSignal(page.looked_up, timeout=10_000):
        press(Qt.Key.Key_Return)
    assert page.state.applicant["nama"] == "DEWI LESTARI"
    assert page.applicant_form.rows["applicant.tanggal_lahir"].editor.value() == "28-01-1995"
    shoot(window, "keyboard-01-applicant")

    # KTP-el lost: the police report fields appear once "hilang" is chosen.
    add_service_by_search(qtbot, page, "ktp hilang", 1)
    assert focused().objectName() == "jenis_permohonan"
    ktp = page.service_pages[0]
    assert not ktp.form.rows["answers.no_surat_kehilangan"].visible
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Down)
    assert ktp.form.rows["answers.no_surat_kehilangan"].visible
    assert "surat-kehilangan" in [r.requirement.id for r in ktp.checklist.rows if r.applies]
    tab()
    assert focused().objectName() == "no_surat_kehilangan"
    type_text("STPLK/1187/XI/2026")
    tab()
    assert focused().objectName() == "tanggal_surat_kehilangan"
    type_text("20-11-2026")
    tab_to("req.formulir-f102")
    press(Qt.Key.Key_Space)
    tab()
    assert focused().objectName() == "req.kk"
    press(Qt.Key.Key_Space)
    tab()
    assert focused().objectName() == "req.surat-kehilangan"
    press(Qt.Key.Key_Space)

    # BPJS Kesehatan: shared data is not asked again, only the service's own fields.
    add_service_by_search(qtbot, page, "bpjs kesehatan", 2)
    bpjs = page.service_pages[1]
    assert not any(path.startswith("applicant.") for path in bpjs.form.rows)
    assert focused().objectName() == "kelas_rawat"
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Down)
    tab()
    type_text("Puskesmas Rungkut")
    tab_to("bank_autodebet")
    press(Qt.Key.Key_Down)
    tab()
    assert focused().objectName() == "no_rekening_autodebet"
    type_text("012301004567508")
    tab()
    type_text("DEWI LESTARI")
    assert bpjs.form.rows["answers.perkiraan_iuran_bulanan"].editor.value() == "100.000"
    shoot(window, "keyboard-02-bpjs")

    press(Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: window.done_page is not None, timeout=20_000)
    done = window.done_page
    shoot(window, "keyboard-03-done")

    result = done.done.result
    assert [s.service for s in result.submissions] == [KTP, BPJS]
    assert done.done.receipt_pdf is not None and done.receipt_view.page_labels
    with runtime.store.read() as session:
        visit = repo.get_visit(session, result.visit_id)
        assert visit.status == "finalized"
        assert visit.ticket == "A-001"
        assert [s.service for s in visit.submissions] == [KTP, BPJS]
        ktp_row, bpjs_row = visit.submissions
        assert ktp_row.answers["jenis_permohonan"] == "hilang"
        assert ktp_row.answers["tanggal_surat_kehilangan"] == "2026-11-20"
        assert bpjs_row.answers["kelas_rawat"] == "kelas_2"
        assert bpjs_row.answers["bank_autodebet"] == "bri"
        states = {c.requirement_id: c.state for c in ktp_row.checklist}
        assert states["kk"] == "copy" and states["surat-kehilangan"] == "original"
        assert repo.counts(session)["submissions"] == 3  # the earlier visit's one, and these two

    # F2 again: a fresh visit with the next ticket.
    press(Qt.Key.Key_F2)
    qtbot.waitUntil(
        lambda: window.visit_page is not None and window.visit_page.ticket_edit.text() == "A-002"
    )


def test_errors_show_under_their_fields_and_block_finalize(qtbot, runtime):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    page.ticket_edit.setFocus()
    type_text("B-007")
    tab(3)
    assert focused() is page.nik_edit
    type_text("3578036801950003")  # not known: a new applicant
    with qtbot.waitSignal(page.looked_up, timeout=10_000):
        press(Qt.Key.Key_Return)
    add_service_by_search(qtbot, page, "ktp", 1)
    press(Qt.Key.Key_Down)  # "baru": a first card
    tab()
    type_text("catatan")

    press(Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: page.steps.currentRow() == page.steps.count() - 1)
    assert page.banner.isVisible() and "perlu diperbaiki" in page.banner.text()
    assert page.summary.errors.count() > 5
    assert not page.summary.finalize_button.isEnabled()
    row = page.applicant_form.rows["applicant.nama"]
    assert row.error is not None and row.error.text() == "Nama lengkap wajib diisi."
    shoot(window, "validation-summary")

    # Enter on an error opens its field; typing a bad date shows the engine's message there.
    page.summary.errors.setCurrentRow(0)
    press(Qt.Key.Key_Return)
    assert page.applicant_form.isAncestorOf(focused())
    date_edit = page.applicant_form.rows["applicant.tanggal_lahir"].editor.widget
    date_edit.setFocus()
    date_edit.selectAll()  # the NIK's birth date was filled in; the officer types over it
    type_text("31-02-1995")
    message = page.applicant_form.rows["applicant.tanggal_lahir"].error.text()
    assert "Tanggal lahir" in message and "31-02-1995" in message
    assert date_edit.property("invalid") is True
    shoot(window, "validation-field")

    assert window.done_page is None
    with runtime.store.read() as session:
        assert repo.counts(session)["submissions"] == 0
