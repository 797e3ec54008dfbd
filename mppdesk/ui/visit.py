"""The visit flow: ticket, NIK, applicant, services with their forms and checklists, finalize.

Layout, top to bottom and in Tab order: the header (ticket, "panggil berikutnya", NIK,
proxy), the steps on the left (applicant, one step per service, summary) beside the current
step, and the footer (previous/next, add service, finalize). Every step has a shortcut shown
in its name (Alt+1 …), so the officer never needs the mouse.

After each change the whole visit is re-evaluated by the form engine (pure, a few
milliseconds) and the draft is saved a moment later in the background; the store, the
look-up and finalizing all run through the ``TaskRunner``, never on the GUI thread.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.calendar import add_working_days
from mppdesk.core.ids import new_id
from mppdesk.core.scan import MAX_SCAN_CHARS, nik_from_scan, normalize_ticket
from mppdesk.desk import counter, tickets
from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError, InvalidInput
from mppdesk.desk.intake import plan_context
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.engine import EntryStatus
from mppdesk.forms.indonesia import holidays_cover
from mppdesk.forms.validators import PASSPORT_MAX, PASSPORT_USUAL_MIN, check_nik
from mppdesk.ui.counter_memory import remember_group, remembered_group
from mppdesk.ui.fields import Editor, nik_facts
from mppdesk.ui.form_view import FormView, display_of, specs_for_shared
from mppdesk.ui.i18n import error_text, format_date, format_datetime, plain, text_of, tr
from mppdesk.ui.queue_controls import add_no_show_button
from mppdesk.ui.service_page import ServicePage, card, scrolling
from mppdesk.ui.service_search import ServiceSearchDialog
from mppdesk.ui.steps import StepList
from mppdesk.ui.summary import SummaryPage
from mppdesk.ui.tasks import TaskRunner
from mppdesk.ui.visit_state import (
    AttachmentRef,
    ServiceEntry,
    VisitCheck,
    VisitState,
    check_visit_state,
    request_of,
    required_shared,
    shared_field_ids,
)

log = logging.getLogger(__name__)

PROXY_FIELDS = ("nama", "nik", "hubungan", "no_hp", "no_surat_kuasa")
_SCAN_PUNCTUATION = re.compile(r"[:;=,.{}\[\]\"'?&@#]|//")  # a code's text, not a number
AUTO_LOOKUP_MS = 400  # a pause after the 16th digit typed by hand looks the NIK up


@dataclass(frozen=True)
class FinalizedVisit:
    """What the done page shows: the stored visit and its documents (None if printing failed)."""

    result: Any  # desk.intake.VisitResult
    receipt_pdf: bytes | None
    slip_pdf: bytes | None
    documents_error: str | None = None


def group_name(catalog: Any, group: str) -> str:
    """A queue group in words: its agency's name ("Dukcapil"), else the catalog's word for a
    group of several agencies ("BPJS", "Perizinan"), never the code in capitals."""
    agency = catalog.agencies.get(group)
    if agency is not None:
        return agency.short_name
    key = f"counter.group.{group}"
    from mppdesk.ui.i18n import has

    return tr(key) if has(key) else group.replace("-", " ").title()


def _after(text: str, previous: str) -> str:
    """What a scanner typed after ``previous`` (a scan into a field that was not cleared)."""
    if previous and text.startswith(previous) and len(text) > len(previous):
        return text[len(previous) :]
    return text


def _found_text(record: counter.ApplicantRecord) -> str:
    """Whose data was pre-filled: this desk's, or the mall hub's (``source`` "hub")."""
    if getattr(record, "source", "local") != "hub":
        return tr("visit.found", name=record.name)
    if getattr(record, "cached", False):
        return tr("visit.found_hub_cached", name=record.name)
    desk = getattr(record, "source_desk", "")
    if desk:
        return tr("visit.found_hub_desk", name=record.name, desk=desk)
    return tr("visit.found_hub", name=record.name)


def foreign_candidate(typed: str) -> str | None:
    """Text in the look-up field that may be a passport (or its MRZ) or KITAS/KITAP number:
    a short word with a letter in it and none of a scanned code's punctuation (``:``, ``;``,
    ``=``, ``{``, a URL's ``.`` or ``/``...), or 6 to 9 digits alone: a passport number in
    the ICAO 9303 form that some countries print without a letter (a United States passport:
    9 digits). Sixteen digits are a NIK (looked up before this is asked); other digits alone
    stay a NIK mistyped and keep the NIK message; a stray character ("AB!123") is refused by
    the desk's validators."""
    if "<" in typed:
        return typed.strip()  # a passport reader typed the MRZ
    compact = "".join(typed.split())
    if compact.isascii() and compact.isdigit():
        return compact if PASSPORT_USUAL_MIN <= len(compact) <= PASSPORT_MAX else None
    if not compact or len(compact) > 24:
        return None
    if not any(ch.isalpha() for ch in compact) or _SCAN_PUNCTUATION.search(compact):
        return None
    return compact


def _set_banner(label: QLabel, kind: str, text: str) -> None:
    label.setObjectName(kind)
    label.setText(text)
    label.setVisible(bool(text))
    label.style().unpolish(label)
    label.style().polish(label)


class VisitPage(QWidget):
    finalized = Signal(object)  # FinalizedVisit
    draft_saved = Signal(str)  # visit id
    looked_up = Signal(object)  # ApplicantRecord or None
    ticket_called = Signal(str)
    ticket_taken = Signal(str)  # typed or scanned into the ticket field, then Enter
    busy_changed = Signal(bool)
    _taken_ticket = ""  # the ticket last called or taken; a scan appended to it is split off
    _looked_up_nik = ""  # likewise for the NIK field
    _foreign_key = ""  # a passport or KITAS number looked up from that field: not a NIK

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        state: VisitState | None = None,
        draft_delay_ms: int = 1200,
        restored_at: datetime | None = None,
        ticket_group: str | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("visitPage")
        self.runtime = runtime
        self.catalog = runtime.catalog
        self.actor = actor
        self.tasks = tasks
        self.state = state or VisitState()
        if self.state.visit_id is None:
            self.state.visit_id = new_id()
        if self.state.started_at is None:
            self.state.started_at = runtime.now().isoformat()
        self.check: VisitCheck | None = None
        self.usage: counter.ServiceUsage | None = None
        self.service_pages: list[ServicePage] = []
        self.applicant_form: FormView | None = None
        self._applying = False
        self._finalizing = False
        self._closed = False
        self._dirty = False
        self._draft_in_flight = False
        self._shown_fields: list[str] = []
        self._dues: list[str] = []
        today = runtime.local_today()
        self._today = today
        self._holidays = runtime.holidays(today.year, today.year + 1)
        self._plan_context = plan_context(runtime, actor)  # its ``now`` renewed per check

        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(draft_delay_ms)
        self._draft_timer.timeout.connect(self.save_draft)

        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        if ticket_group is None:  # a new session: the group this officer called from last
            ticket_group = remembered_group(runtime.data_dir, actor.username)
        self._ticket_group = ticket_group  # the group the officer called from last time
        self.header = self._build_header()
        root.addWidget(self.header)
        # The banner stays enabled (and can hold the focus) while the rest waits on finalize.
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        # Not a Tab stop (it only says something): it takes the focus only while finalizing.
        self.banner.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(16, 8, 16, 0)
        banner_row.addWidget(self.banner)
        root.addLayout(banner_row)
        body = QHBoxLayout()
        body.setContentsMargins(16, 12, 16, 8)
        body.setSpacing(14)
        root.addLayout(body, 1)
        self.steps = StepList()
        self.steps.setAccessibleName(plain("visit.steps"))
        self.steps.setFixedWidth(250)
        self.steps.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.steps.currentRowChanged.connect(self._step_selected)
        body.addWidget(self.steps)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        body.addWidget(self.stack, 1)
        self.footer = self._build_footer()
        root.addWidget(self.footer)

        self.applicant_page = self._build_applicant_page()
        self.stack.addWidget(self.applicant_page)
        self.summary = SummaryPage()
        self.summary.open_entry.connect(self.open_entry)
        self.summary.finalize_button.clicked.connect(self.finalize)
        self.stack.addWidget(self.summary)
        self._install_shortcuts()

        self._restore_widgets()
        if restored_at is not None:
            _set_banner(
                self.banner,
                "banner",
                tr("visit.draft_restored", time=format_datetime(restored_at, runtime.tz)),
            )
        elif corrected := [s.supersedes_tracking for s in self.state.services if s.supersedes]:
            # A correction (mppdesk.desk.corrections): say what it replaces.
            _set_banner(self.banner, "banner", tr("visit.correction_banner", tracking=corrected[0]))
        self.tasks.run(lambda: counter.service_usage(runtime, actor), self._usage_loaded)

    # --- building ------------------------------------------------------------------------

    def _build_header(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("bar")
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(8)
        ticket_label = QLabel(tr("visit.ticket"))
        self.ticket_edit = QLineEdit()
        self.ticket_edit.setObjectName("ticket")
        self.ticket_edit.setAccessibleName(plain("visit.ticket"))
        self.ticket_edit.setPlaceholderText(tr("visit.ticket_placeholder"))
        self.ticket_edit.setMaxLength(32)
        self.ticket_edit.setFixedWidth(110)
        self.ticket_edit.textEdited.connect(lambda _t: self.changed())
        self.ticket_edit.returnPressed.connect(self.take_ticket)
        ticket_label.setBuddy(self.ticket_edit)
        row.addWidget(ticket_label)
        row.addWidget(self.ticket_edit)
        self.group_combo = QComboBox()
        self.group_combo.setObjectName("ticketGroup")
        self.group_combo.setAccessibleName(plain("visit.group"))
        for group in counter.service_groups(self.catalog):
            prefix = counter.ticket_prefix(self.catalog, group)
            self.group_combo.addItem(f"{prefix} · {group_name(self.catalog, group)}", group)
        if self._ticket_group is not None and self.group_combo.findData(self._ticket_group) >= 0:
            self.group_combo.setCurrentIndex(self.group_combo.findData(self._ticket_group))
        self.group_combo.currentIndexChanged.connect(self._group_chosen)
        row.addWidget(self.group_combo)
        self.call_button = QPushButton(tr("visit.call_next") + "  F2")
        self.call_button.setObjectName("callNext")
        self.call_button.clicked.connect(self.call_next_ticket)
        row.addWidget(self.call_button)
        add_no_show_button(self, row)
        row.addSpacing(24)
        nik_label = QLabel(tr("visit.nik"))
        self.nik_edit = QLineEdit()
        self.nik_edit.setObjectName("nik")
        self.nik_edit.setAccessibleName("NIK")
        self.nik_edit.setPlaceholderText(tr("visit.nik_placeholder"))
        self.nik_edit.setMaxLength(MAX_SCAN_CHARS)  # an IKD QR scan is longer than a NIK
        self.nik_edit.setMinimumWidth(230)
        self.nik_edit.textEdited.connect(lambda _t: self.changed())
        self.nik_edit.textEdited.connect(self._nik_typed)
        self.nik_edit.returnPressed.connect(self.lookup)
        # Sixteen digits typed by hand are looked up after a short pause, without Enter; a
        # scanner types faster than the pause and ends with Enter itself.
        self._lookup_timer = QTimer(self)
        self._lookup_timer.setSingleShot(True)
        self._lookup_timer.setInterval(AUTO_LOOKUP_MS)
        self._lookup_timer.timeout.connect(self._auto_lookup)
        nik_label.setBuddy(self.nik_edit)
        row.addWidget(nik_label)
        row.addWidget(self.nik_edit)
        self.lookup_button = QPushButton(tr("visit.lookup") + "  F3")
        self.lookup_button.setObjectName("lookup")
        self.lookup_button.clicked.connect(self.lookup)
        row.addWidget(self.lookup_button)
        row.addSpacing(24)
        self.proxy_check = QCheckBox(tr("visit.proxy"))
        self.proxy_check.setObjectName("proxyToggle")
        self.proxy_check.toggled.connect(self._proxy_toggled)
        row.addWidget(self.proxy_check)
        row.addStretch(1)
        self.draft_label = QLabel()
        self.draft_label.setObjectName("muted")
        row.addWidget(self.draft_label)
        layout.addLayout(row)
        return bar

    def _build_footer(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("bar")
        layout = QHBoxLayout(bar)
        layout.setContentsMargins(16, 8, 16, 8)
        self.prev_button = QPushButton(tr("visit.prev") + "  Ctrl+PgUp")
        self.prev_button.setObjectName("prevStep")
        self.prev_button.clicked.connect(lambda: self.go_step(self.steps.currentRow() - 1))
        self.next_button = QPushButton(tr("visit.next") + "  Ctrl+PgDn")
        self.next_button.setObjectName("nextStep")
        self.next_button.clicked.connect(lambda: self.go_step(self.steps.currentRow() + 1))
        self.add_button = QPushButton(tr("visit.add_service") + "  F4")
        self.add_button.setObjectName("addService")
        self.add_button.clicked.connect(self.open_service_search)
        self.finalize_button = QPushButton(tr("visit.finalize") + "  Ctrl+Enter")
        self.finalize_button.setObjectName("primary")
        self.finalize_button.setAccessibleName(plain("visit.finalize"))
        self.finalize_button.clicked.connect(self.finalize)
        self.status = QLabel()
        self.status.setObjectName("muted")
        layout.addWidget(self.prev_button)
        layout.addWidget(self.next_button)
        layout.addSpacing(16)
        layout.addWidget(self.add_button)
        layout.addSpacing(16)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.finalize_button)
        return bar

    def _build_applicant_page(self) -> QWidget:
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 4, 0)
        column.setSpacing(12)
        applicant_card, layout = card()
        heading = QLabel(plain("visit.applicant_heading"))
        heading.setObjectName("heading")
        layout.addWidget(heading)
        explain = QLabel(tr("visit.applicant_explain") + "  * " + tr("visit.required_marker"))
        explain.setObjectName("muted")
        layout.addWidget(explain)
        self.applicant_host = QVBoxLayout()
        layout.addLayout(self.applicant_host)
        column.addWidget(applicant_card)

        self.proxy_card, proxy_layout = card()
        proxy_heading = QLabel(plain("visit.proxy"))
        proxy_heading.setObjectName("subheading")
        proxy_layout.addWidget(proxy_heading)
        proxy_form = QFormLayout()
        proxy_form.setHorizontalSpacing(16)
        self.proxy_edits: dict[str, QLineEdit] = {}
        for key in PROXY_FIELDS:
            edit = QLineEdit()
            edit.setObjectName(f"proxy.{key}")
            edit.setAccessibleName(plain(f"visit.proxy.{key}"))
            edit.setMaxLength(100)
            edit.textEdited.connect(lambda _t: self.changed())
            label = QLabel(plain(f"visit.proxy.{key}") + (" *" if key == "nama" else ""))
            label.setBuddy(edit)
            proxy_form.addRow(label, edit)
            self.proxy_edits[key] = edit
        proxy_layout.addLayout(proxy_form)
        self.proxy_message = QLabel()
        self.proxy_message.setObjectName("message")
        self.proxy_message.setVisible(False)
        proxy_layout.addWidget(self.proxy_message)
        self.proxy_card.setVisible(False)
        column.addWidget(self.proxy_card)

        self.changes_card, changes_layout = card()
        changes_heading = QLabel(plain("visit.changes_heading"))
        changes_heading.setObjectName("subheading")
        changes_layout.addWidget(changes_heading)
        self.changes_text = QLabel()
        self.changes_text.setWordWrap(True)
        self.changes_text.setTextFormat(Qt.TextFormat.PlainText)
        changes_layout.addWidget(self.changes_text)
        self.changes_card.setVisible(False)
        column.insertWidget(0, self.changes_card)  # what changed last time comes first
        column.addStretch(1)
        return scrolling(body)

    def _install_shortcuts(self) -> None:
        def bind(keys: str | QKeySequence, slot: Callable[[], None]) -> None:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        bind("F3", self.focus_nik)
        bind("F4", self.open_service_search)
        bind("Ctrl+Return", self.finalize)
        bind("Ctrl+Enter", self.finalize)
        bind("Ctrl+PgDown", lambda: self.go_step(self.steps.currentRow() + 1))
        bind("Ctrl+PgUp", lambda: self.go_step(self.steps.currentRow() - 1))
        bind("Ctrl+O", self._attach_current)
        bind("Alt+0", lambda: self.go_step(self.steps.count() - 1))
        for number in range(1, 10):
            bind(f"Alt+{number}", lambda n=number: self.go_step(n - 1))

    # --- state <-> widgets ----------------------------------------------------------------

    def _restore_widgets(self) -> None:
        """Build every part from ``self.state`` (a fresh visit, a draft, a language switch)."""
        self._applying = True
        try:
            state = self.state
            self.ticket_edit.setText(state.ticket)
            self.nik_edit.setText(str(state.applicant.get("nik") or ""))
            self.proxy_check.setChecked(state.proxy is not None)
            for key, edit in self.proxy_edits.items():
                edit.setText(str((state.proxy or {}).get(key) or ""))
            self.proxy_card.setVisible(state.proxy is not None)
            for entry in state.services:
                self._add_service_page(entry)
            self._rebuild_applicant_form()
            self._show_record()
        finally:
            self._applying = False
        self._rebuild_steps()
        self.evaluate()
        self.go_step(min(state.step, self.steps.count() - 1), focus=False)

    def _rebuild_applicant_form(self) -> None:
        ids = shared_field_ids(self.catalog, self.state)
        if self.applicant_form is not None and ids == self._shown_fields:
            return
        touched: set[str] = set()
        show_all = False
        if self.applicant_form is not None:
            self.state.applicant.update(self.applicant_form.values("applicant"))
            touched = self.applicant_form.touched
            show_all = self.applicant_form.show_all
            self.applicant_host.removeWidget(self.applicant_form)
            self.applicant_form.hide()
            self.applicant_form.deleteLater()
        specs = specs_for_shared(self.catalog, ids, required_shared(self.catalog, self.state))
        form = FormView(specs, lambda _path: self.changed())
        form.touched = touched
        form.show_all = show_all
        self._applying, was = True, self._applying
        form.set_values("applicant", self.state.applicant)
        self._applying = was
        self.applicant_host.addWidget(form)
        self.applicant_form = form
        self._shown_fields = ids
        self._prefill_from_nik()
        self._chain_focus()

    def collect(self) -> None:
        """Read every widget into ``self.state``."""
        state = self.state
        state.ticket = self.ticket_edit.text().strip()
        applicant = dict(state.applicant)
        if self.applicant_form is not None:
            for _path, row in self.applicant_form.rows.items():
                applicant.pop(row.spec.field.id, None)
            applicant.update(self.applicant_form.values("applicant"))
        nik = "".join(self.nik_edit.text().split())
        if nik and nik.upper() != self._foreign_key:  # a looked-up passport is not a NIK
            applicant["nik"] = nik
        else:
            applicant.pop("nik", None)
        state.applicant = applicant
        if self.proxy_check.isChecked():
            state.proxy = {
                key: edit.text().strip()
                for key, edit in self.proxy_edits.items()
                if edit.text().strip()
            }
        else:
            state.proxy = None
        for page, entry in zip(self.service_pages, state.services, strict=True):
            page.collect(entry)
        state.step = max(0, self.steps.currentRow())

    def changed(self) -> None:
        """Any edit: re-evaluate now, save the draft a moment later."""
        if self._applying or self._finalizing:
            return
        self._dirty = True
        self.evaluate()
        self._draft_timer.start()

    def evaluate(self) -> VisitCheck:
        self.collect()
        context = dataclasses.replace(self._plan_context, now=self.runtime.now())
        check = check_visit_state(self.catalog, self.state, context)
        self.check = check
        self._applying = True
        try:
            self._apply(check)
        finally:
            self._applying = False
        return check

    def _apply(self, check: VisitCheck) -> None:
        notes = self._changed_notes(check)
        if self.applicant_form is not None:
            self.applicant_form.apply(
                check.applicant_entries, None, None, notes, defaults=check.shared.applicant
            )
        dues = []
        for index, (page, result) in enumerate(
            zip(self.service_pages, check.services, strict=True)
        ):
            due = self._due_text(result.sla_working_days)
            dues.append(due)
            page.apply(result, check.service_entries(index), due)
        show_proxy_error = bool(check.proxy_errors) and (
            self.applicant_form is not None and self.applicant_form.show_all
        )
        self.proxy_message.setText(_proxy_message(check) if show_proxy_error else "")
        self.proxy_message.setVisible(show_proxy_error)
        self._dues = dues
        if self.stack.currentWidget() is self.summary:  # rebuilt when shown, not per keystroke
            self.summary.update_summary(self.catalog, self.state, check, dues)
        self._mark_steps(check)
        ok = bool(self.state.services) and check.error_count == 0
        self.status.setText(
            tr("visit.summary_ok")
            if ok
            else tr("visit.summary_errors", count=check.error_count)
            if self.state.services
            else tr("visit.status_no_services")
        )

    def _due_text(self, working_days: int) -> str:
        """The same date the receipt will print (a same-day service on a holiday: next day)."""
        due = add_working_days(self._today, max(0, working_days), self._holidays)
        text = format_date(due)
        if not holidays_cover(due.year, self.runtime.data_dir):
            # Only the fixed-date holidays are known for that year: the date may be early.
            return tr("counter.due_uncovered", date=text, year=due.year)
        return f"{plain('visit.sla_same_day')} ({text})" if due == self._today else text

    def _changed_notes(self, check: VisitCheck) -> dict[str, str]:
        record = self.state.record
        if not record:
            return {}
        stored = record.get("profile") or {}
        notes = {}
        for field_id, value in check.shared.applicant.items():
            old = stored.get(field_id)
            if old is not None and old != value:
                field_def = self.catalog.shared_fields[field_id]
                notes[f"applicant.{field_id}"] = tr(
                    "visit.changed_now", old=display_of(field_def, old)
                )
        return notes

    # --- steps ----------------------------------------------------------------------------

    def _rebuild_steps(self) -> None:
        titles = [plain("visit.step.applicant")] + [p.title for p in self.service_pages]
        steps = [
            (f"{i + 1}. {title}", f"Alt+{i + 1}" if i < 9 else "") for i, title in enumerate(titles)
        ]
        steps.append((plain("visit.step.summary"), "Alt+0"))
        self.steps.set_steps(steps)
        if self.check is not None:
            self._mark_steps(self.check)

    def _mark_steps(self, check: VisitCheck) -> None:
        counts: list[int | None] = [
            sum(1 for e in check.applicant_entries if e.status != EntryStatus.WARNING)
            + len(check.proxy_errors)
        ]
        for index in range(len(self.service_pages)):
            entries = check.service_entries(index) if index < len(check.services) else []
            counts.append(sum(1 for e in entries if e.status != EntryStatus.WARNING))
        self.steps.set_counts(counts)

    def _step_selected(self, row: int) -> None:
        if row < 0:
            return
        if row == 0:
            self.stack.setCurrentWidget(self.applicant_page)
        elif row <= len(self.service_pages):
            self.stack.setCurrentWidget(self.service_pages[row - 1])
        else:
            self.stack.setCurrentWidget(self.summary)
            if self.check is not None:
                self.summary.update_summary(self.catalog, self.state, self.check, self._dues)
        self.prev_button.setEnabled(row > 0)
        self.next_button.setEnabled(row < self.steps.count() - 1)
        self.state.step = row

    def go_step(self, row: int, *, focus: bool = True) -> None:
        if not (0 <= row < self.steps.count()):
            return
        self.steps.setCurrentRow(row)
        self._step_selected(row)
        if not focus:
            return
        if row == 0:
            self._focus_first_applicant_field()
        elif row <= len(self.service_pages):
            self.service_pages[row - 1].first_stop().setFocus(Qt.FocusReason.TabFocusReason)
        else:
            if self.applicant_form is not None:
                self.reveal_all()
            target = (
                self.summary.errors if self.summary.errors.count() else self.summary.finalize_button
            )
            if target.isEnabled():
                target.setFocus(Qt.FocusReason.TabFocusReason)
                if target is self.summary.errors:
                    self.summary.errors.setCurrentRow(0)

    def _focus_first_applicant_field(self) -> None:
        if self.applicant_form is None:
            return
        stops = self.applicant_form.focus_stops()
        if stops:
            stops[0].setFocus(Qt.FocusReason.TabFocusReason)

    def open_entry(self, step: int, path: str) -> None:
        """Show the field of an error from the summary list."""
        self.go_step(step, focus=False)
        widget: QWidget | None = None
        if path.startswith("proxy."):
            widget = self.proxy_edits.get(path.split(".", 1)[1])
        elif path == "applicant.nik":
            widget = self.nik_edit
        elif step == 0 and self.applicant_form is not None:
            widget = self.applicant_form.widget_for(path)
        elif 0 < step <= len(self.service_pages):
            page = self.service_pages[step - 1]
            if path.startswith("checklist."):
                requirement = path.split(".", 1)[1]
                widget = next(
                    (r.check for r in page.checklist.rows if r.requirement.id == requirement), None
                )
            else:
                widget = page.form.widget_for(path)
        if widget is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def _chain_focus(self) -> None:
        """Tab follows the screen: header, applicant, proxy, each service, summary, footer."""
        chain: list[QWidget] = [
            self.ticket_edit,
            self.group_combo,
            self.call_button,
            self.nik_edit,
            self.lookup_button,
            self.proxy_check,
        ]
        if self.applicant_form is not None:
            chain += self.applicant_form.all_focus_stops()
        chain += list(self.proxy_edits.values())
        for page in self.service_pages:
            chain += page.focus_stops()
        chain += self.summary.focus_stops()
        chain += [self.prev_button, self.next_button, self.add_button, self.finalize_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def reveal_all(self) -> None:
        """Show "required" messages everywhere (after a finalize attempt or on the summary)."""
        if self.applicant_form is not None:
            self.applicant_form.reveal_all()
        for page in self.service_pages:
            page.form.reveal_all()
        if self.check is not None:
            self._applying = True
            try:
                self._apply(self.check)
            finally:
                self._applying = False

    # --- ticket ---------------------------------------------------------------------------

    def call_next_ticket(self) -> None:
        group = self.group_combo.currentData()
        if group is None:
            return
        self.call_button.setEnabled(False)

        def done(ticket: tickets.QueueTicket) -> None:
            self.call_button.setEnabled(True)
            self.ticket_edit.setText(ticket.number)
            self._taken_ticket = ticket.number
            # True times: waiting is issued → called, service is called → finalized.
            self.state.ticket_at = ticket.issued_at.isoformat()
            self.state.started_at = (ticket.called_at or ticket.issued_at).isoformat()
            self.changed()
            self.ticket_called.emit(ticket.number)
            self.nik_edit.setFocus(Qt.FocusReason.OtherFocusReason)

        def failed(error: BaseException) -> None:
            self.call_button.setEnabled(True)
            self._error_banner(error)

        self.tasks.run(
            lambda: tickets.call_next(self.runtime, self.actor, group), done, failed
        )

    def _group_chosen(self, _index: int) -> None:
        """Remember the group for this officer's next session (written in the background)."""
        group = self.group_combo.currentData()
        if group is None:
            return
        data_dir, username = self.runtime.data_dir, self.actor.username

        def failed(error: BaseException) -> None:
            log.warning("the ticket group could not be remembered: %s", error)

        self.tasks.run(lambda: remember_group(data_dir, username, group), lambda _r: None, failed)

    def take_ticket(self) -> None:
        """Enter in the ticket field: the ticket typed or scanned from its QR is taken.

        A keyboard-wedge scanner types into whatever has the focus, so a NIK (or IKD QR)
        scanned here goes to the NIK field and is looked up, the ticket left as it was.
        """
        typed = self.ticket_edit.text()
        tail = _after(typed, self._taken_ticket)
        nik = nik_from_scan(tail) if sum(ch.isdigit() for ch in tail) >= 16 else None
        if nik is not None:
            self.ticket_edit.setText(self._taken_ticket)
            self.nik_edit.setText(nik)
            self.changed()
            self.lookup()
            return
        ticket = normalize_ticket(typed)
        if not ticket:
            return
        self.ticket_edit.setText(ticket)
        if ticket != self._taken_ticket:
            self.state.ticket_at = self.runtime.clock().isoformat()
            self.state.started_at = self.state.ticket_at  # served from now: never a negative wait
            self._taken_ticket = ticket
        self.changed()
        self.ticket_taken.emit(ticket)
        self.nik_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.nik_edit.selectAll()  # the citizen's KTP or IKD is scanned next

    # --- applicant ------------------------------------------------------------------------

    def focus_nik(self) -> None:
        self.nik_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.nik_edit.selectAll()

    def _nik_typed(self, text: str) -> None:
        digits = text.strip()
        if len(digits) == 16 and digits.isdigit() and digits != self._looked_up_nik:
            self._lookup_timer.start()
        else:
            self._lookup_timer.stop()

    def _auto_lookup(self) -> None:
        digits = self.nik_edit.text().strip()
        if len(digits) == 16 and digits.isdigit() and digits != self._looked_up_nik:
            self.lookup()

    def lookup(self) -> None:
        """Enter or F3 in the NIK field: a NIK typed, scanned from a KTP or from an IKD QR."""
        self._lookup_timer.stop()
        typed = self.nik_edit.text()
        nik = nik_from_scan(_after(typed, self._looked_up_nik))
        if nik is None and (foreign := foreign_candidate(typed)) is not None:
            self._lookup_foreign(foreign)  # a foreign applicant: passport or KITAS/KITAP
            return
        if nik is None:
            digits = "".join(typed.split())
            key = "visit.nik_bad" if not digits or digits.isdigit() else "scan.refused"
            _set_banner(self.banner, "bannerError", tr(key))
            self.nik_edit.setFocus(Qt.FocusReason.OtherFocusReason)
            self.nik_edit.selectAll()  # a new scan replaces what is there
            return
        verdict = check_nik(nik, today=self._today)
        if not verdict.ok:  # day 77, month 13, an unknown province: refused here, not later
            if typed.strip() != nik:
                self.nik_edit.setText(nik)
            _set_banner(
                self.banner, "bannerError", tr("counter.nik_refused", reason=text_of(verdict.error))
            )
            self.nik_edit.setFocus(Qt.FocusReason.OtherFocusReason)
            self.nik_edit.selectAll()
            return
        if typed.strip() != nik:  # a scanned QR's text: the field keeps only the NIK
            self.nik_edit.setText(nik)
            self.changed()
        self._looked_up_nik = nik
        _set_banner(self.banner, "banner", tr("visit.looking_up"))
        self.lookup_button.setEnabled(False)

        def done(record: counter.ApplicantRecord | None) -> None:
            self.lookup_button.setEnabled(True)
            self._lookup_done(nik, record)

        def failed(error: BaseException) -> None:
            self.lookup_button.setEnabled(True)
            self._error_banner(error)

        self.tasks.run(
            lambda: counter.lookup_applicant(self.runtime, self.actor, nik), done, failed
        )

    def _lookup_foreign(self, number: str) -> None:
        """A passport number (or a scanned MRZ) or a KITAS/KITAP number typed where the NIK
        goes: looked up as a passport, then as a KITAS; a first visit starts as WNA with
        the number in its field. No extra Tab stop or choice: the citizen flow is untouched."""
        self._foreign_key = "".join(number.split()).upper()
        self._looked_up_nik = ""
        _set_banner(self.banner, "banner", tr("visit.looking_up"))
        self.lookup_button.setEnabled(False)
        runtime, actor = self.runtime, self.actor

        def find() -> tuple[str, str, counter.ApplicantRecord | None]:
            refused: list[InvalidInput] = []
            valid: list[tuple[str, str]] = []
            for kind in ("paspor", "kitas"):
                try:
                    record = counter.lookup_applicant(runtime, actor, number, kind)
                except InvalidInput as error:
                    refused.append(error)
                    continue
                normalized = counter.foreign_number(kind, number)
                if record is not None:
                    return kind, normalized, record
                valid.append((kind, normalized))
            if not valid:
                raise refused[0]  # neither a passport nor a KITAS: the passport's reason
            return valid[0][0], valid[0][1], None

        def done(found: tuple[str, str, counter.ApplicantRecord | None]) -> None:
            self.lookup_button.setEnabled(True)
            self._foreign_found(*found)

        def failed(error: BaseException) -> None:
            self.lookup_button.setEnabled(True)
            self._foreign_key = ""
            if isinstance(error, InvalidInput):
                reason = error_text(error)
                _set_banner(self.banner, "bannerError", tr("fit2.foreign_refused", reason=reason))
                self.nik_edit.setFocus(Qt.FocusReason.OtherFocusReason)
                self.nik_edit.selectAll()
                return
            self._error_banner(error)

        self.tasks.run(find, done, failed)

    def _foreign_found(
        self, kind: str, number: str, record: counter.ApplicantRecord | None
    ) -> None:
        """Make the visit a WNA one before the common look-up steps fill and show it."""
        self._foreign_key = number.upper()
        self.nik_edit.setText(number)  # as the document prints it (upper case, no spaces)
        self.collect()
        applicant = self.state.applicant
        applicant.pop("nik", None)
        applicant["kewarganegaraan"] = "WNA"
        profile = record.profile if record is not None else {}
        for key in ("no_paspor", "no_kitas"):
            if profile.get(key):
                applicant[key] = profile[key]
        applicant[counter.FOREIGN_ID_KINDS[kind].split(".", 1)[1]] = number
        if self.applicant_form is not None:
            self._applying = True
            self.applicant_form.set_values("applicant", applicant)
            self._applying = False
        self._lookup_done(number, record)
        if record is None:
            _set_banner(
                self.banner,
                "banner",
                tr("fit2.foreign_not_found", kind=tr(f"foreign.id_kind.{kind}"), number=number),
            )

    def _lookup_done(self, nik: str, record: counter.ApplicantRecord | None) -> None:
        self.collect()
        self.state.new_applicant = record is None  # a new applicant: the whole form at once
        if record is None:
            self.state.record = None
            _set_banner(self.banner, "banner", tr("visit.not_found", nik=nik))
        else:
            self.state.record = {
                "applicant_id": record.applicant_id,
                "name": record.name,
                "profile": record.profile,
                "updated_at": record.updated_at.isoformat(),
                "changes": [
                    {
                        "field": c.field,
                        "old": c.old,
                        "new": c.new,
                        "at": c.changed_at.isoformat(),
                        "officer": c.officer,
                    }
                    for c in record.changes
                ],
            }
            for key, value in record.profile.items():
                if key == "nik":
                    continue
                if self.state.applicant.get(key) in (None, "", []):
                    self.state.applicant[key] = value
            _set_banner(self.banner, "bannerOk", _found_text(record))
            if self.applicant_form is not None:
                self._applying = True
                self.applicant_form.set_values("applicant", self.state.applicant)
                self._applying = False
        self._prefill_from_nik()
        self._rebuild_applicant_form()
        self._show_record()
        self.changed()
        self.looked_up.emit(record)
        self.go_step(0)

    def _prefill_from_nik(self) -> None:
        """Birth date and sex from the NIK into empty fields (editable: the engine warns if
        the officer types something else), and the district of registration as a start for
        the region, whose village the officer still picks."""
        facts = nik_facts(str(self.state.applicant.get("nik") or ""), self._today)
        if facts is None:
            return
        applicant = self.state.applicant
        filled = {}
        if applicant.get("tanggal_lahir") in (None, ""):
            filled["tanggal_lahir"] = facts.birth_date.isoformat()
        if applicant.get("jenis_kelamin") in (None, ""):
            filled["jenis_kelamin"] = facts.sex
        applicant.update(filled)
        form = self.applicant_form
        if form is None:
            return
        if filled:
            self._applying, was = True, self._applying
            form.set_values("applicant", applicant)
            self._applying = was
        region = form.rows.get("applicant.wilayah")
        if region is not None and not applicant.get("wilayah"):
            suggest = getattr(region.editor, "suggest", None)
            if suggest is not None:
                suggest(facts.district)

    def _show_record(self) -> None:
        record = self.state.record
        if not record:
            self.changes_card.setVisible(False)
            return
        lines = []
        for change in record.get("changes") or []:
            field_def = self.catalog.shared_fields.get(change["field"])
            label = text_of(field_def.label) if field_def else change["field"]
            at = datetime.fromisoformat(change["at"])
            lines.append(
                tr(
                    "visit.change_line",
                    day=format_datetime(at, self.runtime.tz),
                    field=label,
                    old=display_of(field_def, change["old"]) if field_def else change["old"],
                    new=display_of(field_def, change["new"]) if field_def else change["new"],
                    officer=change["officer"],
                )
            )
        self.changes_text.setText("\n".join(lines) if lines else tr("visit.no_changes"))
        self.changes_card.setVisible(True)

    def _proxy_toggled(self, on: bool) -> None:
        self.proxy_card.setVisible(on)
        if self._applying:
            return
        if on:
            self.go_step(0, focus=False)
            self.proxy_edits["nama"].setFocus(Qt.FocusReason.OtherFocusReason)
        self.changed()

    # --- services -------------------------------------------------------------------------

    def _usage_loaded(self, usage: counter.ServiceUsage) -> None:
        self.usage = usage

    def open_service_search(self) -> ServiceSearchDialog:
        dialog = ServiceSearchDialog(self.catalog, self.usage, self.state.service_codes(), self)
        dialog.chosen.connect(self.add_service)
        dialog.setModal(True)
        dialog.open()
        dialog.query.setFocus(Qt.FocusReason.OtherFocusReason)
        return dialog

    def add_service(self, code: str) -> None:
        # Back from the search dialog: take the activation back once the dialog is gone (some
        # platforms leave no window active), so the keyboard lands in the new form.
        QTimer.singleShot(0, self._reactivate)
        if code in self.state.service_codes():
            self.go_step(1 + self.state.service_codes().index(code))
            return
        self.collect()
        entry = ServiceEntry(code)
        self.state.services.append(entry)
        self._applying = True
        try:
            self._add_service_page(entry)
            self._rebuild_applicant_form()
        finally:
            self._applying = False
        self._rebuild_steps()
        self._chain_focus()
        self.changed()
        self.go_step(len(self.service_pages))

    def _reactivate(self) -> None:
        window = self.window()
        if (
            window.isVisible()
            and not window.isActiveWindow()
            and QApplication.activeModalWidget() is None
        ):
            window.activateWindow()

    def _add_service_page(self, entry: ServiceEntry) -> None:
        page = ServicePage(
            self.catalog,
            entry,
            self.changed,
            self.attach_files_dialog,
            self.remove_service,
            self._structure_changed,
        )
        self.service_pages.append(page)
        self.stack.insertWidget(self.stack.indexOf(self.summary), page)

    def _structure_changed(self) -> None:
        self._chain_focus()
        self.changed()

    def remove_service(self, page: ServicePage) -> None:
        index = self.service_pages.index(page)
        self.collect()
        del self.state.services[index]
        del self.service_pages[index]
        self.stack.removeWidget(page)
        page.deleteLater()
        self._rebuild_applicant_form()
        self._rebuild_steps()
        self._chain_focus()
        self.changed()
        self.go_step(min(index + 1, self.steps.count() - 2) if self.service_pages else 0)

    # --- attachments ----------------------------------------------------------------------

    def _attach_current(self) -> None:
        row = self.steps.currentRow()
        if 1 <= row <= len(self.service_pages):
            self.attach_files_dialog(self.service_pages[row - 1], None)

    def attach_files_dialog(self, page: ServicePage, editor: Editor | None) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(self, plain("visit.attach_title"))
        if paths:
            self.attach_files(page, [Path(p) for p in paths], editor)

    def attach_files(
        self, page: ServicePage, paths: list[Path], editor: Editor | None = None
    ) -> None:
        """Copy files into the attachment store in the background, then list them."""
        blobs = self.runtime.blobs
        max_bytes = self.runtime.settings.intake.max_attachment_bytes
        english = _en()

        def read() -> list[AttachmentRef | str]:
            from mppdesk.desk.attachments import AttachmentRefused, read_attachment

            out: list[AttachmentRef | str] = []
            for path in paths:
                # The folder the officer chose is the base: a link out of it, a device, a
                # FIFO or a file that is not a PDF/JPEG/PNG scan is refused, as in intake.
                try:
                    attachment = read_attachment(str(path), path.parent, max_bytes=max_bytes)
                except AttachmentRefused as refused:
                    out.append(refused.message_en if english else refused.message)
                    continue
                digest = blobs.put(attachment.data)
                out.append(
                    AttachmentRef(
                        attachment.name, digest, len(attachment.data), attachment.content_type
                    )
                )
            return out

        def done(items: list[AttachmentRef | str]) -> None:
            problems = [i for i in items if isinstance(i, str)]
            for item in items:
                if isinstance(item, AttachmentRef) and page in self.service_pages:
                    page.add_attachment(item, editor)
            if problems:
                _set_banner(self.banner, "bannerError", "\n".join(problems))

        self.tasks.run(read, done, self._error_banner)

    # --- drafts ---------------------------------------------------------------------------

    def save_draft(self) -> None:
        """Store the visit as a draft in the background (a crash then loses nothing)."""
        if self._finalizing or self._closed:
            return
        self.collect()
        if self.state.is_empty:
            return
        snapshot = self.state.as_json()
        visit_id = self.state.visit_id
        self._dirty = False

        def done(saved_id: str) -> None:
            if self._closed:
                return
            self.draft_label.setText(
                tr("visit.draft_saved", time=self.runtime.local_now().strftime("%H:%M:%S"))
            )
            self.draft_saved.emit(saved_id)

        self.tasks.run(
            lambda: counter.save_draft(self.runtime, self.actor, visit_id, snapshot),
            done,
            self._error_banner,
        )

    def flush_draft(self) -> None:
        """Save now if anything changed since the last save (lock, sign-out, close)."""
        if self._draft_timer.isActive() or self._dirty:
            self._draft_timer.stop()
            self.save_draft()

    def discard(self, on_done: Callable[[], None] | None = None) -> None:
        self._draft_timer.stop()
        self._closed = True
        visit_id = self.state.visit_id

        def done(_gone: bool) -> None:
            if on_done is not None:
                on_done()

        self.tasks.run(
            lambda: counter.discard_draft(self.runtime, self.actor, visit_id), done, done
        )

    def close_page(self) -> None:
        """Stop timers and background callbacks before the page goes away."""
        self.flush_draft()
        self._closed = True
        self._draft_timer.stop()

    # --- finalize -------------------------------------------------------------------------

    def finalize(self) -> bool:
        """Check the whole visit; if nothing blocks, store it in the background."""
        if self._finalizing:
            return False
        check = self.evaluate()
        self.reveal_all()
        if not self.state.services:
            _set_banner(self.banner, "bannerError", tr("visit.finalize_no_service"))
            self.go_step(self.steps.count() - 1)
            return False
        if check.error_count:
            _set_banner(
                self.banner, "bannerError", tr("visit.finalize_blocked", count=check.error_count)
            )
            self.go_step(self.steps.count() - 1)
            return False
        self._finalizing = True
        self._draft_timer.stop()
        _set_banner(self.banner, "banner", tr("visit.finalizing"))
        self._set_busy(True)
        runtime, actor, state = self.runtime, self.actor, self.state
        from mppdesk.ui.i18n import language

        lang = language()

        def work() -> FinalizedVisit:
            from mppdesk.desk import documents
            from mppdesk.desk.intake import finalize_visit

            request = request_of(state, runtime.blobs.get)
            result = finalize_visit(runtime, actor, request, visit_id=state.visit_id)
            tickets.close_for_visit(runtime, actor, state.ticket)  # the ticket's service ends
            try:
                receipt = documents.print_receipt(runtime, actor, result.visit_id, lang=lang)
                slip = None
                if any(s.missing for s in result.submissions):
                    slip = documents.print_slip(runtime, actor, result.visit_id, lang=lang)
            except Exception as exc:  # noqa: BLE001 - the visit is stored; printing can be retried
                log.exception("documents of visit %s failed", result.visit_id)
                return FinalizedVisit(result, None, None, str(exc))
            return FinalizedVisit(result, receipt, slip)

        self.tasks.run(work, self._finalize_done, self._finalize_failed)
        return True

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.banner.setFocus(Qt.FocusReason.OtherFocusReason)
        for part in (self.header, self.steps, self.stack, self.footer):
            part.setEnabled(not busy)
        self.busy_changed.emit(busy)

    def _finalize_done(self, done: FinalizedVisit) -> None:
        self._finalizing = False
        self._closed = True
        self.busy_changed.emit(False)
        self.finalized.emit(done)

    def _finalize_failed(self, error: BaseException) -> None:
        self._finalizing = False
        self._set_busy(False)
        if isinstance(error, InvalidInput):
            lines = error_text(error, with_paths=True).splitlines()
            _set_banner(self.banner, "bannerError", "\n".join(lines[:6]))
            self.go_step(self.steps.count() - 1)
            return
        self._error_banner(error)

    def _error_banner(self, error: BaseException) -> None:
        if isinstance(error, DeskError):
            text = str(error)
        else:
            log.error("visit task failed: %s", getattr(error, "__traceback_text__", error))
            text = tr("app.error_detail", message=str(error) or type(error).__name__)
        _set_banner(self.banner, "bannerError", text)


def _proxy_message(check: VisitCheck) -> str:
    """What the plan says about the proxy (its name missing, or a NIK that is not one)."""
    issue = next(i for i in check.plan.errors if i.path.startswith("proxy."))
    if issue.code == "visit.proxy_name_required":
        return tr("visit.proxy.required")
    return text_of(issue)


def _en() -> bool:
    from mppdesk.ui.i18n import language

    return language() == "en"
