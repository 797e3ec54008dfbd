"""The words on the paper: labels in Bahasa Indonesia and English, and how values read.

The labels are the message catalog's ``paper.`` codes (``resources/messages/``); they are
plain text with ``{name}`` slots; the documents escape the result before it
reaches a Paragraph (slots are often filled with user values such as agency names).
Rupiah and dates follow each language's conventions through babel: "Rp350.000" and
"29 November 2026 10.42 WIB" in Indonesian, "Rp350,000" and "29 November 2026, 10:42 WIB"
in English.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from babel.dates import format_date
from babel.numbers import format_decimal

from mppdesk.core import messages
from mppdesk.core.masking import mask_nik
from mppdesk.forms.definitions import Fee, Requirement, RequirementKind, Sla
from mppdesk.printing.views import IdKind, RequirementItem, SendState, ServiceLineView

LANGS = ("id", "en")
_LOCALE = {"id": "id_ID", "en": "en_GB"}


# Standard Indonesian time zones by UTC offset in hours.
_ZONES = {7: "WIB", 8: "WITA", 9: "WIT"}
_OFFSETS = {name: hours for hours, name in _ZONES.items()}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'id' or 'en' (got {lang!r})")
    return lang


def t(key: str, lang: str, **slots: object) -> str:
    """The label ``key`` in ``lang`` with its slots filled (plain text, not escaped).

    The words live in the message catalog under ``paper.``.
    """
    return messages.text(f"paper.{key}", lang, **slots)


def rupiah(amount: int, lang: str) -> str:
    return "Rp" + format_decimal(amount, locale=_LOCALE[lang])


def fee_text(amount: int | None, lang: str) -> str:
    if amount is None:
        return t("assessed", lang)
    if amount == 0:
        return t("free", lang)
    return rupiah(amount, lang)


def long_date(day: date, lang: str) -> str:
    return format_date(day, "long", locale=_LOCALE[lang])


def weekday_date(day: date, lang: str) -> str:
    return format_date(day, "EEEE, d MMMM y", locale=_LOCALE[lang])


def local_time(moment: datetime, tz_label: str | None = None) -> datetime:
    """The moment in the install's zone: WIB/WITA/WIT named by ``tz_label`` win over the
    datetime's own offset (a UTC time from the store still prints as counter time)."""
    offset = _OFFSETS.get((tz_label or "").upper())
    if offset is None:
        return moment
    return moment.astimezone(timezone(timedelta(hours=offset)))


def zone_label(moment: datetime, tz_label: str | None = None) -> str:
    """WIB / WITA / WIT from the offset, unless the install names its zone."""
    if tz_label:
        return tz_label
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes % 60 == 0 and minutes // 60 in _ZONES:
        return _ZONES[minutes // 60]
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def date_time(moment: datetime, lang: str, tz_label: str | None = None) -> str:
    """Date and time in the install's zone, with the zone's name."""
    moment = local_time(moment, tz_label)
    separator = ", " if lang == "en" else " "
    return long_date(moment.date(), lang) + separator + time_of_day(moment, lang, tz_label)


def time_of_day(moment: datetime, lang: str, tz_label: str | None = None) -> str:
    """ "10.42 WIB" (Indonesian writes the time with a full stop), "10:42 WIB" in English."""
    moment = local_time(moment, tz_label)
    clock = f"{moment:%H:%M}" if lang == "en" else f"{moment:%H.%M}"
    return f"{clock} {zone_label(moment, tz_label)}"


def mask_identifier(value: str | None, kind: IdKind | str = IdKind.NIK) -> str:
    """An identity number fit for paper: a NIK keeps region and serial, others their end.

    A value that already contains ``*`` is taken as masked by the caller.
    """
    if not value:
        return ""
    value = value.strip()
    if "*" in value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    if str(kind) == IdKind.NIK or (len(digits) == 16 and digits == value):
        return mask_nik(value)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:1] + "*" * (len(value) - 4) + value[-3:]


