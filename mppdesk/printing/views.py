"""What the printing layer is given: plain frozen values, built by the desk from the store.

The documents never read the store or the catalog themselves (the checklist is the one
exception: it prints catalog definitions as they are). Keeping the input plain means a
receipt can be rendered, tested and reprinted from exactly these values, and this module
imports nothing heavy, so callers can build views without loading reportlab.

User-facing strings in a view (service names, requirement labels, agency names) are already
in the language the document is printed in; the desk picks ``Text.get(lang)`` when it
builds the view. The documents add their own labels in that language.

Sequences may be passed as lists; they are stored as tuples so a view stays hashable and
immutable. Identity numbers may be passed raw: the documents always print them masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType


class Layout(StrEnum):
    """Paper a document is printed on. The values are the CLI spellings."""

    THERMAL_80 = "80mm"
    THERMAL_58 = "58mm"
    A4 = "a4"

    @classmethod
    def parse(cls, text: str | Layout) -> Layout:
        """Accept the CLI spellings ("80mm", "58mm", "a4"), "80"/"58" and the member names."""
        if isinstance(text, Layout):
            return text
        cleaned = str(text).strip().lower().replace(" ", "")
        aliases = {
            "80mm": cls.THERMAL_80,
            "80": cls.THERMAL_80,
            "thermal_80": cls.THERMAL_80,
            "58mm": cls.THERMAL_58,
            "58": cls.THERMAL_58,
            "thermal_58": cls.THERMAL_58,
            "a4": cls.A4,
        }
        try:
            return aliases[cleaned]
        except KeyError:
            raise ValueError(f"layout must be one of 80mm, 58mm, a4 (got {text!r})") from None

    @property
    def is_thermal(self) -> bool:
        return self is not Layout.A4


class SendState(StrEnum):
    """Where a submission stands with its agency, as the citizen needs to know it."""

    QUEUED = "queued"  # stored, waiting for the network or the worker (outbox pending/in_flight)
    HELD = "held"  # waiting for a supervisor's approval before it is sent
    SENT = "sent"  # the agency has it; ``agency_ref`` is its reference when known
    MANUAL = "manual"  # agency without an API: files go by hand (berita acara serah terima)
    FAILED = "failed"  # the agency refused it; staff follow up


class IdKind(StrEnum):
    NIK = "nik"
    PASSPORT = "passport"
    KITAS = "kitas"
    KITAP = "kitap"


def _tuple(value: object) -> tuple:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)  # type: ignore[arg-type]


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"{name} must be a timezone-aware datetime (got a naive one)")


@dataclass(frozen=True)
class RequirementItem:
    """One requirement line: what it is, how it is handed over, and when it applies.

    ``state`` is a :class:`mppdesk.core.states.ChecklistState` value for items already
    received ("copy", "original", "shown", "digital"); ``detail`` the qualifiers
    (original / copy / copies / duty stamp), ``condition`` the "only if …" words and
    ``note`` a sentence of explanation from the catalog.
    ``mppdesk.printing.text.requirement_item`` builds one from a catalog ``Requirement``.
    """

    label: str
    detail: str = ""
    condition: str | None = None
    state: str | None = None
    note: str | None = None


def _items(value: object) -> tuple[RequirementItem, ...]:
    out = []
    for item in _tuple(value):
        if isinstance(item, RequirementItem):
            out.append(item)
        elif isinstance(item, str):
            out.append(RequirementItem(label=item))
        else:
            raise TypeError(
                f"a requirement must be a RequirementItem or a str, not {type(item).__name__}"
            )
    return tuple(out)


@dataclass(frozen=True)
class ProxyView:
    """The person at the counter acting for the applicant (kuasa)."""

    name: str
    id_number: str | None = None  # raw or masked; printed masked
    id_kind: IdKind | str = IdKind.NIK
    basis: str | None = None  # e.g. "Surat kuasa bermeterai" or the relation ("orang tua")


@dataclass(frozen=True)
class PaymentView:
    """How the fee of one submission is paid: the agency's bill (kode billing, expiry, state)
    and, where the MPP collects the fee itself, the dynamic QRIS text to print beside it.

    ``code`` is None while the agency has not billed yet; ``qris_problem`` names why no QRIS
    could be made ("amount_too_long"), printed instead of the code.
    """

    amount: int
    code: str | None = None
    kind: str | None = None  # pnbp | regional | other
    expires_at: datetime | None = None
    state: str = "unpaid"  # unpaid | paid | expired
    ntpn: str | None = None
    paid_at: datetime | None = None
    qris: str | None = None
    qris_problem: str | None = None

    def __post_init__(self) -> None:
        _require_aware("expires_at", self.expires_at)
        _require_aware("paid_at", self.paid_at)
        if self.state not in ("unpaid", "paid", "expired"):
            raise ValueError(f"payment state must be unpaid, paid or expired, not {self.state!r}")


@dataclass(frozen=True)
class ServiceLineView:
    """One submission of the visit, as the receipt shows it."""

    agency_name: str  # full name, e.g. "Dinas Kependudukan dan Pencatatan Sipil"
    service_name: str
    tracking_number: str
    fee: int | None  # whole Rupiah; 0 = free; None = assessed ("sesuai penetapan")
    sla_due: date | None  # None when the due date depends on the agency
    send_state: SendState | str = SendState.QUEUED
    agency_short: str = ""  # e.g. "Dukcapil"; used in sentences, defaults to agency_name
    agency_ref: str | None = None  # the agency's own reference once sent
    received: tuple[RequirementItem, ...] = ()
    missing: tuple[RequirementItem, ...] = ()
    fee_note: str | None = None
    data_shared: tuple[str, ...] = ()  # labels of the data sent to this agency (notice)
    agency_contact: str | None = None  # how to ask this agency about the data or status
    payment: PaymentView | None = None  # the bill and QRIS of a fee-bearing service

    def __post_init__(self) -> None:
        try:
            state = SendState(self.send_state)
        except ValueError:
            allowed = ", ".join(s.value for s in SendState)
            raise ValueError(
                f"send_state of {self.tracking_number!r} must be one of {allowed} (got {self.send_state!r})"
            ) from None
        if self.fee is not None and self.fee < 0:
            raise ValueError(f"fee of {self.tracking_number!r} must not be negative")
        object.__setattr__(self, "send_state", state)
        object.__setattr__(self, "agency_short", self.agency_short or self.agency_name)
        object.__setattr__(self, "received", _items(self.received))
        object.__setattr__(self, "missing", _items(self.missing))
        object.__setattr__(self, "data_shared", _tuple(self.data_shared))


@dataclass(frozen=True)
class ReceiptView:
    """One visit's tanda terima: everything the citizen takes home as proof."""

    mpp_name: str
    desk: str
    officer: str
    printed_at: datetime  # when the visit was finalized (aware; shown in the install's zone)
    ticket: str
    applicant_name: str
    applicant_id: str | None  # NIK / passport number, raw or masked; printed masked
    services: tuple[ServiceLineView, ...]
    applicant_id_kind: IdKind | str = IdKind.NIK
    proxy: ProxyView | None = None
    # "WIB" / "WITA" / "WIT": times are converted to that zone; None keeps each datetime's
    # own offset and names it from that (+7 WIB, +8 WITA, +9 WIT).
    tz_label: str | None = None
    mpp_address: str | None = None
    reprinted_at: datetime | None = None  # set for a reprint: marked "SALINAN" with this time
    status_help: str | None = None  # how to check status; a default sentence when None
    data_contact: str | None = None  # how to ask the MPP about personal data

    def __post_init__(self) -> None:
        _require_aware("printed_at", self.printed_at)
        _require_aware("reprinted_at", self.reprinted_at)
        object.__setattr__(self, "services", _tuple(self.services))
        if not self.services:
            raise ValueError("a receipt needs at least one service")


