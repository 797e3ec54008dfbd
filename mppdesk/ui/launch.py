"""``mppdesk demo``: the desk window on a demo environment, demo accounts on the sign-in page."""

from __future__ import annotations

import sys
from typing import Any


def launch_demo(env: Any) -> int:
    """Run the desk on ``env`` (a ``mppdesk.desk.demo.DemoEnvironment``) until it closes.

    The caller owns ``env`` and closes it (runtime and agency server) after this returns.
    """
    from PySide6.QtWidgets import QApplication

    from mppdesk.ui import i18n
    from mppdesk.ui.theme import apply_theme
    from mppdesk.ui.window import DeskWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MPP Desk (demo)")
    apply_theme(app)
    i18n.set_language(env.runtime.settings.desk.language)
    window = DeskWindow(runtime=env.runtime, demo_accounts=list(env.accounts))
    window.setWindowTitle(window.windowTitle() + " — demo")
    window.show()
    code = app.exec()
    window.shutdown()
    return int(code)