def id_label(kind: IdKind | str, lang: str) -> str:
    try:
        return t(f"id_{IdKind(kind).value}", lang)
    except ValueError:
        return str(kind)


def send_state_text(line: ServiceLineView, lang: str) -> str:
    state = SendState(line.send_state)
    if state is SendState.SENT and line.agency_ref:
        return t("send_sent_ref", lang, agency=line.agency_short, ref=line.agency_ref)
    return t(f"send_{state.value}", lang, agency=line.agency_short)


def _condition_words(condition: str, lang: str) -> str:
    lowered = condition.strip().lower()
    if lowered.startswith(
        ("hanya ", "jika ", "bila ", "apabila ", "bagi ", "untuk ", "khusus ",
         "if ", "only ", "when ", "unless ", "for ")
    ):
        return condition.strip()
    return t("only_if", lang, condition=condition.strip())


def requirement_detail(requirement: Requirement, lang: str) -> str:
    """The qualifiers of a requirement: original / copy, copies, duty stamp, "if any"."""
    kind = RequirementKind(requirement.kind)
    # A form or a photo says what it is in its label; the others need the words.
    parts = (
        []
        if kind in (RequirementKind.DOCUMENT, RequirementKind.PHOTO)
        else [t(f"kind_{kind.value}", lang)]
    )
    if requirement.copies > 1:
        parts.append(t("copies", lang, n=requirement.copies))
    if requirement.legalized:
        parts.append(t("legalized", lang))
    if requirement.duty_stamp:
        parts.append(t("duty_stamp", lang))
    if requirement.optional:
        parts.append(t("optional", lang))
    return ", ".join(parts)


def requirement_item(
    requirement: Requirement, lang: str, state: str | None = None
) -> RequirementItem:
    """A catalog requirement as a printable line (for receipts and slips the desk builds)."""
    condition = requirement.condition_text.get(lang) if requirement.condition_text else None
    return RequirementItem(
        label=requirement.label.get(lang),
        detail=requirement_detail(requirement, lang),
        condition=condition,
        state=state,
        note=requirement.note.get(lang) if requirement.note else None,
    )


def item_text(item: RequirementItem, lang: str) -> str:
    """One requirement in words: "Fotokopi KK — fotokopi, 2 lembar; hanya jika …. Note."

    A received item shows how it was handed over (its ``state``) instead of the qualifiers.
    """
    text = item.label
    how = item.detail
    key = f"state_{item.state}"
    if messages.has(f"paper.{key}"):  # handed over; "missing" and "not_applicable" keep the qualifiers
        how = t(key, lang)
    if how:
        text += " — " + how
    if item.condition:
        text += "; " + _condition_words(item.condition, lang)
    if item.note and item.note.strip():
        note = item.note.strip()
        text += ". " + (note if note[-1] in ".!?" else note + ".")
    return text


def catalog_fee_text(fee: Fee, lang: str) -> str:
    if fee.amount is not None:
        text = fee_text(fee.amount, lang)
    elif fee.assessed:
        text = t("assessed", lang)
    else:
        text = t("fee_depends", lang)
    if fee.note is not None:
        text += f" — {fee.note.get(lang)}"
    return text


def sla_text(sla: Sla, lang: str) -> str:
    if sla.working_days is None:
        text = t("sla_depends", lang)
    elif sla.working_days == 0:
        text = t("same_day", lang)
    else:
        key = "working_day" if sla.working_days == 1 else "working_days"
        text = t(key, lang, n=sla.working_days)
    if sla.note is not None:
        text += f" — {sla.note.get(lang)}"
    return text


def total_fee_text(lines: tuple[ServiceLineView, ...], lang: str) -> str:
    known = sum(line.fee for line in lines if line.fee is not None)
    if any(line.fee is None for line in lines):
        if known == 0:
            return t("assessed", lang)
        return t("total_plus_assessed", lang, amount=rupiah(known, lang))
    return fee_text(known, lang)
