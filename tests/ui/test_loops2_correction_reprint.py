"""Issue 12 leftover (loops2): the reprint of a correction (and of a cancellation) stored
without a ticket of its own prints the queue number of the visit it corrects, not an empty
"No. antrean" line. The copy comes from the real reprint dialog and is read back with
pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from mppdesk.desk import corrections
from mppdesk.desk.intake import finalize_visit
from mppdesk.ui.reprint import ReprintDialog
from tests.example_visits import KTP, finalize

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def pdftotext(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _reprint_text(qtbot, runtime, actor, tasks, tracking: str, kind: str, path) -> str:
    dialog = ReprintDialog(runtime, actor, tasks, tracking)
    qtbot.addWidget(dialog)
    if dialog.current_kind != kind:
        with qtbot.waitSignal(dialog.built, timeout=15_000):
            dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
    qtbot.waitUntil(lambda: dialog.pdf is not None and dialog.current_kind == kind, timeout=15_000)
    saved = dialog.save_copy(str(path))
    assert saved is not None and saved.ok
    return pdftotext(path)


def _ticket_line(text: str) -> str:
    line = next(line for line in text.splitlines() if "No. antrean" in line)
    return " ".join(line.split())


def test_a_corrections_reprint_shows_the_original_visits_queue_number(
    qtbot, runtime, officer, tasks, tmp_path
):
    original = finalize(runtime, officer, KTP, ticket="A-017")
    draft = corrections.correction_of(runtime, officer, original.tracking_number)
    # As "Perbaiki" stores it when no new ticket was called: no ticket of its own.
    stored = finalize_visit(runtime, officer, draft.request(runtime.blobs.get, ticket=""))
    correction = stored.submissions[0]

    text = _reprint_text(
        qtbot, runtime, officer, tasks, correction.tracking_number, "receipt", tmp_path / "r.pdf"
    )
    assert "SALINAN" in text and correction.tracking_number in text
    assert re.fullmatch(r".*No\. antrean:? A-017\b.*", _ticket_line(text))

    slip = _reprint_text(
        qtbot, runtime, officer, tasks, correction.tracking_number, "slip", tmp_path / "s.pdf"
    )
    assert "A-017" in _ticket_line(slip)


def test_a_cancellations_receipt_and_a_new_tickets_correction(
    qtbot, runtime, officer, tasks, tmp_path
):
    """A cancellation prints the cancelled visit's number; a correction for which the
    officer called a new ticket prints that one."""
    first = finalize(runtime, officer, KTP, ticket="B-003")
    cancel = corrections.cancel(runtime, officer, first.tracking_number, "Pemohon batal")
    text = _reprint_text(
        qtbot, runtime, officer, tasks, cancel.tracking_number, "receipt", tmp_path / "c.pdf"
    )
    assert "B-003" in _ticket_line(text)

    second = finalize(runtime, officer, KTP, ticket="C-004")
    draft = corrections.correction_of(runtime, officer, second.tracking_number)
    stored = finalize_visit(runtime, officer, draft.request(runtime.blobs.get, ticket="C-009"))
    text = _reprint_text(
        qtbot, runtime, officer, tasks, stored.submissions[0].tracking_number, "receipt",
        tmp_path / "n.pdf",
    )
    line = _ticket_line(text)
    assert "C-009" in line and "C-004" not in line
