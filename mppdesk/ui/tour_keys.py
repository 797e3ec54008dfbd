"""A new applicant's KTP-el + BPJS Kesehatan visit by keyboard alone, every key counted.

The tour (``python -m mppdesk.ui.tour``) and a test both drive this visit: the count is the
measure of how much an officer types for the most common two-service visit, and the test
holds it under a ceiling so a change that adds keys shows up.

Every key goes where the keyboard goes (an open popup first, else the focus widget), exactly
as an officer's keyboard would. A key is *data* when it types a character of the citizen's
data into a field (a name, a number, the first letters of a choice); everything else is
*overhead*: Tab, Enter, arrows, F-keys, Space on a checkbox, the words typed to find a
service, the dashes of a date. A field already holding the right value (pre-filled from the
NIK, a default) is only checked, never typed again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

KTP = "dukcapil/ktp-el"
BPJS = "bpjs-kesehatan/peserta-mandiri"

# The applicant: a woman (day 68 = 28 + 40) born 28-01-1995, registered in Rungkut, Surabaya.
NEW_NIK = "3578036801950009"
APPLICANT_TEXT = {
    "no_kk": "3578031408190005",
    "nama": "DEWI LESTARI",
    "tempat_lahir": "Surabaya",
    "pekerjaan": "Wiraswasta",
    "alamat": "Jl. Rungkut Asri Tengah VII No. 12",
    "rt": "004",
    "rw": "008",
    "no_hp": "081331234567",
}
APPLICANT_CHOICE = {  # field -> (stored value, what is typed to pick it)
    "agama": ("islam", "i"),
    "status_perkawinan": ("belum_kawin", "b"),
    "kewarganegaraan": ("WNI", "w"),
    "jenis_kelamin": ("P", "p"),
}
BIRTH_DATE = "28-01-1995"
HUSBAND_NIK = "3578031508920004"  # born 15-08-1992
VILLAGE = ("3578031002", "rungkut kidul")  # Rungkut Kidul; the NIK gives the district

Wait = Callable[[Callable[[], bool]], None]


@dataclass
class KeyCount:
    """Keys pressed, split into the citizen's data and everything else."""

    data: int = 0
    overhead: int = 0
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (widget, key, kind)

    @property
    def total(self) -> int:
        return self.data + self.overhead

    def summary(self) -> str:
        return f"{self.total} keys ({self.data} data, {self.overhead} overhead)"


class Keyboard:
    """Keys into the focus widget (or the open popup), counted."""

    def __init__(self, wait: Wait):
        self.wait = wait
        self.count = KeyCount()

    def target(self):
        from PySide6.QtWidgets import QApplication

        popup = QApplication.activePopupWidget()
        widget = popup if popup is not None else QApplication.focusWidget()
        if widget is None:
            raise AssertionError("nothing has the keyboard focus")
        return widget

    def press(self, key_name: str, modifier: str = "", *, kind: str = "overhead") -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        mods = {
            "": Qt.KeyboardModifier.NoModifier,
            "ctrl": Qt.KeyboardModifier.ControlModifier,
            "alt": Qt.KeyboardModifier.AltModifier,
            "shift": Qt.KeyboardModifier.ShiftModifier,
        }
        target = self.target()
        self._counted(target, f"{modifier}+{key_name}" if modifier else key_name, kind)
        QTest.keyClick(target, getattr(Qt.Key, f"Key_{key_name}"), mods[modifier])

    def type(self, text: str, *, kind: str = "data") -> None:
        from PySide6.QtTest import QTest

        for char in text:
            target = self.target()
            this_kind = kind
            if kind == "data" and char == "-" and _is_date_field(target):
                this_kind = "overhead"  # a date's dashes are layout, not data
            self._counted(target, char, this_kind)
            QTest.keyClicks(target, char)

    def _counted(self, target, key: str, kind: str) -> None:
        if kind == "data":
            self.count.data += 1
        else:
            self.count.overhead += 1
        self.count.log.append((target.objectName(), key, kind))

    # --- moving -----------------------------------------------------------------------

    def focused_name(self) -> str:
        from PySide6.QtWidgets import QApplication

        widget = QApplication.focusWidget()
        return widget.objectName() if widget is not None else ""

    def tab_to(self, name: str, limit: int = 60) -> None:
        passed = []
        for _ in range(limit):
            if self.focused_name() == name:
                return
            passed.append(self.focused_name())
            self.press("Tab")
        raise AssertionError(f"Tab never reached {name!r}, went through {passed}")


