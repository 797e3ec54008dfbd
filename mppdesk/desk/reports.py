"""The supervisor's view of a day (or a range of days), and its exports.

``load_dashboard`` asks the store for the aggregates of a date range (local dates, today by
default) in one read transaction, so every figure on the screen comes from the same moment.
It has two halves; the sync half (``load_sync``) also refreshes alone, when only the outbox
or an agency's status moved, while any other change reads the whole dashboard again:

- intake: counts by agency, service, officer, status and hour; waiting time (queue
  ticket → start of service) and service time (start → finalize), mean and p90; submissions
  waiting for approval; the satisfaction survey. Changes when a visit is finalized, a survey
  is answered or a supervisor decides.
- ``load_sync``: the sync backlog per agency with the age of its oldest undelivered entry;
  SLA due soon (today and the next two working days) and overdue (due before today and still
  owed: not completed, rejected or collected); the range's rejected, conflicting,
  needs-info and flagged submissions. Changes when the outbox or an agency's status moves.

SLA and backlog describe the store now, whatever the range: a past day's report cannot know
what was overdue then (agency status history is not kept), so it says what is overdue when
it is made.

``report_view`` turns a dashboard into tables, key figures and charts in one language; the
screen, the XLSX, the CSV and the PDF are all made from that one view. Every operation here
requires the REPORT permission: an officer sees neither the dashboard nor the exports.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from mppdesk.core import messages
from mppdesk.core.calendar import add_working_days
from mppdesk.core.permissions import Operation
from mppdesk.desk.auth import Actor, require
from mppdesk.desk.errors import FieldError, InvalidInput
from mppdesk.desk.runtime import Runtime
from mppdesk.desk.survey import ELEMENTS, Ikm, ikm, ikm_of_elements
from mppdesk.printing.daily_report import (
    ChartSpec,
    DailyReportView,
    Kpi,
    ReportColumn,
    ReportTable,
)
from mppdesk.store import billing as bills
from mppdesk.store import repo
from mppdesk.store import reports as sql
from mppdesk.store.reports import (
    BacklogLine,
    DayRange,
    SubmissionLine,
    SurveyTotals,
    Timing,
)

log = logging.getLogger(__name__)

DUE_SOON_WORKING_DAYS = 2
BILL_EXPIRY_SOON_S = 24 * 3600.0  # unpaid bills whose code dies within this are listed
MAX_RANGE_DAYS = 366
FORMATS = ("pdf", "xlsx", "csv")


@dataclass(frozen=True)
class Period:
    """Local calendar days, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput(
                [
                    FieldError.of("period", "error.period_reversed")
                ]
            )
        if (self.last - self.first).days >= MAX_RANGE_DAYS:
            raise InvalidInput(
                [
                    FieldError.of("period", "error.period_too_long", days=MAX_RANGE_DAYS)
                ]
            )

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day)


def today(runtime: Runtime) -> Period:
    return Period.day(runtime.local_today())


@dataclass(frozen=True)
class IntakePart:
    visits: int
    submissions: int
    by_status: dict[str, int]
    by_agency: list[tuple[str, int]]  # agency, submissions
    by_service: list[tuple[str, str, int]]  # service, agency, submissions
    by_officer: list[tuple[str, int, int, float | None]]  # officer, visits, subs, service s
    by_hour: list[tuple[int, int, int]]  # local hour, visits started, submissions finalized
    timing: Timing
    held_total: int
    held: list[SubmissionLine]
    survey: SurveyTotals
    # This desk's queue tickets by state (mppdesk.desk.tickets): no-shows and tickets waiting.
    queue: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPart:
    backlog: list[BacklogLine]
    sla_by_agency: dict[str, tuple[int, int]]  # agency → (overdue, due soon)
    overdue: list[SubmissionLine]
    due_soon: list[SubmissionLine]
    attention_counts: dict[str, int]  # rejected, conflict, needs_info, flagged, returned
    attention: list[SubmissionLine]
    # Unpaid bills expiring within BILL_EXPIRY_SOON_S (mppdesk.store.billing), and per
    # agency the bills paid in the period: {"paid": n, "amount": Rupiah}.
    bills_expiring: list[dict[str, Any]] = field(default_factory=list)
    collected: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def overdue_total(self) -> int:
        return sum(late for late, _soon in self.sla_by_agency.values())

    @property
    def due_soon_total(self) -> int:
        return sum(soon for _late, soon in self.sla_by_agency.values())

    @property
    def undelivered_total(self) -> int:
        return sum(b.held + b.pending + b.paused for b in self.backlog)


