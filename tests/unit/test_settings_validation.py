"""Settings are validated on load: every number in its range, finite, the key named (issue 10)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from mppdesk.settings import RANGES, SettingsError, load_settings


def _load(tmp_path, text: str):
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    return load_settings(tmp_path)


def _table(key: str, value: str) -> str:
    section, name = key.split(".", 1)
    if section == "agencies":
        return f'[agencies.dukcapil]\nbase_url = "http://127.0.0.1:9/x"\n{name} = {value}\n'
    return f"[{section}]\n{name} = {value}\n"


def test_every_range_names_a_real_setting():
    """A stale line in RANGES would silently check nothing."""
    from mppdesk import settings as module

    classes = {"agencies": module.AgencyEndpoint}
    for name in ("desk", "sync", "intake", "printing", "backup", "hub"):
        for f in fields(module.Settings):
            if f.name == name:
                classes[name] = f.default_factory  # type: ignore[misc]
    for key in RANGES:
        section, name = key.split(".", 1)
        assert section in classes, key
        assert name in {f.name for f in fields(classes[section])}, key


@pytest.mark.parametrize("key", sorted(RANGES))
def test_each_bound_is_enforced_with_the_key_named(tmp_path, key):
    low, high = RANGES[key]
    is_int = isinstance(_default_of(key), int)
    below = str(int(low) - 1) if is_int else repr(low / 2 if low > 0 else -1.0)
    above = str(int(high) + 1) if is_int else repr(high * 2)
    for value in (below, above):
        with pytest.raises(SettingsError, match=key.replace("agencies.", "agencies.dukcapil.")):
            _load(tmp_path, _table(key, value))
    edge = low if key == "sync.backoff_base_s" else high  # the base stays under the cap
    in_range = str(int(edge)) if is_int else repr(float(edge))
    _load(tmp_path, _table(key, in_range))
    if not is_int:
        for value in ("inf", "-inf", "nan"):
            with pytest.raises(SettingsError, match="finite"):
                _load(tmp_path, _table(key, value))


def _default_of(key: str):
    from mppdesk import settings as module

    section, name = key.split(".", 1)
    if section == "agencies":
        return module.AgencyEndpoint.__dataclass_fields__[name].default
    holder = module.Settings.__dataclass_fields__[section].default_factory()  # type: ignore[misc]
    return getattr(holder, name)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sync]\nbackoff_base_s = 60\nbackoff_cap_s = 30\n", "sync.backoff_base_s"),
        ('[desk]\ntimezone = "Asia/Atlantis"\n', "desk.timezone"),
        ('[desk]\ntimezone = "../../etc/passwd"\n', "desk.timezone"),
        ('[desk]\nlanguage = "su"\n', "desk.language"),
        ("[desk]\nidle_lock_minutes = true\n", "desk.idle_lock_minutes"),
        ('[desk]\nmpp_name = "MPP\\u0000Kota"\n', "desk.mpp_name"),
    ],
)
def test_malformed_values_are_refused(tmp_path, text, key):
    with pytest.raises(SettingsError, match=key) as caught:
        _load(tmp_path, text)
    assert "settings.toml" in str(caught.value)


def test_the_documented_defaults_load(tmp_path):
    settings = _load(tmp_path, '[desk]\ntimezone = "Asia/Jayapura"\n[sync]\nlease_s = 120\n')
    assert settings.desk.timezone_label == "WIT"
