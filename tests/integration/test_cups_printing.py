"""Printing through the OS print system on a real CUPS queue (the cups-pdf virtual printer).

``.ci/run`` installs ``cups`` and ``printer-driver-cups-pdf``, points cups-pdf's output at a
known folder, starts ``cupsd`` and creates the queue; the fixture below does the same when
something is missing and CUPS is installed. What the queue printed is read back: the PDF the
CLI hands over keeps its text (pdftotext), the desk window's print is a raster of the
preview at printer resolution, so its QR codes are decoded instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.settings import PrintingSettings, Settings, save_settings
from mppdesk.store import repo
from tests.conftest import make_user, run_cli
from tests.integration.pdf_inspection import render_png
from tests.integration.test_intake import _three_service_visit

QUEUE = os.environ.get("MPPDESK_TEST_CUPS_QUEUE", "MPP-PDF")
# One pytest-xdist worker runs this module: the queue, its output folder and its job list are
# the machine's own, and a test reads them back (new files, pending jobs) as a whole.
pytestmark = pytest.mark.xdist_group("cups")
CUPS_PDF_CONF = Path("/etc/cups/cups-pdf.conf")
JOB_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CupsQueue:
    name: str
    out_dir: Path

    def files(self) -> set[Path]:
        return set(self.out_dir.glob("*.pdf")) if self.out_dir.is_dir() else set()


def _run(*command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _until(condition, timeout: float, what: str):
    """Poll an outside daemon (CUPS offers no event to wait on) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def _pdf_model() -> str:
    models = _run("lpinfo", "-m").stdout.splitlines()
    return next((m.split()[0] for m in models if "CUPS-PDF_opt" in m), None) or next(
        m.split()[0] for m in models if "cups-pdf" in m.lower()
    )


@pytest.fixture(scope="session")
def cups_queue() -> CupsQueue:
    if not (shutil.which("lp") and shutil.which("cupsd") and CUPS_PDF_CONF.exists()):
        pytest.skip(
            "CUPS with the cups-pdf printer is not installed here "
            "(apt-get install cups printer-driver-cups-pdf; .ci/run installs it)"
        )
    if "is running" not in _run("lpstat", "-r").stdout:
        started = _run("cupsd")
        assert started.returncode == 0, f"cupsd would not start: {started.stderr}"
        _until(lambda: "is running" in _run("lpstat", "-r").stdout, 30, "cupsd")
    if _run("lpstat", "-p", QUEUE).returncode != 0:
        made = _run("lpadmin", "-p", QUEUE, "-v", "cups-pdf:/", "-E", "-m", _pdf_model())
        assert made.returncode == 0, f"lpadmin: {made.stderr}"
    out = None
    for line in CUPS_PDF_CONF.read_text().splitlines():
        if line.startswith("Out "):
            out = line.split(None, 1)[1].strip()
    assert out, f"no Out directory in {CUPS_PDF_CONF}"
    out = out.replace("${HOME}", os.path.expanduser("~")).replace(
        "${USER}", os.environ.get("USER", "root")
    )
    return CupsQueue(QUEUE, Path(out))


@pytest.fixture(scope="session")
def stopped_queue(cups_queue) -> str:
    """A queue CUPS has stopped and that refuses jobs: what a printer that failed looks like."""
    name = f"{cups_queue.name}-STOPPED-{os.getpid()}"  # this run's own, whoever else runs
    made = _run("lpadmin", "-p", name, "-v", "cups-pdf:/", "-E", "-m", _pdf_model())
    assert made.returncode == 0, made.stderr
    assert _run("cupsdisable", name).returncode == 0
    assert _run("cupsreject", name).returncode == 0
    yield name
    _run("lpadmin", "-x", name)


def _job_done(queue: CupsQueue, job_id: str) -> bool:
    pending = _run("lpstat", "-W", "not-completed", "-o", queue.name).stdout
    return not re.search(rf"^{re.escape(job_id)}\s", pending, re.MULTILINE)


