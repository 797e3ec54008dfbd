"""The dashboard's "Seluruh MPP" scope: the mall's day and its approval queue, read from the hub.

A supervisor at any desk of a joined MPP sees every desk's figures for one day (visits and
submissions per desk, per agency, per status; the money collected per agency that day and the
unpaid bills of every desk whose code dies within a day; the queue per ticket group: tickets,
no-shows, waits and service times, mean and p90, in minutes) and the submissions held for approval
at any desk, and decides on them; the decision is recorded at the hub and the owning desk
applies it at its next pull (``mppdesk.desk.hub.mall_decide``). Nothing here reads this desk's store.

Every call goes through the TaskRunner's network pool with the hub client's deadlines, so the
page never waits on the hub. When the hub cannot answer, the figures give way to one plain
Indonesian sentence (the desk's own scope stays available); a refusal (the officer is not a
supervisor at the hub) says so instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mppdesk.core.permissions import Operation
from mppdesk.desk import hub as desk_hub
from mppdesk.desk.auth import Actor
from mppdesk.desk.errors import AuthError
from mppdesk.desk.runtime import Runtime
from mppdesk.printing.daily_report import ReportColumn, ReportTable, format_cell
from mppdesk.ui import i18n
from mppdesk.ui.i18n import tr
from mppdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

TILES = ("visits", "submissions", "desks", "held", "collected", "wait")


@dataclass(frozen=True)
class MallItem:
    """One submission of the mall queue, shaped as the review dialog lists items."""

    id: str
    desk: str
    tracking_number: str
    agency: str
    service: str
    local_date: str


@dataclass(frozen=True)
class MallDay:
    """What the hub answered for one day: its report and (for reviewers) its queue."""

    day: date
    report: dict[str, Any]
    queue: tuple[MallItem, ...]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _text(value: Any, limit: int = 80) -> str:
    return str(value)[:limit] if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _seconds(value: Any) -> float | None:
    """A duration the hub sent, in seconds; anything else (a hub older than the figure, a
    wrong type) is unknown, never zero."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _minutes(durations: Any, key: str) -> float | None:
    seconds = _seconds(durations.get(key)) if isinstance(durations, dict) else None
    return None if seconds is None else round(seconds / 60.0, 1)


def _column(key: str, kind: str = "text") -> ReportColumn:
    return ReportColumn(key, tr(f"mall.col.{key}"), kind)


def _expiry(text: Any, tz: Any) -> datetime | str:
    """A bill's expiry in the desk's time zone; text the hub sent that is no time stays text."""
    if not isinstance(text, str):
        return ""
    try:
        moment = datetime.fromisoformat(text[:40])
    except ValueError:
        return text[:40]
    return moment.astimezone(tz) if moment.tzinfo is not None else text[:40]