def _is_date_field(widget) -> bool:
    from PySide6.QtWidgets import QLineEdit

    return isinstance(widget, QLineEdit) and widget.property("fieldType") == "date"


# --- the visit --------------------------------------------------------------------------------


def new_applicant_visit(window, wait: Wait) -> KeyCount:
    """From the empty counter page to the done page: ticket, NIK, applicant, KTP-el (lost
    card), BPJS Kesehatan with auto-debit, finalize. Returns the keys it took."""
    page = window.visit_page
    keys = Keyboard(wait)
    keys.press("F2")  # the next ticket of the group; the NIK field takes the focus
    wait(lambda: bool(page.ticket_edit.text()) and keys.focused_name() == "nik")
    looked_up: list[object] = []
    page.looked_up.connect(looked_up.append)
    keys.type(NEW_NIK)  # looked up after the 16th digit, no Enter needed
    wait(lambda: bool(looked_up))
    assert looked_up[0] is None, "the tour's applicant must be new to this desk"
    # A rebuilt form shows on the next turn of the event loop, as it would for the officer.
    wait(lambda: page.applicant_form.focus_stops()[-1].isVisible())

    form_complete = "applicant.no_kk" in page.applicant_form.rows
    if form_complete:
        _fill_applicant(keys, page)
    _add_service(keys, page, "ktp", KTP)
    _fill_ktp(keys, page)
    if not form_complete:
        keys.press("1", "alt")
        wait(lambda: page.applicant_form.focus_stops()[-1].isVisible())
        _fill_applicant(keys, page)
    _add_service(keys, page, "bpjs", BPJS)
    _fill_bpjs(keys, page)
    keys.press("Return", "ctrl")
    if page.check is not None and page.check.error_count:
        errors = [f"{i.path}: {i.text_en}" for i in page.check.plan.errors]
        raise AssertionError(f"finalize refused: {errors}")
    wait(lambda: window.done_page is not None)
    return keys.count


def _fill_applicant(keys: Keyboard, page) -> None:
    form = page.applicant_form
    for field_id in form.rows:
        name = field_id.split(".", 1)[1]
        editor = form.rows[field_id].editor
        if name in APPLICANT_TEXT:
            _line(keys, editor, APPLICANT_TEXT[name])
        elif name in APPLICANT_CHOICE:
            _choose(keys, editor, *APPLICANT_CHOICE[name])
        elif name == "tanggal_lahir":
            _date(keys, editor, BIRTH_DATE)
        elif name == "wilayah":
            _region(keys, editor)


def _line(keys: Keyboard, editor, text: str) -> None:
    if editor.value() == text:
        return
    keys.tab_to(editor.widget.objectName())
    keys.type(text)


def _date(keys: Keyboard, editor, text: str) -> None:
    from mppdesk.ui.fields import accepts_digit_dates

    if _same_date(editor.value(), text):
        return
    keys.tab_to(editor.widget.objectName())
    keys.type(text.replace("-", "") if accepts_digit_dates() else text)


def _same_date(value: object, text: str) -> bool:
    if not isinstance(value, str):
        return False
    digits = "".join(ch for ch in value if ch.isdigit())
    return digits == text.replace("-", "")


def _choose(keys: Keyboard, editor, value: str, typed: str) -> None:
    if editor.value() == value:
        return
    keys.tab_to(editor.widget.objectName())
    keys.type(typed)
    while editor.value() != value:  # the first letters were shared: Down to the next
        keys.press("Down")


