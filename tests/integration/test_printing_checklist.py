"""The requirement checklist, printed from catalog definitions alone."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mppdesk.forms.catalog import Catalog, load_catalog
from mppdesk.paths import catalog_dir
from mppdesk.printing import ChecklistHeader, Layout, render_checklist
from tests.integration.pdf_inspection import flat_text, page_sizes_mm, reader

AGENCIES = """
agencies:
  - code: imigrasi
    short_name: Imigrasi
    name: {id: Kantor Imigrasi, en: Immigration Office}
    contact: {id: Tanya di loket Imigrasi., en: Ask at the Immigration counter.}
  - code: bpn
    short_name: BPN
    name: {id: Kantor Pertanahan, en: Land Office}
"""

PASPOR = """
id: paspor
agency: imigrasi
name: {id: Paspor biasa, en: Ordinary passport}
shared_fields: []
requirements:
  - id: ktp
    kind: original_and_copy
    label: {id: KTP-el, en: Electronic ID card}
  - id: kk
    kind: copy
    copies: 2
    label: {id: Kartu Keluarga, en: Family card}
  - id: akta
    kind: copy
    legalized: true
    label: {id: Akta kelahiran, en: Birth certificate}
  - id: kuasa
    kind: original
    duty_stamp: true
    condition: diwakilkan == 'ya'
    condition_text: {id: diwakilkan, en: represented}
    label: {id: Surat kuasa, en: Power of attorney}
  - id: ganti-nama
    kind: copy
    optional: true
    note: {id: Dari pengadilan negeri, en: From the district court}
    label: {id: Penetapan ganti nama, en: Name change decision}
  - id: foto
    kind: in_person
    label: {id: Foto dan sidik jari, en: Photo and fingerprints}
fee:
  amount: 350000
  note: {id: PNBP dibayar di bank, en: Paid at a bank}
sla: {working_days: 5}
product: {id: Paspor 48 halaman, en: 48-page passport}
not_offered:
  - {id: Paspor anak dilayani di Kantor Imigrasi., en: Children's passports are issued at the Immigration Office.}
examples: [{name: contoh, applicant: {}}]
"""

SERTIFIKAT = """
id: sertifikat-hilang
agency: bpn
name: {id: Sertifikat pengganti, en: Replacement certificate}
shared_fields: []
requirements: []
fee: {assessed: true}
sla: {working_days_expr: "10", note: {id: setelah pengumuman, en: after the announcement}}
product: {id: Sertifikat, en: Certificate}
examples: [{name: contoh, applicant: {}}]
"""


@pytest.fixture
def small_catalog(tmp_path: Path) -> Catalog:
    (tmp_path / "agencies.yaml").write_text(textwrap.dedent(AGENCIES), encoding="utf-8")
    (tmp_path / "shared-fields.yaml").write_text("fields: []\n", encoding="utf-8")
    services = tmp_path / "services"
    (services / "imigrasi").mkdir(parents=True)
    (services / "bpn").mkdir()
    (services / "imigrasi" / "paspor.yaml").write_text(textwrap.dedent(PASPOR), encoding="utf-8")
    (services / "bpn" / "sertifikat-hilang.yaml").write_text(
        textwrap.dedent(SERTIFIKAT), encoding="utf-8"
    )
    return load_catalog([tmp_path])


def _pairs(catalog: Catalog, *codes: str):
    return [
        (catalog.agencies[catalog.service(code).agency], catalog.service(code)) for code in codes
    ]


@pytest.mark.parametrize("layout", list(Layout))
def test_every_requirement_prints_with_its_qualifiers(
    small_catalog: Catalog, layout: Layout
) -> None:
    text = flat_text(render_checklist(_pairs(small_catalog, "imigrasi/paspor"), layout))

    assert "DAFTAR PERSYARATAN LAYANAN" in text
    assert "Kantor Imigrasi" in text and "Paspor biasa" in text
    assert "☐ KTP-el — asli diperlihatkan + fotokopi" in text
    assert "☐ Kartu Keluarga — fotokopi, 2 lembar" in text
    assert "☐ Akta kelahiran — fotokopi, dilegalisir" in text
    assert "☐ Surat kuasa — asli, bermeterai Rp10.000; hanya jika diwakilkan" in text
    assert "☐ Penetapan ganti nama — fotokopi, jika ada. Dari pengadilan negeri." in text
    assert "☐ Foto dan sidik jari — dilakukan di loket" in text
    assert "Biaya: Rp350.000 — PNBP dibayar di bank" in text
    assert "Waktu penyelesaian: 5 hari kerja" in text
    assert "Produk: Paspor 48 halaman" in text
    assert "Tidak tersedia di MPP ini: • Paspor anak dilayani di Kantor Imigrasi." in text
    assert "Tanya di loket Imigrasi." in text


def test_english_checklist(small_catalog: Catalog) -> None:
    pairs = _pairs(small_catalog, "imigrasi/paspor", "bpn/sertifikat-hilang")
    text = flat_text(render_checklist(pairs, Layout.A4, lang="en"))

    assert "SERVICE REQUIREMENTS CHECKLIST" in text
    assert "☐ Family card — photocopy, 2 copies" in text
    assert "☐ Power of attorney — original, with a Rp10,000 duty stamp; only if represented" in text
    assert "Fee: Rp350,000 — Paid at a bank" in text
    assert "Completion time: 5 working days" in text
    assert (
        "Not available at this MPP: • Children's passports are issued at the Immigration Office."
        in text
    )
    assert "Fee: as assessed" in text
    assert "Completion time: depends on the request — after the announcement" in text
    assert "No documents to bring." in text


def test_several_services_in_one_checklist_with_header(small_catalog: Catalog) -> None:
    pairs = _pairs(small_catalog, "bpn/sertifikat-hilang", "imigrasi/paspor")
    printed = datetime(2026, 11, 27, 9, 5, tzinfo=timezone(timedelta(hours=8)))
    header = ChecklistHeader(
        mpp_name="MPP Kota Makassar", printed_at=printed, extra_note="Buka 08.00–15.00"
    )
    pdf = render_checklist(pairs, "80mm", header=header)
    text = flat_text(pdf)

    assert len(reader(pdf).pages) == 1
    assert page_sizes_mm(pdf)[0][0] == pytest.approx(80, abs=0.01)
    assert text.index("Sertifikat pengganti") < text.index("Paspor biasa")  # the order asked for
    assert "MPP Kota Makassar" in text
    assert "Dicetak 27 November 2026 09.05 WITA" in text
    assert "Buka 08.00–15.00" in text
    assert "Biaya: sesuai penetapan" in text


def test_every_built_in_service_prints_all_its_requirements() -> None:
    catalog = load_catalog([catalog_dir()])
    assert catalog.services, "the built-in catalog has no services"
    pairs = [(catalog.agencies[s.agency], s) for s in catalog.services.values()]
    for lang in ("id", "en"):
        text = flat_text(render_checklist(pairs, Layout.A4, lang=lang))
        for agency, service in pairs:
            assert " ".join(service.name.get(lang).split()) in text, service.code
            assert " ".join(agency.name.get(lang).split()) in text, service.code
            for requirement in service.requirements:
                assert " ".join(requirement.label.get(lang).split()) in text, (
                    service.code,
                    requirement.id,
                )
            for note in service.not_offered:
                assert " ".join(note.get(lang).split()) in text, service.code


def test_empty_checklist_is_refused(small_catalog: Catalog) -> None:
    with pytest.raises(ValueError, match="a checklist needs at least one service"):
        render_checklist([], Layout.A4)
