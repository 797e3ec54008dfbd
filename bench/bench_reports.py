"""daily_aggregates: the supervisor dashboard's aggregates for one busy day in a large store.

The store (encrypted, as the desk uses it) holds 2,000,000 submissions over a year; the last
day has 20,000 visits (about 26,000 submissions, a survey for a third of the visits, every
send and agency state), the other days share the rest (10 % of every size with --quick). It
is made once with raw executemany in one transaction per batch and cached under the temp
dir, keyed by size.

Each sample is one ``load_dashboard`` for that day as the desk serves it (permission check,
one read transaction, SQLAlchemy Core statements, the result assembled into dataclasses).
The floor is the same statements hand-written for sqlite3 on a raw connection to the same
file, fetching the same rows, in one transaction; the two are timed alternately in the same
run, so a busy machine slows both alike.

Goals: ratio to the floor <= 1.5 and p95 <= 300 ms.
"""

from __future__ import annotations

import os
import random
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.harness import Result, cost_result

CACHE = Path(tempfile.gettempdir()) / "mppdesk-bench"
DAY = date(2026, 11, 27)
DAYS = 365
DESKS = ("K01", "K02", "K03", "K04", "K05")
OFFICERS = tuple(f"petugas{i:02d}" for i in range(1, 25))
SERVICES = (
    ("dukcapil/ktp-el", "dukcapil", 14),
    ("dukcapil/kk-perubahan", "dukcapil", 7),
    ("bpjs-kesehatan/peserta-mandiri", "bpjs-kesehatan", 3),
    ("polri/skck", "polri", 3),
    ("imigrasi/paspor", "imigrasi", 4),
    ("samsat/pajak-tahunan", "samsat", 1),
    ("samsat/bbn-ii", "samsat", 10),
    ("djp/npwp-orang-pribadi", "djp", 1),
    ("pdam/sambungan-baru", "pdam", 10),
    ("bpn/sertipikat-hilang", "bpn", 30),
)
SURVEY = (
    "requirements",
    "procedure",
    "turnaround",
    "cost",
    "product",
    "competence",
    "conduct",
    "complaints",
    "facilities",
)
APPLICANTS = 20_000
BATCH = 50_000
REPEAT = 25
FMT = "%Y-%m-%d %H:%M:%S.%f"


def _env(size: int) -> Path:
    root = CACHE / f"reports-v3-{size}"  # v2: migration 0003's final indexes
    root.mkdir(parents=True, exist_ok=True)
    os.environ["MPPDESK_KEY_FILE"] = str(root / "desk.key")
    return root / "data"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FMT)


