"""``python -m mppdesk.ui.tour OUTDIR``: one two-service visit on the demo desk, a PNG per step.

Runs offscreen on a throwaway demo (its own data dir and loopback agency server, both gone
at the end): sign-in → ticket and NIK of a returning applicant → KTP-el (lost card) →
BPJS Kesehatan with a family member → summary → finalize and receipt preview → the
submissions view syncing → the agency server stopped, the desk offline → a new applicant's
KTP-el + BPJS visit by keyboard alone, its keys counted and printed (``tour_keys``) → the
loops around a visit, each by keyboard and counted: a BPN file the supervisor returned, seen
by the officer with its reason → its correction (Ctrl+E, Ctrl+Enter) → once approved, handed
over to BPN's officer (F12, a manual agency) → its receipt reprinted as SALINAN (F6, Alt+E).
The README shows the pictures; re-run this after a visible change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

KTP = "dukcapil/ktp-el"
BPJS = "bpjs-kesehatan/peserta-mandiri"
BPN = "bpn/sertipikat-hilang"  # BPN has no API on the demo desk; held for approval
RETURN_REASON = "Foto sertipikat buram, mohon pindai ulang"


class Tour:
    def __init__(self, out_dir: Path):
        from PySide6.QtWidgets import QApplication

        self.out_dir = out_dir
        self.app = QApplication.instance() or QApplication(sys.argv[:1])
        self.count = 0
        self.saved: list[Path] = []
        self.key_count = None  # the keyed visit's KeyCount
        self.loop_counts: dict[str, object] = {}  # the loops' KeyCounts, by step

    def pump(self, msecs: int = 20) -> None:
        """Run Qt's own event loop for a moment (never ``processEvents`` in a Python loop:
        with worker threads running, PySide 6.12 corrupted reference counts that way)."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(msecs, loop.quit)
        loop.exec()

    def wait(self, condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"tour: waited {timeout:.0f} s for {what or condition}")
            self.pump()

    def settle(self, rounds: int = 4) -> None:
        from PySide6.QtCore import QCoreApplication, QEvent

        for _ in range(rounds):
            self.pump(15)
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def shot(self, window, name: str) -> Path:
        self.settle()
        self.count += 1
        path = self.out_dir / f"step-{self.count:02d}-{name}.png"
        window.grab().save(str(path))
        self.saved.append(path)
        print(path, flush=True)
        return path


def key(widget, key_name: str, modifier: str = "") -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    mod = {
        "": Qt.KeyboardModifier.NoModifier,
        "ctrl": Qt.KeyboardModifier.ControlModifier,
    }[modifier]
    QTest.keyClick(widget, getattr(Qt.Key, f"Key_{key_name}"), mod)


def typed(widget, text: str) -> None:
    from PySide6.QtTest import QTest

    QTest.keyClicks(widget, text)


def run(out_dir: Path) -> list[Path]:
    from mppdesk.desk.auth import login
    from mppdesk.desk.demo import start_demo
    from mppdesk.ui import i18n
    from mppdesk.ui.theme import apply_theme
    from mppdesk.ui.window import DeskWindow

    out_dir.mkdir(parents=True, exist_ok=True)
    tour = Tour(out_dir)
    apply_theme(tour.app)
    i18n.set_language("id")
    data_dir = Path(tempfile.mkdtemp(prefix="mppdesk-tour-"))
    # The tour's store gets a throwaway key too, never the desk key of this machine.
    key_dir = Path(tempfile.mkdtemp(prefix="mppdesk-tour-key-"))
    os.environ.setdefault("MPPDESK_KEY_FILE", str(key_dir / "desk.key"))
    env = start_demo(data_dir, visits=6)
    window = None
    try:
        runtime = env.runtime
        username, _role, password, _name = next(a for a in env.accounts if a[1] == "officer")
        example = runtime.catalog.service(KTP).examples[0]
        _returning_applicant(runtime, login(runtime, username, password), example)
        supervisor = next(a for a in env.accounts if a[1] == "supervisor")
        sari = login(runtime, supervisor[0], supervisor[2])
        returned = _returned_file(runtime, login(runtime, username, password), sari)

        window = DeskWindow(runtime=runtime, demo_accounts=list(env.accounts))
        visit = _sign_in(tour, window, username, password)
        _applicant_step(tour, window, visit, example)
        _ktp_step(tour, window, visit)
        _bpjs_step(tour, window, visit)
        _finalize_steps(tour, window, visit)
        subs = _submissions_step(tour, window, example.applicant["nik"])
        _offline_step(tour, window, subs, env, username, password)
        _counted_visit_step(tour, window)
        _loop_steps(tour, window, returned, sari)
    finally:
        if window is not None:
            window.shutdown()
            window.deleteLater()
        env.close()
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(key_dir, ignore_errors=True)
    return tour.saved


