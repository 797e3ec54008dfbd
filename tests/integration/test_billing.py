"""Billing over the real sync path: the reference agency server on loopback issues a bill for
a fee-bearing submission, a test pays it there (``/_admin/pay``), and the desk's worker brings
the payment back (state, NTPN) into the store, the receipt and ``submissions list --json``.

The worker runs with a clock the test moves forward (no sleeping); the sim's expiry is real
time, so the expired case uses a bill that is born expired (``billing_ttl_s=0``).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from mppdesk.desk.documents import print_receipt
from mppdesk.settings import save_settings
from mppdesk.store import billing as bills
from mppdesk.store.models import OutboxEntry, Submission
from mppdesk.store.outbox import status_poll_candidates
from mppdesk.sync.worker import SyncWorker
from tests.conftest import cli_json, run_cli
from tests.example_visits import KTP, Clock, agency_settings, finalize, start_sim

SKCK = "polri/skck"  # a fixed PNBP fee of Rp30.000


@pytest.fixture
def sim(tmp_path):
    started = []

    def start(**config):
        handle = start_sim(tmp_path, **config)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


def _worker(runtime, sim_handle, agencies=("polri", "dukcapil")) -> tuple[SyncWorker, Clock]:
    """A sync worker to the sim's agencies on a clock of its own, which the test moves."""
    runtime.settings = agency_settings(
        runtime.settings, {a: sim_handle.agency_url(a) for a in agencies}
    )
    clock = Clock()
    worker = SyncWorker(runtime.store, runtime.settings, runtime.blobs, clock=clock, rand=lambda: 0.5)
    return worker, clock


def _pay(sim_handle, agency: str, submission_id: str) -> requests.Response:
    return requests.post(
        sim_handle.url + "/_admin/pay",
        json={"agency": agency, "submission_id": submission_id},
        timeout=(2, 10),
    )


def _entry(runtime, submission_id: str) -> OutboxEntry:
    with runtime.store.read() as session:
        (entry,) = session.get(Submission, submission_id).outbox
        return entry


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_fee_bearing_visit_is_billed_paid_at_the_agency_and_synced_back_with_the_ntpn(
    runtime, officer, sim, tmp_path
):
    handle = sim()
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    free = finalize(runtime, officer, KTP)
    try:
        report = worker.run_once()
        assert report.delivered == 2

        with runtime.store.read() as session:
            bill = bills.stored(session, skck.submission_id)
            assert bills.stored(session, free.submission_id) is None  # free: no bill
        assert bill is not None and bill.state == "unpaid" and bill.kind == "pnbp"
        assert re.fullmatch(r"[0-9]{15}", bill.code)  # a SIMPONI billing code
        assert bill.amount == 30000 and bill.ntpn is None

        # The payload the agency holds carries the fee and SLA due date of the receipt.
        body = json.loads(_payload(runtime, skck.submission_id))
        assert body["fee"] == 30000 and body["sla_due"] == skck.sla_due.isoformat()

        # The receipt shows the billing code, amount and expiry (read back with pdftotext).
        text = _pdf_text(print_receipt(runtime, officer, skck.tracking_number, "80mm"), tmp_path)
        assert bill.code in text and "Rp30.000" in text
        assert "Kode billing" in text and "Bayar sebelum" in text and "Belum dibayar" in text

        paid = _pay(handle, "polri", skck.submission_id)
        assert paid.status_code == 200, paid.text
        ntpn = paid.json()["billing"]["ntpn"]
        assert re.fullmatch(r"[0-9A-Z]{16}", ntpn)

        clock.advance(3600)  # the next status pull is due
        report = worker.run_once()
        assert report.status_updates >= 1
    finally:
        worker.close()

    with runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
    assert bill.state == "paid" and bill.ntpn == ntpn and bill.paid_at is not None

    save_settings(runtime.data_dir, runtime.settings)
    rows = {r["submission_id"]: r for r in cli_json(run_cli(
        "submissions", "list", "--json", data_dir=runtime.data_dir
    ))}
    payment = rows[skck.submission_id]["payment"]
    assert payment["code"] == bill.code and payment["amount"] == 30000
    assert payment["state"] == "paid" and payment["ntpn"] == ntpn
    assert payment["expires"] == bill.expires_at.isoformat()
    assert rows[free.submission_id]["payment"] is None

    text = _pdf_text(print_receipt(runtime, officer, skck.tracking_number, "a4"), tmp_path)
    assert "Lunas" in text and ntpn in text