@dataclass(frozen=True)
class SlipServiceView:
    """One service on a "berkas belum lengkap" slip."""

    agency_name: str
    service_name: str
    tracking_number: str | None = None
    missing: tuple[RequirementItem, ...] = ()
    # Conditional requirements ("only if …") that apply to this applicant; each with its
    # condition words. Items also listed in ``missing`` are printed once, as missing.
    conditional: tuple[RequirementItem, ...] = ()
    payment: PaymentView | None = None  # the bill to pay (code, amount, expiry)

    def __post_init__(self) -> None:
        object.__setattr__(self, "missing", _items(self.missing))
        object.__setattr__(self, "conditional", _items(self.conditional))


@dataclass(frozen=True)
class SlipView:
    mpp_name: str
    desk: str
    officer: str
    printed_at: datetime
    ticket: str
    applicant_name: str
    applicant_id: str | None
    services: tuple[SlipServiceView, ...]
    applicant_id_kind: IdKind | str = IdKind.NIK
    tz_label: str | None = None
    return_by: date | None = None  # bring the missing files back by this date
    reprinted_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("printed_at", self.printed_at)
        _require_aware("reprinted_at", self.reprinted_at)
        object.__setattr__(self, "services", _tuple(self.services))

    @property
    def complete(self) -> bool:
        return not any(s.missing for s in self.services)


