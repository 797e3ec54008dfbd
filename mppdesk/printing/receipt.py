"""The tanda terima: proof that the MPP took each request of a visit.

One receipt per visit lists every service with its tracking number (and a QR code the
counter can scan), fee, due date, the documents received and still missing, and where the
request stands with the agency, followed by the personal-data notice and how to check
status.
"""

from __future__ import annotations

import logging

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from mppdesk.printing.blocks import (
    columns,
    copy_banner,
    divider,
    heading,
    item_lines,
    label_rows,
    labelled,
)
from mppdesk.printing.pages import (
    PAPERS,
    Meta,
    Styles,
    a4_pdf,
    barcode_128,
    gap,
    qr_code,
    styles_for,
    thermal_pdf,
)
from mppdesk.printing.payment import payment_block
from mppdesk.printing.text import (
    check_lang,
    date_time,
    fee_text,
    id_label,
    item_text,
    long_date,
    mask_identifier,
    send_state_text,
    t,
    total_fee_text,
)
from mppdesk.printing.textblock import TextBlock
from mppdesk.printing.views import Layout, ReceiptView, ServiceLineView

log = logging.getLogger(__name__)

QR_SIZE = {Layout.THERMAL_80: 21 * mm, Layout.THERMAL_58: 20 * mm, Layout.A4: 26 * mm}


