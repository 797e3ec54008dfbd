"""No printer on the PC: the receipt is kept as a PDF and the done page says where, by
keyboard (Ctrl+P), never through Qt's English file dialog (issue 12, words and fit)."""

from __future__ import annotations

import stat

import pytest
from PySide6.QtCore import Qt

from mppdesk.desk import documents
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.ui.done import PRINTOUTS_DIR, DonePage
from mppdesk.ui.visit import FinalizedVisit
from tests.conftest import make_user
from tests.integration.test_intake import example_visit
from tests.ui.desk_ui import press

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_no_printer_keeps_the_receipt_as_a_pdf_and_says_where(qtbot, runtime, tasks):
    officer = make_user(runtime, "ani", "officer")
    result = finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    receipt = documents.print_receipt(runtime, officer, result.visit_id, lang="id")
    page = DonePage(runtime, officer, tasks, FinalizedVisit(result, receipt, None))
    qtbot.addWidget(page)
    page.printers = lambda: []  # this PC has no printer (the OS's list is empty)
    page.resize(1366, 700)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    page.focus_first()
    press(Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)

    path = page.saved_pdf
    assert path is not None and path.parent == runtime.data_dir / PRINTOUTS_DIR
    assert path.read_bytes() == receipt
    assert result.submissions[0].tracking_number in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # personal data: the desk's only
    assert page.message.isVisible() and page.message.objectName() == "bannerWarning"
    assert "Tidak ada printer" in page.message.text() and str(path) in page.message.text()
    assert "directory" not in page.message.text()
    from tests.ui.test_fit import SIZES, _look

    for size in SIZES:
        assert _look(qtbot, page, "done-no-printer", size) == []
