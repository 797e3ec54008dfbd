"""Foreign applicants: ICAO 9303 passport numbers and MRZ check digits, KITAS/KITAP form,
the form engine using them, and the catalog saying which services serve foreigners."""

from __future__ import annotations

import pytest

from mppdesk.core.mrz import char_value, check_digit, read_mrz
from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog
from mppdesk.forms.definitions import FieldType
from mppdesk.forms.validators import check_kitas, check_passport, identity_number

# The specimens of ICAO Doc 9303: part 4 (TD3 passport of "Utopia", Anna Maria Eriksson)
# and part 5 (TD1 card). Their check digits are printed in the standard.
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n"
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<\n"
    "7408122F1204159UTO<<<<<<<<<<<6\n"
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)


def test_check_digits_of_the_icao_specimens():
    assert [char_value(c) for c in "09AZ<"] == [0, 9, 10, 35, 0]
    assert check_digit("L898902C3") == "6"  # document number, TD3 specimen
    assert check_digit("740812") == "2"  # date of birth
    assert check_digit("120415") == "9"  # date of expiry
    assert check_digit("ZE184226B<<<<<") == "1"  # personal number
    assert check_digit("D23145890") == "7"  # document number, TD1 specimen
    assert check_digit("<<<<<<<<<") == "0"


def test_the_specimen_mrzs_read_whole():
    passport = read_mrz(TD3)
    assert passport is not None and passport.ok and passport.layout == "TD3"
    assert (passport.document_number, passport.issuer, passport.nationality) == (
        "L898902C3", "UTO", "UTO"
    )
    assert (passport.birth_date, passport.sex, passport.expiry_date) == ("740812", "F", "120415")
    card = read_mrz(TD1)
    assert card is not None and card.ok and card.document_number == "D23145890"
    # A reader that sends CR, indents or lower-cases still reads.
    assert read_mrz("  " + TD3.replace("\n", "\r\n").lower()).ok


@pytest.mark.parametrize(
    ("position", "wrong", "field"),
    [
        (9, "5", "document_number"),  # the number's own check digit
        (3, "9", "document_number"),  # a misread digit of the number
        (19, "3", "birth_date"),
        (27, "0", "expiry_date"),
        (42, "2", "optional"),
        (43, "1", "composite"),
    ],
)
def test_a_misread_character_fails_its_check_digit(position, wrong, field):
    line1, line2 = TD3.split("\n")
    broken = read_mrz(line1 + "\n" + line2[:position] + wrong + line2[position + 1:])
    assert broken is not None and not broken.ok
    assert broken.failed[0] == field


@pytest.mark.parametrize(
    "text",
    ["", "L898902C3", TD3[:-1], TD3 + "\nXYZ", TD3.replace("<", "!"), "x" * 500, None],
)
def test_what_is_not_an_mrz_is_none(text):
    assert read_mrz(text) is None


def test_passport_numbers_follow_icao_characters_and_length():
    assert check_passport("c 1234567").value == "C1234567"  # Indonesian layout, typed loosely
    assert check_passport("L898902C3").value == "L898902C3"
    for bad, shown in (("!!", "'!'"), ("C123-4567", "'-'"), ("L898902C<", "'<'"), ("Ä1234567", "'Ä'")):
        result = check_passport(bad)
        assert not result.ok and result.error.code == "validator.passport_chars"
        assert shown in result.error.en
    too_long = check_passport("ABCD1234567")
    assert too_long.error.code == "validator.passport_length" and "11" in too_long.error.en
    assert check_passport("   ").error.code == "validator.empty"
    assert check_passport(12345678).error.code == "validator.not_text"
    short = check_passport("X12")
    assert short.ok and [w.code for w in short.warnings] == ["validator.passport_short"]
    assert [w.code for w in check_passport("ABCDEFG").warnings] == ["validator.passport_no_digit"]


