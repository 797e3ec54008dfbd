"""The visit summary: every service with fee, due date and missing files, and what blocks.

What blocks, what is doubted and which files are missing are the visit plan's
(``mppdesk.forms.plan``): the summary says what finalize will say.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.masking import mask_nik
from mppdesk.forms.catalog import Catalog
from mppdesk.forms.visit_check import Issue
from mppdesk.ui.i18n import format_rupiah, plain, text_of, tr
from mppdesk.ui.service_page import card, scrolling
from mppdesk.ui.visit_state import VisitCheck, VisitState

PATH_ROLE = Qt.ItemDataRole.UserRole


class SummaryPage(QWidget):
    """``open_entry(step, path)`` asks the visit page to show one field."""

    open_entry = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("summary")
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 4, 0)
        column.setSpacing(12)
        main_card, layout = card()
        heading = QLabel(plain("visit.summary_heading"))
        heading.setObjectName("heading")
        layout.addWidget(heading)
        self.people = QLabel()
        self.people.setWordWrap(True)
        self.people.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.people)
        self.table = QGridLayout()
        self.table.setHorizontalSpacing(18)
        self.table.setVerticalSpacing(8)
        layout.addLayout(self.table)
        self.total = QLabel()
        self.total.setObjectName("subheading")
        layout.addWidget(self.total)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.errors_heading = QLabel(tr("visit.errors_heading"))
        self.errors_heading.setObjectName("muted")
        layout.addWidget(self.errors_heading)
        self.errors = QListWidget()
        self.errors.setObjectName("summaryErrors")
        self.errors.setAccessibleName(tr("visit.errors_heading"))
        self.errors.itemActivated.connect(self._activated)
        layout.addWidget(self.errors)
        # No mnemonic here: the footer's "&Selesaikan" owns Alt+S.
        self.finalize_button = QPushButton(plain("visit.finalize") + "   Ctrl+Enter")
        self.finalize_button.setObjectName("primary")
        self.finalize_button.setMinimumHeight(38)
        layout.addWidget(self.finalize_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(main_card)
        column.addStretch(1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolling(body))
        self._cells: list[QWidget] = []

    def _activated(self, item: QListWidgetItem) -> None:
        step, path = item.data(PATH_ROLE)
        self.open_entry.emit(step, path)

    def update_summary(
        self, catalog: Catalog, state: VisitState, check: VisitCheck, dues: list[str]
    ) -> None:
        applicant = state.applicant
        nik = str(applicant.get("nik") or "")
        ticket = (
            tr("visit.summary_ticket", ticket=state.ticket)
            if state.ticket
            else tr("visit.summary_no_ticket")
        )
        lines = [
            ticket,
            f"{plain('visit.summary_applicant')}: {applicant.get('nama') or '—'}"
            + (f"  ·  NIK {mask_nik(nik)}" if len(nik) == 16 else ""),
        ]
        if state.proxy is not None:
            lines.append(
                f"{plain('visit.summary_proxy')}: {state.proxy.get('nama') or '—'}"
                + (f" ({state.proxy.get('hubungan')})" if state.proxy.get("hubungan") else "")
            )
        self.people.setText("\n".join(lines))

        for widget in self._cells:
            self.table.removeWidget(widget)
            widget.hide()  # gone now, not at the next turn of the loop
            widget.deleteLater()
        self._cells = []

        def cell(text: str, row: int, col: int, name: str = "") -> None:
            label = QLabel(text)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            if name:
                label.setObjectName(name)
            self.table.addWidget(label, row, col, Qt.AlignmentFlag.AlignTop)
            self._cells.append(label)

        if not state.services:
            cell(tr("visit.no_services"), 0, 0, "muted")
        else:
            for col, key in enumerate(
                ("visit.summary_service", "visit.fee", "visit.sla_due", "visit.summary_missing")
            ):
                cell(plain(key), 0, col, "muted")
        total = 0
        assessed = False
        for index, (entry, result) in enumerate(zip(state.services, check.services, strict=True)):
            service = catalog.service(entry.code)
            agency = catalog.agencies.get(service.agency)
            short = agency.short_name if agency else service.agency
            labels = {r.id: r.label for r in service.requirements}
            missing = [text_of(labels[r]) for r in check.missing(index)]
            cell(f"{index + 1}. {short} · {text_of(service.name)}", index + 1, 0)
            cell(format_rupiah(result.fee), index + 1, 1)
            cell(dues[index] if index < len(dues) else "", index + 1, 2)
            cell(
                "\n".join(f"• {m}" for m in missing)
                if missing
                else plain("visit.summary_complete"),
                index + 1,
                3,
                "warning" if missing else "",
            )
            if result.fee is None:
                assessed = True
            else:
                total += result.fee
        total_text = format_rupiah(total) if total else plain("visit.fee_free")
        if assessed:
            total_text += f" + {tr('visit.fee_assessed')}"
        self.total.setText(f"{plain('visit.summary_total')}: {total_text}")
        self.total.setVisible(bool(state.services))

        self.errors.clear()
        items = self._issue_lines(catalog, state, check, check.plan.errors)
        has_errors = bool(items)
        if not has_errors:  # what the engine doubts is stored anyway: the officer sees it here
            items = [
                (step, path, f"⚠ {line}")
                for step, path, line in self._issue_lines(
                    catalog, state, check, check.plan.warnings
                )
            ]
        for step, path, message in items:
            item = QListWidgetItem(message)
            item.setData(PATH_ROLE, (step, path))
            self.errors.addItem(item)
        self.errors.setVisible(bool(items))
        self.errors_heading.setVisible(has_errors)
        self.errors.setMaximumHeight(min(240, 28 * max(1, len(items)) + 8))
        if not state.services:
            self.verdict.setObjectName("bannerWarning")
            self.verdict.setText(tr("visit.finalize_no_service"))
        elif has_errors:
            self.verdict.setObjectName("bannerError")
            self.verdict.setText(tr("visit.summary_errors", count=check.error_count))
        else:
            self.verdict.setObjectName("bannerOk")
            text = tr("visit.summary_ok")
            if check.warning_count:
                text += " · " + tr("visit.summary_warnings", count=check.warning_count)
            self.verdict.setText(text)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)
        self.finalize_button.setEnabled(bool(state.services) and not has_errors)

    @staticmethod
    def _issue_lines(
        catalog: Catalog, state: VisitState, check: VisitCheck, issues: Sequence[Issue]
    ) -> list[tuple[int, str, str]]:
        """(step, path, line) for each of the plan's issues, applicant and proxy first."""
        lines = []
        for step, path, issue in check.issues_by_step(issues):
            if step == 0 and path.startswith("proxy."):
                message = (
                    tr("visit.proxy.required")
                    if issue.code == "visit.proxy_name_required"
                    else text_of(issue)
                )
                lines.append((0, path, f"{plain('visit.summary_proxy')}: {message}"))
            elif step == 0:
                lines.append((0, path, f"{plain('visit.step.applicant')}: {text_of(issue)}"))
            else:
                service = catalog.services.get(state.services[step - 1].code)
                name = text_of(service.name) if service else state.services[step - 1].code
                lines.append((step, path, f"{name}: {text_of(issue)}"))
        return lines

    def focus_stops(self) -> list[QWidget]:
        return [self.errors, self.finalize_button]
