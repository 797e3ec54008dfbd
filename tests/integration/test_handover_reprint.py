"""Counter loops of issue 12: manual agencies handed over, reprints as submitted, the
information desk's checklist. Real stores, real PDFs read back with pdftotext, the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from mppdesk.core.states import OutboxState
from mppdesk.desk import retention
from mppdesk.desk.documents import (
    hand_over,
    handover_list,
    print_checklist,
    print_handover,
    print_receipt,
    print_slip,
    print_visit_checklist,
)
from mppdesk.desk.errors import DeskError, InvalidInput, NotFound
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.review import approve
from mppdesk.settings import AgencyEndpoint, save_settings
from mppdesk.store import repo
from mppdesk.store.models import OutboxEntry, Submission
from tests.conftest import PASSWORD, cli_json, run_cli
from tests.integration.test_intake import example_visit

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) not installed"
)


def pdftotext(pdf: bytes, tmp_path, name: str = "doc") -> str:
    """The PDF's text as poppler reads it (the layout a person sees)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def manual(runtime, data_dir):
    """PDAM and BPN receive their files by hand on this desk (saved for the CLI too)."""
    settings = runtime.settings
    for code in ("pdam", "bpn"):
        settings = settings.with_agency(AgencyEndpoint(code=code, mode="manual"))
    save_settings(data_dir, settings)
    runtime.settings = settings
    return runtime


def _pdam_visit(name: str = "SITI RAHAYU") -> dict:
    visit = example_visit("pdam/sambungan-baru")
    visit["applicant"]["nama"] = name
    return visit


def _entry(runtime, submission_id: str) -> OutboxEntry:
    with runtime.store.read() as session:
        return session.query(OutboxEntry).filter_by(submission_id=submission_id).one()


# --- manual agencies -----------------------------------------------------------------------


def test_handover_sets_the_entry_done_keeps_the_receiver_and_audits(manual, officer, tmp_path):
    runtime = manual
    result = finalize_visit(runtime, officer, parse_visit(_pdam_visit()))
    (summary,) = result.submissions
    waiting, done = handover_list(runtime, officer, "pdam")
    assert [i.tracking_number for i in waiting] == [summary.tracking_number] and done == []
    assert waiting[0].applicant_name == "SITI RAHAYU"

    outcome = hand_over(runtime, officer, summary.tracking_number.lower(), " Budi  Santoso ", "BA-17")
    assert (outcome.received_by, outcome.reference) == ("Budi Santoso", "BA-17")
    entry = _entry(runtime, summary.submission_id)
    assert entry.state == OutboxState.DONE and entry.delivered_at is not None
    assert entry.agency_ref == "BA-17"
    with runtime.store.read() as session:
        assert repo.count_audit(session, "submission.handed_over", summary.submission_id) == 1
        submission = session.get(Submission, summary.submission_id)
        assert (submission.status, submission.agency_status) == ("accepted", "received")
    waiting, done = handover_list(runtime, officer, "pdam")
    assert waiting == [] and [(d.received_by, d.reference) for d in done] == [("Budi Santoso", "BA-17")]

    with pytest.raises(DeskError) as again:
        hand_over(runtime, officer, summary.tracking_number, "Someone else")
    assert again.value.code == "error.handover_already"
    with pytest.raises(InvalidInput):
        hand_over(runtime, officer, summary.tracking_number, "   ")
    with pytest.raises(NotFound):
        hand_over(runtime, officer, "K01-000000-9999", "Budi")


def test_held_and_api_agencies_are_refused(manual, officer, supervisor):
    runtime = manual
    held = finalize_visit(runtime, officer, parse_visit(example_visit("bpn/sertipikat-hilang")))
    (summary,) = held.submissions
    assert handover_list(runtime, officer, "bpn")[0] == []  # held: not on the list yet
    with pytest.raises(DeskError) as refused:
        hand_over(runtime, officer, summary.tracking_number, "Budi")
    assert refused.value.code == "error.handover_held"
    approve(runtime, supervisor, summary.submission_id)
    assert len(handover_list(runtime, officer, "bpn")[0]) == 1
    hand_over(runtime, officer, summary.tracking_number, "Budi")
    assert _entry(runtime, summary.submission_id).state == OutboxState.DONE

    ktp = finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    with pytest.raises(DeskError) as api:
        hand_over(runtime, officer, ktp.submissions[0].tracking_number, "Budi")
    assert api.value.code == "error.handover_not_manual"
    assert _entry(runtime, ktp.submissions[0].submission_id).state == OutboxState.PENDING


