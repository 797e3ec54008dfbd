"""Adding a service to the visit: one search box over every agency's services.

Typing filters at once (the search is pure, over the catalog and a usage snapshot); the
arrow keys move through the results without leaving the box; Enter adds the highlighted
service; Esc closes. Recent and popular services come first, so the common case is F4,
Enter.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mppdesk.desk.counter import ServiceUsage, search_services
from mppdesk.forms.catalog import Catalog
from mppdesk.ui.i18n import language, plain, tr

CODE_ROLE = Qt.ItemDataRole.UserRole


class ServiceSearchDialog(QDialog):
    chosen = Signal(str)

    def __init__(
        self,
        catalog: Catalog,
        usage: ServiceUsage | None,
        already: list[str],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("serviceSearch")
        self.setWindowTitle(plain("search.title"))
        self.catalog = catalog
        self.usage = usage
        self.already = set(already)
        self.resize(720, 460)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self.query = QLineEdit()
        self.query.setObjectName("serviceQuery")
        self.query.setAccessibleName(plain("search.title"))
        self.query.setPlaceholderText(tr("search.placeholder"))
        self.query.setClearButtonEnabled(True)
        layout.addWidget(self.query)
        self.results = QListWidget()
        self.results.setObjectName("serviceResults")
        self.results.setAccessibleName(plain("search.title"))
        self.results.setUniformItemSizes(True)
        self.results.setAlternatingRowColors(True)
        layout.addWidget(self.results, 1)
        self.empty = QLabel(tr("search.none"))
        self.empty.setObjectName("muted")
        self.empty.setVisible(False)
        layout.addWidget(self.empty)
        hint = QLabel(tr("search.hint"))
        hint.setObjectName("muted")
        layout.addWidget(hint)
        self.query.textChanged.connect(self.refresh)
        self.query.installEventFilter(self)
        self.results.itemActivated.connect(self._activate)
        self.refresh()

    def refresh(self) -> None:
        hits = search_services(self.catalog, self.query.text(), self.usage, lang=language())
        self.results.clear()
        for hit in hits:
            extra = []
            if hit.code in self.already:
                extra.append(tr("search.already"))
            if hit.recent:
                extra.append(tr("search.recent"))
            elif hit.uses:
                extra.append(tr("search.popular", count=hit.uses))
            text = f"{hit.agency_short} · {hit.name}"
            if extra:
                text += f"    ({', '.join(extra)})"
            item = QListWidgetItem(text)
            item.setData(CODE_ROLE, hit.code)
            item.setToolTip(hit.agency_name)
            self.results.addItem(item)
        self.empty.setVisible(not hits)
        if hits:
            self.results.setCurrentRow(0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.query and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                row = self.results.currentRow()
                step = {
                    Qt.Key.Key_Down: 1,
                    Qt.Key.Key_Up: -1,
                    Qt.Key.Key_PageDown: 8,
                    Qt.Key.Key_PageUp: -8,
                }[key]
                count = self.results.count()
                if count:
                    self.results.setCurrentRow(max(0, min(count - 1, row + step)))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.results.currentItem()
                if item is not None:
                    self._activate(item)
                return True
        return super().eventFilter(watched, event)

    def _activate(self, item: QListWidgetItem) -> None:
        code = item.data(CODE_ROLE)
        if code:
            self.accept()  # first, so the focus the visit page then sets is not taken back
            self.chosen.emit(code)
