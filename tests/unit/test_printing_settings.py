"""The [printing] section of settings.toml: read, written back, and refused when wrong."""

from __future__ import annotations

import pytest

from mppdesk.settings import (
    PrintingSettings,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)


def test_printing_section_round_trips(tmp_path):
    settings = Settings(printing=PrintingSettings(receipt_printer="Kasir-80", paper="58mm"))
    save_settings(tmp_path, settings)
    assert "[printing]" in (tmp_path / "settings.toml").read_text()
    assert load_settings(tmp_path).printing == settings.printing
    assert load_settings(tmp_path / "none").printing == PrintingSettings("", "80mm")


@pytest.mark.parametrize(
    "section",
    [
        'paper = "letter"',
        "paper = 80",
        'receipt_printer = "-o evil"',
        'receipt_printer = "a\\nb"',
        "duplex = true",
    ],
)
def test_bad_printing_settings_are_refused(tmp_path, section):
    (tmp_path / "settings.toml").write_text(f"[printing]\n{section}\n")
    with pytest.raises(SettingsError, match="printing"):
        load_settings(tmp_path)
