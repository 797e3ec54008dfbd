"""The "berkas belum lengkap" slip and the handover record, read back from real PDFs."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from mppdesk.forms.definitions import Requirement
from mppdesk.printing import (
    HandoverView,
    Layout,
    RequirementItem,
    SlipServiceView,
    render_handover,
    render_slip,
    requirement_item,
)
from mppdesk.printing.samples import VISIT_AT, sample_handover, sample_slip
from tests.integration.pdf_inspection import flat_text, page_sizes_mm, pdf_text, reader


@pytest.mark.parametrize("layout", list(Layout))
def test_slip_lists_what_is_missing_per_service(layout: Layout) -> None:
    view = sample_slip()
    text = flat_text(render_slip(view, layout))

    assert "BERKAS BELUM LENGKAP" in text
    assert "NIK 3578********0003" in text and "3578031505900003" not in text
    assert "1. KTP-el (penggantian karena hilang)" in text
    assert "No. registrasi: A01-261127-0001-S" in text
    assert "☐ Surat keterangan kehilangan dari kepolisian — asli; hanya bila KTP-el hilang" in text
    assert "2. Paspor biasa elektronik (dewasa)" in text
    assert "Tidak ada yang kurang." in text
    assert "☐ Fotokopi BPKB — fotokopi" in text
    assert "paling lambat 11 Desember 2026" in text
    assert "Nama petugas:" in text and "Paraf:" in text
    assert "SALINAN" not in text


def test_slip_shows_conditional_items_that_apply_once() -> None:
    condition = SlipServiceView(
        agency_name="Dinas Kependudukan dan Pencatatan Sipil",
        service_name="Akta kelahiran",
        tracking_number="A01-261127-0007-K",
        missing=[
            RequirementItem(
                "Surat kuasa", detail="asli, bermeterai Rp10.000", condition="hanya bila diwakilkan"
            )
        ],
        conditional=[
            RequirementItem("Surat kuasa", condition="hanya bila diwakilkan"),
            RequirementItem("Keputusan kepala dinas", condition="hanya bila lebih dari 60 hari"),
        ],
    )
    text = flat_text(render_slip(replace(sample_slip(), services=(condition,))))

    assert "☐ Surat kuasa — asli, bermeterai Rp10.000; hanya bila diwakilkan" in text
    assert (
        "Persyaratan bersyarat yang berlaku untuk Anda: • Keputusan kepala dinas; hanya bila lebih dari 60 hari"
        in text
    )
    assert text.count("Surat kuasa") == 1


def test_slip_for_a_complete_visit_says_nothing_is_missing() -> None:
    view = sample_slip(complete=True)
    assert view.complete
    for layout in Layout:
        text = flat_text(render_slip(view, layout))
        assert "BERKAS LENGKAP" in text
        assert "Berkas lengkap: tidak ada yang kurang." in text
        assert "BELUM LENGKAP" not in text and "Yang masih kurang" not in text
        assert "✓ KTP-el (penggantian karena hilang)" in text


def test_slip_in_english_and_as_a_reprint() -> None:
    reprinted = VISIT_AT + timedelta(days=1, hours=2)
    text = flat_text(render_slip(sample_slip(reprinted_at=reprinted), Layout.THERMAL_58, lang="en"))

    assert "INCOMPLETE FILES" in text
    assert "Still missing:" in text
    assert "Bring the missing documents to an MPP counter by 11 December 2026" in text
    assert "Officer's name:" in text
    assert "SALINAN (COPY)" in text
    assert "Reprinted 28 November 2026, 12:42 WIB" in text


def test_requirement_item_from_the_catalog_carries_its_qualifiers() -> None:
    requirement = Requirement.model_validate(
        {
            "id": "kuasa",
            "kind": "original",
            "duty_stamp": True,
            "copies": 2,
            "label": {"id": "Surat kuasa", "en": "Power of attorney"},
            "condition": "diwakilkan",
            "condition_text": {"id": "hanya bila diwakilkan", "en": "only when represented"},
        }
    )
    item = requirement_item(requirement, "id")
    assert item == RequirementItem(
        "Surat kuasa",
        detail="asli, 2 lembar, bermeterai Rp10.000",
        condition="hanya bila diwakilkan",
    )
    text = flat_text(
        render_slip(replace(sample_slip(), services=(SlipServiceView("A", "B", missing=[item]),)))
    )
    assert "☐ Surat kuasa — asli, 2 lembar, bermeterai Rp10.000; hanya bila diwakilkan" in text


def test_handover_lists_the_days_submissions_with_places_to_sign() -> None:
    view = sample_handover(rows=4)
    pdf = render_handover(view)
    text = flat_text(pdf)

    assert page_sizes_mm(pdf) == [pytest.approx((210, 297), abs=0.1)]
    assert "BERITA ACARA SERAH TERIMA BERKAS" in text
    assert "Instansi Kantor Pertanahan Kota Contoh (BPN)" in text
    assert "Tanggal Jumat, 27 November 2026" in text
    assert "diserahkan oleh petugas Mal Pelayanan Publik Kota Contoh kepada petugas BPN" in text
    for row in view.rows:
        assert row.tracking_number in text
        assert row.applicant_name in text
        assert row.applicant_id not in text
    assert "NIK 3578********0003" in text
    assert "– Surat pernyataan di bawah sumpah" in text
    assert "08.00 WIB" in text
    assert "Jumlah permohonan: 4" in text
    assert "Yang menyerahkan" in text and "Yang menerima" in text
    assert "Petugas BPN" in text
    assert "Nama: Siti Aminah" in text
    assert text.count("Tanda tangan:") == 2 and text.count("NIP:") == 2


def test_long_handover_runs_over_pages_repeating_the_column_headings() -> None:
    view = sample_handover(rows=4)
    rows = tuple(
        replace(
            view.rows[i % 4], tracking_number=f"A01-261127-{i:04d}-X", applicant_name=f"Pemohon {i}"
        )
        for i in range(1, 61)
    )
    pdf = render_handover(replace(view, rows=rows))
    pages = [page.extract_text() for page in reader(pdf).pages]

    assert len(pages) >= 3
    assert all("No. registrasi" in page for page in pages[:-1])
    text = flat_text(pdf)
    for row in rows:
        assert row.tracking_number in text
    assert "Jumlah permohonan: 60" in text
    assert re.search(r"Halaman \d", pages[-1])


def test_handover_for_an_empty_day_and_several_agencies_in_one_file() -> None:
    empty = replace(
        sample_handover(), rows=(), agency_name="Perusahaan Daerah Air Minum", agency_short="PDAM"
    )
    pdf = render_handover([sample_handover(rows=2), empty], lang="id")
    pages = [page.extract_text() for page in reader(pdf).pages]

    assert len(pages) == 2
    assert "Kantor Pertanahan" in pages[0] and "PDAM" not in pages[0]
    assert "Tidak ada berkas untuk diserahkan pada hari ini." in pages[1]
    assert "Jumlah permohonan: 0" in pages[1]


def test_handover_in_english_and_as_a_reprint() -> None:
    view = sample_handover(rows=1, reprinted_at=VISIT_AT.replace(hour=16, minute=5))
    text = flat_text(render_handover(view, lang="en"))

    assert "RECORD OF FILE HANDOVER" in text
    assert "Handed over by" in text and "Received by" in text and "BPN staff" in text
    assert "Date Friday, 27 November 2026" in text
    assert "SALINAN (COPY)" in text and "Reprinted 27 November 2026, 16:05 WIB" in text


def test_handover_needs_at_least_one_record() -> None:
    with pytest.raises(ValueError, match="a handover needs at least one agency and day"):
        render_handover([])
    assert isinstance(sample_handover(), HandoverView)


def test_documents_embed_only_the_dejavu_fonts() -> None:
    for pdf in (render_handover(sample_handover()), render_slip(sample_slip(), Layout.A4)):
        assert set(re.findall(rb"/BaseFont\s*/([\w+-]+)", pdf)) <= {
            b"AAAAAA+DejaVuSans",
            b"AAAAAA+DejaVuSans-Bold",
        }
        assert b"/FontFile2" in pdf
    assert "✓" in pdf_text(render_slip(sample_slip(complete=True)))


def test_a_missing_item_keeps_its_qualifiers_whatever_its_checklist_state() -> None:
    requirement = Requirement.model_validate(
        {
            "id": "kk",
            "kind": "copy",
            "copies": 2,
            "label": {"id": "Kartu Keluarga", "en": "Family card"},
        }
    )
    missing = requirement_item(requirement, "id", "missing")
    received = requirement_item(requirement, "id", "copy")
    service = SlipServiceView("A", "B", missing=[missing])
    text = flat_text(render_slip(replace(sample_slip(), services=(service,))))

    assert "☐ Kartu Keluarga — fotokopi, 2 lembar" in text
    assert "missing" not in text
    assert received.state == "copy"
