"""Install settings: ``settings.toml`` in the data dir.

Standard library only, so every layer can take a ``Settings`` value without importing a
framework. Secrets never live here: an agency's token is named by an environment variable
(``token_env``) or looked up in the OS keyring (``token_keyring = true``).

```toml
[desk]
code = "K01"                 # desk prefix of tracking numbers, sent as X-MPP-Desk
mpp_name = "MPP Kota Contoh"
timezone = "Asia/Jakarta"    # WIB; Asia/Makassar = WITA, Asia/Jayapura = WIT
language = "id"              # id | en
idle_lock_minutes = 10
retention_days = 365         # personal data of completed submissions is purged after this
encrypt = true               # store and attachments encrypted with the desk key (MPPDESK_KEY_FILE)

[sync]
backoff_base_s = 5
backoff_cap_s = 900
lease_s = 120
poll_interval_s = 15
status_poll_interval_s = 300
pause_probe_s = 300          # a paused agency (bad token or URL) is tried again after this

[agencies.dukcapil]
base_url = "http://127.0.0.1:8765/dukcapil"
token_env = "MPPDESK_TOKEN_DUKCAPIL"
connect_timeout_s = 3
read_timeout_s = 15

[agencies.bpn]
mode = "manual"              # no API: printed handover list instead of HTTP
```
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

SETTINGS_FILE = "settings.toml"

TIMEZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


class SettingsError(ValueError):
    """A settings file that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class DeskSettings:
    code: str = "K01"
    mpp_name: str = "Mal Pelayanan Publik"
    timezone: str = "Asia/Jakarta"
    language: str = "id"
    idle_lock_minutes: int = 10
    retention_days: int = 365
    encrypt: bool = True  # SQLCipher store and AES-GCM attachments, key outside the data dir

    @property
    def timezone_label(self) -> str:
        return TIMEZONE_LABELS.get(self.timezone, self.timezone)


@dataclass(frozen=True)
class SyncSettings:
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 900.0
    lease_s: float = 120.0
    poll_interval_s: float = 15.0
    status_poll_interval_s: float = 300.0
    pause_probe_s: float = 300.0  # a paused agency (401/403/404) is tried again after this


@dataclass(frozen=True)
class AgencyEndpoint:
    code: str
    mode: str = "http"  # http | manual
    base_url: str = ""
    token_env: str | None = None
    token_keyring: bool = False
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 15.0

    def token(self) -> str | None:
        """The bearer token from its configured source (never from the database)."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if value:
                return value
        if self.token_keyring:
            try:
                import keyring

                return keyring.get_password("mppdesk", f"agency:{self.code}")
            except Exception:  # noqa: BLE001 - no keyring backend on this machine
                return None
        return None


@dataclass(frozen=True)
class Settings:
    desk: DeskSettings = field(default_factory=DeskSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    agencies: dict[str, AgencyEndpoint] = field(default_factory=dict)

    def with_agency(self, endpoint: AgencyEndpoint) -> Settings:
        agencies = dict(self.agencies)
        agencies[endpoint.code] = endpoint
        return replace(self, agencies=agencies)


_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _section(cls, raw: Any, where: str, **extra) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{where}: expected a table")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = dict(extra)
    for key, value in raw.items():
        if key not in known or key in extra:
            raise SettingsError(f"{where}.{key}: unknown setting")
        default = known[key].default
        expected = type(default) if default is not None and not isinstance(default, type) else None
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is not None and not isinstance(value, expected):
            raise SettingsError(f"{where}.{key}: expected {expected.__name__}, got {value!r}")
        values[key] = value
    return cls(**values)


def load_settings(data_dir: Path) -> Settings:
    path = Path(data_dir) / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read ({exc})") from exc
    unknown = set(raw) - {"desk", "sync", "agencies"}
    if unknown:
        raise SettingsError(f"{path}: unknown section(s) {sorted(unknown)}")
    desk = _section(DeskSettings, raw.get("desk"), f"{path}:desk")
    if desk.language not in ("id", "en"):
        raise SettingsError(f"{path}:desk.language: expected 'id' or 'en'")
    sync = _section(SyncSettings, raw.get("sync"), f"{path}:sync")
    agencies = {}
    for code, table in (raw.get("agencies") or {}).items():
        if not _CODE.match(code):
            raise SettingsError(f"{path}:agencies.{code}: agency code must be lower case")
        endpoint = _section(AgencyEndpoint, table, f"{path}:agencies.{code}", code=code)
        if endpoint.mode not in ("http", "manual"):
            raise SettingsError(f"{path}:agencies.{code}.mode: expected 'http' or 'manual'")
        if endpoint.mode == "http" and not endpoint.base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{path}:agencies.{code}.base_url: expected an http(s) URL")
        agencies[code] = endpoint
    return Settings(desk=desk, sync=sync, agencies=agencies)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def dump_settings(settings: Settings) -> str:
    lines = ["# MPP Desk settings. Secrets do not belong here (see token_env).", "", "[desk]"]
    for f in fields(DeskSettings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings.desk, f.name))}")
    lines += ["", "[sync]"]
    for f in fields(SyncSettings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings.sync, f.name))}")
    for code, endpoint in sorted(settings.agencies.items()):
        lines += ["", f"[agencies.{code}]"]
        for f in fields(AgencyEndpoint):
            if f.name == "code":
                continue
            value = getattr(endpoint, f.name)
            if value is None or (f.name == "base_url" and endpoint.mode == "manual" and not value):
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_settings(data_dir: Path, settings: Settings) -> Path:
    """Write atomically: a crash mid-write leaves the old file."""
    path = Path(data_dir) / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(dump_settings(settings), encoding="utf-8")
    os.replace(tmp, path)
    return path
