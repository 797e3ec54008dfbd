"""Small catalogs written as real YAML files, loaded through the real loader.

The form tests describe each case as plain dicts (what a catalog author writes) and go
through ``load_catalog`` like the application does, so a loader change that breaks a form
shape breaks these tests too.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml

from mppdesk.forms.catalog import Catalog, Problem, load_catalog, load_catalog_collecting

AGENCY = {"code": "uji", "name": {"id": "Instansi Uji", "en": "Test Agency"}, "short_name": "UJI"}

SHARED_FIELDS: list[dict[str, Any]] = [
    {"id": "nik", "type": "nik", "label": {"id": "NIK", "en": "NIK"}},
    {
        "id": "nama",
        "type": "text",
        "max_length": 100,
        "label": {"id": "Nama lengkap", "en": "Full name"},
    },
    {
        "id": "tanggal_lahir",
        "type": "date",
        "label": {"id": "Tanggal lahir", "en": "Date of birth"},
    },
    {
        "id": "jenis_kelamin",
        "type": "choice",
        "label": {"id": "Jenis kelamin", "en": "Sex"},
        "choices": [
            {"value": "L", "label": {"id": "Laki-laki", "en": "Male"}},
            {"value": "P", "label": {"id": "Perempuan", "en": "Female"}},
        ],
    },
    {"id": "no_hp", "type": "phone", "label": {"id": "Nomor HP", "en": "Mobile number"}},
    {
        "id": "wilayah",
        "type": "region",
        "region_level": "village",
        "label": {"id": "Desa/kelurahan", "en": "Village"},
    },
    {"id": "kode_pos", "type": "postalcode", "label": {"id": "Kode pos", "en": "Postal code"}},
    {
        "id": "kewarganegaraan",
        "type": "choice",
        "default": "WNI",
        "label": {"id": "Kewarganegaraan", "en": "Citizenship"},
        "choices": [
            {"value": "WNI", "label": {"id": "WNI", "en": "Indonesian"}},
            {"value": "WNA", "label": {"id": "WNA", "en": "Foreign"}},
        ],
    },
    {
        "id": "no_paspor",
        "type": "text",
        "label": {"id": "Nomor paspor", "en": "Passport number"},
        "show_if": "kewarganegaraan == 'WNA'",
    },
]

# A NIK that passes every check: Jakarta Selatan, Tebet; born 1990-05-01, male.
NIK_MALE_1990_05_01 = "3174010105900001"
# Same district, born 1990-05-01, female (day + 40).
NIK_FEMALE_1990_05_01 = "3174014105900002"
VILLAGE = "3174011001"  # Tebet Timur, postal code 12820

_counter = itertools.count()


def label(text: str) -> dict[str, str]:
    return {"id": text, "en": f"{text} (en)"}


def field(id: str, type: str = "text", **rules: Any) -> dict[str, Any]:
    """A field definition as a catalog author writes it; the label is the id capitalised."""
    definition: dict[str, Any] = {
        "id": id,
        "type": type,
        "label": label(id.replace("_", " ").capitalize()),
    }
    definition.update(rules)
    return definition


def choices(*values: str) -> list[dict[str, Any]]:
    return [{"value": v, "label": label(v)} for v in values]


def service(
    id: str = "layanan",
    *,
    fields: list[dict[str, Any]] | None = None,
    shared: list[Any] | None = None,
    requirements: list[dict[str, Any]] | None = None,
    fee: dict[str, Any] | None = None,
    sla: dict[str, Any] | None = None,
    examples: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A service definition with harmless defaults for everything a test does not care about."""
    definition: dict[str, Any] = {
        "id": id,
        "agency": "uji",
        "name": label(f"Layanan {id}"),
        "shared_fields": shared if shared is not None else [],
        "fields": fields or [],
        "requirements": requirements
        if requirements is not None
        else [{"id": "ktp", "label": label("KTP-el"), "kind": "shown"}],
        "fee": fee or {"amount": 0},
        "sla": sla or {"working_days": 3},
        "product": label("Produk"),
        "examples": examples if examples is not None else [{"name": "contoh", "applicant": {}}],
    }
    definition.update(extra)
    return definition


def write_catalog(
    root: Path,
    services: list[dict[str, Any]],
    shared_fields: list[dict[str, Any]] | None = None,
    samples: dict[str, bytes] | None = None,
) -> Path:
    """Write a catalog directory (agencies, shared fields, one file per service) under root."""
    directory = root / f"catalog-{next(_counter)}"
    (directory / "services" / "uji").mkdir(parents=True)
    dump = {"allow_unicode": True, "sort_keys": False}
    (directory / "agencies.yaml").write_text(
        yaml.safe_dump({"agencies": [AGENCY]}, **dump), encoding="utf-8"
    )
    fields = SHARED_FIELDS if shared_fields is None else shared_fields
    (directory / "shared-fields.yaml").write_text(
        yaml.safe_dump({"fields": fields}, **dump), encoding="utf-8"
    )
    for definition in services:
        name = definition.get("id", "tanpa-id") if isinstance(definition, dict) else "rusak"
        (directory / "services" / "uji" / f"{name}.yaml").write_text(
            yaml.safe_dump(definition, **dump), encoding="utf-8"
        )
    for relative, content in (samples or {}).items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return directory


def load(
    root: Path, *services: dict[str, Any], shared_fields: list[dict[str, Any]] | None = None
) -> Catalog:
    return load_catalog([write_catalog(root, list(services), shared_fields)])


def load_collecting(
    root: Path,
    *services: dict[str, Any],
    shared_fields: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> tuple[Catalog, list[Problem]]:
    return load_catalog_collecting([write_catalog(root, list(services), shared_fields, **kwargs)])
