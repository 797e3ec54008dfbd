"""The submissions view as the desk layer serves it: who may see what, and what was typed.

An officer sees the submissions of this desk; a supervisor sees every desk's (a shared
mall-wide store holds many desks). The search box takes a tracking number, a NIK (or
passport / KITAS number) or a name, and this module decides which one was meant, so the
store only runs indexed queries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from mppdesk.core.permissions import Operation
from mppdesk.core.tracking import ALPHABET
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import NotFound, PermissionDenied
from mppdesk.desk.runtime import Runtime
from mppdesk.store import billing as bills
from mppdesk.store import repo, views
from mppdesk.store.views import (
    PAGE_SIZE,
    SearchTerm,
    SubmissionDetail,
    SubmissionQuery,
    SubmissionRow,
)

_TRACKING_START = re.compile(r"^[0-9A-Z]{1,6}-")
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class SubmissionFilter:
    """What the officer chose above the table: a day range, a search, optional filters."""

    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    status: str | None = None
    agency: str | None = None
    sort: str = "time"
    descending: bool = True


def read_search(text: str) -> SearchTerm | None:
    """Decide what a search text is: a tracking number, an identity number or a name.

    - letters or digits followed by ``-`` (``K01-2611``): a tracking number prefix; letters
      that are not in the tracking alphabet (O, I, L) are read as the digits they look like;
    - digits only (spaces ignored): a NIK prefix (also passport / KITAS numbers);
    - a letter followed by digits (``C1234567``): a passport or KITAS number;
    - anything else: words of the applicant's name, each a prefix.
    """
    cleaned = " ".join(text.split())
    if not cleaned:
        return None
    compact = cleaned.replace(" ", "").upper()
    if _TRACKING_START.match(compact):
        return SearchTerm("tracking", _tracking_prefix(compact))
    if compact.isdigit():
        return SearchTerm("identity", compact)
    if len(compact) >= 6 and compact[0].isalpha() and compact[1:].isdigit():
        return SearchTerm("identity", compact)
    # Split exactly as the name's words were indexed (``applicant_name_tokens``, written by
    # ``repo.name_tokens``): "Moh. Ali" finds MOH and ALI, not a token "MOH." nobody has.
    words = tuple(
        dict.fromkeys(word for part in cleaned.split() for word in sorted(repo.name_tokens(part)))
    )
    return SearchTerm("name", words=words) if words else None


def _tracking_prefix(text: str) -> str:
    """Look-alike letters become digits: the tracking alphabet has no O, I or L."""
    mapped = text.translate(_LOOKALIKES)
    return "".join(ch for ch in mapped if ch in ALPHABET or ch == "-")


def _desk_scope(runtime: Runtime, actor: Actor) -> str | None:
    require(actor, Operation.VIEW_OWN)
    return None if actor.may(Operation.VIEW_ALL) else runtime.settings.desk.code


def build_query(runtime: Runtime, actor: Actor, flt: SubmissionFilter) -> SubmissionQuery:
    """The store query for a filter, narrowed to what ``actor`` may see."""
    tz = runtime.tz
    since = datetime.combine(flt.date_from, time(0), tz) if flt.date_from else None
    until = datetime.combine(flt.date_to + timedelta(days=1), time(0), tz) if flt.date_to else None
    return SubmissionQuery(
        since=since,
        until=until,
        search=read_search(flt.text),
        desk=_desk_scope(runtime, actor),
        status=flt.status,
        agency=flt.agency,
        sort=flt.sort,
        descending=flt.descending,
    )


def submissions_page(
    runtime: Runtime,
    actor: Actor,
    flt: SubmissionFilter,
    after: tuple[Any, str] | None = None,
    limit: int = PAGE_SIZE,
) -> list[SubmissionRow]:
    query = build_query(runtime, actor, flt)
    with runtime.store.read() as session:
        rows = views.submission_page(session, query, after, limit)
    if query.search is not None and after is None:
        # A search is audited once, with whose rows its first page showed (the access log);
        # scrolling on shows more of the same search.
        from mppdesk.desk.audit import record_search

        record_search(
            runtime, actor, query.search, [r.applicant_id_number for r in rows], len(rows)
        )
    return rows


def submissions_by_id(
    runtime: Runtime, actor: Actor, flt: SubmissionFilter, ids: Sequence[str]
) -> list[SubmissionRow]:
    """The current rows of ``ids`` that ``flt`` shows (refresh after a write said what changed)."""
    query = build_query(runtime, actor, flt)
    with runtime.store.read() as session:
        return views.submission_rows(session, query, ids)


def count_submissions(runtime: Runtime, actor: Actor, flt: SubmissionFilter) -> int:
    query = replace(build_query(runtime, actor, flt), sort="time")
    with runtime.store.read() as session:
        return views.count_submissions(session, query)


def submission_detail(runtime: Runtime, actor: Actor, submission_id: str) -> SubmissionDetail:
    desk = _desk_scope(runtime, actor)
    with runtime.store.read() as session:
        detail = views.submission_detail(session, submission_id)
        if detail is not None:  # the bill and its payment state, when the agency billed it
            paid = bills.payments(session, [submission_id], runtime.now())
            detail = replace(detail, payment=paid.get(submission_id))
    if detail is None:
        raise NotFound.of("error.submission_not_found", submissions=submission_id)
    if desk is not None and detail.desk != desk:
        raise PermissionDenied.of("error.other_desk_submission")
    from mppdesk.desk.audit import record_detail_view

    record_detail_view(
        runtime, actor, submission_id, detail.row.applicant_id_number, detail.row.tracking_number
    )
    return detail


def sync_backlog(runtime: Runtime) -> dict[str, dict[str, int]]:
    """Per agency, undelivered outbox entries per state (held, pending, in_flight, …)."""
    with runtime.store.read() as session:
        return views.undelivered_counts(session)
