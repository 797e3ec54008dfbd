"""The supervisor dashboard's aggregates, computed by the database.

Every figure here is a GROUP BY (or a window) over the day range's rows, found through the
``local_date`` indexes: a store of millions of submissions is never loaded into Python, and the
only rows that come back are the groups themselves and short, limited lists. The desk layer
turns the result into the dashboard and the exports; nothing here knows about permissions or
languages.

Durations are seconds between stored UTC times; hours of the day are local hours, shifted by
the install's UTC offset (Indonesia's three zones keep one offset all year). Percentiles are
nearest-rank: the p90 of n values is the value at rank ceil(0.9·n) in ascending order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from mppdesk.core.states import OutboxState
from mppdesk.store.models import (
    OPEN_SLA_SQL,
    SURVEY_COLUMNS,
    OutboxEntry,
    Submission,
    SurveyResponse,
    Visit,
)

LIST_LIMIT = 200
# Entries still expected to reach their agency; ``failed`` ones never will and are listed
# with the rejected submissions instead.
UNDELIVERED = (OutboxState.HELD, OutboxState.PENDING, OutboxState.IN_FLIGHT, OutboxState.PAUSED)
BACKLOG_STATES = (*UNDELIVERED, OutboxState.FAILED)


@dataclass(frozen=True)
class DayRange:
    """Local calendar days, both included (``YYYY-MM-DD`` strings compare as dates)."""

    first: str
    last: str
    utc_offset_minutes: int = 0


@dataclass(frozen=True)
class Timing:
    """Waiting (ticket → start of service) and service (start → finalize) times, seconds."""

    visits: int
    waits: int  # visits with a queue ticket time
    wait_avg_s: float | None
    wait_p90_s: float | None
    services: int  # finalized visits with a start time
    service_avg_s: float | None
    service_p90_s: float | None


@dataclass(frozen=True)
class SubmissionLine:
    """One submission in a dashboard list (no personal data: the tracking number finds it)."""

    id: str
    tracking_number: str
    service: str
    agency: str
    officer: str
    finalized_at: datetime
    status: str
    agency_status: str | None
    review_state: str
    review_reason: str | None
    agency_message: str | None
    last_error: str | None
    sla_due: date


@dataclass(frozen=True)
class BacklogLine:
    agency: str
    held: int
    pending: int  # pending and in flight
    paused: int
    failed: int
    oldest_undelivered: datetime | None  # created_at of the oldest held/pending/paused entry


@dataclass(frozen=True)
class SurveyGroup:
    key: str
    agency: str
    responses: int
    mean_score: float  # mean of the nine elements' scores, 1-4


@dataclass(frozen=True)
class SurveyTotals:
    responses: int
    element_means: dict[str, float]  # element column → mean score (empty without responses)
    by_service: list[SurveyGroup]
    by_agency: list[SurveyGroup]


def _aware(value: Any) -> datetime | None:
    """Raw aggregates (MIN over a UtcDateTime) bypass the column type: make them aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _seconds(session: Session, start: Any, end: Any) -> Any:
    if _is_postgres(session):
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _local_hour(session: Session, column: Any, offset_minutes: int) -> Any:
    offset = int(offset_minutes)
    if _is_postgres(session):
        return cast(
            func.extract("hour", column + literal_column(f"interval '{offset} minutes'")), Integer
        )
    # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff": minutes of the UTC day from the text,
    # shifted, wrapped, in integers (strftime with a modifier costs several times more).
    minutes = (
        cast(func.substr(column, 12, 2), Integer) * 60
        + cast(func.substr(column, 15, 2), Integer)
        + (offset % 1440 + 1440)
    )
    return (minutes % 1440) // 60


def _in_range(column: Any, days: DayRange) -> Any:
    return column.between(days.first, days.last)


# --- counts --------------------------------------------------------------------------------


def submissions_by(session: Session, days: DayRange, *columns: Any) -> list[tuple[Any, ...]]:
    """(``columns``…, submissions) per group, largest first."""
    count = func.count().label("n")
    rows = session.execute(
        select(*columns, count)
        .where(_in_range(Submission.local_date, days))
        .group_by(*columns)
        .order_by(count.desc(), *columns)
    ).all()
    return [tuple(row) for row in rows]


def submissions_by_status(session: Session, days: DayRange) -> dict[str, int]:
    rows = session.execute(
        select(Submission.status, func.count())
        .where(_in_range(Submission.local_date, days))
        .group_by(Submission.status)
    ).all()
    return {status: int(n) for status, n in rows}


def visits_by_officer(session: Session, days: DayRange) -> dict[str, tuple[int, float | None]]:
    """Per officer: finalized visits and their mean service time (seconds)."""
    service = _seconds(session, Visit.started_at, Visit.finalized_at)
    rows = session.execute(
        select(Visit.officer, func.count(), func.avg(service))
        .where(_in_range(Visit.local_date, days), Visit.status == "finalized")
        .group_by(Visit.officer)
    ).all()
    return {officer: (int(n), float(avg) if avg is not None else None) for officer, n, avg in rows}


