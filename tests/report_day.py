"""A known day of intake for the report tests: visits at chosen times by three people, a few
submissions from days before, every send and agency state the dashboard lists, and surveys.

The states the sync worker and agencies would reach (rejected, conflict, needs info, paused,
completed) are written straight into the store's rows: the tests here are about reading
them back, and the raw rows are what the expected numbers are recomputed from.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mppdesk.core.calendar import add_working_days
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.survey import record_survey
from mppdesk.store.models import SURVEY_COLUMNS
from tests.example_visits import BPJS, HELD, KTP, example_visit

DAY = date(2026, 11, 27)  # a Friday: "due soon" spans the weekend to Tuesday
CODES = (KTP, BPJS, HELD, "polri/skck", "djp/npwp-orang-pribadi", "pdam/sambungan-baru")


@dataclass
class SeededDay:
    today: list[str]  # submission ids finalized on DAY
    earlier: list[str]  # submission ids of DAY - 3
    visits_today: list[str]
    surveyed: list[str]  # visit ids with a survey


def _local(runtime, day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime.combine(
        day, time(hour, minute, second), ZoneInfo(runtime.settings.desk.timezone)
    )


def _visit(runtime, actor, code: str, ticket: str, ticket_at, started_at, finalized_at):
    request = replace(
        parse_visit(example_visit(code, ticket=ticket)), ticket_at=ticket_at, started_at=started_at
    )
    real = runtime.clock
    runtime.clock = lambda: finalized_at.astimezone(UTC)
    try:
        return finalize_visit(runtime, actor, request)
    finally:
        runtime.clock = real


def seed_day(runtime, people) -> SeededDay:
    """``people``: actors who do intake (officers, a supervisor), used in turn."""
    seeded = SeededDay([], [], [], [])
    for i in range(12):
        ticket_at = _local(runtime, DAY, 8 + i // 2, (i * 23) % 60, i)
        started_at = ticket_at + timedelta(minutes=(i * 7) % 20 + 1, seconds=i * 3)
        finalized_at = started_at + timedelta(minutes=(i * 3) % 11 + 4, seconds=17 * i % 60)
        result = _visit(
            runtime,
            people[i % len(people)],
            CODES[i % len(CODES)],
            f"A-{i + 1:03d}",
            ticket_at,
            started_at,
            finalized_at,
        )
        seeded.visits_today.append(result.visit_id)
        seeded.today += [s.submission_id for s in result.submissions]
    before = DAY - timedelta(days=3)
    for i in range(4):
        started_at = _local(runtime, before, 9 + i, 10)
        result = _visit(
            runtime,
            people[0],
            CODES[i],
            f"B-{i + 1:03d}",
            None,
            started_at,
            started_at + timedelta(minutes=9),
        )
        seeded.earlier += [s.submission_id for s in result.submissions]

    # Surveys: four of the day's visits and one of the earlier day (outside the range).
    real = runtime.clock
    runtime.clock = lambda: _local(runtime, DAY, 17, 0).astimezone(UTC)
    try:
        for n, visit_id in enumerate(seeded.visits_today[:4]):
            scores = {name: 1 + (n + k) % 4 for k, name in enumerate(SURVEY_COLUMNS)}
            record_survey(runtime, people[0], visit_id, scores, "ruang tunggu panas" if n else None)
            seeded.surveyed.append(visit_id)
    finally:
        runtime.clock = real

    with runtime.store.write() as session:  # SQL text: the same on SQLite and PostgreSQL
        t = seeded.today
        _set(session, t[0], status="rejected", outbox="failed", error="422 NIK tidak valid")
        _set(session, t[1], status="conflict", outbox="failed", error="409 sudah ada", flagged=True)
        _set(session, t[3], agency_status="needs_info", outbox="done", message="kirim foto")
        _set(session, t[4], outbox="paused")
        _set(session, t[5], sla_due=DAY + timedelta(days=1))
        e = seeded.earlier
        _set(session, e[0], sla_due=DAY - timedelta(days=1))  # overdue
        _set(
            session,
            e[1],
            sla_due=DAY - timedelta(days=2),
            agency_status="processing",
            outbox="done",
        )
        _set(
            session, e[2], sla_due=DAY - timedelta(days=1), agency_status="completed", outbox="done"
        )
        _set(session, e[3], sla_due=DAY)  # due today: due soon
    return seeded


def _set(
    session,
    submission_id,
    *,
    status=None,
    outbox=None,
    error=None,
    flagged=False,
    agency_status=None,
    message=None,
    sla_due=None,
) -> None:
    from sqlalchemy import text

    def run(sql: str, **values) -> None:
        session.execute(text(sql), {"id": submission_id, **values})

    if status:
        run("UPDATE submissions SET status = :status WHERE id = :id", status=status)
    if flagged:
        run(
            "UPDATE submissions SET review_state = 'flagged', review_reason = :reason"
            " WHERE id = :id",
            reason=error,
        )
    if agency_status:
        run(
            "UPDATE submissions SET agency_status = :status, agency_message = :message"
            " WHERE id = :id",
            status=agency_status,
            message=message,
        )
    if sla_due:
        run("UPDATE submissions SET sla_due = :due WHERE id = :id", due=sla_due)
    if outbox:
        run(
            "UPDATE outbox SET state = :state, last_error_message = :error"
            " WHERE submission_id = :id",
            state=outbox,
            error=error,
        )


def report_clock(runtime):
    """The desk's clock at 17:30 on DAY: "today" for the dashboard and the exports."""
    return lambda: _local(runtime, DAY, 17, 30).astimezone(UTC)


