"""Where the shipped resources (catalog, protocol, fonts) live.

In a source checkout they sit in the top-level ``resources/`` folder; in an installed wheel
hatch maps that folder to ``mppdesk/resources``; in the PyInstaller bundle
(packaging/mppdesk.spec) they are data files at ``mppdesk/resources`` under the bundle's
unpacked folder, ``sys._MEIPASS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _bundle_dir() -> Path | None:
    """The bundle's data folder when running frozen, else None."""
    if getattr(sys, "frozen", False):
        base = getattr(sys, "_MEIPASS", None)
        if base:
            return Path(base)
    return None


def resources_dir() -> Path:
    bundle = _bundle_dir()
    if bundle is not None:
        return bundle / "mppdesk" / "resources"
    installed = _PACKAGE_DIR / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def catalog_dir() -> Path:
    return resources_dir() / "catalog"