def by_hour(session: Session, days: DayRange) -> dict[int, tuple[int, int]]:
    """Local hour → (visits whose service started then, submissions finalized then)."""
    out: dict[int, list[int]] = {}
    visit_hour = _local_hour(session, Visit.started_at, days.utc_offset_minutes).label("h")
    for hour, n in session.execute(
        select(visit_hour, func.count())
        .where(_in_range(Visit.local_date, days), Visit.status == "finalized")
        .group_by(visit_hour)
    ).all():
        out.setdefault(int(hour), [0, 0])[0] = int(n)
    submission_hour = _local_hour(session, Submission.finalized_at, days.utc_offset_minutes).label(
        "h"
    )
    for hour, n in session.execute(
        select(submission_hour, func.count())
        .where(_in_range(Submission.local_date, days))
        .group_by(submission_hour)
    ).all():
        out.setdefault(int(hour), [0, 0])[1] = int(n)
    return {hour: (pair[0], pair[1]) for hour, pair in sorted(out.items())}


def timing(session: Session, days: DayRange) -> Timing:
    """Means, and nearest-rank p90s, of waiting and service time.

    One aggregate gives the counts and means; each p90 is then one ordered read that skips
    to rank ceil(0.9·n). Measured on a 20,000-visit day this is several times cheaper than
    numbering every row with window functions.
    """
    wait = _seconds(session, Visit.ticket_at, Visit.started_at)
    serve = _seconds(session, Visit.started_at, Visit.finalized_at)
    where = (_in_range(Visit.local_date, days), Visit.status == "finalized")
    has_wait = Visit.ticket_at.is_not(None)
    has_serve = Visit.finalized_at.is_not(None)
    row = session.execute(
        select(
            func.count(),
            func.count(case((has_wait, 1))),
            func.avg(case((has_wait, wait))),
            func.count(case((has_serve, 1))),
            func.avg(case((has_serve, serve))),
        ).where(*where)
    ).one()
    visits, waits, services = int(row[0]), int(row[1]), int(row[3])

    def p90(value: Any, present: Any, n: int) -> float | None:
        if n == 0:
            return None
        rank = -(-9 * n // 10)  # ceil(0.9 n), in integers
        found = session.scalar(
            select(value).where(*where, present).order_by(value).limit(1).offset(rank - 1)
        )
        return float(found) if found is not None else None

    return Timing(
        visits=visits,
        waits=waits,
        wait_avg_s=float(row[2]) if row[2] is not None else None,
        wait_p90_s=p90(wait, has_wait, waits),
        services=services,
        service_avg_s=float(row[4]) if row[4] is not None else None,
        service_p90_s=p90(serve, has_serve, services),
    )


# --- lists ---------------------------------------------------------------------------------


def _line_columns() -> tuple[Any, ...]:
    failed_error = (
        select(OutboxEntry.last_error_message)
        .where(
            OutboxEntry.submission_id == Submission.id,
            OutboxEntry.state == OutboxState.FAILED,
        )
        .order_by(OutboxEntry.agency)
        .limit(1)
        .scalar_subquery()
    )
    return (
        Submission.id,
        Submission.tracking_number,
        Submission.service,
        Submission.agency,
        Submission.officer,
        Submission.finalized_at,
        Submission.status,
        Submission.agency_status,
        Submission.review_state,
        Submission.review_reason,
        Submission.agency_message,
        failed_error,
        Submission.sla_due,
    )


def _lines(session: Session, query: Any) -> list[SubmissionLine]:
    return [SubmissionLine(*row) for row in session.execute(query).all()]


def attention(session: Session, days: DayRange, limit: int = LIST_LIMIT) -> list[SubmissionLine]:
    """The range's rejected, conflicting, needs-info and flagged submissions, newest first."""
    wanted = or_(
        Submission.status.in_(("rejected", "conflict")),
        Submission.agency_status == "needs_info",
        Submission.review_state == "flagged",
    )
    return _lines(
        session,
        select(*_line_columns())
        .where(_in_range(Submission.local_date, days), wanted)
        .order_by(Submission.finalized_at.desc(), Submission.id)
        .limit(limit),
    )


def attention_counts(session: Session, days: DayRange) -> dict[str, int]:
    def flag(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            flag(Submission.status == "rejected"),
            flag(Submission.status == "conflict"),
            flag(Submission.agency_status == "needs_info"),
            flag(Submission.review_state == "flagged"),
            flag(Submission.review_state == "returned"),
        ).where(_in_range(Submission.local_date, days))
    ).one()
    keys = ("rejected", "conflict", "needs_info", "flagged", "returned")
    return {key: int(value) for key, value in zip(keys, row, strict=True)}


def held(session: Session, limit: int = LIST_LIMIT) -> tuple[int, list[SubmissionLine]]:
    """Every submission waiting for approval, whatever its day: oldest first, and the count."""
    total = session.scalar(select(func.count()).where(Submission.status == "held")) or 0
    lines = _lines(
        session,
        select(*_line_columns())
        .where(Submission.status == "held")
        .order_by(Submission.finalized_at, Submission.id)
        .limit(limit),
    )
    return int(total), lines


# --- SLA -----------------------------------------------------------------------------------


