"""No function in mppdesk/ over 120 lines outside migrations (issue 11, item 3).

A function that long does several things: each one gets a name of its own. Migrations are
exempt: each is one step, read top to bottom once.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mppdesk

SOURCE = Path(mppdesk.__file__).parent
MAX_LINES = 120


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function in ``source``."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((name, start, child.end_lineno - start + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def test_the_measure_counts_decorators_nested_and_methods():
    source = "@cache\ndef a():\n    def b():\n        return 1\n    return b\n\nclass C:\n"
    source += "    def m(self):\n" + "        x = 1\n" * 3 + "        return x\n"
    assert function_lengths(source) == [("a", 1, 5), ("a.b", 3, 2), ("C.m", 8, 5)]


def test_no_function_is_over_120_lines():
    too_long = [
        f"{path.relative_to(SOURCE.parent)}:{line} {name} ({length} lines)"
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.parts and "__pycache__" not in path.parts
        for name, line, length in function_lengths(path.read_text(encoding="utf-8"))
        if length > MAX_LINES
    ]
    assert too_long == []
