"""Loading the catalog: YAML files → plain dicts → typed definitions.

A catalog is one or more directories with the same layout::

    agencies.yaml            agencies: [ {code, name, short_name, ...}, ... ]
    shared-fields.yaml       fields: [ {id, type, label, ...}, ... ]   (data bersama)
    services/<agency>/*.yaml one service per file

The built-in catalog ships in ``resources/catalog``; an install adds or overrides agencies,
shared fields and services by placing files of the same layout in ``<data dir>/catalog``.
Later directories win by agency code, field id and service code.

Every problem is collected (not just the first) as ``file:path: message`` so that
``mppdesk catalog check`` can list them all.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mppdesk.core import messages
from mppdesk.core.canonical import canonical_json
from mppdesk.forms.definitions import Agency, FieldDef, Service

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One problem of the catalog: where, and what (a ``load.``/``check.`` message code
    whose fix docs/catalog-format.md lists; ``message`` is its English text)."""

    file: str
    path: str
    message: str
    code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, file: str, path: str, code: str, /, **params: Any) -> Problem:
        return cls(file, path, messages.text(code, "en", **params), code, params)

    def text(self, lang: str = "en") -> str:
        return messages.text(self.code, lang, **self.params) if self.code else self.message

    def line(self, lang: str = "en") -> str:
        """``file:path: text [code]``, as ``mppdesk catalog check`` prints it."""
        where = f"{self.file}:{self.path}" if self.path else self.file
        suffix = f" [{self.code}]" if self.code else ""
        return f"{where}: {self.text(lang)}{suffix}"

    def __str__(self) -> str:
        return self.line("en")


class CatalogError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Catalog:
    agencies: dict[str, Agency] = field(default_factory=dict)
    shared_fields: dict[str, FieldDef] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    # Where each definition came from, for messages: code -> file
    sources: dict[str, Path] = field(default_factory=dict)
    dirs: tuple[Path, ...] = ()
    _versions: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def service(self, code: str) -> Service:
        try:
            return self.services[code]
        except KeyError:
            raise KeyError(f"unknown service {code!r}") from None

    def form_version(self, code: str) -> str:
        """Content hash of everything that shapes a service's form.

        Stamped on each submission; editing a definition changes the hash of new
        submissions and never touches stored ones.
        """
        cached = self._versions.get(code)
        if cached is not None:
            return cached
        service = self.service(code)
        shared = {
            ref.field: self.shared_fields[ref.field].model_dump(mode="json")
            for ref in service.shared_fields
            if ref.field in self.shared_fields
        }
        document = {
            "service": service.model_dump(mode="json", exclude={"examples"}),
            "shared": shared,
        }
        version = "sha256:" + hashlib.sha256(canonical_json(document)).hexdigest()
        self._versions[code] = version  # definitions are frozen: the hash cannot change
        return version

    def resolve_path(self, relative: str) -> Path | None:
        """A file named relative to a catalog directory (samples for examples)."""
        for directory in reversed(self.dirs):
            candidate = directory / relative
            if candidate.is_file():
                return candidate
        return None


