"""The scanned-text rules: one NIK or nothing, never a guess; queue tickets spelled one way."""

from __future__ import annotations

import json

import pytest

from mppdesk.core.scan import MAX_SCAN_CHARS, nik_from_scan, normalize_ticket

NIK = "3171012345678901"


@pytest.mark.parametrize(
    "text",
    [
        NIK,
        f"  {NIK}\n",
        "3171 0123 4567 8901",
        "317101.234567.8901",
        f"IKD:{NIK}",
        f"NIK={NIK};NAMA=BUDI;TGL=01-05-1990",
        json.dumps({"nik": NIK, "nama": "BUDI", "kk": "3171010101900001"}),
        json.dumps({"NIK": int(NIK)}),
    ],
)
def test_one_nik_is_found(text):
    assert nik_from_scan(text) == NIK


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A-017",
        "12345",
        NIK + "0",  # 17 digits: not a NIK
        f"NIK:{NIK};KK:3171010101900001",  # two candidates: refuse, do not guess
        json.dumps({"nik": "31710123"}),  # a JSON naming a bad NIK is not searched further
        json.dumps({"nik": True}),
        "https://example.com/?q=" + NIK + "99",
        "٣١٧١٠١٢٣٤٥٦٧٨٩٠١",  # Arabic-Indic digits are not a NIK
        f"IKD:{NIK};" + "x" * MAX_SCAN_CHARS,  # longer than any QR code
    ],
)
def test_anything_else_is_refused(text):
    assert nik_from_scan(text) is None


def test_same_nik_twice_is_still_one():
    assert nik_from_scan(f"{NIK}|{NIK}") == NIK


@pytest.mark.parametrize(
    ("text", "ticket"),
    [
        ("a17", "A-017"),
        ("A 017", "A-017"),
        ("B-042", "B-042"),
        ("VIP-3", "VIP-003"),
        (" Q12345 ", "Q12345"),
        ("K01/77", "K01/77"),
    ],
)
def test_tickets_are_spelled_one_way(text, ticket):
    assert normalize_ticket(text) == ticket
