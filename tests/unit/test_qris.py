"""Dynamic QRIS payloads (mppdesk.core.qris): the EMVCo fields, their limits and the CRC."""

from __future__ import annotations

import binascii

import pytest

from mppdesk.core.qris import (
    Merchant,
    QrisAmountError,
    QrisError,
    amount_text,
    build_payload,
    crc16_ccitt,
    parse_fields,
    parse_payload,
)

MERCHANT = Merchant(
    name="MPP KOTA CONTOH",
    city="KOTA CONTOH",
    acquirer_domain="ID.CO.BANKDAERAH.WWW",
    merchant_pan="9360012300000012345",
    merchant_id="MPP0001",
    nmid="ID1026000000001",
)


def test_crc_is_ccitt_false_as_emvco_prescribes():
    assert crc16_ccitt(b"123456789") == 0x29B1  # the catalogue check value
    for data in (b"", b"0002010102126304", bytes(range(256))):
        assert crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)


def test_payload_fields_in_order_with_a_crc_over_everything_before_it():
    payload = build_payload(MERCHANT, 30000, "K01-261202-0001-X", terminal="K01")
    assert payload.startswith("000201" "010212")  # format 01, dynamic (12)
    tags = parse_payload(payload)
    assert list(tags) == ["00", "01", "26", "51", "52", "53", "54", "58", "59", "60", "62", "63"]
    assert tags["53"] == "360" and tags["58"] == "ID" and tags["54"] == "30000"
    assert parse_fields(tags["51"])["00"] == "ID.CO.QRIS.WWW"
    assert parse_fields(tags["62"]) == {"01": "K01-261202-0001-X", "07": "K01"}
    assert payload[-4:] == f"{binascii.crc_hqx(payload[:-4].encode(), 0xFFFF):04X}"


def test_a_changed_character_fails_the_crc():
    payload = build_payload(MERCHANT, 30000, "K01-1")
    tampered = payload.replace("5405" + "30000", "5405" + "90000")
    with pytest.raises(QrisError, match="CRC"):
        parse_payload(tampered)


def test_amount_has_at_most_13_characters():
    assert amount_text(9_999_999_999_999) == "9999999999999"  # 13 characters: the limit
    assert amount_text("12345678901.5") == "12345678901.5"
    with pytest.raises(QrisAmountError, match="13") as caught:
        build_payload(MERCHANT, 10_000_000_000_000, "K01-1")  # 14 characters
    assert "billing code" in str(caught.value)  # says what to do instead
    for bad in (0, -5, True, "1e5", "12.345"):
        with pytest.raises(QrisAmountError):
            amount_text(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", "X" * 26, "merchant name (59) is 26 characters"),
        ("city", "KABUPATEN KEPULAUAN", "merchant city (60)"),
        ("merchant_pan", "12345", "16 to 19 digits"),
        ("criteria", "ABC", "criteria"),
        ("mcc", "93", "4 digits"),
        ("nmid", "", "must not be empty"),
        ("name", "MPP\u00e9", "printable ASCII"),
    ],
)
def test_merchant_data_outside_the_standard_is_refused_by_name(field, value, words):
    from dataclasses import replace

    with pytest.raises(QrisError, match=words.replace("(", r"\(").replace(")", r"\)")):
        replace(MERCHANT, **{field: value}).check()


def test_cut_or_doubled_fields_do_not_parse():
    with pytest.raises(QrisError, match="cut short"):
        parse_fields("0002010102")
    with pytest.raises(QrisError, match="twice"):
        parse_fields("00020100" "0201")
    with pytest.raises(QrisError, match="CRC field"):
        parse_payload("000201")


def test_qris_settings_are_checked_on_load_and_survive_a_save(tmp_path):
    from mppdesk.settings import SettingsError, load_settings, save_settings

    good = (
        '[qris]\nagencies = "bapenda, pdam"\nmerchant_name = "MPP KOTA CONTOH"\n'
        'merchant_city = "KOTA CONTOH"\nacquirer_domain = "ID.CO.BANKDAERAH.WWW"\n'
        'merchant_pan = "9360012300000012345"\nmerchant_id = "MPP0001"\n'
        'nmid = "ID1026000000001"\n'
    )
    (tmp_path / "settings.toml").write_text(good, encoding="utf-8")
    settings = load_settings(tmp_path)
    assert settings.qris.agency_codes == {"bapenda", "pdam"}
    save_settings(tmp_path, settings)
    assert load_settings(tmp_path).qris == settings.qris

    bad = good.replace('merchant_pan = "9360012300000012345"', 'merchant_pan = "12"')
    (tmp_path / "settings.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(SettingsError, match=r"settings.toml:qris: merchant PAN \(26.01\)"):
        load_settings(tmp_path)
    off = '[qris]\nagencies = ""\nmerchant_pan = "12"\n'  # no QRIS: nothing to check
    (tmp_path / "settings.toml").write_text(off, encoding="utf-8")
    assert load_settings(tmp_path).qris.agency_codes == frozenset()
