"""Collection (pengambilan) on a real store, with the agency's "completed" pulled back from
the reference server by the real worker."""

from __future__ import annotations

import pytest

from mppdesk.desk.auth import Actor
from mppdesk.desk.collection import (
    TAKER_APPLICANT,
    TAKER_PROXY,
    CollectionRecord,
    NotReady,
    find_for_collection,
    read_tracking_input,
    record_collection,
)
from mppdesk.desk.errors import InvalidInput, NotFound, PermissionDenied
from mppdesk.store import repo
from mppdesk.store.models import Submission
from tests.example_visits import KTP, completed_submission, finalize

PROXY_NIK = "3174014506900001"


def audit_count(runtime, submission_id: str) -> int:
    with runtime.store.read() as session:
        return repo.count_audit(session, "submission.collected", submission_id)


def test_tracking_numbers_are_read_from_typing_slips_and_qr_scans():
    number = "K01-261130-0001-"
    from mppdesk.core.tracking import check_character

    number += check_character(number[:-1])
    assert read_tracking_input(number.lower()) == number
    assert read_tracking_input(" " + number.replace("0", "O").replace("1", "l") + " ") == number
    assert read_tracking_input(f"https://mpp.example.go.id/lacak/{number}") == number
    assert read_tracking_input(f"mpp?tracking={number}&desk=K01") == number
    with pytest.raises(InvalidInput) as bad:
        read_tracking_input(number[:-1] + ("A" if number[-1] != "A" else "B"))
    assert bad.value.errors[0].path == "tracking_number"
    assert "pemeriksa" in bad.value.errors[0].message


def test_a_product_not_ready_cannot_be_handed_over(runtime, officer):
    summary = finalize(runtime, officer, KTP)

    candidate = find_for_collection(runtime, officer, summary.tracking_number.lower())

    assert candidate.submission_id == summary.submission_id
    assert not candidate.ready
    assert "belum" in candidate.why_not_ready().get("id")
    assert "********" in candidate.applicant_id_masked
    with pytest.raises(NotReady) as refused:
        record_collection(
            runtime,
            officer,
            summary.tracking_number,
            CollectionRecord(TAKER_APPLICANT, identity_checked=True),
        )
    assert refused.value.errors[0].path == "tracking_number"
    assert audit_count(runtime, summary.submission_id) == 0


def test_the_applicant_collects_once_with_identity_checked(runtime, officer, agency_sim):
    summary = completed_submission(runtime, officer, agency_sim)
    candidate = find_for_collection(runtime, officer, summary.tracking_number)
    assert candidate.ready and candidate.agency_status == "completed"

    with pytest.raises(InvalidInput) as unchecked:
        record_collection(
            runtime, officer, summary.tracking_number, CollectionRecord(TAKER_APPLICANT)
        )
    assert [e.path for e in unchecked.value.errors] == ["identity_checked"]

    done = record_collection(
        runtime,
        officer,
        summary.tracking_number,
        CollectionRecord(TAKER_APPLICANT, identity_checked=True, identity_document="ikd"),
    )

    assert done.status == "collected" and done.collected_at is not None
    assert done.collected_by["taker"] == "applicant"
    assert done.collected_by["identity_document"] == "ikd"
    assert done.collected_by["officer"] == officer.username
    assert done.collected_by["name"] == candidate.applicant_name
    assert audit_count(runtime, summary.submission_id) == 1
    with runtime.store.read() as session:
        assert session.get(Submission, summary.submission_id).status == "collected"

    with pytest.raises(NotReady) as twice:
        record_collection(
            runtime,
            officer,
            summary.tracking_number,
            CollectionRecord(TAKER_APPLICANT, identity_checked=True),
        )
    assert "Sudah diambil" in twice.value.errors[0].message
    local = done.collected_at.astimezone(runtime.tz)  # the desk's clock, never UTC
    assert f"{local:%d-%m-%Y %H:%M}" in twice.value.errors[0].message
    assert "UTC" not in twice.value.errors[0].message
    assert audit_count(runtime, summary.submission_id) == 1


def test_a_proxy_needs_a_valid_nik_and_the_letter_of_authority(runtime, officer, agency_sim):
    summary = completed_submission(runtime, officer, agency_sim)

    with pytest.raises(InvalidInput) as wrong:
        record_collection(
            runtime,
            officer,
            summary.tracking_number,
            CollectionRecord(
                TAKER_PROXY, identity_checked=True, proxy_name="Budi", proxy_nik="123"
            ),
        )
    assert {e.path for e in wrong.value.errors} == {"proxy_nik", "letter_reference"}

    done = record_collection(
        runtime,
        officer,
        summary.tracking_number,
        CollectionRecord(
            TAKER_PROXY,
            identity_checked=True,
            proxy_name="  Budi   Santoso ",
            proxy_nik=PROXY_NIK,
            letter_reference="SK-17/XI/2026",
        ),
    )

    assert done.collected_by["taker"] == "proxy"
    assert done.collected_by["name"] == "Budi Santoso"
    assert done.collected_by["nik"] == PROXY_NIK
    assert done.collected_by["letter_reference"] == "SK-17/XI/2026"
    with runtime.store.read() as session:
        (event,) = [
            e
            for e in repo.audit_events(session)
            if e.action == "submission.collected" and e.object_id == summary.submission_id
        ]
    assert PROXY_NIK not in str(event.details) and event.details["nik_masked"].startswith("3174")


def test_unknown_numbers_and_roles_without_the_right(runtime, officer):
    summary = finalize(runtime, officer, KTP)
    body = summary.tracking_number.rsplit("-", 1)[0]
    from mppdesk.core.tracking import check_character

    other = body[:-4] + "9999"
    with pytest.raises(NotFound):
        find_for_collection(runtime, officer, f"{other}-{check_character(other)}")
    with pytest.raises(PermissionDenied):
        find_for_collection(runtime, Actor("tamu", "guest"), summary.tracking_number)
