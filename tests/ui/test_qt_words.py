"""Qt's own dialogs speak the desk's language (issue 12): PySide6 ships no Indonesian
``qtbase_id.qm``, so the desk's translator answers from the message catalog."""

from __future__ import annotations

import os

from PySide6.QtCore import QCoreApplication, QLibraryInfo
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from mppdesk.ui import i18n
from mppdesk.ui.qt_words import QT_WORDS
from mppdesk.ui.theme import apply_theme


def test_pyside_ships_no_indonesian_qt_translation():
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    shipped = os.listdir(folder)
    assert "qtbase_de.qm" in shipped  # the folder is Qt's, with its translations
    assert not any(name.startswith("qtbase_id") for name in shipped)


def test_standard_buttons_and_the_print_error_in_indonesian_and_english(qtbot):
    apply_theme(QApplication.instance())
    i18n.set_language("id")
    try:
        box = QMessageBox(QMessageBox.Icon.Question, "t", "?")
        qtbot.addWidget(box)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        texts = {b.text() for b in box.buttons()}
        assert texts == {"&Ya", "&Tidak"}
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(buttons)
        assert buttons.buttons()[0].text() == "Batal"
        directory = QCoreApplication.translate(
            "QPrintDialog", "%1 is a directory.\nPlease choose a different file name."
        )
        assert directory.startswith("%1 adalah folder")

        i18n.set_language("en")  # follows the switch: English is Qt's own text
        english = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        qtbot.addWidget(english)
        assert english.buttons()[0].text() == "Cancel"
    finally:
        i18n.set_language("id")


def test_every_qt_word_has_both_languages():
    from mppdesk.core import messages

    for code in set(QT_WORDS.values()):
        assert messages.has(code), code
        assert messages.text(code, "en") != code
