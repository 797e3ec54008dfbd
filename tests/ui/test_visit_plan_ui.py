"""The desk's draft checks the visit with the same plan finalize stores (issue 11, item 3).

A visit with a doubt (birth date against NIK) and a document not handed over: the summary
lists the plan's warning and missing file, and the stored visit carries exactly those.
"""

from __future__ import annotations

from mppdesk.desk.intake import plan_for
from mppdesk.ui.visit import VisitPage
from mppdesk.ui.visit_state import ServiceEntry, VisitState, request_of
from tests.example_visits import CATALOG, KTP


def _doubtful_visit() -> VisitState:
    example = CATALOG.services[KTP].examples[0]
    applicant = {**example.applicant, "tanggal_lahir": "1995-01-29"}  # the NIK says the 28th
    checklist = {**example.checklist, "surat-kehilangan": "missing"}
    entry = ServiceEntry(KTP, dict(example.answers), checklist)
    return VisitState(ticket="A-031", applicant=applicant, services=[entry])


def test_the_summary_shows_the_plans_warning_and_missing_file_and_finalize_stores_them(
    qtbot, runtime, officer, tasks
):
    page = VisitPage(runtime, officer, tasks, state=_doubtful_visit(), draft_delay_ms=60_000)
    qtbot.addWidget(page)
    page.show()
    check = page.evaluate()
    finalize_plan = plan_for(runtime, officer, request_of(page.state))
    assert check.error_count == 0
    assert [w.path for w in check.plan.warnings] == [w.path for w in finalize_plan.warnings]
    assert [w.path for w in check.plan.warnings] == ["applicant.nik"]
    assert check.missing(0) == ["surat-kehilangan"]

    page.go_step(page.steps.count() - 1, focus=False)  # the summary
    lines = [page.summary.errors.item(i).text() for i in range(page.summary.errors.count())]
    assert len(lines) == 1 and lines[0].startswith("⚠") and "28-01-1995" in lines[0]
    assert page.summary.finalize_button.isEnabled()
    assert "1" in page.summary.verdict.text()  # "… · 1 peringatan"

    with qtbot.waitSignal(page.finalized, timeout=30_000) as finalized:
        assert page.finalize()
    result = finalized.args[0].result
    assert [w.path for w in result.warnings] == ["applicant.nik"]
    assert result.submissions[0].missing == ("surat-kehilangan",)


def test_a_proxy_nik_that_is_not_one_blocks_the_draft_as_it_blocks_finalize(
    qtbot, runtime, officer, tasks
):
    state = _doubtful_visit()
    state.proxy = {"nama": "BUDI SANTOSO", "nik": "1234"}
    page = VisitPage(runtime, officer, tasks, state=state, draft_delay_ms=60_000)
    qtbot.addWidget(page)
    page.show()
    check = page.evaluate()
    assert check.proxy_errors == ["proxy.nik"] and check.error_count == 1
    assert not page.finalize()
    lines = [page.summary.errors.item(i).text() for i in range(page.summary.errors.count())]
    assert len(lines) == 1 and "NIK" in lines[0]
