"""The payment block of receipts and slips: billing code, amount, expiry, state and QRIS.

A citizen pays a fee-bearing service with the agency's billing code (for PNBP the 15-digit
SIMPONI code) at a bank, post office or app, or, where the MPP collects a regional fee itself,
by scanning the dynamic QRIS printed beside the code. The code is printed large (it is typed
at a teller), the expiry in counter time, and a paid bill shows its NTPN.
"""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from mppdesk.printing.blocks import columns, labelled
from mppdesk.printing.pages import PAPERS, Styles, gap, qr_code
from mppdesk.printing.text import date_time, rupiah, t
from mppdesk.printing.textblock import TextBlock
from mppdesk.printing.views import Layout, PaymentView

# A QRIS text is about 200 characters (a version 9-10 code): at 203 dpi these sizes give
# every module at least 4 printer dots, which phone cameras read at arm's length.
QRIS_SIZE = {Layout.THERMAL_80: 30 * mm, Layout.THERMAL_58: 36 * mm, Layout.A4: 36 * mm}


def payment_lines(
    payment: PaymentView, lang: str, styles: Styles, tz_label: str | None
) -> list[Flowable]:
    """The bill as text: code, kind, amount, pay-before and state."""
    out: list[Flowable] = [TextBlock([(t("payment", lang), True)], styles.body)]
    if payment.code is not None:
        out.append(TextBlock(t("billing_code", lang), styles.small))
        out.append(TextBlock(payment.code, styles.tracking))
        if payment.kind:
            out.append(TextBlock(t(f"bill_kind_{payment.kind}", lang), styles.small))
    else:
        out.append(labelled(styles.body, t("billing_code", lang), t("billing_pending", lang)))
    out.append(labelled(styles.body, t("pay_amount", lang), rupiah(payment.amount, lang)))
    if payment.expires_at is not None and payment.state == "unpaid":
        out.append(
            labelled(styles.body, t("pay_before", lang), date_time(payment.expires_at, lang, tz_label))
        )
    out.append(labelled(styles.body, t("pay_state", lang), _state_text(payment, lang, tz_label)))
    return out


def payment_rows(payment: PaymentView, lang: str, tz_label: str | None) -> list[tuple[str, str]]:
    """The bill as label/value pairs, for papers without layout (ESC/POS)."""
    rows = [(t("billing_code", lang), payment.code or t("billing_pending", lang))]
    rows.append((t("pay_amount", lang), rupiah(payment.amount, lang)))
    if payment.expires_at is not None and payment.state == "unpaid":
        rows.append((t("pay_before", lang), date_time(payment.expires_at, lang, tz_label)))
    rows.append((t("pay_state", lang), _state_text(payment, lang, tz_label)))
    if payment.qris_problem:
        amount = rupiah(payment.amount, lang)
        rows.append(("QRIS", t(f"qris_problem_{payment.qris_problem}", lang, amount=amount)))
    return rows


def _state_text(payment: PaymentView, lang: str, tz_label: str | None) -> str:
    if payment.state == "paid":
        when = date_time(payment.paid_at, lang, tz_label) if payment.paid_at else ""
        return t("pay_paid", lang, ntpn=payment.ntpn or "", time=when)
    if payment.state == "expired":
        return t("pay_expired", lang)
    return t("pay_unpaid", lang)


def payment_block(
    payment: PaymentView, layout: Layout, lang: str, styles: Styles, tz_label: str | None
) -> list[Flowable]:
    """The bill's lines with its QRIS beside them (under them on 58 mm paper); a QRIS that
    could not be made is said in words, so the citizen pays with the code instead."""
    lines = payment_lines(payment, lang, styles, tz_label)
    amount = rupiah(payment.amount, lang)
    if payment.qris_problem:
        lines.append(
            TextBlock(t(f"qris_problem_{payment.qris_problem}", lang, amount=amount), styles.small)
        )
    if not qris_to_print(payment):
        return [gap(2), *lines]
    size = QRIS_SIZE[layout]
    qr = [qr_code(payment.qris, size), TextBlock(t("qris_caption", lang, amount=amount), styles.center_small)]
    if layout is Layout.THERMAL_58:
        return [gap(2), *lines, gap(2), *qr]
    width = PAPERS[layout].printable_width
    text_width = width - size - 3 * mm
    if layout is Layout.A4:  # the bill under the service's facts, the QR beside it
        text_width = min(text_width, 90 * mm)
    return [gap(2), columns([lines, qr], [text_width, size + 3 * mm])]


def qris_to_print(payment: PaymentView) -> bool:
    """A QRIS is printed only while the bill can still be paid."""
    return bool(payment.qris) and payment.state == "unpaid"
