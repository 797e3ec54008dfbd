"""Holidays from a data file an install extends, and a year no file covers said plainly
(issue 12: the shipped list ends in 2027)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from mppdesk.core.calendar import HolidayFileError, add_working_days, parse_holidays
from mppdesk.forms import indonesia


def test_the_shipped_file_covers_2026_and_2027_only():
    assert indonesia.holidays_cover(2026) and indonesia.holidays_cover(2027)
    assert not indonesia.holidays_cover(2028)
    assert date(2027, 8, 17) in indonesia.holidays(2027)


def test_an_install_adds_a_year_and_moved_days(tmp_path: Path, caplog):
    (tmp_path / "holidays.toml").write_text(
        '[2028]\nlibur_nasional = ["2028-01-01", "2028-01-26"]\ncuti_bersama = ["2028-12-26"]\n'
        '[2027]\ncuti_bersama = ["2027-04-09"]\n',
        encoding="utf-8",
    )
    assert indonesia.holidays_cover(2028, tmp_path)
    days = indonesia.holidays(2028, data_dir=tmp_path)
    assert days == {date(2028, 1, 1), date(2028, 1, 26), date(2028, 12, 26)}
    assert indonesia.holidays(2028, data_dir=tmp_path, cuti_bersama=False) == {
        date(2028, 1, 1),
        date(2028, 1, 26),
    }
    both = indonesia.holidays(2027, data_dir=tmp_path)
    assert date(2027, 4, 9) in both and date(2027, 8, 17) in both  # added to, not replaced
    # Tuesday 25 January 2028 + 1 working day skips the install's 26 January.
    assert add_working_days(date(2028, 1, 25), 1, days) == date(2028, 1, 27)


def test_the_runtime_counts_the_install_file(tmp_path: Path, runtime):
    (runtime.data_dir / "holidays.toml").write_text(
        '[2029]\nlibur_nasional = ["2029-03-14"]\n', encoding="utf-8"
    )
    assert date(2029, 3, 14) in runtime.holidays(2029)


@pytest.mark.parametrize(
    "text",
    [
        '[2028]\nlibur_nasional = ["2027-01-01"]\n',  # another year's date
        '[2028]\nlibur = ["2028-01-01"]\n',  # an unknown kind
        "[20x8]\nlibur_nasional = []\n",  # not a year
        '[2028]\nlibur_nasional = ["2028-02-30"]\n',  # not a date
        "not toml at all = = =",
    ],
)
def test_a_broken_install_file_is_ignored_and_logged(tmp_path: Path, caplog, text):
    (tmp_path / "holidays.toml").write_text(text, encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger=indonesia.__name__):
        assert not indonesia.holidays_cover(2028, tmp_path)
    assert "holiday file ignored" in caplog.text
    assert indonesia.holidays_cover(2026, tmp_path)  # the shipped list still holds


def test_parse_refuses_what_it_cannot_trust():
    with pytest.raises(HolidayFileError, match="not a date of 2028"):
        parse_holidays({"2028": {"libur_nasional": ["2029-01-01"]}}, "x.toml")
    with pytest.raises(HolidayFileError, match="must be a list"):
        parse_holidays({"2028": {"cuti_bersama": ["2028-01-01"] * 500}}, "x.toml")
