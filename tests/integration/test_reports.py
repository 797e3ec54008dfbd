"""The dashboard's numbers, each export's numbers (XLSX read back with openpyxl, CSV with
csv, PDF text with pypdf) and the same numbers recomputed here from the raw rows agree.

The expected figures are computed in plain Python from every row of the store's tables,
read with sqlite3 below the ORM: nothing of the code under test is used to compute them.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mppdesk.core.calendar import add_working_days
from mppdesk.desk.reports import Period, export_report, load_dashboard, report_view
from mppdesk.store.models import SURVEY_COLUMNS
from tests.conftest import PASSWORD, make_user, run_cli
from tests.integration.pdf_inspection import flat_text, joined_text
from tests.report_day import DAY, report_clock, seed_day

MINUTE_TOLERANCE = 0.051  # exports round minutes to one decimal


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
        surveys = raw.execute(
            f"SELECT visit_id, local_date, {', '.join(SURVEY_COLUMNS)} FROM survey_responses"
        ).fetchall()
    finally:
        raw.close()
    lo, hi = first.isoformat(), last.isoformat()
    in_subs = [s for s in subs if lo <= s[10] <= hi]
    in_visits = [v for v in visits if lo <= v[6] <= hi and v[2] == "finalized"]
    waits = [
        (_utc(v[4]) - _utc(v[3])).total_seconds() for v in in_visits if v[3] is not None
    ]
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
        {name: sum(r[2 + k] for r in in_surveys) / len(in_surveys)
         for k, name in enumerate(SURVEY_COLUMNS)}
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
            o: (len(officer_service.get(o, [])), officer_subs.get(o, 0),
                sum(officer_service[o]) / len(officer_service[o]) if officer_service.get(o) else None)
            for o in set(officer_service) | set(officer_subs)
        },
        "by_hour": {h: tuple(v) for h, v in hours.items()},
        "wait": (len(waits), sum(waits) / len(waits) if waits else None, _p90(waits)),
        "service": (len(services), sum(services) / len(services) if services else None,
                    _p90(services)),
        "held": {s[0] for s in subs if s[5] == "held"},
        "overdue": overdue,
        "due_soon": due_soon,
        "sla_agency": {a: tuple(v) for a, v in sla_agency.items()},
        "backlog": {a: dict(c) for a, c in backlog.items()},
        "oldest": oldest,
        "attention": {
            s[0] for s in in_subs
            if s[5] in ("rejected", "conflict") or s[7] == "needs_info" or s[6] == "flagged"
        },
        "responses": len(in_surveys),
        "element_means": element_means,
        "ikm": _ikm(sum(element_means.values()) / 9) if element_means else None,
        "survey_service": {k: (len(v), _ikm(sum(v) / len(v))) for k, v in by_service.items()},
        "survey_agency": {k: (len(v), _ikm(sum(v) / len(v))) for k, v in by_agency.items()},
    }


@pytest.fixture
def day_store(runtime):
    people = [
        make_user(runtime, "ani", "officer"),
        make_user(runtime, "budi", "officer"),
        make_user(runtime, "sari", "supervisor"),
    ]
    seed_day(runtime, people)
    runtime.clock = report_clock(runtime)
    return runtime, people[2]


def _close(a: float | None, b: float | None, tolerance: float = 1e-3) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance


def test_dashboard_agrees_with_the_raw_rows(day_store):
    runtime, supervisor = day_store
    dash = load_dashboard(runtime, supervisor)  # default: today
    assert dash.period == Period.day(DAY) and dash.today == DAY
    want = recompute(runtime, DAY, DAY, DAY)
    intake, sync = dash.intake, dash.sync

    assert want["visits"] == 12 and want["submissions"] == 12  # the seed is what we meant
    assert intake.visits == want["visits"]
    assert intake.submissions == want["submissions"]
    assert intake.by_status == want["by_status"]
    assert dict(intake.by_agency) == want["by_agency"]
    assert {(s, a): n for s, a, n in intake.by_service} == want["by_service"]
    got_officers = {o: (v, n, avg) for o, v, n, avg in intake.by_officer}
    assert set(got_officers) == set(want["by_officer"]) == {"ani", "budi", "sari"}
    for officer, (v, n, avg) in want["by_officer"].items():
        assert got_officers[officer][:2] == (v, n)
        assert _close(got_officers[officer][2], avg)
    assert {h: (v, s) for h, v, s in intake.by_hour} == want["by_hour"]
    timing = intake.timing
    assert (timing.waits, timing.services) == (want["wait"][0], want["service"][0])
    assert _close(timing.wait_avg_s, want["wait"][1])
    assert _close(timing.wait_p90_s, want["wait"][2])
    assert _close(timing.service_avg_s, want["service"][1])
    assert _close(timing.service_p90_s, want["service"][2])

    assert intake.held_total == len(want["held"]) and {h.id for h in intake.held} == want["held"]
    assert {line.id for line in sync.overdue} == want["overdue"] and len(want["overdue"]) == 2
    assert {line.id for line in sync.due_soon} == want["due_soon"]
    assert sync.sla_by_agency == want["sla_agency"]
    assert {line.id for line in sync.attention} == want["attention"]
    assert len(want["attention"]) == 3  # rejected, conflict (flagged too), needs info
    got_backlog = {
        b.agency: {k: v for k, v in (("held", b.held), ("pending", b.pending),
                                    ("paused", b.paused), ("failed", b.failed)) if v}
        for b in sync.backlog
    }
    assert got_backlog == want["backlog"]
    assert {b.agency: b.oldest_undelivered for b in sync.backlog if b.oldest_undelivered} == want[
        "oldest"
    ]

    survey = intake.survey
    assert survey.responses == want["responses"] == 4
    for name, mean in want["element_means"].items():
        assert _close(survey.element_means[name], mean)
    assert dash.ikm is not None and (dash.ikm.value, dash.ikm.category) == want["ikm"]
    from mppdesk.desk.survey import ikm

    assert {
        (g.key, g.agency): (g.responses, (ikm(g.mean_score).value, ikm(g.mean_score).category))
        for g in survey.by_service
    } == want["survey_service"]
    assert {
        g.key: (g.responses, (ikm(g.mean_score).value, ikm(g.mean_score).category))
        for g in survey.by_agency
    } == want["survey_agency"]


def test_a_range_counts_both_days(day_store):
    runtime, supervisor = day_store
    first = DAY - timedelta(days=3)
    dash = load_dashboard(runtime, supervisor, Period(first, DAY))
    want = recompute(runtime, first, DAY, DAY)
    assert (dash.intake.visits, dash.intake.submissions) == (16, 16)
    assert dict(dash.intake.by_agency) == want["by_agency"]
    assert dash.intake.timing.waits == want["wait"][0] == 12  # the earlier visits had no ticket
    assert _close(dash.intake.timing.service_p90_s, want["service"][2])


def _kpi_expectations(want: dict) -> dict[str, float | int | None]:
    def minutes(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / 60

    return {
        "visits": want["visits"],
        "submissions": want["submissions"],
        "wait_avg": minutes(want["wait"][1]),
        "wait_p90": minutes(want["wait"][2]),
        "service_avg": minutes(want["service"][1]),
        "service_p90": minutes(want["service"][2]),
        "held": len(want["held"]),
        "overdue": len(want["overdue"]),
        "due_soon": len(want["due_soon"]),
        "undelivered": sum(
            n for counts in want["backlog"].values() for k, n in counts.items() if k != "failed"
        ),
        "ikm": want["ikm"][0],
        "responses": want["responses"],
    }


def _table_expectations(want: dict) -> dict[str, dict[str, dict[str, float | int | str]]]:
    """table key → row key → column key → value, for the tables whose numbers matter."""
    return {
        "by_agency": {a: {"submissions": n} for a, n in want["by_agency"].items()},
        "by_service": {s: {"agency": a, "submissions": n} for (s, a), n in want["by_service"].items()},
        "by_officer": {
            o: {"visits": v, "submissions": n, "service_avg": avg / 60}
            for o, (v, n, avg) in want["by_officer"].items()
        },
        "by_hour": {f"{h:02d}:00": {"visits": v, "submissions": s}
                    for h, (v, s) in want["by_hour"].items()},
        "status": {k: {"submissions": n} for k, n in want["by_status"].items()},
        "times": {
            "wait": {"count": want["wait"][0], "avg": want["wait"][1] / 60,
                     "p90": want["wait"][2] / 60},
            "service": {"count": want["service"][0], "avg": want["service"][1] / 60,
                        "p90": want["service"][2] / 60},
        },
        "sla_agency": {a: {"overdue": o, "due_soon": s} for a, (o, s) in want["sla_agency"].items()},
        "backlog": {
            a: {k: c.get(k, 0) for k in ("held", "pending", "paused", "failed")}
            for a, c in want["backlog"].items()
        },
        "survey_elements": {k: {"score": v} for k, v in want["element_means"].items()},
        "survey_agency": {
            a: {"responses": n, "ikm": i[0], "category": i[1]}
            for a, (n, i) in want["survey_agency"].items()
        },
    }


def _agrees(got, expected, where: str) -> None:
    if isinstance(expected, str):
        assert str(got) == expected, where
    elif isinstance(expected, int) and not isinstance(expected, bool):
        assert float(got) == expected, where
    else:
        assert got not in (None, "") and abs(float(got) - expected) <= MINUTE_TOLERANCE, (
            where, got, expected,
        )


def test_the_three_exports_agree_with_the_raw_rows(day_store, tmp_path):
    import openpyxl

    runtime, supervisor = day_store
    want = recompute(runtime, DAY, DAY, DAY)
    kpis = _kpi_expectations(want)
    tables = _table_expectations(want)
    period = Period.day(DAY)
    view = report_view(runtime, load_dashboard(runtime, supervisor, period), "id")
    columns = {t.key: [c.key for c in t.columns] for t in view.tables}
    titles = {t.key: t.title for t in view.tables}

    # CSV: long form, one cell per line.
    csv_path = tmp_path / "day.csv"
    export_report(runtime, supervisor, period, "csv", csv_path)
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        cells = {(r["section"], r["key"], r["measure"]): r["value"] for r in csv.DictReader(handle)}
    for key, value in kpis.items():
        _agrees(cells[("summary", "", key)], value, f"csv kpi {key}")
    for table, rows in tables.items():
        for row_key, values in rows.items():
            for column, value in values.items():
                _agrees(cells[(table, row_key, column)], value, f"csv {table}/{row_key}/{column}")
        assert {k for (t, k, _m) in cells if t == table} == set(rows), f"csv {table} rows"

    # XLSX: a sheet per table, the key figures on the first sheet.
    xlsx_path = tmp_path / "day.xlsx"
    export_report(runtime, supervisor, period, "xlsx", xlsx_path)
    book = openpyxl.load_workbook(xlsx_path, data_only=True)
    summary = book.worksheets[0]
    labels = {k.label: k.key for k in view.kpis}
    by_label = {
        labels[row[0]]: row[1]
        for row in summary.iter_rows(values_only=True)
        if row and row[0] in labels
    }
    for key, value in kpis.items():
        _agrees(by_label[key], value, f"xlsx kpi {key}")
    for table, rows in tables.items():
        sheet = book[titles[table][:31]]
        header, *body = list(sheet.iter_rows(values_only=True))
        keys = columns[table]
        assert list(header[: len(keys)]) == [c.label for c in
                                            next(t for t in view.tables if t.key == table).columns]
        found = {str(r[0]): dict(zip(keys, r, strict=False)) for r in body if r[0] is not None}
        assert set(found) == set(rows), f"xlsx {table} rows"
        for row_key, values in rows.items():
            for column, value in values.items():
                _agrees(found[row_key][column], value, f"xlsx {table}/{row_key}/{column}")

    # PDF: the printed key figures, each agency's row and the audit chain head.
    from mppdesk.store import repo

    with runtime.store.read() as session:
        head_id, head_hash = repo.audit_head(session)  # the CSV and XLSX exports moved it
    pdf_path = tmp_path / "day.pdf"
    assert export_report(runtime, supervisor, period, "pdf", pdf_path).audit_head_id == head_id
    pdf = pdf_path.read_bytes()
    text = flat_text(pdf)
    from mppdesk.printing.daily_report import format_cell

    for kpi in view.kpis:
        expected = kpis[kpi.key]
        printed = format_cell(expected if kpi.kind == "int" else _round(expected, kpi.kind),
                              kpi.kind, "id")
        assert printed in text, (kpi.key, printed)
    for agency, n in want["by_agency"].items():
        assert f"{agency} " in text and f" {n}" in text
    assert head_hash in joined_text(pdf).replace(" ", "") and f"#{head_id}" in text


def _round(value: float | None, kind: str) -> float | None:
    if value is None:
        return None
    return round(value, 2) if kind == "score" else round(value, 1)


def test_exports_are_audited_and_print_the_chain_head(day_store, tmp_path):
    from mppdesk.store import repo

    runtime, supervisor = day_store
    with runtime.store.read() as session:
        head_before = repo.audit_head(session)
    result = export_report(runtime, supervisor, Period.day(DAY), "csv", tmp_path / "r.csv")
    assert result.audit_head_id == head_before[0]
    with runtime.store.read() as session:
        head_id, _hash = repo.audit_head(session)
        [event] = [e for e in repo.audit_events(session, head_id - 1)]
    assert event.action == "report.exported" and event.details["sha256"] == result.sha256
    assert event.details["audit_head_hash"] == head_before[1]


def test_cli_report_daily(data_dir, tmp_path):
    from mppdesk.desk.runtime import open_runtime

    runtime = open_runtime(data_dir)
    try:
        people = [make_user(runtime, "ani", "officer"), make_user(runtime, "sari", "supervisor")]
        seed_day(runtime, people)
    finally:
        runtime.close()
    for fmt in ("pdf", "xlsx", "csv"):
        out = tmp_path / f"report.{fmt}"
        done = run_cli(
            "report", "daily", "--date", DAY.isoformat(), "--format", fmt, "-o", str(out),
            "--user", "sari", "--password-stdin", stdin=PASSWORD + "\n", data_dir=data_dir,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0
    text = io.TextIOWrapper(io.BytesIO((tmp_path / "report.csv").read_bytes()), "utf-8-sig")
    rows = {(r["section"], r["measure"]): r["value"] for r in csv.DictReader(text)}
    assert rows[("summary", "visits")] == "12"

    refused = run_cli(
        "report", "daily", "--date", DAY.isoformat(), "--format", "csv", "-o",
        str(tmp_path / "officer.csv"), "--user", "ani", "--password-stdin",
        stdin=PASSWORD + "\n", data_dir=data_dir,
    )
    assert refused.returncode == 4 and "report" in refused.stderr
    assert not (tmp_path / "officer.csv").exists()

    bad_date = run_cli(
        "report", "daily", "--date", "27-11-2026", "--format", "csv", "-o", str(tmp_path / "x"),
        "--user", "sari", "--password-stdin", stdin=PASSWORD + "\n", data_dir=data_dir,
    )
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