def _day(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def load_mall_day(runtime: Runtime, actor: Actor, day: date) -> MallDay:
    """Off the GUI thread: the hub's daily report and approval queue, checked for shape
    (the hub is outside this PC: a missing or odd field shows as 0 or blank, never crashes)."""
    report = desk_hub.mall_daily_report(runtime, actor, day.isoformat())
    queue: list[MallItem] = []
    if actor.may(Operation.REVIEW):
        answer = desk_hub.mall_review_queue(runtime, actor)
        items = answer.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not _text(item.get("submission_id"), 64):
                continue
            queue.append(
                MallItem(
                    id=_text(item.get("submission_id"), 64),
                    desk=_text(item.get("desk"), 16),
                    tracking_number=_text(item.get("tracking_number"), 64),
                    agency=_text(item.get("agency"), 64),
                    service=_text(item.get("service"), 120),
                    local_date=_text(item.get("local_date"), 10),
                )
            )
    return MallDay(day, report, tuple(queue))


class MallScopePanel(QWidget):
    """The mall's figures and queue. ``load(day)`` reads them; ``loaded`` / ``load_failed(str)``
    follow; ``decided(list)`` carries the hub's answers to decisions taken here."""

    loaded = Signal()
    load_failed = Signal(str)
    decided = Signal(list)

    def __init__(
        self, runtime: Runtime, actor: Actor, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mallScope")
        self.runtime = runtime
        self.actor = actor
        self.tasks = tasks
        self.day: MallDay | None = None
        self.loads = 0
        self.loading = False
        self.offline = False  # the last load could not reach the hub
        self._generation = 0
        self._build()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        from mppdesk.ui.dashboard import ReportTableModel, _Tile

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)
        self.heading = QLabel("")
        self.heading.setObjectName("subheading")
        outer.addWidget(self.heading)
        self.message = QLabel("")
        self.message.setObjectName("mallMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(
            "background: #fdecea; color: #8a1c0b; padding: 10px; border-radius: 4px;"
        )
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self.notice = QLabel("")
        self.notice.setObjectName("muted")
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        outer.addWidget(self.notice)

        self.content = QWidget()
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        tiles = QHBoxLayout()
        tiles.setSpacing(8)
        self.tiles: dict[str, Any] = {}
        for key in TILES:
            tile = _Tile()
            tile.caption.setText(tr(f"mall.tile.{key}"))
            tiles.addWidget(tile)
            self.tiles[key] = tile
        content.addLayout(tiles)

        self.models: dict[str, ReportTableModel] = {}
        self.tables: dict[str, QTableView] = {}
        split = QSplitter(Qt.Orientation.Vertical)
        figures = QSplitter(Qt.Orientation.Horizontal)
        for key in ("desks", "agencies", "status"):
            figures.addWidget(self._table_box(key, ReportTableModel))
        split.addWidget(figures)
        money = QSplitter(Qt.Orientation.Horizontal)  # the mall's payments (issue 14)
        for key in ("collected", "bills"):
            money.addWidget(self._table_box(key, ReportTableModel))
        split.addWidget(money)
        waits = QWidget()  # the mall's queue per ticket group (issue 14)
        waits_layout = QVBoxLayout(waits)
        waits_layout.setContentsMargins(0, 0, 0, 0)
        waits_layout.addWidget(self._table_box("waits", ReportTableModel), 1)
        self.tables["waits"].horizontalHeader().setStretchLastSection(False)
        self.clock_note = QLabel("")
        self.clock_note.setObjectName("muted")
        self.clock_note.setWordWrap(True)
        self.clock_note.setVisible(False)
        waits_layout.addWidget(self.clock_note)
        split.addWidget(waits)
        queue = QWidget()
        queue_layout = QVBoxLayout(queue)
        queue_layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        hint = QLabel(tr("mall.select_hint"))
        hint.setObjectName("muted")
        hint.setWordWrap(True)
        buttons.addWidget(hint, 1)
        self.decision_buttons: dict[str, QPushButton] = {}
        for decision, key in (
            ("approved", "dash.approve"),
            ("returned", "dash.return"),
            ("flagged", "dash.flag"),
        ):
            button = QPushButton(tr(key))
            button.clicked.connect(partial(self.open_review, decision))
            buttons.addWidget(button)
            self.decision_buttons[decision] = button
        queue_layout.addLayout(buttons)
        queue_layout.addWidget(self._table_box("queue", ReportTableModel), 1)
        split.addWidget(queue)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 2)
        split.setStretchFactor(2, 2)
        split.setStretchFactor(3, 3)
        content.addWidget(split, 1)
        outer.addWidget(self.content, 1)
        self.tables["queue"].setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        reviewer = bool(self.actor.may(Operation.REVIEW))
        queue.setVisible(reviewer)

    def _table_box(self, key: str, model_type: type) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel(tr(f"mall.table.{key}"))
        title.setObjectName("subheading")
        layout.addWidget(title)
        model = model_type(self)
        view = QTableView()
        view.setObjectName(f"mall-{key}")
        view.setModel(model)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setVisible(False)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(view)
        self.models[key] = model
        self.tables[key] = view
        return box

    # --- loading -------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self.loading

    def load(self, day: date, note: str | None = None) -> None:
        """Read ``day`` from the hub (on the network pool); ``note`` replaces the heading
        (the dashboard says which day of a longer period this is)."""
        self._generation += 1
        generation = self._generation
        self.loading = True
        self.heading.setText(note or tr("mall.heading", date=i18n.format_date(day)))
        runtime, actor = self.runtime, self.actor
        self.tasks.run(
            lambda: load_mall_day(runtime, actor, day),
            partial(self._arrived, generation),
            partial(self._failed, generation),
            network=True,
        )

    def _arrived(self, generation: int, day: MallDay) -> None:
        if generation != self._generation:
            return
        self.loading = False
        self.offline = False
        self.loads += 1
        self.day = day
        self.message.setVisible(False)
        self.content.setVisible(True)
        self._show(day)
        self.loaded.emit()

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self.loading = False
        if isinstance(error, AuthError):
            self.offline = False
            text = tr("mall.refused", reason=error.text(i18n.language())[:160])
        elif isinstance(error, desk_hub.HubUnavailable):
            self.offline = True
            text = tr("mall.offline")
        else:
            raise error  # a bug, not the hub: the window's error boundary shows it
        log.info("mall scope: %s", error)
        self.message.setText(text)
        self.message.setVisible(True)
        self.content.setVisible(False)
        self.load_failed.emit(text)

    # --- showing -------------------------------------------------------------------------

    def _agency(self, code: str) -> str:
        agency = self.runtime.catalog.agencies.get(code)
        return agency.short_name if agency is not None else code

    def _service(self, code: str) -> str:
        service = self.runtime.catalog.services.get(code)
        return service.name.get(i18n.language()) if service is not None else code

    def _status(self, code: str) -> str:
        key = f"subs.state.{code}"
        return tr(key) if i18n.has(key) else code

    def _show(self, day: MallDay) -> None:
        report = day.report
        desks = report.get("desks") if isinstance(report.get("desks"), dict) else {}
        totals = report.get("totals") if isinstance(report.get("totals"), dict) else {}
        lang = i18n.language()
        values = {
            "visits": _count(totals.get("visits")),
            "submissions": _count(totals.get("submissions")),
            "desks": len(desks),
            "held": len(day.queue),
        }
        for key, value in values.items():
            self.tiles[key].value.setText(format_cell(value, "int", lang))
        self._show_billing(report)
        self._show_waits(report)

        desk_rows = tuple(
            (str(code), _count(row.get("visits")), _count(row.get("submissions")))
            for code, row in sorted(desks.items())
            if isinstance(row, dict)
        )
        self.models["desks"].set_table(
            ReportTable(
                "desks",
                tr("mall.table.desks"),
                (_column("desk"), _column("visits", "int"), _column("submissions", "int")),
                desk_rows,
            )
        )
        for key, field, name in (
            ("agencies", "by_agency", self._agency),
            ("status", "by_status", self._status),
        ):
            counts = report.get(field) if isinstance(report.get(field), dict) else {}
            rows = tuple(
                (name(str(code)), _count(n))
                for code, n in sorted(counts.items(), key=lambda kv: -_count(kv[1]))
            )
            label = "agency" if key == "agencies" else "status"
            self.models[key].set_table(
                ReportTable(
                    key, tr(f"mall.table.{key}"), (_column(label), _column("submissions", "int")), rows
                )
            )
        self.models["queue"].set_table(
            ReportTable(
                "queue",
                tr("mall.table.queue"),
                (
                    _column("desk"),
                    _column("tracking"),
                    _column("agency"),
                    _column("service"),
                    _column("date", "date"),
                ),
                tuple(
                    (
                        item.desk,
                        item.tracking_number,
                        self._agency(item.agency),
                        self._service(item.service),
                        _day(item.local_date),
                    )
                    for item in day.queue
                ),
            ),
            [item.id for item in day.queue],
        )

    def _show_billing(self, report: dict[str, Any]) -> None:
        """The day's money per agency and every desk's bills about to expire (a hub older
        than the billing records answers without them: shown as none)."""
        billing = report.get("billing") if isinstance(report.get("billing"), dict) else {}
        collected = billing.get("collected") if isinstance(billing.get("collected"), dict) else {}
        soon = (
            billing.get("unpaid_near_expiry")
            if isinstance(billing.get("unpaid_near_expiry"), dict)
            else {}
        )
        items = soon.get("items") if isinstance(soon.get("items"), list) else []
        rows = tuple(
            (self._agency(str(code)), _count(n.get("paid")), _count(n.get("amount")))
            for code, n in sorted(collected.items())
            if isinstance(n, dict)
        )
        total = sum(row[2] for row in rows)
        # (format_rupiah says "Gratis" for 0: right for a fee, wrong for money received)
        self.tiles["collected"].value.setText(i18n.format_rupiah(total) if total else "Rp0")

        self.models["collected"].set_table(
            ReportTable(
                "collected",
                tr("mall.table.collected"),
                (_column("agency"), _column("paid", "int"), _column("amount", "int")),
                rows,
            )
        )
        self.models["bills"].set_table(
            ReportTable(
                "bills",
                tr("mall.table.bills"),
                (
                    _column("desk"),
                    _column("tracking"),
                    _column("agency"),
                    _column("code"),
                    _column("amount", "int"),
                    _column("expires", "datetime"),
                ),
                tuple(
                    (
                        _text(item.get("desk"), 16),
                        _text(item.get("tracking_number"), 64),
                        self._agency(_text(item.get("agency"), 64)),
                        _text(item.get("code"), 32),
                        _count(item.get("amount")),
                        _expiry(item.get("expires"), self.runtime.tz),
                    )
                    for item in items
                    if isinstance(item, dict)
                ),
            )
        )

    def _show_waits(self, report: dict[str, Any]) -> None:
        """The day's queue per ticket group (the hub's ``tickets`` figures, the definitions of
        ``GET /v1/tickets/stats``), in minutes; and how many resent steps kept the hub's clock
        because a desk's time was not believed. A hub without the figures shows none."""
        from mppdesk.desk.tickets import group_name

        figures = report.get("tickets") if isinstance(report.get("tickets"), dict) else {}
        groups = figures.get("groups") if isinstance(figures.get("groups"), dict) else {}
        overall = figures.get("all") if isinstance(figures.get("all"), dict) else {}
        lang = i18n.language()
        wait = _minutes(overall.get("wait_s"), "mean")
        self.tiles["wait"].value.setText(format_cell(wait, "minutes", lang))
        rows = []
        for letter, entry in sorted(groups.items()):
            if not isinstance(entry, dict):
                continue
            counts = entry.get("counts") if isinstance(entry.get("counts"), dict) else {}
            label = _text(entry.get("label"), 40)
            name = f"{_text(letter, 8)} · {group_name(self.runtime, label)}" if label else letter
            rows.append(
                (
                    name,
                    sum(_count(n) for n in counts.values()),
                    _count(counts.get("done")),
                    _count(counts.get("no_show")),
                    _minutes(entry.get("wait_s"), "mean"),
                    _minutes(entry.get("wait_s"), "p90"),
                    _minutes(entry.get("service_s"), "mean"),
                    _minutes(entry.get("service_s"), "p90"),
                )
            )
        self.models["waits"].set_table(
            ReportTable(
                "waits",
                tr("mall.table.waits"),
                (
                    _column("group"),
                    _column("tickets", "int"),
                    _column("done", "int"),
                    _column("no_show", "int"),
                    _column("wait_mean", "minutes"),
                    _column("wait_p90", "minutes"),
                    _column("service_mean", "minutes"),
                    _column("service_p90", "minutes"),
                ),
                tuple(rows),
            )
        )
        clock = figures.get("hub_clock") if isinstance(figures.get("hub_clock"), dict) else {}
        steps = _count(clock.get("steps"))
        self.clock_note.setText(tr("mall.hub_clock", n=format_cell(steps, "int", lang)))
        self.clock_note.setVisible(steps > 0)

    # --- deciding ------------------------------------------------------------------------

    def selected(self) -> list[MallItem]:
        if self.day is None:
            return []
        model = self.models["queue"]
        rows = sorted({i.row() for i in self.tables["queue"].selectionModel().selectedRows()})
        ids = {model.submission_id(row) for row in rows}
        return [item for item in self.day.queue if item.id in ids]

    def open_review(self, decision: str) -> Any:
        """The review dialog for the selected submission of another (or this) desk; the
        decision goes to the hub (returns the dialog, for tests)."""
        items = self.selected()
        if not items:
            return None
        from mppdesk.ui.review_dialog import ReviewDialog

        named = [replace(item, service=self._service(item.service)) for item in items]
        dialog = ReviewDialog(
            self.runtime, self.actor, self.tasks, named, decision, self, mall=True
        )
        dialog.decided.connect(self._decided)
        dialog.open()
        return dialog

    def _decided(self, answers: list[Any]) -> None:
        desks = sorted({str(a.get("desk", "")) for a in answers if isinstance(a, dict)})
        self.notice.setText(tr("mall.decided", desks=", ".join(desks) or "?"))
        self.notice.setVisible(True)
        self.decided.emit(answers)
        if self.day is not None:
            self.load(self.day.day, self.heading.text())

