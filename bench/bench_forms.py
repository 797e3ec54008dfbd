"""Form engine cost: one whole-form evaluation of a 40-field service.

The UI re-evaluates the whole form on every keystroke, so ``evaluate`` must stay close to
the unavoidable work: checking each value once. The floor is exactly that work — the bare
per-field validators (``mppdesk.forms.validators`` for NIK, KK, NPWP, phone, e-mail,
postal code and region; the plain Python parse for numbers, dates, times and choices) run
over the same 40 values. What the engine adds on top (normalising Indonesian notations,
visibility, computed values, required-if and constraints, the checklist, fee and SLA,
building entries) is the ratio; goal ≤ 3.

``form_open_40`` (building the form widgets) is the UI's benchmark, not this module's.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bench.harness import Result, cost_result, time_calls
from mppdesk.forms import validators
from mppdesk.forms.catalog import Catalog, load_catalog
from mppdesk.forms.engine import evaluate

TODAY = date(2025, 6, 15)
CODE = "bench/layanan-40"


def _label(text: str) -> dict[str, str]:
    return {"id": text, "en": text}


def _choices(*values: str) -> list[dict[str, Any]]:
    return [{"value": v, "label": _label(v)} for v in values]


_SHARED: list[dict[str, Any]] = [
    {"id": "nik", "type": "nik", "label": _label("NIK")},
    {"id": "no_kk", "type": "kk", "label": _label("Nomor KK")},
    {"id": "nama", "type": "text", "max_length": 100, "label": _label("Nama lengkap")},
    {"id": "tempat_lahir", "type": "text", "max_length": 60, "label": _label("Tempat lahir")},
    {
        "id": "tanggal_lahir",
        "type": "date",
        "label": _label("Tanggal lahir"),
        "constraint": "days_between(value, today()) >= 0",
    },
    {
        "id": "jenis_kelamin",
        "type": "choice",
        "label": _label("Jenis kelamin"),
        "choices": _choices("L", "P"),
    },
    {
        "id": "status_perkawinan",
        "type": "choice",
        "label": _label("Status perkawinan"),
        "choices": _choices("belum_kawin", "kawin", "cerai_hidup", "cerai_mati"),
    },
    {"id": "alamat", "type": "text", "max_length": 150, "label": _label("Alamat")},
    {
        "id": "wilayah",
        "type": "region",
        "region_level": "village",
        "label": _label("Desa/kelurahan"),
    },
    {"id": "kode_pos", "type": "postalcode", "label": _label("Kode pos")},
    {"id": "no_hp", "type": "phone", "label": _label("Nomor HP")},
    {"id": "email", "type": "email", "label": _label("E-mail")},
    {"id": "npwp", "type": "npwp", "label": _label("NPWP")},
]

_FIELDS: list[dict[str, Any]] = [
    {
        "id": "jenis",
        "type": "choice",
        "required": True,
        "label": _label("Jenis permohonan"),
        "choices": _choices("baru", "hilang", "rusak", "perubahan"),
    },
    {"id": "alasan", "type": "longtext", "required": True, "label": _label("Alasan")},
    {
        "id": "no_laporan",
        "type": "text",
        "label": _label("Nomor laporan polisi"),
        "show_if": "jenis == 'hilang'",
        "required": True,
    },
    {
        "id": "tanggal_kejadian",
        "type": "date",
        "label": _label("Tanggal kejadian"),
        "show_if": "jenis == 'hilang'",
        "constraint": "days_between(value, today()) <= 30",
    },
    {
        "id": "elemen",
        "type": "multichoice",
        "label": _label("Elemen berubah"),
        "show_if": "jenis == 'perubahan'",
        "choices": _choices("nama", "alamat", "agama", "pekerjaan"),
    },
    {
        "id": "usia",
        "type": "integer",
        "label": _label("Usia"),
        "compute": "age(tanggal_lahir)",
        "constraint": "value >= 17 or status_perkawinan != 'belum_kawin'",
    },
    {
        "id": "jumlah_lembar",
        "type": "integer",
        "required": True,
        "min": 1,
        "max": 10,
        "label": _label("Jumlah lembar"),
    },
    {"id": "harga_satuan", "type": "money", "label": _label("Harga satuan"), "default": 10000},
    {
        "id": "total",
        "type": "money",
        "label": _label("Total"),
        "compute": "jumlah_lembar * harga_satuan",
    },
    {"id": "berat", "type": "decimal", "label": _label("Berat (kg)"), "min": 0},
    {
        "id": "tinggi",
        "type": "integer",
        "label": _label("Tinggi (cm)"),
        "constraint": "value >= 100 and value <= 250",
    },
    {"id": "jam_datang", "type": "time", "label": _label("Jam datang")},
    {"id": "percepatan", "type": "yesno", "label": _label("Percepatan")},
    {
        "id": "alamat_kirim",
        "type": "text",
        "label": _label("Alamat kirim"),
        "required": "percepatan == True",
    },
    {"id": "nik_ayah", "type": "nik", "label": _label("NIK ayah")},
    {
        "id": "nama_ayah",
        "type": "text",
        "label": _label("Nama ayah"),
        "required": "not is_empty(nik_ayah)",
    },
    {"id": "nik_ibu", "type": "nik", "label": _label("NIK ibu")},
    {
        "id": "nama_ibu",
        "type": "text",
        "label": _label("Nama ibu"),
        "required": "not is_empty(nik_ibu)",
    },
    {"id": "hp_darurat", "type": "phone", "label": _label("HP darurat")},
    {"id": "email_kantor", "type": "email", "label": _label("E-mail kantor")},
    {
        "id": "kecamatan_kerja",
        "type": "region",
        "region_level": "district",
        "label": _label("Kecamatan kerja"),
    },
    {
        "id": "pekerjaan",
        "type": "choice",
        "label": _label("Pekerjaan"),
        "choices": _choices("pns", "swasta", "wiraswasta", "lainnya"),
    },
    {
        "id": "pekerjaan_lain",
        "type": "text",
        "label": _label("Pekerjaan lain"),
        "show_if": "pekerjaan == 'lainnya'",
        "required": True,
    },
    {"id": "penghasilan", "type": "money", "label": _label("Penghasilan"), "max": 1000000000},
    {"id": "tanggal_mulai", "type": "date", "label": _label("Mulai"), "default_expr": "today()"},
    {
        "id": "tanggal_selesai",
        "type": "date",
        "label": _label("Selesai"),
        "constraint": "value >= tanggal_mulai",
    },
    {
        "id": "setuju",
        "type": "yesno",
        "required": True,
        "label": _label("Pernyataan"),
        "constraint": "value == True",
    },
]

_REQUIREMENTS = [
    {"id": "fc-kk", "label": _label("Fotokopi KK"), "kind": "copy"},
    {"id": "ktp-el", "label": _label("KTP-el"), "kind": "shown"},
    {
        "id": "laporan",
        "label": _label("Laporan polisi"),
        "kind": "original",
        "condition": "jenis == 'hilang'",
        "condition_text": _label("jika hilang"),
    },
    {
        "id": "akta",
        "label": _label("Akta"),
        "kind": "copy",
        "condition": "any_of(elemen, 'nama', 'agama')",
        "condition_text": _label("jika nama/agama berubah"),
    },
]

APPLICANT = {
    "nik": "3174010105900001",
    "no_kk": "3174010101150003",
    "nama": "Budi Santoso",
    "tempat_lahir": "Jakarta",
    "tanggal_lahir": "1990-05-01",
    "jenis_kelamin": "L",
    "status_perkawinan": "kawin",
    "alamat": "Jl. Tebet Timur Dalam II No. 5",
    "wilayah": "3174011001",
    "kode_pos": "12820",
    "no_hp": "0812-3456-7890",
    "email": "budi@example.co.id",
    "npwp": "3174010105900001",
}
ANSWERS = {
    "jenis": "hilang",
    "alasan": "Dompet hilang di KRL.",
    "no_laporan": "LP/B/123/VI/2025",
    "tanggal_kejadian": "2025-06-10",
    "jumlah_lembar": "2",
    "berat": "62,5",
    "tinggi": 172,
    "jam_datang": "09.30",
    "percepatan": "ya",
    "alamat_kirim": "Jl. Tebet Raya 1",
    "nik_ayah": "3174010101600003",
    "nama_ayah": "Slamet",
    "nik_ibu": "3174014202620004",
    "nama_ibu": "Siti",
    "hp_darurat": "+62 811 1234 567",
    "email_kantor": "budi@kantor.go.id",
    "kecamatan_kerja": "31.74.01",
    "pekerjaan": "swasta",
    "penghasilan": "Rp 8.500.000",
    "tanggal_mulai": "2025-06-15",
    "tanggal_selesai": "2025-07-15",
    "setuju": True,
}
CHECKLIST = {"fc-kk": "copy", "ktp-el": "shown", "laporan": "original"}


def build_catalog(root: Path) -> Catalog:
    """The 40-field service (13 shared + 27 own) written as YAML and loaded for real."""
    (root / "services" / "bench").mkdir(parents=True)
    agency = {"code": "bench", "name": _label("Bench"), "short_name": "B"}
    (root / "agencies.yaml").write_text(yaml.safe_dump({"agencies": [agency]}), encoding="utf-8")
    (root / "shared-fields.yaml").write_text(yaml.safe_dump({"fields": _SHARED}), encoding="utf-8")
    service = {
        "id": "layanan-40",
        "agency": "bench",
        "name": _label("Layanan 40 isian"),
        "shared_fields": [
            {"field": f["id"], "required": f["id"] in ("nik", "nama", "tanggal_lahir")}
            for f in _SHARED
        ],
        "fields": _FIELDS,
        "requirements": _REQUIREMENTS,
        "fee": {"amount_expr": "total + (100000 if percepatan else 0)"},
        "sla": {"working_days_expr": "1 if percepatan else 5"},
        "product": _label("Produk"),
        "examples": [
            {"name": "isi", "applicant": APPLICANT, "answers": ANSWERS, "checklist": CHECKLIST}
        ],
    }
    path = root / "services" / "bench" / "layanan-40.yaml"
    path.write_text(yaml.safe_dump(service, allow_unicode=True), encoding="utf-8")
    return load_catalog([root])


def _floor_checks(catalog: Catalog) -> list[tuple[Any, tuple[Any, ...]]]:
    """One bare check per field and value: what cannot be avoided."""
    service = catalog.service(CODE)
    definitions = [catalog.shared_fields[r.field] for r in service.shared_fields] + list(
        service.fields
    )
    values = {**APPLICANT, **ANSWERS}
    plain = {
        "text": str.strip,
        "longtext": str.strip,
        "file": str.strip,
        "integer": lambda v: int(str(v).replace(".", "")),
        "money": lambda v: int("".join(c for c in str(v) if c.isdigit())),
        "decimal": lambda v: float(str(v).replace(",", ".")),
        "date": date.fromisoformat,
        "time": lambda v: v.replace(".", ":").split(":"),
        "yesno": lambda v: v in (True, "ya"),
    }
    checks: list[tuple[Any, tuple[Any, ...]]] = []
    for definition in definitions:
        value = values.get(definition.id)
        if value is None:
            continue
        kind = definition.type.value
        if kind in ("choice", "multichoice"):
            options = frozenset(c.value for c in definition.choices or ())
            checks.append((options.__contains__, (value,)))
        elif kind == "region":
            level = definition.region_level.value if definition.region_level else None
            checks.append((validators.check_region, (value, level)))
        elif kind in ("nik", "kk", "npwp", "phone", "email", "postalcode"):
            check = {
                "nik": validators.check_nik,
                "kk": validators.check_kk,
                "npwp": validators.check_npwp,
                "phone": validators.check_phone,
                "email": validators.check_email,
                "postalcode": validators.check_postal_code,
            }[kind]
            checks.append((check, (value,)))
        else:
            checks.append((plain[kind], (value,)))
    return checks


def run(quick: bool) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="bench-forms-") as directory:
        catalog = build_catalog(Path(directory))
        service = catalog.service(CODE)
        field_count = len(service.shared_fields) + len(service.fields)
        result = evaluate(catalog, CODE, APPLICANT, ANSWERS, CHECKLIST, today=TODAY)
        if not result.ok:
            raise RuntimeError(f"the bench form does not validate: {result.errors}")
        checks = _floor_checks(catalog)

        def engine() -> None:
            evaluate(catalog, CODE, APPLICANT, ANSWERS, CHECKLIST, today=TODAY)

        def floor() -> None:
            for check, args in checks:
                check(*args)

        repeat = 300 if quick else 3000
        # Interleave the two so that machine noise hits both alike.
        samples: list[float] = []
        floor_samples: list[float] = []
        for _ in range(5):
            samples += time_calls(engine, repeat // 5, warmup=20)
            floor_samples += time_calls(floor, repeat // 5, warmup=20)
        return [
            cost_result(
                "form_evaluate_40",
                samples,
                floor_samples,
                goal=3.0,
                extra={
                    "fields": field_count,
                    "floor_checks": len(checks),
                    "entries": len(result.entries),
                },
                size=f"{field_count} fields",
            )
        ]
