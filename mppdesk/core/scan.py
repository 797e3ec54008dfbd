"""What a keyboard-wedge scanner typed: a NIK, an IKD QR code, or a queue ticket.

A barcode/QR scanner at the counter "types" what it read followed by Enter, a few
milliseconds per character, into whichever field has the focus. The desk has to tell a
NIK from a queue ticket and from anything else a scanner may read (a URL on a leaflet, a
payment QR), and must never guess.

The IKD (Identitas Kependudukan Digital) QR code: Dukcapil has not published its content
format, and the code shown in the IKD app is meant for Dukcapil's own verification service.
So the rule here is deliberately conservative and does not depend on a layout:

* the text is a NIK alone (spaces, dots or dashes between groups allowed), or
* the text is a JSON object whose ``nik`` (any case) is a 16-digit string or number, or
* the text holds exactly one run of exactly 16 digits and no longer run of digits
  (``IKD:3171…``, ``NIK=3171…;NAMA=…``).

Anything else (no 16-digit run, two different ones, a run of 17 or more digits, more than
4 KB) is refused: the officer types the NIK from the card instead. A 16-digit run is not
proof it is a NIK (a KK number is 16 digits too); the look-up and the form's NIK checks
that follow still apply.
"""

from __future__ import annotations

import json
import re

MAX_SCAN_CHARS = 4096
_DIGIT_RUN = re.compile(r"\d+", re.ASCII)
_TICKET = re.compile(r"^([A-Za-z]{1,3})[- ]?(\d{1,4})$", re.ASCII)


def nik_from_scan(text: str) -> str | None:
    """The one NIK a scanned (or typed) text holds, or None when it holds none or several."""
    text = (text or "").strip()
    if not text or len(text) > MAX_SCAN_CHARS:
        return None
    compact = re.sub(r"[\s.\-]", "", text)  # typed or printed in groups: "3171 0123 …"
    if len(compact) == 16 and compact.isascii() and compact.isdigit():
        return compact
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for key, value in document.items():
                if str(key).lower() == "nik" and not isinstance(value, bool):
                    value = str(value).strip()
                    return (
                        value if len(value) == 16 and value.isascii() and value.isdigit() else None
                    )
    runs = _DIGIT_RUN.findall(text)
    if any(len(run) > 16 for run in runs):
        return None
    niks = {run for run in runs if len(run) == 16}
    return niks.pop() if len(niks) == 1 else None


def normalize_ticket(text: str) -> str:
    """A queue ticket as the desk writes it: "a17", "A 017" and "A-017" are all "A-017".

    Text that does not look like letters + number (another queue system's code) is kept as
    it was, trimmed: the ticket is a label for the officer, not a key.
    """
    text = (text or "").strip()
    match = _TICKET.match(text)
    if match is None:
        return text
    return f"{match.group(1).upper()}-{int(match.group(2)):03d}"