# --- the expected figures, from the raw rows ----------------------------------------------


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def _ikm(mean: float) -> tuple[float, str]:
    value = round(mean * 25, 2)
    grade = "A" if value >= 88.31 else "B" if value >= 76.61 else "C" if value >= 65 else "D"
    return value, grade


def recompute(runtime, first: date, last: date, today: date) -> dict:
    """Every figure of the dashboard, from the raw rows."""
    tz = ZoneInfo(runtime.settings.desk.timezone)
    raw = runtime.store.raw_connection()
    try:
        subs = raw.execute(
            "SELECT id, visit_id, service, agency, officer, status, review_state, agency_status,"
            " sla_due, finalized_at, local_date, collected_at FROM submissions"
        ).fetchall()
        visits = raw.execute(
            "SELECT id, officer, status, ticket_at, started_at, finalized_at, local_date"
            " FROM visits"
        ).fetchall()
        outbox = raw.execute("SELECT agency, state, created_at FROM outbox").fetchall()
        no_shows = raw.execute(
            "SELECT count(*) FROM queue_tickets WHERE status = 'no_show'"
            " AND local_date BETWEEN ? AND ?",
            (first.isoformat(), last.isoformat()),
        ).fetchone()[0]
        surveys = raw.execute(
            f"SELECT visit_id, local_date, {', '.join(SURVEY_COLUMNS)} FROM survey_responses"
        ).fetchall()
    finally:
        raw.close()
    lo, hi = first.isoformat(), last.isoformat()
    in_subs = [s for s in subs if lo <= s[10] <= hi]
    in_visits = [v for v in visits if lo <= v[6] <= hi and v[2] == "finalized"]
    waits = [(_utc(v[4]) - _utc(v[3])).total_seconds() for v in in_visits if v[3] is not None]
    services = [(_utc(v[5]) - _utc(v[4])).total_seconds() for v in in_visits if v[5]]
    hours: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for v in in_visits:
        hours[_utc(v[4]).astimezone(tz).hour][0] += 1
    for s in in_subs:
        hours[_utc(s[9]).astimezone(tz).hour][1] += 1
    officer_service: dict[str, list[float]] = defaultdict(list)
    for v in in_visits:
        officer_service[v[1]].append((_utc(v[5]) - _utc(v[4])).total_seconds())
    officer_subs = Counter(s[4] for s in in_subs)

    def owed(s) -> bool:
        return (
            s[11] is None
            and (s[7] or "") not in ("completed", "rejected")
            and s[5] not in ("rejected", "conflict", "collected")
        )

    holidays = runtime.holidays(today.year, today.year + 1)
    soon_until = add_working_days(today, 2, holidays)
    overdue = {s[0] for s in subs if owed(s) and date.fromisoformat(s[8]) < today}
    due_soon = {s[0] for s in subs if owed(s) and today <= date.fromisoformat(s[8]) <= soon_until}
    agency_of = {s[0]: s[3] for s in subs}
    sla_agency: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sid in overdue:
        sla_agency[agency_of[sid]][0] += 1
    for sid in due_soon:
        sla_agency[agency_of[sid]][1] += 1

    backlog: dict[str, dict[str, int]] = defaultdict(Counter)
    oldest: dict[str, datetime] = {}
    for agency, state, created in outbox:
        if state == "done":
            continue
        key = "pending" if state == "in_flight" else state
        backlog[agency][key] += 1
        if state != "failed":
            moment = _utc(created)
            oldest[agency] = min(oldest.get(agency, moment), moment)

    in_surveys = [r for r in surveys if lo <= r[1] <= hi]
    element_means = (
        {
            name: sum(r[2 + k] for r in in_surveys) / len(in_surveys)
            for k, name in enumerate(SURVEY_COLUMNS)
        }
        if in_surveys
        else {}
    )
    per_response = {r[0]: sum(r[2:]) / 9 for r in in_surveys}
    service_pairs = {(s[1], s[2], s[3]) for s in in_subs}
    agency_pairs = {(s[1], s[3]) for s in in_subs}
    by_service: dict[tuple[str, str], list[float]] = defaultdict(list)
    for visit_id, service, agency in service_pairs:
        if visit_id in per_response:
            by_service[(service, agency)].append(per_response[visit_id])
    by_agency: dict[str, list[float]] = defaultdict(list)
    for visit_id, agency in agency_pairs:
        if visit_id in per_response:
            by_agency[agency].append(per_response[visit_id])

    return {
        "visits": len(in_visits),
        "submissions": len(in_subs),
        "by_status": dict(Counter(s[5] for s in in_subs)),
        "by_agency": dict(Counter(s[3] for s in in_subs)),
        "by_service": dict(Counter((s[2], s[3]) for s in in_subs)),
        "by_officer": {
            o: (
                len(officer_service.get(o, [])),
                officer_subs.get(o, 0),
                sum(officer_service[o]) / len(officer_service[o])
                if officer_service.get(o)
                else None,
            )
            for o in set(officer_service) | set(officer_subs)
        },
        "by_hour": {h: tuple(v) for h, v in hours.items()},
        "wait": (len(waits), sum(waits) / len(waits) if waits else None, _p90(waits)),
        "service": (
            len(services),
            sum(services) / len(services) if services else None,
            _p90(services),
        ),
        "held": {s[0] for s in subs if s[5] == "held"},
        "overdue": overdue,
        "due_soon": due_soon,
        "sla_agency": {a: tuple(v) for a, v in sla_agency.items()},
        "backlog": {a: dict(c) for a, c in backlog.items()},
        "oldest": oldest,
        "attention": {
            s[0]
            for s in in_subs
            if s[5] in ("rejected", "conflict")
            or s[7] == "needs_info"
            or s[6] in ("flagged", "returned")
        },
        "responses": len(in_surveys),
        "no_show": no_shows,
        "element_means": element_means,
        "ikm": _ikm(sum(element_means.values()) / 9) if element_means else None,
        "survey_service": {k: (len(v), _ikm(sum(v) / len(v))) for k, v in by_service.items()},
        "survey_agency": {k: (len(v), _ikm(sum(v) / len(v))) for k, v in by_agency.items()},
    }
