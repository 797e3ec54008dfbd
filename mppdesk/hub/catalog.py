"""Catalog overrides published at the hub: checked here with the desk's own loader and check,
then handed to every desk with the SHA-256 of their canonical form (desks check both again)."""

from __future__ import annotations

from pathlib import Path

from mppdesk.core.canonical import canonical_json, sha256_hex
from mppdesk.forms.catalog import Problem, load_catalog_collecting
from mppdesk.forms.check import check_catalog
from mppdesk.paths import catalog_dir

MAX_FILES = 2000
MAX_TOTAL_BYTES = 4 * 1024 * 1024  # the pull item must fit a request well under 8 MiB


class CatalogRefused(Exception):
    def __init__(self, problems: list[Problem | str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def catalog_digest(files: dict[str, str]) -> str:
    return sha256_hex(canonical_json(files))


def read_overrides(directory: Path) -> tuple[dict[str, str], str]:
    """The override files of ``directory`` (path → text) and their digest, once the shipped
    catalog with these overrides on top passes the catalog check; else CatalogRefused."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CatalogRefused([f"{directory}: not a folder"])
    catalog, problems = load_catalog_collecting([catalog_dir(), directory])
    problems = list(problems)
    if not problems:
        problems.extend(check_catalog(catalog))
    if problems:
        raise CatalogRefused(problems)
    files: dict[str, str] = {}
    total = 0
    for path in sorted(directory.rglob("*.yaml")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        total += len(text.encode("utf-8"))
        files[path.relative_to(directory).as_posix()] = text
    if not files:
        raise CatalogRefused([f"{directory}: no catalog files (*.yaml)"])
    if len(files) > MAX_FILES or total > MAX_TOTAL_BYTES:
        raise CatalogRefused([f"{directory}: more than {MAX_FILES} files or 4 MiB"])
    return files, catalog_digest(files)
