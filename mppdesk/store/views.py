"""Read models of the submissions view: one page at a time, filtered and sorted in SQL.

A store can hold a million submissions, so nothing here loads more than a page. Pages are
keyset pages: the next page starts after the (sort value, id) of the last row shown, which
stays fast however deep the officer scrolls and never skips or repeats a row when new
submissions arrive meanwhile. Every filter maps onto an index: the day (``local_date``), the
time (``finalized_at``, migration 0002), the tracking number (unique), the applicant's
identity number (unique per kind) and the words of the applicant's name
(``applicant_name_tokens``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, intersect, literal, or_, select
from sqlalchemy.orm import Session, aliased

from mppdesk.core.states import OutboxState
from mppdesk.store.models import (
    Applicant,
    ApplicantNameToken,
    ChecklistItem,
    OutboxEntry,
    Submission,
    Visit,
)
from mppdesk.store.reports import reserve_page_cache

PAGE_SIZE = 100
IDENTITY_KINDS = ("nik", "paspor", "kitas")
_TOP = "\U0010ffff"  # above every character: ``prefix <= x < prefix + _TOP`` is a range scan
# A name word whose token range holds fewer applicants than this is "rare": its applicants'
# submissions are gathered through ``ix_submissions_applicant_time``. Counting stops here, so
# telling rare from common costs at most this many index entries per word.
RARE_WORD_APPLICANTS = 2000
# Several common words: intersecting their token ranges costs about their sizes, so it is
# done while the rarest range is under this; above it every word is so common (a letter or
# two) that the view's own order meets matching rows within a few thousand.
INTERSECT_APPLICANTS = 40_000

# Sortable columns: none of them is nullable, so a keyset cursor always has a value.
SORT_COLUMNS: dict[str, Any] = {
    "time": Submission.finalized_at,
    "tracking": Submission.tracking_number,
    "name": Applicant.name_key,
    "service": Submission.service,
    "agency": Submission.agency,
    "status": Submission.status,
    "review": Submission.review_state,
}


@dataclass(frozen=True)
class SearchTerm:
    """What the officer typed, already read by the desk layer.

    ``kind``: ``tracking`` (prefix of a tracking number, upper case), ``identity`` (prefix of
    a NIK, passport or KITAS number) or ``name`` (``words``: upper-cased name words, each a
    prefix of a word of the applicant's name).
    """

    kind: str
    value: str = ""
    words: tuple[str, ...] = ()
    # How a name or identity search runs, chosen by ``plan_search`` from bounded counts:
    # ``rare``: ``words[0]`` (the rarest) gives the applicants, the others filter their name
    # keys, their submissions are gathered and sorted; ``common``: the view's own order is
    # followed and each row's name key (number) checked: common words fill a page within a
    # few hundred rows; ``set``: the same with the rarest word's applicants read first, for
    # a view a filter thins out; ``""``: several common words, or not planned (counting): the
    # applicants having every word, intersected in the token index.
    plan: str = ""


@dataclass(frozen=True)
class SubmissionQuery:
    """One view of the submissions: filters, then order.

    ``since``/``until`` bound the finalization time (aware datetimes, ``until`` exclusive):
    the desk layer turns the officer's local days into them, so a day range and the default
    newest-first order both use one index (``ix_submissions_finalized_at``) and the first page
    stops after a hundred rows instead of sorting the whole range.
    """

    since: datetime | None = None
    until: datetime | None = None
    search: SearchTerm | None = None
    desk: str | None = None  # None: every desk (supervisor)
    status: str | None = None
    agency: str | None = None
    sort: str = "time"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.sort not in SORT_COLUMNS:
            raise ValueError(f"sort must be one of {sorted(SORT_COLUMNS)}, got {self.sort!r}")


@dataclass(frozen=True)
class OutboxRow:
    """One agency's send state of a submission."""

    agency: str
    state: str
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_error_class: str | None
    last_error_message: str | None
    agency_ref: str | None
    agency_status: str | None
    agency_message: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class SubmissionRow:
    id: str
    finalized_at: datetime
    tracking_number: str
    applicant_name: str
    applicant_id_number: str
    service: str
    agency: str
    status: str
    review_state: str
    agency_ref: str | None
    agency_status: str | None
    collected_at: datetime | None
    sort_value: Any  # the sort column's value: the keyset cursor with ``id``
    outbox: tuple[OutboxRow, ...] = ()
    # Corrections (mppdesk.desk.corrections): why a supervisor returned it, and the tracking
    # number of the submission that replaced it (a correction, or a cancellation).
    review_reason: str | None = None
    superseded_by: str | None = None
    cancelled: bool = False

    @property
    def cursor(self) -> tuple[Any, str]:
        return (self.sort_value, self.id)


@dataclass(frozen=True)
class ChecklistRow:
    requirement_id: str
    applies: bool
    state: str


@dataclass(frozen=True)
class SubmissionDetail:
    row: SubmissionRow
    visit_id: str
    ticket: str
    desk: str
    officer: str
    proxy: dict[str, Any] | None
    fee: int | None
    sla_due: date
    agency_message: str | None
    agency_updated_at: datetime | None
    collected_by: dict[str, Any] | None
    supersedes_id: str | None
    checklist: tuple[ChecklistRow, ...]
    attachments: tuple[str, ...]
    payment: dict[str, Any] | None = None  # the agency's bill (mppdesk.store.billing.payment_of)
    supersedes_tracking: str | None = None  # the corrected (or cancelled) one's number
    cancellation: bool = False  # this one cancels ``supersedes_id``


def _columns(sort_column: Any) -> Select:
    return select(
        Submission.id,
        Submission.finalized_at,
        Submission.tracking_number,
        Applicant.name,
        Applicant.id_number,
        Submission.service,
        Submission.agency,
        Submission.status,
        Submission.review_state,
        Submission.agency_ref,
        Submission.agency_status,
        Submission.collected_at,
        sort_column,
    ).join(Applicant, Applicant.id == Submission.applicant_id)


def _filtered(query: SubmissionQuery) -> Select:
    sort_column = SORT_COLUMNS[query.sort]
    stmt = _columns(sort_column)
    if query.desk is not None:
        stmt = stmt.join(Visit, Visit.id == Submission.visit_id).where(Visit.desk == query.desk)
    if query.since is not None:
        stmt = stmt.where(Submission.finalized_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(Submission.finalized_at < query.until)
    if query.status is not None:
        stmt = stmt.where(Submission.status == query.status)
    if query.agency is not None:
        stmt = stmt.where(Submission.agency == query.agency)
    term = query.search
    if term is not None:
        stmt = _searched(stmt, term)
    return stmt


def _searched(stmt: Select, term: SearchTerm) -> Select:
    if term.kind == "tracking":
        if term.plan == "common":
            # A desk's or a day's prefix: the view's order, each row's number checked.
            return stmt.where(
                func.substr(Submission.tracking_number, 1, len(term.value)) == term.value
            )
        return stmt.where(
            Submission.tracking_number >= term.value,
            Submission.tracking_number < term.value + _TOP,
        )
    if term.kind == "identity":
        if term.plan == "common":
            # A short prefix (a district's NIKs): the view's order, each row's applicant
            # checked; ``substr`` keeps the planner from gathering every match first.
            return stmt.where(
                func.coalesce(Applicant.id_kind, "").in_(IDENTITY_KINDS),
                func.substr(Applicant.id_number, 1, len(term.value)) == term.value,
            )
        applicants = select(Applicant.id).where(
            Applicant.id_kind.in_(IDENTITY_KINDS),
            Applicant.id_number >= term.value,
            Applicant.id_number < term.value + _TOP,
        )
        return stmt.where(Submission.applicant_id.in_(applicants))
    if term.kind == "name":
        return _named(stmt, term)
    raise ValueError(f"unknown search kind {term.kind!r}")


def _word_range(word: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return ApplicantNameToken.token >= word, ApplicantNameToken.token < word + _TOP


def _has_word(name_key: Any, word: str) -> ColumnElement[bool]:
    """``word`` starts a word of the name key: what its token range finds, without the index.

    Tokens are the name key split at spaces, commas and full stops; the same separators
    become spaces here, so ``' ' || key LIKE '% WORD%'`` matches exactly the token prefixes.
    """
    spaced = literal(" ") + func.replace(func.replace(name_key, ",", " "), ".", " ")
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return spaced.like(f"% {escaped}%", escape="\\")


def _named(stmt: Select, term: SearchTerm) -> Select:
    if term.plan in ("common", "set"):
        # The view's own index order, each row's applicant filtered: with common words the
        # first page is full after a few hundred rows. ``set``: the rarest word's applicants
        # are read once (a range of the token index) and each row's applicant id checked
        # against them before its name is read (the view's indexes carry the applicant id);
        # ``coalesce`` keeps the planner from gathering their submissions instead.
        words = term.words
        if term.plan == "set":
            rarest = select(ApplicantNameToken.applicant_id).where(*_word_range(words[0]))
            stmt = stmt.where(func.coalesce(Submission.applicant_id, "").in_(rarest))
            words = words[1:]
        return stmt.where(*(_has_word(Applicant.name_key, word) for word in words))
    if term.plan == "rare":
        # The rarest word's applicants (fewer than RARE_WORD_APPLICANTS), the other words
        # checked on their name keys, then their submissions through their index.
        candidate = aliased(Applicant)
        applicants = (
            select(ApplicantNameToken.applicant_id)
            .join(candidate, candidate.id == ApplicantNameToken.applicant_id)
            .where(*_word_range(term.words[0]))
            .where(*(_has_word(candidate.name_key, word) for word in term.words[1:]))
        )
        return stmt.where(Submission.applicant_id.in_(applicants))
    # Not planned (a count) or several common words: the applicants having every word,
    # intersected in the token index, then their submissions through their index.
    per_word = [
        select(ApplicantNameToken.applicant_id).where(*_word_range(word)) for word in term.words
    ]
    applicants = per_word[0] if len(per_word) == 1 else intersect(*per_word)
    return stmt.where(Submission.applicant_id.in_(applicants))


def plan_search(session: Session, term: SearchTerm, filtered: bool = False) -> SearchTerm:
    """The search with the plan that suits it (and a name's words rarest first).

    Matching applicants are counted in an index, stopping at RARE_WORD_APPLICANTS: few are
    gathered with their submissions and sorted; many fill the first page in the view's own
    index order after a few hundred rows. A name's word tie goes to the longer word.
    """
    if term.kind == "tracking":
        bounded = (
            select(literal(1))
            .select_from(Submission)
            .where(
                Submission.tracking_number >= term.value,
                Submission.tracking_number < term.value + _TOP,
            )
            .limit(RARE_WORD_APPLICANTS)
        )
        found = int(session.scalar(select(func.count()).select_from(bounded.subquery())))
        return replace(term, plan="common" if found >= RARE_WORD_APPLICANTS else "rare")
    if term.kind == "identity":
        bounded = (
            select(literal(1))
            .select_from(Applicant)
            .where(
                Applicant.id_kind.in_(IDENTITY_KINDS),
                Applicant.id_number >= term.value,
                Applicant.id_number < term.value + _TOP,
            )
            .limit(RARE_WORD_APPLICANTS)
        )
        found = int(session.scalar(select(func.count()).select_from(bounded.subquery())))
        return replace(term, plan="common" if found >= RARE_WORD_APPLICANTS else "rare")
    if term.kind != "name" or not term.words:
        return term
    counts = {}
    for word in set(term.words):
        bounded = (
            select(literal(1))
            .select_from(ApplicantNameToken)
            .where(*_word_range(word))
            .limit(max(RARE_WORD_APPLICANTS, INTERSECT_APPLICANTS))
        )
        counts[word] = int(session.scalar(select(func.count()).select_from(bounded.subquery())))
    words = tuple(sorted(set(term.words), key=lambda w: (counts[w], -len(w), w)))
    if counts[words[0]] < RARE_WORD_APPLICANTS:
        return replace(term, words=words, plan="rare")
    if counts[words[0]] >= INTERSECT_APPLICANTS:
        return replace(term, words=words, plan="common")
    if filtered:
        # a status, agency, desk or period thins the rows out too: read the view's order,
        # checked against the rarest word's applicants
        return replace(term, words=words, plan="set")
    if len(words) == 1:
        return replace(term, words=words, plan="common")
    return replace(term, words=words, plan="")


def _ordered(stmt: Select, query: SubmissionQuery) -> Select:
    sort_column = SORT_COLUMNS[query.sort]
    if query.descending:
        return stmt.order_by(sort_column.desc(), Submission.id.desc())
    return stmt.order_by(sort_column.asc(), Submission.id.asc())


def _after(stmt: Select, query: SubmissionQuery, cursor: tuple[Any, str]) -> Select:
    """Rows strictly after ``cursor`` in the query's order.

    Written as ``col <= v AND (col < v OR id < i)`` rather than a row value, so the planner
    sees a plain range on the sort column's index.
    """
    sort_column = SORT_COLUMNS[query.sort]
    value, last_id = cursor
    if query.descending:
        return stmt.where(sort_column <= value, or_(sort_column < value, Submission.id < last_id))
    return stmt.where(sort_column >= value, or_(sort_column > value, Submission.id > last_id))


def _row(
    values: Sequence[Any],
    outbox: tuple[OutboxRow, ...],
    loop: tuple[Any, ...] = (None, None, False),
) -> SubmissionRow:
    reason, superseded_by, cancelled = loop
    return SubmissionRow(
        *values,
        outbox=outbox,
        review_reason=reason,
        superseded_by=superseded_by,
        cancelled=cancelled,
    )


def _loops_of(session: Session, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """The page's return reasons and superseding submissions, in one query (the rows of
    the reasons and replacements only; most rows have neither)."""
    if not ids:
        return {}
    later = aliased(Submission)
    rows = session.execute(
        select(Submission.id, Submission.review_reason, later.tracking_number, later.answers)
        .outerjoin(later, later.supersedes_id == Submission.id)
        .where(
            Submission.id.in_(list(ids)),
            or_(Submission.review_reason.is_not(None), later.id.is_not(None)),
        )
    ).all()
    return {
        row[0]: (
            row[1],
            row[2],
            isinstance(row[3], dict) and row[3].get("_cancel") is True,
        )
        for row in rows
    }


def _outbox_of(session: Session, ids: Sequence[str]) -> dict[str, tuple[OutboxRow, ...]]:
    if not ids:
        return {}
    rows = session.execute(
        select(
            OutboxEntry.submission_id,
            OutboxEntry.agency,
            OutboxEntry.state,
            OutboxEntry.attempts,
            OutboxEntry.last_attempt_at,
            OutboxEntry.next_attempt_at,
            OutboxEntry.last_error_class,
            OutboxEntry.last_error_message,
            OutboxEntry.agency_ref,
            OutboxEntry.agency_status,
            OutboxEntry.agency_message,
            OutboxEntry.delivered_at,
        )
        .where(OutboxEntry.submission_id.in_(list(ids)))
        .order_by(OutboxEntry.submission_id, OutboxEntry.agency)
    ).all()
    out: dict[str, list[OutboxRow]] = {}
    for submission_id, *rest in rows:
        out.setdefault(submission_id, []).append(OutboxRow(*rest))
    return {key: tuple(value) for key, value in out.items()}


def _with_outbox(session: Session, rows: Sequence[Sequence[Any]]) -> list[SubmissionRow]:
    ids = [r[0] for r in rows]
    outbox = _outbox_of(session, ids)
    # Only a superseded row has a successor, only a returned or flagged one a reason: most
    # pages need no second look (columns: status 7, review_state 8).
    loops = _loops_of(
        session, [r[0] for r in rows if r[7] == "superseded" or r[8] in ("returned", "flagged")]
    )
    return [_row(r, outbox.get(r[0], ()), loops.get(r[0], (None, None, False))) for r in rows]


def submission_page(
    session: Session,
    query: SubmissionQuery,
    after: tuple[Any, str] | None = None,
    limit: int = PAGE_SIZE,
) -> list[SubmissionRow]:
    """The next ``limit`` rows of the view after ``after`` (None: the first page)."""
    # Intersecting two common words' token ranges builds temporary b-trees in the page
    # cache; with SQLite's default 8 MB they spill and the search took twice as long.
    reserve_page_cache(session)
    if query.search is not None:
        filtered = any(
            value is not None for value in (query.status, query.agency, query.desk, query.since)
        )
        query = replace(query, search=plan_search(session, query.search, filtered))
    stmt = _filtered(query)
    if after is not None:
        stmt = _after(stmt, query, after)
    if query.search is not None and query.search.kind in ("name", "identity"):
        # A common name matches thousands of submissions: pick the page's ids from the
        # (applicant_id, finalized_at, id) index first, then read only those rows.
        ids = [
            row[0]
            for row in session.execute(
                _ordered(stmt.with_only_columns(Submission.id, maintain_column_froms=True), query)
                .limit(limit)
            ).all()
        ]
        return submission_rows(session, query, ids)
    rows = session.execute(_ordered(stmt, query).limit(limit)).all()
    return _with_outbox(session, rows)


def submission_rows(
    session: Session, query: SubmissionQuery, ids: Sequence[str]
) -> list[SubmissionRow]:
    """The rows among ``ids`` that the view's filters let through, in the view's order.

    Used to refresh only what a write says changed, and to place new submissions.
    """
    if not ids:
        return []
    if query.search is not None:
        # A handful of rows: their own name keys or numbers decide, no range is read.
        query = replace(query, search=replace(query.search, plan="common"))
    stmt = _filtered(query).where(Submission.id.in_(list(ids)))
    rows = session.execute(_ordered(stmt, query)).all()
    return _with_outbox(session, rows)


def count_submissions(session: Session, query: SubmissionQuery) -> int:
    stmt = _filtered(query).with_only_columns(func.count(), maintain_column_froms=True)
    return int(session.scalar(stmt) or 0)


def submission_detail(session: Session, submission_id: str) -> SubmissionDetail | None:
    query = SubmissionQuery()
    rows = submission_rows(session, query, [submission_id])
    if not rows:
        return None
    submission = session.get(Submission, submission_id)
    visit = session.get(Visit, submission.visit_id) if submission is not None else None
    if submission is None or visit is None:
        return None
    checklist = session.execute(
        select(ChecklistItem.requirement_id, ChecklistItem.applies, ChecklistItem.state)
        .where(ChecklistItem.submission_id == submission_id)
        .order_by(ChecklistItem.position)
    ).all()
    return SubmissionDetail(
        row=rows[0],
        visit_id=visit.id,
        ticket=visit.ticket,
        desk=visit.desk,
        officer=submission.officer,
        proxy=dict(visit.proxy) if visit.proxy else None,
        fee=submission.fee,
        sla_due=submission.sla_due,
        agency_message=submission.agency_message,
        agency_updated_at=submission.agency_updated_at,
        collected_by=dict(submission.collected_by) if submission.collected_by else None,
        supersedes_id=submission.supersedes_id,
        checklist=tuple(ChecklistRow(*c) for c in checklist),
        attachments=tuple(a.name for a in submission.attachments),
        supersedes_tracking=(
            session.scalar(
                select(Submission.tracking_number).where(
                    Submission.id == submission.supersedes_id
                )
            )
            if submission.supersedes_id
            else None
        ),
        cancellation=isinstance(submission.answers, dict)
        and submission.answers.get("_cancel") is True,
    )


def undelivered_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per agency, entries per state, leaving out ``done`` ones.

    Reads only the undelivered part of the outbox through ``ix_outbox_due`` (state first),
    so it stays cheap when a million delivered entries sit beside them.
    """
    states = [s.value for s in OutboxState if s not in (OutboxState.DONE, OutboxState.SUPERSEDED)]
    rows = session.execute(
        select(OutboxEntry.agency, OutboxEntry.state, func.count())
        .where(OutboxEntry.state.in_(states))
        .group_by(OutboxEntry.agency, OutboxEntry.state)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for agency, state, count in rows:
        out.setdefault(agency, {})[state] = int(count)
    return out


def find_by_tracking(session: Session, tracking_number: str) -> Submission | None:
    return session.scalar(select(Submission).where(Submission.tracking_number == tracking_number))


def visit_proxy(session: Session, visit_id: str) -> dict[str, Any] | None:
    proxy = session.scalar(select(Visit.proxy).where(Visit.id == visit_id))
    return dict(proxy) if proxy else None


def applicant_identity(session: Session, applicant_id: str) -> tuple[str, str, str] | None:
    """(name, id kind, id number) of an applicant."""
    row = session.execute(
        select(Applicant.name, Applicant.id_kind, Applicant.id_number).where(
            Applicant.id == applicant_id
        )
    ).first()
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def record_collected(
    session: Session,
    submission_id: str,
    status: str,
    at: datetime,
    collected_by: dict[str, Any],
) -> bool:
    """Mark a submission collected; False when someone else recorded it first."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.collected_at is not None:
        return False
    submission.status = status
    submission.collected_at = at
    submission.collected_by = dict(collected_by)
    return True
