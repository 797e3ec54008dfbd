"""The daily report (laporan harian) for supervisors: A4, tables and reportlab's own charts.

The desk builds a ``DailyReportView`` of plain values (the same tables the XLSX and CSV
exports write, so the three formats cannot disagree) and this module lays it out. Charts are
``reportlab.graphics.charts`` bar charts inside a ``Drawing``; nothing is drawn by hand.

The last section prints the head of the audit chain (event id and hash) at the moment of the
report: a paper copy filed elsewhere lets anyone notice later that the desk's local chain was
rewritten, since a rewritten chain has a different hash at that id.

The view dataclasses and ``format_cell`` import nothing heavy, so the desk and the UI use them
without loading reportlab; ``render_daily_report`` loads it on first use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mppdesk.core import messages

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportColumn:
    key: str
    label: str
    kind: str = "text"  # text | int | minutes | score | date | datetime | percent


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: the same rows on screen, in XLSX, CSV and PDF.

    Cells are raw values (int, float, str, date, aware datetime or None); ``format_cell``
    turns them into text for a page or a screen. ``note`` says what the table leaves out
    (e.g. "first 200 of 312").
    """

    key: str
    title: str
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class ChartSpec:
    """A bar chart: categories along one axis, one bar per series and category."""

    key: str
    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]  # (name, one value per category)
    horizontal: bool = False
    stacked: bool = False
    unit: str = ""


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: Any
    kind: str = "int"
    detail: str = ""


@dataclass(frozen=True)
class DailyReportView:
    title: str
    mpp_name: str
    desk: str
    period: str  # already worded: "29 November 2026" or "1–7 Desember 2026"
    generated_at: datetime
    generated_by: str
    audit_head_id: int
    audit_head_hash: str
    kpis: tuple[Kpi, ...]
    tables: tuple[ReportTable, ...]
    charts: tuple[ChartSpec, ...] = field(default_factory=tuple)
    lang: str = "id"




def label(key: str, lang: str, **slots: object) -> str:
    """The report's own words, from the message catalog (``daily.`` codes)."""
    return messages.text(f"daily.{key}", lang, **slots)


def format_cell(value: Any, kind: str, lang: str = "id") -> str:
    """A cell as a person reads it: Indonesian decimal commas, minutes with one decimal."""
    if value is None:
        return "–"
    if kind == "int":
        text = f"{int(value):,}"
        return text.replace(",", ".") if lang == "id" else text
    if kind in ("minutes", "score", "percent"):
        digits = 2 if kind == "score" else 1
        text = f"{float(value):,.{digits}f}"
        if lang == "id":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        if kind == "minutes":
            return f"{text} {label('minutes', lang)}"
        if kind == "percent":
            return f"{text}%"
        return text
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d-%m-%Y")
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%d-%m-%Y %H:%M")
    return str(value)


# --- rendering (reportlab from here on) ----------------------------------------------------

_PALETTE = ("#1f5f99", "#e08a1e", "#3d9a50", "#c0392b", "#7f5aa2", "#8c6d31")


def render_daily_report(view: DailyReportView) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, KeepTogether, Table, TableStyle

    from mppdesk.printing.blocks import GRID_TABLE, heading
    from mppdesk.printing.markup import clean
    from mppdesk.printing.pages import PAPERS, Meta, a4_pdf, gap, styles_for
    from mppdesk.printing.textblock import TextBlock
    from mppdesk.printing.views import Layout

    lang = view.lang
    styles = styles_for(Layout.A4)
    width = PAPERS[Layout.A4].printable_width
    story: list[Any] = []
    story += heading(styles, view.mpp_name, view.title)
    story.append(TextBlock(f"{view.period} · {view.desk}", styles.center_small))
    story.append(
        TextBlock(
            label(
                "generated",
                lang,
                when=view.generated_at.strftime("%d-%m-%Y %H:%M"),
                who=view.generated_by,
            ),
            styles.center_small,
        )
    )
    story.append(gap(8))

    # Key figures: four to a row.
    story.append(TextBlock([(label("summary", lang), True)], styles.heading))
    cells = []
    for kpi in view.kpis:
        block = [
            TextBlock([(format_cell(kpi.value, kpi.kind, lang), True)], styles.heading),
            TextBlock(kpi.label + (f" · {kpi.detail}" if kpi.detail else ""), styles.small),
        ]
        cells.append(block)
    per_row = 4
    rows = [cells[i : i + per_row] for i in range(0, len(cells), per_row)]
    if rows:
        while len(rows[-1]) < per_row:
            rows[-1].append("")
        kpi_table = Table(rows, colWidths=[width / per_row] * per_row, hAlign="LEFT")
        kpi_table.setStyle(GRID_TABLE)
        kpi_table.setStyle(
            TableStyle([("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f3f6fa"))])
        )
        story.append(kpi_table)
    story.append(gap(8))

    if view.charts:
        story.append(TextBlock([(label("charts", lang), True)], styles.heading))
        drawings = [_chart(spec, width / 2 - 3 * mm, 62 * mm) for spec in view.charts]
        pairs = [drawings[i : i + 2] for i in range(0, len(drawings), 2)]
        for pair in pairs:
            if len(pair) == 1:
                pair.append("")
            grid = Table([pair], colWidths=[width / 2] * 2, hAlign="LEFT")
            grid.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                    ]
                )
            )
            story.append(grid)
            story.append(gap(4))

    for table in view.tables:
        story.append(CondPageBreak(40 * mm))
        story.append(TextBlock([(table.title, True)], styles.heading))
        if table.note:
            story.append(TextBlock(table.note, styles.small))
        if not table.rows:
            story.append(TextBlock(label("empty", lang), styles.small))
            story.append(gap(4))
            continue
        data = [[TextBlock([(c.label, True)], styles.cell) for c in table.columns]]
        for row in table.rows:
            data.append(
                [
                    TextBlock(format_cell(value, column.kind, lang), styles.cell)
                    for value, column in zip(row, table.columns, strict=True)
                ]
            )
        grid = Table(
            data, colWidths=_widths(table, width), repeatRows=1, splitInRow=1, hAlign="LEFT"
        )
        grid.setStyle(GRID_TABLE)
        grid.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4ebf3"))]))
        story.append(grid)
        story.append(gap(6))

    story.append(
        KeepTogether(
            [
                TextBlock([(label("audit", lang), True)], styles.heading),
                TextBlock(
                    label("audit_text", lang, id=view.audit_head_id, hash=view.audit_head_hash),
                    styles.body,
                ),
            ]
        )
    )
    meta = Meta(title=f"{view.title} {view.period}", author=view.mpp_name, lang=lang)
    header = clean(f"{view.mpp_name} · {view.title} · {view.period}")
    return a4_pdf(story, meta, header=header, footer=lambda n: label("page", lang, n=n))


