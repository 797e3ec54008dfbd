"""Printed documents: receipts, requirement checklists, "berkas belum lengkap" slips and
handover records, as PDF bytes (reportlab; no Qt, no SQL, no network).

The desk builds the plain views of :mod:`mppdesk.printing.views` from the store and calls
the ``render_*`` functions; the checklist prints catalog definitions directly. Importing
this package does not load reportlab: the render functions import it on first use, so the
UI and CLI start without paying for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mppdesk.printing.views import (
    ChecklistHeader,
    HandoverRowView,
    HandoverView,
    IdKind,
    Layout,
    ProxyView,
    ReceiptView,
    RequirementItem,
    SendState,
    ServiceLineView,
    SlipServiceView,
    SlipView,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mppdesk.forms.definitions import Agency, Requirement, Service


def render_receipt(
    view: ReceiptView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The visit's tanda terima (80 mm, 58 mm or A4)."""
    from mppdesk.printing.receipt import render_receipt as render

    return render(view, layout, lang)


def render_slip(
    view: SlipView, layout: Layout | str = Layout.THERMAL_80, lang: str = "id"
) -> bytes:
    """The "berkas belum lengkap" slip of a visit (says so when nothing is missing)."""
    from mppdesk.printing.slip import render_slip as render

    return render(view, layout, lang)


def render_checklist(
    services: Sequence[tuple[Agency, Service]],
    layout: Layout | str = Layout.A4,
    lang: str = "id",
    header: ChecklistHeader | None = None,
) -> bytes:
    """Requirement checklist of catalog services, no visit needed."""
    from mppdesk.printing.checklist import render_checklist as render

    return render(services, layout, lang, header)


def render_handover(views: HandoverView | Sequence[HandoverView], lang: str = "id") -> bytes:
    """Berita acara serah terima berkas (A4), one record per agency and day."""
    from mppdesk.printing.handover import render_handover as render

    return render(views, lang)


def requirement_item(
    requirement: Requirement, lang: str = "id", state: str | None = None
) -> RequirementItem:
    """A catalog requirement as a printable line with its qualifiers and "only if …" words."""
    from mppdesk.printing.text import requirement_item as build

    return build(requirement, lang, state)


__all__ = [
    "ChecklistHeader",
    "HandoverRowView",
    "HandoverView",
    "IdKind",
    "Layout",
    "ProxyView",
    "ReceiptView",
    "RequirementItem",
    "SendState",
    "ServiceLineView",
    "SlipServiceView",
    "SlipView",
    "render_checklist",
    "render_handover",
    "render_receipt",
    "render_slip",
    "requirement_item",
]
