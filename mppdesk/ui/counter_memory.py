"""What the counter remembers for its officer between sessions: the ticket group last called.

An officer serves one queue group for a whole shift (Dukcapil, say); the group chosen is kept
per officer in ``<data dir>/counter-memory.json`` so that after a restart F2 calls from the
same group without a key. Not personal data of citizens: only user names and group codes.
A missing, foreign or broken file means "nothing remembered", never an error.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

MEMORY_FILE = "counter-memory.json"
_MAX_BYTES = 64 * 1024
_MAX_OFFICERS = 500


def _read(data_dir: Path) -> dict[str, str]:
    try:
        with open(Path(data_dir) / MEMORY_FILE, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            return {}
        document = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    groups = document.get("ticket_group") if isinstance(document, dict) else None
    if not isinstance(groups, dict):
        return {}
    return {str(k): v for k, v in groups.items() if isinstance(v, str) and len(v) <= 100}


def remembered_group(data_dir: Path, username: str) -> str | None:
    """The group ``username`` called from last, or None."""
    return _read(data_dir).get(username)


def remember_group(data_dir: Path, username: str, group: str) -> None:
    """Keep ``group`` for ``username`` (written whole, then renamed: never half a file)."""
    groups = _read(data_dir)
    if groups.get(username) == group:
        return
    groups[username] = group
    if len(groups) > _MAX_OFFICERS:
        groups = dict(list(groups.items())[-_MAX_OFFICERS:])
    path = Path(data_dir) / MEMORY_FILE
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"ticket_group": groups}, handle)
    os.replace(temporary, path)
