"""Identifier validators: concrete cases, then properties over generated input."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stdnum.id import nik as stdnum_nik

from mppdesk.forms import indonesia
from mppdesk.forms.validators import (
    Check,
    InvalidNumber,
    NikInfo,
    check_email,
    check_kk,
    check_nik,
    check_npwp,
    check_phone,
    check_postal_code,
    check_region,
    decode_nik,
)

TODAY = date(2026, 6, 15)  # fixes the NIK century rule for these tests


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    indonesia.preload()


def _districts() -> list[str]:
    regencies = [r for p in indonesia.children(None) for r in indonesia.children(p.code)]
    return [d.code for r in regencies for d in indonesia.children(r.code)]


DISTRICTS = _districts()


def error_of(check: Check) -> str:
    assert check.error is not None, check
    return check.error.id


def warnings_of(check: Check) -> list[str]:
    return [w.id for w in check.warnings]


# --- NIK -----------------------------------------------------------------------------------


def test_a_mans_nik() -> None:
    check = check_nik("3174011508950001", today=TODAY)
    assert check == Check(value="3174011508950001")
    assert check.ok
    assert decode_nik("3174011508950001", today=TODAY) == NikInfo(
        province="31",
        regency="3174",
        district="317401",
        birth_date=date(1995, 8, 15),
        sex="L",
        serial="0001",
    )


def test_a_womans_nik_has_40_added_to_the_day() -> None:
    assert check_nik("3174015508950001", today=TODAY).ok
    info = decode_nik("3174015508950001", today=TODAY)
    assert (info.sex, info.birth_date) == ("P", date(1995, 8, 15))
    assert decode_nik("3174017112990002", today=TODAY).birth_date == date(1999, 12, 31)


@pytest.mark.parametrize(
    ("nik", "province"),
    [
        ("6501011508950001", "Kalimantan Utara"),
        ("9301011508950001", "Papua Selatan"),
        ("9401011508950001", "Papua Tengah"),
        ("9501011508950001", "Papua Pegunungan"),
        ("9601011508950001", "Papua Barat Daya"),
    ],
)
def test_niks_of_the_newest_provinces(nik: str, province: str) -> None:
    assert indonesia.region(nik[:2]).name == province
    assert check_nik(nik, today=TODAY) == Check(value=nik)


def test_python_stdnum_rejects_niks_of_provinces_we_must_accept() -> None:
    # Why NIK is not checked with python-stdnum (2.2): it lacks 65, 92, 93, 95 and 96.
    for province in ("65", "92", "93", "95", "96"):
        nik = f"{province}01011508950001"
        assert not stdnum_nik.is_valid(nik)
        assert check_nik(nik, today=TODAY).ok


def test_separators_are_ignored() -> None:
    assert check_nik(" 3174.0115.0895-0001\t", today=TODAY).value == "3174011508950001"
    assert check_nik("3174 0115 0895 0001", today=TODAY).value == "3174011508950001"


@pytest.mark.parametrize(
    ("nik", "message"),
    [
        ("", "NIK belum diisi"),
        (" - . ", "NIK belum diisi"),
        ("317401150895001", "NIK harus 16 digit (terisi 15)"),
        ("31740115089500011", "NIK harus 16 digit (terisi 17)"),
        ("31740115089500O1", "NIK hanya boleh berisi angka 0-9 (ada 'O')"),
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦", "NIK hanya boleh berisi angka 0-9 (ada '١')"),
        ("３１７４０１１５０８９５０００１", "NIK hanya boleh berisi angka 0-9 (ada '３')"),
        ("3174011508950\x0001", "NIK hanya boleh berisi angka 0-9 (ada U+0000)"),
        ("9901011508950001", "Kode provinsi NIK (digit 1-2) tidak dikenal: 99"),
        ("5401011508950001", "Kode provinsi NIK (digit 1-2) tidak dikenal: 54"),  # Timor Timur
        ("3100011508950001", "Kode kabupaten/kota NIK (digit 3-4) tidak boleh 00"),
        ("3174001508950001", "Kode kecamatan NIK (digit 5-6) tidak boleh 00"),
        (
            "3174010008950001",
            "Tanggal lahir pada NIK (digit 7-8) harus 01-31, atau 41-71 untuk perempuan "
            "(terisi 00)",
        ),
        (
            "3174013508950001",
            "Tanggal lahir pada NIK (digit 7-8) harus 01-31, atau 41-71 untuk perempuan "
            "(terisi 35)",
        ),
        (
            "3174017208950001",
            "Tanggal lahir pada NIK (digit 7-8) harus 01-31, atau 41-71 untuk perempuan "
            "(terisi 72)",
        ),
        ("3174011513950001", "Bulan lahir pada NIK (digit 9-10) harus 01-12 (terisi 13)"),
        ("3174011500950001", "Bulan lahir pada NIK (digit 9-10) harus 01-12 (terisi 00)"),
        ("3174013102950001", "Tanggal lahir pada NIK tidak ada di kalender: 31-02-95"),
        ("3174016902950001", "Tanggal lahir pada NIK tidak ada di kalender: 29-02-95"),
        ("3174011508950000", "Nomor urut NIK (4 digit terakhir) tidak boleh 0000"),
    ],
)
def test_invalid_niks_name_the_problem(nik: str, message: str) -> None:
    check = check_nik(nik, today=TODAY)
    assert check.value is None
    assert error_of(check) == message
    assert check.error.en  # every message is bilingual


def test_english_messages() -> None:
    assert check_nik("317401150895001").error.en == "NIK must have 16 digits (15 entered)"
    assert check_nik("3174011513950001").error.en == (
        "The NIK's month of birth (digits 9-10) must be 01-12 (13 entered)"
    )


def test_a_leap_day_is_a_real_birth_date() -> None:
    assert decode_nik("3174012902040001", today=TODAY).birth_date == date(2004, 2, 29)
    assert decode_nik("3174012902000001", today=TODAY).birth_date == date(2000, 2, 29)


def test_century_is_the_one_that_puts_the_birth_date_in_the_past() -> None:
    assert decode_nik("3174011506260001", today=TODAY).birth_date == date(2026, 6, 15)
    assert decode_nik("3174011606260001", today=TODAY).birth_date == date(1926, 6, 16)
    assert decode_nik("3174010101000001", today=TODAY).birth_date == date(2000, 1, 1)
    assert decode_nik("3174010101990001", today=TODAY).birth_date == date(1999, 1, 1)


def test_an_old_regency_or_district_code_is_a_warning_not_an_error() -> None:
    check = check_nik("3199011508950001", today=TODAY)
    assert check.ok and check.value == "3199011508950001"
    assert warnings_of(check) == [
        "Kode kabupaten/kota 3199 pada NIK tidak ada di data wilayah Kemendagri terbaru "
        "(mungkin kode lama sebelum pemekaran); periksa kartunya"
    ]
    check = check_nik("3174991508950001", today=TODAY)
    assert check.ok
    assert warnings_of(check)[0].startswith("Kode kecamatan 317499 pada NIK tidak ada")


def test_birth_date_and_sex_that_disagree_are_warnings() -> None:
    check = check_nik("3174015508950001", birth_date=date(1995, 8, 16), sex="L", today=TODAY)
    assert check.ok and check.value == "3174015508950001"
    assert warnings_of(check) == [
        "Tanggal lahir pada NIK (15-08-1995) berbeda dengan tanggal lahir yang diisi (16-08-1995)",
        "Jenis kelamin pada NIK (perempuan) berbeda dengan yang diisi (laki-laki)",
    ]
    assert [w.en for w in check.warnings][1] == (
        "The sex in the NIK (female) differs from the one entered (male)"
    )


@pytest.mark.parametrize("sex", ["P", "p", " Perempuan ", "wanita", "F", "female"])
def test_agreeing_birth_date_and_sex_give_no_warning(sex: str) -> None:
    assert check_nik(
        "3174015508950001", birth_date=date(1995, 8, 15), sex=sex, today=TODAY
    ) == Check(value="3174015508950001")


def test_a_birth_date_a_century_away_is_the_ambiguity_of_two_digit_years() -> None:
    # A woman born 15 August 1925 has the same NIK digits as one born in 2025.
    check = check_nik("3174015508250001", birth_date=date(1925, 8, 15), today=TODAY)
    assert check == Check(value="3174015508250001")
    check = check_nik("3174015508950001", birth_date=datetime(1995, 8, 15, 10, 0), today=TODAY)
    assert check.warnings == ()


@pytest.mark.parametrize("sex", ["X", "", None, 1])
def test_an_unrecognised_sex_is_ignored(sex: object) -> None:
    assert check_nik("3174011508950001", sex=sex, today=TODAY).warnings == ()  # type: ignore[arg-type]


def test_decode_nik_raises_a_value_error_only_when_impossible() -> None:
    with pytest.raises(InvalidNumber, match=r"NIK must have 16 digits \(15 entered\)") as raised:
        decode_nik("317401150895001")
    assert raised.value.message.id == "NIK harus 16 digit (terisi 15)"
    with pytest.raises(ValueError, match="day of birth"):
        decode_nik("3174013508950001")
    with pytest.raises(ValueError, match="must be text"):
        decode_nik(3174011508950001)  # type: ignore[arg-type]
    # Impossible dates still decode; check_nik is what rejects them.
    assert decode_nik("3174013102950001", today=TODAY).birth_date is None
    assert decode_nik("3174011513950001", today=TODAY).birth_date is None
    assert decode_nik("9901011508950000", today=TODAY).serial == "0000"


# --- KK ------------------------------------------------------------------------------------


def test_a_valid_kk() -> None:
    assert check_kk("3174 0112 0520 0003", today=TODAY) == Check(value="3174011205200003")


@pytest.mark.parametrize(
    ("kk", "message"),
    [
        ("317401120520000", "Nomor KK harus 16 digit (terisi 15)"),
        ("9901011205200003", "Kode provinsi Nomor KK (digit 1-2) tidak dikenal: 99"),
        ("3100011205200003", "Kode kabupaten/kota Nomor KK (digit 3-4) tidak boleh 00"),
        ("3174001205200003", "Kode kecamatan Nomor KK (digit 5-6) tidak boleh 00"),
    ],
)
def test_invalid_kks(kk: str, message: str) -> None:
    assert error_of(check_kk(kk, today=TODAY)) == message


def test_doubtful_kks_are_warnings() -> None:
    assert warnings_of(check_kk("3174013202200003", today=TODAY)) == [
        "Digit 7-12 Nomor KK (32-02-20) bukan tanggal penerbitan yang valid; periksa kartunya"
    ]
    assert warnings_of(check_kk("3174015508950001", today=TODAY)) == [
        "Digit 7-12 Nomor KK (55-08-95) bukan tanggal penerbitan; "
        "mungkin yang diisi NIK, bukan Nomor KK"
    ]
    assert warnings_of(check_kk("3174011205200000", today=TODAY)) == [
        "Nomor urut KK (4 digit terakhir) 0000 tidak lazim; periksa kartunya"
    ]
    assert (
        check_kk("3199011205200003", today=TODAY)
        .warnings[0]
        .id.startswith("Kode kabupaten/kota 3199 pada Nomor KK")
    )


# --- NPWP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("npwp", "value"),
    [
        ("01.312.166.0-091.000", "013121660091000"),  # python-stdnum's documented example
        ("016090524017000", "016090524017000"),
        ("0013121660091000", "0013121660091000"),  # 16 digits: 0 + the old number
        ("0 01.312.166.0-091.000", "0013121660091000"),
        ("3174 0155 0895 0001", "3174015508950001"),  # a resident's NIK
    ],
)
def test_valid_npwps(npwp: str, value: str) -> None:
    assert check_npwp(npwp, today=TODAY) == Check(value=value)


@pytest.mark.parametrize(
    ("npwp", "message"),
    [
        ("01.312.166.1-091.000", "Digit pemeriksa NPWP tidak cocok (salah ketik?)"),
        ("0013121661091000", "Digit pemeriksa NPWP tidak cocok (salah ketik?)"),
        ("01.312.166.0-091.00", "NPWP harus 15 atau 16 digit (terisi 14)"),
        (
            "00.000.000.0-000.000",
            "NPWP berisi nol semua adalah nomor pengganti untuk yang tidak punya NPWP",
        ),
        (
            "3174011513950001",
            "NPWP 16 digit yang tidak diawali 0 adalah NIK, tetapi: "
            "Bulan lahir pada NIK (digit 9-10) harus 01-12 (terisi 13)",
        ),
        ("01.312.166.0/091.000", "NPWP hanya boleh berisi angka 0-9 (ada '/')"),
    ],
)
def test_invalid_npwps(npwp: str, message: str) -> None:
    assert error_of(check_npwp(npwp, today=TODAY)) == message


def test_an_npwp_that_is_a_nik_keeps_the_niks_warnings() -> None:
    check = check_npwp("3199011508950001", today=TODAY)
    assert check.ok and len(check.warnings) == 1


# --- phone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "08123456789",
        "0812-345-6789",
        "+628123456789",
        "+62 812 3456 789",
        "628123456789",
        "(0812) 3456789",
        " 8123456789 ",
    ],
)
def test_indonesian_mobile_numbers_in_every_usual_form(phone: str) -> None:
    assert check_phone(phone) == Check(value="+628123456789")


def test_a_jakarta_landline() -> None:
    assert check_phone("(021) 555-1234") == Check(value="+62215551234")


def test_a_foreign_number_is_accepted_with_a_warning() -> None:
    check = check_phone("+65 6123 4567")
    assert check.value == "+6561234567"
    assert warnings_of(check) == ["Nomor telepon luar negeri (SG); pastikan benar"]
    assert check_phone("6123 4567", region="sg") == Check(value="+6561234567")


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("", "Nomor telepon belum diisi"),
        ("0812", "Nomor telepon terlalu pendek"),
        (
            "0912345678",
            "Nomor telepon tidak valid: periksa jumlah digit dan awalannya (mis. 0812-3456-7890)",
        ),
        (
            "0812 3456 789 ext 12",
            "Nomor telepon hanya boleh berisi angka 0-9, spasi, +, -, dan tanda kurung (ada 'e')",
        ),
        (
            "08١٢٣٤٥٦٧٨٩",
            "Nomor telepon hanya boleh berisi angka 0-9, spasi, +, -, dan tanda kurung (ada '١')",
        ),
        ("0" * 41, "Nomor telepon terlalu panjang (41 karakter)"),
        ("++", "Nomor telepon tidak dapat dibaca sebagai nomor telepon"),
    ],
)
def test_invalid_phone_numbers(phone: str, message: str) -> None:
    assert error_of(check_phone(phone)) == message


def test_an_unknown_region_is_an_error_not_an_exception() -> None:
    assert error_of(check_phone("08123456789", region="XX")).startswith(
        "Kode negara untuk nomor telepon tidak dikenal"
    )
    assert not check_phone("08123456789", region=None).ok  # type: ignore[arg-type]


# --- e-mail --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "value"),
    [
        ("budi@example.co.id", "budi@example.co.id"),
        (" Budi.Santoso@GMAIL.COM ", "Budi.Santoso@gmail.com"),
        ("a+tag@sub.domain-x.id", "a+tag@sub.domain-x.id"),
        ("o'brien@example.com", "o'brien@example.com"),
        ("x@xn--p1ai.xn--p1ai", "x@xn--p1ai.xn--p1ai"),
    ],
)
def test_valid_emails(email: str, value: str) -> None:
    assert check_email(email) == Check(value=value)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Alamat email belum diisi"),
        ("budi", "Alamat email harus berisi tepat satu '@' (ada 0)"),
        ("budi@@gmail.com", "Alamat email harus berisi tepat satu '@' (ada 2)"),
        (
            "bu di@gmail.com",
            "Alamat email tidak boleh berisi spasi atau karakter kontrol (ada U+0020)",
        ),
        (
            "budi\n@gmail.com",
            "Alamat email tidak boleh berisi spasi atau karakter kontrol (ada U+000A)",
        ),
        ("@gmail.com", "Bagian sebelum '@' pada alamat email tidak valid"),
        ("budi.@gmail.com", "Bagian sebelum '@' pada alamat email tidak valid"),
        ("bu..di@gmail.com", "Bagian sebelum '@' pada alamat email tidak valid"),
        ("b" * 65 + "@gmail.com", "Bagian sebelum '@' pada alamat email tidak valid"),
        ("budí@gmail.com", "Bagian sebelum '@' pada alamat email tidak valid"),
        ("budi@gmail", "Domain alamat email (setelah '@') tidak valid, contoh: nama@gmail.com"),
        (
            "budi@-gmail.com",
            "Domain alamat email (setelah '@') tidak valid, contoh: nama@gmail.com",
        ),
        (
            "budi@gmail..com",
            "Domain alamat email (setelah '@') tidak valid, contoh: nama@gmail.com",
        ),
        ("budi@gmail.c", "Domain alamat email (setelah '@') tidak valid, contoh: nama@gmail.com"),
        ("budi@gmail.123", "Domain alamat email (setelah '@') tidak valid, contoh: nama@gmail.com"),
        (
            "b@" + "a" * 250 + ".id",
            "Alamat email terlalu panjang (255 karakter, paling banyak 254)",
        ),
    ],
)
def test_invalid_emails(email: str, message: str) -> None:
    assert error_of(check_email(email)) == message


def test_a_common_domain_typo_is_a_warning() -> None:
    check = check_email("budi@Gmial.com")
    assert check.value == "budi@gmial.com"
    assert warnings_of(check) == ["Apakah maksudnya @gmail.com? (terisi @gmial.com)"]


# --- postal code ---------------------------------------------------------------------------


def test_postal_codes() -> None:
    assert check_postal_code(" 12820 ") == Check(value="12820")
    assert check_postal_code("12820", village="31.74.01.1001") == Check(value="12820")
    assert error_of(check_postal_code("1282")) == "Kode pos harus 5 digit (terisi 4)"
    assert error_of(check_postal_code("01282")).startswith("Kode pos tidak boleh diawali 0")
    assert error_of(check_postal_code("12 820")) == (
        "Kode pos harus 5 angka tanpa spasi atau tanda baca"
    )
    assert error_of(check_postal_code("1282a")) == "Kode pos hanya boleh berisi angka 0-9 (ada 'a')"


def test_unknown_or_mismatched_postal_codes_are_warnings() -> None:
    assert warnings_of(check_postal_code("12345")) == [
        "Kode pos 12345 tidak ada di data kode pos; periksa kembali"
    ]
    check = check_postal_code("16423", village="3174011001")
    assert check.value == "16423"
    assert warnings_of(check) == ["Kode pos Tebet Timur adalah 12820, bukan 16423"]
    # A village code that is not one is no reason to complain about the postal code.
    assert check_postal_code("16423", village="3174").warnings == ()


# --- region --------------------------------------------------------------------------------


def test_region_codes() -> None:
    assert check_region("31.74", "regency") == Check(value="3174")
    assert check_region("3174011001", "village", parent="31.74") == Check(value="3174011001")
    assert error_of(check_region("3174", "district")) == (
        "Kode wilayah harus tingkat kecamatan (6 angka, terisi 4)"
    )
    assert (
        error_of(check_region("3199")) == "Kode wilayah 3199 tidak ada di data wilayah Kemendagri"
    )
    assert error_of(check_region("31.7")).startswith("Kode wilayah harus 2, 4, 6 atau 10 angka")
    assert error_of(check_region("3174011001", parent="3171")) == (
        "Tebet Timur tidak berada di Kota Administrasi Jakarta Pusat"
    )
    assert error_of(check_region("3174", level="kota")) == "Tingkat wilayah tidak dikenal: 'kota'"


# --- any input -----------------------------------------------------------------------------

CHECKS: dict[str, Callable[[str], Check]] = {
    "nik": check_nik,
    "kk": check_kk,
    "npwp": check_npwp,
    "phone": check_phone,
    "email": check_email,
    "postalcode": check_postal_code,
    "region": check_region,
}


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("value", [None, 3174011508950001, 1.5, b"3174011508950001", ["x"]])
def test_non_text_is_an_error_check(name: str, value: object) -> None:
    check = CHECKS[name](value)  # type: ignore[arg-type]
    assert check.value is None
    assert "harus berupa teks" in error_of(check)
    # A catalog message (code + params), worded in both languages like a catalog Text.
    assert check.error.code == "validator.not_text"
    assert "must be text" in check.error.en and check.error.get("id") == check.error.id


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_huge_input_is_answered_quickly(name: str) -> None:
    started = time.perf_counter()
    check = CHECKS[name]("1" * 1_000_000)
    assert not check.ok
    assert time.perf_counter() - started < 1.0
    assert len(check.error.id) < 200


# --- properties ----------------------------------------------------------------------------

_SEPARATOR = st.sampled_from(["", "", "", " ", ".", "-", "  ", "\t"])


@st.composite
def formatted(draw: st.DrawFn, digits: str) -> str:
    """The digits with the separators people type: spaces, dots, dashes."""
    return "".join(draw(_SEPARATOR) + digit for digit in digits) + draw(_SEPARATOR)


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, date, str]:
    district = draw(st.sampled_from(DISTRICTS))
    born = draw(
        st.dates(
            min_value=date(TODAY.year - 100, TODAY.month, TODAY.day) + timedelta(1), max_value=TODAY
        )
    )
    sex = draw(st.sampled_from("LP"))
    serial = draw(st.integers(1, 9999))
    day = born.day + (40 if sex == "P" else 0)
    nik = f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}"
    return nik, born, sex


@given(valid_niks(), st.data())
def test_every_well_formed_nik_is_accepted_and_decodes_back(
    generated: tuple[str, date, str], data: st.DataObject
) -> None:
    nik, born, sex = generated
    typed = data.draw(formatted(nik))
    check = check_nik(typed, birth_date=born, sex=sex, today=TODAY)
    assert check == Check(value=nik)
    info = decode_nik(typed, today=TODAY)
    assert (info.district, info.birth_date, info.sex) == (nik[:6], born, sex)


@given(valid_niks())
def test_a_nik_is_a_valid_npwp(generated: tuple[str, date, str]) -> None:
    assert check_npwp(generated[0], today=TODAY) == Check(value=generated[0])


@given(st.sampled_from(DISTRICTS), st.dates(date(1970, 1, 1), TODAY), st.integers(1, 9999))
def test_every_well_formed_kk_is_accepted(district: str, issued: date, serial: int) -> None:
    kk = f"{district}{issued:%d%m%y}{serial:04d}"
    assert check_kk(kk, today=TODAY) == Check(value=kk)


@st.composite
def old_npwps(draw: st.DrawFn) -> str:
    body = draw(st.from_regex(r"[0-9]{8}", fullmatch=True))
    total = 0  # Luhn check digit over the 8 digits
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    check_digit = (10 - total % 10) % 10
    npwp = body + str(check_digit) + draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
    assume(set(npwp) != {"0"})
    return npwp


@given(old_npwps(), st.booleans(), st.data())
def test_every_npwp_with_a_right_check_digit_is_accepted(
    npwp: str, leading_zero: bool, data: st.DataObject
) -> None:
    digits = "0" + npwp if leading_zero else npwp
    assert check_npwp(data.draw(formatted(digits))) == Check(value=digits)
    wrong = npwp[:8] + str((int(npwp[8]) + 1) % 10) + npwp[9:]
    assert not check_npwp(wrong).ok


MOBILE = st.from_regex(r"8[1-35-9][0-9]{7,10}", fullmatch=True)


@given(MOBILE, st.sampled_from(["0{}", "+62{}", "62{}", "+62 {}", "0{}  "]), st.data())
def test_phone_numbers_round_trip_through_e164(
    national: str, form: str, data: st.DataObject
) -> None:
    assume(phonenumbers.is_valid_number(phonenumbers.parse("+62" + national)))
    typed = form.format(data.draw(formatted(national)).strip())
    check = check_phone(typed)
    assert check == Check(value="+62" + national)
    assert check_phone(check.value) == check


_ATOM = st.from_regex(r"[A-Za-z0-9_+-]{1,10}", fullmatch=True)
_LABEL = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)


@given(
    st.lists(_ATOM, min_size=1, max_size=3),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True),
)
def test_generated_emails_are_accepted_with_the_domain_lower_cased(
    atoms: list[str], labels: list[str], tld: str
) -> None:
    local, domain = ".".join(atoms), ".".join([*labels, tld])
    check = check_email(f"{local}@{domain}")
    assert check.value == f"{local}@{domain.lower()}"
    assert check_email(check.value) == check


@given(st.sampled_from(DISTRICTS), st.booleans())
def test_region_codes_dotted_or_not(district: str, dotted: bool) -> None:
    typed = f"{district[:2]}.{district[2:4]}.{district[4:]}" if dotted else district
    assert check_region(typed, "district") == Check(value=district)


# Inputs near the valid ones reach the deep branches; plain text covers the rest.
_NEAR = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 .-+@()", max_size=24),
    st.from_regex(r"[0-9]{14,17}", fullmatch=True).flatmap(formatted),
    valid_niks().map(lambda generated: generated[0]),
    st.emails().map(str),
    MOBILE.map(lambda national: "0" + national),
)


@pytest.mark.parametrize("name", sorted(CHECKS))
@given(text=_NEAR)
def test_normalisation_is_idempotent_and_nothing_raises(name: str, text: str) -> None:
    check = CHECKS[name](text)
    assert isinstance(check, Check)
    assert (check.value is None) == (check.error is not None)
    if check.ok:
        assert CHECKS[name](check.value).value == check.value


@given(_NEAR)
def test_decode_nik_raises_nothing_but_value_errors(text: str) -> None:
    try:
        info = decode_nik(text)
    except ValueError:
        return
    assert len(info.province + info.regency + info.district) == 12


SLOW_EXAMPLES = int(10000 * float(os.environ.get("MPPDESK_SLOW_SCALE", "1")))


ROBUSTNESS_TARGETS: dict[str, Callable[[str], object]] = {**CHECKS, "decode_nik": decode_nik}


@pytest.mark.slow
@settings(
    max_examples=SLOW_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=_NEAR)
def test_ten_thousand_inputs_per_validator_crash_nothing(text: str) -> None:
    # One generated input goes through every validator: the generation, which costs far
    # more than the checks, is paid once. 10,000 examples ran in about 35 s here.
    for function in ROBUSTNESS_TARGETS.values():
        try:
            answer = function(text)
        except ValueError:
            assert function is decode_nik
            continue
        assert isinstance(answer, Check | NikInfo)


def test_a_check_carries_a_catalog_code_and_params_in_both_languages() -> None:
    """Issue 11 item 2: a validator's answer is a code with parameters (no text pair), and
    a reason inside a reason (the NIK inside a 16-digit NPWP) is worded in each language."""
    short = check_nik("12")
    assert short.error is not None
    assert (short.error.code, short.error.params["count"]) == ("validator.digit_count", 2)
    assert short.error.id == "NIK harus 16 digit (terisi 2)"
    assert short.error.en == "NIK must have 16 digits (2 entered)"
    npwp = check_npwp("15.0.0")
    assert npwp.error is not None and "15 atau 16" in npwp.error.id
    assert "15 or 16" in npwp.error.en
    nested = check_npwp("3174011508950000")
    assert nested.error is not None and nested.error.code == "validator.npwp_nik"
    assert nested.error.id.endswith("tidak boleh 0000")
    assert nested.error.en.endswith("cannot be 0000")
