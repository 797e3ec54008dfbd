"""The submissions table fits 1366×768 and 1920×1080: every shown column's header whole, the
fixed columns' text whole, a long cell elided with its whole text in the tooltip, and no
horizontal scroll (issue 12, words and fit: "the submissions table cuts columns even at 1920").
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from mppdesk.ui.submissions import COLUMNS, FIXED, SHOWN
from tests.conftest import PASSWORD
from tests.example_visits import BPJS, HELD, KTP, finalize
from tests.ui.desk_ui import open_window, sign_in
from tests.ui.test_fit import SIZES, _look

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

PADDING = 8  # a cell's text never touches the grid line


def _table_problems(page) -> list[str]:
    """What a person would see cut in the table: headers, fixed cells, untipped elisions."""
    table, model = page.table, page.model
    header = table.horizontalHeader()
    metrics = table.fontMetrics()
    problems = []
    if header.length() > table.viewport().width():
        problems.append(f"columns need {header.length()} px of {table.viewport().width()}")
    for position, name in enumerate(COLUMNS):
        if table.isColumnHidden(position):
            assert name not in SHOWN
            continue
        width = header.sectionSize(position)
        wanted = header.sectionSizeFromContents(position).width()
        if width < wanted:
            problems.append(f"header {name!r} is {width} px, needs {wanted}")
        for row in range(model.rowCount()):
            index = model.index(row, position)
            text = str(model.data(index) or "")
            if metrics.horizontalAdvance(text) + PADDING <= width:
                continue
            tip = str(model.data(index, Qt.ItemDataRole.ToolTipRole) or "")
            if name in FIXED:
                problems.append(f"{name!r} cut: {text!r} in {width} px")
            elif text not in tip:
                problems.append(f"{name!r} elided without its text in the tooltip: {text!r}")
    return problems


def test_the_submissions_table_fits_1366_and_1920(qtbot, runtime, officer):
    for code in (KTP, BPJS, HELD):
        finalize(runtime, officer, code)
    window = open_window(qtbot, runtime)
    sign_in(qtbot, window, "ani", PASSWORD)
    qtbot.waitUntil(lambda: window.visit_page is not None, timeout=10_000)
    page = window.show_submissions()
    qtbot.waitUntil(lambda: page.model.count == 3 and page.model.rowCount() == 3, timeout=10_000)
    shown = [n for i, n in enumerate(COLUMNS) if not page.table.isColumnHidden(i)]
    assert shown == list(SHOWN)
    problems = {}
    for size in SIZES:
        problems[f"window {size}"] = _look(qtbot, window, "submissions", size)
        problems[f"table {size}"] = _table_problems(page)
    assert {k: v for k, v in problems.items() if v} == {}
    # The sending details that lost their columns are one hover away on the "send" cell.
    send = page.model.index(0, COLUMNS.index("send"))
    tip = page.model.data(send, Qt.ItemDataRole.ToolTipRole)
    assert page.model.data(send) in tip
    # The officer drags the splitter towards the table: the columns are laid out again for
    # the narrower table, the long ones give, the headers and the tracking number stay whole.
    window.resize(1366, 768)
    before = page.table.viewport().width()
    splitter = page.table.parentWidget()
    splitter.setSizes([before - 120, splitter.width() - before + 120])
    qtbot.waitUntil(lambda: page.table.viewport().width() < before - 60)
    assert _table_problems(page) == []
