"""One service of the visit: its generated form, its attachments and its requirement checklist."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mppdesk.forms.catalog import Catalog
from mppdesk.forms.engine import Entry, FormResult
from mppdesk.ui.checklist import ChecklistPanel
from mppdesk.ui.fields import Editor
from mppdesk.ui.form_view import FormView, specs_for_service
from mppdesk.ui.i18n import format_rupiah, format_size, plain, text_of, tr
from mppdesk.ui.visit_state import AttachmentRef, ServiceEntry


def scrolling(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # not a Tab stop: it scrolls to the focus
    area.setWidget(widget)
    return area


def card() -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(18, 14, 18, 16)
    layout.setSpacing(10)
    return frame, layout


class ServicePage(QWidget):
    def __init__(
        self,
        catalog: Catalog,
        entry: ServiceEntry,
        on_change: Callable[[], None],
        on_attach: Callable[[ServicePage, Editor | None], None],
        on_remove: Callable[[ServicePage], None],
        on_structure: Callable[[], None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.code = entry.code
        self.service = catalog.service(entry.code)
        agency = catalog.agencies.get(self.service.agency)
        self.agency_short = agency.short_name if agency else self.service.agency
        self.title = f"{self.agency_short} · {text_of(self.service.name)}"
        self.setObjectName(f"service:{entry.code}")
        self.attachments: list[AttachmentRef] = list(entry.attachments)
        self.on_change = on_change

        # Built top-down: each container joins the page before it is filled, so every widget
        # is re-parented (and re-styled by the application style sheet) once, alone, instead
        # of whole finished subtrees moving again at every level (most of the opening time).
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)

        body = QWidget()
        outer.addWidget(scrolling(body), 3)
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 4, 0)
        column.setSpacing(12)
        form_card, form_layout = card()
        column.addWidget(form_card)
        top = QHBoxLayout()
        form_layout.addLayout(top)
        heading = QLabel(self.title, form_card)
        heading.setObjectName("heading")
        heading.setWordWrap(True)
        top.addWidget(heading, 1)
        self.remove_button = QPushButton(tr("visit.remove_service"), form_card)
        self.remove_button.setObjectName("removeService")
        self.remove_button.clicked.connect(lambda: on_remove(self))
        top.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        self.facts = QLabel(form_card)
        self.facts.setObjectName("muted")
        self.facts.setWordWrap(True)
        form_layout.addWidget(self.facts)
        specs = specs_for_service(catalog, entry.code)
        if specs:
            self.form = FormView(
                specs,
                lambda _path: on_change(),
                form_card,
                pick_file=lambda editor: on_attach(self, editor),
                on_structure=on_structure,
                add_to=form_layout,
            )
        else:
            self.form = FormView(specs, lambda _path: on_change())
            none = QLabel(tr("visit.service_fields_none"), form_card)
            none.setObjectName("muted")
            form_layout.addWidget(none)

        files_card, files_layout = card()
        column.addWidget(files_card)
        files_heading = QLabel(plain("visit.attachments"), files_card)
        files_heading.setObjectName("subheading")
        files_layout.addWidget(files_heading)
        self.files = QListWidget(files_card)
        self.files.setObjectName("attachments")
        self.files.setAccessibleName(plain("visit.attachments"))
        self.files.setMaximumHeight(96)
        files_layout.addWidget(self.files)
        self.no_files = QLabel(tr("visit.no_attachments"), files_card)
        self.no_files.setObjectName("muted")
        files_layout.addWidget(self.no_files)
        buttons = QHBoxLayout()
        files_layout.addLayout(buttons)
        self.attach_button = QPushButton(tr("visit.attach") + "  (Ctrl+O)", files_card)
        self.attach_button.setObjectName("attach")
        self.attach_button.clicked.connect(lambda: on_attach(self, None))
        buttons.addWidget(self.attach_button)
        self.detach_button = QPushButton(tr("visit.attach_remove"), files_card)
        self.detach_button.setObjectName("detach")
        self.detach_button.clicked.connect(self._remove_selected)
        buttons.addWidget(self.detach_button)
        buttons.addStretch(1)
        delete = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.files)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self._remove_selected)
        column.addStretch(1)

        checklist_area = QScrollArea()
        checklist_area.setWidgetResizable(True)
        checklist_area.setFrameShape(QFrame.Shape.NoFrame)
        checklist_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        checklist_area.setMinimumWidth(320)
        checklist_area.setMaximumWidth(440)
        outer.addWidget(checklist_area, 2)
        self.checklist = ChecklistPanel(self.service, on_change, checklist_area.viewport())
        checklist_area.setWidget(self.checklist)
        # The card is styled already, so the style sheet will not switch off the background
        # fill that setWidget turns on (it does for a card styled after joining the area):
        # without this the card's rounded corners would show white instead of the ground.
        self.checklist.setAutoFillBackground(False)

        self.form.set_values("answers", entry.answers)
        self.checklist.set_states(entry.checklist)
        self._show_files()

    # --- state -------------------------------------------------------------------------

    def collect(self, entry: ServiceEntry) -> None:
        entry.answers = self.form.values("answers")
        entry.checklist = self.checklist.states()
        entry.attachments = list(self.attachments)

    def apply(self, result: FormResult, entries: list[Entry], today_due: str) -> None:
        self.form.apply(entries, result.visible, result.answers)
        self.checklist.apply(result.requirements)
        self.facts.setText(
            f"{plain('visit.fee')}: {format_rupiah(result.fee)}  ·  "
            f"{plain('visit.sla_due')}: {today_due}"
        )

    # --- attachments -------------------------------------------------------------------

    def add_attachment(self, ref: AttachmentRef, editor: Editor | None = None) -> None:
        self.attachments = [a for a in self.attachments if a.name != ref.name] + [ref]
        self._show_files()
        if editor is not None:
            editor.set_value(ref.name)
        self.on_change()

    def _remove_selected(self) -> None:
        row = self.files.currentRow()
        if 0 <= row < len(self.attachments):
            del self.attachments[row]
            self._show_files()
            self.on_change()

    def _show_files(self) -> None:
        self.files.clear()
        for ref in self.attachments:
            item = QListWidgetItem(f"{ref.name}  ({format_size(ref.size)})")
            self.files.addItem(item)
        has = bool(self.attachments)
        self.files.setVisible(has)
        self.no_files.setVisible(not has)
        self.detach_button.setEnabled(has)
        names = [a.name for a in self.attachments]
        for editor in self.form.file_editors():
            editor.set_choices(names)

    # --- keyboard ----------------------------------------------------------------------

    def focus_stops(self) -> list[QWidget]:
        # The checklist right after the fields: it is checked on every visit, attachments
        # are the exception (the requirements column sits beside the form, not below it).
        return [
            self.remove_button,
            *self.form.all_focus_stops(),
            *self.checklist.all_focus_stops(),
            self.files,
            self.attach_button,
            self.detach_button,
        ]

    def first_stop(self) -> QWidget:
        stops = self.form.focus_stops() or self.checklist.focus_stops()
        return stops[0] if stops else self.attach_button
