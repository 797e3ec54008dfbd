"""The supervisor's decision on one or more submissions: approve, return or flag.

Keyboard first: Alt+S / Alt+K / Alt+T pick the decision, the reason box takes the focus when
the decision needs one, Enter commits, Esc cancels. Approving several at once asks for the
password again (``approve_batch``); the decision runs on the store thread and the dialog
closes only when it was stored, so a refusal (wrong password, a submission gone) is shown
right where it was made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.states import ReviewState
from mppdesk.desk import review
from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import AuthError, DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.ui import i18n
from mppdesk.ui.i18n import tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)



class ReviewDialog(QDialog):
    """``decided(list)`` carries the ``ReviewOutcome`` of each submission once stored."""

    decided = Signal(list)

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        items: Sequence[Any],
        decision: str = ReviewState.APPROVED,
        parent: QWidget | None = None,
        *,
        mall: bool = False,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.items = list(items)  # objects with id, tracking_number, service, agency
        # mall: submissions of any desk, decided at the hub (``desk.hub.mall_decide``); the
        # owning desk applies the decision when it pulls. One at a time: no batch password.
        self.mall = mall
        self.setWindowTitle(tr("review.title"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("review.items", count=len(self.items))))
        if mall:
            desks = sorted({str(getattr(item, "desk", "")) for item in self.items})
            note = QLabel(tr("mall.review_note", desks=", ".join(desks)))
            note.setWordWrap(True)
            layout.addWidget(note)
        listing = "\n".join(
            f"{item.tracking_number} · {item.service}" for item in self.items[:8]
        ) + ("\n…" if len(self.items) > 8 else "")
        summary = QLabel(listing)
        summary.setObjectName("muted")
        layout.addWidget(summary)

        self.choice = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        row = QHBoxLayout()
        for value, key in (
            (ReviewState.APPROVED, "review.approve"),
            (ReviewState.RETURNED, "review.return"),
            (ReviewState.FLAGGED, "review.flag"),
        ):
            button = QRadioButton(tr(key))
            self.choice.addButton(button)
            self.buttons[str(value)] = button
            row.addWidget(button)
        layout.addLayout(row)

        self.reason_label = QLabel(tr("review.reason"))
        self.reason = QPlainTextEdit()
        self.reason.setTabChangesFocus(True)
        self.reason.setFixedHeight(64)
        self.reason_label.setBuddy(self.reason)
        hint = QLabel(tr("review.reason_hint"))
        hint.setObjectName("muted")
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason)
        layout.addWidget(hint)

        self.password_label = QLabel(tr("review.password"))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_label.setBuddy(self.password)
        self.password_hint = QLabel(tr("review.password_hint"))
        self.password_hint.setObjectName("muted")
        for widget in (self.password_hint, self.password_label, self.password):
            layout.addWidget(widget)

        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.box = QDialogButtonBox()
        self.save = self.box.addButton(tr("review.save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.box.addButton(tr("review.cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.save.setDefault(True)
        self.box.accepted.connect(self.submit)
        self.box.rejected.connect(self.reject)
        layout.addWidget(self.box)

        self.choice.buttonToggled.connect(self._decision_changed)
        self.buttons[str(decision)].setChecked(True)
        self._decision_changed()

    @property
    def decision(self) -> str:
        for value, button in self.buttons.items():
            if button.isChecked():
                return value
        return str(ReviewState.APPROVED)

    @property
    def needs_password(self) -> bool:
        return self.decision == ReviewState.APPROVED and len(self.items) > 1 and not self.mall

    def _decision_changed(self, *_: Any) -> None:
        needs_reason = self.decision != ReviewState.APPROVED
        self.reason.setEnabled(needs_reason)
        self.reason_label.setEnabled(needs_reason)
        for widget in (self.password_hint, self.password_label, self.password):
            widget.setVisible(self.needs_password)
        if needs_reason:
            self.reason.setFocus()
        elif self.needs_password:
            self.password.setFocus()
        else:
            self.save.setFocus()

    def submit(self) -> None:
        decision = self.decision
        reason = self.reason.toPlainText().strip()
        if decision != ReviewState.APPROVED and not reason:
            self._show_error(tr("review.need_reason"))
            self.reason.setFocus()
            return
        password = self.password.text()
        if self.needs_password and not password:
            self._show_error(tr("review.need_password"))
            self.password.setFocus()
            return
        ids = [item.id for item in self.items]
        runtime, actor = self.runtime, self.actor

        if self.mall:
            from mppdesk.desk import hub as desk_hub

            def work() -> list[Any]:
                return [
                    desk_hub.mall_decide(runtime, actor, i, decision, reason or None) for i in ids
                ]

            self.save.setEnabled(False)
            self.message.setText(tr("review.saving"))
            self.tasks.run(work, self._saved, self._failed, network=True)
            return

        def work() -> list[Any]:
            if decision == ReviewState.APPROVED and len(ids) > 1:
                return review.approve_batch(runtime, actor, ids, password)
            return [review.review(runtime, actor, i, decision, reason or None) for i in ids]

        self.save.setEnabled(False)
        self.message.setText(tr("review.saving"))
        self.tasks.run(work, self._saved, self._failed)

    def _saved(self, outcomes: list[Any]) -> None:
        if not self.mall:  # a hub decision changes this store only when pulled back
            announce(self, review.changes_of(outcomes))
        self.decided.emit(outcomes)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.save.setEnabled(True)
        if self.mall and isinstance(error, DeskError):  # the hub refused or cannot answer
            from mppdesk.desk.hub import HubUnavailable

            offline = isinstance(error, HubUnavailable)
            self._show_error(tr("mall.offline") if offline else i18n.error_text(error))
        elif isinstance(error, AuthError):
            self.password.clear()
            self.password.setFocus()
            self._show_error(tr("review.wrong_password"))
        elif isinstance(error, DeskError):
            self._show_error(i18n.error_text(error))
        else:
            log.error("review failed: %s", error)
            self._show_error(str(error))

    def _show_error(self, text: str) -> None:
        self.message.setText(text)
