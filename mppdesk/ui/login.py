"""The first screen: sign in, or create the first admin on a new install; and the lock screen.

Imports nothing but Qt widgets and the word list (not even the ``Qt`` namespace), so the
window appears before the store, the catalog or argon2 are loaded (they open in the
background meanwhile).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.ui.i18n import has, plain, tr

OPENING, LOGIN, SETUP, FAILED = "opening", "login", "setup", "failed"
# Qt.ItemDataRole.UserRole as a number: touching the ``Qt`` namespace builds all of its
# enums (about 17 ms), which the sign-in window does not need before it is on screen.
_USER_ROLE = 256


def _card(width: int = 460) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("card")
    frame.setFixedWidth(width)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(28, 24, 28, 24)
    layout.setSpacing(12)
    return frame, layout


def _centered(inner: QWidget) -> QVBoxLayout:
    outer = QVBoxLayout()
    outer.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(inner)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    return outer


class LoginPage(QWidget):
    login_requested = Signal(str, str)
    setup_requested = Signal(str, str, str)  # username, full name, password

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("loginPage")
        self.mode = OPENING
        frame, layout = _card()
        title = QLabel(plain("app.title"))
        title.setObjectName("heading")
        layout.addWidget(title)
        self.heading = QLabel(plain("login.heading"))
        self.heading.setObjectName("subheading")
        layout.addWidget(self.heading)
        self.subtitle = QLabel()
        self.subtitle.setObjectName("muted")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.subtitle)
        self.explain = QLabel(tr("setup.explain"))
        self.explain.setWordWrap(True)
        layout.addWidget(self.explain)

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(10)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.username.setAccessibleName(plain("login.username"))
        self.username.setMaxLength(32)
        self.full_name = QLineEdit()
        self.full_name.setObjectName("fullName")
        self.full_name.setAccessibleName(plain("setup.full_name"))
        self.full_name.setMaxLength(200)
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setAccessibleName(plain("login.password"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("repeatPassword")
        self.repeat.setAccessibleName(plain("setup.repeat"))
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.labels: dict[str, QLabel] = {}
        for key, edit in (
            ("login.username", self.username),
            ("setup.full_name", self.full_name),
            ("login.password", self.password),
            ("setup.repeat", self.repeat),
        ):
            label = QLabel(tr(key))
            label.setBuddy(edit)
            form.addRow(label, edit)
            self.labels[key] = label
        self.form = form
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("bannerError")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        self.submit = QPushButton(tr("login.submit"))
        self.submit.setObjectName("primary")
        self.submit.setMinimumHeight(36)
        self.submit.setDefault(True)
        self.submit.clicked.connect(self._submit)
        layout.addWidget(self.submit)
        for edit in (self.username, self.full_name, self.password, self.repeat):
            edit.returnPressed.connect(self._submit)

        self.demo_frame, demo_layout = _card()
        demo_title = QLabel(plain("login.demo_accounts"))
        demo_title.setObjectName("subheading")
        demo_layout.addWidget(demo_title)
        demo_hint = QLabel(tr("login.demo_hint"))
        demo_hint.setObjectName("muted")
        demo_layout.addWidget(demo_hint)
        self.demo_list = QListWidget()
        self.demo_list.setObjectName("demoAccounts")
        self.demo_list.setAccessibleName(plain("login.demo_accounts"))
        self.demo_list.itemActivated.connect(self._demo_chosen)
        self.demo_list.setMaximumHeight(130)
        demo_layout.addWidget(self.demo_list)
        self.demo_frame.setVisible(False)

        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.setSpacing(14)
        column_layout.addWidget(frame)
        column_layout.addWidget(self.demo_frame)
        self.setLayout(_centered(column))
        self.set_mode(OPENING)

    def set_subtitle(self, desk: str, mpp: str) -> None:
        self.subtitle.setText(plain("login.subtitle", desk=desk, mpp=mpp))

    def set_mode(self, mode: str, message: str = "") -> None:
        """Show the page in ``mode`` with an empty form: after a sign-out the next officer
        must not find the previous one's name typed (nor any password)."""
        self.mode = mode
        for edit in (self.username, self.full_name, self.password, self.repeat):
            edit.clear()
        setup = mode == SETUP
        self.heading.setText(plain("setup.heading" if setup else "login.heading"))
        self.explain.setVisible(setup)
        for _key, edit in (("setup.full_name", self.full_name), ("setup.repeat", self.repeat)):
            self.form.setRowVisible(edit, setup)
        self.submit.setText(tr("setup.submit" if setup else "login.submit"))
        ready = mode in (LOGIN, SETUP)
        for edit in (self.username, self.full_name, self.password, self.repeat):
            edit.setEnabled(ready)
        self.submit.setEnabled(ready)
        if mode == OPENING:
            self.show_message(tr("app.opening"), kind="banner")
        elif message:
            self.show_message(message)
        else:
            self.show_message("")
        if ready:
            self.username.setFocus()

    def show_message(self, text: str, kind: str = "bannerError") -> None:
        self.message.setObjectName(kind)
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def set_busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)
        if busy:
            self.show_message(tr("login.checking"), kind="banner")

    def set_demo_accounts(self, accounts: list[tuple[str, str, str, str]]) -> None:
        from PySide6.QtCore import Qt

        self.demo_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.demo_list.clear()
        for username, role, password, full_name in accounts:
            role_text = plain(f"login.role.{role}") if has(f"login.role.{role}") else role
            item = QListWidgetItem(f"{username}  /  {password}   — {role_text}")
            item.setToolTip(full_name)
            item.setData(_USER_ROLE, (username, password))
            self.demo_list.addItem(item)
        self.demo_frame.setVisible(bool(accounts))

    def _demo_chosen(self, item: QListWidgetItem) -> None:
        username, password = item.data(_USER_ROLE)
        self.username.setText(username)
        self.password.setText(password)
        self.submit.setFocus()

    def _submit(self) -> None:
        if not self.submit.isEnabled():
            return
        username = self.username.text().strip()
        password = self.password.text()
        if not username or not password:
            self.show_message(tr("login.empty"))
            return
        if self.mode == SETUP:
            if password != self.repeat.text():
                self.show_message(tr("setup.mismatch"))
                self.repeat.setFocus()
                return
            self.setup_requested.emit(username, self.full_name.text().strip(), password)
        else:
            self.login_requested.emit(username, password)

    def clear_password(self) -> None:
        self.password.clear()
        self.repeat.clear()
        self.password.setFocus()


