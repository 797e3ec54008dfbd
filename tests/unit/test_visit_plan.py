"""The visit plan (issue 11, item 3 "Plan, then write"): pure code from a visit, the catalog and
the looked-up applicant to every row finalize stores, with its errors and warnings.

No store, no files, no clock: a fixed ``now`` and numbered ids make every row predictable.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mppdesk.core.audit_chain import GENESIS, event_hash
from mppdesk.core.canonical import canonical_json, sha256_hex
from mppdesk.core.tracking import make_tracking_number
from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog
from mppdesk.forms.plan import PlanContext, StoredApplicant, plan_visit
from mppdesk.forms.visit import AttachedFile, ServiceRequest, VisitRequest
from mppdesk.settings import IntakeSettings

CATALOG = load_catalog(builtin_catalog_dirs())
KTP = "dukcapil/ktp-el"
NOW = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)  # 09:30 WIB


def context(**changes) -> PlanContext:
    counter = itertools.count(1)
    values = dict(
        now=NOW,
        tz=ZoneInfo("Asia/Jakarta"),
        holidays=frozenset(),
        desk="k01",
        mpp_name="MPP Kota Contoh",
        officer="ani",
        new_id=lambda: f"id-{next(counter):03d}",
    )
    values.update(changes)
    return PlanContext(**values)


def request(code: str = KTP, index: int = 0, **changes) -> VisitRequest:
    example = CATALOG.services[code].examples[index]
    service = ServiceRequest(
        code,
        dict(example.answers),
        {**example.checklist, **changes.pop("checklist", {})},
        supersedes=changes.pop("supersedes", None),
    )
    values = dict(
        applicant=dict(example.applicant),
        services=(service,),
        ticket="A-017",
        proxy=dict(example.proxy) if example.proxy else None,
    )
    values.update(changes)
    return VisitRequest(**values)


def test_a_visit_plans_every_row_numbered_and_chained_under_the_lock():
    plan = plan_visit(request(), CATALOG, context(), visit_id="visit-1")
    assert plan.ok and plan.warnings == () and plan.missing_documents == ()
    assert plan.applicant.is_new and plan.applicant.id_kind == "nik"
    assert plan.sequence_name == "tracking:K01:261202"  # one spelling per desk

    rows = plan.rows(7, GENESIS)
    (submission,) = rows.submissions
    (entry,) = rows.outbox
    assert rows.tracking_numbers == [submission.tracking_number]
    assert submission.tracking_number == make_tracking_number("K01", NOW.date(), 7)
    assert (submission.visit_id, submission.position, submission.status) == ("visit-1", 0, "queued")
    assert submission.applicant_id == plan.applicant.id and submission.officer == "ani"
    # The payload: canonical bytes of the whole document, tracking number spliced in last.
    payload = json.loads(entry.payload)
    assert entry.payload == canonical_json(payload)
    assert entry.payload_sha256 == sha256_hex(entry.payload)
    assert payload["tracking_number"] == submission.tracking_number
    assert payload["finalized_at"] == "2026-12-02T09:30:00+07:00"
    assert (payload["desk"], payload["mpp"], payload["officer"]) == (
        "k01",
        "MPP Kota Contoh",
        "ani",
    )
    assert (entry.state, entry.next_attempt_at, entry.created_at) == ("pending", NOW, NOW)
    assert [r.requirement_id for r in rows.checklist] == [c["id"] for c in payload["checklist"]]
    # Audit: the submission, then the visit, each hashed over the one before.
    assert [a.action for a in rows.audit] == ["submission.finalized", "visit.finalized"]
    assert rows.audit[0].prev_hash == GENESIS and rows.audit[1].prev_hash == rows.audit[0].hash
    first = rows.audit[0]
    assert first.hash == event_hash(
        GENESIS, NOW, "ani", first.action, first.object_type, first.object_id, first.details
    )
    assert first.details["payload_sha256"] == entry.payload_sha256
    visit = plan.visit_row()
    assert (visit.id, visit.ticket, visit.status, visit.local_date) == (
        "visit-1",
        "A-017",
        "finalized",
        "2026-12-02",
    )


def test_the_plan_is_pure_the_same_visit_plans_the_same_bytes():
    one = plan_visit(request(), CATALOG, context()).rows(1, GENESIS)
    two = plan_visit(request(), CATALOG, context()).rows(1, GENESIS)
    assert one == two


def test_a_service_that_needs_approval_is_held_without_a_send_time():
    code = "samsat/bbn-ii"
    rows = plan_visit(request(code), CATALOG, context()).rows(1, GENESIS)
    assert rows.submissions[0].status == "held"
    assert (rows.outbox[0].state, rows.outbox[0].next_attempt_at) == ("held", None)


def test_a_missing_required_document_is_a_warning_and_goes_on_the_slip():
    plan = plan_visit(request(checklist={"kk": "missing"}), CATALOG, context())
    assert plan.ok  # stored anyway: the citizen brings it later
    (missing,) = plan.missing_documents
    assert (missing.path, missing.code) == ("services[0].checklist.kk", "visit.document_missing")
    assert (missing.params["service"], missing.params["requirement"]) == (KTP, "kk")
    # The catalog's words, with the requirement's own label in each language.
    assert missing.get("id").endswith("belum diserahkan")
    assert missing.get("en").endswith("not handed over")
    assert plan.submissions[0].missing == ("kk",)
    # The engine's doubts stay apart: the visit's audit record lists only those.
    assert plan.rows(1, GENESIS).audit[-1].details["warnings"] == []


def test_a_known_applicant_is_merged_and_its_changes_recorded():
    visit = request()
    stored = StoredApplicant(
        "app-9", "DEWI LESTARI", {**visit.applicant, "alamat": "Jl. Lama 1", "agama": "islam"}
    )
    plan = plan_visit(visit, CATALOG, context(), stored=stored)
    applicant = plan.applicant
    assert (applicant.id, applicant.is_new, applicant.renamed) == ("app-9", False, False)
    assert applicant.changed_fields == ("alamat",)
    assert applicant.profile["alamat"] == visit.applicant["alamat"]
    audit = plan.rows(1, GENESIS).audit
    assert [a.action for a in audit] == [
        "submission.finalized",
        "applicant.updated",
        "visit.finalized",
    ]
    assert audit[1].details == {"fields": ["alamat"]} and audit[1].object_id == "app-9"

    # Under the write lock the store holds someone renamed since: the plan settles on that.
    renamed = StoredApplicant("app-9", "DEWI L.", {**stored.profile, "nama": "DEWI L."})
    settled = plan.settled(renamed)
    assert settled.applicant.renamed and "nama" in settled.applicant.changed_fields
    assert plan.settled(stored) is plan
    fresh = plan_visit(visit, CATALOG, context()).settled(stored)
    assert fresh.applicant.id == "app-9"


def test_supersedes_is_checked_against_what_the_store_holds():
    plan = plan_visit(request(supersedes="sub-1"), CATALOG, context())
    assert json.loads(plan.rows(1, GENESIS).outbox[0].payload)["supersedes"] == "sub-1"
    assert plan.rows(1, GENESIS).submissions[0].supersedes_id == "sub-1"
    assert plan.write_issues("draft", {"sub-1": KTP}) == []
    assert [i.code for i in plan.write_issues(None, {"sub-1": None})] == [
        "visit.superseded_missing"
    ]
    (other,) = plan.write_issues(None, {"sub-1": "polri/skck"})
    assert (other.path, other.code) == ("services[0].supersedes", "visit.superseded_other_service")
    assert [i.path for i in plan.write_issues("finalized", {"sub-1": KTP})] == ["visit"]


def test_a_proxy_goes_into_the_payload_and_needs_a_name_and_a_real_nik():
    proxy = {"nama": "BUDI SANTOSO", "hubungan": "kakak"}
    plan = plan_visit(request(proxy=proxy), CATALOG, context())
    assert json.loads(plan.rows(1, GENESIS).outbox[0].payload)["proxy"] == proxy
    assert plan.visit_row().proxy == proxy

    nameless = plan_visit(request(proxy={"hubungan": "kakak"}), CATALOG, context())
    assert [(i.path, i.code) for i in nameless.errors] == [
        ("proxy.nama", "visit.proxy_name_required")
    ]
    assert nameless.applicant is None and nameless.submissions == ()
    bad_nik = plan_visit(request(proxy={**proxy, "nik": "1234"}), CATALOG, context())
    assert [i.path for i in bad_nik.errors] == ["proxy.nik"]


def test_a_foreign_applicant_is_keyed_by_kitas_or_passport():
    plan = plan_visit(request("bri/pembukaan-rekening", 0), CATALOG, context())
    assert plan.ok
    assert (plan.applicant.id_kind, plan.applicant.id_number) == ("kitas", "2C21JE4583-W")
    payload = json.loads(plan.rows(1, GENESIS).outbox[0].payload)
    assert payload["applicant"]["no_paspor"] == "TR4812736"

    nobody = dict(request().applicant)
    del nobody["nik"]
    plan = plan_visit(request(applicant=nobody), CATALOG, context())
    assert "visit.identity_required" in [i.code for i in plan.errors]


def test_an_engine_doubt_is_a_warning_stored_with_the_visit():
    applicant = {**request().applicant, "tanggal_lahir": "1995-01-29"}  # the NIK says the 28th
    plan = plan_visit(request(applicant=applicant), CATALOG, context())
    assert plan.ok and [w.path for w in plan.warnings] == ["applicant.nik"]
    assert plan.warnings[0].code == "form.warning"
    assert plan.rows(1, GENESIS).audit[-1].details["warnings"] == ["applicant.nik"]


@pytest.mark.parametrize(
    ("attachments", "code"),
    [
        (
            (AttachedFile("a.pdf", "0" * 64, 10, "application/pdf"),) * 2,
            "visit.duplicate_attachment",
        ),
        ((AttachedFile("a.exe", "0" * 64, 10, "application/x-dosexec"),), "visit.attachment_type"),
        ((AttachedFile("a.pdf", "0" * 64, 10, "application/pdf"),), None),
        (
            (AttachedFile("a.pdf", "0" * 64, 2_000, "application/pdf"),),
            "visit.attachment_too_large",
        ),
    ],
)
def test_attachments_are_bounded_and_named_once(attachments, code):
    visit = request()
    service = ServiceRequest(
        KTP, visit.services[0].answers, visit.services[0].checklist, attachments
    )
    limits = IntakeSettings(max_attachment_bytes=1_000)
    plan = plan_visit(
        VisitRequest(visit.applicant, (service,), "A-1"), CATALOG, context(limits=limits)
    )
    if code is None:
        assert plan.ok
        (row,) = plan.rows(1, GENESIS).attachments
        assert (row.name, row.size, row.content_type) == ("a.pdf", 10, "application/pdf")
    else:
        assert code in [i.code for i in plan.errors]


def test_refused_text_stops_the_plan_before_the_engine_quotes_it():
    applicant = {**request().applicant, "nama": "DEWI\u202eLESTARI"}
    plan = plan_visit(request(applicant=applicant), CATALOG, context())
    assert [(i.path, i.code) for i in plan.errors] == [("applicant.nama", "visit.text_refused")]
    assert plan.check.profile is None and plan.check.results == (None,)


def test_an_unknown_service_is_an_error_at_its_path():
    plan = plan_visit(
        VisitRequest(request().applicant, (ServiceRequest("x/none"),)), CATALOG, context()
    )
    (issue,) = [i for i in plan.errors if i.code == "visit.unknown_service"]
    assert issue.path == "services[0].service" and issue.params == {"service": "x/none"}
