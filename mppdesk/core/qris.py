"""Dynamic QRIS payloads (EMVCo merchant-presented mode, as Bank Indonesia's QRIS standard).

Where the MPP itself takes payment of a regional fee, the receipt carries a QR code the
citizen scans with any e-wallet or mobile banking app. The code is text built from
tag-length-value fields (two-digit id, two-digit length, value) and closed by a CRC; this
module builds and reads that text, and nothing else (the drawing is in ``mppdesk.printing``).

Fields written, in order (a dynamic code: point of initiation 12, the amount is fixed):

====  =========================  ==================================================
tag   name                       value
====  =========================  ==================================================
00    payload format indicator   "01"
01    point of initiation        "12" (dynamic: one payment of one amount)
26    merchant account info      00 acquirer's reverse domain, 01 merchant PAN,
                                 02 merchant id, 03 merchant criteria
51    QRIS national template     00 "ID.CO.QRIS.WWW", 02 NMID, 03 merchant criteria
52    merchant category code     4 digits (9399: government services)
53    transaction currency       "360" (Rupiah, ISO 4217)
54    transaction amount         up to 13 characters: digits, optional "." decimals
58    country code               "ID"
59    merchant name              up to 25 characters
60    merchant city              up to 15 characters
61    postal code                up to 10 characters (optional)
62    additional data            01 bill number (the tracking number), 07 terminal
63    CRC                        CRC-16/CCITT-FALSE of everything before it, "6304"
                                 included, 4 upper-case hex digits
====  =========================  ==================================================

Standard library only. Every limit of the standard is checked: a value that does not fit
raises ``QrisError`` with a sentence saying which field and why, never a cut-off code that a
payment app would misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QRIS_GUID = "ID.CO.QRIS.WWW"
CURRENCY_IDR = "360"
COUNTRY_ID = "ID"
AMOUNT_MAX_CHARS = 13
MERCHANT_CRITERIA = ("UMI", "UKE", "UME", "UBE", "URE")

_AMOUNT = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
_DIGITS = re.compile(r"^[0-9]+$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")


class QrisError(ValueError):
    """A QRIS field that cannot be encoded; the message names the field and the limit."""


class QrisAmountError(QrisError):
    """The amount cannot go into tag 54 (not positive, or longer than 13 characters)."""


@dataclass(frozen=True)
class Merchant:
    """The MPP's merchant data, as its acquirer registered it (``[qris]`` in settings)."""

    name: str  # tag 59, up to 25 characters
    city: str  # tag 60, up to 15 characters
    acquirer_domain: str  # tag 26.00, e.g. "ID.CO.BANKDAERAH.WWW"
    merchant_pan: str  # tag 26.01, 16 to 19 digits
    merchant_id: str  # tag 26.02, up to 15 characters
    nmid: str  # tag 51.02, the national merchant id ("ID1020..."), up to 15 characters
    criteria: str = "URE"  # tag 26.03 / 51.03: UMI, UKE, UME, UBE or URE
    mcc: str = "9399"  # tag 52: government services
    postal_code: str = ""  # tag 61, optional

    def check(self) -> None:
        """Raise QrisError for the first field outside the standard's limits."""
        _text("merchant name (59)", self.name, 25)
        _text("merchant city (60)", self.city, 15)
        _text("acquirer domain (26.00)", self.acquirer_domain, 32)
        if not _DIGITS.match(self.merchant_pan) or not 16 <= len(self.merchant_pan) <= 19:
            raise QrisError("merchant PAN (26.01) must be 16 to 19 digits")
        _text("merchant id (26.02)", self.merchant_id, 15)
        _text("NMID (51.02)", self.nmid, 15)
        if self.criteria not in MERCHANT_CRITERIA:
            raise QrisError(
                f"merchant criteria must be one of {', '.join(MERCHANT_CRITERIA)}, "
                f"got {self.criteria!r}"
            )
        if not (_DIGITS.match(self.mcc) and len(self.mcc) == 4):
            raise QrisError("merchant category code (52) must be 4 digits")
        if self.postal_code:
            _text("postal code (61)", self.postal_code, 10)