def _location(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _parse_yaml(text: str) -> Any:
    """libyaml's parser when PyYAML has it (the same safe constructor, ten times faster: every
    command loads the catalog, 0.35 s → 0.04 s for the built-in one); a file it refuses is
    parsed again by the pure-Python parser, so problems are worded and located as always."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem.of(str(path), "", "load.not_utf8", reason=exc.reason))
        return None
    except OSError as exc:
        problems.append(Problem.of(str(path), "", "load.unreadable", reason=exc.strerror))
        return None
    try:
        document = _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem.of(str(path), where, "load.yaml_syntax", problem=problem))
        return None
    except ValueError as exc:  # an impossible date such as 2024-02-30
        problems.append(Problem.of(str(path), "", "load.yaml_value", error=str(exc)))
        return None
    except RecursionError:
        problems.append(Problem.of(str(path), "", "load.yaml_deep"))
        return None
    return document


def _validation_problems(path: Path, prefix: str, exc: ValidationError) -> list[Problem]:
    out = []
    for error in exc.errors():
        loc = _location(error["loc"])
        full = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        out.append(Problem.of(str(path), full, "load.schema", error=error["msg"]))
    return out


def _list_section(path: Path, document: Any, key: str, problems: list[Problem]) -> list[Any]:
    if document is None:
        return []
    if not isinstance(document, dict) or key not in document:
        problems.append(Problem.of(str(path), "", "load.expected_mapping", key=key))
        return []
    items = document[key]
    if not isinstance(items, list):
        problems.append(Problem.of(str(path), key, "load.expected_list"))
        return []
    return items


def _validate(
    model: type[_M], raw: Any, path: Path, prefix: str, problems: list[Problem]
) -> _M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_validation_problems(path, prefix, exc))
    except RecursionError:
        problems.append(Problem.of(str(path), prefix, "load.definition_deep"))
    return None


_CACHE: dict[tuple, Catalog] = {}


def _fingerprint(dirs: tuple[Path, ...]) -> tuple:
    """Every catalog file with its size and modification time: a changed file misses the cache.

    Only files count, not the folders named: every data dir without a catalog of its own
    shares the built-in catalog's entry.
    """
    entries: list[tuple] = []
    for directory in dirs:
        if directory.is_dir():
            for path in sorted(directory.rglob("*.yaml")):
                stat = path.stat()
                entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def load_catalog(dirs: Iterable[Path]) -> Catalog:
    """Load and merge catalog directories; raises CatalogError listing every problem.

    A catalog already loaded in this process from unchanged files is returned again (the
    definitions are frozen), so opening a second desk or store costs no second parse.
    """
    dirs = tuple(Path(d) for d in dirs)
    key = _fingerprint(dirs)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached if cached.dirs == dirs else dataclasses.replace(cached, dirs=dirs)
    catalog, problems = load_catalog_collecting(dirs)
    if problems:
        raise CatalogError(problems)
    _CACHE.clear()
    _CACHE[key] = catalog
    return catalog


def load_catalog_collecting(dirs: Iterable[Path]) -> tuple[Catalog, list[Problem]]:
    """Like load_catalog, but returns what loaded along with the problems."""
    dirs = tuple(Path(d) for d in dirs)
    catalog = Catalog(dirs=dirs)
    problems: list[Problem] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        agencies_file = directory / "agencies.yaml"
        if agencies_file.is_file():
            items = _list_section(
                agencies_file, _read_yaml(agencies_file, problems), "agencies", problems
            )
            for i, raw in enumerate(items):
                agency = _validate(Agency, raw, agencies_file, f"agencies[{i}]", problems)
                if agency is None:
                    continue
                catalog.agencies[agency.code] = agency
                catalog.sources[f"agency:{agency.code}"] = agencies_file
        fields_file = directory / "shared-fields.yaml"
        if fields_file.is_file():
            items = _list_section(
                fields_file, _read_yaml(fields_file, problems), "fields", problems
            )
            for i, raw in enumerate(items):
                field_def = _validate(FieldDef, raw, fields_file, f"fields[{i}]", problems)
                if field_def is None:
                    continue
                catalog.shared_fields[field_def.id] = field_def
                catalog.sources[f"field:{field_def.id}"] = fields_file
        services_dir = directory / "services"
        if services_dir.is_dir():
            for service_file in sorted(services_dir.rglob("*.yaml")):
                before = len(problems)
                raw = _read_yaml(service_file, problems)
                if raw is None:
                    if len(problems) == before:
                        problems.append(Problem.of(str(service_file), "", "load.empty_file"))
                    continue
                service = _validate(Service, raw, service_file, "", problems)
                if service is None:
                    continue
                earlier = catalog.sources.get(service.code)
                if earlier is not None and earlier.is_relative_to(services_dir):
                    problems.append(
                        Problem.of(
                            str(service_file),
                            "id",
                            "load.duplicate_service",
                            service=service.code,
                            earlier=str(earlier),
                        )
                    )
                catalog.services[service.code] = service
                catalog.sources[service.code] = service_file
    problems.extend(_cross_references(catalog))
    return catalog, problems


def _cross_references(catalog: Catalog) -> list[Problem]:
    problems = []
    for code, service in catalog.services.items():
        source = str(catalog.sources.get(code, code))
        if service.agency not in catalog.agencies:
            problems.append(
                Problem.of(source, "agency", "load.unknown_agency", agency=service.agency)
            )
        for i, ref in enumerate(service.shared_fields):
            if ref.field not in catalog.shared_fields:
                problems.append(
                    Problem.of(
                        source, f"shared_fields[{i}]", "load.unknown_shared_field", field=ref.field
                    )
                )
    return problems


def builtin_catalog_dirs(data_dir: Path | None = None) -> list[Path]:
    from mppdesk.paths import catalog_dir

    dirs = [catalog_dir()]
    if data_dir is not None:
        dirs.append(Path(data_dir) / "catalog")
    return dirs