class _Writer:
    """Rows collected per table and written in batches, one transaction per batch."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.visits: list[tuple] = []
        self.submissions: list[tuple] = []
        self.outbox: list[tuple] = []
        self.surveys: list[tuple] = []

    def maybe_flush(self) -> None:
        if len(self.submissions) >= BATCH:
            self.flush()

    def flush(self) -> None:
        raw = self.raw
        raw.execute("BEGIN")
        raw.execute("PRAGMA defer_foreign_keys=ON")
        raw.executemany(
            "INSERT INTO visits (id, ticket, desk, officer, applicant_id, status, ticket_at,"
            " started_at, finalized_at, local_date, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            self.visits,
        )
        raw.executemany(
            "INSERT INTO submissions (id, visit_id, position, service, agency, tracking_number,"
            " form_version, status, review_state, applicant_id, answers, fee, sla_due,"
            " finalized_at, local_date, officer, agency_status, collected_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            self.submissions,
        )
        raw.executemany(
            "INSERT INTO outbox (id, submission_id, agency, state, payload, payload_sha256,"
            " attempts, created_at, next_attempt_at, attachments_acked, last_error_message)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            self.outbox,
        )
        raw.executemany(
            f"INSERT INTO survey_responses (visit_id, answered_at, local_date, officer,"
            f" {', '.join(SURVEY)}) VALUES (?,?,?,?,{','.join('?' * len(SURVEY))})",
            self.surveys,
        )
        raw.execute("COMMIT")
        self.visits, self.submissions, self.outbox, self.surveys = [], [], [], []


def _generate(runtime, size: int) -> None:
    from mppdesk.core.tracking import make_tracking_number

    rng = random.Random(11)
    tz = ZoneInfo(runtime.settings.desk.timezone)
    raw = runtime.store.raw_connection()
    try:
        raw.execute("PRAGMA synchronous=OFF")  # generation only
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO applicants (id, id_kind, id_number, name, name_key, profile,"
            " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    str(uuid.UUID(int=i + 1)),
                    "nik",
                    f"3174{i:012d}",
                    f"PEMOHON {i}",
                    f"PEMOHON {i}",
                    "{}",
                    "2026-01-01 00:00:00",
                    "2026-01-01 00:00:00",
                )
                for i in range(APPLICANTS)
            ],
        )
        raw.execute("COMMIT")
        writer = _Writer(raw)
        busy_visits = size // 100  # 20,000 of 2,000,000
        busy_submissions = int(busy_visits * 1.3)
        per_day = max(1, (size - busy_submissions) // (DAYS - 1))
        sequences: dict[tuple[str, date], int] = {}
        made = 0
        visit_number = 0
        for offset in range(DAYS - 1, -1, -1):
            day = DAY - timedelta(days=offset)
            target = busy_submissions if offset == 0 else per_day
            if offset == 0:
                target = size - made  # whatever is left lands on the busy day
            done_today = 0
            opening = datetime.combine(day, time(8, 0), tz)
            while done_today < target:
                visit_number += 1
                visit_id = str(uuid.UUID(int=(1 << 64) + visit_number))
                desk = DESKS[visit_number % len(DESKS)]
                officer = OFFICERS[visit_number % len(OFFICERS)]
                ticket_at = opening + timedelta(seconds=rng.randrange(8 * 3600))
                started_at = ticket_at + timedelta(seconds=rng.randrange(60, 2400))
                finalized_at = started_at + timedelta(seconds=rng.randrange(180, 1500))
                applicant = str(uuid.UUID(int=1 + rng.randrange(APPLICANTS)))
                writer.visits.append(
                    (
                        visit_id,
                        f"A-{visit_number % 999:03d}",
                        desk,
                        officer,
                        applicant,
                        "finalized",
                        _stamp(ticket_at),
                        _stamp(started_at),
                        _stamp(finalized_at),
                        day.isoformat(),
                        _stamp(finalized_at),
                    )
                )
                if offset == 0 and rng.random() < 0.33 or offset and rng.random() < 0.05:
                    writer.surveys.append(
                        (
                            visit_id,
                            _stamp(finalized_at),
                            day.isoformat(),
                            officer,
                            *(rng.choice((2, 3, 3, 4, 4)) for _ in SURVEY),
                        )
                    )
                for position in range(1 if rng.random() < 0.7 else 2):
                    if done_today >= target:
                        break
                    done_today += 1
                    made += 1
                    service, agency, sla_days = SERVICES[rng.randrange(len(SERVICES))]
                    sequence = sequences.get((desk, day), 0) + 1
                    sequences[(desk, day)] = sequence
                    status, state, agency_status, collected = _states(rng, offset)
                    submission_id = str(uuid.UUID(int=(2 << 64) + made))
                    writer.submissions.append(
                        (
                            submission_id,
                            visit_id,
                            position,
                            service,
                            agency,
                            make_tracking_number(desk, day, sequence),
                            "sha256:" + "0" * 64,
                            status,
                            "flagged" if status == "conflict" else "unreviewed",
                            applicant,
                            "{}",
                            0,
                            (day + timedelta(days=sla_days)).isoformat(),
                            _stamp(finalized_at),
                            day.isoformat(),
                            officer,
                            agency_status,
                            _stamp(finalized_at + timedelta(days=sla_days)) if collected else None,
                        )
                    )
                    writer.outbox.append(
                        (
                            str(uuid.UUID(int=(3 << 64) + made)),
                            submission_id,
                            agency,
                            state,
                            b"{}",
                            "0" * 64,
                            1,
                            _stamp(finalized_at),
                            None if state in ("done", "held", "failed") else _stamp(finalized_at),
                            "{}",
                            "422 ditolak" if state == "failed" else None,
                        )
                    )
                writer.maybe_flush()
        writer.flush()
        raw.execute("ANALYZE")
    finally:
        raw.close()


def _states(rng: random.Random, offset: int) -> tuple[str, str, str | None, bool]:
    """(status, outbox state, agency status, collected) for a submission ``offset`` days old."""
    roll = rng.random()
    if offset == 0:  # the busy day: still moving
        if roll < 0.55:
            return "accepted", "done", "received", False
        if roll < 0.80:
            return "queued", "pending", None, False
        if roll < 0.88:
            return "held", "held", None, False
        if roll < 0.92:
            return "queued", "paused", None, False
        if roll < 0.95:
            return "rejected", "failed", None, False
        if roll < 0.97:
            return "conflict", "failed", None, False
        return "accepted", "done", "needs_info", False
    if roll < 0.975:
        return "collected", "done", "completed", True
    if roll < 0.985:
        return "accepted", "done", "completed", False  # ready, not collected yet
    if roll < 0.993:
        return "accepted", "done", "processing", False  # still owed
    if roll < 0.996:
        return "rejected", "failed", None, False
    if roll < 0.998:
        return "accepted", "done", "needs_info", False
    return "queued", "pending", None, False


def _prepare(size: int):
    from mppdesk.desk.runtime import open_runtime

    data_dir = _env(size)
    marker = data_dir.parent / "ready"
    runtime = open_runtime(data_dir)
    if not marker.exists():
        raw = runtime.store.raw_connection()
        try:
            existing = raw.execute("SELECT count(*) FROM submissions").fetchone()[0]
        finally:
            raw.close()
        if existing:
            runtime.close()
            raise SystemExit(f"{data_dir} holds a half-made store: delete {data_dir.parent}")
        _generate(runtime, size)
        marker.write_text(str(size))
    return runtime


# --- the floor: the dashboard's statements, by hand ------------------------------------------

_LINE = (
    "SELECT s.id, s.tracking_number, s.service, s.agency, s.officer, s.finalized_at, s.status,"
    " s.agency_status, s.review_state, s.review_reason, s.agency_message,"
    " (SELECT o.last_error_message FROM outbox o WHERE o.submission_id = s.id"
    "  AND o.state = 'failed' ORDER BY o.agency LIMIT 1), s.sla_due FROM submissions s"
)
_OPEN = (
    "collected_at IS NULL AND coalesce(agency_status, '') NOT IN ('completed', 'rejected') "
    "AND status NOT IN ('rejected', 'conflict', 'collected')"
)
_ATTENTION = (
    "status IN ('rejected', 'conflict') OR agency_status = 'needs_info' "
    "OR review_state IN ('flagged', 'returned')"
)
_TOTAL = " + ".join(f"r.{name}" for name in SURVEY)


def _floor_statements(day: str, today: str, soon: str, offset: int) -> list[tuple[str, tuple]]:
    wait = "(julianday(started_at) - julianday(ticket_at)) * 86400.0"
    serve = "(julianday(finalized_at) - julianday(started_at)) * 86400.0"
    shifted = offset % 1440 + 1440

    def hour(column: str) -> str:
        return (
            f"((CAST(substr({column}, 12, 2) AS INTEGER) * 60"
            f" + CAST(substr({column}, 15, 2) AS INTEGER) + {shifted}) % 1440) / 60"
        )

    in_day = "local_date BETWEEN ? AND ?"
    d2 = (day, day)
    on_day = "local_date = ?"  # where the dashboard writes an equality (ordered groups)
    visits = f"FROM visits WHERE {in_day} AND status = 'finalized'"
    return [
        (
            "WITH d AS MATERIALIZED (SELECT CASE WHEN ticket_at IS NOT NULL THEN"
            f" {wait} END w, CASE WHEN finalized_at IS NOT NULL THEN {serve} END s {visits})"
            " SELECT count(*), count(w), avg(w), (SELECT w FROM d WHERE w IS NOT NULL"
            " ORDER BY w DESC LIMIT 1 OFFSET (SELECT count(w) - (count(w) * 9 + 9) / 10"
            " FROM d)), count(s), avg(s), (SELECT s FROM d WHERE s IS NOT NULL"
            " ORDER BY s DESC LIMIT 1 OFFSET (SELECT count(s) - (count(s) * 9 + 9) / 10"
            " FROM d)) FROM d",
            d2,
        ),
        (f"SELECT status, count(*) FROM submissions WHERE {on_day} GROUP BY status", (day,)),
        (
            f"SELECT officer, count(*), avg({serve}) FROM visits WHERE {on_day}"
            " AND status = 'finalized' GROUP BY officer",
            (day,),
        ),
        (
            f"SELECT officer, count(*) n FROM submissions WHERE {in_day}"
            " GROUP BY officer ORDER BY n DESC, officer",
            d2,
        ),
        ("SELECT count(*) FROM submissions WHERE status = 'held'", ()),
        (f"{_LINE} WHERE s.status = 'held' ORDER BY s.finalized_at, s.id LIMIT 200", ()),
        (
            f"SELECT agency, count(*) n FROM submissions WHERE {in_day}"
            " GROUP BY agency ORDER BY n DESC, agency",
            d2,
        ),
        (
            f"SELECT service, agency, count(*) n FROM submissions WHERE {in_day}"
            " GROUP BY service, agency ORDER BY n DESC, service, agency",
            d2,
        ),
        (f"SELECT {hour('started_at')} h, count(*) {visits} GROUP BY h", d2),
        (
            f"SELECT {hour('finalized_at')} h, count(*) FROM submissions WHERE {in_day} GROUP BY h",
            d2,
        ),
        (
            f"SELECT count(*), {', '.join(f'avg({n})' for n in SURVEY)}"
            f" FROM survey_responses WHERE {in_day}",
            d2,
        ),
        (
            "WITH p AS MATERIALIZED (SELECT DISTINCT r.id, ("
            + _TOTAL
            + ") * 1.0 / 9 score, s.service, s.agency FROM survey_responses r"
            " JOIN submissions s ON s.visit_id = r.visit_id"
            " WHERE r.local_date BETWEEN ? AND ?)"
            " SELECT 'service', service, agency, count(*), avg(score) FROM p"
            " GROUP BY service, agency UNION ALL SELECT 'agency', agency, agency, count(*),"
            " avg(score) FROM (SELECT DISTINCT id, score, agency FROM p) GROUP BY agency",
            d2,
        ),
        (
            "SELECT agency, state, count(*), min(created_at) FROM outbox WHERE state IN"
            " ('held', 'pending', 'in_flight', 'paused', 'failed') GROUP BY agency, state",
            (),
        ),
        (
            "SELECT agency, sum(CASE WHEN sla_due < ? THEN 1 ELSE 0 END),"
            " sum(CASE WHEN sla_due >= ? THEN 1 ELSE 0 END) FROM submissions"
            f" WHERE sla_due <= ? AND {_OPEN} GROUP BY agency",
            (today, today, soon),
        ),
        (
            f"{_LINE} WHERE s.sla_due < ? AND {_OPEN} ORDER BY s.sla_due, s.agency LIMIT 200",
            (today,),
        ),
        (
            f"{_LINE} WHERE s.sla_due <= ? AND {_OPEN} AND s.sla_due >= ?"
            " ORDER BY s.sla_due, s.agency LIMIT 200",
            (soon, today),
        ),
        (
            "SELECT coalesce(sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN status = 'conflict' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN agency_status = 'needs_info' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN review_state = 'flagged' THEN 1 ELSE 0 END), 0),"
            " coalesce(sum(CASE WHEN review_state = 'returned' THEN 1 ELSE 0 END), 0)"
            f" FROM submissions WHERE {in_day} AND ({_ATTENTION})",
            d2,
        ),
        (
            f"{_LINE} WHERE s.local_date BETWEEN ? AND ? AND ({_ATTENTION})"
            " ORDER BY s.finalized_at DESC, s.id LIMIT 200",
            d2,
        ),
    ]


def _floor_call(raw, statements):
    def call():
        raw.execute("BEGIN")
        try:
            return [raw.execute(sql, params).fetchall() for sql, params in statements]
        finally:
            raw.execute("COMMIT")

    return call


def run(quick: bool = False) -> list[Result]:
    from time import perf_counter

    from mppdesk.desk.auth import Actor
    from mppdesk.desk.reports import Period, load_dashboard, load_sync

    size = 200_000 if quick else 2_000_000
    runtime = _prepare(size)
    tz = ZoneInfo(runtime.settings.desk.timezone)
    runtime.clock = lambda: datetime.combine(DAY, time(17, 0), tz).astimezone(UTC)
    supervisor = Actor("sari", "supervisor")
    period = Period.day(DAY)
    raw = runtime.store.raw_connection()
    # The dashboard gives its connection a larger page cache (store.reports.
    # reserve_page_cache); the floor's connection gets the same.
    from mppdesk.store.reports import REPORT_CACHE_KIB

    raw.execute(f"PRAGMA cache_size = -{REPORT_CACHE_KIB}")
    try:
        dashboard = load_dashboard(runtime, supervisor, period)
        offset = int(datetime.combine(DAY, time(12), tz).utcoffset().total_seconds() // 60)
        statements = _floor_statements(
            DAY.isoformat(), DAY.isoformat(), dashboard.due_soon_until.isoformat(), offset
        )
        floor_call = _floor_call(raw, statements)
        floor_rows = floor_call()
        timing = dashboard.intake.timing
        # The floor and the dashboard must agree, or the comparison means nothing.
        assert floor_rows[0][0][0] == dashboard.intake.visits, "visits differ"
        assert abs(floor_rows[0][0][3] - timing.wait_p90_s) < 1e-6, "p90 differs"
        assert sum(n for _s, n in floor_rows[1]) == dashboard.intake.submissions
        assert floor_rows[4][0][0] == dashboard.intake.held_total
        assert len(floor_rows[11]) == len(dashboard.intake.survey.by_service) + len(
            dashboard.intake.survey.by_agency
        )
        assert sum(r[1] for r in floor_rows[13]) == dashboard.sync.overdue_total
        assert len(floor_rows[17]) == len(dashboard.sync.attention)
        mine, base = [], []
        for _ in range(REPEAT):
            start = perf_counter()
            load_dashboard(runtime, supervisor, period)
            mine.append(perf_counter() - start)
            start = perf_counter()
            floor_call()
            base.append(perf_counter() - start)
        # The outbox half alone: what a sync note reloads.
        sync_only = []
        for _ in range(REPEAT):
            start = perf_counter()
            load_sync(runtime, supervisor, period)
            sync_only.append(perf_counter() - start)
    finally:
        raw.close()
        runtime.close()
    result = cost_result(
        "daily_aggregates",
        mine,
        base,
        goal=1.5,
        extra={
            "submissions": size,
            "day_visits": dashboard.intake.visits,
            "day_submissions": dashboard.intake.submissions,
            "statements": len(statements),
            "goal_p95_ms": 300,
            "sync_half_p50_ms": round(sorted(sync_only)[len(sync_only) // 2] * 1000, 2),
        },
        size=f"{size} submissions",
    )
    result.extra["p95_met"] = result.p95 <= 300
    return [result]
