"""Masking of personal identifiers for printouts, logs and crash reports."""

from __future__ import annotations

import logging
import re

_LONG_DIGITS = re.compile(r"(?<!\d)(\d{4})(\d{8})(\d{4})(?!\d)")
_PHONE = re.compile(r"(\+?62|0)(8\d{2})(\d{3,6})(\d{2})(?!\d)")
# SQLAlchemy appends the bound values of a failed statement to its message:
# "[parameters: ('3174…', 'SITI AMINAH', …)]". Names and addresses cannot be recognised by a
# pattern, so the whole section goes, up to SQLAlchemy's "(Background on this error …" line.
_SQL_PARAMETERS = re.compile(
    r"\[parameters: .*?(?=\n?\(Background on this error|\Z)", re.DOTALL | re.IGNORECASE
)
SQL_PARAMETERS_DROPPED = "[parameters: dropped]"


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


def mask_diagnostic(text: str) -> str:
    """Text for a log or crash report: SQL parameter values dropped, identifiers masked.

    An integrity error's text holds the row it tried to write (full NIKs, a child's name);
    only the statement and the driver's reason are worth keeping for an engineer.
    """
    return mask_text(_SQL_PARAMETERS.sub(SQL_PARAMETERS_DROPPED, text))


class MaskingFilter(logging.Filter):
    """Masks every log record (message and traceback) on its way to a handler.

    Here in core, standard library only, so programs of their own (the agency sim) can
    install it too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            return True
        masked = mask_diagnostic(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_diagnostic(record.exc_text)
        record.msg, record.args = masked, None
        return True
