"""The requirement checklist (daftar persyaratan) printed from the catalog alone.

Citizens ask at the information desk what a service needs before they queue; this prints
one or several services' standard (requirements with their qualifiers, fee, completion
time, product, and what this MPP does not offer) without any visit or store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from reportlab.platypus import Flowable, KeepTogether

from mppdesk.forms.definitions import Agency, Service
from mppdesk.printing.blocks import copy_banner, divider, heading, item_lines, labelled
from mppdesk.printing.pages import Meta, a4_pdf, gap, styles_for, thermal_pdf
from mppdesk.printing.text import (
    catalog_fee_text,
    check_lang,
    date_time,
    item_text,
    requirement_item,
    sla_text,
    t,
)
from mppdesk.printing.textblock import TextBlock
from mppdesk.printing.views import ChecklistHeader, Layout

log = logging.getLogger(__name__)


def render_checklist(
    services: Sequence[tuple[Agency, Service]],
    layout: Layout | str = Layout.A4,
    lang: str = "id",
    header: ChecklistHeader | None = None,
) -> bytes:
    """The checklist of each (agency, service) pair, in the order given, as PDF bytes."""
    layout = Layout.parse(layout)
    check_lang(lang)
    if not services:
        raise ValueError("a checklist needs at least one service")
    header = header or ChecklistHeader()
    styles = styles_for(layout)
    title = t("checklist_title", lang)
    if header.mpp_name:
        story: list[Flowable] = heading(styles, header.mpp_name, title)
    else:
        story = [TextBlock(title, styles.doc_title)]
    story += copy_banner(styles, header.reprinted_at, lang, header.tz_label)
    story.append(divider())
    for index, (agency, service) in enumerate(services):
        block = _service_block(agency, service, lang, layout, header)
        if index:
            block.insert(0, divider())
        story += block if layout.is_thermal else [KeepTogether(block)]
    story.append(divider())
    story.append(TextBlock(t("checklist_footer", lang), styles.small))
    if header.extra_note:
        story.append(TextBlock(header.extra_note, styles.small))
    if header.printed_at is not None:
        story.append(
            TextBlock(
                t("printed", lang, when=date_time(header.printed_at, lang, header.tz_label)),
                styles.small,
            )
        )
    names = ", ".join(service.name.get(lang) for _, service in services)
    meta = Meta(
        title=f"{title}: {names}", author=header.mpp_name or "MPP Desk", subject=names, lang=lang
    )
    if layout.is_thermal:
        return thermal_pdf(story, layout, meta)
    return a4_pdf(
        story,
        meta,
        header=" · ".join(part for part in (header.mpp_name, title) if part),
        footer=lambda page: t("page", lang, n=page),
        watermark=t("copy_mark", lang) if header.reprinted_at else None,
    )


def _service_block(
    agency: Agency, service: Service, lang: str, layout: Layout, header: ChecklistHeader
) -> list[Flowable]:
    styles = styles_for(layout)
    ticked = header.ticked.get(service.code)
    out: list[Flowable] = [
        TextBlock(agency.name.get(lang), styles.small),
        TextBlock(service.name.get(lang), styles.heading),
    ]
    if service.description is not None:
        out.append(TextBlock(service.description.get(lang), styles.small))
    out.append(gap(3))
    out.append(TextBlock([(f"{t('requirements', lang)}:", True)], styles.body))
    if service.requirements and ticked is not None:
        # A visit's copy: what was handed over is ticked with how, the rest left open.
        for req in service.requirements:
            state = ticked.get(req.id)
            line = item_text(requirement_item(req, lang, state), lang)
            out += item_lines(styles.item, "✓" if state else "☐", [line])
    elif service.requirements:
        lines = [item_text(requirement_item(req, lang), lang) for req in service.requirements]
        out += item_lines(styles.item, "☐", lines)
    else:
        out.append(TextBlock(t("no_requirements", lang), styles.body))
    out.append(gap(3))
    out.append(labelled(styles.body, t("fee", lang), catalog_fee_text(service.fee, lang)))
    out.append(labelled(styles.body, t("sla", lang), sla_text(service.sla, lang)))
    out.append(labelled(styles.body, t("product", lang), service.product.get(lang)))
    where = header.where.get(service.code)
    if where:
        out.append(labelled(styles.body, t("where_to_go", lang), where))
    if service.not_offered:
        out.append(gap(2))
        out.append(TextBlock([(f"{t('not_offered', lang)}:", True)], styles.body))
        out += item_lines(styles.item, "•", [note.get(lang) for note in service.not_offered])
    if agency.contact is not None:
        out.append(gap(2))
        out.append(TextBlock(agency.contact.get(lang), styles.small))
    return out
