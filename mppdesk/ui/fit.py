"""Does a screen fit? Widgets whose text is cut at the window's size, for tests and shots.

A label or button narrower than the text it wants, or a widget reaching past the window's
right or bottom edge, shows cut text at 1366×768 (the counter PCs' common screen). Labels
that wrap, and widgets inside a scroll area (they scroll instead), are judged by width only.
"""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QLabel, QWidget


def _in_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def cut_widgets(window: QWidget) -> list[str]:
    """Visible labels and buttons of ``window`` whose text does not fit, described."""
    problems: list[str] = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(widget, QLabel | QAbstractButton):
            continue
        text = widget.text()
        if not text.strip():
            continue
        name = f"{type(widget).__name__}({widget.objectName() or text[:30]!r})"
        wraps = isinstance(widget, QLabel) and widget.wordWrap()
        if not wraps and widget.width() + 1 < widget.sizeHint().width():
            problems.append(
                f"{name} is {widget.width()} px wide, needs {widget.sizeHint().width()}"
            )
            continue
        if _in_scroll_area(widget):
            continue
        corner = widget.mapTo(window, widget.rect().bottomRight())
        if corner.x() > window.width() + 1 or corner.y() > window.height() + 1:
            problems.append(f"{name} reaches past the window ({corner.x()}, {corner.y()})")
    return problems
