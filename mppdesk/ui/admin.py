"""Admin dialogs: add an officer, change the desk's language and idle-lock time.

Each announces what it changed (users, settings) to the window's views and leaves one line
in the status bar through ``show_message``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.changes import Changes
from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.ui.i18n import error_text, plain, tr
from mppdesk.ui.notifier import announce
from mppdesk.ui.tasks import TaskRunner


def _error_text(error: BaseException) -> str:
    return error_text(error) if isinstance(error, DeskError) else str(error)


class _TaskDialog(QDialog):
    def __init__(
        self,
        title: str,
        parent: QWidget | None,
        show_message: Callable[[str], None] | None = None,
    ):
        super().__init__(parent)
        self.show_message = show_message
        self.setWindowTitle(title)
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.message = QLabel()
        self.message.setObjectName("bannerError")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.layout_.addWidget(self.message)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton(tr("common.save"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setObjectName("primary")
        cancel = self.buttons.addButton(tr("common.cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        cancel.clicked.connect(self.reject)
        self.ok.clicked.connect(self.submit)
        self.layout_.addWidget(self.buttons)

    def row(self, key: str, widget: QWidget) -> None:
        label = QLabel(tr(key))
        label.setBuddy(widget)
        widget.setAccessibleName(plain(key))
        self.form.addRow(label, widget)

    def fail(self, error: BaseException) -> None:
        self.ok.setEnabled(True)
        self.message.setText(_error_text(error) if isinstance(error, DeskError) else str(error))
        self.message.setVisible(True)

    def submit(self) -> None:
        raise NotImplementedError

    def done_with(self, changes: Changes, message: str, **params: object) -> None:
        """The operation succeeded: tell the views, close, say so in the status bar (in the
        language the views now use: a settings change may have switched it)."""
        announce(self, changes)
        self.accept()
        if self.show_message is not None:
            self.show_message(tr(message, **params))


class AddUserDialog(_TaskDialog):
    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        show_message: Callable[[str], None] | None = None,
    ):
        super().__init__(plain("users.title"), parent, show_message)
        self.runtime, self.actor, self.tasks = runtime, actor, tasks
        self.username = QLineEdit()
        self.username.setObjectName("newUsername")
        self.full_name = QLineEdit()
        self.full_name.setObjectName("newFullName")
        self.role = QComboBox()
        self.role.setObjectName("newRole")
        for role in ("officer", "supervisor", "admin"):
            self.role.addItem(plain(f"login.role.{role}"), role)
        self.password = QLineEdit()
        self.password.setObjectName("newPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.row("login.username", self.username)
        self.row("setup.full_name", self.full_name)
        self.row("users.role", self.role)
        self.row("login.password", self.password)

    def submit(self) -> None:
        from mppdesk.desk.auth import add_user

        self.ok.setEnabled(False)
        username = self.username.text().strip()
        args = (
            username,
            self.role.currentData(),
            self.password.text(),
            self.full_name.text().strip(),
        )
        self.tasks.run(
            lambda: add_user(self.runtime, self.actor, *args),
            lambda changes: self.done_with(changes, "users.added", user=username),
            self.fail,
        )


class SettingsDialog(_TaskDialog):
    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        show_message: Callable[[str], None] | None = None,
    ):
        super().__init__(plain("settings.title"), parent, show_message)
        self.runtime, self.actor, self.tasks = runtime, actor, tasks
        self.language = QComboBox()
        self.language.setObjectName("settingsLanguage")
        self.language.addItem("Bahasa Indonesia", "id")
        self.language.addItem("English", "en")
        self.language.setCurrentIndex(1 if runtime.settings.desk.language == "en" else 0)
        self.idle = QSpinBox()
        self.idle.setObjectName("settingsIdle")
        self.idle.setRange(1, 240)
        self.idle.setValue(runtime.settings.desk.idle_lock_minutes)
        self.row("settings.language", self.language)
        self.row("settings.idle", self.idle)

    def submit(self) -> None:
        from mppdesk.desk.counter import update_desk_preferences

        self.ok.setEnabled(False)
        lang, minutes = self.language.currentData(), self.idle.value()
        self.tasks.run(
            lambda: update_desk_preferences(
                self.runtime, self.actor, language=lang, idle_lock_minutes=minutes
            ),
            lambda changes: self.done_with(changes, "settings.saved"),
            self.fail,
        )
