"""The submissions view's queries on a real store: keyset pages, search, sort, desk scope."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mppdesk.desk.errors import PermissionDenied
from mppdesk.desk.submission_views import (
    SubmissionFilter,
    count_submissions,
    read_search,
    submission_detail,
    submissions_by_id,
    submissions_page,
    sync_backlog,
)
from mppdesk.settings import DeskSettings
from tests.example_visits import BPJS, KTP, finalize


@pytest.fixture
def five(runtime, officer):
    """Five submissions of two applicants, finalized in order."""
    return [finalize(runtime, officer, code) for code in (KTP, BPJS, KTP, BPJS, KTP)]


def all_pages(runtime, actor, flt, limit):
    rows, after = [], None
    while True:
        page = submissions_page(runtime, actor, flt, after, limit)
        rows += page
        if len(page) < limit:
            return rows
        after = page[-1].cursor


def test_keyset_pages_cover_every_row_once_in_order(runtime, officer, five):
    rows = all_pages(runtime, officer, SubmissionFilter(), 2)

    assert [r.id for r in rows] == [s.submission_id for s in reversed(five)]
    assert count_submissions(runtime, officer, SubmissionFilter()) == 5
    ascending = all_pages(runtime, officer, SubmissionFilter(sort="tracking", descending=False), 2)
    assert [r.tracking_number for r in ascending] == sorted(s.tracking_number for s in five)
    by_agency = all_pages(runtime, officer, SubmissionFilter(sort="agency", descending=False), 3)
    assert [r.agency for r in by_agency] == sorted(r.agency for r in rows)
    first = rows[0]
    assert first.outbox[0].state == "pending" and first.outbox[0].attempts == 0


def test_search_by_tracking_nik_and_name(runtime, officer, five):
    ktp = [s for s in five if s.service == KTP]
    rows = submissions_page(runtime, officer, SubmissionFilter())
    ktp_row = next(r for r in rows if r.id == ktp[0].submission_id)

    found = submissions_page(runtime, officer, SubmissionFilter(text=ktp[0].tracking_number))
    assert [r.id for r in found] == [ktp[0].submission_id]
    # look-alike letters and lower case, as typed from a receipt
    typed = ktp[0].tracking_number.lower().replace("0", "o")
    assert [r.id for r in submissions_page(runtime, officer, SubmissionFilter(text=typed))] == [
        ktp[0].submission_id
    ]
    by_nik = submissions_page(runtime, officer, SubmissionFilter(text=ktp_row.applicant_id_number))
    assert {r.id for r in by_nik} == {s.submission_id for s in ktp}
    nik_prefix = ktp_row.applicant_id_number[:8]
    assert {
        r.id for r in submissions_page(runtime, officer, SubmissionFilter(text=nik_prefix))
    } >= {s.submission_id for s in ktp}
    first_word = ktp_row.applicant_name.split()[0]
    by_name = submissions_page(runtime, officer, SubmissionFilter(text=first_word[:3].lower()))
    assert {s.submission_id for s in ktp} <= {r.id for r in by_name}
    assert submissions_page(runtime, officer, SubmissionFilter(text="zzzqqq")) == []


def test_read_search_tells_the_kinds_apart():
    assert read_search("K01-2611").kind == "tracking"
    assert read_search("3174 0145").value == "31740145"
    assert read_search("C1234567").kind == "identity"
    assert read_search("siti  aminah").words == ("SITI", "AMINAH")
    assert read_search("   ") is None


def test_refresh_by_id_honours_the_filter(runtime, officer, five):
    ids = [s.submission_id for s in five]
    only_ktp = SubmissionFilter(text=five[0].tracking_number)
    assert [r.id for r in submissions_by_id(runtime, officer, only_ktp, ids)] == [ids[0]]
    today = runtime.local_today()
    tomorrow = SubmissionFilter(date_from=today.replace(year=today.year + 1))
    assert submissions_by_id(runtime, officer, tomorrow, ids) == []


def test_an_officer_sees_this_desk_a_supervisor_every_desk(runtime, officer, supervisor, five):
    runtime.settings = replace(runtime.settings, desk=DeskSettings(code="K02"))
    other_desk = finalize(runtime, officer, KTP)
    # The officer now works at desk K02: only that desk's submission is theirs to see.
    assert [r.id for r in all_pages(runtime, officer, SubmissionFilter(), 10)] == [
        other_desk.submission_id
    ]
    assert len(all_pages(runtime, supervisor, SubmissionFilter(), 10)) == 6
    with pytest.raises(PermissionDenied):
        submission_detail(runtime, officer, five[0].submission_id)
    detail = submission_detail(runtime, supervisor, five[0].submission_id)
    assert detail.desk == "K01" and detail.checklist and detail.attachments
    assert sync_backlog(runtime)["dukcapil"]["pending"] == 4


# (RARE_WORD_APPLICANTS, INTERSECT_APPLICANTS): every word rare; every word common, several
# intersected; every word very common, the view's order filtered on name keys
THRESHOLDS = [(10_000, 40_000), (1, 40_000), (1, 1)]


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_search_plans_find_the_same_rows(
    runtime, officer, supervisor, five, monkeypatch, threshold
):
    """Issue 15: a name search runs one of three plans (rarest word's applicants, the view's
    own order filtered on name keys, or token ranges intersected); each must find exactly
    the applicants whose name has a word starting with every typed word, in the view's order.
    """
    # an officer's view is narrowed to the desk (read against the rarest word's applicants),
    # a supervisor's is not (several words intersected)
    for actor in (officer, supervisor):
        check_search_plans(runtime, actor, monkeypatch, threshold)


def check_search_plans(runtime, actor, monkeypatch, threshold):
    from mppdesk.store import views

    rows = submissions_page(runtime, actor, SubmissionFilter())
    names = {r.id: r.applicant_name.upper().split() for r in rows}
    words = sorted({w for parts in names.values() for w in parts})
    queries = [words[0][:2], f"{words[-1]} {words[0][:1]}", f"{words[0]} zz", "50%", "a_"]
    expected = {
        q: [
            r.id
            for r in rows
            if all(any(part.startswith(t.upper()) for part in names[r.id]) for t in q.split())
        ]
        for q in queries
    }
    monkeypatch.setattr(views, "RARE_WORD_APPLICANTS", threshold[0])
    monkeypatch.setattr(views, "INTERSECT_APPLICANTS", threshold[1])
    for query in queries:
        found = [r.id for r in submissions_page(runtime, actor, SubmissionFilter(text=query))]
        assert found == expected[query], query
        again = submissions_by_id(runtime, actor, SubmissionFilter(text=query), list(names))
        assert [r.id for r in again] == expected[query], query
    assert any(expected.values()) and not all(expected.values())
    # an identity number prefix: gathered when few applicants have it, else the view's order
    nik = {r.id: r.applicant_id_number for r in rows}
    for prefix in (next(iter(nik.values()))[:4], next(iter(nik.values())), "9999"):
        found = [r.id for r in submissions_page(runtime, actor, SubmissionFilter(text=prefix))]
        assert found == [r.id for r in rows if nik[r.id].startswith(prefix)], prefix
