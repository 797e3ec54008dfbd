"""The machine readable zone (MRZ) of a passport or ID card, as ICAO Doc 9303 lays it out.

A passport reader at the counter types the MRZ lines it read, each followed by Enter (or
with CR/LF between them), like the keyboard-wedge scanners of ``mppdesk.core.scan``. The
desk only needs what proves the document number was read and typed right: the number and
its check digit, and the check digits of the other fields (a misread line fails them).

Two layouts (ICAO 9303 parts 4 and 5):

* TD3, passports: two lines of 44 characters; line 2 holds the document number (9), its
  check digit, nationality, birth date + check, sex, expiry + check, personal number (14)
  + check, and a composite check digit over all of those.
* TD1, ID cards (residence cards among them): three lines of 30 characters; line 1 holds
  the document number + check and optional data, line 2 birth date, expiry and the
  composite check digit.

Characters are ``A-Z``, ``0-9`` and the filler ``<``. Check digits weigh the character
values (digits as themselves, A=10 … Z=35, ``<``=0) by 7, 3, 1 repeating, modulo 10.
Pure standard library; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MRZ_CHARS = 200  # three TD1 lines with separators; more is not an MRZ
_MRZ_LINE = re.compile(r"^[A-Z0-9<]+$", re.ASCII)
_WEIGHTS = (7, 3, 1)


def char_value(char: str) -> int:
    """ICAO 9303 value of one MRZ character; ValueError for anything else."""
    if "0" <= char <= "9" and len(char) == 1:
        return ord(char) - ord("0")
    if "A" <= char <= "Z" and len(char) == 1:
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def check_digit(field: str) -> str:
    """The check digit of ``field`` (weights 7, 3, 1 repeating, sum modulo 10)."""
    total = sum(char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(field))
    return str(total % 10)


@dataclass(frozen=True)
class Mrz:
    """What a read MRZ says, and which of its check digits failed (field names)."""

    layout: str  # "TD3" | "TD1"
    document_code: str  # "P", "PB", "I", "IC" … (fillers dropped)
    issuer: str  # issuing state, 3 letters
    document_number: str  # fillers dropped
    nationality: str
    birth_date: str  # YYMMDD as printed
    sex: str  # "M", "F" or "<"
    expiry_date: str  # YYMMDD
    failed: tuple[str, ...]  # "document_number", "birth_date", "expiry_date", "optional",
    #                          "composite": the check digits that do not match

    @property
    def ok(self) -> bool:
        return not self.failed


def _lines(text: str) -> list[str]:
    """The MRZ lines in ``text``: split at line ends, spaces dropped, upper case."""
    lines = [re.sub(r"\s+", "", line).upper() for line in re.split(r"[\r\n]+", text)]
    return [line for line in lines if line]


def _digit_ok(field: str, digit: str) -> bool:
    # A field left empty (all fillers) may carry "<" instead of a check digit (9303 part 3).
    if digit == "<":
        return set(field) <= {"<"}
    return check_digit(field) == digit


def read_mrz(text: str) -> Mrz | None:
    """The MRZ that ``text`` holds (TD3 or TD1), or None when it is not one.

    None means the shape is wrong (line count, lengths, characters): the officer types the
    number instead. A well-shaped MRZ comes back even when check digits fail; ``failed``
    names them, so a misread can be told from a document that is not an MRZ at all.
    """
    if not isinstance(text, str) or len(text) > MAX_MRZ_CHARS:
        return None
    lines = _lines(text)
    if not lines or not all(_MRZ_LINE.match(line) for line in lines):
        return None
    if len(lines) == 2 and all(len(line) == 44 for line in lines):
        return _td3(*lines)
    if len(lines) == 3 and all(len(line) == 30 for line in lines):
        return _td1(*lines)
    return None


def _mrz(
    layout: str,
    line1: str,
    *,
    number: tuple[str, str],
    birth: tuple[str, str],
    expiry: tuple[str, str],
    nationality: str,
    sex: str,
    composite: tuple[str, str],
    optional: tuple[str, str] | None = None,
) -> Mrz:
    """The Mrz of one layout from its fields, each (field, its check digit) as the layout
    places them; ``failed`` names the fields whose check digit does not match, then
    "composite". Both layouts open line 1 with the document code and the issuer."""
    checked = {"document_number": number, "birth_date": birth, "expiry_date": expiry}
    if optional is not None:
        checked["optional"] = optional
    failed = [name for name, (value, cd) in checked.items() if not _digit_ok(value, cd)]
    if check_digit(composite[0]) != composite[1]:
        failed.append("composite")
    return Mrz(
        layout=layout,
        document_code=line1[0:2].replace("<", ""),
        issuer=line1[2:5].replace("<", ""),
        document_number=number[0].replace("<", ""),
        nationality=nationality.replace("<", ""),
        birth_date=birth[0],
        sex=sex,
        expiry_date=expiry[0],
        failed=tuple(failed),
    )


def _td3(line1: str, line2: str) -> Mrz:
    return _mrz(
        "TD3",
        line1,
        number=(line2[0:9], line2[9]),
        nationality=line2[10:13],
        birth=(line2[13:19], line2[19]),
        sex=line2[20],
        expiry=(line2[21:27], line2[27]),
        optional=(line2[28:42], line2[42]),
        composite=(line2[0:10] + line2[13:20] + line2[21:43], line2[43]),
    )


def _td1(line1: str, line2: str, line3: str) -> Mrz:
    return _mrz(
        "TD1",
        line1,
        number=(line1[5:14], line1[14]),
        birth=(line2[0:6], line2[6]),
        sex=line2[7],
        expiry=(line2[8:14], line2[14]),
        nationality=line2[15:18],
        composite=(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29], line2[29]),
    )