def printed_file(queue: CupsQueue, job_id: str) -> Path:
    """The PDF cups-pdf wrote for ``job_id`` (it names files TITLE-job_N.pdf)."""
    number = job_id.rsplit("-", 1)[1]
    _until(lambda: _job_done(queue, job_id), JOB_TIMEOUT_S, f"job {job_id} to complete")
    return _until(
        lambda: next(iter(queue.out_dir.glob(f"*job_{number}.pdf")), None),
        JOB_TIMEOUT_S,
        f"the PDF of job {job_id} in {queue.out_dir}",
    )


def pdftotext(path: Path) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def _visit(runtime):
    officer = make_user(runtime, "ani", "officer")
    return officer, finalize_visit(runtime, officer, parse_visit(_three_service_visit()))


def test_cli_prints_receipt_slip_and_checklist_on_the_cups_queue(
    cups_queue, runtime, data_dir, tmp_path
):
    _officer, result = _visit(runtime)
    numbers = [s.tracking_number for s in result.submissions]

    printed = run_cli("receipt", result.visit_id, "--printer", cups_queue.name, data_dir=data_dir)
    assert printed.returncode == 0, printed.stderr
    job = printed.stdout.strip()
    assert job.startswith(f"{cups_queue.name}-")
    receipt_text = pdftotext(printed_file(cups_queue, job))
    for number in numbers:
        assert number in receipt_text

    # The desk's named printer from the settings; VISIT given as a tracking number.
    save_settings(data_dir, Settings(printing=PrintingSettings(receipt_printer=cups_queue.name)))
    slip = run_cli("slip", numbers[1], "--format", "58mm", data_dir=data_dir)
    assert slip.returncode == 0, slip.stderr
    slip_text = pdftotext(printed_file(cups_queue, slip.stdout.strip()))
    assert numbers[1] in slip_text

    checklist = run_cli(
        "checklist", "imigrasi/paspor", "--printer", cups_queue.name, data_dir=data_dir
    )
    assert checklist.returncode == 0, checklist.stderr
    checklist_text = pdftotext(printed_file(cups_queue, checklist.stdout.strip()))
    assert runtime.catalog.service("imigrasi/paspor").name.id.split()[0] in checklist_text

    with runtime.store.read() as session:
        assert repo.count_audit(session, "receipt.printed", result.visit_id) == 1
        assert repo.count_audit(session, "slip.printed", result.visit_id) == 1


def test_cli_printer_faults_are_messages_not_tracebacks(
    cups_queue, stopped_queue, runtime, data_dir
):
    _officer, result = _visit(runtime)
    unknown = run_cli("receipt", result.visit_id, "--printer", "Kasir-Hilang", data_dir=data_dir)
    assert unknown.returncode == 1
    assert "Kasir-Hilang" in unknown.stderr and "tidak dikenal" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    bad_name = run_cli("receipt", result.visit_id, "--printer", "a b/c", data_dir=data_dir)
    assert bad_name.returncode == 2 and "Traceback" not in bad_name.stderr

    no_lp = run_cli(
        "receipt",
        result.visit_id,
        "--printer",
        cups_queue.name,
        data_dir=data_dir,
        env={"PATH": "/nonexistent"},
    )
    assert no_lp.returncode == 1
    assert "'lp'" in no_lp.stderr and "CUPS" in no_lp.stderr
    assert "Traceback" not in no_lp.stderr

    stopped = run_cli("receipt", result.visit_id, "--printer", stopped_queue, data_dir=data_dir)
    assert stopped.returncode == 1 and "tidak menerima pekerjaan" in stopped.stderr

    nowhere = run_cli("receipt", result.visit_id, data_dir=data_dir)  # no -o, no printer named
    assert nowhere.returncode == 2 and "--printer" in nowhere.stderr


def _done_page(qtbot, runtime, officer, result):
    from PySide6.QtWidgets import QApplication

    from mppdesk.desk.documents import print_receipt
    from mppdesk.ui.done import DonePage
    from mppdesk.ui.tasks import TaskRunner
    from mppdesk.ui.theme import apply_theme
    from mppdesk.ui.visit import FinalizedVisit

    apply_theme(QApplication.instance())  # as the desk does: banners look as they will
    receipt = print_receipt(runtime, officer, result.visit_id)
    page = DonePage(runtime, officer, TaskRunner(), FinalizedVisit(result, receipt, None))
    qtbot.addWidget(page)
    page.resize(1100, 760)
    page.show()
    return page


