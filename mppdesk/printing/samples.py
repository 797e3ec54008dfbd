"""One realistic visit as views, for the README images, the benchmark and the tests.

Kept in the package (not in tests) so that ``docs/images`` and ``bench/`` print the same
visit the tests check, and so a printer can be tried out at an install before any real
visit exists.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from mppdesk.core.tracking import make_tracking_number
from mppdesk.printing.views import (
    HandoverRowView,
    HandoverView,
    ProxyView,
    ReceiptView,
    RequirementItem,
    SendState,
    ServiceLineView,
    SlipServiceView,
    SlipView,
)

WIB = timezone(timedelta(hours=7), "WIB")
VISIT_AT = datetime(2026, 11, 27, 10, 42, tzinfo=WIB)
MPP_NAME = "Mal Pelayanan Publik Kota Contoh"
MPP_ADDRESS = "Jl. Merdeka No. 1, Kota Contoh"
DESK = "A01"


def tracking(sequence: int) -> str:
    return make_tracking_number(DESK, VISIT_AT.date(), sequence)


def sample_service_lines() -> list[ServiceLineView]:
    """Five services, each in a different send state; the first three make the usual visit."""
    return [
        ServiceLineView(
            agency_name="Dinas Kependudukan dan Pencatatan Sipil",
            agency_short="Dukcapil",
            service_name="KTP-el (penggantian karena hilang)",
            tracking_number=tracking(1),
            fee=0,
            sla_due=date(2026, 11, 30),
            send_state=SendState.QUEUED,
            received=[
                RequirementItem("Formulir biodata penduduk (F-1.02)", state="original"),
                RequirementItem("Fotokopi Kartu Keluarga", state="copy"),
            ],
            missing=[
                RequirementItem(
                    "Surat keterangan kehilangan dari kepolisian",
                    detail="asli",
                    condition="hanya bila KTP-el hilang",
                )
            ],
            data_shared=["NIK", "No. KK", "nama", "tempat/tanggal lahir", "alamat", "no. HP"],
            agency_contact="loket Dukcapil atau layanan pengaduan Disdukcapil",
        ),
        ServiceLineView(
            agency_name="Kantor Imigrasi Kelas I TPI Kota Contoh",
            agency_short="Imigrasi",
            service_name="Paspor biasa elektronik (dewasa)",
            tracking_number=tracking(2),
            fee=650_000,
            sla_due=date(2026, 12, 2),
            send_state=SendState.SENT,
            agency_ref="IMI-2026-778812",
            received=[
                RequirementItem("KTP-el", state="shown"),
                RequirementItem("Kartu Keluarga", state="shown"),
                RequirementItem("Akta kelahiran", state="copy"),
            ],
            data_shared=["NIK", "nama", "tanggal lahir", "nama ibu kandung", "alamat"],
            agency_contact="aplikasi M-Paspor atau loket Imigrasi",
        ),
        ServiceLineView(
            agency_name="Badan Pendapatan Daerah (Samsat)",
            agency_short="Samsat",
            service_name="Pajak kendaraan bermotor tahunan",
            tracking_number=tracking(3),
            fee=None,
            sla_due=date(2026, 11, 27),
            send_state=SendState.HELD,
            received=[
                RequirementItem("KTP-el", state="shown"),
                RequirementItem("STNK", state="original"),
            ],
            missing=[RequirementItem("Fotokopi BPKB", detail="fotokopi")],
            data_shared=["NIK", "nama", "alamat", "nomor polisi"],
        ),
        ServiceLineView(
            agency_name="Kantor Pertanahan Kota Contoh",
            agency_short="BPN",
            service_name="Sertifikat pengganti karena hilang",
            tracking_number=tracking(4),
            fee=None,
            sla_due=None,
            send_state=SendState.MANUAL,
            received=[RequirementItem("Surat pernyataan di bawah sumpah", state="original")],
            missing=[RequirementItem("Pengumuman di surat kabar", detail="asli")],
        ),
        ServiceLineView(
            agency_name="Kepolisian Resor Kota Contoh",
            agency_short="Polri",
            service_name="SKCK baru",
            tracking_number=tracking(5),
            fee=30_000,
            sla_due=date(2026, 11, 27),
            send_state=SendState.FAILED,
            received=[RequirementItem("Pas foto 4×6 latar merah, 6 lembar", state="original")],
        ),
    ]


def sample_receipt(services: int = 3, reprinted_at: datetime | None = None) -> ReceiptView:
    lines = sample_service_lines()
    if not 1 <= services <= len(lines):
        raise ValueError(f"services must be 1..{len(lines)}")
    return ReceiptView(
        mpp_name=MPP_NAME,
        mpp_address=MPP_ADDRESS,
        desk=DESK,
        officer="Siti Aminah",
        printed_at=VISIT_AT,
        tz_label="WIB",
        ticket="A-017",
        applicant_name="Budi Santoso",
        applicant_id="3578031505900003",
        proxy=ProxyView("Ani Lestari", "3578035505920002", basis="surat kuasa bermeterai"),
        services=lines[:services],
        reprinted_at=reprinted_at,
        data_contact="meja informasi MPP atau ppid@kotacontoh.go.id",
    )


def sample_slip(complete: bool = False, reprinted_at: datetime | None = None) -> SlipView:
    services = []
    for line in sample_service_lines()[:3]:
        conditional = [item for item in line.missing if item.condition]
        services.append(
            SlipServiceView(
                agency_name=line.agency_name,
                service_name=line.service_name,
                tracking_number=line.tracking_number,
                missing=() if complete else line.missing,
                conditional=conditional,
            )
        )
    return SlipView(
        mpp_name=MPP_NAME,
        desk=DESK,
        officer="Siti Aminah",
        printed_at=VISIT_AT,
        tz_label="WIB",
        ticket="A-017",
        applicant_name="Budi Santoso",
        applicant_id="3578031505900003",
        services=services,
        return_by=None if complete else date(2026, 12, 11),
        reprinted_at=reprinted_at,
    )


def sample_handover(rows: int = 4, reprinted_at: datetime | None = None) -> HandoverView:
    people = [
        ("Budi Santoso", "3578031505900003", "Sertifikat pengganti karena hilang"),
        ("Rina Wulandari", "3578036204880001", "Pengecekan sertifikat"),
        ("Made Wirawan", "5171010101850002", "Peralihan hak (jual beli)"),
        ("Yohanes Pigai", "9471021207790001", "Roya (penghapusan hak tanggungan)"),
    ]
    documents = [
        [
            "Formulir permohonan",
            "Fotokopi KTP-el",
            "Surat pernyataan di bawah sumpah",
            "Laporan kehilangan polisi",
        ],
        ["Sertifikat asli", "Fotokopi KTP-el"],
        [
            "Akta jual beli",
            "Sertifikat asli",
            "Bukti bayar BPHTB",
            "Fotokopi KTP-el penjual dan pembeli",
        ],
        ["Sertifikat asli", "Surat roya dari bank", "Fotokopi KTP-el"],
    ]
    out = []
    for index in range(rows):
        name, nik, service = people[index % len(people)]
        out.append(
            HandoverRowView(
                tracking_number=tracking(10 + index),
                applicant_name=name,
                applicant_id=nik,
                service_name=service,
                received_at=VISIT_AT.replace(hour=8 + index % 7, minute=(13 * index) % 60),
                documents=documents[index % len(documents)],
            )
        )
    return HandoverView(
        mpp_name=MPP_NAME,
        mpp_address=MPP_ADDRESS,
        agency_name="Kantor Pertanahan Kota Contoh (BPN)",
        agency_short="BPN",
        day=VISIT_AT.date(),
        officer="Siti Aminah",
        printed_at=VISIT_AT.replace(hour=15, minute=30),
        tz_label="WIB",
        rows=out,
        reprinted_at=reprinted_at,
    )


def sample_checklist_services(
    codes: tuple[str, ...] = ("dukcapil/ktp-el", "imigrasi/paspor"),
) -> list:
    """(Agency, Service) pairs from the built-in catalog, for the checklist image."""
    from mppdesk.forms.catalog import load_catalog
    from mppdesk.paths import catalog_dir

    catalog = load_catalog([catalog_dir()])
    return [
        (catalog.agencies[catalog.service(code).agency], catalog.service(code)) for code in codes
    ]


def write_images(out_dir: Path, dpi: int = 100) -> list[Path]:
    """Render the sample visit's documents to PNG (poppler's pdftoppm) for the README."""
    from mppdesk.printing import (
        ChecklistHeader,
        render_checklist,
        render_handover,
        render_receipt,
        render_slip,
    )

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise FileNotFoundError("pdftoppm not found: install poppler-utils to render PNG images")
    documents = {
        "receipt-80mm": render_receipt(sample_receipt(), "80mm"),
        "receipt-58mm": render_receipt(sample_receipt(), "58mm"),
        "receipt-a4": render_receipt(sample_receipt(), "a4"),
        "checklist-a4": render_checklist(
            sample_checklist_services(), "a4", header=ChecklistHeader(MPP_NAME, VISIT_AT)
        ),
        "slip-80mm": render_slip(sample_slip(), "80mm"),
        "handover-a4": render_handover(sample_handover()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, pdf in documents.items():
            source = Path(tmp) / f"{name}.pdf"
            source.write_bytes(pdf)
            # -singlefile: first page only, named exactly <name>.png
            subprocess.run(
                [pdftoppm, "-png", "-r", str(dpi), "-singlefile", str(source), str(out_dir / name)],
                check=True,
            )
            written.append(out_dir / f"{name}.png")
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/images")
    for path in write_images(target):
        print(path)