def _returning_applicant(runtime, officer, example) -> None:
    """A returning applicant: last month's KTP-el visit stored her profile."""
    from mppdesk.desk.intake import finalize_visit, parse_visit

    earlier = {
        "ticket": "A-000",
        "applicant": dict(example.applicant),
        "services": [
            {
                "service": KTP,
                "answers": dict(example.answers),
                "checklist": dict(example.checklist),
            }
        ],
    }
    before_moving = dict(
        earlier, applicant=dict(example.applicant, alamat="Jl. Kendangsari III/14")
    )
    finalize_visit(runtime, officer, parse_visit(before_moving))  # she has moved since
    finalize_visit(runtime, officer, parse_visit(earlier))


def _sign_in(tour: Tour, window, username: str, password: str):
    """The sign-in page, then the counter with the day's usage loaded; returns the visit."""
    window.show()
    window.activateWindow()
    tour.wait(window.isActiveWindow, what="the window")
    tour.wait(lambda: window.login_page.mode == "login", what="the sign-in page")
    tour.shot(window, "login")

    page = window.login_page
    typed(page.username, username)
    typed(page.password, password)
    key(page.password, "Return")
    tour.wait(lambda: window.visit_page is not None, what="the counter")
    visit = window.visit_page
    tour.wait(lambda: visit.usage is not None, what="service usage")
    return visit


def _applicant_step(tour: Tour, window, visit, example) -> None:
    """A ticket from the Dukcapil group, her NIK looked up, a changed phone number."""
    group = visit.group_combo.findData("dukcapil")
    visit.group_combo.setCurrentIndex(group)
    key(visit.ticket_edit, "F2")
    tour.wait(lambda: bool(visit.ticket_edit.text()), what="a ticket")
    typed(visit.nik_edit, example.applicant["nik"])
    key(visit.nik_edit, "Return")
    tour.wait(lambda: visit.state.record is not None, what="the applicant")
    phone = visit.applicant_form.rows["applicant.no_hp"].editor.widget
    phone.setFocus()
    phone.selectAll()
    typed(phone, "081331239999")  # a new number since last time: marked as changed
    tour.settle()  # the rebuilt form is laid out before it can be scrolled to
    visit.applicant_page.ensureWidgetVisible(phone, 50, 200)
    tour.shot(window, "applicant")


def _ktp_step(tour: Tour, window, visit) -> None:
    """KTP-el for a lost card: the police report's fields and requirement appear."""
    visit.add_service(KTP)
    ktp = visit.service_pages[0]
    combo = ktp.form.rows["answers.jenis_permohonan"].editor.widget
    combo.setFocus()
    key(combo, "Down")
    key(combo, "Down")  # hilang: the police report fields and requirement appear
    typed(
        ktp.form.rows["answers.no_surat_kehilangan"].editor.widget,
        "STPLK/2231/XI/2026/Sek Rungkut",
    )
    typed(ktp.form.rows["answers.tanggal_surat_kehilangan"].editor.widget, "27-11-2026")
    for row in ktp.checklist.rows:
        if row.requirement.id in ("formulir-f102", "kk", "surat-kehilangan"):
            row.check.setChecked(True)
    tour.shot(window, "service-ktp")


