"""The counter's desk operations: tickets, applicant look-up, service search, drafts."""

from __future__ import annotations

import pytest

from mppdesk.core.audit_chain import verify_chain
from mppdesk.desk import counter
from mppdesk.desk.errors import InvalidInput, PermissionDenied
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.store import repo
from tests.conftest import make_user
from tests.example_visits import KTP, example_visit


def audit_actions(runtime) -> list[str]:
    with runtime.store.read() as session:
        return [event.action for event in repo.audit_events(session)]


def test_tickets_count_per_group_and_day(runtime, officer):
    groups = counter.service_groups(runtime.catalog)
    assert "dukcapil" in groups and "bpjs" in groups
    first = counter.call_next_ticket(runtime, officer, "dukcapil")
    second = counter.call_next_ticket(runtime, officer, "dukcapil")
    other = counter.call_next_ticket(runtime, officer, "bpjs")
    prefix = counter.ticket_prefix(runtime.catalog, "dukcapil")
    assert (first.number, second.number) == (f"{prefix}-001", f"{prefix}-002")
    assert other.number.endswith("-001") and not other.number.startswith(prefix)
    assert audit_actions(runtime).count("ticket.called") == 3
    with pytest.raises(InvalidInput):
        counter.call_next_ticket(runtime, officer, "no-such-group")


def test_lookup_returns_the_profile_and_its_changes_and_is_audited(runtime, officer):
    assert counter.lookup_applicant(runtime, officer, "3578036801950002") is None
    assert "applicant.viewed" not in audit_actions(runtime)
    finalize_visit(runtime, officer, parse_visit(example_visit(KTP)))
    moved = example_visit(KTP, ticket="A-002")
    moved["applicant"]["alamat"] = "Jl. Kutisari Indah Utara 5"
    finalize_visit(runtime, officer, parse_visit(moved))

    record = counter.lookup_applicant(runtime, officer, "3578036801950002")
    assert record is not None and record.name == "DEWI LESTARI"
    assert record.profile["alamat"] == "Jl. Kutisari Indah Utara 5"
    (change,) = record.changes
    assert (change.field, change.new) == ("alamat", "Jl. Kutisari Indah Utara 5")
    assert change.old.startswith("Jl. Rungkut")
    assert change.officer == officer.username and change.changed_at.tzinfo is not None
    assert audit_actions(runtime).count("applicant.viewed") == 1

    # A second change comes first; ``changes`` bounds the history; every view is chained.
    again = example_visit(KTP, ticket="A-003")
    again["applicant"]["alamat"] = "Jl. Raya Darmo 9"
    finalize_visit(runtime, officer, parse_visit(again))
    record = counter.lookup_applicant(runtime, officer, " 3578036801950002 ")
    assert [c.new for c in record.changes] == ["Jl. Raya Darmo 9", "Jl. Kutisari Indah Utara 5"]
    assert counter.lookup_applicant(runtime, officer, "3578036801950002", changes=1).changes[
        0
    ].new == ("Jl. Raya Darmo 9")
    assert counter.lookup_applicant(runtime, officer, "3578036801950002", changes=0).changes == ()
    with runtime.store.read() as session:
        events = list(repo.audit_events(session))
    assert verify_chain(iter(events)) is None
    viewed = [e for e in events if e.action == "applicant.viewed"]
    assert len(viewed) == 4 and {e.object_id for e in viewed} == {record.applicant_id}
    assert {e.actor for e in viewed} == {officer.username}
    # The person is named by a keyed hash (the access log), never by the NIK itself.
    assert set(viewed[-1].details) == {"desk", "subjects"}
    assert viewed[-1].details["desk"] == runtime.settings.desk.code
    assert [len(s) for s in viewed[-1].details["subjects"]] == [32]
    assert "3578036801950002" not in str(viewed[-1].details)
    with pytest.raises(InvalidInput):
        counter.lookup_applicant(runtime, officer, "   ")


def test_service_search_matches_words_and_puts_used_services_first(runtime, officer):
    catalog = runtime.catalog
    hits = counter.search_services(catalog, "ktp hilang")
    assert hits[0].code == KTP
    assert [h.code for h in counter.search_services(catalog, "paspor")][0] == "imigrasi/paspor"
    assert counter.search_services(catalog, "kesehatan bpjs")[0].code == (
        "bpjs-kesehatan/peserta-mandiri"
    )
    assert counter.search_services(catalog, "zzz tidak ada") == []
    everything = counter.search_services(catalog, "", limit=500)
    assert len(everything) == len(catalog.services)

    finalize_visit(runtime, officer, parse_visit(example_visit("polri/skck")))
    usage = counter.service_usage(runtime, officer)
    assert usage.recent == ("polri/skck",) and usage.counts == {"polri/skck": 1}
    ranked = counter.search_services(catalog, "", usage)
    assert ranked[0].code == "polri/skck" and ranked[0].recent


def test_drafts_are_saved_restored_and_discarded(runtime, officer):
    assert counter.latest_draft(runtime, officer) is None
    state = {"ticket": "A-009", "applicant": {"nama": "SITI"}, "services": []}
    visit_id = counter.save_draft(runtime, officer, None, state)
    state["applicant"]["nama"] = "SITI AMINAH"
    assert counter.save_draft(runtime, officer, visit_id, state) == visit_id
    draft = counter.latest_draft(runtime, officer)
    assert draft.visit_id == visit_id and draft.ticket == "A-009"
    assert draft.state["applicant"] == {"nama": "SITI AMINAH"}
    other = make_user(runtime, "budi", "officer")
    assert counter.latest_draft(runtime, other) is None  # each officer sees their own

    # Finalizing the draft's visit keeps its id; a late draft save cannot reopen it.
    result = finalize_visit(runtime, officer, parse_visit(example_visit(KTP)), visit_id=visit_id)
    assert result.visit_id == visit_id
    counter.save_draft(runtime, officer, visit_id, state)
    assert counter.latest_draft(runtime, officer) is None
    assert not counter.discard_draft(runtime, officer, visit_id)  # finalized: stays

    second = counter.save_draft(runtime, officer, None, {"ticket": "A-010"})
    assert counter.discard_draft(runtime, officer, second)
    assert counter.latest_draft(runtime, officer) is None
    actions = audit_actions(runtime)
    assert actions.count("visit.draft_started") == 2
    assert actions.count("visit.draft_discarded") == 1


def test_counter_operations_check_the_role(runtime, officer):
    from mppdesk.desk.auth import Actor

    nobody = Actor("tamu", "guest")
    with pytest.raises(PermissionDenied):
        counter.call_next_ticket(runtime, nobody, "dukcapil")
    with pytest.raises(PermissionDenied):
        counter.lookup_applicant(runtime, nobody, "3578036801950002")
    with pytest.raises(PermissionDenied):
        counter.save_draft(runtime, nobody, None, {"ticket": "X"})
    with pytest.raises(PermissionDenied):
        counter.update_desk_preferences(runtime, officer, language="en", idle_lock_minutes=5)


def test_admin_saves_language_and_idle_lock(runtime):
    from mppdesk.settings import load_settings

    admin = make_user(runtime, "kepala", "admin")
    counter.update_desk_preferences(runtime, admin, language="en", idle_lock_minutes=3)
    assert runtime.settings.desk.language == "en"
    saved = load_settings(runtime.data_dir)
    assert (saved.desk.language, saved.desk.idle_lock_minutes) == ("en", 3)
    with pytest.raises(InvalidInput):
        counter.update_desk_preferences(runtime, admin, language="fr", idle_lock_minutes=0)
