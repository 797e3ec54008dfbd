"""Checks for Indonesian identifiers and contact fields, one function per field type.

Every ``check_*`` function answers with a ``Check`` and never raises, whatever it is given
(the form engine calls them on every keystroke and on imported data): an error means the
value cannot be accepted, a warning means the officer should look again but may go on.
The rule for choosing between them: reject only what cannot be a real number; anything that
real, valid documents can show (an old region code, a birth date that differs from what
the applicant said) is a warning, because the counter cannot turn away a citizen whose
card was issued that way.

Only ASCII digits count as digits: Arabic-Indic or full-width digits are rejected with a
message rather than silently converted, so what is stored is what the officer saw.

Region facts come from ``mppdesk.forms.indonesia``; nothing else here does I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import phonenumbers
from stdnum.id import npwp as stdnum_npwp

from mppdesk.core import mrz as icao
from mppdesk.core.messages import Phrase
from mppdesk.forms import indonesia

log = logging.getLogger(__name__)


class Said(Phrase):
    """A message of the catalog (``validator.`` codes) that reads like a catalog ``Text``:
    ``.id``, ``.en`` and ``.get(lang)`` word it, ``.code`` and ``.params`` name it, so the
    form engine and the screens take it where they took a text pair."""

    @property
    def id(self) -> str:
        return self.get("id")

    @property
    def en(self) -> str:
        return self.get("en")


@dataclass(frozen=True)
class Check:
    """The answer of a check: the normalised value (None on error), an error, warnings."""

    value: Any
    error: Said | None = None
    warnings: tuple[Said, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class NikInfo:
    """What a NIK encodes. Region fields are plain-digit Kemendagri codes (2, 4, 6 digits).

    ``birth_date`` is None when the digits do not form a real date; ``sex`` is "L"
    (laki-laki) or "P" (perempuan, day of birth + 40).
    """

    province: str
    regency: str
    district: str
    birth_date: date | None
    sex: str
    serial: str


class InvalidNumber(ValueError):
    """Raised by ``decode_nik``; ``message`` is the catalog message, ``str()`` the English one."""

    def __init__(self, message: Said) -> None:
        super().__init__(message.en)
        self.message = message


def _text(code: str, /, **params: Any) -> Said:
    return Said(f"validator.{code}", params)


def _fail(code: str, /, **params: Any) -> Check:
    return Check(value=None, error=_text(code, **params))


def _label(name: str) -> Said:
    return _text(f"label.{name}")


def _not_text(label: Said, value: object) -> Check:
    return _fail("not_text", label=label, kind=type(value).__name__)


def _shown(char: str) -> str:
    """A character for a message: itself if printable, else its code point."""
    return f"'{char}'" if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


_SEPARATORS = re.compile(r"[\s.\-\u2010-\u2015\u2212]+")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


def _digits_only(
    text: str, label: Said, lengths: tuple[int, ...]
) -> tuple[str | None, Check | None]:
    """Strip spaces, dots and dashes; then demand ASCII digits of one of ``lengths``."""
    digits = _SEPARATORS.sub("", text)
    bad = _NOT_ASCII_DIGIT.search(digits)
    if bad:
        shown = _shown(bad.group())
        return None, _fail("digits_only", label=label, shown=shown)
    if not digits:
        return None, _fail("empty", label=label)
    if len(digits) not in lengths:
        want = (
            _text("either", first=lengths[0], second=lengths[1])
            if len(lengths) == 2
            else lengths[0]
        )
        return None, _fail("digit_count", label=label, want=want, count=len(digits))
    return digits, None


# --- NIK -----------------------------------------------------------------------------------

_NIK = _label("nik")
_KK = _label("kk")


def _century_date(day: int, month: int, yy: int, today: date) -> date | None:
    """DDMMYY as a date that is not in the future: 20yy if that has passed, else 19yy."""
    for year in (2000 + yy, 1900 + yy):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    return None


def _today(today: date | None) -> date:
    if isinstance(today, datetime):
        return today.date()
    return today if isinstance(today, date) else date.today()


def _region_checks(digits: str, label: Said) -> tuple[Check | None, list[Said]]:
    """Province (error if unknown), regency and district (error if 00, warning if unknown)."""
    province, regency, district = digits[:2], digits[:4], digits[:6]
    if province not in indonesia.province_codes():
        return _fail("province_unknown", label=label, province=province), []
    if digits[2:4] == "00":
        return _fail("regency_zero", label=label), []
    if digits[4:6] == "00":
        return _fail("district_zero", label=label), []
    # Regions are split (pemekaran) and renumbered, but a NIK or KK keeps the code it was
    # issued with, so a code missing from today's list is not proof of a false number.
    if indonesia.region(regency) is None:
        return None, [_text("regency_unlisted", label=label, regency=regency)]
    if indonesia.region(district) is None:
        return None, [_text("district_unlisted", label=label, district=district)]
    return None, []


def _decode_digits(digits: str, today: date) -> NikInfo:
    day = int(digits[6:8])
    if 1 <= day <= 31:
        sex = "L"
    elif 41 <= day <= 71:
        sex, day = "P", day - 40
    else:
        raise InvalidNumber(_text("nik_day", day=digits[6:8]))
    month = int(digits[8:10])
    birth = _century_date(day, month, int(digits[10:12]), today) if 1 <= month <= 12 else None
    return NikInfo(
        province=digits[:2],
        regency=digits[:4],
        district=digits[:6],
        birth_date=birth,
        sex=sex,
        serial=digits[12:],
    )


def decode_nik(text: str, *, today: date | None = None) -> NikInfo:
    """The facts encoded in a NIK, for pre-filling birth date and sex.

    Raises ``InvalidNumber`` (a ValueError) when the text is not 16 digits or the day field
    fits neither sex. A month or date that does not exist gives ``birth_date=None`` rather
    than an exception; ``check_nik`` says whether the NIK as a whole is acceptable.
    ``today`` fixes the century rule for tests (default: today's date).
    """
    if not isinstance(text, str):
        raise InvalidNumber(_not_text(_NIK, text).error)  # type: ignore[arg-type]
    digits, failed = _digits_only(text, _NIK, (16,))
    if failed is not None:
        raise InvalidNumber(failed.error)  # type: ignore[arg-type]
    assert digits is not None
    return _decode_digits(digits, _today(today))


_SEX_WORDS = {
    "l": "L",
    "p": "P",
    "m": "L",
    "f": "P",
    "laki-laki": "L",
    "laki laki": "L",
    "lakilaki": "L",
    "pria": "L",
    "male": "L",
    "perempuan": "P",
    "wanita": "P",
    "female": "P",
}
_SEX_NAMES = {"L": _text("sex.l"), "P": _text("sex.p")}


def _normal_sex(sex: object) -> str | None:
    if not isinstance(sex, str):
        return None
    return _SEX_WORDS.get(sex.strip().lower())


def check_nik(
    text: str,
    birth_date: date | None = None,
    sex: str | None = None,
    *,
    today: date | None = None,
) -> Check:
    """A NIK (Nomor Induk Kependudukan): PP KK CC DDMMYY SSSS.

    Errors: not 16 digits (spaces, dots and dashes are ignored); a province code that is not
    one of the 38 current provinces; regency or district 00; a day outside 01-31/41-71; a
    month outside 01-12; a date that does not exist (the century is the one that puts the
    date in the past); serial 0000. Warnings: a regency or district code missing from the
    current region list (old codes from before a split stay valid on issued cards); a
    ``birth_date`` or ``sex`` that disagrees with the NIK (the NIK never changes, so the
    officer must decide which is wrong). A ``birth_date`` a century off with the same
    day, month and two-digit year is not a disagreement: the NIK cannot tell 1925 from 2025.
    Unrecognised ``sex`` values are ignored ("L"/"P", "laki-laki"/"perempuan", "M"/"F" are
    understood). Value: the 16 digits.
    """
    if not isinstance(text, str):
        return _not_text(_NIK, text)
    digits, failed = _digits_only(text, _NIK, (16,))
    if failed is not None:
        return failed
    assert digits is not None
    failed, warnings = _region_checks(digits, _NIK)
    if failed is not None:
        return failed
    try:
        info = _decode_digits(digits, _today(today))
    except InvalidNumber as error:
        return Check(value=None, error=error.message)
    if not 1 <= int(digits[8:10]) <= 12:
        return _fail("nik_month", month=digits[8:10])
    if info.birth_date is None:
        day = int(digits[6:8]) - (40 if info.sex == "P" else 0)
        shown = f"{day:02d}-{digits[8:10]}-{digits[10:12]}"
        return _fail("nik_date", shown=shown)
    if info.serial == "0000":
        return _fail("nik_serial")
    warnings.extend(_nik_mismatches(info, info.birth_date, birth_date, sex))
    return Check(value=digits, warnings=tuple(warnings))


def _nik_mismatches(info: NikInfo, decoded: date, birth_date: object, sex: object) -> list[Said]:
    warnings: list[Said] = []
    if isinstance(birth_date, datetime):
        birth_date = birth_date.date()
    if isinstance(birth_date, date):
        same = (birth_date.day, birth_date.month, birth_date.year % 100) == (
            decoded.day,
            decoded.month,
            decoded.year % 100,
        )
        if not same:
            on_nik = decoded.strftime("%d-%m-%Y")
            given = birth_date.strftime("%d-%m-%Y")
            warnings.append(_text("nik_birth_differs", on_nik=on_nik, given=given))
    given_sex = _normal_sex(sex)
    if given_sex is not None and given_sex != info.sex:
        warnings.append(
            _text("nik_sex_differs", on_nik=_SEX_NAMES[info.sex], given=_SEX_NAMES[given_sex])
        )
    return warnings


# --- KK ------------------------------------------------------------------------------------


def check_kk(text: str, *, today: date | None = None) -> Check:
    """A family card (Kartu Keluarga) number: PP KK CC DDMMYY SSSS.

    The first six digits are the issuing district, as in a NIK: errors for an unknown
    province or a 00 regency/district, a warning for a code missing from the current list.
    Digits 7-12 are the issue date and 13-16 a serial, but this layout is documented less
    firmly than the NIK's and older cards exist, so an impossible or future issue date and a
    0000 serial are warnings only. A day of 41-71 gets a hint that a woman's NIK was probably
    typed into the KK field. Value: the 16 digits.
    """
    if not isinstance(text, str):
        return _not_text(_KK, text)
    digits, failed = _digits_only(text, _KK, (16,))
    if failed is not None:
        return failed
    assert digits is not None
    failed, warnings = _region_checks(digits, _KK)
    if failed is not None:
        return failed
    day, month, yy = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    issued = _century_date(day, month, yy, _today(today)) if 1 <= month <= 12 else None
    if issued is None:
        shown = f"{digits[6:8]}-{digits[8:10]}-{digits[10:12]}"
        if 41 <= day <= 71 and _century_date(day - 40, month, yy, _today(today)) is not None:
            warnings.append(_text("kk_maybe_nik", shown=shown))
        else:
            warnings.append(_text("kk_issue_date", shown=shown))
    if digits[12:] == "0000":
        warnings.append(_text("kk_serial"))
    return Check(value=digits, warnings=tuple(warnings))


# --- NPWP ----------------------------------------------------------------------------------

_NPWP = _label("npwp")


def check_npwp(text: str, *, today: date | None = None) -> Check:
    """A tax number (NPWP), old or new format.

    15 digits: the old format, whose 9th digit is a Luhn check digit over the first 8
    (python-stdnum). 16 digits starting with 0: the old number with a leading 0, checked
    the same way. Other 16 digits: a resident's NIK, which has been their NPWP since
    PMK 112/2022; checked as a NIK, its warnings kept. All zeros is the placeholder used on
    tax invoices for buyers without an NPWP, not an NPWP. Value: the digits as entered.
    """
    if not isinstance(text, str):
        return _not_text(_NPWP, text)
    digits, failed = _digits_only(text, _NPWP, (15, 16))
    if failed is not None:
        return failed
    assert digits is not None
    if set(digits) == {"0"}:
        return _fail("npwp_zero")
    if len(digits) == 16 and not digits.startswith("0"):
        nik = check_nik(digits, today=today)
        if nik.error is not None:
            return _fail("npwp_nik", problem=nik.error)
        return Check(value=digits, warnings=nik.warnings)
    old = digits[-15:]
    if not stdnum_npwp.is_valid(old):
        return _fail("npwp_check")
    return Check(value=digits)


# --- phone ---------------------------------------------------------------------------------

_PHONE = _label("phone")
_PHONE_CHARS = re.compile(r"[0-9+\-.()/\s]+")
_PHONE_MAX = 40
_WHITESPACE = re.compile(r"\s+")


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Parse, reading a leading country code without "+" as one ("62812..." is +62 812...).

    phonenumbers alone reads "62810000000" as a landline in area 0628 because that is
    valid too; but people write "62..." (as WhatsApp shows numbers) for the country code,
    and area codes with their trunk 0. The country-code reading wins when it is valid.
    """
    try:
        country = phonenumbers.country_code_for_region(region)
        if country and text.startswith(str(country)):
            number = phonenumbers.parse("+" + text, region)
            if phonenumbers.is_valid_number(number):
                return number
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def check_phone(text: str, region: str = "ID") -> Check:
    """A phone number, stored in E.164 ("+628123456789").

    "0812...", "+62 812...", "62812..." and "812..." all work for Indonesia; ``region`` is
    the country assumed when there is no "+" (a leading "62" is read as +62 when that gives
    a valid number). Validity is phonenumbers' ``is_valid_number``
    (real number ranges), not mere length. Letters (vanity numbers, "ext") are rejected. A
    valid number of another country is accepted with a warning.
    """
    if not isinstance(text, str):
        return _not_text(_PHONE, text)
    stripped = text.strip()
    if not stripped:
        return _fail("empty", label=_PHONE)
    if len(stripped) > _PHONE_MAX:
        return _fail("phone_too_long_count", count=len(stripped))
    if not _PHONE_CHARS.fullmatch(stripped):
        bad = next(ch for ch in stripped if not _PHONE_CHARS.fullmatch(ch))
        shown = _shown(bad)
        return _fail("phone_chars", shown=shown)
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return _fail("phone_region", region=repr(region))
    region = region.upper()
    spaced = _WHITESPACE.sub(" ", stripped)  # phonenumbers stops at a tab, skips a space
    number = _parse_phone(spaced, region)
    if number is None:
        return _fail("phone_unreadable")
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason in (
            phonenumbers.ValidationResult.TOO_SHORT,
            phonenumbers.ValidationResult.INVALID_LENGTH,
        ):
            return _fail("phone_too_short")
        if reason == phonenumbers.ValidationResult.TOO_LONG:
            return _fail("phone_too_long")
        return _fail("phone_invalid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    warnings: tuple[Said, ...] = ()
    country = phonenumbers.region_code_for_number(number)
    if country != region:
        warnings = (_text("phone_foreign", country=country),)
    return Check(value=e164, warnings=warnings)


# --- e-mail --------------------------------------------------------------------------------

_EMAIL = _label("email")
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_EMAIL_MAX = 254
_TYPO_DOMAINS = {
    "gmail.co": "gmail.com",
    "gmail.con": "gmail.com",
    "gmail.cm": "gmail.com",
    "gmail.om": "gmail.com",
    "gmai.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gmial.com": "gmail.com",
    "gamil.com": "gmail.com",
    "gmaill.com": "gmail.com",
    "yahoo.con": "yahoo.com",
    "yaho.com": "yahoo.com",
    "yahoo.co": "yahoo.co.id",
    "yahoo.co.od": "yahoo.co.id",
    "yahooo.com": "yahoo.com",
    "hotmail.con": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "outlok.com": "outlook.com",
    "outlook.con": "outlook.com",
    "ymail.con": "ymail.com",
}


def check_email(text: str) -> Check:
    """A practical e-mail address check: what people type at a counter, not all of RFC 5322.

    One "@", a local part of dot-separated atoms (ASCII; no quoted strings) up to 64
    characters, a domain of at least two dot-separated labels with a letter TLD (or an
    IDNA ``xn--`` one), 254 characters in all. Surrounding spaces are dropped, inner ones
    rejected. Value: the address with the domain in lower case (the local part keeps its
    case: some servers distinguish it). Common domain typos (gmial.com) give a warning.
    """
    if not isinstance(text, str):
        return _not_text(_EMAIL, text)
    address = text.strip()
    if not address:
        return _fail("empty", label=_EMAIL)
    if len(address) > _EMAIL_MAX:
        return _fail("email_too_long", count=len(address), max=_EMAIL_MAX)
    odd = next((ch for ch in address if ch.isspace() or not ch.isprintable()), None)
    if odd is not None:
        return _fail("email_space", shown=_shown(odd))
    if address.count("@") != 1:
        return _fail("email_at", count=address.count("@"))
    local, domain = address.split("@")
    domain = domain.lower()
    if not local or len(local) > 64 or not _LOCAL.fullmatch(local):
        return _fail("email_local")
    labels = domain.split(".")
    if (
        len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TLD.fullmatch(labels[-1])
    ):
        return _fail("email_domain")
    warnings: tuple[Said, ...] = ()
    suggestion = _TYPO_DOMAINS.get(domain)
    if suggestion:
        warnings = (_text("email_typo", suggestion=suggestion, domain=domain),)
    return Check(value=f"{local}@{domain}", warnings=warnings)


# --- postal code ---------------------------------------------------------------------------

_POSTAL = _label("postal")


def check_postal_code(text: str, *, village: str | None = None) -> Check:
    """A 5-digit postal code (kode pos) whose first digit is 1-9.

    A code that no village in the data uses is a warning (new codes appear), and so is a
    code that is not the one of ``village`` (a village code, if the form has one).
    Value: the 5 digits.
    """
    if not isinstance(text, str):
        return _not_text(_POSTAL, text)
    digits, failed = _digits_only(text.strip(), _POSTAL, (5,))
    if failed is not None:
        return failed
    assert digits is not None
    if len(digits) != len(text.strip()):
        return _fail("postal_plain")
    if digits[0] == "0":
        return _fail("postal_zero")
    warnings: list[Said] = []
    if not indonesia.is_known_postal_code(digits):
        warnings.append(_text("postal_unknown", code=digits))
    elif isinstance(village, str):
        place = indonesia.region(village)
        expected = indonesia.postal_codes(place.code) if place and place.level == "village" else []
        if expected and digits not in expected:
            warnings.append(
                _text(
                    "postal_other_village",
                    place=place.name,
                    expected=", ".join(expected),
                    code=digits,
                )
            )
    return Check(value=digits, warnings=tuple(warnings))


# --- region --------------------------------------------------------------------------------

_REGION = _label("region")
_LEVEL_NAMES = {
    level: _text(f"level.{level}") for level in ("province", "regency", "district", "village")
}
_LEVEL_DIGITS = {"province": 2, "regency": 4, "district": 6, "village": 10}


def check_region(text: str, level: str | None = None, *, parent: str | None = None) -> Check:
    """A Kemendagri region code (plain or dotted) that exists, at ``level`` and under ``parent``.

    Unlike codes inside a NIK, a region chosen on a form must exist in the current list:
    the completer only offers current regions. Value: the plain-digit code.
    """
    if not isinstance(text, str):
        return _not_text(_REGION, text)
    if level is not None and level not in _LEVEL_NAMES:
        return _fail("region_level_unknown", level=repr(level))
    code = indonesia.normalize_code(text)
    if code is None:
        return _fail("region_shape")
    if level is not None and len(code) != _LEVEL_DIGITS[level]:
        return _fail(
            "region_level",
            level=_LEVEL_NAMES[level],
            digits=_LEVEL_DIGITS[level],
            count=len(code),
        )
    place = indonesia.region(code)
    if place is None:
        return _fail("region_unknown", code=code)
    if parent is not None:
        parent_code = indonesia.normalize_code(parent)
        if parent_code is None or not code.startswith(parent_code) or code == parent_code:
            outer = indonesia.region(parent_code) if parent_code else None
            outer_name = outer.name if outer else str(parent)[:40]
            return _fail("region_outside", place=place.name, outer=outer_name)
    return Check(value=code)


# --- foreign applicants: passport and KITAS/KITAP ---------------------------------------------

_PASSPORT = _label("passport")
_KITAS = _label("kitas")
_SPACES = re.compile(r"\s+")
_PASSPORT_CHARS = re.compile(r"[A-Z0-9]+", re.ASCII)
PASSPORT_MAX = 9  # the document number field of an ICAO 9303 MRZ (TD3) is 9 characters
PASSPORT_USUAL_MIN = 6
_MRZ_FIELDS = {
    "document_number": _text("mrz_field.document_number"),
    "birth_date": _text("mrz_field.birth_date"),
    "expiry_date": _text("mrz_field.expiry_date"),
    "optional": _text("mrz_field.optional"),
    "composite": _text("mrz_field.composite"),
}


def check_passport(text: str, mrz: str | None = None) -> Check:
    """A passport number as ICAO Doc 9303 writes it: letters A-Z and digits, at most 9.

    Spaces are dropped and letters upper-cased (the number is printed in capitals); any
    other character (a "!", a dash, a "<" filler, a non-Latin letter) is an error, and so
    is a number longer than the MRZ's 9-character field. Numbers shorter than 6 or without
    a digit are warnings: real ones are rare, typos are not.

    ``mrz``, when a reader scanned the passport's machine readable zone, must be a TD3 (or
    TD1) MRZ whose check digits hold and whose document number is the typed one: a misread
    or a number typed from another document is an error. A whole MRZ given as ``text`` (a
    reader scanned it into the passport field) counts as the number it holds, once its check
    digits hold. Value: the normalised number.
    """
    if not isinstance(text, str):
        return _not_text(_PASSPORT, text)
    if mrz is None and "<" in text:
        scanned = icao.read_mrz(text)  # a reader typed the whole MRZ into the field
        if scanned is not None:
            if scanned.failed:
                return _fail("mrz_check_digit", field=_MRZ_FIELDS[scanned.failed[0]])
            text = scanned.document_number
    number = _SPACES.sub("", text).upper()
    if not number:
        return _fail("empty", label=_PASSPORT)
    if not _PASSPORT_CHARS.fullmatch(number):
        bad = next(ch for ch in number if not _PASSPORT_CHARS.fullmatch(ch))
        return _fail("passport_chars", shown=_shown(bad))
    if len(number) > PASSPORT_MAX:
        return _fail("passport_length", count=len(number), max=PASSPORT_MAX)
    warnings: list[Said] = []
    if len(number) < PASSPORT_USUAL_MIN:
        warnings.append(_text("passport_short", count=len(number)))
    if not any(ch.isdigit() for ch in number):
        warnings.append(_text("passport_no_digit"))
    if mrz is not None:
        read = icao.read_mrz(mrz)
        if read is None:
            return _fail("mrz_unreadable")
        if read.failed:
            return _fail("mrz_check_digit", field=_MRZ_FIELDS[read.failed[0]])
        if read.document_number != number:
            return _fail("mrz_other_number", mrz=read.document_number, typed=number)
    return Check(value=number, warnings=tuple(warnings))


_KITAS_CHARS = re.compile(r"[A-Z0-9/-]+", re.ASCII)
_KITAS_SEPARATORS = re.compile(r"[/-]")
KITAS_MIN, KITAS_MAX = 8, 20  # letters and digits, separators not counted


def check_kitas(text: str) -> Check:
    """A KITAS or KITAP (stay permit) number, checked for form only.

    Immigration has printed several layouts over the years (``2C11JD2345-L`` on the old
    cards, longer numbers on electronic permits) and publishes no check digit, so the desk
    checks what every layout shares: letters A-Z and digits, optionally grouped by "-" or
    "/", 8 to 20 letters and digits, at least one digit. Spaces are dropped and letters
    upper-cased. Sixteen digits and nothing else is most likely a NIK typed into the wrong
    field: a warning. Value: the normalised number (separators kept as printed).
    """
    if not isinstance(text, str):
        return _not_text(_KITAS, text)
    number = _SPACES.sub("", text).upper()
    if not number:
        return _fail("empty", label=_KITAS)
    if not _KITAS_CHARS.fullmatch(number):
        bad = next(ch for ch in number if not _KITAS_CHARS.fullmatch(ch))
        return _fail("kitas_chars", shown=_shown(bad))
    if number[0] in "-/" or number[-1] in "-/" or re.search(r"[/-]{2}", number):
        return _fail("kitas_separator")
    plain = _KITAS_SEPARATORS.sub("", number)
    if not KITAS_MIN <= len(plain) <= KITAS_MAX:
        return _fail("kitas_length", count=len(plain), min=KITAS_MIN, max=KITAS_MAX)
    if not any(ch.isdigit() for ch in plain):
        return _fail("kitas_no_digit")
    warnings: tuple[Said, ...] = ()
    if len(plain) == 16 and plain.isdigit():
        warnings = (_text("kitas_like_nik"),)
    return Check(value=number, warnings=warnings)


def identity_number(kind: str, text: str) -> Check:
    """The look-up key of an applicant's identity number: ``nik``, ``paspor`` or ``kitas``,
    normalised exactly as the form stores it, so a look-up finds what intake stored."""
    if kind == "paspor":
        return check_passport(text)
    if kind == "kitas":
        return check_kitas(text)
    return check_nik(text)
