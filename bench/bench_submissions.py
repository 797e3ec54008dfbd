"""submissions_filter_1m: the first page of the submissions view over 1,000,000 submissions.

The store (encrypted, as the desk uses it) holds generated submissions spread over a year, five
desks, their applicants (one in 50 with a rare family name), visits and one outbox entry each
(some ``flagged``); 100,000 with --quick. It is made once with raw executemany and cached under
the temp dir, keyed by size, schema version and GENERATOR (a full run: about 4 minutes with
the build, 1.5 minutes cached). Each sample is one first page of the view as the desk layer
serves it (``submissions_page``: permission scope, the search plan, keyset SQL through
SQLAlchemy, the page's outbox rows), for every filter the view offers: desk scope, period,
each status, each agency (and one with no rows), status with agency, NIK and tracking number
(whole and short prefixes), one or two name words (rare, common, one letter, never together)
and names with the other filters. The first seven cases also run as hand-written SQL on a raw
connection to the same file (the floor), timed alternately.

Verdict: the worst case's p95 against 100 ms (``ratio`` = worst p95 / 100 ms, goal <= 1);
``extra.floor_ratio`` is the pooled p50 over the floor's. Orders other than time are reported
in ``extra.sorts_outside_goal``.
"""

from __future__ import annotations

import os
import random
import tempfile
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bench.harness import Result, cost_result, percentile

CACHE = Path(tempfile.gettempdir()) / "mppdesk-bench"
DESKS = ("K01", "K02", "K03", "K04", "K05")
SERVICES = (
    ("dukcapil/ktp-el", "dukcapil"),
    ("dukcapil/kk-perubahan", "dukcapil"),
    ("bpjs-kesehatan/peserta-mandiri", "bpjs-kesehatan"),
    ("polri/skck", "polri"),
    ("imigrasi/paspor", "imigrasi"),
    ("samsat/pajak-tahunan", "samsat"),
    ("djp/npwp-orang-pribadi", "djp"),
    ("pdam/sambungan-baru", "pdam"),
)
FIRST = [
    "SITI",
    "NUR",
    "DEWI",
    "BUDI",
    "AGUS",
    "RINA",
    "ANDI",
    "YULI",
    "HENDRA",
    "PUTRI",
    "EKO",
    "SRI",
    "RUDI",
    "LINA",
    "JOKO",
    "MAYA",
    "FAJAR",
    "INDAH",
    "RIZKY",
    "WATI",
]
LAST = [
    "SANTOSO",
    "WIJAYA",
    "LESTARI",
    "HIDAYAT",
    "PRATAMA",
    "SARI",
    "KURNIAWAN",
    "SIREGAR",
    "NASUTION",
    "HARAHAP",
    "SAPUTRA",
    "UTAMI",
    "SETIAWAN",
    "WULANDARI",
    "GUNAWAN",
    "PANJAITAN",
]
LAST_DAY = date(2026, 11, 27)
DAYS = 365
GENERATOR = "g2"  # bump when _generate changes: the cached store is rebuilt
RARE_EVERY = 50  # one applicant in 50 has a rare family name (one of a few thousand)
BATCH = 50_000
REPEAT = 15  # samples per filter
GOAL_P95_MS = 100
SORT_REPEAT = 3


def _schema_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from mppdesk.store.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return str(ScriptDirectory.from_config(config).get_current_head())


def _env(size: int) -> Path:
    # Keyed by schema version too: a store built before a new index would not have it.
    root = CACHE / f"submissions-{size}-{_schema_head()}-{GENERATOR}"
    root.mkdir(parents=True, exist_ok=True)
    os.environ["MPPDESK_KEY_FILE"] = str(root / "desk.key")
    return root / "data"


def _open(data_dir: Path):
    from mppdesk.desk.runtime import open_runtime

    return open_runtime(data_dir)


