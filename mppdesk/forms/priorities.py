"""The queue's priority categories, read from ``resources/queue/priorities.yaml`` and checked.

A list in resources, not code: an MPP words its categories as its service standard does. The
file is checked whole on load (codes unique and well formed, both languages named, a bounded
count); a broken file is refused with what is wrong, never half used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from mppdesk.paths import resources_dir

CODE = re.compile(r"^[a-z][a-z0-9-]{1,23}$")
MAX_PRIORITIES = 16
MAX_FILE_BYTES = 64 * 1024


class PriorityCatalogError(ValueError):
    """The priorities file cannot be used (the message names the file and the entry)."""


@dataclass(frozen=True)
class Priority:
    code: str
    name_id: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_id


def priorities_path() -> Path:
    return resources_dir() / "queue" / "priorities.yaml"


def parse_priorities(text: str, where: str = "priorities.yaml") -> tuple[Priority, ...]:
    """The categories of one file's text, or PriorityCatalogError saying what is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriorityCatalogError(f"{where}: not YAML ({type(exc).__name__})") from None
    items = document.get("priorities") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise PriorityCatalogError(f"{where}: 'priorities' must be a non-empty list")
    if len(items) > MAX_PRIORITIES:
        raise PriorityCatalogError(f"{where}: at most {MAX_PRIORITIES} priorities")
    out: list[Priority] = []
    for index, item in enumerate(items):
        at = f"{where}: priorities[{index}]"
        if not isinstance(item, dict) or set(item) - {"code", "name"}:
            raise PriorityCatalogError(f"{at}: an entry has 'code' and 'name' only")
        code, name = item.get("code"), item.get("name")
        if not isinstance(code, str) or not CODE.match(code):
            raise PriorityCatalogError(f"{at}: code must match {CODE.pattern}")
        if any(p.code == code for p in out):
            raise PriorityCatalogError(f"{at}: code {code!r} appears twice")
        if not isinstance(name, dict) or set(name) != {"id", "en"}:
            raise PriorityCatalogError(f"{at}: name has 'id' and 'en'")
        texts = [name["id"], name["en"]]
        if not all(isinstance(v, str) and v.strip() and len(v) <= 60 for v in texts):
            raise PriorityCatalogError(f"{at}: each name is 1 to 60 characters")
        out.append(Priority(code, name["id"].strip(), name["en"].strip()))
    return tuple(out)


def load_priorities(path: Path | None = None) -> tuple[Priority, ...]:
    """The categories of ``path`` (default: the shipped file)."""
    path = path or priorities_path()
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PriorityCatalogError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise PriorityCatalogError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PriorityCatalogError(f"{path}: not UTF-8") from None
    return parse_priorities(text, str(path))


@cache
def shipped_priorities() -> tuple[Priority, ...]:
    """The shipped categories, read once."""
    return load_priorities()


def priority_codes() -> frozenset[str]:
    return frozenset(p.code for p in shipped_priorities())
