"""Qt's own words (standard buttons, message and file dialogs, the print dialog, a line
edit's context menu) in the desk's language.

Qt translates its dialogs through ``QTranslator`` and ships ``qtbase_<lang>.qm`` files with
PySide6 (``QLibraryInfo.TranslationsPath``): about forty languages, not Indonesian. So the
desk installs, once, a translator that first asks Qt's shipped file for the current
language (any that ever ships one) and otherwise answers from the message catalog
(``counter.qt.*``) for the strings a counter officer meets. It follows
``i18n.language()`` at each look-up, so a dialog opened after a language switch speaks the
new language; in English it leaves Qt's own (English) words alone.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

from mppdesk.core import messages
from mppdesk.ui import i18n

log = logging.getLogger(__name__)

# (Qt context, Qt's source text) -> the catalog code of its words. Qt's mnemonic markers
# ("&") stay in the words; "%1" slots are Qt's and pass through untouched.
QT_WORDS: dict[tuple[str, str], str] = {
    ("QPlatformTheme", "OK"): "counter.qt.ok",
    ("QPlatformTheme", "Save"): "counter.qt.save",
    ("QPlatformTheme", "Save All"): "counter.qt.save_all",
    ("QPlatformTheme", "Open"): "counter.qt.open",
    ("QPlatformTheme", "&Yes"): "counter.qt.yes",
    ("QPlatformTheme", "Yes to &All"): "counter.qt.yes_all",
    ("QPlatformTheme", "&No"): "counter.qt.no",
    ("QPlatformTheme", "N&o to All"): "counter.qt.no_all",
    ("QPlatformTheme", "Abort"): "counter.qt.abort",
    ("QPlatformTheme", "Retry"): "counter.qt.retry",
    ("QPlatformTheme", "Ignore"): "counter.qt.ignore",
    ("QPlatformTheme", "Close"): "counter.qt.close",
    ("QPlatformTheme", "Cancel"): "counter.qt.cancel",
    ("QPlatformTheme", "Discard"): "counter.qt.discard",
    ("QPlatformTheme", "Help"): "counter.qt.help",
    ("QPlatformTheme", "Apply"): "counter.qt.apply",
    ("QPlatformTheme", "Reset"): "counter.qt.reset",
    ("QPlatformTheme", "Restore Defaults"): "counter.qt.restore_defaults",
    ("QMessageBox", "Show Details..."): "counter.qt.show_details",
    ("QMessageBox", "Hide Details..."): "counter.qt.hide_details",
    ("QFileDialog", "Look in:"): "counter.qt.look_in",
    ("QFileDialog", "File &name:"): "counter.qt.file_name",
    ("QFileDialog", "Files of type:"): "counter.qt.files_of_type",
    ("QFileDialog", "&Open"): "counter.qt.open_mnemonic",
    ("QFileDialog", "&Save"): "counter.qt.save_mnemonic",
    ("QFileDialog", "&Choose"): "counter.qt.choose",
    ("QFileDialog", "All Files (*)"): "counter.qt.all_files",
    ("QFileDialog", "Back"): "counter.qt.back",
    ("QFileDialog", "Forward"): "counter.qt.forward",
    ("QFileDialog", "Parent Directory"): "counter.qt.parent_dir",
    ("QFileDialog", "Create New Folder"): "counter.qt.new_folder",
    ("QFileDialog", "List View"): "counter.qt.list_view",
    ("QFileDialog", "Detail View"): "counter.qt.detail_view",
    ("QFileDialog", "Directory:"): "counter.qt.directory",
    ("QFileDialog", "Open"): "counter.qt.open",
    ("QFileDialog", "Save As"): "counter.qt.save_as",
    ("QFileDialog", "Recent Places"): "counter.qt.recent",
    ("QFileDialog", "Show &hidden files"): "counter.qt.hidden_files",
    ("QFileDialog", "&Delete"): "counter.qt.delete",
    ("QFileDialog", "&Rename"): "counter.qt.rename",
    ("QFileDialog", "New Folder"): "counter.qt.new_folder_name",
    ("QFileSystemModel", "Name"): "counter.qt.col_name",
    ("QFileSystemModel", "Size"): "counter.qt.col_size",
    ("QFileSystemModel", "Type"): "counter.qt.col_type",
    ("QFileSystemModel", "Date Modified"): "counter.qt.col_modified",
    ("QFileSystemModel", "My Computer"): "counter.qt.computer",
    ("QFileSystemModel", "Computer"): "counter.qt.computer",
    ("QFileDialog", "%1\nFile not found.\nPlease verify the correct file name was given."): (
        "counter.qt.file_not_found"
    ),
    ("QFileDialog", "%1 already exists.\nDo you want to replace it?"): "counter.qt.file_exists",
    ("QPrintDialog", "Print"): "counter.qt.print",
    ("QPrintDialog", "&Print"): "counter.qt.print_mnemonic",
    ("QPrintDialog", "&Options >>"): "counter.qt.options_more",
    ("QPrintDialog", "&Options <<"): "counter.qt.options_less",
    ("QPrintDialog", "Print to File (PDF)"): "counter.qt.print_to_pdf",
    ("QPrintDialog", "Local file"): "counter.qt.local_file",
    ("QPrintDialog", "Write PDF file"): "counter.qt.write_pdf",
    ("QPrintDialog", "%1 is a directory.\nPlease choose a different file name."): (
        "counter.qt.is_directory"
    ),
    ("QPrintDialog", "File %1 is not writable.\nPlease choose a different file name."): (
        "counter.qt.not_writable"
    ),
    ("QPrintDialog", "%1 already exists.\nDo you want to overwrite it?"): ("counter.qt.overwrite"),
    ("QWidgetTextControl", "&Undo"): "counter.qt.undo",
    ("QWidgetTextControl", "&Redo"): "counter.qt.redo",
    ("QWidgetTextControl", "Cu&t"): "counter.qt.cut",
    ("QWidgetTextControl", "&Copy"): "counter.qt.copy",
    ("QWidgetTextControl", "&Paste"): "counter.qt.paste",
    ("QWidgetTextControl", "Delete"): "counter.qt.delete_text",
    ("QWidgetTextControl", "Select All"): "counter.qt.select_all",
    ("QLineEdit", "&Undo"): "counter.qt.undo",
    ("QLineEdit", "&Redo"): "counter.qt.redo",
    ("QLineEdit", "Cu&t"): "counter.qt.cut",
    ("QLineEdit", "&Copy"): "counter.qt.copy",
    ("QLineEdit", "&Paste"): "counter.qt.paste",
    ("QLineEdit", "Delete"): "counter.qt.delete_text",
    ("QLineEdit", "Select All"): "counter.qt.select_all",
}


class DeskTranslator(QTranslator):
    """Answers Qt's look-ups in the desk's current language (see the module docstring)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # Loaded before the translator is installed: loading asks Qt's installed translators.
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        self._shipped: dict[str, QTranslator | None] = {}
        for lang in i18n.LANGUAGES:
            translator = QTranslator(self)
            found = lang != "en" and translator.load(QLocale(lang), "qtbase", "_", folder)
            self._shipped[lang] = translator if found else None
        log.debug("Qt's own translations: %s", {k: v is not None for k, v in self._shipped.items()})

    def _shipped_for(self, lang: str) -> QTranslator | None:
        return self._shipped.get(lang)

    def translate(  # noqa: D102 - Qt's API
        self,
        context: str,
        source: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:
        # None is Qt's null string, "not mine" (an empty str would blank the button).
        lang = i18n.language()
        if lang == "en":
            return None  # Qt's source text is English already
        shipped = self._shipped_for(lang)
        if shipped is not None:
            words = shipped.translate(context, source, disambiguation, n)
            if words:
                return words
        code = QT_WORDS.get((context, source))
        if code is None or not messages.has(code):
            return None
        return messages.text(code, lang)

    def isEmpty(self) -> bool:  # noqa: N802 - Qt's API
        return False


_installed: DeskTranslator | None = None


def install_qt_words(app: QCoreApplication) -> DeskTranslator:
    """Install the translator once per application (theme set-up calls it)."""
    global _installed
    if _installed is None:
        _installed = DeskTranslator(app)
        app.installTranslator(_installed)
    return _installed
