"""The visit receipt (tanda terima), read back from real PDFs."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import zxingcpp

from mppdesk.printing import (
    Layout,
    RequirementItem,
    SendState,
    ServiceLineView,
    render_receipt,
)
from mppdesk.printing.samples import VISIT_AT, sample_receipt
from tests.integration.pdf_inspection import (
    flat_text,
    ink_box,
    page_sizes_mm,
    pdf_text,
    reader,
    render_png,
)

RAW_NIK = "3578031505900003"
LAYOUT_WIDTH_MM = {Layout.THERMAL_80: 80, Layout.THERMAL_58: 58, Layout.A4: 210}
PRINTABLE_MM = {Layout.THERMAL_80: 72, Layout.THERMAL_58: 48}


@pytest.mark.parametrize("layout", list(Layout))
def test_receipt_holds_every_service_with_number_fee_due_date_and_missing_items(
    layout: Layout,
) -> None:
    view = sample_receipt(services=3)
    text = flat_text(render_receipt(view, layout))

    for line in view.services:
        assert line.tracking_number in text
        assert line.service_name in text
        assert line.agency_name in text
    assert "Biaya: Gratis" in text
    assert "Biaya: Rp650.000" in text
    assert "Biaya: sesuai penetapan" in text
    assert "Total biaya: Rp650.000 + biaya sesuai penetapan" in text
    assert "Selesai paling lambat: 30 November 2026" in text
    assert "✓ Fotokopi Kartu Keluarga — fotokopi" in text
    assert "✗ Surat keterangan kehilangan dari kepolisian — asli; hanya bila KTP-el hilang" in text
    assert "✗ Fotokopi BPKB" in text


@pytest.mark.parametrize("layout", list(Layout))
def test_receipt_header_masks_the_nik_and_names_desk_officer_ticket_and_proxy(
    layout: Layout,
) -> None:
    text = flat_text(render_receipt(sample_receipt(), layout))

    assert "Mal Pelayanan Publik Kota Contoh" in text
    assert "TANDA TERIMA PERMOHONAN" in text
    assert "Loket A01" in text
    assert "Petugas Siti Aminah" in text
    assert "No. antrean A-017" in text
    assert "Waktu 27 November 2026 10.42 WIB" in text
    assert "Pemohon Budi Santoso" in text
    assert "NIK 3578********0003" in text
    assert RAW_NIK not in text
    assert "Ani Lestari (NIK 3578********0002) — surat kuasa bermeterai" in text
    assert "3578035505920002" not in text


def test_send_state_is_said_in_plain_words_with_the_agency_reference_once_sent() -> None:
    text = flat_text(render_receipt(sample_receipt(services=5)))

    assert "Status: Diterima — menunggu pengiriman ke Dukcapil" in text
    assert "Status: Terkirim ke Imigrasi — nomor referensi IMI-2026-778812" in text
    assert "Status: Diterima — menunggu persetujuan supervisor sebelum dikirim ke Samsat" in text
    assert "Status: Diterima — berkas diserahkan langsung ke petugas BPN" in text
    assert "Status: Diterima — pengiriman ke Polri sedang ditindaklanjuti petugas" in text


def test_personal_data_notice_says_purpose_who_receives_what_and_whom_to_ask() -> None:
    text = flat_text(render_receipt(sample_receipt(services=3)))

    assert "Pelindungan data pribadi" in text
    assert "UU No. 27 Tahun 2022" in text
    assert "Dukcapil menerima: NIK, No. KK, nama, tempat/tanggal lahir, alamat, no. HP" in text
    assert "Imigrasi menerima: NIK, nama, tanggal lahir, nama ibu kandung, alamat" in text
    assert "meja informasi MPP atau ppid@kotacontoh.go.id" in text
    assert "Kontak Imigrasi: aplikasi M-Paspor atau loket Imigrasi" in text
    assert "Cek status: sebutkan nomor registrasi" in text


@pytest.mark.parametrize("layout", list(Layout))
def test_page_is_as_wide_as_the_paper(layout: Layout) -> None:
    sizes = page_sizes_mm(render_receipt(sample_receipt(), layout))

    assert all(width == pytest.approx(LAYOUT_WIDTH_MM[layout], abs=0.01) for width, _ in sizes)
    if layout is Layout.A4:
        assert sizes == [pytest.approx((210, 297), abs=0.1)]


@pytest.mark.parametrize("layout", [Layout.THERMAL_80, Layout.THERMAL_58])
def test_five_service_visit_is_one_thermal_page_fitted_to_its_content(layout: Layout) -> None:
    five = render_receipt(sample_receipt(services=5), layout)
    three = render_receipt(sample_receipt(services=3), layout)

    assert len(reader(five).pages) == 1
    (_, five_height), (_, three_height) = page_sizes_mm(five)[0], page_sizes_mm(three)[0]
    assert five_height > three_height + 60  # the roll grows with the content
    [image] = render_png(five, dpi=100)
    left, top, right, bottom = ink_box(image)
    px_per_mm = 100 / 25.4
    # Margins: 4 mm above, 8 mm below for tearing; the last line sits right above them.
    assert top == pytest.approx(4 * px_per_mm, abs=3)
    assert image.height - bottom == pytest.approx(8 * px_per_mm, abs=4)
    text = flat_text(five)
    for line in sample_receipt(services=5).services:
        assert line.tracking_number in text
    assert text.rstrip().endswith("Kontak Imigrasi: aplikasi M-Paspor atau loket Imigrasi")


@pytest.mark.parametrize("layout", [Layout.THERMAL_80, Layout.THERMAL_58])
def test_thermal_ink_stays_inside_the_printable_width(layout: Layout) -> None:
    [image] = render_png(render_receipt(sample_receipt(services=5), layout), dpi=203)
    left, _, right, _ = ink_box(image)
    margin_px = (LAYOUT_WIDTH_MM[layout] - PRINTABLE_MM[layout]) / 2 / 25.4 * 203
    assert left >= margin_px - 2
    assert right <= image.width - margin_px + 2
    # and the content really uses the printable width (the check above can fail)
    assert right - left > 0.9 * PRINTABLE_MM[layout] / 25.4 * 203


@pytest.mark.parametrize(
    ("layout", "dpi"), [(Layout.THERMAL_80, 203), (Layout.THERMAL_58, 203), (Layout.A4, 150)]
)
def test_qr_codes_and_a4_barcodes_scan_back_to_the_tracking_numbers(
    layout: Layout, dpi: int
) -> None:
    view = sample_receipt(services=3)
    [image] = render_png(render_receipt(view, layout), dpi=dpi)
    found = [(str(code.format), code.text) for code in zxingcpp.read_barcodes(image)]
    numbers = [line.tracking_number for line in view.services]

    assert sorted(text for kind, text in found if "QR" in kind) == sorted(numbers)
    code128 = sorted(text for kind, text in found if "128" in kind)
    assert code128 == (sorted(numbers) if layout is Layout.A4 else [])


def test_english_receipt_uses_english_words_and_conventions() -> None:
    text = flat_text(render_receipt(sample_receipt(services=3), Layout.THERMAL_80, lang="en"))

    assert "REQUEST RECEIPT" in text
    assert "Time 27 November 2026, 10:42 WIB" in text
    assert "Fee: Free" in text
    assert "Fee: Rp650,000" in text
    assert "Fee: as assessed" in text
    assert "Due by: 2 December 2026" in text
    assert "Still missing:" in text
    assert "Status: Received — waiting to be sent to Dukcapil" in text
    assert "Status: Sent to Imigrasi — reference IMI-2026-778812" in text
    assert "Personal data protection" in text
    assert "TANDA TERIMA" not in text


@pytest.mark.parametrize(("offset", "label"), [(7, "WIB"), (8, "WITA"), (9, "WIT")])
def test_time_zone_label_follows_the_install_offset(offset: int, label: str) -> None:
    moment = datetime(2026, 11, 27, 10, 42, tzinfo=timezone(timedelta(hours=offset)))
    view = replace(sample_receipt(), printed_at=moment, tz_label=None)

    assert f"27 November 2026 10.42 {label}" in flat_text(render_receipt(view))


def test_reprint_is_marked_salinan_with_the_time_of_reprinting() -> None:
    reprinted = VISIT_AT.replace(day=28, hour=9, minute=12)
    original = flat_text(render_receipt(sample_receipt()))
    thermal = flat_text(render_receipt(sample_receipt(reprinted_at=reprinted)))
    a4 = flat_text(render_receipt(sample_receipt(reprinted_at=reprinted), Layout.A4))

    assert "SALINAN" not in original
    for text in (thermal, a4):
        assert "SALINAN" in text
        assert "Dicetak ulang 28 November 2026 09.12 WIB" in text
        assert "Waktu 27 November 2026 10.42 WIB" in text  # the visit's own time stays


def test_fee_free_assessed_and_note_and_unknown_due_date() -> None:
    line = ServiceLineView(
        agency_name="Perusahaan Daerah Air Minum",
        agency_short="PDAM",
        service_name="Sambungan baru",
        tracking_number="A01-261127-0009-Z",
        fee=1_650_000,
        fee_note="termasuk meteran",
        sla_due=None,
        send_state="queued",
        received=["Fotokopi KTP-el"],
    )
    view = replace(sample_receipt(), services=(line,))
    text = flat_text(render_receipt(view))

    assert "Biaya: Rp1.650.000 (termasuk meteran)" in text
    assert "Selesai paling lambat: ditentukan instansi" in text
    assert "Total biaya: Rp1.650.000" in text
    assert "✓ Fotokopi KTP-el" in text
    assert "Belum diserahkan" not in text
    assert "PDAM menerima: data formulir Sambungan baru" in text


def test_fonts_are_the_embedded_dejavu_subsets_only() -> None:
    pdf = render_receipt(sample_receipt(), Layout.A4)
    base_fonts = set(re.findall(rb"/BaseFont\s*/([\w+-]+)", pdf))

    assert base_fonts == {b"AAAAAA+DejaVuSans", b"AAAAAA+DejaVuSans-Bold"}
    assert pdf.count(b"/FontFile2") == 2


def test_rendering_is_deterministic() -> None:
    view = sample_receipt()
    assert render_receipt(view) == render_receipt(view)


def test_bad_input_is_refused_with_a_message_naming_it() -> None:
    with pytest.raises(ValueError, match="layout must be one of 80mm, 58mm, a4"):
        render_receipt(sample_receipt(), "letter")
    with pytest.raises(ValueError, match="lang must be 'id' or 'en'"):
        render_receipt(sample_receipt(), "80mm", lang="fr")
    with pytest.raises(ValueError, match="printed_at must be a timezone-aware datetime"):
        replace(sample_receipt(), printed_at=datetime(2026, 11, 27, 10, 42))
    with pytest.raises(
        ValueError, match="send_state of 'X-1' must be one of queued, held, sent, manual, failed"
    ):
        ServiceLineView("A", "S", "X-1", fee=0, sla_due=date(2026, 1, 1), send_state="sending")
    with pytest.raises(ValueError, match="a receipt needs at least one service"):
        replace(sample_receipt(), services=())


def test_layout_accepts_the_cli_spellings() -> None:
    assert Layout.parse("80mm") is Layout.THERMAL_80
    assert Layout.parse(" 58MM ") is Layout.THERMAL_58
    assert Layout.parse("A4") is Layout.A4
    assert Layout.parse("thermal_80") is Layout.THERMAL_80


def test_received_items_show_how_they_were_handed_over() -> None:
    line = replace(
        sample_receipt().services[0],
        received=(
            RequirementItem("Akta kelahiran", state="shown"),
            RequirementItem("Pas foto", state="digital"),
        ),
        missing=(),
        send_state=SendState.SENT,
        agency_ref=None,
    )
    text = flat_text(render_receipt(replace(sample_receipt(), services=(line,)), lang="en"))

    assert "✓ Akta kelahiran — original shown" in text
    assert "✓ Pas foto — digital" in text
    assert "Status: Sent to Dukcapil" in text
    assert "reference" not in text.split("Status: Sent to Dukcapil")[1][:20]


def test_text_of_the_pdf_has_one_line_per_printed_line() -> None:
    text = pdf_text(render_receipt(sample_receipt()))
    assert "Loket A01\nNo. antrean A-017\n" in text


def test_documents_render_from_several_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    views = [sample_receipt(services=n) for n in (1, 2, 3, 4, 5)] * 2
    expected = [render_receipt(view) for view in views]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(render_receipt, views))
    assert results == expected


def test_sample_images_for_the_readme_are_written_at_paper_width(tmp_path) -> None:
    from PIL import Image

    from mppdesk.printing.samples import write_images

    written = write_images(tmp_path, dpi=100)
    names = sorted(path.name for path in written)
    assert names == sorted(
        f"{name}.png"
        for name in (
            "receipt-80mm",
            "receipt-58mm",
            "receipt-a4",
            "checklist-a4",
            "slip-80mm",
            "handover-a4",
        )
    )
    widths = {}
    for path in written:
        with Image.open(path) as image:
            widths[path.stem] = image.width
    assert widths["receipt-80mm"] == pytest.approx(80 / 25.4 * 100, abs=1)
    assert widths["receipt-58mm"] == pytest.approx(58 / 25.4 * 100, abs=1)
    assert widths["handover-a4"] == pytest.approx(210 / 25.4 * 100, abs=1)


def test_a4_receipt_with_a_long_missing_list_runs_onto_more_pages() -> None:
    line = replace(
        sample_receipt(services=1).services[0],
        missing=[f"Dokumen {i} " + "panjang " * (i % 7) for i in range(120)],
    )
    pdf = render_receipt(replace(sample_receipt(services=1), services=(line,)), Layout.A4)
    words = flat_text(pdf).split()

    assert len(reader(pdf).pages) >= 3
    assert all(str(i) in words for i in range(120))
    assert "Pelindungan" in words  # the notice after the list is there too


def test_times_are_converted_to_the_zone_the_install_names() -> None:
    in_utc = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    view = replace(sample_receipt(), printed_at=in_utc, tz_label="WITA")

    assert "Waktu 28 November 2026 07.30 WITA" in flat_text(render_receipt(view))
