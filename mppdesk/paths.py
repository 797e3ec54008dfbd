"""Where the shipped resources (catalog, protocol, fonts) live.

In a source checkout they sit in the top-level ``resources/`` folder; in an installed wheel
hatch maps that folder to ``mppdesk/resources``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resources_dir() -> Path:
    installed = _PACKAGE_DIR / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def catalog_dir() -> Path:
    return resources_dir() / "catalog"
