"""Fixtures shared by the widget tests (pytest-qt, offscreen)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mppdesk.ui.tasks import TaskRunner


@pytest.fixture
def tasks(qtbot, runtime) -> Iterator[TaskRunner]:
    """The background task runner the pages take, drained before the store closes.

    Every queued task finishes and its result is delivered while the test's widgets still
    live; a callback that raises, or a task failure nobody handles, reaches
    ``sys.excepthook`` and so fails the test (pytest-qt captures it).
    """
    runner = TaskRunner()
    yield runner
    assert runner.wait_idle(30_000)
    qtbot.waitUntil(lambda: runner.pending == 0)