def test_a_scanned_mrz_must_hold_and_name_the_typed_number():
    assert check_passport("L898902C3", mrz=TD3).ok
    other = check_passport("L898902C4", mrz=TD3)
    assert other.error.code == "validator.mrz_other_number"
    assert other.error.params == {"mrz": "L898902C3", "typed": "L898902C4"}
    misread = check_passport("L898902C3", mrz=TD3.replace("C36", "C35"))
    assert misread.error.code == "validator.mrz_check_digit"
    assert "nomor dokumen" in misread.error.id and "document number" in misread.error.en
    assert check_passport("L898902C3", mrz="P<UTO").error.code == "validator.mrz_unreadable"


def test_kitas_and_kitap_numbers_are_checked_for_form():
    assert check_kitas("2c21je4583-w").value == "2C21JE4583-W"
    assert check_kitas("2D11 JD2345/L").value == "2D11JD2345/L"
    for bad, code in (
        ("KITAS!", "validator.kitas_chars"),
        ("-2C21JE4583", "validator.kitas_separator"),
        ("2C21--JE4583", "validator.kitas_separator"),
        ("2C21", "validator.kitas_length"),
        ("2C21JE4583W2C21JE4583W", "validator.kitas_length"),
        ("ABCDEFGHIJ", "validator.kitas_no_digit"),
    ):
        assert check_kitas(bad).error.code == code, bad
    nik_like = check_kitas("3174011508950001")
    assert nik_like.ok and [w.code for w in nik_like.warnings] == ["validator.kitas_like_nik"]


def test_identity_number_normalises_as_intake_stores():
    assert identity_number("paspor", " tr4812736 ").value == "TR4812736"
    assert identity_number("kitas", "2c21je4583-w").value == "2C21JE4583-W"
    assert identity_number("paspor", "!!").error.code == "validator.passport_chars"


def test_the_shared_identity_fields_of_foreigners_are_validated_by_the_engine():
    from mppdesk.forms.engine import normalize_value

    catalog = load_catalog(builtin_catalog_dirs())
    passport = catalog.shared_fields["no_paspor"]
    kitas = catalog.shared_fields["no_kitas"]
    assert (passport.type, kitas.type) == (FieldType.PASSPORT, FieldType.KITAS)
    assert normalize_value(passport, "tr 4812736").value == "TR4812736"
    refused = normalize_value(passport, "!!")
    assert refused.value is None and refused.error is not None
    assert normalize_value(kitas, "2C21JE4583-W").value == "2C21JE4583-W"


def test_every_service_that_serves_foreigners_says_so_and_asks_for_their_documents():
    catalog = load_catalog(builtin_catalog_dirs())
    serving = {code for code, s in catalog.services.items() if s.applicants != "citizen"}
    # Was 2 of 22 (a bank and BPJS Kesehatan); citizens-only stay: IKD, the Indonesian
    # passport, SKCK at a Polres, haji, AK/1, NIB for micro business, the birth certificate
    # form (parents' NIKs).
    assert len(serving) >= 15
    assert {
        "dukcapil/ktp-el", "samsat/pajak-tahunan", "djp/npwp-orang-pribadi", "pln/pasang-baru",
        "bpjs-ketenagakerjaan/klaim-jht", "bapenda/pbb-mutasi",
    } <= serving
    assert {"imigrasi/paspor", "kemenag/pendaftaran-haji-reguler", "dukcapil/ikd-aktivasi"}.isdisjoint(
        serving
    )
    for code in serving:
        service = catalog.services[code]
        shared = {ref.field: ref for ref in service.shared_fields}
        assert {"kewarganegaraan", "nik", "no_paspor", "no_kitas"} <= set(shared), code
        assert shared["nik"].required is not True, code  # not for foreigners
        for_foreigners = [r for r in service.requirements if "WNA" in (r.condition or "")]
        assert for_foreigners, code  # the passport and the stay permit are on the checklist


def test_an_mrz_scanned_into_the_passport_field_gives_its_checked_number():
    assert check_passport(TD3).value == "L898902C3"
    assert check_passport(TD3.replace("\n", "\r")).value == "L898902C3"
    misread = check_passport(TD3.replace("7408122F", "7408123F"))
    assert misread.error.code == "validator.mrz_check_digit" and "birth" in misread.error.en
