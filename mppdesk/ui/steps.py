"""The visit's step list: each step's name (wrapped, never cut), its shortcut and its state."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import (
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from mppdesk.ui import theme
from mppdesk.ui.i18n import tr

TITLE = Qt.ItemDataRole.UserRole
SHORTCUT = Qt.ItemDataRole.UserRole + 1
OPEN_COUNT = Qt.ItemDataRole.UserRole + 2  # entries still to fix; None: not counted
_PAD = 10


def _state_text(count: int | None) -> str:
    if count is None:
        return ""
    if count == 0:
        return tr("steps.complete")
    return tr("steps.to_fix", count=count)


class StepDelegate(QStyledItemDelegate):
    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        title.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(max(8.0, option.font.pointSizeF() - 1.5))
        return title, small

    def sizeHint(  # noqa: N802 - Qt API
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        title_font, small_font = self._fonts(option)
        width = max(60, option.rect.width() - 2 * _PAD) if option.rect.width() > 0 else 200
        title = QFontMetrics(title_font).boundingRect(
            QRect(0, 0, width, 1000), Qt.TextFlag.TextWordWrap, index.data(TITLE) or ""
        )
        return QSize(width, title.height() + QFontMetrics(small_font).height() + 2 * _PAD + 4)

    def paint(  # noqa: D102
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        rect = option.rect.adjusted(2, 2, -2, -2)
        if selected:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.ACCENT))
            painter.drawRoundedRect(rect, 4, 4)
        title_font, small_font = self._fonts(option)
        inner = rect.adjusted(_PAD, _PAD - 2, -_PAD, -_PAD + 2)
        painter.setFont(title_font)
        painter.setPen(QColor("white" if selected else theme.INK))
        title_rect = QFontMetrics(title_font).boundingRect(
            QRect(0, 0, inner.width(), 1000), Qt.TextFlag.TextWordWrap, index.data(TITLE) or ""
        )
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width(), title_rect.height()),
            int(Qt.TextFlag.TextWordWrap),
            index.data(TITLE) or "",
        )
        painter.setFont(small_font)
        line_top = inner.top() + title_rect.height() + 2
        line = QRect(inner.left(), line_top, inner.width(), QFontMetrics(small_font).height())
        painter.setPen(QColor("#dbe7f5" if selected else theme.INK_SOFT))
        painter.drawText(line, int(Qt.AlignmentFlag.AlignLeft), index.data(SHORTCUT) or "")
        count = index.data(OPEN_COUNT)
        if count is not None:
            color = theme.OK if count == 0 else theme.ERROR
            painter.setPen(QColor("white" if selected else color))
            painter.drawText(line, int(Qt.AlignmentFlag.AlignRight), _state_text(count))
        painter.restore()


class StepList(QListWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("steps")
        self.setItemDelegate(StepDelegate(self))
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setUniformItemSizes(False)
        self.setSpacing(1)

    def set_steps(self, steps: list[tuple[str, str]]) -> None:
        """(title, shortcut) per step; keeps the current row where it can."""
        current = self.currentRow()
        self.blockSignals(True)
        self.clear()
        for title, shortcut in steps:
            item = QListWidgetItem(title)
            item.setData(TITLE, title)
            item.setData(SHORTCUT, shortcut)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{title} ({shortcut})")
            self.addItem(item)
        self.blockSignals(False)
        if 0 <= current < self.count():
            self.setCurrentRow(current)

    def set_counts(self, counts: list[int | None]) -> None:
        for row in range(self.count()):
            item = self.item(row)
            count = counts[row] if row < len(counts) else None
            if item.data(OPEN_COUNT) != count:
                item.setData(OPEN_COUNT, count)