def _payload(runtime, submission_id: str) -> bytes:
    with runtime.store.read() as session:
        (entry,) = session.get(Submission, submission_id).outbox
        return entry.payload


def test_an_expired_bill_shows_as_expired_and_cannot_be_paid(runtime, officer, sim, tmp_path):
    handle = sim(billing_ttl_s=0.0)  # every bill is past its expiry when first reported
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    try:
        assert worker.run_once().delivered == 1
        refused = _pay(handle, "polri", skck.submission_id)
        assert refused.status_code == 409 and refused.json()["error"] == "expired"
        clock.advance(3600)
        worker.run_once()
    finally:
        worker.close()
    with runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
    assert bill.state == "expired" and bill.ntpn is None
    save_settings(runtime.data_dir, runtime.settings)
    rows = {r["submission_id"]: r for r in cli_json(run_cli(
        "submissions", "list", "--json", data_dir=runtime.data_dir
    ))}
    assert rows[skck.submission_id]["payment"]["state"] == "expired"
    text = _pdf_text(print_receipt(runtime, officer, skck.tracking_number, "80mm"), tmp_path)
    assert "Kedaluwarsa" in text


def test_a_malformed_billing_answer_is_refused_and_the_entry_fails_with_the_reason(
    runtime, officer, sim
):
    handle = sim(faults="polri:bad_billing=1")
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    try:
        report = worker.run_once()
    finally:
        worker.close()
    assert report.failed == 1 and report.delivered == 0
    entry = _entry(runtime, skck.submission_id)
    assert entry.state == "failed" and entry.last_error_class == "bad_billing"
    assert "15 digits" in entry.last_error_message  # the reason, in the agency's terms
    with runtime.store.read() as session:
        assert bills.stored(session, skck.submission_id) is None  # nothing of it is kept
        assert session.get(Submission, skck.submission_id) is not None  # nothing is lost
    assert json.loads(entry.payload)["submission_id"] == skck.submission_id

    save_settings(runtime.data_dir, runtime.settings)
    rows = {r["submission_id"]: r for r in cli_json(run_cli(
        "submissions", "list", "--json", data_dir=runtime.data_dir
    ))}
    shown = rows[skck.submission_id]
    assert shown["payment"] is None
    assert shown["outbox"][0]["state"] == "failed"
    assert shown["outbox"][0]["last_error"].startswith("bad_billing: ")


def test_a_malformed_bill_in_a_status_answer_is_not_stored_and_is_shown_on_the_entry(
    runtime, officer, sim
):
    handle = sim()
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    try:
        assert worker.run_once().delivered == 1
        assert _pay(handle, "polri", skck.submission_id).status_code == 200
        handle.set_faults("polri:bad_billing=1")  # the status answers now lie about the bill
        clock.advance(3600)
        worker.run_once()
        entry = _entry(runtime, skck.submission_id)
        assert entry.state == "done" and entry.last_error_class == "bad_billing"
        assert "status not stored" in entry.last_error_message
        with runtime.store.read() as session:
            assert bills.stored(session, skck.submission_id).state == "unpaid"  # kept as was

        handle.set_faults("")  # the agency answers properly again: the payment comes in
        clock.advance(3600)
        worker.run_once()
    finally:
        worker.close()
    entry = _entry(runtime, skck.submission_id)
    assert entry.last_error_class is None
    with runtime.store.read() as session:
        assert bills.stored(session, skck.submission_id).state == "paid"


def test_the_sim_pays_only_bills_it_issued(sim, runtime, officer):
    handle = sim()
    worker, clock = _worker(runtime, handle)
    free = finalize(runtime, officer, KTP)
    skck = finalize(runtime, officer, SKCK)
    try:
        worker.run_once()
    finally:
        worker.close()
    assert _pay(handle, "dukcapil", free.submission_id).status_code == 404  # free: no bill
    bad = requests.post(handle.url + "/_admin/pay", json={"agency": "Polri!"}, timeout=5)
    assert bad.status_code == 422
    first = _pay(handle, "polri", skck.submission_id).json()["billing"]
    again = _pay(handle, "polri", skck.submission_id).json()["billing"]
    assert first == again and first["state"] == "paid"  # paying twice keeps the first NTPN


