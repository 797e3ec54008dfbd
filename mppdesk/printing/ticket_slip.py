"""The queue ticket slip the kiosk prints: the number, large, then the service group, the time
it was taken and how many people are ahead (58 or 80 mm roll; PDF, or ESC/POS for a raw
thermal printer).

No personal data: a ticket is taken before anyone knows who the person is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from reportlab.platypus import Flowable

from mppdesk.core import messages
from mppdesk.printing.blocks import divider, heading, label_rows
from mppdesk.printing.pages import Meta, gap, styles_for, thermal_pdf
from mppdesk.printing.text import check_lang, date_time
from mppdesk.printing.textblock import TextBlock
from mppdesk.printing.views import Layout


@dataclass(frozen=True)
class TicketSlipView:
    mpp_name: str
    number: str  # F-012
    group_name: str  # "Dukcapil" as the catalog names the group
    priority_name: str | None  # "Lansia (60 tahun ke atas)" or None
    issued_at: datetime
    ahead: int
    tz_label: str | None = None


def _w(code: str, lang: str, **params: object) -> str:
    return messages.text(f"tickets.{code}", lang, **params)


def _priority(view: TicketSlipView, lang: str) -> str:
    return f"{_w('slip_priority', lang)}: {view.priority_name}"


def _rows(view: TicketSlipView, lang: str) -> list[tuple[str, str]]:
    """The slip's labelled rows, the same on paper from a PDF and from ESC/POS."""
    return [
        (_w("slip_group", lang), view.group_name),
        (_w("slip_time", lang), date_time(view.issued_at, lang, view.tz_label)),
        (_w("slip_ahead", lang), _w("slip_ahead_n", lang, n=view.ahead)),
    ]


def render_ticket_slip(
    view: TicketSlipView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The slip as PDF bytes, on a thermal roll (A4 makes no sense for a ticket)."""
    layout = Layout.parse(layout)
    check_lang(lang)
    if not layout.is_thermal:
        raise ValueError("a ticket slip prints on an 80mm or 58mm roll")
    styles = styles_for(layout)
    number_style = replace(
        styles.banner, size=styles.body.size * 5, leading=styles.body.size * 5.6
    )
    story: list[Flowable] = heading(styles, view.mpp_name, _w("slip_title", lang))
    story += [divider(), TextBlock([(view.number, True)], number_style)]
    if view.priority_name:
        story.append(TextBlock([(_priority(view, lang), True)], styles.doc_title))
    story.append(divider())
    story += label_rows(styles.label, _rows(view, lang))
    story += [gap(4), TextBlock(_w("slip_wait_hint", lang), styles.center_small)]
    meta = Meta(
        title=f"{_w('slip_title', lang)} {view.number}",
        author=view.mpp_name,
        subject=view.number,
        lang=lang,
    )
    return thermal_pdf(story, layout, meta)


def ticket_slip_escpos(
    view: TicketSlipView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The same slip as ESC/POS bytes for a raw thermal printer (``--to``)."""
    from mppdesk.printing.escpos import _Paper

    layout = Layout.parse(layout)
    check_lang(lang)
    paper = _Paper(layout)
    paper.centred(view.mpp_name, bold=True)
    paper.centred(_w("slip_title", lang), bold=True)
    paper.rule()
    paper.printer.set(align="center", bold=True, double_height=True, double_width=True)
    paper.printer.text(view.number + "\n")
    paper.printer.set(align="left", bold=False, normal_textsize=True)
    if view.priority_name:
        paper.centred(_priority(view, lang), bold=True)
    paper.rule()
    for label, value in _rows(view, lang):
        paper.pair(label, value)
    paper.line()
    paper.line(_w("slip_wait_hint", lang))
    return paper.finish()
