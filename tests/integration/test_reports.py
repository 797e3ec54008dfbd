"""The dashboard's numbers, each export's numbers (XLSX read back with openpyxl, CSV with
csv, PDF text with pypdf) and the same numbers recomputed here from the raw rows agree.

The expected figures are computed in plain Python from every row of the store's tables,
read with sqlite3 below the ORM: nothing of the code under test is used to compute them.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from mppdesk.desk.reports import Period, export_report, load_dashboard, report_view
from tests.conftest import PASSWORD, make_user, run_cli
from tests.integration.pdf_inspection import flat_text, joined_text
from tests.report_day import DAY, recompute, report_clock, seed_day

MINUTE_TOLERANCE = 0.051  # exports round minutes to one decimal


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
        b.agency: {
            k: v
            for k, v in (
                ("held", b.held),
                ("pending", b.pending),
                ("paused", b.paused),
                ("failed", b.failed),
            )
            if v
        }
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
        "no_show": want["no_show"],
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
        "by_service": {
            s: {"agency": a, "submissions": n} for (s, a), n in want["by_service"].items()
        },
        "by_officer": {
            o: {"visits": v, "submissions": n, "service_avg": avg / 60}
            for o, (v, n, avg) in want["by_officer"].items()
        },
        "by_hour": {
            f"{h:02d}:00": {"visits": v, "submissions": s} for h, (v, s) in want["by_hour"].items()
        },
        "status": {k: {"submissions": n} for k, n in want["by_status"].items()},
        "times": {
            "wait": {
                "count": want["wait"][0],
                "avg": want["wait"][1] / 60,
                "p90": want["wait"][2] / 60,
            },
            "service": {
                "count": want["service"][0],
                "avg": want["service"][1] / 60,
                "p90": want["service"][2] / 60,
            },
        },
        "sla_agency": {
            a: {"overdue": o, "due_soon": s} for a, (o, s) in want["sla_agency"].items()
        },
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
            where,
            got,
            expected,
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
        assert list(header[: len(keys)]) == [
            c.label for c in next(t for t in view.tables if t.key == table).columns
        ]
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
        printed = format_cell(
            expected if kpi.kind == "int" else _round(expected, kpi.kind), kpi.kind, "id"
        )
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
            "report",
            "daily",
            "--date",
            DAY.isoformat(),
            "--format",
            fmt,
            "-o",
            str(out),
            "--user",
            "sari",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            data_dir=data_dir,
        )
        assert done.returncode == 0, done.stderr
        assert out.stat().st_size > 0
    text = io.TextIOWrapper(io.BytesIO((tmp_path / "report.csv").read_bytes()), "utf-8-sig")
    rows = {(r["section"], r["measure"]): r["value"] for r in csv.DictReader(text)}
    assert rows[("summary", "visits")] == "12"

    refused = run_cli(
        "report",
        "daily",
        "--date",
        DAY.isoformat(),
        "--format",
        "csv",
        "-o",
        str(tmp_path / "officer.csv"),
        "--user",
        "ani",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert refused.returncode == 4 and "report" in refused.stderr
    assert not (tmp_path / "officer.csv").exists()

    bad_date = run_cli(
        "report",
        "daily",
        "--date",
        "27-11-2026",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "x"),
        "--user",
        "sari",
        "--password-stdin",
        stdin=PASSWORD + "\n",
        data_dir=data_dir,
    )
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def _figures(dash) -> dict:
    """A dashboard's figures without the ids, which differ from store to store."""
    intake, sync = dash.intake, dash.sync
    timing = intake.timing
    return {
        "counts": (intake.visits, intake.submissions, intake.by_status, intake.by_agency),
        "service": intake.by_service,
        "officer": [(o, v, s, round(a or 0, 3)) for o, v, s, a in intake.by_officer],
        "hour": intake.by_hour,
        "timing": (
            timing.visits,
            timing.waits,
            timing.services,
            *(
                round(x, 3)
                for x in (
                    timing.wait_avg_s,
                    timing.wait_p90_s,
                    timing.service_avg_s,
                    timing.service_p90_s,
                )
            ),
        ),
        "held": (intake.held_total, sorted(h.tracking_number for h in intake.held)),
        "survey": (
            intake.survey.responses,
            {k: round(v, 6) for k, v in intake.survey.element_means.items()},
            [
                (g.key, g.agency, g.responses, round(g.mean_score, 6))
                for g in intake.survey.by_service
            ],
            [(g.key, g.responses, round(g.mean_score, 6)) for g in intake.survey.by_agency],
        ),
        "sla": (
            sync.sla_by_agency,
            sorted(x.tracking_number for x in sync.overdue),
            sorted(x.tracking_number for x in sync.due_soon),
        ),
        "attention": (sync.attention_counts, sorted(x.tracking_number for x in sync.attention)),
        "backlog": [(b.agency, b.held, b.pending, b.paused, b.failed) for b in sync.backlog],
    }