def test_dashboard_and_daily_report_show_bills_near_expiry_and_payments_per_agency(
    runtime, officer, supervisor, sim
):
    from mppdesk.desk.reports import load_dashboard, render, report_view
    from tests.integration.pdf_inspection import flat_text

    handle = sim(billing_ttl_s=3600.0)  # every bill expires within the hour
    worker, clock = _worker(runtime, handle)
    paid, unpaid = (finalize(runtime, officer, SKCK) for _ in range(2))
    try:
        assert worker.run_once().delivered == 2
        assert _pay(handle, "polri", paid.submission_id).status_code == 200
        clock.advance(3600)
        worker.run_once()
    finally:
        worker.close()

    dashboard = load_dashboard(runtime, supervisor)
    assert dashboard.sync.collected == {"polri": {"paid": 1, "amount": 30000}}
    (near,) = dashboard.sync.bills_expiring
    assert near["tracking_number"] == unpaid.tracking_number and near["amount"] == 30000
    stats = requests.get(handle.url + "/_admin/stats", timeout=5).json()
    counted = stats["agencies"]["polri"]
    assert (counted["bills_issued"], counted["bills_paid"]) == (2, 1)  # as the agency counts

    view = report_view(runtime, dashboard)
    tables = {t.key: t for t in view.tables}
    assert tables["collected"].rows[0][2:] == (1, 30000)
    assert tables["bills_expiring"].rows[0][0] == unpaid.tracking_number
    text = flat_text(render(view, "pdf"))
    assert "Pembayaran diterima per instansi" in text and unpaid.tracking_number in text


def test_billed_answers_match_the_openapi_schemas_and_malformed_ones_do_not(
    runtime, officer, sim
):
    import jsonschema
    import yaml
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from tests.integration.test_agency_sim import OPENAPI_PATH, response_schema

    openapi = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    registry = Registry().with_resource(
        "urn:agency-sync", Resource.from_contents(openapi, default_specification=DRAFT202012)
    )

    def problems(answer: requests.Response, path: str, method: str) -> list[str]:
        schema = response_schema(openapi, path, method, answer.status_code)
        validator = jsonschema.Draft202012Validator(
            {"$ref": "urn:agency-sync" + schema["$ref"]}, registry=registry
        )
        return [e.message for e in validator.iter_errors(answer.json())]

    handle = sim()
    base = handle.agency_url("polri")
    one = "/submissions/{submission_id}"

    def deliver(summary) -> requests.Response:
        return requests.post(
            base + "/submissions",
            data=_payload(runtime, summary.submission_id),
            headers={"Idempotency-Key": summary.submission_id, "X-MPP-Desk": "K01",
                     "Content-Type": "application/json"},
            timeout=5,
        )  # fmt: skip

    def status(summary) -> requests.Response:
        return requests.get(
            f"{base}/submissions/{summary.submission_id}", headers={"X-MPP-Desk": "K01"}, timeout=5
        )

    good = finalize(runtime, officer, SKCK)
    accepted = deliver(good)
    assert accepted.status_code == 201 and accepted.json()["billing"]["state"] == "unpaid"
    assert problems(accepted, "/submissions", "post") == []
    assert problems(status(good), one, "get") == []
    assert _pay(handle, "polri", good.submission_id).status_code == 200
    paid = status(good)
    assert paid.json()["billing"]["state"] == "paid" and problems(paid, one, "get") == []

    handle.set_faults("polri:bad_billing=1")
    bad = finalize(runtime, officer, SKCK)
    refused = deliver(bad)
    assert refused.status_code == 201
    assert problems(refused, "/submissions", "post") != []  # the schema refuses it too
    assert problems(status(bad), one, "get") != []


@pytest.mark.slow  # six short-lived mppdesk processes, about 20 s on a loaded machine
def test_the_command_line_takes_a_fee_pays_it_at_the_agency_and_syncs_the_ntpn_back(
    tmp_path, data_dir, runtime, sim
):
    """The headless path end to end: ``mppdesk intake``, ``mppdesk sync``, the agency's
    ``/_admin/pay``, ``mppdesk sync`` again, ``mppdesk receipt`` and ``submissions list``."""
    from tests.conftest import PASSWORD, make_user
    from tests.example_visits import example_visit
    from tests.integration.test_intake import with_local_attachments

    handle = sim()
    make_user(runtime, "ani", "officer")
    settings = agency_settings(
        runtime.settings, {"polri": handle.agency_url("polri")}, status_poll_interval_s=1.0
    )
    runtime.close()
    save_settings(data_dir, settings)
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(json.dumps(with_local_attachments(example_visit(SKCK), tmp_path)))
    taken = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                    "--json", stdin=PASSWORD + "\n", data_dir=data_dir)  # fmt: skip
    assert taken.returncode == 0, taken.stderr
    ((item),) = cli_json(taken)["submissions"]
    sid, tracking = item["submission_id"], item["tracking_number"]

    sent = run_cli("sync", "--once", "--json", data_dir=data_dir)
    assert sent.returncode == 0, sent.stderr
    (row,) = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
    assert row["payment"]["state"] == "unpaid" and len(row["payment"]["code"]) == 15
    receipt = tmp_path / "receipt.pdf"
    printed = run_cli("receipt", tracking, "--format", "80mm", "-o", str(receipt),
                      data_dir=data_dir)  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    text = _pdf_text(receipt.read_bytes(), tmp_path)
    assert row["payment"]["code"] in text and "Rp30.000" in text

    ntpn = _pay(handle, "polri", sid).json()["billing"]["ntpn"]
    for _ in range(10):  # each run starts a process (over a second): the pull falls due
        assert run_cli("sync", "--once", "--json", data_dir=data_dir).returncode == 0
        (row,) = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
        if row["payment"]["state"] == "paid":
            break
    assert row["payment"]["state"] == "paid" and row["payment"]["ntpn"] == ntpn


