"""Tests fail on noise (issue 11, item 5): probe tests run under this project's own pytest
settings, and a Qt warning or an exception in a GUI callback fails the probe that caused it.

The probes run in a nested pytest session (pytester) with the ``[tool.pytest.ini_options]``
of pyproject.toml copied verbatim, so what is proven is the project's configuration.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBES = '''
import pytest
from PySide6.QtCore import qWarning

from mppdesk.ui.inbox import GuiInbox
from mppdesk.ui.tasks import TaskRunner


def test_quiet(qtbot):
    qWarning("This plugin does not support propagateSizeHints()")  # ignored, with a reason
    inbox = GuiInbox()
    delivered = []
    inbox.post(delivered.append, 1)
    qtbot.waitUntil(lambda: delivered == [1])


def test_qt_warning(qtbot):
    qWarning("probe: a Qt warning")


def test_raise_in_inbox_call(qtbot):
    inbox = GuiInbox()
    delivered = []

    def broken():
        raise RuntimeError("probe: raised on the GUI thread")

    inbox.post(broken)
    inbox.post(delivered.append, "after")  # the bad call starves no other
    qtbot.waitUntil(lambda: delivered == ["after"])


def test_raise_in_task_callback(qtbot):
    runner = TaskRunner()
    done = []

    def on_success(value):
        done.append(value)
        raise ValueError("probe: raised in on_success")

    runner.run(lambda: 42, on_success)
    qtbot.waitUntil(lambda: done == [42])
    qtbot.waitUntil(lambda: runner.pending == 0)


def test_unhandled_task_failure(qtbot):
    runner = TaskRunner()

    def task():
        raise KeyError("probe: nobody handles this")

    runner.run(task)
    assert runner.wait_idle(10_000)
    qtbot.waitUntil(lambda: runner.pending == 0)
'''


@pytest.fixture
def probe_run(pytester: pytest.Pytester):
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    settings = options["ini_options"]
    lines = ["[tool.pytest.ini_options]"]
    for key, value in settings.items():
        if key in ("testpaths", "timeout"):
            continue
        lines.append(f"{key} = {_toml(value)}")
    pytester.makefile(".toml", pyproject="\n".join(lines) + "\n")
    pytester.makepyfile(test_probes=PROBES)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    return result


def _toml(value) -> str:
    """A TOML value for a string or a list of strings (JSON's escapes are TOML's)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def test_a_qt_warning_and_an_exception_in_a_gui_callback_fail_the_test(probe_run):
    probe_run.assert_outcomes(passed=1, failed=4)
    probe_run.stdout.fnmatch_lines_random(
        [
            "FAILED test_probes.py::test_qt_warning*",
            "FAILED test_probes.py::test_raise_in_inbox_call*",
            "FAILED test_probes.py::test_raise_in_task_callback*",
            "FAILED test_probes.py::test_unhandled_task_failure*",
            "*probe: a Qt warning*",
            "*probe: raised on the GUI thread*",
            "*probe: raised in on_success*",
            "*probe: nobody handles this*",
        ]
    )