def _region(keys: Keyboard, editor) -> None:
    """Letters of the village into the region search until its best match is the one; Enter."""
    code, words = VILLAGE
    if editor.value() == code:
        return
    keys.tab_to(editor.search.objectName())
    popup = editor.search.completer().popup()
    from mppdesk.ui.region import region_path

    wanted = region_path(code)
    for char in words:
        keys.type(char)
        if popup.isVisible() and popup.model().index(0, 0).data() == wanted:
            break
    else:
        raise AssertionError(f"the region search never put {wanted!r} first")
    keys.press("Return")
    if editor.value() != code:
        raise AssertionError(f"the region search picked {editor.value()!r}, not {code}")


def _add_service(keys: Keyboard, page, query: str, code: str) -> None:
    count = len(page.state.services)
    keys.press("F4")
    keys.wait(lambda: keys.focused_name() == "serviceQuery")
    keys.type(query, kind="overhead")
    keys.press("Return")
    keys.wait(lambda: len(page.state.services) == count + 1)
    assert page.state.services[-1].code == code, page.state.services[-1].code
    keys.wait(lambda: page.service_pages[-1].isAncestorOf(_focus()))


def _focus():
    from PySide6.QtWidgets import QApplication

    return QApplication.focusWidget()


def _tick(keys: Keyboard, requirement: str) -> None:
    """Enter on a requirement ticks it and moves to the next one."""
    keys.tab_to(f"req.{requirement}")
    keys.press("Return")


def _fill_ktp(keys: Keyboard, page) -> None:
    form = page.service_pages[-1].form
    _choose(keys, form.rows["answers.jenis_permohonan"].editor, "hilang", "h")
    _line(keys, form.rows["answers.no_surat_kehilangan"].editor, "STPLK/1187/XI/2026")
    _date(keys, form.rows["answers.tanggal_surat_kehilangan"].editor, "20-11-2026")
    for requirement in ("formulir-f102", "kk", "surat-kehilangan"):
        _tick(keys, requirement)


def _fill_bpjs(keys: Keyboard, page) -> None:
    form = page.service_pages[-1].form
    _choose(keys, form.rows["answers.kelas_rawat"].editor, "kelas_3", "3")
    _line(keys, form.rows["answers.faskes_pertama"].editor, "Puskesmas Rungkut")
    family = form.rows["answers.anggota_keluarga"].editor
    keys.tab_to(family.add_button.objectName())
    keys.press("Space")  # a card for her husband; the focus moves into it
    keys.wait(lambda: len(family.rows) == 1 and family.rows[0][0].isVisible())
    husband = {e.field.id: e for e in family.rows[0][1]}
    _line(keys, husband["anggota_nik"], HUSBAND_NIK)
    _line(keys, husband["anggota_nama"], "BUDI SANTOSO")
    _choose(keys, husband["anggota_hubungan"], "suami", "s")
    _date(keys, husband["anggota_tanggal_lahir"], "15-08-1992")
    _choose(keys, husband["anggota_jenis_kelamin"], "L", "l")
    _choose(keys, form.rows["answers.bank_autodebet"].editor, "bri", "b")
    _line(keys, form.rows["answers.no_rekening_autodebet"].editor, "012301004567508")
    _line(keys, form.rows["answers.nama_pemilik_rekening"].editor, "DEWI LESTARI")
    for requirement in ("formulir-dip", "kk", "ktp-el", "buku-tabungan"):
        _tick(keys, requirement)


# --- the day around the visit: a return, its correction, a manual delivery, a reprint ---------
#
# Each loop is counted on its own (a fresh Keyboard): what it costs the officer to close it.