@dataclass(frozen=True)
class Dashboard:
    period: Period
    today: date
    due_soon_until: date
    generated_at: datetime  # aware, local
    intake: IntakePart
    sync: SyncPart

    @property
    def ikm(self) -> Ikm | None:
        return ikm_of_elements(self.intake.survey.element_means)


def _day_range(runtime: Runtime, period: Period) -> DayRange:
    noon = datetime.combine(period.first, datetime.min.time().replace(hour=12), runtime.tz)
    offset = noon.utcoffset() or timedelta(0)
    return DayRange(
        period.first.isoformat(), period.last.isoformat(), int(offset.total_seconds() // 60)
    )


def _intake(session: Any, days: DayRange) -> IntakePart:
    from mppdesk.store.models import Submission

    timing = sql.timing(session, days)
    by_status = sql.submissions_by_status(session, days)
    visits_per_officer = sql.visits_by_officer(session, days)
    subs_per_officer = dict(sql.submissions_by(session, days, Submission.officer))
    officers = sorted(set(visits_per_officer) | set(subs_per_officer))
    by_officer = [
        (
            officer,
            visits_per_officer.get(officer, (0, None))[0],
            int(subs_per_officer.get(officer, 0)),
            visits_per_officer.get(officer, (0, None))[1],
        )
        for officer in officers
    ]
    by_officer.sort(key=lambda row: (-row[2], -row[1], row[0]))
    held_total, held = sql.held(session)
    return IntakePart(
        visits=timing.visits,
        submissions=sum(by_status.values()),
        by_status=by_status,
        by_agency=[(a, int(n)) for a, n in sql.submissions_by(session, days, Submission.agency)],
        by_service=[
            (s, a, int(n))
            for s, a, n in sql.submissions_by(session, days, Submission.service, Submission.agency)
        ],
        by_officer=by_officer,
        by_hour=[(h, v, s) for h, (v, s) in sql.by_hour(session, days).items()],
        timing=timing,
        held_total=held_total,
        held=held,
        survey=sql.survey(session, days),
        queue=sql.queue_counts(session, days),
    )


def _sync(session: Any, days: DayRange, day: date, soon_until: date) -> SyncPart:
    return SyncPart(
        backlog=sql.backlog(session),
        sla_by_agency=sql.sla_by_agency(session, day, soon_until),
        overdue=sql.sla_lines(session, None, day, include_high=False),
        due_soon=sql.sla_lines(session, day, soon_until, include_high=True),
        attention_counts=sql.attention_counts(session, days),
        attention=sql.attention(session, days),
    )


def _with_billing(runtime: Runtime, session: Any, sync: SyncPart, period: Period) -> SyncPart:
    """The payment side: unpaid bills near expiry now, and what was paid in the period."""
    start = datetime.combine(period.first, time.min, runtime.tz)
    end = datetime.combine(period.last + timedelta(days=1), time.min, runtime.tz)
    return replace(
        sync,
        bills_expiring=bills.unpaid_near_expiry(session, runtime.now(), BILL_EXPIRY_SOON_S),
        collected=bills.collected_per_agency(session, start, end),
    )


def _due_soon_until(runtime: Runtime, day: date) -> date:
    holidays = runtime.holidays(day.year, day.year + 1)
    return add_working_days(day, DUE_SOON_WORKING_DAYS, holidays)


def load_sync(runtime: Runtime, actor: Actor, period: Period | None = None) -> SyncPart:
    require(actor, Operation.REPORT)
    period = period or today(runtime)
    day = runtime.local_today()
    with runtime.store.read() as session:
        sql.reserve_page_cache(session)
        sync = _sync(session, _day_range(runtime, period), day, _due_soon_until(runtime, day))
        return _with_billing(runtime, session, sync, period)


def load_dashboard(runtime: Runtime, actor: Actor, period: Period | None = None) -> Dashboard:
    """Everything the supervisor's page shows, read in one transaction."""
    require(actor, Operation.REPORT)
    period = period or today(runtime)
    day = runtime.local_today()
    soon_until = _due_soon_until(runtime, day)
    days = _day_range(runtime, period)
    with runtime.store.read() as session:
        sql.reserve_page_cache(session)
        intake = _intake(session, days)
        sync = _with_billing(runtime, session, _sync(session, days, day, soon_until), period)
    return Dashboard(
        period=period,
        today=day,
        due_soon_until=soon_until,
        generated_at=runtime.local_now(),
        intake=intake,
        sync=sync,
    )


# --- the one view: tables, key figures, charts ---------------------------------------------



def text(key: str, lang: str, **slots: object) -> str:
    """The report's words live in the message catalog under ``report.``."""
    return messages.text(f"report.{key}", lang, **slots)


def table_title(key: str, lang: str = "id") -> str:
    return text(f"t.{key}", lang)


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def _agency_name(runtime: Runtime, code: str, lang: str) -> str:
    agency = runtime.catalog.agencies.get(code)
    return agency.short_name if agency is not None else code


def _service_name(runtime: Runtime, code: str, lang: str) -> str:
    service = runtime.catalog.services.get(code)
    return service.name.get(lang) if service is not None else code


def attention_kind(line: SubmissionLine) -> str:
    if line.status == "rejected":
        return "rejected"
    if line.status == "conflict":
        return "conflict"
    if line.agency_status == "needs_info":
        return "needs_info"
    return line.review_state  # flagged or returned


def _line_reason(line: SubmissionLine) -> str:
    return line.review_reason or line.last_error or line.agency_message or ""


def report_view(
    runtime: Runtime, dashboard: Dashboard, lang: str = "id", generated_by: str = ""
) -> DailyReportView:
    """The tables, key figures and charts of a dashboard in one language."""
    build = _TableBuilder(runtime, dashboard, lang)
    tables = [*build.intake_tables(), *build.review_tables(), *build.sync_tables()]
    tables += build.billing_tables()
    tables += build.survey_tables()
    kpis = _kpis(dashboard, lang)
    charts = _charts(dashboard, lang)
    period = dashboard.period
    single = period.first == period.last
    period_text = (
        period.first.strftime("%d-%m-%Y")
        if single
        else f"{period.first:%d-%m-%Y} – {period.last:%d-%m-%Y}"
    )
    with runtime.store.read() as session:
        head_id, head_hash = repo.audit_head(session)
    return DailyReportView(
        title=text("title" if single else "title_range", lang),
        mpp_name=runtime.settings.desk.mpp_name,
        desk=runtime.settings.desk.code,
        period=period_text,
        generated_at=dashboard.generated_at,
        generated_by=generated_by,
        audit_head_id=head_id,
        audit_head_hash=head_hash,
        kpis=kpis,
        tables=tuple(tables),
        charts=charts,
        lang=lang,
    )


class _TableBuilder:
    """The report's tables from one dashboard, with the columns they share, in one language."""

    def __init__(self, runtime: Runtime, dashboard: Dashboard, lang: str):
        self.runtime = runtime
        self.dashboard = dashboard
        self.lang = lang
        c = self.column
        self.line_columns = (  # the service code names its agency ("dukcapil/ktp-el")
            c("tracking"),
            c("service"),
            c("officer"),
            c("finalized_at", "datetime"),
            c("sla_due", "date"),
            c("status"),
            c("agency_status"),
        )

    def column(self, key: str, kind: str = "text") -> ReportColumn:
        return ReportColumn(key, text(f"c.{key}", self.lang), kind)

    def note(self, shown: int, total: int) -> str:
        return text("more", self.lang, shown=shown, total=total) if total > shown else ""

    def service_name(self, code: str) -> str:
        service = self.runtime.catalog.services.get(code)
        return service.name.get(self.lang) if service is not None else code

    def line_row(self, line: SubmissionLine) -> tuple[Any, ...]:
        return (
            line.tracking_number,
            self.service_name(line.service),
            line.officer,
            line.finalized_at.astimezone(self.runtime.tz),
            line.sla_due,
            line.status,
            line.agency_status,
        )

    def intake_tables(self) -> list[ReportTable]:
        runtime, lang, c = self.runtime, self.lang, self.column
        intake = self.dashboard.intake
        timing = intake.timing
        return [
            ReportTable(
                "status",
                table_title("status", lang),
                (c("status"), c("submissions", "int")),
                tuple(sorted(intake.by_status.items(), key=lambda kv: (-kv[1], kv[0]))),
            ),
            ReportTable(
                "by_agency",
                table_title("by_agency", lang),
                (c("agency"), c("agency_name"), c("submissions", "int")),
                tuple((a, _agency_name(runtime, a, lang), n) for a, n in intake.by_agency),
            ),
            ReportTable(
                "by_service",
                table_title("by_service", lang),
                (c("service"), c("service_name"), c("agency"), c("submissions", "int")),
                tuple((s, _service_name(runtime, s, lang), a, n) for s, a, n in intake.by_service),
            ),
            ReportTable(
                "by_officer",
                table_title("by_officer", lang),
                (
                    c("officer"),
                    c("visits", "int"),
                    c("submissions", "int"),
                    c("service_avg", "minutes"),
                ),
                tuple((o, v, s, _minutes(avg)) for o, v, s, avg in intake.by_officer),
            ),
            ReportTable(
                "by_hour",
                table_title("by_hour", lang),
                (c("hour"), c("visits", "int"), c("submissions", "int")),
                tuple((f"{h:02d}:00", v, s) for h, v, s in intake.by_hour),
            ),
            ReportTable(
                "times",
                table_title("times", lang),
                (
                    c("measure"),
                    c("label"),
                    c("count", "int"),
                    c("avg", "minutes"),
                    c("p90", "minutes"),
                ),
                (
                    (
                        "wait",
                        text("m.wait_label", lang),
                        timing.waits,
                        _minutes(timing.wait_avg_s),
                        _minutes(timing.wait_p90_s),
                    ),
                    (
                        "service",
                        text("m.service_label", lang),
                        timing.services,
                        _minutes(timing.service_avg_s),
                        _minutes(timing.service_p90_s),
                    ),
                ),
            ),
        ]

    def review_tables(self) -> list[ReportTable]:
        lang, c, note, line_row = self.lang, self.column, self.note, self.line_row
        line_columns = self.line_columns
        intake, sync = self.dashboard.intake, self.dashboard.sync
        return [
            ReportTable(
                "held",
                table_title("held", lang),
                (*line_columns, c("review")),
                tuple((*line_row(line), line.review_state) for line in intake.held),
                note(len(intake.held), intake.held_total),
            ),
            ReportTable(
                "attention",
                table_title("attention", lang),
                (c("tracking"), c("kind"), *line_columns[1:], c("reason")),
                tuple(
                    (
                        line.tracking_number,
                        text(f"kind.{attention_kind(line)}", lang),
                        *line_row(line)[1:],
                        _line_reason(line),
                    )
                    for line in sync.attention
                ),
                text("limited", lang, shown=len(sync.attention))
                if len(sync.attention) >= sql.LIST_LIMIT
                else "",
            ),
        ]

    def sync_tables(self) -> list[ReportTable]:
        runtime, lang, c, note = self.runtime, self.lang, self.column, self.note
        line_row, line_columns = self.line_row, self.line_columns
        sync, now = self.dashboard.sync, self.dashboard.generated_at
        return [
            ReportTable(
                "sla_agency",
                table_title("sla_agency", lang),
                (c("agency"), c("overdue", "int"), c("due_soon", "int")),
                tuple(
                    (agency, late, soon)
                    for agency, (late, soon) in sorted(sync.sla_by_agency.items())
                ),
            ),
            ReportTable(
                "overdue",
                table_title("overdue", lang),
                line_columns,
                tuple(line_row(line) for line in sync.overdue),
                note(len(sync.overdue), sync.overdue_total),
            ),
            ReportTable(
                "due_soon",
                table_title("due_soon", lang),
                line_columns,
                tuple(line_row(line) for line in sync.due_soon),
                note(len(sync.due_soon), sync.due_soon_total),
            ),
            ReportTable(
                "backlog",
                table_title("backlog", lang),
                (
                    c("agency"),
                    c("held", "int"),
                    c("pending", "int"),
                    c("paused", "int"),
                    c("failed", "int"),
                    c("oldest", "datetime"),
                    c("age", "minutes"),
                ),
                tuple(
                    (
                        b.agency,
                        b.held,
                        b.pending,
                        b.paused,
                        b.failed,
                        b.oldest_undelivered.astimezone(runtime.tz)
                        if b.oldest_undelivered
                        else None,
                        _minutes((now - b.oldest_undelivered).total_seconds())
                        if b.oldest_undelivered
                        else None,
                    )
                    for b in sync.backlog
                ),
            ),
        ]

    def billing_tables(self) -> list[ReportTable]:
        """Unpaid bills near expiry (remind the citizen) and the payments per agency."""
        runtime, lang, c = self.runtime, self.lang, self.column
        sync = self.dashboard.sync
        return [
            ReportTable(
                "bills_expiring",
                table_title("bills_expiring", lang),
                (c("tracking"), c("agency"), c("billing_code"), c("amount", "int"),
                 c("expires", "datetime")),
                tuple(
                    (b["tracking_number"], b["agency"], b["code"], b["amount"],
                     datetime.fromisoformat(b["expires"]).astimezone(runtime.tz))
                    for b in sync.bills_expiring
                ),
            ),
            ReportTable(
                "collected",
                table_title("collected", lang),
                (c("agency"), c("agency_name"), c("paid", "int"), c("amount", "int")),
                tuple(
                    (agency, _agency_name(runtime, agency, lang), n["paid"], n["amount"])
                    for agency, n in sync.collected.items()
                ),
            ),
        ]  # fmt: skip

    def survey_tables(self) -> list[ReportTable]:
        lang, c = self.lang, self.column
        intake = self.dashboard.intake
        tables: list[ReportTable] = []
        survey = intake.survey
        tables.append(
            ReportTable(
                "survey_elements",
                table_title("survey_elements", lang),
                (c("element"), c("label"), c("score", "score")),
                tuple(
                    (e.key, e.label(lang), round(survey.element_means[e.key], 2))
                    for e in ELEMENTS
                    if e.key in survey.element_means
                ),
            )
        )
        for key, groups, with_agency in (
            ("survey_service", survey.by_service, True),
            ("survey_agency", survey.by_agency, False),
        ):
            rows = []
            for group in groups:
                index = ikm(group.mean_score)
                assert index is not None
                head = (group.key, group.agency) if with_agency else (group.key,)
                rows.append((*head, group.responses, index.value, index.category))
            first = (c("service"), c("agency")) if with_agency else (c("agency"),)
            tables.append(
                ReportTable(
                    key,
                    table_title(key, lang),
                    (*first, c("responses", "int"), c("ikm", "score"), c("category")),
                    tuple(rows),
                )
            )
        return tables


def _kpis(dashboard: Dashboard, lang: str) -> tuple[Kpi, ...]:
    """The key figures above the tables."""
    intake, sync = dashboard.intake, dashboard.sync
    timing, survey = intake.timing, intake.survey
    index = dashboard.ikm
    return (
        Kpi("visits", text("k.visits", lang), intake.visits),
        Kpi("submissions", text("k.submissions", lang), intake.submissions),
        Kpi("wait_avg", text("k.wait_avg", lang), _minutes(timing.wait_avg_s), "minutes"),
        Kpi("wait_p90", text("k.wait_p90", lang), _minutes(timing.wait_p90_s), "minutes"),
        Kpi("service_avg", text("k.service_avg", lang), _minutes(timing.service_avg_s), "minutes"),
        Kpi("service_p90", text("k.service_p90", lang), _minutes(timing.service_p90_s), "minutes"),
        Kpi("no_show", text("k.no_show", lang), intake.queue.get("no_show", 0)),
        Kpi("held", text("k.held", lang), intake.held_total),
        Kpi("overdue", text("k.overdue", lang), sync.overdue_total),
        Kpi("due_soon", text("k.due_soon", lang), sync.due_soon_total),
        Kpi("undelivered", text("k.undelivered", lang), sync.undelivered_total),
        Kpi(
            "ikm",
            text("k.ikm", lang),
            index.value if index else None,
            "score",
            f"{index.category} ({index.label(lang)})" if index else "",
        ),
        Kpi("responses", text("k.responses", lang), survey.responses),
    )


def _charts(dashboard: Dashboard, lang: str) -> tuple[ChartSpec, ...]:
    intake, sync = dashboard.intake, dashboard.sync
    hours = intake.by_hour
    charts = [
        ChartSpec(
            "by_hour",
            text("ch.hour", lang),
            tuple(f"{h:02d}" for h, _v, _s in hours),
            (
                (text("c.visits", lang), tuple(float(v) for _h, v, _s in hours)),
                (text("c.submissions", lang), tuple(float(s) for _h, _v, s in hours)),
            ),
        ),
        ChartSpec(
            "by_agency",
            text("ch.agency", lang),
            tuple(a for a, _n in intake.by_agency[:12]),
            ((text("c.submissions", lang), tuple(float(n) for _a, n in intake.by_agency[:12])),),
            horizontal=True,
        ),
    ]
    backlog = [b for b in sync.backlog if b.held + b.pending + b.paused + b.failed]
    if backlog:
        charts.append(
            ChartSpec(
                "backlog",
                text("ch.backlog", lang),
                tuple(b.agency for b in backlog),
                (
                    (text("c.held", lang), tuple(float(b.held) for b in backlog)),
                    (text("c.pending", lang), tuple(float(b.pending) for b in backlog)),
                    (text("c.paused", lang), tuple(float(b.paused) for b in backlog)),
                    (text("c.failed", lang), tuple(float(b.failed) for b in backlog)),
                ),
                horizontal=True,
                stacked=True,
            )
        )
    if sync.sla_by_agency:
        agencies = sorted(sync.sla_by_agency)
        charts.append(
            ChartSpec(
                "sla",
                text("ch.sla", lang),
                tuple(agencies),
                (
                    (
                        text("c.overdue", lang),
                        tuple(float(sync.sla_by_agency[a][0]) for a in agencies),
                    ),
                    (
                        text("c.due_soon", lang),
                        tuple(float(sync.sla_by_agency[a][1]) for a in agencies),
                    ),
                ),
                horizontal=True,
                stacked=True,
            )
        )
    return tuple(charts)


# --- exports -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    size: int
    sha256: str
    audit_head_id: int

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "format": self.format,
            "size": self.size,
            "sha256": self.sha256,
            "audit_head_id": self.audit_head_id,
        }


