"""The "berkas belum lengkap" slip: exactly what the citizen must bring back.

Printed after a visit where some requirement is missing (a complete visit gets a slip that
says nothing is missing, so a reprint on request never confuses). Per service it lists the
missing items with their qualifiers and the conditional items that apply to this
applicant, and leaves a place for the officer's name and initials.
"""

from __future__ import annotations

import logging

from reportlab.platypus import Flowable

from mppdesk.printing.blocks import copy_banner, divider, heading, item_lines, label_rows
from mppdesk.printing.pages import Meta, Styles, a4_pdf, gap, styles_for, thermal_pdf
from mppdesk.printing.payment import payment_lines
from mppdesk.printing.text import (
    check_lang,
    date_time,
    id_label,
    item_text,
    long_date,
    mask_identifier,
    t,
)
from mppdesk.printing.textblock import FillLine, TextBlock
from mppdesk.printing.views import Layout, SlipServiceView, SlipView

log = logging.getLogger(__name__)


def render_slip(
    view: SlipView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The slip for one visit as PDF bytes."""
    layout = Layout.parse(layout)
    check_lang(lang)
    styles = styles_for(layout)
    title = t("slip_title_complete" if view.complete else "slip_title", lang)
    story: list[Flowable] = heading(styles, view.mpp_name, title)
    story += copy_banner(styles, view.reprinted_at, lang, view.tz_label)
    story.append(divider())
    rows = [
        (t("desk", lang), view.desk),
        (t("ticket", lang), view.ticket),
        (t("officer", lang), view.officer),
        (t("time", lang), date_time(view.printed_at, lang, view.tz_label)),
        (t("applicant", lang), view.applicant_name),
    ]
    if view.applicant_id:
        rows.append(
            (
                id_label(view.applicant_id_kind, lang),
                mask_identifier(view.applicant_id, view.applicant_id_kind),
            )
        )
    story += label_rows(styles.label, rows)
    story.append(divider())
    if view.complete:
        story.append(TextBlock([(t("slip_complete", lang), True)], styles.body))
        story.append(gap(2))
        story += item_lines(
            styles.item, "✓", [_service_title(service) for service in view.services]
        )
    else:
        story.append(TextBlock(t("slip_intro", lang), styles.body))
        for number, service in enumerate(view.services, start=1):
            story += _service_block(number, service, lang, styles)
        story.append(gap(4))
        if view.return_by is not None:
            story.append(
                TextBlock(
                    [(t("return_by", lang, date=long_date(view.return_by, lang)), True)],
                    styles.body,
                )
            )
        else:
            story.append(TextBlock([(t("return_any", lang), True)], styles.body))
    for service in view.services:  # the bills to pay meanwhile: code, amount, expiry
        if service.payment is not None:
            story += [divider(), TextBlock(_service_title(service), styles.small)]
            story += payment_lines(service.payment, lang, styles, view.tz_label)
    story.append(divider())
    story.append(FillLine(f"{t('officer_name', lang)}:", styles.body))
    story.append(FillLine(f"{t('initials', lang)}:", styles.body))
    meta = Meta(
        title=f"{title} {view.ticket}", author=view.mpp_name, subject=view.ticket, lang=lang
    )
    if layout.is_thermal:
        return thermal_pdf(story, layout, meta)
    return a4_pdf(
        story,
        meta,
        header=f"{view.mpp_name} · {title} · {view.ticket}",
        footer=lambda page: t("page", lang, n=page),
        watermark=t("copy_mark", lang) if view.reprinted_at else None,
    )


def _service_title(service: SlipServiceView) -> str:
    title = f"{service.service_name} ({service.agency_name})"
    if service.tracking_number:
        title += f" — {service.tracking_number}"
    return title


def _service_block(
    number: int, service: SlipServiceView, lang: str, styles: Styles
) -> list[Flowable]:
    out: list[Flowable] = [
        TextBlock(f"{number}. {service.service_name}", styles.heading),
        TextBlock(service.agency_name, styles.small),
    ]
    if service.tracking_number:
        out.append(
            TextBlock(
                [(f"{t('tracking', lang)}: ", False), (service.tracking_number, True)], styles.body
            )
        )
    if service.missing:
        out.append(TextBlock([(f"{t('still_missing', lang)}:", True)], styles.body))
        out += item_lines(styles.item, "☐", [item_text(item, lang) for item in service.missing])
    else:
        out.append(TextBlock(t("slip_service_complete", lang), styles.body))
    missing_labels = {item.label for item in service.missing}
    conditional = [item for item in service.conditional if item.label not in missing_labels]
    if conditional:
        out.append(TextBlock([(f"{t('conditional_apply', lang)}:", True)], styles.body))
        out += item_lines(styles.item, "•", [item_text(item, lang) for item in conditional])
    return out
