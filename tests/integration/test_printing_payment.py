"""The payment block on paper: billing code, amount, expiry and the dynamic QRIS, read back.

A real visit (PDAM's connection fee, which this install's MPP collects itself) is delivered
to the reference agency server, which bills it; the receipt is rendered, rasterised with
poppler and the QR decoded with zxing-cpp; every QRIS tag is checked and the CRC recomputed
with the standard library's own CRC-CCITT (``binascii.crc_hqx``), not the desk's code.
"""

from __future__ import annotations

import binascii
import os
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp

from mppdesk.core.qris import parse_fields, parse_payload
from mppdesk.desk.documents import print_receipt, print_slip
from mppdesk.settings import QrisSettings
from mppdesk.store import billing as bills
from mppdesk.store.models import BillingRecord, Submission
from mppdesk.sync.worker import SyncWorker
from tests.example_visits import Clock, agency_settings, finalize, start_sim
from tests.integration.pdf_inspection import flat_text, render_png

PDAM = "pdam/sambungan-baru"
SHOTS = os.environ.get("MPPDESK_SCREENSHOTS")

QRIS = QrisSettings(
    agencies="pdam",
    merchant_name="MPP KOTA MEDAN",
    merchant_city="MEDAN",
    acquirer_domain="ID.CO.BANKSUMUT.WWW",
    merchant_pan="9360011700000012345",
    merchant_id="MPPMDN01",
    nmid="ID1026123456789",
    criteria="URE",
    mcc="9399",
    postal_code="20111",
)


@pytest.fixture
def billed_visit(runtime, officer, tmp_path):
    """A PDAM visit delivered to the sim and billed there; the desk collects PDAM fees."""
    sim = start_sim(tmp_path)
    runtime.settings = replace(
        agency_settings(runtime.settings, {"pdam": sim.agency_url("pdam")}), qris=QRIS
    )
    summary = finalize(runtime, officer, PDAM)
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=Clock())
    try:
        assert worker.run_once().delivered == 1
    finally:
        worker.close()
        sim.stop()
    return summary


def _qris_codes(pdf: bytes, dpi: int = 200) -> list[str]:
    found = []
    for page in render_png(pdf, dpi):
        found += [c.text for c in zxingcpp.read_barcodes(page) if c.text.startswith("000201")]
    return found


@pytest.mark.parametrize("layout", ["80mm", "58mm", "a4"])
def test_receipt_carries_the_billing_code_and_a_dynamic_qris_whose_every_tag_checks(
    runtime, officer, billed_visit, layout
):
    with runtime.store.read() as session:
        bill = bills.stored(session, billed_visit.submission_id)
    assert bill is not None and bill.kind == "other" and bill.amount == billed_visit.fee

    pdf = print_receipt(runtime, officer, billed_visit.tracking_number, layout)
    text = flat_text(pdf)
    assert bill.code in text and "Kode billing" in text and "Bayar sebelum" in text
    (payload,) = _qris_codes(pdf)

    # The CRC, recomputed independently: CRC-16/CCITT-FALSE over everything up to "6304".
    assert payload[-8:-4] == "6304"
    assert payload[-4:] == f"{binascii.crc_hqx(payload[:-4].encode('ascii'), 0xFFFF):04X}"
    tags = parse_payload(payload)
    assert list(tags) == [
        "00", "01", "26", "51", "52", "53", "54", "58", "59", "60", "61", "62", "63",
    ]  # fmt: skip
    assert tags["00"] == "01"  # payload format indicator
    assert tags["01"] == "12"  # dynamic: one payment of this amount
    assert parse_fields(tags["26"]) == {
        "00": "ID.CO.BANKSUMUT.WWW",
        "01": "9360011700000012345",
        "02": "MPPMDN01",
        "03": "URE",
    }
    assert parse_fields(tags["51"]) == {"00": "ID.CO.QRIS.WWW", "02": "ID1026123456789", "03": "URE"}
    assert tags["52"] == "9399"
    assert tags["53"] == "360"  # Rupiah
    assert tags["54"] == str(bill.amount) and len(tags["54"]) <= 13
    assert tags["58"] == "ID"
    assert tags["59"] == "MPP KOTA MEDAN" and tags["60"] == "MEDAN" and tags["61"] == "20111"
    extra = parse_fields(tags["62"])
    assert extra == {"01": billed_visit.tracking_number, "07": runtime.settings.desk.code}
    assert tags["63"] == payload[-4:]

    if layout == "80mm" and SHOTS:  # docs/images/receipt-billing-qris.png came from here
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        render_png(pdf, 150)[0].save(Path(SHOTS) / "receipt-billing-qris.png")


def test_slip_shows_the_billing_code_amount_and_expiry(runtime, officer, billed_visit):
    with runtime.store.read() as session:
        bill = bills.stored(session, billed_visit.submission_id)
    text = flat_text(print_slip(runtime, officer, billed_visit.tracking_number, "80mm"))
    assert bill.code in text and "Bayar sebelum" in text and "Rp1.500.000" in text


def test_a_fee_over_the_qris_amount_length_prints_a_clear_sentence_and_loses_nothing(
    runtime, officer, billed_visit
):
    """An amount of 14 characters cannot go into tag 54: no QR, the reason in words, the
    billing code still there, and the visit untouched."""
    huge = 10**13  # 14 digits: beyond the standard's 13 characters
    with runtime.store.write() as session:
        session.get(Submission, billed_visit.submission_id).fee = huge
        session.delete(session.get(BillingRecord, billed_visit.submission_id))
    pdf = print_receipt(runtime, officer, billed_visit.tracking_number, "80mm")
    text = flat_text(pdf)
    assert "melebihi 13 karakter" in text and "Rp10.000.000.000.000" in text
    assert _qris_codes(pdf) == []
    with runtime.store.read() as session:
        kept = session.get(Submission, billed_visit.submission_id)
        assert kept is not None and kept.tracking_number == billed_visit.tracking_number


def test_english_receipt_words_the_payment_in_english(runtime, officer, billed_visit):
    text = flat_text(print_receipt(runtime, officer, billed_visit.tracking_number, "a4", "en"))
    assert "Billing code" in text and "Pay before" in text and "Not paid yet" in text


def test_the_escpos_receipt_carries_the_billing_code_and_the_same_qris(
    runtime, officer, billed_visit
):
    """A thermal printer driven raw (ESC/POS) prints the same bill and QRIS text."""
    with runtime.store.read() as session:
        bill = bills.stored(session, billed_visit.submission_id)
    data = print_receipt(runtime, officer, billed_visit.tracking_number, "80mm", output="escpos")
    assert bill.code.encode() in data
    start = data.index(b"00020101021226")
    end = data.index(b"6304", start) + 8
    tags = parse_payload(data[start:end].decode("ascii"))
    assert tags["54"] == str(bill.amount)
    assert parse_fields(tags["62"])["01"] == billed_visit.tracking_number
