"""Static checks over our own source: TLS is never switched off, every HTTP call has a timeout."""

from __future__ import annotations

import ast
from pathlib import Path

import mppdesk

SOURCE = Path(mppdesk.__file__).parent
HTTP_METHODS = {"get", "post", "put", "delete", "patch", "head", "options", "request"}


def _python_files():
    return sorted(p for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts)


def _receiver(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def test_no_tls_verification_switched_off():
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "verify":
                if isinstance(node.value, ast.Constant) and node.value.value is False:
                    offenders.append(f"{path}:{node.value.lineno}")
    assert offenders == []


def test_every_http_call_has_a_timeout():
    offenders, calls = [], 0
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        if "import requests" not in text:
            continue  # the layer contract keeps requests inside these files
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in HTTP_METHODS:
                continue
            receiver = _receiver(node.func.value).lower()
            if receiver != "requests" and "session" not in receiver:
                continue
            calls += 1
            if not any(k.arg == "timeout" for k in node.keywords):
                offenders.append(f"{path}:{node.lineno}")
    assert calls > 0, "the check found no HTTP call at all: it would pass vacuously"
    assert offenders == []
