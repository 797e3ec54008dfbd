"""Every screen by keyboard: Alt+letters unique per screen, tables give Tab back, F1 lists
every shortcut the window has (issue 12, words and fit)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMessageBox

from mppdesk.ui import i18n, screens
from mppdesk.ui.keyboard import mnemonic, mnemonic_clashes
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import focused, open_window, press, sign_in, tab

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def test_mnemonic_reads_the_marker():
    assert mnemonic("&Kembalikan…") == "k"
    assert mnemonic("Diwakili k&uasa") == "u"
    assert mnemonic("Tom && Jerry") is None


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("role", ["officer", "supervisor", "admin"])
def test_every_screen_has_unique_mnemonics_and_gives_tab_back(qtbot, runtime, role, lang):
    try:
        make_user(runtime, "sari", role)
        window = open_window(qtbot, runtime)
        sign_in(qtbot, window, "sari", PASSWORD)
        qtbot.waitUntil(lambda: window.actor is not None, timeout=10_000)
        window.set_language(lang)
        pages = []
        found: dict[str, dict] = {}
        if window.visit_page is not None:
            pages.append(("counter", window.visit_page))
            found["counter"] = mnemonic_clashes(window, window.visit_page)
        for screen in screens.available(window.actor):
            widget = window.show_screen(screen.key)
            if widget is None:
                continue
            qtbot.waitUntil(lambda w=widget: w.isVisible())
            pages.append((screen.key, widget))
            if screen.dialog:
                clashes = mnemonic_clashes(window, widget)
                widget.close()
            else:
                clashes = mnemonic_clashes(window, widget)
            found[screen.key] = clashes
            for view in widget.findChildren(QAbstractItemView):
                assert not view.tabKeyNavigation(), f"{screen.key}: {view.objectName()}"
        assert len(pages) >= 2
        assert {k: v for k, v in found.items() if v} == {}, lang
    finally:
        i18n.set_language("id")


def test_dashboard_table_can_be_left_by_tab(qtbot, runtime):
    make_user(runtime, "sari", "supervisor")
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.actor is not None, timeout=10_000)
    page = window.show_screen("dashboard")
    qtbot.waitUntil(page.isVisible)
    tables = [v for v in page.findChildren(QAbstractItemView) if v.isVisible()]
    assert tables
    tables[0].setFocus()
    qtbot.waitUntil(lambda: focused() is tables[0])
    tab()
    assert focused() is not tables[0]


def test_f1_lists_every_shortcut(qtbot, runtime):
    make_user(runtime, "sari", "supervisor")
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    press(Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: isinstance(QApplication.activeModalWidget(), QMessageBox))
    box = QApplication.activeModalWidget()
    text = box.text()
    keys = {a.shortcut().toString() for a in window.actions() if not a.shortcut().isEmpty()}
    for key in keys | {"F9", "Ctrl+F", "F5", "Ctrl+Enter"}:
        assert key in text, key
    box.close()


def test_dashboard_tables_show_words_not_codes(qtbot, runtime):
    """Issue 12: "dukcapil", "samsat/bbn-ii", "held" were shown in the Indonesian dashboard."""
    from PySide6.QtCore import Qt as QtCore_Qt

    from tests.example_visits import finalize

    officer = make_user(runtime, "ani", "officer")
    finalize(runtime, officer, "samsat/bbn-ii")  # held: a supervisor approves it
    finalize(runtime, officer, "dukcapil/ktp-el")
    make_user(runtime, "sari", "supervisor")
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    page = window.show_screen("dashboard")
    qtbot.waitUntil(lambda: page.models["status"].rowCount() == 2, timeout=15_000)

    def shown(key: str) -> list[list[str]]:
        model, view = page.models[key], page.tables[key]
        return [
            [
                model.index(row, column).data(QtCore_Qt.ItemDataRole.DisplayRole)
                for column in range(model.columnCount())
                if not view.isColumnHidden(column)
            ]
            for row in range(model.rowCount())
        ]

    statuses = {row[0] for row in shown("status")}
    assert statuses == {"Menunggu persetujuan", "Menunggu pengiriman"}
    services = shown("by_service")
    assert ["Balik nama kendaraan bekas (BBN II)", "Samsat", "1"] in services
    assert not any("samsat/bbn-ii" in cell for row in services for cell in row)
    agencies = shown("by_agency")
    assert ["Dukcapil", "1"] in agencies and not any("dukcapil" in r for r in agencies)
