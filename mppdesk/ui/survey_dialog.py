"""The optional satisfaction survey (SKM) at the end of a visit, answered by keyboard.

Nine short questions (PermenPANRB 14/2017), each scored 1-4. The applicant (or the officer
reading the questions out) presses 1, 2, 3 or 4: the answer is taken and the next question
comes up. ↑/↓ move between questions, Enter saves once all nine are answered, Esc skips the
survey. Mouse users click the answers. The main window opens it after a visit is finalized:
``SurveyDialog(runtime, actor, tasks, visit_id, parent).open()``.
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.desk.survey import ELEMENTS, RecordedSurvey, record_survey
from mppdesk.ui import i18n
from mppdesk.ui.i18n import tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


_KEYS = {Qt.Key.Key_1: 1, Qt.Key.Key_2: 2, Qt.Key.Key_3: 3, Qt.Key.Key_4: 4}


class SurveyDialog(QDialog):
    """``saved(int)`` carries the stored response's id."""

    saved = Signal(int)

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        visit_id: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.visit_id = visit_id
        self.current = 0
        self.scores: dict[str, int] = {}
        lang = i18n.language()
        self.setWindowTitle(tr("survey.title"))
        layout = QVBoxLayout(self)
        intro = QLabel(tr("survey.intro"))
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        self.rows: list[QFrame] = []
        self.groups: list[QButtonGroup] = []
        for index, element in enumerate(ELEMENTS):
            row = QFrame()
            row.setObjectName("groupRow")
            inner = QGridLayout(row)
            inner.setContentsMargins(8, 4, 8, 4)
            title = QLabel(f"<b>{index + 1}. {element.label(lang)}</b> — {element.question(lang)}")
            title.setWordWrap(True)
            inner.addWidget(title, 0, 0, 1, 4)
            group = QButtonGroup(self)
            group.setExclusive(True)
            for score in range(1, 5):
                button = QPushButton(f"{score} · {element.answer(score, lang)}")
                button.setCheckable(True)
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the dialog takes the keys
                button.clicked.connect(partial(self.answer, index, score))
                group.addButton(button, score)
                inner.addWidget(button, 1, score - 1)
            grid.addWidget(row, index, 0)
            self.rows.append(row)
            self.groups.append(group)
        layout.addLayout(grid)
        suggestion_label = QLabel(tr("survey.suggestion"))
        self.suggestion = QLineEdit()
        self.suggestion.setMaxLength(500)
        suggestion_label.setBuddy(self.suggestion)
        layout.addWidget(suggestion_label)
        layout.addWidget(self.suggestion)
        self.message = QLabel("")
        self.message.setObjectName("message")
        layout.addWidget(self.message)
        box = QDialogButtonBox()
        self.save_button = box.addButton(tr("survey.save"), QDialogButtonBox.ButtonRole.AcceptRole)
        box.addButton(tr("survey.skip"), QDialogButtonBox.ButtonRole.RejectRole)
        box.accepted.connect(self.submit)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._highlight()

    # --- answering -----------------------------------------------------------------------

    def answer(self, index: int, score: int) -> None:
        element = ELEMENTS[index]
        self.scores[element.key] = score
        self.groups[index].button(score).setChecked(True)
        self.message.setText("")
        if index == self.current:
            self._move(1)
        self._highlight()

    def _move(self, step: int) -> None:
        self.current = max(0, min(len(ELEMENTS) - 1, self.current + step))
        self._highlight()

    def _highlight(self) -> None:
        for index, row in enumerate(self.rows):
            row.setStyleSheet(
                "QFrame#groupRow { border: 2px solid #0b57a4; background: #e3eefa; }"
                if index == self.current
                else ""
            )

    @property
    def complete(self) -> bool:
        return len(self.scores) == len(ELEMENTS)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if self.suggestion.hasFocus() and event.key() not in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Up,
        ):
            super().keyPressEvent(event)
            return
        key = event.key()
        if key in _KEYS:
            self.answer(self.current, _KEYS[key])
        elif key == Qt.Key.Key_Down:
            self._move(1)
        elif key == Qt.Key.Key_Up:
            if self.suggestion.hasFocus():
                self.setFocus()
            else:
                self._move(-1)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.submit()
        else:
            super().keyPressEvent(event)

    # --- saving --------------------------------------------------------------------------

    def submit(self) -> None:
        if not self.complete:
            missing = len(ELEMENTS) - len(self.scores)
            self.message.setText(tr("survey.missing", count=missing))
            self.current = next(i for i, e in enumerate(ELEMENTS) if e.key not in self.scores)
            self._highlight()
            return
        runtime, actor, visit_id = self.runtime, self.actor, self.visit_id
        scores, suggestion = dict(self.scores), self.suggestion.text()
        self.save_button.setEnabled(False)
        self.message.setText(tr("survey.saving"))
        self.tasks.run(
            lambda: record_survey(runtime, actor, visit_id, scores, suggestion),
            self._saved,
            self._failed,
        )

    def _saved(self, recorded: RecordedSurvey) -> None:
        announce(self, recorded.changes)
        self.saved.emit(recorded.response_id)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        if not isinstance(error, DeskError):
            log.error("survey not saved: %s", error)
        self.message.setText(str(error))