def render_receipt(
    view: ReceiptView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The visit's receipt as PDF bytes, for a thermal roll or an A4 sheet."""
    layout = Layout.parse(layout)
    check_lang(lang)
    story = receipt_story(view, layout, lang)
    meta = Meta(
        title=f"{t('receipt_title', lang)} {view.ticket}",
        author=view.mpp_name,
        subject=", ".join(line.tracking_number for line in view.services),
        lang=lang,
    )
    if layout.is_thermal:
        return thermal_pdf(story, layout, meta)
    return a4_pdf(
        story,
        meta,
        header=f"{view.mpp_name} · {t('receipt_title', lang)} · {view.ticket}",
        footer=lambda page: t("page", lang, n=page),
        watermark=t("copy_mark", lang) if view.reprinted_at else None,
    )


def receipt_story(view: ReceiptView, layout: Layout, lang: str) -> list[Flowable]:
    styles = styles_for(layout)
    story: list[Flowable] = heading(
        styles, view.mpp_name, t("receipt_title", lang), view.mpp_address
    )
    story += copy_banner(styles, view.reprinted_at, lang, view.tz_label)
    story.append(divider())
    visit_rows = [
        (t("desk", lang), view.desk),
        (t("ticket", lang), view.ticket),
        (t("officer", lang), view.officer),
        (t("time", lang), date_time(view.printed_at, lang, view.tz_label)),
    ]
    person_rows = [(t("applicant", lang), view.applicant_name)]
    if view.applicant_id:
        masked = mask_identifier(view.applicant_id, view.applicant_id_kind)
        person_rows.append((id_label(view.applicant_id_kind, lang), masked))
    if view.proxy is not None:
        proxy = view.proxy.name
        if view.proxy.id_number:
            masked = mask_identifier(view.proxy.id_number, view.proxy.id_kind)
            proxy += f" ({id_label(view.proxy.id_kind, lang)} {masked})"
        if view.proxy.basis:
            proxy += f" — {view.proxy.basis}"
        person_rows.append((t("proxy", lang), proxy))
    if layout is Layout.A4:
        half = PAPERS[layout].printable_width / 2
        story.append(
            columns(
                [
                    label_rows(styles.label, visit_rows),
                    label_rows(styles.label, person_rows, 22 * mm),
                ],
                [half, half],
            )
        )
    else:
        story += label_rows(styles.label, visit_rows + person_rows)
    story.append(divider())
    story.append(
        TextBlock([(t("services_heading", lang, n=len(view.services)), True)], styles.body)
    )
    for number, line in enumerate(view.services, start=1):
        story += _service_block(number, line, layout, lang, styles)
        if line.payment is not None:
            story += payment_block(line.payment, layout, lang, styles, view.tz_label)
        story.append(divider())
    story.append(labelled(styles.body, t("total", lang), total_fee_text(view.services, lang)))
    story.append(gap(3))
    story.append(TextBlock(view.status_help or t("status_help", lang), styles.body))
    story.append(TextBlock(t("keep_receipt", lang), styles.body))
    story.append(divider())
    story += _data_notice(view, lang, styles)
    return story


def _service_block(
    number: int, line: ServiceLineView, layout: Layout, lang: str, styles: Styles
) -> list[Flowable]:
    out: list[Flowable] = [
        TextBlock(f"{number}. {line.service_name}", styles.heading),
        TextBlock(line.agency_name, styles.small),
        gap(2),
    ]
    fee = fee_text(line.fee, lang)
    if line.fee_note:
        fee += f" ({line.fee_note})"
    due = long_date(line.sla_due, lang) if line.sla_due else t("due_unknown", lang)
    number_lines: list[Flowable] = [
        TextBlock(t("tracking", lang), styles.small),
        TextBlock(line.tracking_number, styles.tracking),
    ]
    fee_lines: list[Flowable] = [
        labelled(styles.body, t("fee", lang), fee),
        labelled(styles.body, t("due", lang), due),
    ]
    received = [item_text(item, lang) for item in line.received]
    documents: list[Flowable] = [
        TextBlock(
            [(f"{t('received', lang)}:", True), ("" if received else " " + t("none", lang), False)],
            styles.body,
        )
    ]
    documents += item_lines(styles.item, "✓", received)
    if line.missing:
        documents.append(TextBlock([(f"{t('missing', lang)}:", True)], styles.body))
        documents += item_lines(styles.item, "✗", [item_text(item, lang) for item in line.missing])
    status = labelled(styles.body, t("status", lang), send_state_text(line, lang))
    qr_size = QR_SIZE[layout]
    qr = qr_code(line.tracking_number, qr_size)
    if layout is Layout.THERMAL_58:
        # Too narrow for a QR beside the text: the code goes under the tracking number.
        out += [*number_lines, gap(2), qr, gap(2), *fee_lines, gap(2), *documents, gap(2), status]
    elif layout is Layout.THERMAL_80:
        text_width = PAPERS[layout].printable_width - qr_size - 3 * mm
        out += [columns([qr, number_lines + fee_lines], [qr_size + 3 * mm, text_width]), gap(2)]
        out += [*documents, gap(2), status]
    else:
        facts_width = 64 * mm
        docs_width = PAPERS[layout].printable_width - qr_size - 3 * mm - facts_width
        barcode = barcode_128(line.tracking_number, facts_width - 6 * mm)
        facts = (
            number_lines + ([gap(1), barcode, gap(2)] if barcode is not None else []) + fee_lines
        )
        out.append(
            columns(
                [qr, facts, [*documents, gap(2), status]],
                [qr_size + 3 * mm, facts_width, docs_width],
            )
        )
    return out


def _data_notice(view: ReceiptView, lang: str, styles: Styles) -> list[Flowable]:
    out: list[Flowable] = [
        TextBlock([(t("notice_title", lang), True)], styles.body),
        TextBlock(t("notice_purpose", lang), styles.small),
    ]
    # What each agency receives, grouped by agency in the order the services were listed.
    recipients: dict[str, list[str]] = {}
    contacts: dict[str, str] = {}
    for line in view.services:
        items = recipients.setdefault(line.agency_short, [])
        shared = list(line.data_shared) or [t("notice_form_data", lang, service=line.service_name)]
        items.extend(value for value in shared if value not in items)
        if line.agency_contact:
            contacts.setdefault(line.agency_short, line.agency_contact)
    for agency, items in recipients.items():
        out.append(
            TextBlock(
                t("notice_recipient", lang, agency=agency, items=", ".join(items)),
                styles.small_item,
                "•",
            )
        )
    contact = view.data_contact or t("notice_ask_default", lang)
    out.append(TextBlock(t("notice_ask", lang, contact=contact), styles.small))
    for agency, agency_contact in contacts.items():
        out.append(
            TextBlock(
                t("agency_contact", lang, agency=agency, contact=agency_contact), styles.small
            )
        )
    return out