def test_desk_window_prints_to_the_named_cups_printer_without_a_dialog(
    qtbot, cups_queue, data_dir, tmp_path
):
    import zxingcpp
    from PIL import Image

    from mppdesk.desk.runtime import open_runtime

    save_settings(data_dir, Settings(printing=PrintingSettings(receipt_printer=cups_queue.name)))
    runtime = open_runtime(data_dir)
    try:
        officer, result = _visit(runtime)
        page = _done_page(qtbot, runtime, officer, result)
        assert page.choose_printer_button.isVisible()  # another printer stays one click away
        before = cups_queue.files()
        with qtbot.waitSignal(page.printed, timeout=30_000) as printed:
            assert page.print_document("receipt") >= 1  # no dialog: it would block here
        assert printed.args[0] == "receipt"
        assert cups_queue.name in page.message.text()
        new = _until(lambda: cups_queue.files() - before, JOB_TIMEOUT_S, "the printed PDF")
        _until(
            lambda: not _run("lpstat", "-o", cups_queue.name).stdout.strip(),
            JOB_TIMEOUT_S,
            "the queue to empty",
        )
        (path,) = new
        found = set()
        for image in render_png(path.read_bytes(), dpi=200):
            found |= {code.text for code in zxingcpp.read_barcodes(image)}
            image.save(tmp_path / "ui-printed.png")
        assert found == {s.tracking_number for s in result.submissions}
        with Image.open(tmp_path / "ui-printed.png") as image:
            assert image.width < image.height  # a receipt roll, not an A4 sheet
    finally:
        runtime.close()


def test_unknown_named_printer_keeps_the_receipt_in_preview_and_reprintable(
    qtbot, data_dir, tmp_path
):
    from PySide6.QtPrintSupport import QPrinter

    from mppdesk.desk.runtime import open_runtime

    save_settings(data_dir, Settings(printing=PrintingSettings(receipt_printer="Kasir-Hilang")))
    runtime = open_runtime(data_dir)
    try:
        officer, result = _visit(runtime)
        page = _done_page(qtbot, runtime, officer, result)
        assert page.print_document("receipt") == 0
        assert "Kasir-Hilang" in page.message.text() and "tidak ditemukan" in page.message.text()
        assert page.message.objectName() == "bannerError" and page.message.isVisible()
        assert page.print_receipt_button.isEnabled() and page.receipt_view.page_labels
        page.grab().save(str(tmp_path / "done-printer-missing.png"))
        if os.environ.get("MPPDESK_SCREENSHOTS"):
            page.grab().save(
                str(Path(os.environ["MPPDESK_SCREENSHOTS"]) / "done-printer-missing.png")
            )

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)  # another printer: a PDF file
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp_path / "again.pdf"))
        with qtbot.waitSignal(page.printed):
            assert page.print_document("receipt", printer) >= 1
        assert page.message.objectName() == "bannerOk"
        assert (tmp_path / "again.pdf").stat().st_size > 1000
    finally:
        runtime.close()


def test_stopped_cups_queue_is_a_message_and_the_receipt_stays(
    qtbot, stopped_queue, data_dir, tmp_path
):
    from mppdesk.desk.runtime import open_runtime

    save_settings(data_dir, Settings(printing=PrintingSettings(receipt_printer=stopped_queue)))
    runtime = open_runtime(data_dir)
    try:
        officer, result = _visit(runtime)
        page = _done_page(qtbot, runtime, officer, result)
        with qtbot.assertNotEmitted(page.printed):
            assert page.print_document("receipt") == 0
        assert stopped_queue in page.message.text() and "dihentikan" in page.message.text()
        assert page.print_receipt_button.isEnabled() and page.receipt_view.page_labels
        page.grab().save(str(tmp_path / "done-printer-stopped.png"))
    finally:
        runtime.close()