def _open_sla() -> Any:
    # Literal text, the partial index's own WHERE: see models.OPEN_SLA_SQL.
    return text(OPEN_SLA_SQL)


def sla_by_agency(session: Session, today: date, soon_until: date) -> dict[str, tuple[int, int]]:
    """Agency → (overdue: due before ``today``, due soon: due ``today``…``soon_until``)."""
    rows = session.execute(
        select(
            Submission.agency,
            func.sum(case((Submission.sla_due < today, 1), else_=0)),
            func.sum(case((Submission.sla_due >= today, 1), else_=0)),
        )
        .where(Submission.sla_due <= soon_until, _open_sla())
        .group_by(Submission.agency)
    ).all()
    return {agency: (int(late), int(soon)) for agency, late, soon in rows}


def sla_lines(
    session: Session, low: date | None, high: date, *, include_high: bool, limit: int = LIST_LIMIT
) -> list[SubmissionLine]:
    """Open submissions due in [``low``, ``high``) (or ``]``), earliest due first."""
    bound = Submission.sla_due <= high if include_high else Submission.sla_due < high
    where = [bound, _open_sla()]
    if low is not None:
        where.append(Submission.sla_due >= low)
    return _lines(
        session,
        select(*_line_columns())
        .where(and_(*where))
        .order_by(Submission.sla_due, Submission.finalized_at, Submission.id)
        .limit(limit),
    )


# --- sync backlog --------------------------------------------------------------------------


def backlog(session: Session) -> list[BacklogLine]:
    """Per agency: entries held, pending (and in flight), paused, failed; the oldest one due.

    ``state IN (…)`` keeps the delivered millions out of it: it reads ``ix_outbox_due``.
    """
    rows = session.execute(
        select(
            OutboxEntry.agency,
            OutboxEntry.state,
            func.count(),
            func.min(OutboxEntry.created_at),
        )
        .where(OutboxEntry.state.in_([str(s) for s in BACKLOG_STATES]))
        .group_by(OutboxEntry.agency, OutboxEntry.state)
    ).all()
    per: dict[str, dict[str, Any]] = {}
    for agency, state, n, oldest in rows:
        info = per.setdefault(agency, {"states": {}, "oldest": None})
        info["states"][state] = int(n)
        oldest = _aware(oldest)
        if state in UNDELIVERED and oldest is not None:
            info["oldest"] = oldest if info["oldest"] is None else min(info["oldest"], oldest)
    lines = []
    for agency in sorted(per):
        states = per[agency]["states"]
        lines.append(
            BacklogLine(
                agency=agency,
                held=states.get(OutboxState.HELD, 0),
                pending=states.get(OutboxState.PENDING, 0) + states.get(OutboxState.IN_FLIGHT, 0),
                paused=states.get(OutboxState.PAUSED, 0),
                failed=states.get(OutboxState.FAILED, 0),
                oldest_undelivered=per[agency]["oldest"],
            )
        )
    return lines


# --- survey --------------------------------------------------------------------------------


def _survey_total() -> Any:
    columns = [getattr(SurveyResponse, name) for name in SURVEY_COLUMNS]
    total = columns[0]
    for column in columns[1:]:
        total = total + column
    return total


def survey(session: Session, days: DayRange) -> SurveyTotals:
    """Survey means over the range, overall per element and per service and agency.

    A visit's survey speaks for every service of that visit (it was one walk-in), and once
    for each of its agencies: a response counts once per service and once per agency, however
    many submissions of that agency the visit had.
    """
    in_days = _in_range(SurveyResponse.local_date, days)
    element_avgs = [func.avg(getattr(SurveyResponse, name)) for name in SURVEY_COLUMNS]
    row = session.execute(select(func.count(), *element_avgs).where(in_days)).one()
    responses = int(row[0])
    means = (
        {name: float(value) for name, value in zip(SURVEY_COLUMNS, row[1:], strict=True)}
        if responses
        else {}
    )
    total = _survey_total() * 1.0 / len(SURVEY_COLUMNS)  # one response's mean score

    def grouped(*keys: Any) -> list[tuple[Any, ...]]:
        # Driven by the day's responses (a third of the visits at most), each joined to its
        # visit's submissions; DISTINCT keeps one row per (response, key) before averaging.
        pairs = (
            select(SurveyResponse.id, total.label("score"), *keys)
            .join(Submission, Submission.visit_id == SurveyResponse.visit_id)
            .where(in_days)
            .distinct()
            .subquery()
        )
        key_columns = [pairs.c[key.key] for key in keys]
        return [
            tuple(r)
            for r in session.execute(
                select(*key_columns, func.count(), func.avg(pairs.c.score))
                .group_by(*key_columns)
                .order_by(*key_columns)
            ).all()
        ]

    by_service = [
        SurveyGroup(service, agency, int(n), float(mean))
        for service, agency, n, mean in grouped(Submission.service, Submission.agency)
    ]
    by_agency = [
        SurveyGroup(agency, agency, int(n), float(mean))
        for agency, n, mean in grouped(Submission.agency)
    ]
    return SurveyTotals(responses, means, by_service, by_agency)
