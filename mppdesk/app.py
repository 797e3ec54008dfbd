"""Composition root: builds settings, store, clients and the desk window.

``mppdesk`` with no subcommand comes here. The window is shown first and the store opens
behind the sign-in page, so the desk appears in about the time of an empty Qt window.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

# Set by the cold-start benchmark: print a line when the sign-in window is on screen, quit.
STARTUP_PROBE = "MPPDESK_STARTUP_PROBE"


def default_data_dir() -> Path:
    env = os.environ.get("MPPDESK_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("mppdesk", appauthor=False))


def main(data_dir: Path | None = None, db_url: str | None = None) -> int:
    """Open the desk on a real install (first run: the sign-in page creates the first admin)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from mppdesk.ui import i18n
    from mppdesk.ui.theme import apply_theme
    from mppdesk.ui.window import DeskWindow

    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    db_url = db_url or os.environ.get("MPPDESK_DB") or None
    os.umask(0o077)  # whatever the desk writes is for this OS account only
    from mppdesk.logs import configure_logging
    from mppdesk.ui.crash_hook import install_excepthook

    configure_logging()  # the NIK/phone mask on every log record of the window too
    install_excepthook(data_dir)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MPP Desk")
    apply_theme(app)
    if (data_dir / "settings.toml").exists():  # the sign-in page speaks the desk's language
        try:
            from mppdesk.settings import load_settings

            i18n.set_language(load_settings(data_dir).desk.language)
        except Exception:  # noqa: BLE001 - shown on the sign-in page when the store opens
            pass
    window = DeskWindow()
    window.show()
    if os.environ.get(STARTUP_PROBE):

        def probe() -> None:
            print("shown", flush=True)
            os._exit(0)  # the probe measures start-up only; nothing is open yet

        QTimer.singleShot(0, probe)
    QTimer.singleShot(0, lambda: window.open_install(data_dir, db_url))
    from mppdesk.ui.launch import quit_on_signals

    quit_on_signals(app)
    code = app.exec()
    window.shutdown()
    if window.runtime is not None:
        window.runtime.close()
    return int(code)
