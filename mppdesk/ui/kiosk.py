"""Kios antrean: a touch screen at the entrance where a citizen takes a queue number.

Large buttons, Bahasa Indonesia first: a row of priority categories (lansia, disabilitas, ibu
hamil, membawa balita — from ``resources/queue/priorities.yaml``; "tanpa prioritas" chosen by
default and again after every ticket), then one button per service group. The number taken is
shown large with how many people are ahead, and the slip is printed on the settings' receipt
printer when one is named. Nothing personal is asked or stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk import tickets
from mppdesk.desk.auth import Actor
from mppdesk.desk.counter import service_groups, ticket_prefix
from mppdesk.desk.runtime import Runtime
from mppdesk.forms.priorities import shipped_priorities
from mppdesk.ui.i18n import error_text, language, plain, tr
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

_STYLE = """
#kioskPage { background: #f4f7fb; }
#kioskTitle { font-size: 26pt; font-weight: 700; color: #0b2545; }
#kioskIntro { font-size: 13pt; color: #33415c; }
QPushButton[kiosk="priority"] { font-size: 14pt; padding: 10px 14px; border-radius: 10px;
  border: 2px solid #8da9c4; background: white; color: #0b2545; }
QPushButton[kiosk="priority"]:checked { background: #f4d35e; border-color: #b08900; }
QPushButton[kiosk="group"] { font-size: 17pt; font-weight: 700; padding: 14px; border-radius: 12px;
  background: #13315c; color: white; min-height: 64px; }
QPushButton[kiosk="group"]:disabled { background: #8da9c4; }
#kioskNumber { font-size: 64pt; font-weight: 700; color: #0b2545; }
#kioskAhead { font-size: 16pt; color: #33415c; }
#kioskResult { background: white; border: 2px solid #8da9c4; border-radius: 14px; }
"""


@dataclass(frozen=True)
class TakenTicket:
    ticket: tickets.QueueTicket
    printed: bool | None  # None: no printer named
    print_error: str = ""


class KioskPage(QWidget):
    """``KioskPage(runtime, actor, tasks, parent)``: a page of the window (Antrean → Kios)."""

    taken = Signal(object)  # TakenTicket
    failed = Signal(str)

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("kioskPage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(_STYLE)
        self.runtime, self.actor, self.tasks = runtime, actor, tasks
        root = QVBoxLayout(self)
        root.setContentsMargins(28, 20, 28, 20)
        root.setSpacing(14)
        title = QLabel(plain("tickets.kiosk_title"))
        title.setObjectName("kioskTitle")
        root.addWidget(title)
        intro = QLabel(plain("tickets.kiosk_intro"))
        intro.setObjectName("kioskIntro")
        intro.setWordWrap(True)
        root.addWidget(intro)

        row = QHBoxLayout()
        row.setSpacing(10)
        self.priority_group = QButtonGroup(self)
        self.priority_group.setExclusive(True)
        self.priority_buttons: dict[str | None, QPushButton] = {}
        lang = language()
        for code, name in [(None, plain("tickets.kiosk_no_priority"))] + [
            (p.code, p.name(lang)) for p in shipped_priorities()
        ]:
            button = QPushButton(name)
            button.setCheckable(True)
            button.setProperty("kiosk", "priority")
            button.setObjectName(f"priority-{code or 'none'}")
            self.priority_group.addButton(button)
            self.priority_buttons[code] = button
            row.addWidget(button)
        row.addStretch(1)
        self.priority_buttons[None].setChecked(True)
        root.addLayout(row)

        grid = QGridLayout()
        grid.setSpacing(12)
        self.group_buttons: dict[str, QPushButton] = {}
        for index, group in enumerate(service_groups(runtime.catalog)):
            letter = ticket_prefix(runtime.catalog, group)
            button = QPushButton(f"{letter} · {tickets.group_name(runtime, group)}")
            button.setProperty("kiosk", "group")
            button.setObjectName(f"group-{group}")
            button.clicked.connect(lambda _checked=False, g=group: self.take(g))
            self.group_buttons[group] = button
            grid.addWidget(button, index // 4, index % 4)
        root.addLayout(grid)

        self.result = QWidget()
        self.result.setObjectName("kioskResult")
        self.result.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        box = QVBoxLayout(self.result)
        self.number_label = QLabel("")
        self.number_label.setObjectName("kioskNumber")
        self.number_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ahead_label = QLabel("")
        self.ahead_label.setObjectName("kioskAhead")
        self.ahead_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.ahead_label.setWordWrap(True)
        box.addWidget(self.number_label)
        box.addWidget(self.ahead_label)
        self.result.setVisible(False)
        root.addWidget(self.result)
        root.addStretch(1)

    def chosen_priority(self) -> str | None:
        for code, button in self.priority_buttons.items():
            if button.isChecked():
                return code
        return None

    def _enable(self, enabled: bool) -> None:
        for button in self.group_buttons.values():
            button.setEnabled(enabled)

    def take(self, group: str) -> None:
        """Take a ticket for ``group`` with the chosen priority, off the GUI thread."""
        priority = self.chosen_priority()
        runtime, lang = self.runtime, language()
        self._enable(False)

        def work() -> TakenTicket:
            ticket = tickets.take(runtime, group, priority)
            try:
                printed = tickets.print_slip(runtime, ticket, lang)
            except Exception as exc:  # noqa: BLE001 - the number is issued; say the slip failed
                log.warning("ticket slip not printed: %s", type(exc).__name__)
                return TakenTicket(ticket, False, error_text(exc)[:200])
            return TakenTicket(ticket, True if printed else None)

        self.tasks.run(work, self._taken, self._failed)

    def _taken(self, taken: TakenTicket) -> None:
        ticket = taken.ticket
        self._enable(True)
        self.priority_buttons[None].setChecked(True)  # the next person starts without one
        self.number_label.setText(ticket.number)
        ahead = tr(
            "tickets.kiosk_ahead",
            n=ticket.ahead or 0,
            group=tickets.group_name(self.runtime, ticket.label),
        )
        if ticket.priority:
            ahead += " · " + (tickets.priority_name(ticket.priority, language()) or "")
        if taken.printed is False:
            ahead += "\n" + tr("tickets.kiosk_print_failed", reason=taken.print_error)
        self.ahead_label.setText(ahead)
        self.result.setVisible(True)
        self.taken.emit(taken)

    def _failed(self, error: BaseException) -> None:
        self._enable(True)
        message = tr("tickets.kiosk_failed", reason=error_text(error))
        self.number_label.setText("")
        self.ahead_label.setText(message)
        self.result.setVisible(True)
        self.failed.emit(message)
