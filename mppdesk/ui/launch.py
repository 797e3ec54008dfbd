"""``mppdesk demo``: the desk window on a demo environment, demo accounts on the sign-in page."""

from __future__ import annotations

import sys
from typing import Any


def quit_on_signals(app: Any) -> None:
    """Ctrl+C and SIGTERM close the desk cleanly (drafts saved, sync stopped, demo removed).

    Python runs signal handlers only when it gets control, so a short timer gives it that
    while Qt's event loop runs.
    """
    import signal

    from PySide6.QtCore import QTimer

    def close(_signum: int, _frame: Any) -> None:
        app.quit()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, close)
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def launch_demo(env: Any) -> int:
    """Run the desk on ``env`` (a ``mppdesk.desk.demo.DemoEnvironment``) until it closes.

    The caller owns ``env`` and closes it (runtime and agency server) after this returns.
    """
    from PySide6.QtWidgets import QApplication

    from mppdesk.ui import i18n
    from mppdesk.ui.crash_hook import install_excepthook
    from mppdesk.ui.theme import apply_theme
    from mppdesk.ui.window import DeskWindow

    install_excepthook(env.runtime.data_dir)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MPP Desk (demo)")
    apply_theme(app)
    i18n.set_language(env.runtime.settings.desk.language)
    window = DeskWindow(runtime=env.runtime, demo_accounts=list(env.accounts))
    window.setWindowTitle(window.windowTitle() + " — demo")
    window.show()
    quit_on_signals(app)
    code = app.exec()
    window.shutdown()
    return int(code)
