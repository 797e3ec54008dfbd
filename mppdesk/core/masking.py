"""Masking of personal identifiers for printouts and logs."""

from __future__ import annotations

import re

_LONG_DIGITS = re.compile(r"(?<!\d)(\d{4})(\d{8})(\d{4})(?!\d)")
_PHONE = re.compile(r"(\+?62|0)(8\d{2})(\d{3,6})(\d{2})(?!\d)")


def mask_nik(nik: str) -> str:
    """Keep the region prefix and the serial so a citizen recognises the number."""
    digits = "".join(ch for ch in nik if ch.isdigit())
    if len(digits) != 16:
        return "*" * len(nik)
    return f"{digits[:4]}********{digits[12:]}"


def mask_text(text: str) -> str:
    """Mask every 16-digit number (NIK, KK) and Indonesian phone number in free text."""
    text = _LONG_DIGITS.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _PHONE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}", text
    )