class LockPage(QWidget):
    unlock_requested = Signal(str)
    switch_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lockPage")
        frame, layout = _card()
        heading = QLabel(plain("lock.heading"))
        heading.setObjectName("heading")
        layout.addWidget(heading)
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        layout.addWidget(self.explain)
        form = QFormLayout()
        self.password = QLineEdit()
        self.password.setObjectName("unlockPassword")
        self.password.setAccessibleName(plain("login.password"))
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        label = QLabel(tr("login.password"))
        label.setBuddy(self.password)
        form.addRow(label, self.password)
        layout.addLayout(form)
        self.message = QLabel()
        self.message.setObjectName("bannerError")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.unlock = QPushButton(tr("lock.unlock"))
        self.unlock.setObjectName("primary")
        self.unlock.setDefault(True)
        self.switch = QPushButton(tr("lock.switch"))
        self.switch.setObjectName("switchUser")
        buttons.addWidget(self.unlock)
        buttons.addWidget(self.switch)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.unlock.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.switch.clicked.connect(self.switch_requested.emit)
        self.setLayout(_centered(frame))

    def prepare(self, user: str, idle: bool, minutes: int | None = None) -> None:
        if not idle:
            text = tr("lock.explain_manual", user=user)
        elif minutes:
            text = tr("lock.explain", minutes=minutes, user=user)
        else:
            text = tr("lock.explain_idle", user=user)
        self.explain.setText(text)
        self.password.clear()
        self.message.setVisible(False)
        self.unlock.setEnabled(True)
        self.password.setFocus()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.unlock.setEnabled(True)
        self.password.clear()
        self.password.setFocus()

    def _submit(self) -> None:
        if self.unlock.isEnabled() and self.password.text():
            self.unlock.setEnabled(False)
            self.unlock_requested.emit(self.password.text())
