"""The demo shows the payment block as an MPP that collects a fee itself would see it.

`mppdesk demo` writes settings whose `[qris]` names PDAM (a computed connection fee): a PDAM
visit taken at the demo desk, delivered to the demo's agency server and billed there, prints
a receipt whose QR decodes to a QRIS for that bill. The settings file is read back from disk,
so a demo whose `[qris]` did not survive saving fails here.
"""

from __future__ import annotations

from dataclasses import replace

import zxingcpp

from mppdesk.core.qris import parse_payload
from mppdesk.desk.auth import login
from mppdesk.desk.demo import start_demo
from mppdesk.desk.documents import print_receipt
from mppdesk.settings import load_settings
from mppdesk.store import billing as bills
from mppdesk.sync.worker import SyncWorker
from tests.example_visits import Clock, finalize
from tests.integration.pdf_inspection import render_png


def test_a_pdam_receipt_at_the_demo_desk_carries_a_qris_for_its_bill(tmp_path):
    env = start_demo(tmp_path / "demo", visits=0)
    try:
        saved = load_settings(tmp_path / "demo")
        assert saved.qris.agency_codes == {"pdam"}
        saved.qris.merchant().check()  # a merchant the QRIS encoder accepts
        runtime = env.runtime
        runtime.settings = replace(runtime.settings, qris=saved.qris)
        ani = login(runtime, "ani", "petugas-demo-1")
        summary = finalize(runtime, ani, "pdam/sambungan-baru")
        worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=Clock())
        try:
            assert worker.run_once().delivered == 1
        finally:
            worker.close()
        with runtime.store.read() as session:
            bill = bills.stored(session, summary.submission_id)
        assert bill is not None and bill.amount == summary.fee > 0

        pdf = print_receipt(runtime, ani, summary.tracking_number, "80mm")
        codes = [
            c.text
            for page in render_png(pdf, 200)
            for c in zxingcpp.read_barcodes(page)
            if c.text.startswith("000201")
        ]
        (payload,) = codes
        tags = parse_payload(payload)
        assert tags["54"] == str(bill.amount)
        assert tags["59"] == "MPP DEMO KOTA CONTOH" and tags["60"] == "KOTA CONTOH"
    finally:
        env.close()