def _bpjs_step(tour: Tour, window, visit) -> None:
    """BPJS Kesehatan with a family member and auto-debit."""
    visit.add_service(BPJS)
    bpjs = visit.service_pages[1]
    form = bpjs.form
    form.rows["answers.kelas_rawat"].editor.set_value("kelas_3")
    typed(form.rows["answers.faskes_pertama"].editor.widget, "Puskesmas Rungkut")
    group_editor = form.rows["answers.anggota_keluarga"].editor
    group_editor.add_button.click()
    visit.changed()
    first = group_editor.rows[0][1]
    for editor, value in zip(
        first, ("3578031508920004", "BUDI SANTOSO", "suami", "15-08-1992", "L"), strict=True
    ):
        editor.set_value(value)
    form.rows["answers.bank_autodebet"].editor.set_value("bri")
    typed(form.rows["answers.no_rekening_autodebet"].editor.widget, "012301004567508")
    typed(form.rows["answers.nama_pemilik_rekening"].editor.widget, "DEWI LESTARI")
    for row in bpjs.checklist.rows:
        if row.requirement.id in ("formulir-dip", "kk", "ktp-el"):
            row.check.setChecked(True)
    visit.changed()
    tour.shot(window, "service-bpjs")


def _finalize_steps(tour: Tour, window, visit) -> None:
    """The summary, Ctrl+Enter, the receipt (and the slip when something is missing)."""
    from PySide6.QtWidgets import QApplication

    visit.go_step(visit.steps.count() - 1)
    tour.shot(window, "summary")

    key(QApplication.focusWidget() or visit, "Return", "ctrl")
    tour.wait(lambda: window.done_page is not None, what="the finalized visit")
    tour.shot(window, "receipt-preview")

    done = window.done_page
    if done.slip_view is not None:
        done.tabs.setCurrentWidget(done.slip_view)
        tour.shot(window, "slip-preview")
        done.tabs.setCurrentIndex(0)


def _submissions_step(tour: Tour, window, nik: str):
    """The submissions view while the first sync pass delivers; returns the view."""
    window.show_submissions()
    subs = window.submissions_page
    bar = window.sync_bar
    if bar is not None:
        tour.wait(lambda: bar.state_of("dukcapil") == "online", 30, "dukcapil online")
    tour.settle()
    if hasattr(subs, "set_search"):
        subs.set_search(nik)
    tour.wait(lambda: subs.model.rowCount() > 0 if hasattr(subs, "model") else True, 20, "rows")
    tour.pump(500)  # let the first sync pass report
    tour.settle()
    tour.shot(window, "submissions")
    return subs


def _offline_step(tour: Tour, window, subs, env, username: str, password: str) -> None:
    """The agency server stopped: a visit taken now waits in the outbox, shown offline."""
    env.sim.stop()
    if hasattr(subs, "set_search"):
        subs.set_search("")
    bar = window.sync_bar
    if window.sync_bridge is not None:
        window.sync_bridge.sync_now()
        visit_offline = _offline_visit(env.runtime, username, password)
        if hasattr(subs, "visit_finalized"):
            subs.visit_finalized(visit_offline)
        window.sync_bridge.sync_now()
        tour.wait(lambda: bar.state_of("dukcapil") == "offline", 30, "dukcapil offline")
    tour.settle()
    if hasattr(subs, "table") and hasattr(subs, "detail_shown"):
        shown: list[str] = []
        subs.detail_shown.connect(shown.append)
        subs.table.selectRow(0)  # the visit taken while offline, waiting to be sent
        tour.wait(lambda: bool(shown), 20, "the waiting submission's detail")
    tour.settle()
    tour.shot(window, "offline")


