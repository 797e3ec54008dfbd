"""Berita acara serah terima berkas: the paper trail for agencies without an API.

For an agency configured as ``manual`` the files of the day's submissions go to the
agency's own staff by hand. This A4 record lists them (one agency, one day per record)
with a check box per folder and places for both sides to sign, so a missing folder is
noticed at the handover and not weeks later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Table, TableStyle

from mppdesk.printing.blocks import (
    GRID_TABLE,
    PLAIN_TABLE,
    columns,
    copy_banner,
    divider,
    heading,
    label_rows,
)
from mppdesk.printing.pages import PAPERS, Meta, Styles, a4_pdf, gap, styles_for
from mppdesk.printing.text import (
    check_lang,
    date_time,
    id_label,
    local_time,
    mask_identifier,
    t,
    time_of_day,
    weekday_date,
)
from mppdesk.printing.textblock import FillLine, TextBlock
from mppdesk.printing.views import HandoverRowView, HandoverView, Layout

log = logging.getLogger(__name__)

# No, tracking number, applicant, service, received, files, check (sums to 174 mm).
_COLUMNS_MM = (8, 37, 36, 34, 16, 33, 10)


def render_handover(views: HandoverView | Sequence[HandoverView], lang: str = "id") -> bytes:
    """One record per view (each agency and day on its own pages), A4, as PDF bytes."""
    check_lang(lang)
    if isinstance(views, HandoverView):
        views = [views]
    if not views:
        raise ValueError("a handover needs at least one agency and day")
    styles = styles_for(Layout.A4)
    story: list[Flowable] = []
    for index, view in enumerate(views):
        if index:
            story.append(PageBreak())
        story += _record(view, lang, styles)
    first = views[0]
    title = t("handover_title", lang)
    meta = Meta(
        title=f"{title} {first.agency_short} {first.day.isoformat()}",
        author=first.mpp_name,
        subject=", ".join(f"{v.agency_short} {v.day.isoformat()}" for v in views),
        lang=lang,
    )
    return a4_pdf(
        story,
        meta,
        header=f"{first.mpp_name} · {title}",
        footer=lambda page: t("page", lang, n=page),
        watermark=t("copy_mark", lang) if any(v.reprinted_at for v in views) else None,
    )


def _record(view: HandoverView, lang: str, styles: Styles) -> list[Flowable]:
    story: list[Flowable] = heading(
        styles, view.mpp_name, t("handover_title", lang), view.mpp_address
    )
    story += copy_banner(styles, view.reprinted_at, lang, view.tz_label)
    story.append(divider())
    story += label_rows(
        styles.label,
        [
            (t("agency", lang), view.agency_name),
            (t("day", lang), weekday_date(view.day, lang)),
            (t("officer", lang), view.officer),
            (t("printed_label", lang), date_time(view.printed_at, lang, view.tz_label)),
        ],
    )
    story.append(gap(4))
    intro = t(
        "handover_intro",
        lang,
        day=weekday_date(view.day, lang),
        mpp=view.mpp_name,
        agency=view.agency_short,
    )
    story.append(TextBlock(intro, styles.body))
    story.append(gap(4))
    if view.rows:
        story.append(_table(view.rows, view.day, lang, styles, view.tz_label))
    else:
        story.append(TextBlock([(t("handover_empty", lang), True)], styles.body))
    story.append(gap(4))
    story.append(TextBlock([(t("handover_count", lang, n=len(view.rows)), True)], styles.body))
    story.append(gap(10))
    story.append(KeepTogether(_signatures(view, lang, styles)))
    return story


def _received(row: HandoverRowView, day: date, lang: str, tz_label: str | None) -> str:
    """The time alone for the record's own day; date and time for older files."""
    if local_time(row.received_at, tz_label).date() == day:
        return time_of_day(row.received_at, lang, tz_label)
    return date_time(row.received_at, lang, tz_label)


def _table(
    rows: Sequence[HandoverRowView], day: date, lang: str, styles: Styles, tz_label: str | None
) -> Table:
    cell = styles.cell

    def header(key: str) -> TextBlock:
        return TextBlock([(t(key, lang), True)], cell)

    data: list[list[object]] = [
        [
            header("col_no"),
            header("tracking"),
            header("applicant"),
            header("col_service"),
            header("col_received"),
            header("col_documents"),
            header("col_check"),
        ]
    ]
    for number, row in enumerate(rows, start=1):
        applicant: list[Flowable] = [TextBlock(row.applicant_name, cell)]
        if row.applicant_id:
            masked = mask_identifier(row.applicant_id, row.applicant_id_kind)
            applicant.append(TextBlock(f"{id_label(row.applicant_id_kind, lang)} {masked}", cell))
        files: list[Flowable] = [TextBlock(doc, cell, mark="–") for doc in row.documents]
        if row.note:
            files.append(TextBlock(row.note, cell))
        data.append(
            [
                TextBlock(str(number), cell),
                TextBlock([(row.tracking_number, True)], cell),
                applicant,
                TextBlock(row.service_name, cell),
                TextBlock(_received(row, day, lang, tz_label), cell),
                files,
                TextBlock("☐", styles.body),
            ]
        )
    table = Table(
        data, colWidths=[w * mm for w in _COLUMNS_MM], repeatRows=1, splitInRow=1, hAlign="LEFT"
    )
    table.setStyle(GRID_TABLE)
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 1.2, "black")]))
    return table


def _signatures(view: HandoverView, lang: str, styles: Styles) -> list[Flowable]:
    half = PAPERS[Layout.A4].printable_width / 2 - 6 * mm

    def side(role_key: str, org: str, name: str | None) -> list[Flowable]:
        out: list[Flowable] = [
            TextBlock([(t(role_key, lang), True)], styles.body),
            TextBlock(t("staff_of", lang, org=org), styles.body),
            gap(6),
            FillLine(f"{t('signature', lang)}:", styles.body, height_lines=4),
        ]
        out.append(FillLine(f"{t('name', lang)}:", styles.body, value=name))
        out.append(FillLine(f"{t('staff_id', lang)}:", styles.body))
        out.append(FillLine(f"{t('date_time', lang)}:", styles.body))
        return out

    table = columns(
        [
            side("handed_by", view.mpp_name, view.officer),
            "",
            side("received_by", view.agency_short, None),
        ],
        [half, 12 * mm, half],
        PLAIN_TABLE,
    )
    return [table]
