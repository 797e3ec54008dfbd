"""Pieces several documents share: the heading, the SALINAN banner, label rows, lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from reportlab.lib import colors
from reportlab.platypus import Flowable, Table, TableStyle

from mppdesk.printing.fonts import REGULAR
from mppdesk.printing.pages import Styles, gap, rule
from mppdesk.printing.text import date_time, t
from mppdesk.printing.textblock import TextBlock, TextStyle

# Cells hold TextBlocks; the font only matters for reportlab's own per-cell setFont, which
# would otherwise list the standard (not embedded) Helvetica in the PDF.
_FONT = ("FONT", (0, 0), (-1, -1), REGULAR, 8)

PLAIN_TABLE = TableStyle(
    [
        _FONT,
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]
)

BOXED_TABLE = TableStyle(
    [
        _FONT,
        ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
)

GRID_TABLE = TableStyle(
    [
        _FONT,
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
)


def heading(
    styles: Styles, mpp_name: str, title: str, address: str | None = None
) -> list[Flowable]:
    out: list[Flowable] = [TextBlock(mpp_name, styles.title)]
    if address:
        out.append(TextBlock(address, styles.center_small))
    out.append(TextBlock(title, styles.doc_title))
    return out


def copy_banner(
    styles: Styles, reprinted_at: datetime | None, lang: str, tz_label: str | None
) -> list[Flowable]:
    """A boxed "SALINAN — Dicetak ulang …" block; nothing for an original."""
    if reprinted_at is None:
        return []
    when = t("reprinted", lang, when=date_time(reprinted_at, lang, tz_label))
    box = Table(
        [[[TextBlock(t("copy_mark", lang), styles.banner), TextBlock(when, styles.center_small)]]],
        hAlign="LEFT",
    )
    box.setStyle(BOXED_TABLE)
    return [gap(3), box, gap(3)]


def label_rows(
    style: TextStyle, rows: Sequence[tuple[str, str]], label_width: float | None = None
) -> list[Flowable]:
    """Label / value lines; each label hangs in front of its wrapped value."""
    if label_width is not None:
        style = replace(style, indent=label_width)
    return [TextBlock(value, style, mark=label) for label, value in rows]


def labelled(style: TextStyle, label: str, value: str) -> TextBlock:
    """ "Label: value" on one wrapped line, the label in bold."""
    return TextBlock([(f"{label}: ", True), (value, False)], style)


def item_lines(style: TextStyle, mark: str, values: Sequence[str]) -> list[Flowable]:
    """A list with a mark (✓, ✗, ☐, •) hanging before each wrapped entry."""
    return [TextBlock(value, style, mark=mark) for value in values]


def columns(
    cells: Sequence[object], widths: Sequence[float], style: TableStyle = PLAIN_TABLE
) -> Table:
    """Flowables side by side (one table row) at fixed widths, so nothing can widen them."""
    table = Table([list(cells)], colWidths=list(widths), hAlign="LEFT", splitInRow=1)
    table.setStyle(style)
    return table


def divider() -> Flowable:
    return rule(dashed=True)


__all__ = [
    "GRID_TABLE",
    "PLAIN_TABLE",
    "columns",
    "copy_banner",
    "divider",
    "gap",
    "heading",
    "item_lines",
    "label_rows",
    "labelled",
]
