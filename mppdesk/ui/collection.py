"""The collection (pengambilan) dialog: find the submission, check who is there, record it.

Keyboard-first: the tracking number field has the focus, a QR scanner types into it and
presses Enter; Alt+P / Alt+K choose the applicant or a proxy, Alt+I ticks that the identity
was checked, Ctrl+Enter records, Esc closes. Every lookup and write runs on the TaskRunner.
"""

from __future__ import annotations

import html
import logging
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk.auth import Actor
from mppdesk.desk.collection import (
    IDENTITY_DOCUMENTS,
    TAKER_APPLICANT,
    TAKER_PROXY,
    Collected,
    CollectionCandidate,
    CollectionRecord,
    find_for_collection,
    record_collection,
)
from mppdesk.desk.errors import DeskError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.ui import i18n
from mppdesk.ui.i18n import plain, tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


class CollectionDialog(QDialog):
    """``CollectionDialog(runtime, actor, tasks, parent)``; emits ``collected(submission_id)``
    after a hand-over is recorded, and announces it to the window's views."""

    collected = Signal(str)
    candidate_shown = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        tracking_number: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("collectionDialog")
        self.setWindowTitle(tr("collect.title"))
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.candidate: CollectionCandidate | None = None
        self._build()
        if tracking_number:
            self.tracking.setText(tracking_number)
            self.find()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        row = QHBoxLayout()
        label = QLabel(tr("collect.tracking"), self)
        self.tracking = QLineEdit(self)
        self.tracking.setObjectName("tracking")
        self.tracking.setPlaceholderText(tr("collect.tracking_hint"))
        self.tracking.setAccessibleName(plain("collect.tracking"))
        self.tracking.setMinimumWidth(300)
        label.setBuddy(self.tracking)
        self.find_button = QPushButton(tr("collect.find"), self)
        self.find_button.setObjectName("find")
        self.find_button.setAutoDefault(False)
        row.addWidget(label)
        row.addWidget(self.tracking, 1)
        row.addWidget(self.find_button)
        layout.addLayout(row)

        self.banner = QLabel("", self)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        layout.addWidget(self.banner)

        self.summary = QLabel("", self)
        self.summary.setObjectName("summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self.form_frame = QFrame(self)
        self.form_frame.setObjectName("card")
        form = QFormLayout(self.form_frame)
        form.setContentsMargins(12, 12, 12, 12)
        taker_row = QHBoxLayout()
        self.applicant_radio = QRadioButton(tr("collect.applicant"), self.form_frame)
        self.applicant_radio.setObjectName("takerApplicant")
        self.proxy_radio = QRadioButton(tr("collect.proxy"), self.form_frame)
        self.proxy_radio.setObjectName("takerProxy")
        self.applicant_radio.setChecked(True)
        self._taker = QButtonGroup(self)
        self._taker.addButton(self.applicant_radio)
        self._taker.addButton(self.proxy_radio)
        taker_row.addWidget(self.applicant_radio)
        taker_row.addWidget(self.proxy_radio)
        taker_row.addStretch(1)
        form.addRow(plain("collect.taker"), taker_row)

        self.document = QComboBox(self.form_frame)
        self.document.setObjectName("identity_document")
        self.document.setAccessibleName(plain("collect.document"))
        for code in IDENTITY_DOCUMENTS:
            self.document.addItem(tr(f"collect.doc.{code}"), code)
        document_label = QLabel(tr("collect.document"), self.form_frame)
        document_label.setBuddy(self.document)
        form.addRow(document_label, self.document)

        self.proxy_name = self._line("proxy_name", "collect.proxy_name", form)
        self.proxy_nik = self._line("proxy_nik", "collect.proxy_nik", form)
        self.proxy_nik.setMaxLength(20)
        self.letter = self._line("letter_reference", "collect.letter", form)
        self.checked = QCheckBox(tr("collect.checked"), self.form_frame)
        self.checked.setObjectName("identity_checked")
        form.addRow("", self.checked)
        self.note = self._line("note", "collect.note", form)
        layout.addWidget(self.form_frame)

        self.errors = QLabel("", self)
        self.errors.setObjectName("bannerError")
        self.errors.setWordWrap(True)
        self.errors.hide()
        layout.addWidget(self.errors)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.record_button = QPushButton(tr("collect.record"), self)
        self.record_button.setObjectName("primary")
        self.record_button.setAutoDefault(False)
        self.close_button = QPushButton(tr("collect.close"), self)
        self.close_button.setObjectName("close")
        self.close_button.setAutoDefault(False)
        buttons.addWidget(self.record_button)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

        self.tracking.returnPressed.connect(self.find)
        self.find_button.clicked.connect(self.find)
        self.record_button.clicked.connect(self.record)
        self.close_button.clicked.connect(self.reject)
        self.proxy_radio.toggled.connect(self._taker_changed)
        for sequence in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(sequence), self, self.record)
        order = [
            self.tracking,
            self.find_button,
            self.applicant_radio,
            self.proxy_radio,
            self.document,
            self.proxy_name,
            self.proxy_nik,
            self.letter,
            self.checked,
            self.note,
            self.record_button,
            self.close_button,
        ]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
        self._taker_changed()
        self._set_candidate(None)
        self.tracking.setFocus()
        self.resize(620, 560)

    def _line(self, name: str, key: str, form: QFormLayout) -> QLineEdit:
        edit = QLineEdit(self.form_frame)
        edit.setObjectName(name)
        edit.setAccessibleName(plain(key))
        label = QLabel(tr(key), self.form_frame)
        label.setBuddy(edit)
        form.addRow(label, edit)
        return edit

    # --- state ---------------------------------------------------------------------------

    def _taker_changed(self, _checked: bool = False) -> None:
        proxy = self.proxy_radio.isChecked()
        for widget in (self.proxy_name, self.proxy_nik, self.letter):
            widget.setEnabled(proxy)
            label = self.form_frame.layout().labelForField(widget)
            if label is not None:
                label.setEnabled(proxy)
        if proxy and self.candidate is not None and self.candidate.proxy_on_file:
            on_file = self.candidate.proxy_on_file
            if not self.proxy_name.text():
                self.proxy_name.setText(str(on_file.get("nama") or ""))
            if not self.proxy_nik.text():
                self.proxy_nik.setText(str(on_file.get("nik") or ""))
            if not self.letter.text():
                self.letter.setText(str(on_file.get("no_surat_kuasa") or ""))

    def _set_candidate(self, candidate: CollectionCandidate | None) -> None:
        self.candidate = candidate
        ready = candidate is not None and candidate.ready
        self.form_frame.setEnabled(ready)
        self.record_button.setEnabled(ready)
        if candidate is None:
            self.summary.setText("")
            return
        esc = html.escape
        rows = [
            (plain("collect.f.service"), f"{candidate.service_name} · {candidate.agency_name}"),
            (
                plain("collect.f.applicant"),
                f"{candidate.applicant_name} ({candidate.applicant_id_masked})",
            ),
            (
                plain("collect.f.agency_status"),
                tr(f"subs.agency.{candidate.agency_status}")
                if i18n.has(f"subs.agency.{candidate.agency_status}")
                else (candidate.agency_status or "-"),
            ),
            (plain("collect.f.agency_ref"), candidate.agency_ref or "-"),
        ]
        if candidate.proxy_on_file:
            rows.append(
                ("", tr("collect.proxy_on_file", name=candidate.proxy_on_file.get("nama", "")))
            )
        self.summary.setText(
            f"<b>{esc(candidate.tracking_number)}</b><table>"
            + "".join(f"<tr><td>{esc(k)}&nbsp;</td><td>{esc(v)}</td></tr>" for k, v in rows)
            + "</table>"
        )
        if ready:
            self._banner("bannerOk", tr("collect.ready"))
        else:
            reason = candidate.why_not_ready(self.runtime.tz)
            self._banner("bannerWarning", reason.get(i18n.language()) if reason else "")

    def _banner(self, style: str, text: str) -> None:
        self.banner.setObjectName(style)
        self.banner.setStyleSheet("")  # re-read the object name's style
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _show_errors(self, error: BaseException) -> None:
        fields = {e.path for e in error.errors} if isinstance(error, InvalidInput) else set()
        for widget in (self.proxy_name, self.proxy_nik, self.letter, self.checked, self.tracking):
            widget.setProperty(
                "invalid",
                widget.objectName() in fields
                or (widget is self.tracking and "tracking_number" in fields),
            )
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.errors.setText(i18n.error_text(error))
        self.errors.show()
        self.failed.emit(i18n.error_text(error))
        for widget in (self.proxy_name, self.proxy_nik, self.letter, self.checked):
            if widget.objectName() in fields and widget.isEnabled():
                widget.setFocus(Qt.FocusReason.OtherFocusReason)
                break

    def _clear_errors(self) -> None:
        self.errors.hide()
        for widget in (self.proxy_name, self.proxy_nik, self.letter, self.checked, self.tracking):
            if widget.property("invalid"):
                widget.setProperty("invalid", False)
                widget.style().unpolish(widget)
                widget.style().polish(widget)

    # --- actions -------------------------------------------------------------------------

    def find(self) -> None:
        text = self.tracking.text()
        if not text.strip():
            return
        self._clear_errors()
        self._banner("banner", tr("collect.searching"))
        runtime, actor = self.runtime, self.actor
        self.tasks.run(
            lambda: find_for_collection(runtime, actor, text),
            self._found,
            self._lookup_failed,
        )

    def _found(self, candidate: CollectionCandidate) -> None:
        self.tracking.setText(candidate.tracking_number)
        self.applicant_radio.setChecked(True)
        for widget in (self.proxy_name, self.proxy_nik, self.letter, self.note):
            widget.clear()
        self.checked.setChecked(False)
        self._set_candidate(candidate)
        if candidate.ready:
            self.applicant_radio.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.tracking.setFocus(Qt.FocusReason.OtherFocusReason)
            self.tracking.selectAll()
        self.candidate_shown.emit(candidate)

    def _lookup_failed(self, error: BaseException) -> None:
        if not isinstance(error, DeskError):
            self.banner.hide()
            self.tasks.failed.emit(error)  # a bug or the environment: the main window shows it
            return
        self._set_candidate(None)
        self.banner.hide()
        self._show_errors(error)
        self.tracking.setFocus(Qt.FocusReason.OtherFocusReason)
        self.tracking.selectAll()

    def current_record(self) -> CollectionRecord:
        proxy = self.proxy_radio.isChecked()
        return CollectionRecord(
            taker=TAKER_PROXY if proxy else TAKER_APPLICANT,
            identity_checked=self.checked.isChecked(),
            identity_document=str(self.document.currentData()),
            proxy_name=self.proxy_name.text() if proxy else "",
            proxy_nik=self.proxy_nik.text() if proxy else "",
            letter_reference=self.letter.text() if proxy else "",
            note=self.note.text(),
        )

    def record(self) -> None:
        candidate = self.candidate
        if candidate is None or not candidate.ready or not self.record_button.isEnabled():
            return
        self._clear_errors()
        self.record_button.setEnabled(False)
        record = self.current_record()
        runtime, actor, tracking = self.runtime, self.actor, candidate.tracking_number
        self.tasks.run(
            lambda: record_collection(runtime, actor, tracking, record),
            self._recorded,
            partial(self._record_failed, candidate),
        )

    def _recorded(self, candidate: Collected) -> None:
        announce(self, candidate.changes)
        who = (candidate.collected_by or {}).get("name", "")
        self._set_candidate(candidate)
        self._banner(
            "bannerOk", tr("collect.recorded", tracking=candidate.tracking_number, name=who)
        )
        self.collected.emit(candidate.submission_id)
        self.tracking.setFocus(Qt.FocusReason.OtherFocusReason)
        self.tracking.selectAll()

    def _record_failed(self, candidate: CollectionCandidate, error: BaseException) -> None:
        self.record_button.setEnabled(candidate.ready)
        if not isinstance(error, DeskError):
            self.tasks.failed.emit(error)
            return
        self._show_errors(error)
