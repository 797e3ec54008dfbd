"""Issue 12 leftover (loops2): ``applicant_name_tokens`` is the index the submissions view's
search by applicant name reads (``mppdesk.store.views``): kept, and the search now splits
what the officer types the way the tokens were written, so a name with an abbreviation
("Moh. Ali", "H.Rahman") is found as typed. Real SQLite store."""

from __future__ import annotations

from sqlalchemy import delete

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.submission_views import (
    SubmissionFilter,
    count_submissions,
    read_search,
    submissions_page,
)
from mppdesk.store.models import ApplicantNameToken
from tests.example_visits import KTP, example_visit

NAME = "MOH. ALI H.RAHMAN"


def _found(runtime, actor, text: str) -> list[str]:
    flt = SubmissionFilter(text=text)
    rows = submissions_page(runtime, actor, flt)
    assert count_submissions(runtime, actor, flt) == len(rows)
    return [row.applicant_name for row in rows]


def test_a_name_with_abbreviations_is_found_as_typed_through_the_token_index(runtime, officer):
    visit = example_visit(KTP)
    visit["applicant"]["nama"] = NAME
    finalize_visit(runtime, officer, parse_visit(visit))
    other = example_visit(KTP, ticket="A-002")
    other["applicant"]["nik"] = "3171014708900003"
    other["applicant"]["nama"] = "ALIYAH RAHMAWATI"
    finalize_visit(runtime, officer, parse_visit(other))

    assert read_search("moh. ali").words == ("MOH", "ALI")  # split as the tokens are
    for typed in ("moh. ali", "Moh.Ali", "h.rahman", "MOH. ALI H.RAHMAN", "ali rahman"):
        assert _found(runtime, officer, typed) == [NAME], typed
    assert sorted(_found(runtime, officer, "ali rahma")) == sorted([NAME, "ALIYAH RAHMAWATI"])

    # The search reads the token index: without the rows the name is not found by it.
    with runtime.store.write() as session:
        session.execute(delete(ApplicantNameToken))
    assert _found(runtime, officer, "moh. ali") == []
