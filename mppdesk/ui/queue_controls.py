"""The counter's queue controls beside "panggil berikutnya": "tidak hadir" (no-show), and the
ticket's "served" step.

A ticket called and nobody came: the officer marks it a no-show (its wait is counted, it gets
no service time) and calls the next one. When the person came (their NIK is looked up at the
counter), the ticket is stamped served and can no longer be a no-show. Kept here so the visit
page only places the button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QPushButton

from mppdesk.desk import tickets
from mppdesk.ui.i18n import tr

if TYPE_CHECKING:
    from mppdesk.ui.visit import VisitPage


class NoShowButton(QPushButton):
    """Enabled while the ticket this page called is in the ticket field. Its slots are its
    own methods, so Qt drops the connections when the page (and the button) go away."""

    def __init__(self, page: VisitPage):
        super().__init__(tr("tickets.no_show"))
        self.setObjectName("noShow")
        self.setEnabled(False)
        self.page = page
        self.clicked.connect(self.mark)
        page.ticket_called.connect(self.refresh)
        page.ticket_edit.textChanged.connect(self.refresh)
        page.looked_up.connect(self.served)
        self._served = ""  # the ticket stamped served on this page

    def refresh(self, *_args: object) -> None:
        page = self.page
        number = page._taken_ticket
        self.setEnabled(
            bool(number) and page.ticket_edit.text() == number and self._served != number
        )

    def served(self, *_args: object) -> None:
        """The person is at the counter: stamp the called ticket served (once)."""
        page = self.page
        number = page._taken_ticket
        if not number or self._served == number or page.ticket_edit.text() != number:
            return
        self._served = number
        self.refresh()
        runtime, actor = page.runtime, page.actor
        page.tasks.run(lambda: tickets.mark_served(runtime, actor, number), None, None)

    def mark(self) -> None:
        page = self.page
        number = page._taken_ticket
        if not number:
            return
        self.setEnabled(False)
        runtime, actor = page.runtime, page.actor
        page.tasks.run(
            lambda: tickets.step(runtime, actor, number, "no_show"), self._marked, self._failed
        )

    def _marked(self, ticket: tickets.QueueTicket) -> None:
        from mppdesk.ui.visit import _set_banner

        page = self.page
        page._taken_ticket = ""
        page.ticket_edit.clear()
        page.state.ticket = ""
        page.state.ticket_at = None
        page.changed()
        _set_banner(page.banner, "banner", tr("tickets.no_show_done", number=ticket.number))
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.refresh()
        self.page._error_banner(error)


def add_no_show_button(page: VisitPage, row: QHBoxLayout) -> QPushButton:
    """Place the no-show button in ``row`` (``page.no_show_button``)."""
    button = NoShowButton(page)
    page.no_show_button = button
    row.addWidget(button)
    return button
