"""Documents built from the store: receipt, slip, checklist and handover read back as text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pypdf

from mppdesk.desk.documents import print_checklist, print_handover, print_receipt, print_slip
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.store import repo
from tests.conftest import run_cli
from tests.integration.test_intake import _three_service_visit, example_visit


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_receipt_holds_every_service_and_marks_reprints(runtime, officer):
    runtime.clock = lambda: datetime(2026, 11, 30, 2, 15, tzinfo=UTC)  # 09:15 WIB, a Monday
    result = finalize_visit(runtime, officer, parse_visit(_three_service_visit()))
    first = pdf_text(print_receipt(runtime, officer, result.visit_id, "80mm"))
    for summary in result.submissions:
        assert summary.tracking_number in first
        name = runtime.catalog.service(summary.service).name.id
        assert squash(name)[:20] in squash(first)
    assert "09.15 WIB" in first or "09:15 WIB" in first
    assert "SALINAN" not in first
    again = pdf_text(print_receipt(runtime, officer, result.visit_id, "a4"))
    assert "SALINAN" in again
    with runtime.store.read() as session:
        assert repo.count_audit(session, "receipt.printed", result.visit_id) == 2


def test_slip_lists_missing_requirements(runtime, officer):
    visit = example_visit("dukcapil/ktp-el")
    checklist = visit["services"][0]["checklist"]
    first_id = next(key for key, state in checklist.items() if state != "not_applicable")
    checklist[first_id] = "missing"
    result = finalize_visit(runtime, officer, parse_visit(visit))
    (summary,) = result.submissions
    assert first_id in summary.missing
    service = runtime.catalog.service("dukcapil/ktp-el")
    label = next(r.label.id for r in service.requirements if r.id == first_id)
    text = squash(pdf_text(print_slip(runtime, officer, result.visit_id, "58mm")))
    assert squash(label)[:25] in text


def test_checklist_from_catalog_alone(runtime):
    text = squash(pdf_text(print_checklist(runtime, ["imigrasi/paspor"], "a4", "en")))
    service = runtime.catalog.service("imigrasi/paspor")
    assert squash(service.name.en)[:20] in text
    for requirement in service.requirements[:3]:
        assert squash(requirement.label.en)[:20] in text


def test_handover_for_a_manual_agency(runtime, officer):
    code = "pdam/sambungan-baru"  # bpn's one service waits for approval: not handed over yet
    result = finalize_visit(runtime, officer, parse_visit(example_visit(code)))
    day = runtime.local_today()
    text = pdf_text(print_handover(runtime, officer, "pdam", day))
    assert result.submissions[0].tracking_number in text


def test_cli_documents(tmp_path, data_dir, runtime, officer):
    result = finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    runtime.close()
    for command in (["receipt", result.visit_id, "--format", "58mm"],
                    ["slip", result.visit_id, "--lang", "en"],
                    ["checklist", "dukcapil/ktp-el", "polri/skck"]):
        out = tmp_path / f"{command[0]}.pdf"
        done = run_cli(*command, "-o", str(out), data_dir=data_dir)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes().startswith(b"%PDF")
    missing = run_cli("receipt", "no-such-visit", "-o", str(tmp_path / "x.pdf"), data_dir=data_dir)
    assert missing.returncode == 2
    assert not (tmp_path / "x.pdf").exists()
