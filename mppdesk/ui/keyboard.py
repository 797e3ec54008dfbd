"""Keyboard rules every screen keeps: tables hand Tab back, and Alt+letter is unambiguous.

A table (``QAbstractItemView``) keeps Tab for moving between its cells by default, so an
officer who tabbed into the dashboard's table could only leave it with an F-key or the mouse;
``give_tab_back`` turns that off for every view under a page (the arrow keys still move in
it). ``mnemonic_clashes`` finds two controls on one screen that answer the same Alt+letter
(a button's "&Kembalikan" against the menu bar's "&Kunjungan": Qt then cycles between them
instead of pressing the button); a test walks every screen with it.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QGroupBox,
    QLabel,
    QMainWindow,
    QWidget,
)


def give_tab_back(root: QWidget) -> None:
    """Tab leaves every table and list under ``root`` instead of walking its cells."""
    for view in root.findChildren(QAbstractItemView):
        view.setTabKeyNavigation(False)


def mnemonic(text: str) -> str | None:
    """The Alt+letter a text with an "&" marker answers to ("&&" is a literal "&")."""
    index = 0
    while True:
        index = text.find("&", index)
        if index < 0 or index + 1 >= len(text):
            return None
        if text[index + 1] == "&":
            index += 2
            continue
        return text[index + 1].casefold()


def mnemonic_clashes(window: QMainWindow, page: QWidget) -> dict[str, list[str]]:
    """Alt+letters that more than one visible control of ``page`` (or the menu bar) uses."""
    users: dict[str, list[str]] = {}

    def add(text: str) -> None:
        letter = mnemonic(text)
        if letter is not None:
            users.setdefault(letter, []).append(text)

    for action in window.menuBar().actions():
        if action.isVisible():
            add(action.text())
    for widget in page.findChildren(QWidget):
        if not widget.isVisibleTo(page) or not widget.isEnabled():
            continue
        if isinstance(widget, QAbstractButton):
            add(widget.text())
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text())
        elif isinstance(widget, QGroupBox) and widget.isCheckable():
            add(widget.title())
    return {letter: texts for letter, texts in users.items() if len(texts) > 1}
