"""The form engine, rule by rule and field type by field type.

Every case is a small service written as YAML into tmp_path and loaded by the real loader.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from forms_catalog_factory import (
    NIK_FEMALE_1990_05_01,
    NIK_MALE_1990_05_01,
    VILLAGE,
    choices,
    field,
    label,
    load,
    service,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mppdesk.forms.catalog import Catalog
from mppdesk.forms.engine import (
    Entry,
    EntryStatus,
    FormResult,
    evaluate,
    evaluate_shared,
    normalize_value,
)

TODAY = date(2025, 6, 15)
# Generated cases per property test; MPPDESK_SLOW_SCALE raises it for long runs.
EXAMPLES = int(50 * float(os.environ.get("MPPDESK_SLOW_SCALE", "1")))
CODE = "uji/layanan"

OK = None
REQUIRED = EntryStatus.REQUIRED
INVALID = EntryStatus.INVALID
WARNING = EntryStatus.WARNING


def form(tmp_path: Path, *fields: dict[str, Any], **kwargs: Any) -> Catalog:
    return load(tmp_path, service(fields=list(fields), **kwargs))


def run(
    catalog: Catalog,
    answers: Any = None,
    applicant: Any = None,
    checklist: Any = None,
    today: date = TODAY,
) -> FormResult:
    return evaluate(catalog, CODE, applicant or {}, answers or {}, checklist, today=today)


def status_at(result: FormResult, path: str) -> EntryStatus | None:
    """The worst status at a path (None: OK)."""
    statuses = {e.status for e in result.at(path)}
    for status in (INVALID, REQUIRED, WARNING):
        if status in statuses:
            return status
    return None


def only(result: FormResult, path: str) -> Entry:
    entries = result.at(path)
    assert len(entries) == 1, entries
    return entries[0]


# --- field types -----------------------------------------------------------------------------


def one_field(tmp_path: Path, type: str, raw: Any, **rules: Any) -> tuple[FormResult, Any]:
    catalog = form(tmp_path, field("isian", type, **rules))
    result = run(catalog, {"isian": raw})
    return result, result.answers.get("isian")


@pytest.mark.parametrize(
    ("type", "raw", "expected", "rules"),
    [
        ("text", "  Budi Santoso  ", "Budi Santoso", {}),
        ("text", 42, "42", {}),
        ("text", "baris\nkedua", "baris kedua", {}),
        ("longtext", "baris\nkedua", "baris\nkedua", {}),
        ("file", "scan-kk.pdf", "scan-kk.pdf", {}),
        ("integer", 12, 12, {}),
        ("integer", "12", 12, {}),
        ("integer", " 1.500 ", 1500, {}),
        ("integer", 12.0, 12, {}),
        ("integer", "-3", -3, {}),
        ("decimal", "1,5", 1.5, {}),
        ("decimal", "1.234,5", 1234.5, {}),
        ("decimal", "2.5", 2.5, {}),
        ("decimal", "1.500", 1500.0, {}),  # Indonesian thousands grouping
        ("decimal", 3, 3.0, {}),
        ("money", "1.500.000", 1500000, {}),
        ("money", "Rp 1.500.000,-", 1500000, {}),
        ("money", "Rp1.500.000,00", 1500000, {}),
        ("money", "rp. 50.000", 50000, {}),
        ("money", 350000, 350000, {}),
        ("date", "1990-05-01", "1990-05-01", {}),
        ("date", "01-05-1990", "1990-05-01", {}),
        ("date", "1/5/1990", "1990-05-01", {}),
        ("date", date(1990, 5, 1), "1990-05-01", {}),
        ("time", "09:30", "09:30", {}),
        ("time", "9:30", "09:30", {}),
        ("time", "14.05", "14:05", {}),
        ("choice", "hilang", "hilang", {"choices": choices("baru", "hilang")}),
        ("choice", "HILANG", "hilang", {"choices": choices("baru", "hilang")}),
        ("choice", 1, "1", {"choices": choices("1", "2")}),
        ("multichoice", ["a", "c"], ["a", "c"], {"choices": choices("a", "b", "c")}),
        ("multichoice", ["a", "a", "B"], ["a", "b"], {"choices": choices("a", "b", "c")}),
        ("yesno", True, True, {}),
        ("yesno", "ya", True, {}),
        ("yesno", "Tidak", False, {}),
        ("yesno", "yes", True, {}),
        ("yesno", "no", False, {}),
        ("yesno", 0, False, {}),
        ("nik", "3174 0101 0590 0001", NIK_MALE_1990_05_01, {}),
        ("phone", "0812-3456-7890", "+6281234567890", {}),
        ("email", "Budi@Example.CO.ID", "Budi@example.co.id", {}),
        ("postalcode", "12820", "12820", {}),
        ("npwp", "3174010105900001", "3174010105900001", {}),
        ("region", "31.74.01.1001", VILLAGE, {"region_level": "village"}),
        ("region", "31", "31", {"region_level": "province"}),
    ],
)
def test_values_are_normalised_by_type(tmp_path, type, raw, expected, rules):
    result, value = one_field(tmp_path, type, raw, **rules)
    assert result.entries == []
    assert value == expected


@pytest.mark.parametrize(
    ("type", "raw", "fragment", "rules"),
    [
        ("text", True, "harus berupa teks", {}),
        ("text", ["a"], "harus berupa teks", {}),
        ("text", "a\x00b", "NUL", {}),
        ("integer", "1,5", "bilangan bulat", {}),
        ("integer", 1.5, "bilangan bulat", {}),
        ("integer", True, "bukan ya/tidak", {}),
        ("integer", "1.50", "bilangan bulat", {}),
        ("integer", "9" * 30, "bilangan bulat", {}),
        ("integer", 10**30, "terlalu besar", {}),
        ("decimal", "abc", "harus berupa angka", {}),
        ("decimal", float("nan"), "harus berupa angka", {}),
        ("decimal", float("inf"), "harus berupa angka", {}),
        ("money", "-5.000", "tidak boleh negatif", {}),
        ("money", "1,5", "rupiah", {}),
        ("money", "Rp", "rupiah", {}),
        ("date", "2025-02-30", "tanggal", {}),
        ("date", "30/02/2025", "tanggal", {}),
        ("date", 20250101, "tanggal", {}),
        ("time", "24:00", "jam", {}),
        ("time", "9", "jam", {}),
        ("time", 630, "jam", {}),
        (
            "choice",
            "lain",
            "pilihan 'lain' tidak ada (pilihan: baru, hilang)",
            {"choices": choices("baru", "hilang")},
        ),
        ("choice", ["baru"], "tidak ada", {"choices": choices("baru", "hilang")}),
        ("multichoice", "a", "daftar pilihan", {"choices": choices("a", "b")}),
        ("multichoice", ["a", "z"], "'z' tidak ada", {"choices": choices("a", "b")}),
        ("yesno", "mungkin", "ya atau tidak", {}),
        ("yesno", 2, "ya atau tidak", {}),
        ("nik", "12345", "16 digit", {}),
        ("phone", "0812", "terlalu pendek", {}),
        ("email", "budi@", "Domain", {}),
        ("postalcode", "0123", "5", {}),
        ("npwp", "000000000000000", "nol", {}),
        ("region", "9999999999", "tidak ada", {"region_level": "village"}),
        ("region", "3174", "tingkat desa/kelurahan", {"region_level": "village"}),
        ("region", "31-74", "2, 4, 6 atau 10", {"region_level": "regency"}),
        ("group", "baris", "daftar baris", {"fields": [field("a")]}),
    ],
)
def test_values_that_do_not_fit_their_type_are_invalid_and_name_the_label(
    tmp_path, type, raw, fragment, rules
):
    result, value = one_field(tmp_path, type, raw, **rules)
    entry = only(result, "answers.isian")
    assert entry.status == INVALID
    assert entry.field == "isian"
    assert entry.message.id.startswith("Isian")  # the field's label
    assert fragment in entry.message.id
    assert entry.message.en.startswith("Isian (en)")
    assert value is None


def test_validator_warnings_become_warning_entries_and_keep_the_value(tmp_path):
    result, value = one_field(tmp_path, "email", "budi@gmial.com")
    entry = only(result, "answers.isian")
    assert entry.status == WARNING
    assert "gmail.com" in entry.message.id
    assert value == "budi@gmial.com"
    assert result.ok


@pytest.mark.parametrize("raw", [None, "", "   ", []])
def test_empty_values_are_unanswered(tmp_path, raw):
    catalog = form(
        tmp_path,
        field(
            "isian",
            "multichoice" if raw == [] else "text",
            required=True,
            **({"choices": choices("a")} if raw == [] else {}),
        ),
    )
    result = run(catalog, {"isian": raw})
    assert status_at(result, "answers.isian") == REQUIRED
    assert "isian" not in result.answers


# --- bounds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type", "rules", "raw", "fragment"),
    [
        ("integer", {"min": 1, "max": 10}, 0, "paling sedikit 1."),
        ("integer", {"min": 1, "max": 10}, 11, "paling banyak 10."),
        ("decimal", {"min": 0.5}, "0,25", "paling sedikit 0,5."),
        ("money", {"min": 10000}, "5.000", "paling sedikit Rp10.000."),
        ("money", {"max": 1500000}, "2.000.000", "paling banyak Rp1.500.000."),
        ("date", {"min": "2000-01-01"}, "31-12-1999", "paling awal 2000-01-01."),
        ("date", {"max": "2000-01-01"}, "2000-01-02", "paling akhir 2000-01-01."),
        ("text", {"max_length": 3}, "abcd", "paling panjang 3 karakter (ada 4)."),
    ],
)
def test_bounds(tmp_path, type, rules, raw, fragment):
    result, _ = one_field(tmp_path, type, raw, **rules)
    entry = only(result, "answers.isian")
    assert entry.status == INVALID
    assert entry.message.id == f"Isian {fragment}"


@pytest.mark.parametrize(
    ("type", "rules", "raw"),
    [
        ("integer", {"min": 1, "max": 10}, 10),
        ("money", {"min": 10000}, "10.000"),
        ("date", {"min": "2000-01-01", "max": "2000-12-31"}, "2000-01-01"),
        ("text", {"max_length": 3}, "abc"),
    ],
)
def test_values_on_a_bound_are_accepted(tmp_path, type, rules, raw):
    result, _ = one_field(tmp_path, type, raw, **rules)
    assert result.entries == []


# --- required, show_if, constraint -----------------------------------------------------------


def test_required_field_left_empty(tmp_path):
    result = run(form(tmp_path, field("alasan", required=True)))
    entry = only(result, "answers.alasan")
    assert (entry.status, entry.field) == (REQUIRED, "alasan")
    assert entry.message.id == "Alasan wajib diisi."
    assert entry.message.en == "Alasan (en) is required."
    assert not result.ok
    assert result.errors == [entry]


def test_required_if_expression(tmp_path):
    catalog = form(
        tmp_path,
        field("jenis", "choice", choices=choices("baru", "hilang")),
        field("no_laporan", required="jenis == 'hilang'"),
    )
    assert status_at(run(catalog, {"jenis": "baru"}), "answers.no_laporan") is OK
    assert status_at(run(catalog, {"jenis": "hilang"}), "answers.no_laporan") == REQUIRED
    assert run(catalog, {"jenis": "hilang", "no_laporan": "LP/1"}).ok


def test_show_if_false_hides_drops_the_answer_and_is_never_required(tmp_path):
    catalog = form(
        tmp_path,
        field("jenis", "choice", choices=choices("baru", "hilang")),
        field("no_laporan", "integer", show_if="jenis == 'hilang'", required=True),
    )
    result = run(catalog, {"jenis": "baru", "no_laporan": "bukan angka"})
    assert result.entries == []
    assert result.answers == {"jenis": "baru"}
    assert "answers.no_laporan" not in result.visible
    assert "answers.jenis" in result.visible

    shown = run(catalog, {"jenis": "hilang"})
    assert "answers.no_laporan" in shown.visible
    assert status_at(shown, "answers.no_laporan") == REQUIRED


def test_a_hidden_field_reads_as_unanswered_further_on(tmp_path):
    catalog = form(
        tmp_path,
        field("punya_npwp", "yesno"),
        field("npwp_lama", show_if="punya_npwp"),
        field("catatan", show_if="not is_empty(npwp_lama)", required=True),
        field("salinan", compute="npwp_lama"),
    )
    result = run(catalog, {"punya_npwp": False, "npwp_lama": "123", "catatan": "x"})
    assert result.answers == {"punya_npwp": False}
    assert result.visible == {"answers.punya_npwp", "answers.salinan"}


def test_fields_may_refer_to_fields_defined_further_down(tmp_path):
    catalog = form(
        tmp_path,
        field("keterangan", show_if="total > 100"),
        field("total", "integer", compute="jumlah * 50"),
        field("jumlah", "integer"),
    )
    result = run(catalog, {"jumlah": 3, "keterangan": "ok"})
    assert result.answers == {"keterangan": "ok", "total": 150, "jumlah": 3}


def test_constraint_false_uses_the_constraint_message(tmp_path):
    catalog = form(
        tmp_path,
        field(
            "tinggi",
            "integer",
            constraint="value >= 100 and value <= 250",
            constraint_message={"id": "Tinggi badan 100-250 cm.", "en": "Height 100-250 cm."},
        ),
    )
    entry = only(run(catalog, {"tinggi": 90}), "answers.tinggi")
    assert entry.status == INVALID
    assert entry.message.id == "Tinggi badan 100-250 cm."
    assert run(catalog, {"tinggi": 170}).ok


def test_constraint_without_message_gets_a_generic_one_naming_the_label(tmp_path):
    catalog = form(tmp_path, field("kode", constraint="len(value) == 3"))
    entry = only(run(catalog, {"kode": "ab"}), "answers.kode")
    assert entry.message.id == "Kode tidak memenuhi syarat isian."


def test_constraint_sees_other_fields_and_is_skipped_when_empty(tmp_path):
    catalog = form(
        tmp_path,
        field("mulai", "date"),
        field("selesai", "date", constraint="value >= mulai"),
    )
    assert (
        status_at(run(catalog, {"mulai": "2025-01-10", "selesai": "2025-01-01"}), "answers.selesai")
        == INVALID
    )
    assert run(catalog, {"mulai": "2025-01-10", "selesai": "2025-01-10"}).ok
    assert run(catalog, {"mulai": "2025-01-10"}).ok


def test_constraint_with_today_and_dates(tmp_path):
    catalog = form(
        tmp_path, field("kejadian", "date", constraint="days_between(value, today()) <= 30")
    )
    assert run(catalog, {"kejadian": "2025-06-01"}).ok
    assert not run(catalog, {"kejadian": "2025-04-01"}).ok


# --- compute, default, readonly --------------------------------------------------------------


def test_compute_overwrites_a_typed_value(tmp_path):
    catalog = form(
        tmp_path,
        field("jumlah", "integer"),
        field("total", "money", compute="jumlah * 50000"),
    )
    result = run(catalog, {"jumlah": 3, "total": 1})
    assert result.answers["total"] == 150000
    assert result.entries == []


def test_compute_of_a_date_is_stored_as_iso(tmp_path):
    catalog = form(tmp_path, field("hari_ini", "date", compute="today()"))
    assert run(catalog).answers["hari_ini"] == "2025-06-15"


def test_compute_with_unanswered_inputs_is_unanswered(tmp_path):
    catalog = form(
        tmp_path, field("jumlah", "integer"), field("total", "money", compute="jumlah * 5")
    )
    result = run(catalog)
    assert "total" not in result.answers
    assert result.entries == []


def test_compute_result_that_does_not_fit_is_a_warning(tmp_path):
    catalog = form(tmp_path, field("total", "integer", compute="'banyak'"))
    entry = only(run(catalog), "answers.total")
    assert entry.status == WARNING
    assert "tidak sesuai jenis isian" in entry.message.id


def test_computed_field_constraint_checks_the_computed_value(tmp_path):
    catalog = load(
        tmp_path,
        service(
            shared=["tanggal_lahir"],
            fields=[
                field("usia", "integer", compute="age(tanggal_lahir)", constraint="value >= 12")
            ],
        ),
    )
    young = run(catalog, applicant={"tanggal_lahir": "2020-01-01"})
    assert status_at(young, "answers.usia") == INVALID
    assert young.answers["usia"] == 5
    assert run(catalog, applicant={"tanggal_lahir": "1990-01-01"}).ok


def test_default_fills_an_unanswered_field_only(tmp_path):
    catalog = form(
        tmp_path,
        field("kelas", "choice", choices=choices("1", "2", "3"), default="3", required=True),
        field("jumlah", "integer", default_expr="1 + 1"),
    )
    assert run(catalog).answers == {"kelas": "3", "jumlah": 2}
    assert run(catalog, {"kelas": "1", "jumlah": 5}).answers == {"kelas": "1", "jumlah": 5}
    assert run(catalog).ok


def test_default_is_not_used_when_the_typed_value_is_invalid(tmp_path):
    catalog = form(tmp_path, field("jumlah", "integer", default=1))
    result = run(catalog, {"jumlah": "x"})
    assert status_at(result, "answers.jumlah") == INVALID
    assert "jumlah" not in result.answers


def test_readonly_ignores_a_typed_value_and_keeps_its_default(tmp_path):
    catalog = form(tmp_path, field("loket", readonly=True, default="A"))
    assert run(catalog, {"loket": "B"}).answers == {"loket": "A"}


# --- unknown keys ----------------------------------------------------------------------------


def test_unknown_answer_keys_are_invalid_and_named(tmp_path):
    catalog = form(tmp_path, field("alasan"))
    result = run(catalog, {"alasan": "x", "alsan": "typo"})
    entry = only(result, "answers.alsan")
    assert entry.status == INVALID
    assert entry.field == "alsan"
    assert "'alsan': field tidak dikenal" in entry.message.id
    assert result.answers == {"alasan": "x"}


def test_shared_field_typed_into_answers_is_unknown_there(tmp_path):
    catalog = load(tmp_path, service(shared=["nama"], fields=[field("alasan")]))
    assert status_at(run(catalog, {"nama": "Budi"}), "answers.nama") == INVALID


def test_unknown_applicant_keys_are_invalid_but_other_shared_fields_are_left_alone(tmp_path):
    catalog = load(tmp_path, service(shared=["nama"]))
    result = run(catalog, applicant={"nama": "Budi", "no_hp": "bukan nomor", "hobi": "x"})
    assert status_at(result, "applicant.hobi") == INVALID
    assert result.at("applicant.no_hp") == []  # a shared field this service does not receive
    assert result.applicant == {"nama": "Budi"}


@pytest.mark.parametrize("bad", [["a"], "teks", 5])
def test_answers_that_are_not_a_mapping_are_one_invalid_entry(tmp_path, bad):
    catalog = form(tmp_path, field("alasan"))
    result = evaluate(catalog, CODE, {}, bad, today=TODAY)
    assert status_at(result, "answers") == INVALID


def test_unknown_service_is_a_key_error(tmp_path):
    catalog = form(tmp_path)
    with pytest.raises(KeyError, match="uji/tidak-ada"):
        evaluate(catalog, "uji/tidak-ada", {}, {})


# --- shared fields ---------------------------------------------------------------------------


def test_shared_fields_required_by_the_service(tmp_path):
    catalog = load(
        tmp_path,
        service(
            shared=[
                {"field": "nama", "required": True},
                "tanggal_lahir",
                {"field": "no_hp", "required": "is_empty(nama)"},
            ],
        ),
    )
    result = run(catalog)
    assert status_at(result, "applicant.nama") == REQUIRED
    assert status_at(result, "applicant.tanggal_lahir") is OK
    assert status_at(result, "applicant.no_hp") == REQUIRED
    assert run(catalog, applicant={"nama": "Budi"}).ok


def test_shared_field_defaults_and_show_if_apply(tmp_path):
    catalog = load(
        tmp_path, service(shared=["kewarganegaraan", {"field": "no_paspor", "required": True}])
    )
    citizen = run(catalog)
    assert citizen.applicant == {"kewarganegaraan": "WNI"}
    assert citizen.ok
    foreigner = run(catalog, applicant={"kewarganegaraan": "WNA"})
    assert status_at(foreigner, "applicant.no_paspor") == REQUIRED


def test_service_expressions_read_shared_fields(tmp_path):
    catalog = load(
        tmp_path,
        service(
            shared=["tanggal_lahir"],
            fields=[field("wali", show_if="age(tanggal_lahir) < 17", required=True)],
        ),
    )
    assert (
        status_at(run(catalog, applicant={"tanggal_lahir": "2012-01-01"}), "answers.wali")
        == REQUIRED
    )
    assert run(catalog, applicant={"tanggal_lahir": "1990-01-01"}).ok


def test_nik_is_checked_against_birth_date_and_sex(tmp_path):
    catalog = load(tmp_path, service(shared=["nik", "tanggal_lahir", "jenis_kelamin"]))
    agreeing = run(
        catalog,
        applicant={
            "nik": NIK_FEMALE_1990_05_01,
            "tanggal_lahir": "1990-05-01",
            "jenis_kelamin": "P",
        },
    )
    assert agreeing.entries == []
    result = run(
        catalog,
        applicant={"nik": NIK_MALE_1990_05_01, "tanggal_lahir": "1991-05-01", "jenis_kelamin": "P"},
    )
    warnings = result.at("applicant.nik")
    assert [w.status for w in warnings] == [WARNING, WARNING]
    assert any("Tanggal lahir pada NIK" in w.message.id for w in warnings)
    assert any("Jenis kelamin pada NIK" in w.message.id for w in warnings)
    assert result.ok  # a NIK never changes: a mismatch is for the officer to decide


def test_a_service_nik_field_is_not_compared_with_the_applicant(tmp_path):
    catalog = load(tmp_path, service(shared=["tanggal_lahir"], fields=[field("nik_ayah", "nik")]))
    result = run(catalog, {"nik_ayah": NIK_MALE_1990_05_01}, {"tanggal_lahir": "2010-01-01"})
    assert result.entries == []


def test_postal_code_is_checked_against_the_village(tmp_path):
    catalog = load(tmp_path, service(shared=["wilayah", "kode_pos"]))
    assert run(catalog, applicant={"wilayah": VILLAGE, "kode_pos": "12820"}).entries == []
    other = run(catalog, applicant={"wilayah": VILLAGE, "kode_pos": "40115"})
    assert status_at(other, "applicant.kode_pos") == WARNING


# --- groups ----------------------------------------------------------------------------------


def group_form(tmp_path: Path, **rules: Any) -> Catalog:
    return form(
        tmp_path,
        field("nama", "text"),
        field(
            "saksi",
            "group",
            fields=[
                field("nama", required=True),
                field("nik", "nik"),
                field("hubungan", "choice", choices=choices("keluarga", "tetangga")),
                field("keterangan", show_if="hubungan == 'tetangga'", required=True),
                field("sama", "yesno", compute="nama == induk"),
            ],
            **rules,
        ),
        field("induk"),
    )


def test_group_rows_are_validated_with_row_paths(tmp_path):
    catalog = group_form(tmp_path)
    result = run(
        catalog,
        {
            "saksi": [
                {"nama": "Ani", "nik": NIK_FEMALE_1990_05_01, "hubungan": "keluarga"},
                {"nik": "123", "hubungan": "tetangga"},
            ]
        },
    )
    assert status_at(result, "answers.saksi[1].nama") == REQUIRED
    assert status_at(result, "answers.saksi[1].nik") == INVALID
    assert status_at(result, "answers.saksi[1].keterangan") == REQUIRED
    assert status_at(result, "answers.saksi[0].keterangan") is OK
    assert "answers.saksi[0].keterangan" not in result.visible
    assert "answers.saksi[1].keterangan" in result.visible
    assert only(result, "answers.saksi[1].nama").field == "nama"
    assert result.answers["saksi"][0] == {
        "nama": "Ani",
        "nik": NIK_FEMALE_1990_05_01,
        "hubungan": "keluarga",
        "sama": False,
    }


def test_row_fields_shadow_outer_names_and_see_the_rest(tmp_path):
    catalog = group_form(tmp_path)
    result = run(
        catalog, {"nama": "Luar", "induk": "Ani", "saksi": [{"nama": "Ani"}, {"nama": "Budi"}]}
    )
    assert [row["sama"] for row in result.answers["saksi"]] == [True, False]


@pytest.mark.parametrize(
    ("rows", "rules", "status", "fragment"),
    [
        ([], {"min_rows": 2}, REQUIRED, "minimal 2 baris"),
        ([{"nama": "a"}], {"min_rows": 2}, INVALID, "minimal 2 baris"),
        ([{"nama": "a"}] * 3, {"max_rows": 2}, INVALID, "paling banyak 2 baris (ada 3)"),
        (None, {"required": True}, REQUIRED, "wajib diisi"),
    ],
)
def test_group_row_counts(tmp_path, rows, rules, status, fragment):
    result = run(group_form(tmp_path, **rules), {"saksi": rows})
    entry = only(result, "answers.saksi")
    assert entry.status == status
    assert fragment in entry.message.id


def test_group_rows_that_are_not_mappings_and_unknown_row_keys(tmp_path):
    result = run(group_form(tmp_path), {"saksi": ["Ani", {"nama": "Budi", "umur": 3}]})
    assert status_at(result, "answers.saksi[0]") == INVALID
    unknown = only(result, "answers.saksi[1].umur")
    assert unknown.status == INVALID
    assert "di Saksi" in unknown.message.id
    assert result.answers["saksi"] == [{"nama": "Budi", "sama": False}]


def test_entries_follow_the_form_order_with_rows_inside_their_group(tmp_path):
    catalog = form(
        tmp_path,
        field("pertama", required=True),
        field("grup", "group", fields=[field("isi", required=True)]),
        field("terakhir", required=True),
    )
    result = run(catalog, {"grup": [{}]})
    assert [e.path for e in result.entries] == [
        "answers.pertama",
        "answers.grup[0].isi",
        "answers.terakhir",
    ]


def test_outer_expressions_can_count_rows(tmp_path):
    catalog = form(
        tmp_path,
        field("anak", "group", fields=[field("nama")]),
        field("jumlah_anak", "integer", compute="len(anak)"),
    )
    assert run(catalog, {"anak": [{"nama": "a"}, {"nama": "b"}]}).answers["jumlah_anak"] == 2
    assert run(catalog).answers["jumlah_anak"] == 0


# --- expression failures at run time ---------------------------------------------------------


def test_rules_that_fail_at_run_time_fall_back_to_the_safe_side(tmp_path):
    catalog = form(
        tmp_path,
        field("teks"),
        field("tampil", show_if="teks > 5"),
        field("wajib", required="teks > 5"),
        field("syarat", constraint="value > 5"),
        field("rumus", "integer", compute="teks + 1"),
    )
    result = run(catalog, {"teks": "abc", "syarat": "x"})
    assert "answers.tampil" in result.visible
    assert status_at(result, "answers.tampil") == WARNING
    assert {e.status for e in result.at("answers.wajib")} == {WARNING, REQUIRED}
    assert status_at(result, "answers.syarat") == INVALID
    assert (
        "syarat isian (constraint) tidak dapat dihitung"
        in only(result, "answers.syarat").message.id
    )
    assert status_at(result, "answers.rumus") == WARNING
    assert "rumus" not in result.answers


def test_an_expression_that_does_not_compile_does_not_crash_the_form(tmp_path):
    # The loader does not compile expressions (``mppdesk catalog check`` does); the engine
    # must still answer.
    catalog = form(tmp_path, field("a", show_if="a +"), field("b", required="__import__('os')"))
    result = run(catalog)
    assert status_at(result, "answers.a") == WARNING
    assert status_at(result, "answers.b") == REQUIRED


# --- checklist -------------------------------------------------------------------------------


REQUIREMENTS = [
    {"id": "fc-kk", "label": label("Fotokopi KK"), "kind": "copy"},
    {
        "id": "surat-kehilangan",
        "label": label("Surat kehilangan"),
        "kind": "original",
        "condition": "jenis == 'hilang'",
        "condition_text": label("jika hilang"),
    },
    {"id": "pas-foto", "label": label("Pas foto"), "kind": "photo", "optional": True},
]


def checklist_form(tmp_path: Path) -> Catalog:
    return form(
        tmp_path,
        field("jenis", "choice", choices=choices("baru", "hilang")),
        requirements=REQUIREMENTS,
    )


def test_checklist_states(tmp_path):
    catalog = checklist_form(tmp_path)
    result = run(catalog, {"jenis": "baru"}, checklist={"fc-kk": "copy"})
    states = {r.id: (r.applies, r.state) for r in result.requirements}
    assert states == {
        "fc-kk": (True, "copy"),
        "surat-kehilangan": (False, "not_applicable"),
        "pas-foto": (True, None),
    }
    assert result.ok


def test_an_applicable_requirement_without_state_is_missing_but_not_an_error(tmp_path):
    result = run(checklist_form(tmp_path), {"jenis": "hilang"}, checklist={"fc-kk": "original"})
    assert result.ok
    assert result.missing_requirements == ["surat-kehilangan"]


@pytest.mark.parametrize(
    ("checklist", "path", "fragment"),
    [
        ({"fotokopi-ktp": "copy"}, "checklist.fotokopi-ktp", "persyaratan tidak dikenal"),
        ({"fc-kk": "dibawa"}, "checklist.fc-kk", "status 'dibawa' tidak dikenal"),
        ({"fc-kk": 1}, "checklist.fc-kk", "tidak dikenal"),
        ({"fc-kk": "not_applicable"}, "checklist.fc-kk", "berlaku untuk permohonan ini"),
    ],
)
def test_checklist_errors(tmp_path, checklist, path, fragment):
    result = run(checklist_form(tmp_path), {"jenis": "baru"}, checklist=checklist)
    entry = only(result, path)
    assert entry.status == INVALID
    assert fragment in entry.message.id


def test_optional_requirement_may_be_not_applicable(tmp_path):
    result = run(
        checklist_form(tmp_path), {"jenis": "baru"}, checklist={"pas-foto": "not_applicable"}
    )
    assert result.ok


# --- fee and SLA -----------------------------------------------------------------------------


def test_fixed_fee_and_sla(tmp_path):
    result = run(form(tmp_path, fee={"amount": 30000}, sla={"working_days": 3}))
    assert (result.fee, result.sla_working_days) == (30000, 3)


def test_assessed_fee_is_none(tmp_path):
    assert run(form(tmp_path, fee={"assessed": True})).fee is None


def test_fee_and_sla_from_expressions(tmp_path):
    catalog = form(
        tmp_path,
        field("jenis_paspor", "choice", choices=choices("biasa", "elektronik"), required=True),
        field("percepatan", "yesno"),
        fee={
            "amount_expr": "(650000 if jenis_paspor == 'elektronik' else 350000) + (1000000 if percepatan else 0)"
        },
        sla={"working_days_expr": "0 if percepatan else 4"},
    )
    result = run(catalog, {"jenis_paspor": "elektronik", "percepatan": "ya"})
    assert (result.fee, result.sla_working_days) == (1650000, 0)
    result = run(catalog, {"jenis_paspor": "biasa"})
    assert (result.fee, result.sla_working_days) == (350000, 4)


def test_fee_expression_over_unanswered_inputs(tmp_path):
    catalog = form(
        tmp_path,
        field("lembar", "integer", required=True),
        field("catatan"),
        fee={"amount_expr": "lembar * 10000"},
    )
    incomplete = run(catalog)
    assert incomplete.fee is None
    assert incomplete.at("fee") == []  # the REQUIRED entry already says what is missing
    assert run(catalog, {"lembar": 2}).fee == 20000


def test_fee_expression_without_a_result_on_a_complete_form_is_invalid(tmp_path):
    catalog = form(tmp_path, field("lembar", "integer"), fee={"amount_expr": "lembar * 10000"})
    result = run(catalog)
    assert status_at(result, "fee") == INVALID


@pytest.mark.parametrize("expression", ["'gratis'", "-5", "1 / 0"])
def test_fee_expression_with_a_bad_result_is_invalid(tmp_path, expression):
    result = run(form(tmp_path, fee={"amount_expr": expression}))
    assert status_at(result, "fee") == INVALID
    assert result.fee is None


def test_sla_expression_failure_is_invalid(tmp_path):
    result = run(form(tmp_path, sla={"working_days_expr": "'lama'"}))
    assert status_at(result, "sla") == INVALID


# --- evaluate_shared -------------------------------------------------------------------------


def test_evaluate_shared_checks_the_profile_alone(tmp_path):
    catalog = form(tmp_path)
    result = evaluate_shared(
        catalog,
        {"nik": "123", "nama": "Budi", "hobi": "catur", "tanggal_lahir": "01-05-1990"},
        ["nik", "nama"],
        today=TODAY,
    )
    assert status_at(result, "applicant.nik") == INVALID
    assert status_at(result, "applicant.hobi") == INVALID
    assert result.applicant == {"nama": "Budi", "tanggal_lahir": "1990-05-01"}
    assert "applicant.tanggal_lahir" in result.visible  # present, so checked and kept
    assert (result.answers, result.requirements, result.fee, result.sla_working_days) == (
        {},
        [],
        None,
        0,
    )


def test_evaluate_shared_uses_each_fields_own_required(tmp_path):
    shared = [field("nama", required=True), field("alamat")]
    catalog = load(tmp_path, service(), shared_fields=shared)
    result = evaluate_shared(catalog, {}, today=TODAY)
    assert status_at(result, "applicant.nama") == REQUIRED
    assert status_at(result, "applicant.alamat") is OK


def test_evaluate_shared_unknown_field_ids_raise(tmp_path):
    with pytest.raises(KeyError, match="tidak_ada"):
        evaluate_shared(form(tmp_path), {}, ["tidak_ada"])


# --- normalize_value, results and caching ----------------------------------------------------


def test_normalize_value_alone(tmp_path):
    catalog = form(tmp_path, field("jumlah", "money"))
    definition = catalog.service(CODE).fields[0]
    assert normalize_value(definition, "Rp 2.500").value == 2500
    assert normalize_value(definition, "x").error is not None


def test_result_properties(tmp_path):
    catalog = form(tmp_path, field("a", required=True), field("b", "email"))
    result = run(catalog, {"b": "x@gmial.com"})
    assert [e.path for e in result.errors] == ["answers.a"]
    assert [e.path for e in result.warnings] == ["answers.b"]
    assert not result.ok


def test_a_reloaded_definition_is_used_at_once(tmp_path):
    first = form(tmp_path, field("a", required=True))
    assert not run(first).ok
    second = form(tmp_path, field("a"))
    assert run(second).ok
    assert not run(first).ok


# --- properties ------------------------------------------------------------------------------

_ALL_TYPES = [
    field("f_text", "text", max_length=5),
    field("f_longtext", "longtext"),
    field("f_integer", "integer", min=0, max=100, constraint="value != 13"),
    field("f_decimal", "decimal", min=-1.5),
    field("f_money", "money", max=10**9),
    field("f_date", "date", min="1900-01-01", constraint="value <= today()"),
    field("f_time", "time"),
    field("f_choice", "choice", choices=choices("a", "b")),
    field("f_multi", "multichoice", choices=choices("a", "b", "c"), show_if="f_choice == 'a'"),
    field("f_yesno", "yesno", required="f_integer > 50"),
    field("f_nik", "nik"),
    field("f_kk", "kk"),
    field("f_npwp", "npwp"),
    field("f_phone", "phone"),
    field("f_email", "email"),
    field("f_postal", "postalcode"),
    field("f_region", "region", region_level="district"),
    field("f_file", "file"),
    field("f_computed", "integer", compute="f_integer * 2"),
    field("f_default", "text", default_expr="upper(f_text)"),
    field(
        "f_group",
        "group",
        max_rows=3,
        fields=[
            field("g_text", required=True),
            field("g_date", "date", constraint="value >= f_date"),
            field("g_choice", "choice", choices=choices("x", "y")),
            field("g_nik", "nik", show_if="g_choice == 'x'"),
        ],
    ),
]
_FIELD_IDS = {f["id"] for f in _ALL_TYPES}
_ROW_IDS = {f["id"] for f in _ALL_TYPES[-1]["fields"]}
_SHARED_IDS = {"nik", "nama", "tanggal_lahir", "jenis_kelamin", "no_hp", "wilayah", "kode_pos"}

_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(),
        st.text(max_size=20),
        st.sampled_from(
            [
                "ya",
                "1.500",
                "1,5",
                "2025-01-01",
                "01-02-1990",
                "09:30",
                "a",
                "x",
                NIK_MALE_1990_05_01,
                "31.74.01",
                "12820",
            ]
        ),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=6,
)
_row = st.dictionaries(st.sampled_from(sorted(_ROW_IDS) + ["zz"]), _json, max_size=5)
_answers = st.dictionaries(
    st.sampled_from(sorted(_FIELD_IDS) + ["tidak_ada"]),
    _json,
    max_size=12,
).flatmap(
    lambda a: st.lists(st.one_of(_row, _json), max_size=4).map(
        lambda rows: {**a, "f_group": rows} if "f_group" in a else a
    )
)
_applicant = st.dictionaries(
    st.sampled_from(sorted(_SHARED_IDS) + ["bukan_field"]), _json, max_size=8
)
_checklist = st.dictionaries(
    st.sampled_from(["ktp", "lain"]),
    st.one_of(st.sampled_from(["copy", "missing", "x"]), _json),
    max_size=2,
)


def _nameable_paths(applicant: Any, answers: Any, checklist: Any) -> set[str]:
    """Every path an entry may have: a field of the form or a key the caller gave."""
    allowed = {"applicant", "answers", "checklist", "fee", "sla"}
    allowed |= {f"applicant.{k}" for k in _SHARED_IDS | set(applicant)}
    allowed |= {f"answers.{k}" for k in _FIELD_IDS | set(answers)}
    allowed |= {f"checklist.{k}" for k in {"ktp"} | set(checklist)}
    rows = answers.get("f_group")
    if isinstance(rows, list):
        for i, row in enumerate(rows):
            allowed.add(f"answers.f_group[{i}]")
            keys = _ROW_IDS | (set(row) if isinstance(row, dict) else set())
            allowed |= {f"answers.f_group[{i}].{k}" for k in keys}
    return allowed


@pytest.fixture(scope="module")
def all_types_catalog(tmp_path_factory) -> Catalog:
    return load(
        tmp_path_factory.mktemp("all-types"),
        service(
            shared=sorted(_SHARED_IDS), fields=_ALL_TYPES, fee={"amount_expr": "f_integer * 1000"}
        ),
    )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=_answers, applicant=_applicant, checklist=_checklist)
def test_any_answers_give_a_result_whose_entries_name_a_field(
    all_types_catalog, answers, applicant, checklist
):
    result = evaluate(all_types_catalog, CODE, applicant, answers, checklist, today=TODAY)
    allowed = _nameable_paths(applicant, answers, checklist)
    for entry in result.entries:
        assert entry.status != EntryStatus.OK
        assert entry.message is not None and entry.message.id and entry.message.en
        assert entry.path in allowed
    assert set(result.answers) <= _FIELD_IDS
    assert set(result.applicant) <= _SHARED_IDS
    assert result.visible <= allowed
