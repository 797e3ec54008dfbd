"""Issue 12's counter loops on screen, by keyboard: the handover of a manual agency's files
(F12), a reprint from the submissions view (F6, Alt+E) and the information desk (F11).
Screenshots at 1366×768 and 1920×1080 with MPPDESK_SCREENSHOTS=docs/images."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter

from mppdesk.core.changes import Changes, Kind
from mppdesk.core.states import OutboxState
from mppdesk.settings import AgencyEndpoint
from mppdesk.store import repo
from mppdesk.store.models import OutboxEntry
from mppdesk.ui.notifier import ChangeNotifier
from tests.conftest import make_user
from tests.example_visits import example_visit, finalize
from tests.ui.desk_ui import focused, press, shoot, signed_in, type_text

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

SIZES = ((1366, 768), (1920, 1080))
ALT = Qt.KeyboardModifier.AltModifier
PDAM = "pdam/sambungan-baru"


def pdftotext(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_printer(path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer



def mnemonics(window, page) -> list[str]:
    """The Alt+letters of the menu bar and of the page's visible labels and buttons."""
    import re

    from PySide6.QtWidgets import QAbstractButton, QLabel

    texts = [action.text() for action in window.menuBar().actions()]
    texts += [w.text() for w in page.findChildren(QLabel) + page.findChildren(QAbstractButton)
              if w.isVisible()]
    return [m.lower() for t in texts for m in re.findall(r"&([^&\s])", t.replace("&&", ""))]


def assert_unique_mnemonics(window, page) -> None:
    letters = mnemonics(window, page)
    assert len(letters) >= 9  # four menus and the page's own
    assert len(letters) == len(set(letters)), sorted(letters)


def shots(qtbot, window, name: str, ready=lambda: True) -> None:
    for width, height in SIZES:
        window.resize(width, height)
        qtbot.waitUntil(ready, timeout=10_000)
        shoot(window, f"{name}-{width}")


def test_handover_screen_by_keyboard(qtbot, runtime, tmp_path):
    runtime.settings = runtime.settings.with_agency(AgencyEndpoint(code="pdam", mode="manual"))
    ani = make_user(runtime, "ani", "officer")
    first = finalize(runtime, ani, PDAM, ticket="A-001")
    second = finalize(runtime, ani, PDAM, ticket="A-002")
    window = signed_in(qtbot, runtime, "ani")

    press(Qt.Key.Key_F12)
    page = window.screen_pages.get("handover")
    assert page is not None and page.isVisible()
    qtbot.waitUntil(lambda: page.waiting.rowCount() == 2, timeout=10_000)
    assert page.waiting.item(0, 0).text() == first.tracking_number
    assert focused() is page.waiting
    assert_unique_mnemonics(window, page)
    shots(qtbot, window, "handover")

    press(Qt.Key.Key_Down)  # the second file
    press(Qt.Key.Key_N, ALT)
    assert focused() is page.receiver
    type_text("Budi Santoso")
    press(Qt.Key.Key_R, ALT)
    type_text("BA-17")
    with qtbot.waitSignal(page.handed_over, timeout=10_000) as marked:
        press(Qt.Key.Key_Return)
    assert marked.args[0].tracking_number == second.tracking_number
    qtbot.waitUntil(lambda: page.done.rowCount() == 1 and page.waiting.rowCount() == 1)
    assert page.done.item(0, 3).text() == "Budi Santoso" and page.done.item(0, 4).text() == "BA-17"
    assert page.receiver.text() == "Budi Santoso" and page.reference.text() == ""
    with runtime.store.read() as session:
        entry = session.query(OutboxEntry).filter_by(submission_id=second.submission_id).one()
        assert entry.state == OutboxState.DONE
        assert repo.count_audit(session, "submission.handed_over", second.submission_id) == 1

    press(Qt.Key.Key_S, ALT)  # marks the one left, with the name kept
    qtbot.waitUntil(lambda: page.waiting.rowCount() == 0 and page.done.rowCount() == 2)

    # a visit finalized meanwhile (another counter, the CLI) shows up once announced
    third = finalize(runtime, ani, PDAM, ticket="A-003")
    ChangeNotifier.of(window).notify(Changes.of(Kind.VISITS, submission_ids=[third.submission_id]))
    qtbot.waitUntil(lambda: page.waiting.rowCount() == 1)
    assert page.waiting.item(0, 0).text() == third.tracking_number

    with qtbot.waitSignal(page.printed, timeout=15_000):
        press(Qt.Key.Key_C, ALT)
    dialog = page.pdf_dialog
    qtbot.waitUntil(lambda: dialog.isVisible())
    shoot(dialog, "handover-record-dialog")
    result = dialog.save(tmp_path / "berita-acara")
    assert result.ok and (tmp_path / "berita-acara.pdf").exists()
    text = pdftotext(tmp_path / "berita-acara.pdf")
    assert "Ani" in text and "Budi Santoso" in text and second.tracking_number in text
    assert third.tracking_number in text  # still to hand over: listed with its check box
    printed = dialog.print_now(pdf_printer(tmp_path / "printed.pdf"))
    assert printed.ok and (tmp_path / "printed.pdf").read_bytes().startswith(b"%PDF")
    dialog.close()


