"""Every screen of the window fits 1366×768 and 1920×1080 without cut text (issue 12, words
and fit): each registered page and dialog an admin or a supervisor can open, walked from the
screen registry, so a screen added later is checked too. With MPPDESK_FIT_SHOTS=docs/images
the pictures are saved as ``screen-<key>-<width>.png``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from mppdesk.ui import screens
from mppdesk.ui.fit import cut_widgets
from tests.conftest import PASSWORD, make_user
from tests.ui.desk_ui import open_window, sign_in

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

SIZES = ((1366, 768), (1920, 1080))


def _settle() -> None:
    loop = QEventLoop()
    QTimer.singleShot(60, loop.quit)  # one round of layout after a resize
    loop.exec()


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_every_screen_fits_both_sizes(qtbot, runtime, role):
    make_user(runtime, "sari", role)
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "sari", PASSWORD)
    qtbot.waitUntil(lambda: window.actor is not None, timeout=10_000)
    shots = os.environ.get("MPPDESK_FIT_SHOTS")
    problems: dict[str, list[str]] = {}
    seen = []
    for screen in screens.available(window.actor):
        for width, height in SIZES:
            window.resize(width, height)
            _settle()
            widget = window.show_screen(screen.key)
            if widget is None:
                continue
            qtbot.waitUntil(widget.isVisible)
            _settle()
            target = widget if screen.dialog else window
            found = cut_widgets(target)
            if found:
                problems[f"{screen.key} {width}"] = found
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                target.grab().save(str(Path(shots) / f"screen-{screen.key}-{width}.png"))
            if screen.dialog:
                widget.close()
            seen.append(screen.key)
    assert len(set(seen)) >= 4, seen
    assert problems == {}