def test_a_handed_over_submission_is_purged_after_retention(manual, officer):
    runtime = manual
    runtime.clock = lambda: datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    result = finalize_visit(runtime, officer, parse_visit(_pdam_visit()))
    tracking = result.submissions[0].tracking_number
    assert retention.purge(runtime, officer, dry_run=True, trust_clock=True).submissions == ()
    hand_over(runtime, officer, tracking, "Budi")
    days = runtime.settings.desk.retention_days
    runtime.clock = lambda: datetime(2026, 1, 5, 3, 0, tzinfo=UTC) + timedelta(days=days - 1)
    assert retention.purge(runtime, officer, dry_run=True, trust_clock=True).submissions == ()
    runtime.clock = lambda: datetime(2026, 1, 5, 3, 0, tzinfo=UTC) + timedelta(days=days + 1)
    report = retention.purge(runtime, officer, dry_run=True, trust_clock=True)
    assert tracking in report.submissions


@needs_poppler
def test_handover_list_is_signed_with_the_officers_full_name(manual, officer, tmp_path):
    runtime = manual
    first = finalize_visit(runtime, officer, parse_visit(_pdam_visit("SITI RAHAYU")))
    second = finalize_visit(runtime, officer, parse_visit(_pdam_visit("AHMAD FAUZI")))
    hand_over(runtime, officer, first.submissions[0].tracking_number, "Budi Santoso", "BA-17")
    text = pdftotext(print_handover(runtime, officer, "pdam"), tmp_path)
    assert officer.full_name and officer.full_name in text  # "Ani", the full name on record
    assert second.submissions[0].tracking_number in text
    assert "Budi Santoso" in squash(text) and "BA-17" in text  # the one handed over today
    assert "os:" not in text


# --- reprints as submitted -----------------------------------------------------------------


@needs_poppler
def test_reprint_shows_the_visit_as_submitted_not_todays_record(runtime, officer, tmp_path):
    visit = example_visit("dukcapil/ktp-el")
    old_name = visit["applicant"]["nama"]
    first = finalize_visit(runtime, officer, parse_visit(visit))
    later = example_visit("dukcapil/ktp-el")
    later["applicant"]["nama"] = "NAMA SESUDAH PERUBAHAN"
    later["ticket"] = "A-002"
    finalize_visit(runtime, officer, parse_visit(later))
    with runtime.store.read() as session:
        visit_row = repo.get_visit(session, first.visit_id)
        assert repo.get_applicant(session, visit_row.applicant_id).name == "NAMA SESUDAH PERUBAHAN"

    tracking = first.submissions[0].tracking_number
    receipt = pdftotext(print_receipt(runtime, officer, tracking, "80mm", reprint=True), tmp_path)
    slip = pdftotext(print_slip(runtime, officer, tracking, "a4", reprint=True), tmp_path, "slip")
    checklist = pdftotext(print_visit_checklist(runtime, officer, tracking, "a4"), tmp_path, "cl")
    for text in (receipt, slip):
        assert "SALINAN" in text
        assert old_name in squash(text) and "SESUDAH" not in text
    assert "SALINAN" in checklist and tracking in squash(checklist)
    assert "✓" in checklist  # what was handed over at the counter is ticked
    with runtime.store.read() as session:
        events = [e for e in repo.audit_events(session) if e.action.endswith(".printed")]
    reprints = [e for e in events if e.object_id == first.visit_id]
    assert {e.action for e in reprints} == {"receipt.printed", "slip.printed", "checklist.printed"}
    assert all(json.loads(json.dumps(e.details))["copy"] for e in reprints)