@dataclass(frozen=True)
class HandoverRowView:
    """One submission whose paper files go to the agency's staff."""

    tracking_number: str
    applicant_name: str
    service_name: str
    received_at: datetime  # when the MPP took the request (aware)
    applicant_id: str | None = None  # printed masked
    applicant_id_kind: IdKind | str = IdKind.NIK
    documents: tuple[str, ...] = ()  # the files in the folder
    note: str | None = None

    def __post_init__(self) -> None:
        _require_aware("received_at", self.received_at)
        object.__setattr__(self, "documents", _tuple(self.documents))


@dataclass(frozen=True)
class HandoverView:
    """Berita acara serah terima berkas: one agency, one day."""

    mpp_name: str
    agency_name: str
    day: date
    officer: str  # the MPP officer handing over
    printed_at: datetime
    rows: tuple[HandoverRowView, ...] = ()
    agency_short: str = ""
    mpp_address: str | None = None
    tz_label: str | None = None
    reprinted_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("printed_at", self.printed_at)
        _require_aware("reprinted_at", self.reprinted_at)
        object.__setattr__(self, "rows", _tuple(self.rows))
        object.__setattr__(self, "agency_short", self.agency_short or self.agency_name)


@dataclass(frozen=True)
class ChecklistHeader:
    """Optional header of a checklist printed at the information desk."""

    mpp_name: str | None = None
    printed_at: datetime | None = None
    tz_label: str | None = None
    extra_note: str | None = None  # e.g. opening hours
    # service code -> where to go for it at this MPP (queue group, counter), printed per service
    where: Mapping[str, str] = field(default_factory=dict)
    # service code -> {requirement id: checklist state}: ticked as handed over (a visit's copy)
    ticked: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    reprinted_at: datetime | None = None  # a copy: marked "SALINAN" with this time

    def __post_init__(self) -> None:
        _require_aware("printed_at", self.printed_at)
        _require_aware("reprinted_at", self.reprinted_at)
        object.__setattr__(self, "where", MappingProxyType(dict(self.where)))
        object.__setattr__(
            self,
            "ticked",
            MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.ticked.items()}),
        )


__all__ = [
    "ChecklistHeader",
    "HandoverRowView",
    "HandoverView",
    "IdKind",
    "Layout",
    "PaymentView",
    "ProxyView",
    "ReceiptView",
    "RequirementItem",
    "SendState",
    "ServiceLineView",
    "SlipServiceView",
    "SlipView",
]
