"""The built-in catalog (resources/catalog): complete, consistent, and overridable without code.

These tests read the shipped YAML through the real loader, the real semantic check and the
real form engine, so a catalog edit that breaks a rule, an example or a sample file fails
here before a counter sees it.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from mppdesk.forms.catalog import (
    Catalog,
    builtin_catalog_dirs,
    load_catalog,
    load_catalog_collecting,
)
from mppdesk.forms.check import check_catalog
from mppdesk.forms.definitions import Service
from mppdesk.forms.engine import EntryStatus, evaluate, evaluate_shared
from mppdesk.forms.validators import decode_nik
from mppdesk.paths import catalog_dir

# A fixed day for the rule tests: the examples' dates all lie before it.
TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog([catalog_dir()])


def _example(catalog: Catalog, code: str, index: int = 0) -> dict[str, Any]:
    """A deep copy of one worked example as plain data, ready to be varied."""
    return copy.deepcopy(catalog.service(code).examples[index].model_dump())


def _run(catalog: Catalog, code: str, example: dict[str, Any], today: date = TODAY):
    return evaluate(
        catalog,
        code,
        example["applicant"],
        example["answers"],
        example["checklist"],
        today=today,
    )


def _invalid_fields(result) -> set[str]:
    return {e.field for e in result.entries if e.status == EntryStatus.INVALID}


def _every_service_example(catalog: Catalog):
    for code, service in sorted(catalog.services.items()):
        for i, example in enumerate(service.examples):
            yield code, service, i, example


# --- the whole catalog ------------------------------------------------------------------


def test_builtin_catalog_loads_and_checks_without_problems() -> None:
    catalog, problems = load_catalog_collecting([catalog_dir()])
    assert [str(p) for p in problems] == []
    assert [str(p) for p in check_catalog(catalog)] == []


def test_catalog_covers_enough_services_and_agencies(catalog: Catalog) -> None:
    agencies_with_services = {s.agency for s in catalog.services.values()}
    assert len(catalog.services) >= 18
    assert len(agencies_with_services) >= 12
    # Every agency row of the reference table is present.
    for code in (
        "dukcapil/ktp-el",
        "dukcapil/kk-hilang-rusak",
        "dukcapil/kk-perubahan",
        "dukcapil/akta-kelahiran",
        "dukcapil/ikd-aktivasi",
        "imigrasi/paspor",
        "polri/skck",
        "samsat/pajak-tahunan",
        "samsat/bbn-ii",
        "bpjs-kesehatan/peserta-mandiri",
        "bpjs-ketenagakerjaan/klaim-jht",
        "djp/npwp-orang-pribadi",
        "dpmptsp/nib-usaha-mikro-kecil",
        "pdam/sambungan-baru",
        "kemenag/pendaftaran-haji-reguler",
        "bpn/sertipikat-hilang",
    ):
        assert code in catalog.services, code


def test_the_files_follow_the_layout(catalog: Catalog) -> None:
    """services/<agency>/<id>.yaml: the path says which service a file holds."""
    for code, service in catalog.services.items():
        source = catalog.sources[code]
        assert source.parent.name == service.agency, source
        assert source.stem == service.id, source


def test_every_service_has_an_example_and_an_identity_field(catalog: Catalog) -> None:
    for code, service in catalog.services.items():
        assert service.examples, code
        shared = {ref.field for ref in service.shared_fields}
        assert shared & {"nik", "no_paspor"}, f"{code} lists neither nik nor no_paspor"
        assert service.keywords, code


def test_no_shared_field_is_required_by_itself(catalog: Catalog) -> None:
    assert [f.id for f in catalog.shared_fields.values() if f.required] == []
    for field_id in ("nik", "no_kk", "no_hp", "nama_ibu"):
        assert catalog.shared_fields[field_id].sensitive, field_id


def test_examples_are_accepted_without_errors_or_warnings(catalog: Catalog) -> None:
    """Warnings included: a NIK that disagrees with its birth date or a postal code outside
    its village is a warning in the engine, and the examples are meant to be clean."""
    for code, _service, i, example in _every_service_example(catalog):
        result = evaluate(catalog, code, example.applicant, example.answers, example.checklist)
        assert [(e.path, e.message.en if e.message else "") for e in result.entries] == [], (
            f"{code} examples[{i}]"
        )
        # The checklist gives a state for every requirement.
        assert set(example.checklist) == {r.id for r in catalog.service(code).requirements}


def test_example_niks_decode_to_the_example_birth_dates(catalog: Catalog) -> None:
    checked = 0
    for code, _service, i, example in _every_service_example(catalog):
        applicant = example.applicant
        if "nik" not in applicant:
            assert applicant.get("kewarganegaraan") == "WNA", f"{code} examples[{i}]"
            continue
        info = decode_nik(applicant["nik"])
        if "tanggal_lahir" in applicant:
            assert info.birth_date == date.fromisoformat(applicant["tanggal_lahir"]), code
        if "jenis_kelamin" in applicant:
            assert info.sex == applicant["jenis_kelamin"], code
        if "wilayah" in applicant:
            # These applicants live where their NIK was issued.
            assert applicant["wilayah"].startswith(info.district), code
        checked += 1
        if example.proxy is not None:
            decode_nik(example.proxy["nik"])
    assert checked >= 18


def test_examples_vary_their_applicants(catalog: Catalog) -> None:
    examples = [ex for _, _, _, ex in _every_service_example(catalog)]
    sexes = {ex.applicant.get("jenis_kelamin") for ex in examples}
    provinces = {ex.applicant["wilayah"][:2] for ex in examples if "wilayah" in ex.applicant}
    assert {"L", "P"} <= sexes
    assert provinces & {"65", "91", "92", "93", "94", "95", "96"}  # Kaltara or a Papua province
    assert any(ex.proxy for ex in examples)
    assert all({"nama", "nik", "hubungan"} <= set(ex.proxy) for ex in examples if ex.proxy)
    assert any(ex.applicant.get("kewarganegaraan") == "WNA" for ex in examples)


def test_sample_attachments_are_small_real_files(catalog: Catalog) -> None:
    samples = sorted((catalog_dir() / "samples").iterdir())
    assert samples
    for sample in samples:
        data = sample.read_bytes()
        assert len(data) < 5 * 1024, sample.name
        if sample.suffix == ".pdf":
            assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), sample.name
        elif sample.suffix == ".png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n"), sample.name
        else:
            pytest.fail(f"unexpected sample type: {sample.name}")


def test_sensitive_services_are_held_for_approval(catalog: Catalog) -> None:
    held = {code for code, s in catalog.services.items() if s.requires_approval}
    assert held == {"bpn/sertipikat-hilang", "samsat/bbn-ii", "kemenag/pendaftaran-haji-reguler"}


# --- the rules behave as the service standards say -----------------------------------------


def test_ktp_el_first_card_needs_age_17_or_marriage(catalog: Catalog) -> None:
    code = "dukcapil/ktp-el"
    example = _example(catalog, code)
    example["answers"] = {"jenis_permohonan": "baru"}
    example["checklist"] = {"formulir-f102": "original", "kk": "copy", "perekaman": "shown"}
    # 16 years and 3 months old on TODAY; NIK 3578036808100001 = a woman born 28-08-2010.
    example["applicant"].update(nik="3578036808100001", tanggal_lahir="2010-08-28")
    result = _run(catalog, code, example)
    assert "jenis_permohonan" in _invalid_fields(result)

    example["applicant"]["status_perkawinan"] = "kawin"
    result = _run(catalog, code, example)
    assert result.ok, result.entries
    # Married under 17: the marriage book joins the checklist and is missing.
    assert "buku-nikah" in result.missing_requirements


def test_ktp_el_police_report_only_when_lost(catalog: Catalog) -> None:
    code = "dukcapil/ktp-el"
    example = _example(catalog, code)
    del example["answers"]["no_surat_kehilangan"]
    result = _run(catalog, code, example)
    assert {e.field for e in result.errors} == {"no_surat_kehilangan"}

    example["answers"] = {"jenis_permohonan": "rusak"}
    example["checklist"] = {"formulir-f102": "original", "kk": "copy", "ktp-lama": "original"}
    result = _run(catalog, code, example)
    assert result.ok, result.entries
    assert "answers.no_surat_kehilangan" not in result.visible
    states = {r.id: r.state for r in result.requirements}
    assert states["surat-kehilangan"] == "not_applicable"
    assert states["ktp-lama"] == "original"


def test_passport_fee_and_sla_follow_kind_and_acceleration(catalog: Catalog) -> None:
    code = "imigrasi/paspor"
    example = _example(catalog, code)
    assert _run(catalog, code, example).fee == 650000
    example["answers"]["jenis_paspor"] = "non_elektronik"
    assert _run(catalog, code, example).fee == 350000
    example["answers"]["percepatan"] = True
    result = _run(catalog, code, example)
    assert (result.fee, result.sla_working_days) == (1350000, 0)

    # The old passport number is asked only for a renewal.
    example["answers"]["jenis_permohonan"] = "baru"
    example["checklist"]["paspor-lama"] = "not_applicable"
    result = _run(catalog, code, example)
    assert "answers.no_paspor_lama" not in result.visible
    assert "no_paspor_lama" not in result.answers


def test_birth_certificate_sla_depends_on_days_since_birth(catalog: Catalog) -> None:
    code = "dukcapil/akta-kelahiran"
    example = _example(catalog, code)  # born 2026-11-02
    result = _run(catalog, code, example, today=date(2027, 1, 1))  # 60 days
    assert (result.answers["umur_bayi_hari"], result.sla_working_days) == (60, 1)
    result = _run(catalog, code, example, today=date(2027, 1, 2))
    assert (result.answers["umur_bayi_hari"], result.sla_working_days) == (61, 2)

    example["answers"]["tanggal_lahir_anak"] = "2026-12-05"  # after TODAY
    assert "tanggal_lahir_anak" in _invalid_fields(_run(catalog, code, example))

    example = _example(catalog, code)
    example["answers"]["saksi"] = example["answers"]["saksi"][:1]
    assert "saksi" in {e.field for e in _run(catalog, code, example).errors}


def test_birth_certificate_without_birth_statement_needs_sptjm(catalog: Catalog) -> None:
    code = "dukcapil/akta-kelahiran"
    example = _example(catalog, code)
    example["answers"]["ada_surat_kelahiran"] = False
    result = _run(catalog, code, example)
    states = {r.id: r.state for r in result.requirements}
    assert states["surat-kelahiran"] == "not_applicable"
    assert "sptjm-kelahiran" in result.missing_requirements


def test_hajj_registration_needs_age_12_and_islam(catalog: Catalog) -> None:
    code = "kemenag/pendaftaran-haji-reguler"
    example = _example(catalog, code)
    example["applicant"].update(
        nik="3404011506150003", tanggal_lahir="2015-06-15", jenis_kelamin="L"
    )  # 11 years old
    example["applicant"]["status_perkawinan"] = "belum_kawin"
    assert "usia_saat_mendaftar" in _invalid_fields(_run(catalog, code, example))

    example = _example(catalog, code)
    example["applicant"]["agama"] = "katolik"
    assert "beragama_islam" in _invalid_fields(_run(catalog, code, example))

    example = _example(catalog, code)
    example["answers"]["jumlah_setoran"] = 10000000
    assert "jumlah_setoran" in _invalid_fields(_run(catalog, code, example))


def test_kk_change_asks_for_sptjm_only_without_marriage_certificate(catalog: Catalog) -> None:
    code = "dukcapil/kk-perubahan"
    example = _example(catalog, code)
    example["answers"]["elemen_berubah"] = ["status_perkawinan"]
    result = _run(catalog, code, example)
    assert {e.field for e in result.errors} == {"ada_akta_perkawinan"}

    example["answers"]["ada_akta_perkawinan"] = False
    result = _run(catalog, code, example)
    assert "sptjm-f105" in result.missing_requirements
    example["answers"]["ada_akta_perkawinan"] = True
    result = _run(catalog, code, example)
    assert {r.id: r.state for r in result.requirements}["sptjm-f105"] == "not_applicable"


def test_foreign_applicant_needs_passport_and_stay_permit(catalog: Catalog) -> None:
    code = "bri/pembukaan-rekening"
    foreign = next(
        copy.deepcopy(ex.model_dump())
        for ex in catalog.service(code).examples
        if ex.applicant.get("kewarganegaraan") == "WNA"
    )
    del foreign["applicant"]["no_kitas"]
    result = _run(catalog, code, foreign)
    assert {e.field for e in result.errors} == {"no_kitas"}
    states = {r.id: r.state for r in result.requirements}
    assert states["ktp-el"] == "not_applicable"
    assert states["paspor"] == "shown"


def test_service_receives_only_the_shared_fields_it_lists(catalog: Catalog) -> None:
    code = "samsat/pajak-tahunan"
    example = _example(catalog, code)
    example["applicant"].update(agama="islam", nama_ibu="SITI AMINAH", no_kk="1271021003030008")
    result = _run(catalog, code, example)
    assert result.ok
    # Every listed field but a foreigner's identity numbers, which a citizen has none of.
    listed = {ref.field for ref in catalog.service(code).shared_fields}
    assert set(result.applicant) == listed - {"no_paspor", "no_kitas"}
    assert "nama_ibu" not in result.applicant


def test_jht_claim_waits_one_month_after_leaving_work(catalog: Catalog) -> None:
    code = "bpjs-ketenagakerjaan/klaim-jht"
    example = _example(catalog, code)
    example["answers"]["tanggal_berhenti_bekerja"] = "2026-11-15"
    assert "tanggal_berhenti_bekerja" in _invalid_fields(_run(catalog, code, example))
    example["answers"]["alasan_klaim"] = "usia_pensiun"  # 47 years old
    result = _run(catalog, code, example)
    assert "alasan_klaim" in _invalid_fields(result)
    assert "answers.tanggal_berhenti_bekerja" not in result.visible


# --- an install overrides and extends the catalog without code ---------------------------------


def _write_yaml(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_override_directory_replaces_a_fee_and_adds_an_agency(tmp_path: Path) -> None:
    builtin = yaml.safe_load(
        (catalog_dir() / "services" / "polri" / "skck.yaml").read_text(encoding="utf-8")
    )
    local = tmp_path / "catalog"
    skck = dict(builtin, fee={"amount": 35000})
    _write_yaml(local / "services" / "polri" / "skck.yaml", skck)
    _write_yaml(
        local / "agencies.yaml",
        {
            "agencies": [
                {
                    "code": "baznas",
                    "short_name": "BAZNAS",
                    "name": {"id": "Badan Amil Zakat Nasional", "en": "National Zakat Agency"},
                }
            ]
        },
    )
    zakat = {
        "id": "bayar-zakat",
        "agency": "baznas",
        "group": "baznas",
        "name": {"id": "Pembayaran zakat profesi", "en": "Income zakat payment"},
        "keywords": ["zakat", "baznas"],
        "shared_fields": [{"field": "nik", "required": True}, {"field": "nama", "required": True}],
        "fields": [
            {
                "id": "jumlah_zakat",
                "type": "money",
                "required": True,
                "label": {"id": "Jumlah zakat (Rp)", "en": "Zakat amount (Rp)"},
            }
        ],
        "requirements": [
            {"id": "ktp-el", "kind": "shown", "label": {"id": "KTP-el", "en": "KTP-el"}}
        ],
        "fee": {"amount_expr": "jumlah_zakat"},
        "sla": {"working_days": 0},
        "product": {"id": "Bukti setor zakat", "en": "Zakat receipt"},
        "examples": [
            {
                "name": "Zakat profesi",
                "applicant": {"nik": "3174015408920003", "nama": "SITI RAHMAWATI"},
                "answers": {"jumlah_zakat": 250000},
                "checklist": {"ktp-el": "shown"},
            }
        ],
    }
    _write_yaml(local / "services" / "baznas" / "bayar-zakat.yaml", zakat)

    dirs = builtin_catalog_dirs(tmp_path)  # the built-in catalog, then <data dir>/catalog
    catalog, problems = load_catalog_collecting(dirs)
    assert [str(p) for p in problems] == []
    assert [str(p) for p in check_catalog(catalog)] == []

    assert catalog.service("polri/skck").fee.amount == 35000
    assert catalog.sources["polri/skck"] == local / "services" / "polri" / "skck.yaml"
    assert "baznas" in catalog.agencies and "dukcapil" in catalog.agencies
    example = catalog.service("baznas/bayar-zakat").examples[0]
    result = evaluate(catalog, "baznas/bayar-zakat", example.applicant, example.answers)
    assert result.ok and result.fee == 250000
    # The built-in catalog itself is untouched.
    assert load_catalog([catalog_dir()]).service("polri/skck").fee.amount == 30000
    assert isinstance(catalog.service("dukcapil/ktp-el"), Service)


@pytest.mark.parametrize(
    ("rt", "ok"), [("004", True), ("000", True), ("04", False), ("0a4", False)]
)
def test_rt_is_three_digits(catalog: Catalog, rt: str, ok: bool) -> None:
    result = evaluate_shared(catalog, {"rt": rt, "rw": "011"}, ["rt", "rw"])
    assert result.ok is ok, result.entries
