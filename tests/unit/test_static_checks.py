"""Static checks over our own source: TLS is never switched off, every HTTP call has a timeout."""

from __future__ import annotations

import ast
from pathlib import Path

import mppdesk

SOURCE = Path(mppdesk.__file__).parent
HTTP_METHODS = {
    "get",
    "post",
    "put",
    "delete",
    "patch",
    "head",
    "options",
    "request",
    # urllib3: PoolManager / ProxyManager / HTTPConnectionPool
    "urlopen",
    "request_encode_url",
    "request_encode_body",
}
# Who makes HTTP calls: the requests module or a session, urllib3 or one of its pools/managers.
HTTP_RECEIVERS = ("requests", "urllib3", "session", "pool", "manager", "http")
HTTP_IMPORTS = ("import requests", "from requests", "import urllib3", "from urllib3")


def _python_files():
    return sorted(p for p in SOURCE.rglob("*.py") if "__pycache__" not in p.parts)


def _receiver(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_false(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def _is_cert_none(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in ("CERT_NONE", "none", "NONE")
    return _receiver(node) == "CERT_NONE"


def _unverified(tree: ast.AST) -> list[int]:
    """Lines that switch TLS verification off: requests' verify=False, urllib3's
    cert_reqs=CERT_NONE or assert_hostname=False, or check_hostname/verify_mode assigned."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword):
            if node.arg in ("verify", "assert_hostname", "check_hostname") and _is_false(
                node.value
            ):
                lines.append(node.value.lineno)
            elif node.arg == "cert_reqs" and _is_cert_none(node.value):
                lines.append(node.value.lineno)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                name = _receiver(target)
                if name == "check_hostname" and _is_false(node.value):
                    lines.append(node.lineno)
                elif name == "verify_mode" and _is_cert_none(node.value):
                    lines.append(node.lineno)
    return lines


def _http_calls(tree: ast.AST) -> tuple[int, list[int]]:
    """How many HTTP calls the tree makes, and the lines of those without a timeout."""
    calls, untimed = 0, []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in HTTP_METHODS:
            continue
        receiver = _receiver(node.func.value).lower()
        if not any(word in receiver for word in HTTP_RECEIVERS):
            continue
        calls += 1
        if not any(k.arg == "timeout" for k in node.keywords):
            untimed.append(node.lineno)
    return calls, untimed


def test_no_tls_verification_switched_off():
    offenders = []
    for path in _python_files():
        lines = _unverified(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path}:{line}" for line in lines]
    assert offenders == []


def test_every_http_call_has_a_timeout():
    offenders, calls = [], 0
    for path in _python_files():
        text = path.read_text(encoding="utf-8")
        if not any(marker in text for marker in HTTP_IMPORTS):
            continue  # the layer contract keeps requests and urllib3 inside these files
        found, untimed = _http_calls(ast.parse(text))
        calls += found
        offenders += [f"{path}:{line}" for line in untimed]
    assert calls > 0, "the check found no HTTP call at all: it would pass vacuously"
    assert offenders == []


def test_the_agency_client_calls_are_among_those_checked():
    """The client's transport is urllib3: its urlopen calls are found (and timed)."""
    client = SOURCE / "sync" / "client.py"
    found, untimed = _http_calls(ast.parse(client.read_text(encoding="utf-8")))
    assert found >= 1
    assert untimed == []


def test_the_checks_catch_what_they_look_for():
    """Each check fails on the mistake it exists for, in requests and in urllib3 form."""
    untimed = """
requests.get(url)
self._session.request("GET", url)
self._pool.urlopen("POST", path, body=b"{}", retries=False)
self._manager.urlopen("GET", url)
urllib3.request("GET", url)
pool.urlopen("GET", "/", timeout=timeout)
"""
    calls, lines = _http_calls(ast.parse(untimed))
    assert (calls, lines) == (6, [2, 3, 4, 5, 6])
    unverified = """
requests.get(url, verify=False, timeout=1)
urllib3.PoolManager(cert_reqs="CERT_NONE")
urllib3.HTTPSConnectionPool(host, cert_reqs=ssl.CERT_NONE, assert_hostname=False)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
urllib3.PoolManager(cert_reqs=ssl.CERT_REQUIRED)
"""
    assert sorted(_unverified(ast.parse(unverified))) == [2, 3, 4, 4, 5, 6]
