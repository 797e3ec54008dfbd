"""Tracking numbers (nomor registrasi) that are easy to read over the phone.

Shape: ``DESK-YYMMDD-NNNN-C``: the desk prefix, the finalize date, a per-desk daily sequence
and a check character. The alphabet is Crockford's base 32 (no I, L, O, U), so a check
character is never confused with a digit; the check is a weighted sum mod 32 over the other
characters with odd weights (coprime with 32), which catches every single-character typo and
every swap of neighbouring digits (a swap of two letters 16 apart is the only miss).
"""

from __future__ import annotations

import re
from datetime import date

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# Digits and letters outside the alphabet map onto their look-alikes, as Crockford suggests.
_ALIASES = {"O": "0", "I": "1", "L": "1"}
_PATTERN = re.compile(r"^([0-9A-Z]{1,6})-(\d{6})-(\d{4,6})-([0-9A-Z])$")
_DESK_PATTERN = re.compile(r"^[0-9A-Z]{1,6}$")


class TrackingNumberError(ValueError):
    """A malformed tracking number; ``reason`` says why as a word for the message catalog
    ("shape", "check" or "character": ``error.tracking_reason.<reason>``)."""

    def __init__(self, message: str, reason: str = "character") -> None:
        super().__init__(message)
        self.reason = reason


def _char_value(ch: str) -> int:
    ch = _ALIASES.get(ch, ch)
    if ch not in _VALUE:
        raise TrackingNumberError(f"character {ch!r} is not allowed in a tracking number")
    return _VALUE[ch]


def check_character(body: str) -> str:
    """The check character for ``body`` (the tracking number without its last group)."""
    chars = [c for c in body.upper() if c != "-"]
    total = 0
    for position, ch in enumerate(chars):
        # Odd weights 1, 3, …, 31 cycle: a changed character changes the sum mod 32.
        total += _char_value(ch) * (2 * (position % 16) + 1)
    return ALPHABET[total % 32]


def normalize_desk_code(code: str) -> str:
    """The one spelling of a desk code: trimmed, upper case, 1 to 6 characters of ALPHABET.

    The desk code keys tracking numbers, their daily sequence and the ``X-MPP-Desk`` header,
    so ``k01`` and ``K01`` must be the same desk: settings loading calls this once and every
    other use sees only the normalised form. Letters I, L, O and U are refused (they read as
    digits over the phone and the check character cannot tell them apart).
    """
    if not isinstance(code, str):
        raise TrackingNumberError("desk code must be text")
    prefix = code.strip().upper()
    if not _DESK_PATTERN.match(prefix):
        raise TrackingNumberError("desk code must be 1 to 6 letters or digits (A-Z, 0-9)")
    for ch in prefix:
        if ch not in _VALUE:
            raise TrackingNumberError(
                f"character {ch!r} is not allowed in a desk code (I, L, O and U read as digits)"
            )
    return prefix


def validate_desk_prefix(prefix: str) -> str:
    return normalize_desk_code(prefix)


def make_tracking_number(desk_prefix: str, day: date, sequence: int) -> str:
    prefix = validate_desk_prefix(desk_prefix)
    if not 1 <= sequence <= 999_999:
        raise TrackingNumberError("sequence must be between 1 and 999999")
    body = f"{prefix}-{day:%y%m%d}-{sequence:04d}"
    return f"{body}-{check_character(body)}"


def normalize_tracking_number(text: str) -> str:
    """Upper-case, trim and map look-alike letters; raises if the shape or check is wrong."""
    cleaned = re.sub(r"\s+", "", text).upper()
    match = _PATTERN.match(cleaned)
    if not match:
        raise TrackingNumberError("tracking number must look like DESK-YYMMDD-NNNN-C", "shape")
    body = cleaned.rsplit("-", 1)[0]
    check = _ALIASES.get(match.group(4), match.group(4))
    if check_character(body) != check:
        raise TrackingNumberError("tracking number check character does not match", "check")
    return f"{body}-{check}"