def _counted_visit_step(tour: Tour, window) -> None:
    """A new applicant's KTP-el + BPJS visit by keyboard alone, every key counted."""
    from mppdesk.ui.tour_keys import new_applicant_visit

    window.show_counter()
    if window.done_page is not None:
        window.new_visit(confirm=False)
    tour.wait(lambda: window.visit_page is not None, what="a fresh visit")
    page = window.visit_page
    tour.wait(lambda: page.usage is not None, what="service usage")
    page.ticket_edit.setFocus()
    tour.settle()
    count = new_applicant_visit(window, lambda c: tour.wait(c, what="the keyed visit"))
    tour.key_count = count
    print(f"keys: new applicant, KTP-el + BPJS: {count.summary()}", flush=True)
    tour.shot(window, "keys-done")


def _returned_file(runtime, officer, supervisor):
    """This morning's BPN file, which the supervisor returned with a reason; its summary."""
    from mppdesk.core.states import ReviewState
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.review import review

    example = runtime.catalog.service(BPN).examples[0]
    document = {
        "ticket": "C-001",
        "applicant": dict(example.applicant),
        "proxy": dict(example.proxy) if example.proxy else None,
        "services": [
            {
                "service": BPN,
                "answers": dict(example.answers),
                "checklist": dict(example.checklist),
            }
        ],
    }
    [held] = finalize_visit(runtime, officer, parse_visit(document)).submissions
    review(runtime, supervisor, held.submission_id, ReviewState.RETURNED, RETURN_REASON)
    return held


def _loop_steps(tour: Tour, window, returned, supervisor) -> None:
    """A return seen, its correction, a manual delivery and a reprint, keys counted each."""
    from mppdesk.core.states import ReviewState
    from mppdesk.desk.review import review
    from mppdesk.ui import tour_keys

    def wait(condition: Callable[[], bool]) -> None:
        tour.wait(condition, what="the loop's next screen")

    def counted(name: str, count) -> None:
        tour.loop_counts[name] = count
        print(f"keys: {name}: {count.summary()}", flush=True)

    nik = window.runtime.catalog.service(BPN).examples[0].applicant["nik"]
    counted("return seen", tour_keys.return_seen(window, wait, returned.tracking_number, nik))
    tour.shot(window, "return-seen")

    counted("correction", tour_keys.correction(window, wait))
    tour.shot(window, "correction-done")
    [corrected] = window.done_page.done.result.submissions

    # The supervisor approves the correction at the dashboard (F9) of another desk.
    review(window.runtime, supervisor, corrected.submission_id, ReviewState.APPROVED)
    counted(
        "manual delivery",
        tour_keys.manual_delivery(
            window, wait, corrected.tracking_number, "Budi Santoso", "BA-17/BPN"
        ),
    )
    tour.shot(window, "manual-delivery")

    counted("reprint", tour_keys.reprint(window, wait, corrected.tracking_number))
    dialog = window.submissions_page.reprint_dialog
    tour.shot(dialog, "reprint")  # a window of its own
    dialog.close()


def _offline_visit(runtime, username: str, password: str) -> list[str]:
    """Another visit while the agencies are unreachable: it waits in the outbox."""
    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit, parse_visit

    example = runtime.catalog.service("dukcapil/ikd-aktivasi").examples[0]
    document = {
        "ticket": "B-002",
        "applicant": dict(example.applicant),
        "services": [
            {
                "service": "dukcapil/ikd-aktivasi",
                "answers": dict(example.answers),
                "checklist": dict(example.checklist),
            }
        ],
    }
    result = finalize_visit(runtime, login(runtime, username, password), parse_visit(document))
    return [s.submission_id for s in result.submissions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mppdesk.ui.tour")
    parser.add_argument("out_dir", type=Path, help="where the step-NN-*.png files go")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    saved = run(args.out_dir)
    print(f"{len(saved)} screenshots in {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
