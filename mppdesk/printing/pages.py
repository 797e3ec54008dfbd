"""Paper, styles and the two ways a document becomes PDF bytes.

Thermal rolls have no pages: the flowables are laid out at the printable width (72 mm of
80 mm paper, 48 mm of 58 mm), measured with ``wrap()``, and drawn top to bottom on one page
exactly as tall as the content. A4 documents go through a normal doc template with a
header, page numbers and, for reprints, a "SALINAN" watermark.

Importing this module also sets reportlab up: no host is trusted for fetching anything
(an ``<img src>`` that slipped through could otherwise reach the network), and a bug in
reportlab's ToUnicode map for characters beyond U+FFFF (emoji) is corrected so their text
stays readable in the PDF.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from reportlab import rl_config
from reportlab.graphics.barcode import code128
from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import ttfonts
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    PageTemplate,
    Spacer,
)

from mppdesk.printing.fonts import BOLD, REGULAR, register_fonts
from mppdesk.printing.markup import clean
from mppdesk.printing.textblock import TextStyle, fit_text
from mppdesk.printing.views import Layout

log = logging.getLogger(__name__)

# reportlab keeps global state (font subsets, caches); one document at a time per process.
_render_lock = threading.Lock()


def _configure_reportlab() -> None:
    rl_config.trustedHosts = None  # no host is trusted: every URL fetch is refused
    rl_config.trustedSchemes = []
    rl_config.useA85 = 0  # binary streams: smaller files, less work than ASCII85 text
    original = ttfonts.makeToUnicodeCMap
    if "<1F600>" not in original("probe", [0x1F600]):
        return  # fixed upstream

    def to_unicode_cmap(fontname: str, subset: Sequence[int]) -> str:
        # reportlab writes "<%04X>" for every code point, which gives an odd-length hex
        # string past U+FFFF; the CMap needs the UTF-16BE surrogate pair there.
        cmap = original(fontname, subset)
        for code in subset:
            if code > 0xFFFF:
                pair = chr(code).encode("utf-16-be").hex().upper()
                cmap = cmap.replace(f"> <{code:04X}>\n", f"> <{pair}>\n", 1)
        return cmap

    ttfonts.makeToUnicodeCMap = to_unicode_cmap


_configure_reportlab()


@dataclass(frozen=True)
class Paper:
    layout: Layout
    page_width: float
    printable_width: float
    margin_top: float
    margin_bottom: float
    base_size: float  # body text size in points

    @property
    def margin_x(self) -> float:
        return (self.page_width - self.printable_width) / 2


PAPERS = {
    Layout.THERMAL_80: Paper(Layout.THERMAL_80, 80 * mm, 72 * mm, 4 * mm, 8 * mm, 8.0),
    Layout.THERMAL_58: Paper(Layout.THERMAL_58, 58 * mm, 48 * mm, 4 * mm, 8 * mm, 7.0),
    Layout.A4: Paper(Layout.A4, A4[0], A4[0] - 36 * mm, 20 * mm, 18 * mm, 9.0),
}


@dataclass(frozen=True)
class Styles:
    title: TextStyle  # the MPP's name
    doc_title: TextStyle  # "TANDA TERIMA PERMOHONAN"
    heading: TextStyle  # a service's name
    body: TextStyle
    small: TextStyle
    center_small: TextStyle
    tracking: TextStyle
    item: TextStyle  # hanging mark for "✓ …" lists
    small_item: TextStyle
    label: TextStyle  # label hanging in front of its value
    banner: TextStyle  # "SALINAN" in its box
    cell: TextStyle  # table cells on A4


@cache
def styles_for(layout: Layout) -> Styles:
    register_fonts()
    size = PAPERS[layout].base_size
    small = size * 0.85

    def style(**kw: object) -> TextStyle:
        base: dict[str, object] = {
            "font": REGULAR,
            "bold_font": BOLD,
            "size": size,
            "leading": size * 1.25,
        }
        base.update(kw)
        return TextStyle(**base)  # type: ignore[arg-type]

    label_width = {Layout.THERMAL_80: 21 * mm, Layout.THERMAL_58: 17 * mm}.get(layout, 28 * mm)
    return Styles(
        title=style(font=BOLD, size=size * 1.35, leading=size * 1.6, align="center"),
        doc_title=style(
            font=BOLD, size=size * 1.1, leading=size * 1.45, align="center", space_before=2
        ),
        heading=style(font=BOLD, size=size * 1.1, leading=size * 1.4, space_before=size * 0.3),
        body=style(),
        small=style(size=small, leading=small * 1.25),
        center_small=style(size=small, leading=small * 1.25, align="center"),
        tracking=style(font=BOLD, size=size * 1.25, leading=size * 1.5),
        item=style(indent=size * 1.2),
        small_item=style(size=small, leading=small * 1.25, indent=small),
        label=style(indent=label_width),
        banner=style(font=BOLD, size=size * 1.5, leading=size * 1.8, align="center"),
        cell=style(size=small, leading=small * 1.2),
    )


def rule(dashed: bool = True, space: float = 3) -> HRFlowable:
    return HRFlowable(
        width="100%",
        thickness=0.6,
        color=colors.black,
        spaceBefore=space,
        spaceAfter=space,
        dash=(2, 2) if dashed else None,
    )


def gap(points: float) -> Spacer:
    return Spacer(1, points)


def qr_code(value: str, size: float) -> QrCode:
    """A QR code ``size`` points square, with a two-module quiet zone inside it."""
    code = QrCode(clean(value), width=size, height=size, qrBorder=2, qrLevel="M")
    code.hAlign = "CENTER"
    return code


def barcode_128(value: str, max_width: float, height: float = 9 * mm) -> Flowable | None:
    """A Code 128 barcode no wider than ``max_width``, or None for a value it cannot carry."""
    if not value or len(value) > 40 or not all(" " <= ch <= "~" for ch in value):
        return None
    bar_width = 0.33 * mm
    barcode = code128.Code128(
        value, barWidth=bar_width, barHeight=height, humanReadable=False, quiet=False
    )
    if barcode.width > max_width:
        barcode = code128.Code128(
            value,
            barWidth=bar_width * max_width / barcode.width,
            barHeight=height,
            humanReadable=False,
            quiet=False,
        )
    barcode.hAlign = "LEFT"
    return barcode


@dataclass(frozen=True)
class Meta:
    """PDF document information: what a viewer shows as title, author and subject."""

    title: str
    author: str
    subject: str = ""
    lang: str = "id"


def _apply_meta(canvas: Canvas, meta: Meta) -> None:
    canvas.setTitle(clean(meta.title))
    canvas.setAuthor(clean(meta.author))
    canvas.setSubject(clean(meta.subject))
    canvas.setCreator("MPP Desk")


def _x_for(flowable: Flowable, width: float, avail: float) -> float:
    align = str(getattr(flowable, "hAlign", "LEFT")).upper()
    if align in ("CENTER", "CENTRE"):
        return (avail - width) / 2
    if align == "RIGHT":
        return avail - width
    return 0.0


def thermal_pdf(story: Sequence[Flowable], layout: Layout, meta: Meta) -> bytes:
    """One page as wide as the roll and exactly as tall as the content."""
    paper = PAPERS[layout]
    avail = paper.printable_width
    placed = []
    height = 0.0
    for index, flowable in enumerate(story):
        before = flowable.getSpaceBefore() if index else 0.0
        width, h = flowable.wrap(avail, 1e7)
        after = flowable.getSpaceAfter()
        placed.append((flowable, before, width, h, after))
        height += before + h + after
    if placed:
        height -= placed[-1][4]  # nothing follows the last flowable
    page_height = paper.margin_top + height + paper.margin_bottom
    buffer = io.BytesIO()
    with _render_lock:
        canvas = Canvas(
            buffer,
            pagesize=(paper.page_width, page_height),
            invariant=1,
            pageCompression=1,
            lang=meta.lang,
            initialFontName=REGULAR,  # else Helvetica (not embedded) is listed on every page
            initialFontSize=paper.base_size,
        )
        _apply_meta(canvas, meta)
        y = page_height - paper.margin_top
        for flowable, before, width, h, after in placed:
            y -= before + h
            flowable.drawOn(canvas, paper.margin_x + _x_for(flowable, width, avail), y)
            y -= after
        canvas.showPage()
        canvas.save()
    return buffer.getvalue()


def a4_pdf(
    story: list[Flowable],
    meta: Meta,
    *,
    header: str,
    footer: Callable[[int], str],
    watermark: str | None = None,
) -> bytes:
    """A4 pages with a running header, a page footer and an optional diagonal watermark."""
    register_fonts()
    paper = PAPERS[Layout.A4]
    page_w, page_h = A4
    buffer = io.BytesIO()

    def decorate(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(REGULAR, 7.5)
        canvas.drawString(
            paper.margin_x,
            page_h - 12 * mm,
            fit_text(clean(header), REGULAR, 7.5, paper.printable_width),
        )
        canvas.setLineWidth(0.4)
        canvas.line(paper.margin_x, page_h - 13.5 * mm, page_w - paper.margin_x, page_h - 13.5 * mm)
        canvas.drawRightString(page_w - paper.margin_x, 10 * mm, footer(doc.page))
        if watermark:
            # As large as fits three quarters of the page's diagonal, 90 pt at most.
            diagonal = (page_w**2 + page_h**2) ** 0.5
            size = min(90.0, 0.75 * diagonal / canvas.stringWidth(watermark, BOLD, 1))
            canvas.setFillGray(0.85)
            canvas.setFont(BOLD, size)
            canvas.translate(page_w / 2, page_h / 2)
            canvas.rotate(45)
            canvas.drawCentredString(0, -30, watermark)
        canvas.restoreState()

    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=paper.margin_x,
        rightMargin=paper.margin_x,
        topMargin=paper.margin_top,
        bottomMargin=paper.margin_bottom,
        title=clean(meta.title),
        author=clean(meta.author),
        subject=clean(meta.subject),
        creator="MPP Desk",
        invariant=1,
        lang=meta.lang,
        initialFontName=REGULAR,
        initialFontSize=paper.base_size,
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=decorate)])
    with _render_lock:
        doc.build(list(story))
    return buffer.getvalue()