def export_report(
    runtime: Runtime,
    actor: Actor,
    period: Period,
    fmt: str,
    path: Path,
    lang: str = "id",
) -> ExportResult:
    """Write the report of ``period`` as PDF, XLSX or CSV to ``path``, and audit it.

    The file is written beside its target and renamed into place, so a failed export never
    leaves half a file where a previous report was.
    """
    require(actor, Operation.REPORT)
    if fmt not in FORMATS:
        raise InvalidInput(
            [
                FieldError.of("format", "error.format_invalid", formats=", ".join(FORMATS))
            ]
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise InvalidInput(
            [
                FieldError.of("output", "error.folder_missing", folder=str(path.parent))
            ]
        )
    dashboard = load_dashboard(runtime, actor, period)
    view = report_view(runtime, dashboard, lang, generated_by=actor.full_name or actor.username)
    data = render(view, fmt)
    temporary = path.with_name(f".{path.name}.part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InvalidInput(
            [
                FieldError.of(
                    "output",
                    "error.file_unwritable",
                    path=str(path),
                    reason=str(exc.strerror or exc),
                )
            ]
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    with runtime.store.write() as session:
        repo.append_audit(
            session,
            actor=actor.username,
            action="report.exported",
            object_type="report",
            object_id=f"{period.first}..{period.last}",
            details={
                "format": fmt,
                "sha256": digest,
                "audit_head_id": view.audit_head_id,
                "audit_head_hash": view.audit_head_hash,
            },
        )
    log.info("report %s..%s exported as %s to %s", period.first, period.last, fmt, path)
    return ExportResult(path, fmt, len(data), digest, view.audit_head_id)


def render(view: DailyReportView, fmt: str) -> bytes:
    """The report's bytes in one of ``FORMATS``."""
    if fmt == "pdf":
        from mppdesk.printing.daily_report import render_daily_report

        return render_daily_report(view)
    from mppdesk.desk import exports

    if fmt == "xlsx":
        return exports.xlsx_bytes(view)
    if fmt == "csv":
        return exports.csv_bytes(view)
    raise ValueError(fmt)
