from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import *

def test_dbg(qtbot, runtime):
    officer = make_user(runtime, "ani", "officer")
    store_known_applicant(runtime, officer)
    window = open_window(qtbot, runtime)
    page = sign_in_to_visit(qtbot, window, "ani", PASSWORD)
    page.nik_edit.setFocus()
    type_text(KNOWN_NIK)
    with qtbot.waitSignal(page.looked_up, timeout=10_000):
        press(Qt.Key.Key_Return)
    page.add_service("dukcapil/ikd-aktivasi")
    page.service_pages[0].form.set_values("answers", {"sistem_operasi": "android", "ponsel_milik_sendiri": True})
    page.changed()
    print("state", page.state.services[0].answers, page.check.error_count, [ (e.path, e.message) for e in page.check.services[0].entries])
    page.finalize()
    qtbot.waitUntil(lambda: window.done_page is not None, timeout=20_000)
    print("after", QApplication.activeWindow(), QApplication.focusWidget(), window.isActiveWindow(), window.focusWidget())
    qtbot.wait(100)
    print("later", QApplication.activeWindow(), QApplication.focusWidget(), window.isActiveWindow(), window.focusWidget())