def _advance_to_terminal(handle, submission_id: str) -> str:
    """Step the sim's status of ``submission_id`` until the agency is done with it."""
    status = None
    for _ in range(5):
        moved = requests.post(
            handle.url + "/_admin/advance",
            json={"agency": "polri", "submission_id": submission_id},
            timeout=(2, 10),
        ).json()["advanced"]
        status = moved[0]["status"] if moved else status
        if status in ("completed", "rejected"):
            return status
    raise AssertionError(f"the sim never finished {submission_id}: {status}")


def test_a_bill_paid_after_the_agency_completed_still_syncs_back_paid(
    runtime, officer, sim
):
    """Issue 14 gap: the agency reports ``completed`` first, the citizen pays afterwards; the
    status pull goes on while the bill is unpaid, so the next sync brings ``paid`` + NTPN."""
    handle = sim()
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    try:
        assert worker.run_once().delivered == 1
        final = _advance_to_terminal(handle, skck.submission_id)
        clock.advance(3600)
        worker.run_once()
        entry = _entry(runtime, skck.submission_id)
        assert entry.agency_status == final
        with runtime.store.read() as session:
            assert bills.stored(session, skck.submission_id).state == "unpaid"
        assert entry.next_status_check_at is not None  # still asked: the bill is unpaid

        ntpn = _pay(handle, "polri", skck.submission_id).json()["billing"]["ntpn"]
        clock.advance(3600)
        assert worker.run_once().status_updates == 1
    finally:
        worker.close()
    with runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
    assert bill.state == "paid" and bill.ntpn == ntpn and bill.paid_at is not None
    entry = _entry(runtime, skck.submission_id)
    assert entry.agency_status == final and entry.next_status_check_at is None  # done: stop


def test_an_unpaid_bill_is_expired_by_the_desk_clock_when_the_agency_says_nothing(
    runtime, officer, sim, tmp_path
):
    """Past expiry + grace with the agency silent (down), the desk records the bill expired
    and stops asking; within the grace it still asks (a late payment may come)."""
    handle = sim(billing_ttl_s=3600.0)
    worker, clock = _worker(runtime, handle)
    skck = finalize(runtime, officer, SKCK)
    try:
        assert worker.run_once().delivered == 1
        _advance_to_terminal(handle, skck.submission_id)
        clock.advance(600)
        worker.run_once()
        with runtime.store.read() as session:
            bill = bills.stored(session, skck.submission_id)
        assert bill.state == "unpaid"
        handle.stop()  # the agency says nothing from now on

        # Expired by its date but within the grace: shown expired, stored unpaid, still asked.
        clock.advance(3600 + 60)
        worker.run_once()
        with runtime.store.read() as session:
            assert bills.stored(session, skck.submission_id).state == "unpaid"
            assert bills.payment_of(
                bills.stored(session, skck.submission_id), clock()
            )["state"] == "expired"
        assert _entry(runtime, skck.submission_id).next_status_check_at is not None

        clock.advance(bills.EXPIRY_GRACE_S)  # past expiry + grace
        worker.run_once()
    finally:
        worker.close()
    with runtime.store.read() as session:
        bill = bills.stored(session, skck.submission_id)
        assert status_poll_candidates(session, clock(), 10) == []  # bounded: nothing more to ask
    assert bill.state == "expired" and bill.ntpn is None
    assert _entry(runtime, skck.submission_id).next_status_check_at is None