def _submission_row(keys: Keyboard, page, tracking_number: str) -> None:
    """Down the submissions table (it has the focus) to the row of ``tracking_number``."""
    model = page.model

    def row_index() -> int | None:
        for row in range(model.rowCount()):
            if model.row_at(row).tracking_number == tracking_number:
                return row
        return None

    keys.wait(lambda: row_index() is not None)
    keys.wait(lambda: page.table.hasFocus())
    keys.press("Home", "ctrl")
    for _ in range(row_index() or 0):
        keys.press("Down")
    keys.wait(
        lambda: page._detail is not None and page._detail.row.tracking_number == tracking_number
    )


def return_seen(window, wait: Wait, tracking_number: str, nik: str) -> KeyCount:
    """F6, Ctrl+F and the applicant's NIK (she came back with her KTP-el), Enter, down to the
    returned submission: its detail shows the supervisor's reason and "Perbaiki"."""
    keys = Keyboard(wait)
    keys.press("F6")
    wait(lambda: window.submissions_page is not None and window.submissions_page.isVisible())
    page = window.submissions_page
    keys.press("F", "ctrl")
    wait(lambda: page.search.hasFocus())
    keys.type(nik)
    keys.press("Return")  # searches now; the table takes the focus
    _submission_row(keys, page, tracking_number)
    wait(lambda: page.correct_button.isEnabled())
    return keys.count


def correction(window, wait: Wait) -> KeyCount:
    """Ctrl+E on the selected (returned) submission: the counter opens pre-filled from it;
    Ctrl+Enter stores the correction that supersedes it."""
    keys = Keyboard(wait)
    page = window.submissions_page
    original = page._detail.row.id
    keys.press("E", "ctrl")
    wait(
        lambda: (
            window.visit_page is not None
            and bool(window.visit_page.state.services)
            and window.visit_page.state.services[0].supersedes == original
        )
    )
    visit = window.visit_page
    wait(lambda: visit.check is not None and visit.check.plan.ok)
    if not visit.isAncestorOf(_focus()):
        # The pre-filled visit opens on its first step; the officer's keys start there.
        wait(lambda: visit.isAncestorOf(_focus()))
    keys.press("Return", "ctrl")
    wait(lambda: window.done_page is not None)
    return keys.count


def manual_delivery(
    window, wait: Wait, tracking_number: str, receiver: str, reference: str
) -> KeyCount:
    """F12, down to the file, Alt+N the agency officer's name, Alt+R the reference, Enter:
    the file is marked handed over (its outbox entry ``done``)."""
    keys = Keyboard(wait)
    keys.press("F12")
    wait(lambda: window.screen_pages.get("handover") is not None)
    page = window.screen_pages["handover"]
    wait(
        lambda: (
            page.isVisible()
            and any(i.tracking_number == tracking_number for i in page.waiting_items)
        )
    )
    wait(lambda: page.waiting.hasFocus())
    for _ in range(len(page.waiting_items) + 1):
        item = page.selected_item()
        if item is not None and item.tracking_number == tracking_number:
            break
        keys.press("Down")
    else:
        raise AssertionError(f"{tracking_number} never selected in the handover list")
    marked: list[object] = []
    page.handed_over.connect(marked.append)
    keys.press("N", "alt")
    keys.type(receiver)
    keys.press("R", "alt")
    keys.type(reference)
    keys.press("Return")
    wait(lambda: bool(marked))
    page.handed_over.disconnect(marked.append)
    return keys.count


def reprint(window, wait: Wait, tracking_number: str) -> KeyCount:
    """F6 (the search still holds her NIK), down to the submission, Alt+E: the receipt as
    submitted, marked SALINAN, built and audited. The dialog stays open for the caller."""
    keys = Keyboard(wait)
    keys.press("F6")
    page = window.submissions_page
    wait(page.isVisible)
    before = getattr(page, "reprint_dialog", None)
    if not page.table.hasFocus():
        keys.press("F", "ctrl")
        keys.press("Return")  # the same search again; the table takes the focus
    _submission_row(keys, page, tracking_number)
    keys.press("E", "alt")
    wait(lambda: getattr(page, "reprint_dialog", None) not in (None, before))
    wait(lambda: page.reprint_dialog.pdf is not None)
    return keys.count
