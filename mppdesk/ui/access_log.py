"""The access log screen: who saw this person's data (supervisors and admins).

Three optional questions — a person (NIK, passport or KITAS/KITAP number), an officer, a
day — and the audited look-ups, searches and opened details that answer them, newest first.
The person is found by keyed hash (``mppdesk.store.access_log``): the table never shows an
identity number, and the reading of the log is itself audited. Keyboard first: the person
field has the focus, Enter searches, Tab leaves the table.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import Runtime
from mppdesk.ui.i18n import error_text, has, plain, tr
from mppdesk.ui.tasks import TaskRunner

COLUMNS = (
    "audit.col.at",
    "audit.col.user",
    "audit.col.action",
    "audit.col.object",
    "audit.col.desk",
    "audit.col.people",
)


def action_words(row: dict[str, Any]) -> str:
    """What happened, in words: "Mencari permohonan (nama)"; an unknown action as its code."""
    action = row["action"]
    if action == "submissions.searched" and row.get("kind"):
        return plain("audit.action.submissions.searched_kind", kind=plain(f"audit.kind.{row['kind']}"))
    code = f"audit.action.{action}"
    return plain(code) if has(code) else action


def object_words(row: dict[str, Any]) -> str:
    """What was opened: a tracking number, "data pemohon", a search; never an identity number."""
    if row.get("tracking"):
        return row["tracking"]
    kind = row.get("object_type") or ""
    code = f"audit.object.{kind}"
    if has(code):
        return plain(code)
    return f"{kind}:{row.get('object_id', '')}" if kind else ""


class AccessLogPage(QWidget):
    """Asks ``desk.audit.access_log_rows`` off the GUI thread and lists the answer."""

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.runtime, self.actor, self.tasks = runtime, actor, tasks
        self.rows: list[dict[str, Any]] = []
        self.setObjectName("accessLogPage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        heading = QLabel(plain("audit.title"))
        heading.setObjectName("heading")
        layout.addWidget(heading)
        explain = QLabel(tr("audit.explain"))
        explain.setObjectName("muted")
        explain.setWordWrap(True)
        layout.addWidget(explain)

        form = QFormLayout()
        row = QHBoxLayout()
        self.subject = QLineEdit()
        self.subject.setObjectName("accessSubject")
        self.subject.setMaxLength(40)
        self.subject.setPlaceholderText(plain("audit.subject_hint"))
        self.user = QLineEdit()
        self.user.setObjectName("accessUser")
        self.user.setMaxLength(64)
        self.day = QLineEdit()
        self.day.setObjectName("accessDay")
        self.day.setMaxLength(10)
        self.day.setPlaceholderText(plain("audit.day_hint"))
        self.search = QPushButton(tr("audit.search"))
        self.search.setObjectName("primary")
        self.search.setAutoDefault(False)
        for key, edit in (
            ("audit.subject", self.subject),
            ("audit.user", self.user),
            ("audit.day", self.day),
        ):
            label = QLabel(tr(key))
            label.setBuddy(edit)
            # The label keeps its width (the theme's font is known only when shown).
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
            label.setContentsMargins(0, 0, 4, 0)  # the last letter's overhang stays visible
            edit.setAccessibleName(plain(key))
            edit.returnPressed.connect(self.run_query)
            row.addWidget(label)
            row.addWidget(edit, 2 if edit is self.subject else 1)
        row.addWidget(self.search)
        form.addRow(row)
        layout.addLayout(form)
        self.search.clicked.connect(self.run_query)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("accessTable")
        self.table.setAccessibleName(plain("audit.title"))
        self.table.setHorizontalHeaderLabels([plain(c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.status = QLabel()
        self.status.setObjectName("accessStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.setFocusProxy(self.subject)
        self.run_query()  # today's and recent access, before anything is typed

    def run_query(self) -> None:
        from mppdesk.desk.audit import AccessQuery, access_log_rows, read_day

        try:
            day = read_day(self.day.text())
        except DeskError as error:
            self._failed(error)
            return
        query = AccessQuery(
            subject=self.subject.text().strip() or None,
            user=self.user.text().strip() or None,
            day=day,
        )
        self.search.setEnabled(False)
        self.status.setObjectName("accessStatus")
        self.status.setText(tr("audit.searching"))
        runtime, actor = self.runtime, self.actor
        self.tasks.run(lambda: access_log_rows(runtime, actor, query), self._arrived, self._failed)

    def _arrived(self, rows: list[dict[str, Any]]) -> None:
        self.search.setEnabled(True)
        self.rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            when = row["at"][:16].replace("T", " ")
            user = f"{row['user_name']} ({row['user']})" if row["user_name"] else row["user"]
            cells = (
                when,
                user,
                action_words(row),
                object_words(row),
                row["desk"],
                str(row["people"]) if row["people"] else "",
            )
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if column == 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(index, column, item)
        self.status.setText(tr("audit.count", count=len(rows)))

    def _failed(self, error: BaseException) -> None:
        self.search.setEnabled(True)
        self.status.setText(error_text(error) if isinstance(error, DeskError) else str(error))