def _text(what: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise QrisError(f"{what} must not be empty")
    if not _PRINTABLE.match(value):
        raise QrisError(f"{what} must be printable ASCII characters")
    if len(value) > limit:
        raise QrisError(f"{what} is {len(value)} characters; the QRIS standard allows {limit}")
    return value


def tlv(tag: str, value: str) -> str:
    """One field: two-digit tag, two-digit length, value (at most 99 characters)."""
    if not (len(tag) == 2 and tag.isdigit()):
        raise QrisError(f"tag {tag!r} must be two digits")
    if len(value) > 99:
        raise QrisError(f"field {tag} is {len(value)} characters; a field holds at most 99")
    return f"{tag}{len(value):02d}{value}"


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final xor),
    the checksum EMVCo prescribes for tag 63."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def amount_text(amount: int | str) -> str:
    """Tag 54's value for a whole-Rupiah amount (or an already formatted decimal text)."""
    if isinstance(amount, bool):
        raise QrisAmountError("the amount must be a number of Rupiah")
    text = str(amount) if isinstance(amount, int) else amount
    if not isinstance(text, str) or not _AMOUNT.match(text):
        raise QrisAmountError(f"the amount {text!r} is not a positive number of Rupiah")
    if float(text) <= 0:
        raise QrisAmountError("the amount must be above zero for a dynamic QRIS")
    if len(text) > AMOUNT_MAX_CHARS:
        raise QrisAmountError(
            f"the amount {text} has {len(text)} characters; the QRIS standard allows at most "
            f"{AMOUNT_MAX_CHARS} in tag 54 (pay this fee with the billing code instead)"
        )
    return text


def build_payload(
    merchant: Merchant, amount: int | str, bill_number: str, terminal: str = ""
) -> str:
    """The dynamic QRIS text for one payment of ``amount`` Rupiah for ``bill_number``."""
    merchant.check()
    value = amount_text(amount)
    _text("bill number (62.01)", bill_number, 25)
    account = (
        tlv("00", merchant.acquirer_domain)
        + tlv("01", merchant.merchant_pan)
        + tlv("02", merchant.merchant_id)
        + tlv("03", merchant.criteria)
    )
    national = tlv("00", QRIS_GUID) + tlv("02", merchant.nmid) + tlv("03", merchant.criteria)
    extra = tlv("01", bill_number)
    if terminal:
        extra += tlv("07", _text("terminal label (62.07)", terminal, 25))
    body = (
        tlv("00", "01")
        + tlv("01", "12")
        + tlv("26", account)
        + tlv("51", national)
        + tlv("52", merchant.mcc)
        + tlv("53", CURRENCY_IDR)
        + tlv("54", value)
        + tlv("58", COUNTRY_ID)
        + tlv("59", merchant.name)
        + tlv("60", merchant.city)
        + (tlv("61", merchant.postal_code) if merchant.postal_code else "")
        + tlv("62", extra)
        + "6304"
    )
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"


def parse_fields(text: str) -> dict[str, str]:
    """Split a TLV string into {tag: value}; QrisError when it does not split cleanly."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(text):
        head = text[at : at + 4]
        if len(head) < 4 or not head.isdigit():
            raise QrisError(f"field at position {at} has no two-digit tag and length")
        tag, length = head[:2], int(head[2:])
        value = text[at + 4 : at + 4 + length]
        if len(value) != length:
            raise QrisError(f"field {tag} is cut short")
        if tag in fields:
            raise QrisError(f"field {tag} appears twice")
        fields[tag] = value
        at += 4 + length
    return fields


def parse_payload(text: str) -> dict[str, str]:
    """The top-level fields of a QRIS text, after checking that it ends with a correct CRC."""
    if len(text) < 8 or text[-8:-4] != "6304":
        raise QrisError("the payload does not end with the CRC field (6304....)")
    expected = f"{crc16_ccitt(text[:-4].encode('ascii')):04X}"
    if text[-4:].upper() != expected:
        raise QrisError(f"CRC {text[-4:]} does not match the payload's {expected}")
    return parse_fields(text)
