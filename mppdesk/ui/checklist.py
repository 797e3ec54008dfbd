"""The requirement checklist beside a service form.

One check box per requirement: ticked means handed over (in the way its kind says: a copy,
the original, shown and returned …), unticked means missing and printed on the "berkas
belum lengkap" slip. Conditional requirements appear and disappear as the engine re-decides
their condition after every answer, with their "only if …" words, so the officer sees at
once that, say, a police report is now needed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from mppdesk.core.states import SATISFIED_CHECKLIST_STATES
from mppdesk.forms.definitions import Requirement, Service
from mppdesk.forms.engine import RequirementState
from mppdesk.ui.i18n import language, plain, tr
from mppdesk.ui.visit_state import checklist_state


class RequirementCheck(QCheckBox):
    """A requirement's box: Space toggles it; Enter ticks it (handed over) and moves on to
    the next requirement, so a pile of documents is checked with one key each."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            if not self.isChecked():
                self.setChecked(True)
            self.focusNextChild()
            return
        super().keyPressEvent(event)


class RequirementRow:
    def __init__(self, requirement: Requirement, check: QCheckBox, detail: QLabel, box: QWidget):
        self.requirement = requirement
        self.check = check
        self.detail = detail
        self.box = box
        self.applies = True


class ChecklistPanel(QFrame):
    def __init__(
        self, service: Service, on_change: Callable[[], None], parent: QWidget | None = None
    ):
        super().__init__(parent)
        from mppdesk.printing import requirement_item  # words shared with the printed slip

        self.setObjectName("card")
        self.on_change = on_change
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        heading = QLabel(plain("visit.requirements"))
        heading.setObjectName("subheading")
        layout.addWidget(heading)
        hint = QLabel(tr("visit.requirements_hint"))
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.rows: list[RequirementRow] = []
        lang = language()
        for requirement in service.requirements:
            item = requirement_item(requirement, lang)
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 4, 0, 4)
            column.setSpacing(0)
            check = RequirementCheck(item.label)
            check.setObjectName(f"req.{requirement.id}")
            check.setAccessibleName(item.label)
            check.toggled.connect(lambda _on: self.on_change())
            column.addWidget(check)
            words = [w for w in (item.detail,) if w]
            if item.condition:
                words.append(item.condition)  # the catalog's own "hanya bila …" words
            if item.note:
                words.append(item.note)
            detail = QLabel(" · ".join(words))
            detail.setObjectName("muted")
            detail.setWordWrap(True)
            detail.setTextFormat(Qt.TextFormat.PlainText)
            detail.setContentsMargins(26, 0, 0, 0)
            column.addWidget(detail)  # parent first: a parentless visible label is a window
            detail.setVisible(bool(words))
            check.setAccessibleDescription(detail.text())
            layout.addWidget(box)
            self.rows.append(RequirementRow(requirement, check, detail, box))
        layout.addStretch(1)

    def states(self) -> dict[str, str]:
        """Ticked requirements with how they were handed over; the rest count as missing."""
        return {
            row.requirement.id: checklist_state(row.requirement.kind)
            for row in self.rows
            if row.applies and row.check.isChecked()
        }

    def set_states(self, states: dict[str, str]) -> None:
        for row in self.rows:
            checked = states.get(row.requirement.id) in SATISFIED_CHECKLIST_STATES
            if row.check.isChecked() != checked:
                row.check.blockSignals(True)
                row.check.setChecked(checked)
                row.check.blockSignals(False)

    def apply(self, requirements: list[RequirementState]) -> None:
        applies = {r.id: r.applies for r in requirements}
        for row in self.rows:
            now = applies.get(row.requirement.id, True)
            if now != row.applies:
                row.applies = now
                row.box.setVisible(now)

    def missing(self) -> list[Requirement]:
        return [
            row.requirement
            for row in self.rows
            if row.applies and not row.check.isChecked() and not row.requirement.optional
        ]

    def focus_stops(self) -> list[QWidget]:
        return [row.check for row in self.rows if row.applies]

    def all_focus_stops(self) -> list[QWidget]:
        return [row.check for row in self.rows]