def test_reprint_from_the_submissions_view_shows_the_name_as_submitted(qtbot, runtime, tmp_path):
    from mppdesk.desk.intake import finalize_visit, parse_visit

    ani = make_user(runtime, "ani", "officer")
    visit = example_visit("dukcapil/ktp-el", ticket="A-001")
    old_name = visit["applicant"]["nama"]
    result = finalize_visit(runtime, ani, parse_visit(visit))
    first = result.submissions[0]
    later = example_visit("dukcapil/ktp-el", ticket="A-002")
    later["applicant"]["nama"] = "NAMA SESUDAH PERUBAHAN"
    finalize_visit(runtime, ani, parse_visit(later))
    window = signed_in(qtbot, runtime, "ani")

    press(Qt.Key.Key_F6)
    page = window.submissions_page
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10_000)
    row = next(r for r in range(2) if page.model.row_at(r).tracking_number == first.tracking_number)
    page.table.selectRow(row)
    page.table.setFocus()
    press(Qt.Key.Key_E, ALT)  # "C&etak ulang"
    qtbot.waitUntil(lambda: getattr(page, "reprint_dialog", None) is not None)
    dialog = page.reprint_dialog
    qtbot.waitUntil(lambda: dialog.pdf is not None, timeout=15_000)
    assert focused() is dialog.kind
    shots(qtbot, window, "reprint-submissions")
    shoot(dialog, "reprint-dialog")
    saved = dialog.save_copy(str(tmp_path / "receipt.pdf"))
    assert saved.ok
    text = " ".join(pdftotext(tmp_path / "receipt.pdf").split())
    assert "SALINAN" in text and old_name in text and "SESUDAH" not in text

    with qtbot.waitSignal(dialog.built, timeout=15_000):
        press(Qt.Key.Key_Down)  # the slip
    assert dialog.current_kind == "slip"
    with qtbot.waitSignal(dialog.built, timeout=15_000):
        press(Qt.Key.Key_Down)  # the checklist
    printed = dialog.print_copy(pdf_printer(tmp_path / "checklist.pdf"))
    assert printed.ok
    with runtime.store.read() as session:
        actions = {e.action for e in repo.audit_events(session) if e.object_id == result.visit_id
                   and e.details.get("reprint")}
    assert actions == {"receipt.printed", "slip.printed", "checklist.printed"}
    press(Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_information_desk_by_keyboard(qtbot, runtime, tmp_path):
    make_user(runtime, "ani", "officer")
    window = signed_in(qtbot, runtime, "ani")
    press(Qt.Key.Key_F11)
    page = window.screen_pages.get("infodesk")
    assert page is not None and page.isVisible()
    qtbot.waitUntil(lambda: focused() is page.search)
    assert_unique_mnemonics(window, page)
    type_text("ktp")
    press(Qt.Key.Key_Return)
    assert page.codes == ["dukcapil/ktp-el"]
    press(Qt.Key.Key_C, ALT)
    assert focused() is page.search
    page.search.clear()
    type_text("pdam")
    press(Qt.Key.Key_Return)
    assert page.codes == ["dukcapil/ktp-el", PDAM]
    detail = page.detail.toPlainText()
    assert "Ke mana" in detail and "loket PDAM" in detail and "Biaya" in detail
    shots(qtbot, window, "infodesk")

    with qtbot.waitSignal(page.output, timeout=15_000) as done:
        page.print_checklist(pdf_printer(tmp_path / "checklist.pdf"))
    assert done.args[0].ok
    assert page.pdf is not None
    (tmp_path / "built.pdf").write_bytes(page.pdf)
    text = " ".join(pdftotext(tmp_path / "built.pdf").split())
    assert "Ke mana" in text and "loket Dukcapil" in text and "SALINAN" not in text

    press(Qt.Key.Key_I, ALT)
    assert focused() is page.chosen
    page.chosen.setCurrentRow(0)
    press(Qt.Key.Key_Delete)
    assert page.codes == [PDAM]
    with runtime.store.read() as session:
        assert any(e.action == "checklist.printed" for e in repo.audit_events(session))

    # no manual agency configured: the handover screen says so and offers nothing to press
    press(Qt.Key.Key_F12)
    handover = window.screen_pages.get("handover")
    assert handover is not None and handover.isVisible()
    assert handover.banner.isVisible() and "Tidak ada instansi manual" in handover.banner.text()
    assert not handover.mark_button.isEnabled() and not handover.print_button.isEnabled()
