"""Admin dialogs: officer accounts (add, unlock, disable, enable, change password), the
desk's language and idle-lock time.

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
    QHBoxLayout,
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


class ResetPasswordDialog(_TaskDialog):
    """A new password for one account, typed twice (the admin reads it to the officer)."""

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        username: str,
        parent: QWidget | None = None,
        show_message: Callable[[str], None] | None = None,
    ):
        super().__init__(plain("accounts.reset_title", user=username), parent, show_message)
        self.runtime, self.actor, self.tasks, self.username = runtime, actor, tasks, username
        self.password = QLineEdit()
        self.password.setObjectName("resetPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("resetRepeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.row("accounts.new_password", self.password)
        self.row("accounts.repeat", self.repeat)
        self.repeat.returnPressed.connect(self.submit)
        self.password.setFocus()  # where the admin types first, not the Save button

    def submit(self) -> None:
        from mppdesk.desk.auth import reset_password

        if self.password.text() != self.repeat.text():
            self.message.setText(tr("accounts.mismatch"))
            self.message.setVisible(True)
            self.repeat.setFocus()
            return
        self.ok.setEnabled(False)
        username, password = self.username, self.password.text()
        self.tasks.run(
            lambda: reset_password(self.runtime, self.actor, username, password),
            lambda changes: self.done_with(changes, "accounts.done.reset", user=username),
            self.fail,
        )


class AccountsDialog(QDialog):
    """Every officer account with its state; unlock, disable or enable, change password.

    The answer to "ask an admin" on the sign-in screen: a locked-out officer is unlocked
    here at once instead of waiting out the lock. Keyboard first: the table has the focus,
    arrows choose an account, Alt+letter runs an action, Tab leaves the table.
    """

    COLUMNS = (
        "accounts.col.username",
        "accounts.col.full_name",
        "accounts.col.role",
        "accounts.col.state",
        "accounts.col.last_login",
    )

    def __init__(
        self,
        runtime: Runtime,
        actor: Actor,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        show_message: Callable[[str], None] | None = None,
    ):
        from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QPushButton, QTableWidget

        super().__init__(parent)
        self.runtime, self.actor, self.tasks = runtime, actor, tasks
        self.show_message = show_message
        self.accounts: list = []
        self.setObjectName("accountsDialog")
        self.setWindowTitle(plain("accounts.title"))
        self.setMinimumSize(760, 420)
        layout = QVBoxLayout(self)
        explain = QLabel(tr("accounts.explain"))
        explain.setObjectName("muted")
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("accountsTable")
        self.table.setAccessibleName(plain("accounts.title"))
        self.table.setHorizontalHeaderLabels([plain(c) for c in self.COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)
        self.message = QLabel()
        self.message.setObjectName("bannerError")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        row = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        for key, slot in (
            ("add", self._add),
            ("unlock", self._unlock),
            ("disable", lambda: self._set_active(False)),
            ("enable", lambda: self._set_active(True)),
            ("reset", self._reset),
        ):
            button = QPushButton(tr(f"accounts.{key}"))
            button.setObjectName(f"accounts_{key}")
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            row.addWidget(button)
            self.buttons[key] = button
        row.addStretch(1)
        close = QPushButton(tr("accounts.close"))
        close.setObjectName("accounts_close")
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout.addLayout(row)
        self._selection_changed()
        self.reload()

    # -- data ----------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        from mppdesk.desk.auth import list_accounts

        keep = select or self.selected_username()
        self.tasks.run(
            lambda: list_accounts(self.runtime, self.actor),
            lambda accounts: self._fill(accounts, keep),
            self._fail,
        )

    def _fill(self, accounts: list, select: str | None) -> None:
        from PySide6.QtWidgets import QTableWidgetItem

        self.accounts = list(accounts)
        self.table.setRowCount(len(self.accounts))
        tz = self.runtime.tz
        chosen = 0
        for index, account in enumerate(self.accounts):
            if account.locked:
                state = plain(
                    "accounts.state.locked", until=f"{account.locked_until.astimezone(tz):%H:%M}"
                )
            elif account.active:
                state = plain("accounts.state.active")
            else:
                state = plain("accounts.state.disabled")
            last = (
                f"{account.last_login_at.astimezone(tz):%d-%m-%Y %H:%M}"
                if account.last_login_at
                else plain("accounts.never")
            )
            cells = (
                account.username,
                account.full_name,
                plain(f"login.role.{account.role}"),
                state,
                last,
            )
            for column, value in enumerate(cells):
                self.table.setItem(index, column, QTableWidgetItem(value))
            if account.username == select:
                chosen = index
        if self.accounts:
            self.table.selectRow(chosen)
        self.table.setFocus()
        self._selection_changed()

    def selected_account(self):
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.accounts):
            return None
        return self.accounts[rows[0].row()]

    def selected_username(self) -> str | None:
        account = self.selected_account()
        return account.username if account is not None else None

    def _selection_changed(self) -> None:
        account = self.selected_account()
        self.buttons["unlock"].setEnabled(account is not None and account.locked)
        self.buttons["disable"].setEnabled(
            account is not None and account.active and account.username != self.actor.username
        )
        self.buttons["enable"].setEnabled(account is not None and not account.active)
        self.buttons["reset"].setEnabled(account is not None)

    # -- actions -------------------------------------------------------------------------
    def _fail(self, error: BaseException) -> None:
        self.message.setText(_error_text(error))
        self.message.setVisible(True)
        self._selection_changed()

    def _done(self, changes: Changes, code: str, username: str) -> None:
        announce(self, changes)
        self.message.setVisible(False)
        if self.show_message is not None:
            self.show_message(tr(code, user=username))
        self.reload(select=username)

    def _run(self, work: Callable[[], Changes], code: str, username: str) -> None:
        for button in self.buttons.values():
            button.setEnabled(False)
        self.tasks.run(work, lambda changes: self._done(changes, code, username), self._fail)

    def _unlock(self) -> None:
        from mppdesk.desk.auth import unlock_user

        username = self.selected_username()
        if username:
            self._run(
                lambda: unlock_user(self.runtime, self.actor, username),
                "accounts.done.unlock",
                username,
            )

    def _set_active(self, active: bool) -> None:
        from mppdesk.desk.auth import set_user_active

        username = self.selected_username()
        if username:
            self._run(
                lambda: set_user_active(self.runtime, self.actor, username, active),
                "accounts.done.enable" if active else "accounts.done.disable",
                username,
            )

    def _reset(self) -> None:
        username = self.selected_username()
        if not username:
            return
        dialog = ResetPasswordDialog(
            self.runtime, self.actor, self.tasks, username, self, self.show_message
        )
        dialog.accepted.connect(lambda: self.reload(select=username))
        dialog.open()

    def _add(self) -> None:
        dialog = AddUserDialog(self.runtime, self.actor, self.tasks, self, self.show_message)
        dialog.accepted.connect(lambda: self.reload(select=dialog.username.text().strip()))
        dialog.open()