_FIXED_BY_KIND = {
    "int": 58.0,
    "minutes": 62.0,
    "score": 48.0,
    "percent": 48.0,
    "date": 58.0,
    "datetime": 82.0,
}
_FIXED_BY_KEY = {
    "tracking": 98.0,
    "agency": 76.0,
    "officer": 52.0,
    "status": 54.0,
    "agency_status": 60.0,
    "hour": 40.0,
    "kind": 56.0,
    "review": 56.0,
    "measure": 52.0,
    "category": 40.0,
    "element": 72.0,
}


def _widths(table: ReportTable, width: float) -> list[float]:
    """Numbers, dates, codes get the width they need; free text shares the rest."""
    fixed: list[float | None] = [
        _FIXED_BY_KIND.get(c.kind) or _FIXED_BY_KEY.get(c.key) for c in table.columns
    ]
    free = [i for i, w in enumerate(fixed) if w is None]
    used = sum(w for w in fixed if w is not None)
    if free and (width - used) / len(free) >= 60:
        share = (width - used) / len(free)
        return [w if w is not None else share for w in fixed]
    if not free and used <= width:
        return [w for w in fixed if w is not None]
    # Too many columns for the page: scale everything to fit, free text counted as 90 pt.
    wanted = [w if w is not None else 90.0 for w in fixed]
    scale = width / sum(wanted)
    return [w * scale for w in wanted]


def _chart(spec: ChartSpec, width: float, height: float):
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    from mppdesk.printing.fonts import BOLD, REGULAR, register_fonts

    register_fonts()
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 10, spec.title, fontName=BOLD, fontSize=8))
    values = [list(values) or [0.0] for _name, values in spec.series] or [[0.0]]
    categories = list(spec.categories) or [""]
    chart = HorizontalBarChart() if spec.horizontal else VerticalBarChart()
    legend_room = 12 if len(spec.series) > 1 else 0
    left = 62 if spec.horizontal else 24
    chart.x = left
    chart.y = 16 + legend_room
    chart.width = width - left - 6
    chart.height = height - 32 - legend_room
    chart.data = values
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontName = REGULAR
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontName = REGULAR
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    top = max((max(v) for v in values), default=0.0)
    if top <= 0:
        chart.valueAxis.valueMax = 1
    if spec.horizontal:
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.categoryAxis.labels.dx = -2
        chart.categoryAxis.reverseDirection = 1  # first category on top
    elif len(categories) > 8:
        chart.categoryAxis.labels.angle = 0
    if spec.stacked:
        chart.categoryAxis.style = "stacked"
    chart.barSpacing = 0.5
    chart.groupSpacing = 3
    for index in range(len(values)):
        chart.bars[index].fillColor = colors.HexColor(_PALETTE[index % len(_PALETTE)])
        chart.bars[index].strokeColor = None
    drawing.add(chart)
    if len(spec.series) > 1:
        legend = Legend()
        legend.x = left
        legend.y = 6
        legend.fontName = REGULAR
        legend.fontSize = 6
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.dx = 6
        legend.dy = 6
        legend.deltax = max(40.0, (width - left) / len(spec.series))
        legend.dxTextSpace = 3
        legend.colorNamePairs = [
            (colors.HexColor(_PALETTE[i % len(_PALETTE)]), name)
            for i, (name, _values) in enumerate(spec.series)
        ]
        drawing.add(legend)
    return drawing