@needs_poppler
def test_information_desk_checklist_has_fee_sla_and_where_to_go(runtime, officer, tmp_path):
    pdf = print_checklist(runtime, ["dukcapil/ktp-el", "pdam/sambungan-baru"], "a4", "id", officer)
    text = squash(pdftotext(pdf, tmp_path))
    assert "Ke mana" in text and "loket PDAM" in text and "loket Dukcapil" in text
    assert "Biaya" in text and "SALINAN" not in text
    with runtime.store.read() as session:
        assert any(e.action == "checklist.printed" for e in repo.audit_events(session))


# --- the command line ----------------------------------------------------------------------


@pytest.mark.slow  # ten real CLI processes (about 1 s each on an idle machine)
def test_cli_deliver_review_and_reprint_by_tracking_number(
    manual, officer, supervisor, data_dir, tmp_path
):
    runtime = manual
    result = finalize_visit(runtime, officer, parse_visit(_pdam_visit()))
    held = finalize_visit(runtime, officer, parse_visit(example_visit("bpn/sertipikat-hilang")))
    tracking = result.submissions[0].tracking_number
    held_tracking = held.submissions[0].tracking_number
    runtime.close()
    login = ("--user", "ani", "--password-stdin")

    wrong = run_cli("agency", "deliver", tracking, "--received-by", "Budi", *login,
                    stdin="salah\n", data_dir=data_dir)
    assert wrong.returncode == 4, wrong.stderr
    unknown = run_cli("agency", "deliver", "K01-000000-9999", "--received-by", "Budi", *login,
                      stdin=PASSWORD + "\n", data_dir=data_dir)
    assert unknown.returncode == 2, unknown.stderr
    refused = run_cli("agency", "deliver", held_tracking, "--received-by", "Budi", *login,
                      stdin=PASSWORD + "\n", data_dir=data_dir)
    assert refused.returncode == 1 and "persetujuan" in refused.stderr
    nobody = run_cli("agency", "deliver", tracking, *login, stdin=PASSWORD + "\n",
                     data_dir=data_dir)  # neither the receiver's name nor a reference
    assert nobody.returncode == 2 and "received_by" in nobody.stderr + nobody.stdout
    # The exact form: the agency's receipt reference names the receipt.
    done = run_cli("agency", "deliver", tracking, "--ref", "BA-9",
                   *login, "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert cli_json(done) | {"handed_at": None} == {
        "submission_id": result.submissions[0].submission_id, "tracking_number": tracking,
        "agency": "pdam", "received_by": "", "reference": "BA-9",
        "handed_at": None, "outbox_state": "done",
    }
    listed = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
    rows = listed if isinstance(listed, list) else listed.get("submissions", listed)
    row = next(r for r in rows if r["tracking_number"] == tracking)
    assert {e["state"] for e in row["outbox"]} == {"done"}
    again = run_cli("agency", "deliver", tracking, "--received-by", "X", *login,
                    stdin=PASSWORD + "\n", data_dir=data_dir)
    assert again.returncode == 1

    out = tmp_path / "handover.pdf"
    signed = run_cli("handover", "bpn", "-o", str(out), *login, stdin=PASSWORD + "\n",
                     data_dir=data_dir)
    assert signed.returncode == 0, signed.stderr
    assert out.read_bytes().startswith(b"%PDF")

    for command in (["receipt", tracking, "--copy"], ["checklist", "--visit", tracking]):
        path = tmp_path / f"{command[0]}.pdf"
        printed = run_cli(*command, "-o", str(path), data_dir=data_dir)
        assert printed.returncode == 0, printed.stderr
        assert path.read_bytes().startswith(b"%PDF")

    reviewed = run_cli("review", held_tracking.lower(), "--approve", "--user", "sari",
                       "--password-stdin", "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert reviewed.returncode == 0, reviewed.stderr
    assert cli_json(reviewed)["tracking_number"] == held_tracking
