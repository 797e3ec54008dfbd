"""Parts of the visit: region cascade, proxy, language switch, printing, opening an install."""

from __future__ import annotations

import io

import pypdf
import pytest
from PySide6.QtCore import Qt

from mppdesk.forms.definitions import FieldDef
from mppdesk.store import repo
from mppdesk.ui.form_view import FieldSpec, FormView
from mppdesk.ui.window import DeskWindow
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import (
    KNOWN_NIK,
    KTP,
    focused,
    look_up_nik,
    open_window,
    press,
    shoot,
    sign_in_to_visit,
    store_known_applicant,
    type_text,
)

ALT = Qt.KeyboardModifier.AltModifier


# The offscreen platform cannot raise a dialog or grab the keyboard for a popup; it says so.
@pytest.mark.qt_log_ignore("This plugin does not support")
def test_region_search_fills_the_cascade_and_the_code(qtbot):
    village = FieldDef.model_validate(
        {
            "id": "wilayah",
            "type": "region",
            "region_level": "village",
            "label": {"id": "Desa/kelurahan", "en": "Village"},
        }
    )
    changes: list[str] = []
    form = FormView([FieldSpec("applicant.wilayah", village)], changes.append)
    qtbot.addWidget(form)
    form.show()
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    editor = form.rows["applicant.wilayah"].editor
    editor.search.setFocus()
    qtbot.waitUntil(lambda: focused() is editor.search)
    type_text("rungkut kidul")
    popup = editor.search.completer().popup()
    qtbot.waitUntil(popup.isVisible)
    assert "Rungkut Kidul" in popup.model().index(0, 0).data()
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.value() is not None and len(editor.value()) == 10)
    code = editor.value()
    assert code.startswith("3578")  # Kota Surabaya
    assert [c.currentData() for c in editor.combos] == [code[:2], code[:4], code[:6], code]
    assert changes  # the visit re-evaluates

    # Walking the cascade instead: a province resets the levels below it.
    editor.combos[0].setCurrentIndex(editor.combos[0].findData("31"))
    assert editor.combos[1].count() > 1 and editor.combos[3].count() == 0
    assert editor.value() == "31"


def test_proxy_by_mnemonic_and_its_name_is_required(qtbot, runtime):
    make_user(runtime, "ani", "officer")
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    press(Qt.Key.Key_U, ALT)  # "Diwakili k&uasa"
    qtbot.waitUntil(lambda: page.proxy_check.isChecked())
    qtbot.waitUntil(lambda: focused() is page.proxy_edits["nama"])
    assert page.proxy_card.isVisible()
    assert page.state.proxy == {}
    assert page.check.proxy_errors == ["proxy.nama"]
    type_text("AHMAD FAUZI")
    assert page.state.proxy == {"nama": "AHMAD FAUZI"} and not page.check.proxy_errors


def test_switching_to_english_keeps_the_visit(qtbot, runtime):
    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    look_up_nik(qtbot, page, KNOWN_NIK)
    page.add_service(KTP)
    try:
        window.actions_by_name["lang_en"].trigger()
        english = window.visit_page
        assert english is not page
        assert english.state.service_codes() == [KTP]
        assert english.applicant_form.rows["applicant.nama"].editor.value() == "DEWI LESTARI"
        assert english.applicant_form.rows["applicant.nama"].label.text() == "Full name *"
        assert [a.text().replace("&", "") for a in window.menuBar().actions()][0] == "Visit"
        assert english.steps.item(1).data(Qt.ItemDataRole.UserRole).startswith("2. Dukcapil")
        shoot(window, "english")
    finally:
        window.set_language("id")


def test_receipt_prints_the_previewed_pdf(qtbot, runtime, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    look_up_nik(qtbot, page, KNOWN_NIK)
    page.add_service("dukcapil/ikd-aktivasi")
    service_page = page.service_pages[0]
    form = service_page.form
    form.set_values("answers", {"sistem_operasi": "android", "ponsel_milik_sendiri": True})
    page.changed()
    scan = runtime.catalog.resolve_path("samples/scan-kk.pdf")
    page.attach_files(service_page, [scan, tmp_path / "hilang.pdf"])
    qtbot.waitUntil(lambda: len(service_page.attachments) == 1)
    assert "hilang.pdf" in page.banner.text()  # a file that is not there is named
    assert service_page.files.item(0).text().startswith("scan-kk.pdf")
    assert page.state.as_json()["services"][0]["attachments"][0]["name"] == "scan-kk.pdf"
    assert page.finalize()
    qtbot.waitUntil(lambda: window.done_page is not None, timeout=20_000)
    done = window.done_page
    assert done.slip_view is not None  # nothing ticked: the slip lists what is missing

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    target = tmp_path / "receipt-printed.pdf"
    printer.setOutputFileName(str(target))
    with qtbot.waitSignal(done.printed) as printed:
        pages = done.print_document("receipt", printer)
    expected = len(pypdf.PdfReader(io.BytesIO(done.done.receipt_pdf)).pages)
    assert printed.args == ["receipt", expected] and pages == expected
    assert len(pypdf.PdfReader(str(target)).pages) == expected
    with runtime.store.read() as session:
        assert repo.count_audit(session, "receipt.printed", done.done.result.visit_id) == 1
        (submission,) = repo.get_visit(session, done.done.result.visit_id).submissions
        assert [a.name for a in submission.attachments] == ["scan-kk.pdf"]
        assert runtime.blobs.get(submission.attachments[0].sha256) == scan.read_bytes()


def test_generated_widgets_carry_the_field_id_and_label(qtbot, runtime):
    from mppdesk.ui.fields import GroupEditor, MultiChoiceEditor
    from mppdesk.ui.i18n import text_of
    from mppdesk.ui.service_page import ServicePage
    from mppdesk.ui.visit_state import ServiceEntry

    for code in ("bpjs-kesehatan/peserta-mandiri", "dukcapil/ktp-el", "pdam/sambungan-baru"):
        page = ServicePage(
            runtime.catalog,
            ServiceEntry(code),
            lambda: None,
            lambda *a: None,
            lambda *a: None,
            lambda: None,
        )
        qtbot.addWidget(page)
        for row in page.form.rows.values():
            widget = (
                row.editor.widget
                if isinstance(row.editor, GroupEditor | MultiChoiceEditor)
                else None
            )
            stops = row.editor.focus_widgets()
            named = widget or (stops[0] if stops else row.editor.widget)
            if row.spec.field.type == "region":
                named = row.editor.widget
            if row.spec.field.type == "file":
                named = row.editor.combo
            assert named.objectName() == row.spec.field.id, code
            assert named.accessibleName() == text_of(row.spec.field.label), code


def test_opening_a_new_install_asks_for_the_first_admin(qtbot, tmp_path):
    window = DeskWindow(start_sync=False)
    qtbot.addWidget(window)
    window.show()
    assert window.login_page.mode == "opening" and not window.login_page.submit.isEnabled()
    with qtbot.waitSignal(window.runtime_ready, timeout=20_000):
        window.open_install(tmp_path / "new-install")
    assert window.login_page.mode == "setup"
    assert (tmp_path / "new-install" / "mppdesk.sqlite").exists()
    window.close()
    window.runtime.close()
