"""How a submission's fee is paid, as the documents and views show it.

The agency's bill (stored by the sync worker, ``mppdesk.store.billing``) and, for agencies
whose fees the MPP collects itself (``[qris] agencies``), a dynamic QRIS for the amount: the
bill's amount once billed, else the fee the receipt shows. A QRIS is only offered while the
bill can still be paid; one the standard cannot carry (an amount over 13 characters) is
replaced by a sentence on paper saying so, and the visit itself is untouched.
"""

from __future__ import annotations

import logging
from typing import Any

from mppdesk.core.billing import shown_state
from mppdesk.core.qris import QrisAmountError, QrisError, build_payload
from mppdesk.desk.runtime import Runtime
from mppdesk.printing.views import PaymentView
from mppdesk.store import billing as bills

log = logging.getLogger(__name__)


def payment_view(runtime: Runtime, session: Any, submission: Any) -> PaymentView | None:
    """The payment block of ``submission`` (None: nothing to pay, or nothing known yet)."""
    billing = bills.stored(session, submission.id)
    qris_settings = runtime.settings.qris
    collects = submission.agency in qris_settings.agency_codes
    if billing is None and not (collects and submission.fee):
        return None
    amount = billing.amount if billing is not None else int(submission.fee)
    state = shown_state(billing, runtime.now()) if billing is not None else "unpaid"
    qris = problem = None
    if collects and state == "unpaid":
        try:
            qris = build_payload(
                qris_settings.merchant(),
                amount,
                submission.tracking_number,
                terminal=runtime.settings.desk.code,
            )
        except QrisAmountError as exc:
            problem = "amount_too_long"
            log.warning("no QRIS for %s: %s", submission.tracking_number, exc)
        except QrisError as exc:
            problem = "merchant"
            log.warning("no QRIS for %s: %s", submission.tracking_number, exc)
    if billing is None:
        return PaymentView(amount=amount, qris=qris, qris_problem=problem)
    return PaymentView(
        amount=amount,
        code=billing.code,
        kind=billing.kind,
        expires_at=billing.expires_at,
        state=state,
        ntpn=billing.ntpn,
        paid_at=billing.paid_at,
        qris=qris,
        qris_problem=problem,
    )
