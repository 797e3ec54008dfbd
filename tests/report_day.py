"""A known day of intake for the report tests: visits at chosen times by three people, a few
submissions from days before, every send and agency state the dashboard lists, and surveys.

The states the sync worker and agencies would reach (rejected, conflict, needs info, paused,
completed) are written straight into the store's rows: the tests here are about reading
them back, and the raw rows are what the expected numbers are recomputed from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
    return datetime.combine(day, time(hour, minute, second), ZoneInfo(runtime.settings.desk.timezone))


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
            runtime, people[i % len(people)], CODES[i % len(CODES)], f"A-{i + 1:03d}",
            ticket_at, started_at, finalized_at,
        )
        seeded.visits_today.append(result.visit_id)
        seeded.today += [s.submission_id for s in result.submissions]
    before = DAY - timedelta(days=3)
    for i in range(4):
        started_at = _local(runtime, before, 9 + i, 10)
        result = _visit(
            runtime, people[0], CODES[i], f"B-{i + 1:03d}", None, started_at,
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

    raw = runtime.store.raw_connection()
    try:
        raw.execute("BEGIN")
        t = seeded.today
        _set(raw, t[0], status="rejected", outbox="failed", error="422 NIK tidak valid")
        _set(raw, t[1], status="conflict", outbox="failed", error="409 sudah ada", flagged=True)
        _set(raw, t[3], agency_status="needs_info", outbox="done", message="kirim ulang foto")
        _set(raw, t[4], outbox="paused")
        _set(raw, t[5], sla_due=DAY + timedelta(days=1))
        e = seeded.earlier
        _set(raw, e[0], sla_due=DAY - timedelta(days=1))  # overdue
        _set(raw, e[1], sla_due=DAY - timedelta(days=2), agency_status="processing", outbox="done")
        _set(raw, e[2], sla_due=DAY - timedelta(days=1), agency_status="completed", outbox="done")
        _set(raw, e[3], sla_due=DAY)  # due today: due soon
        raw.execute("COMMIT")
    finally:
        raw.close()
    return seeded


def _set(raw, submission_id, *, status=None, outbox=None, error=None, flagged=False,
         agency_status=None, message=None, sla_due=None) -> None:
    if status:
        raw.execute("UPDATE submissions SET status = ? WHERE id = ?", (status, submission_id))
    if flagged:
        raw.execute(
            "UPDATE submissions SET review_state = 'flagged', review_reason = ? WHERE id = ?",
            (error, submission_id),
        )
    if agency_status:
        raw.execute(
            "UPDATE submissions SET agency_status = ?, agency_message = ? WHERE id = ?",
            (agency_status, message, submission_id),
        )
    if sla_due:
        raw.execute(
            "UPDATE submissions SET sla_due = ? WHERE id = ?", (sla_due.isoformat(), submission_id)
        )
    if outbox:
        raw.execute(
            "UPDATE outbox SET state = ?, last_error_message = ? WHERE submission_id = ?",
            (outbox, error, submission_id),
        )


def report_clock(runtime):
    """The desk's clock at 17:30 on DAY: "today" for the dashboard and the exports."""
    return lambda: _local(runtime, DAY, 17, 30).astimezone(UTC)