def _generate(runtime, size: int) -> None:
    """size submissions with applicants, visits and outbox entries, by raw executemany."""
    from mppdesk.core.tracking import make_tracking_number
    from mppdesk.store.repo import name_key

    rng = random.Random(5)
    raw = runtime.store.raw_connection()
    applicants = max(1, size // 3)
    try:
        raw.execute("PRAGMA synchronous=OFF")  # generation only
        rows, tokens = [], []
        for i in range(applicants):
            family = f"{rng.choice(LAST)}{i % 3000}" if i % RARE_EVERY == 0 else rng.choice(LAST)
            name = f"{rng.choice(FIRST)} {rng.choice(FIRST)} {family}"
            applicant_id = str(uuid.UUID(int=i + 1))
            rows.append(
                (
                    applicant_id,
                    "nik",
                    _nik(i),
                    name,
                    name_key(name),
                    "{}",
                    "2026-01-01 00:00:00",
                    "2026-01-01 00:00:00",
                )
            )
            tokens.extend((token, applicant_id) for token in set(name_key(name).split()))
            if len(rows) >= BATCH:
                _insert_applicants(raw, rows, tokens)
                rows, tokens = [], []
        _insert_applicants(raw, rows, tokens)

        per_day = max(1, size // DAYS)
        sequences: dict[tuple[str, str], int] = {}
        visits, submissions, entries = [], [], []
        visit_id = None
        for i in range(size):
            day = LAST_DAY - timedelta(days=min(DAYS - 1, i // per_day))
            desk = DESKS[i % len(DESKS)]
            moment = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(
                seconds=(i % per_day) * (30_000 // per_day + 1)
            )
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
            if i % 2 == 0:
                visit_id = str(uuid.UUID(int=(1 << 64) + i))
                visits.append(
                    (
                        visit_id,
                        f"A-{i % 500:03d}",
                        desk,
                        "ani",
                        str(uuid.UUID(int=1 + rng.randrange(applicants))),
                        "finalized",
                        stamp,
                        stamp,
                        day.isoformat(),
                        stamp,
                    )
                )
            sequence = sequences.get((desk, day.isoformat()), 0) + 1
            sequences[(desk, day.isoformat())] = sequence
            service, agency = SERVICES[i % len(SERVICES)]
            submission_id = str(uuid.UUID(int=(2 << 64) + i))
            roll = rng.random()
            status, state = (
                ("accepted", "done")
                if roll < 0.93
                else ("queued", "pending")
                if roll < 0.97
                else ("rejected", "failed")
                if roll < 0.985
                else ("sent", "flagged")  # answers outside the protocol (migration 0004)
                if roll < 0.99
                else ("held", "held")
            )
            applicant_id = str(uuid.UUID(int=1 + rng.randrange(applicants)))
            submissions.append(
                (
                    submission_id,
                    visit_id,
                    i % 2,
                    service,
                    agency,
                    make_tracking_number(desk, day, sequence),
                    "sha256:" + "0" * 64,
                    status,
                    "unreviewed",
                    applicant_id,
                    "{}",
                    0,
                    (day + timedelta(days=14)).isoformat(),
                    stamp,
                    day.isoformat(),
                    "ani",
                )
            )
            entries.append(
                (
                    str(uuid.UUID(int=(3 << 64) + i)),
                    submission_id,
                    agency,
                    state,
                    b"{}",
                    "0" * 64,
                    1 if state != "pending" else 0,
                    stamp,
                    None if state == "done" else stamp,
                    "{}",
                )
            )
            if len(submissions) >= BATCH:
                _insert_submissions(raw, visits, submissions, entries)
                visits, submissions, entries = [], [], []
        _insert_submissions(raw, visits, submissions, entries)
    finally:
        raw.close()


def _nik(i: int) -> str:
    day = 1 + i % 28
    return (
        f"3174{1 + i % 9:02d}{day:02d}{1 + i % 12:02d}{80 + i % 20:02d}{i % 10000:04d}"[:12]
        + f"{i % 10000:04d}"
    )


def _insert_applicants(raw, rows, tokens) -> None:
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT OR IGNORE INTO applicants (id, id_kind, id_number, name, name_key, profile,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    raw.executemany(
        "INSERT OR IGNORE INTO applicant_name_tokens (token, applicant_id) VALUES (?,?)", tokens
    )
    raw.execute("COMMIT")


def _insert_submissions(raw, visits, submissions, entries) -> None:
    raw.execute("BEGIN")
    raw.execute("PRAGMA defer_foreign_keys=ON")
    raw.executemany(
        "INSERT INTO visits (id, ticket, desk, officer, applicant_id, status, started_at,"
        " finalized_at, local_date, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        visits,
    )
    raw.executemany(
        "INSERT INTO submissions (id, visit_id, position, service, agency, tracking_number,"
        " form_version, status, review_state, applicant_id, answers, fee, sla_due, finalized_at,"
        " local_date, officer) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        submissions,
    )
    raw.executemany(
        "INSERT INTO outbox (id, submission_id, agency, state, payload, payload_sha256, attempts,"
        " created_at, next_attempt_at, attachments_acked) VALUES (?,?,?,?,?,?,?,?,?,?)",
        entries,
    )
    raw.execute("COMMIT")


def _prepare(size: int):
    data_dir = _env(size)
    marker = data_dir.parent / "ready"
    runtime = _open(data_dir)
    if not marker.exists():
        with runtime.store.read() as session:
            from sqlalchemy import text

            existing = session.execute(text("SELECT count(*) FROM submissions")).scalar()
        if existing:
            runtime.close()
            raise SystemExit(f"{data_dir} holds a half-made store: delete {data_dir.parent}")
        _generate(runtime, size)
        marker.write_text(str(size))
    return runtime


# --- the filters, as the desk sees them and as hand-written SQL ------------------------------

_FLOOR_COLUMNS = (
    "SELECT s.id, s.finalized_at, s.tracking_number, a.name, a.id_number, s.service, s.agency,"
    " s.status, s.review_state, s.agency_ref, s.agency_status, s.collected_at, {sort}"
    " FROM submissions s JOIN applicants a ON a.id = s.applicant_id"
)
_BY_IDENTITY = (
    " WHERE s.applicant_id IN (SELECT id FROM applicants WHERE id_kind IN"
    " ('nik','paspor','kitas') AND id_number >= ? AND id_number < ?)"
)
_FLOOR_OUTBOX = (
    "SELECT submission_id, agency, state, attempts, last_attempt_at, next_attempt_at,"
    " last_error_class, last_error_message, agency_ref, agency_status, agency_message,"
    " delivered_at FROM outbox WHERE submission_id IN ({marks}) ORDER BY submission_id, agency"
)


def _cases(runtime):
    """(name, actor, SubmissionFilter, floor SQL, floor parameters) for each filter."""
    from mppdesk.desk.auth import Actor
    from mppdesk.desk.submission_views import SubmissionFilter

    officer = Actor("ani", "officer")
    supervisor = Actor("sari", "supervisor")
    last = LAST_DAY
    month = last - timedelta(days=29)
    with runtime.store.read() as session:
        from sqlalchemy import text

        sample = session.execute(
            text(
                "SELECT s.tracking_number, a.id_number, a.name FROM submissions s JOIN "
                "applicants a ON a.id = s.applicant_id WHERE s.local_date = :d LIMIT 1"
            ),
            {"d": (last - timedelta(days=100)).isoformat()},
        ).one()
    tracking, nik, name = sample
    words = name.split()
    name_query = f"{words[2][:4].lower()} {words[0].lower()}"
    base = _FLOOR_COLUMNS.format(sort="s.finalized_at")
    order = " ORDER BY s.finalized_at DESC, s.id DESC LIMIT 100"
    token = "SELECT applicant_id FROM applicant_name_tokens WHERE token >= ? AND token < ?"
    top = "\U0010ffff"
    in_time = " s.finalized_at >= ? AND s.finalized_at < ?"
    return [
        (
            "today_desk",
            officer,
            SubmissionFilter(date_from=last, date_to=last),
            base + " JOIN visits v ON v.id = s.visit_id WHERE v.desk = ? AND" + in_time + order,
            (runtime.settings.desk.code, *_utc_range(runtime, last, last)),
        ),
        (
            "month",
            supervisor,
            SubmissionFilter(date_from=month, date_to=last),
            base + " WHERE" + in_time + order,
            _utc_range(runtime, month, last),
        ),
        ("all", supervisor, SubmissionFilter(), base + order, ()),
        (
            "nik",
            supervisor,
            SubmissionFilter(text=nik),
            base + _BY_IDENTITY + order,
            (nik, nik + top),
        ),
        (
            "name",
            supervisor,
            SubmissionFilter(text=name_query),
            base + f" WHERE s.applicant_id IN ({token} INTERSECT {token})" + order,
            (words[2][:4], words[2][:4] + top, words[0], words[0] + top),
        ),
        (
            "tracking",
            supervisor,
            SubmissionFilter(text=tracking),
            base + " WHERE s.tracking_number >= ? AND s.tracking_number < ?" + order,
            (tracking, tracking + top),
        ),
        (
            "status_rejected_month",
            supervisor,
            SubmissionFilter(date_from=month, date_to=last, status="rejected"),
            base + " WHERE" + in_time + " AND s.status = ?" + order,
            (*_utc_range(runtime, month, last), "rejected"),
        ),
    ] + [(name, actor, flt, None, ()) for name, actor, flt in _grid(officer, supervisor, nik)]


def _grid(officer, supervisor, nik):
    """Every other filter the view offers (status, agency, period, scope, search, order),
    including the hard ones: a value no row has (the whole index range is read when the
    plan is wrong), one-letter and common name words, and two common words that never meet.
    """
    from mppdesk.core.states import SubmissionStatus
    from mppdesk.desk.submission_views import SubmissionFilter as F

    last = LAST_DAY
    month, year = last - timedelta(days=29), last - timedelta(days=364)
    shown = [s.value for s in SubmissionStatus if s.value not in ("draft", "finalized")]
    agencies = sorted({a for _, a in SERVICES}) + ["pln"]  # pln: no submission at all
    grid = [
        ("officer_all", officer, F()),
        ("year", supervisor, F(date_from=year, date_to=last)),
        ("officer_conflict", officer, F(status="conflict")),
    ]
    grid += [(f"status_{s}", supervisor, F(status=s)) for s in shown]
    grid += [
        (f"status_{s}_month", supervisor, F(date_from=month, date_to=last, status=s))
        for s in ("held", "conflict", "sent")
    ]
    grid += [(f"agency_{a}", supervisor, F(agency=a)) for a in agencies]
    grid += [
        ("agency_polri_held", supervisor, F(agency="polri", status="held")),
        ("agency_pln_accepted", supervisor, F(agency="pln", status="accepted")),
        (
            "agency_dukcapil_conflict_month",
            supervisor,
            F(date_from=month, date_to=last, agency="dukcapil", status="conflict"),
        ),
        ("nik_prefix6", supervisor, F(text=nik[:6])),
        ("tracking_desk_prefix", supervisor, F(text="K01-")),
        ("tracking_none", supervisor, F(text="K09-")),
    ]
    names = {
        "name_rare": "santoso1234",
        "name_rare_common": "siti santoso17",
        "name_rare_two_common": "s nur wijaya5",
        "name_one_common": "siti",
        "name_one_letter": "s",
        "name_two_common": "sant siti",
        "name_two_first": "siti nur",
        "name_two_letters": "s a",
        "name_never_together": "santoso wijaya",
        "name_unknown_word": "siti zzz",
        "name_unknown": "zzzq",
    }
    grid += [(case, supervisor, F(text=text)) for case, text in names.items()]
    grid += [
        ("name_common_month", supervisor, F(date_from=month, date_to=last, text="sant siti")),
        ("name_common_held", supervisor, F(status="held", text="sant siti")),
        ("name_one_agency_officer", officer, F(agency="polri", text="siti")),
    ]
    return grid


def _sorts(supervisor):
    """Orders other than time: measured and reported beside the verdict, not in it (issue 15
    asks for filters and searches; a keyset order by service, review, status or agency
    without a filter has no (column, id) index yet and sorts the whole table)."""
    from mppdesk.desk.submission_views import SubmissionFilter as F

    last = LAST_DAY
    month = last - timedelta(days=29)
    sorts = [
        (f"sort_{sort}", supervisor, F(sort=sort, descending=False))
        for sort in ("tracking", "name", "service", "agency", "status", "review")
    ]
    sorts += [
        ("sort_name_conflict", supervisor, F(sort="name", status="conflict")),
        ("sort_name_search", supervisor, F(sort="name", text="sant siti")),
        ("sort_service_month", supervisor, F(sort="service", date_from=month, date_to=last)),
    ]
    return sorts


def _utc_range(runtime, first: date, last: date) -> tuple[str, str]:
    """The local days as stored UTC text bounds, as a hand-written query would pass them."""
    tz = runtime.tz
    low = datetime.combine(first, time(0), tz).astimezone(UTC)
    high = datetime.combine(last + timedelta(days=1), time(0), tz).astimezone(UTC)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    return low.strftime(fmt), high.strftime(fmt)


def _floor_call(raw, sql, params):
    def call():
        rows = raw.execute(sql, params).fetchall()
        ids = [r[0] for r in rows]
        if ids:
            raw.execute(_FLOOR_OUTBOX.format(marks=",".join("?" * len(ids))), ids).fetchall()
        return rows

    return call


def run(quick: bool = False) -> list[Result]:
    from time import perf_counter

    from mppdesk.desk.submission_views import submissions_page

    size = 100_000 if quick else 1_000_000
    runtime = _prepare(size)
    raw = runtime.store.raw_connection()
    try:
        cases = _cases(runtime)
        samples: list[float] = []
        floor: list[float] = []
        per_case: dict[str, dict[str, float]] = {}
        for name, actor, flt, sql, params in cases:
            desk_call = lambda a=actor, f=flt: submissions_page(runtime, a, f)  # noqa: E731
            floor_call = _floor_call(raw, sql, params) if sql is not None else None
            got = desk_call()
            if floor_call is not None and [r.id for r in got] != [r[0] for r in floor_call()]:
                raise AssertionError(f"{name}: the view and the floor disagree")
            mine, base = [], []
            for _ in range(REPEAT):  # alternate, so a busy machine slows both alike
                start = perf_counter()
                desk_call()
                mine.append(perf_counter() - start)
                if floor_call is not None:
                    start = perf_counter()
                    floor_call()
                    base.append(perf_counter() - start)
            samples += mine
            floor += base
            per_case[name] = {"rows": len(got), "p95_ms": round(percentile(mine, 95) * 1000, 2)}
            if base:
                per_case[name]["floor_p95_ms"] = round(percentile(base, 95) * 1000, 2)
        sorts: dict[str, dict[str, float]] = {}
        for name, actor, flt in _sorts(cases[1][1]):
            taken = []
            for _ in range(SORT_REPEAT):
                start = perf_counter()
                got = submissions_page(runtime, actor, flt)
                taken.append(perf_counter() - start)
            sorts[name] = {"rows": len(got), "max_ms": round(max(taken) * 1000, 2)}
    finally:
        raw.close()
        runtime.close()
    worst = max(per_case, key=lambda case: per_case[case]["p95_ms"])
    result = cost_result(
        "submissions_filter_1m",
        samples,
        floor,
        goal=1.0,
        extra={"goal_p95_ms": GOAL_P95_MS, "cases": per_case},
        size=f"{size} submissions",
    )
    # The verdict is the worst combination's p95 against the 100 ms budget; the ratio of the
    # pooled p50 to the hand-written SQL floor (the first seven cases) stays beside it.
    result.extra["floor_ratio"] = round(result.ratio, 2)
    result.extra["worst_case"] = worst
    result.extra["worst_p95_ms"] = per_case[worst]["p95_ms"]
    result.ratio = per_case[worst]["p95_ms"] / GOAL_P95_MS
    result.extra["p95_met"] = result.ratio <= 1.0
    result.extra["sorts_outside_goal"] = sorts
    return [result]
