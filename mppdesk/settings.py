"""Install settings: ``settings.toml`` in the data dir.

Standard library only, so every layer can take a ``Settings`` value without importing a
framework. Secrets never live here: an agency's token is named by an environment variable
(``token_env``) or looked up in the OS keyring (``token_keyring = true``).

Every value is checked on load: its type, numbers finite and within ``RANGES``, the time
zone loadable; a bad one is a ``SettingsError`` naming the file and the key.

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
protocol_error_flag_after = 8  # answers outside the protocol in a row before a supervisor looks
max_answer_bytes = 1048576   # an agency answer larger than this is refused unread
concurrency_per_agency = 4   # requests in flight to one agency, each on its own connection

[intake]                     # bounds on a visit's attachment files (PDF, JPEG, PNG only)
max_attachment_bytes = 20971520        # one file (20 MiB)
max_visit_attachment_bytes = 62914560  # all files of one visit (60 MiB)
max_attachments = 20                   # files per visit

[printing]
receipt_printer = "Kasir-80"  # OS print queue for receipts, slips and checklists; "" = ask (dialog)
paper = "80mm"                # 80mm | 58mm | a4: the layout of receipts and slips

[backup]                     # scheduled backup off the PC while the desk window runs
dir = "/media/usb-cadangan"  # an absolute folder on a USB disk or network share; "" = off
interval_hours = 24          # a new backup when the last success is older than this; 0 = off

[agencies.dukcapil]
base_url = "http://127.0.0.1:8765/dukcapil"
token_env = "MPPDESK_TOKEN_DUKCAPIL"
connect_timeout_s = 3
read_timeout_s = 15
deadline_s = 30              # a whole exchange (connect, upload, complete answer) at most
ca_file = "certs/dukcapil-ca.pem"  # optional: the CA of the agency's TLS certificate (PEM),
                             # relative to the data dir; TLS is always verified, with this CA
                             # instead of the system's when given. No user:password@ in URLs.

[agencies.bpn]
transport = "manual"         # no API: printed handover list instead of HTTP
                             # ("mode" is the older name of "transport", still accepted)

[agencies.pdam]
transport = "folder"         # the folder drop: each submission written into a folder the
drop_dir = "/srv/pdam-inbox" # agency collects from (absolute); delivered once its receipt
receipt_check_s = 30         # file appears there; see docs/transports.md

[qris]                       # the MPP takes payment of these agencies' fees itself: the receipt
agencies = "bapenda,samsat"  # carries a dynamic QRIS beside the billing code ("" = no QRIS)
merchant_name = "MPP KOTA CONTOH"      # 59, up to 25 characters, as the acquirer registered
merchant_city = "KOTA CONTOH"          # 60, up to 15 characters
acquirer_domain = "ID.CO.BANKDAERAH.WWW"  # 26.00
merchant_pan = "9360012300000012345"   # 26.01, 16 to 19 digits
merchant_id = "MPP0001"                # 26.02
nmid = "ID1026000000001"               # 51.02, national merchant id
criteria = "URE"                       # UMI | UKE | UME | UBE | URE
mcc = "9399"                           # 52: government services
postal_code = ""                       # 61, optional

[hub]                        # the mall hub (written by 'mppdesk hub join'); no url = not joined
url = "https://hub.mpp.example:8443"  # plain http only to a hub on this PC (loopback)
ca_file = "certs/hub-ca.pem" # optional: the CA of the hub's certificate; else the system store
timeout_s = 10               # one whole push or pull exchange
pull_interval_s = 5          # how often the desk asks what the mall decided
```
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mppdesk.core.qris import Merchant, QrisError
from mppdesk.core.tracking import TrackingNumberError, normalize_desk_code

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
    # An agency answering outside the protocol this many times in a row (captive portal, wrong
    # endpoint) has the entry flagged for a supervisor instead of retried for ever.
    protocol_error_flag_after: int = 8
    max_answer_bytes: int = 1048576  # an agency's answer larger than this is not read (1 MiB)
    # Requests in flight to one agency at a time, each on its own kept-alive connection.
    concurrency_per_agency: int = 4


@dataclass(frozen=True)
class IntakeSettings:
    """Bounds on what a visit may bring in: a visit file is input from outside."""

    max_attachment_bytes: int = 20 * 1024 * 1024  # one file
    max_visit_attachment_bytes: int = 60 * 1024 * 1024  # all files of one visit together
    max_attachments: int = 20  # files per visit


@dataclass(frozen=True)
class PrintingSettings:
    """The desk's printer: named, it prints without a dialog (the counter has no time for one)."""

    receipt_printer: str = ""  # OS print queue (CUPS / Windows printer name); "" = print dialog
    paper: str = "80mm"  # 80mm | 58mm | a4


PAPERS = ("80mm", "58mm", "a4")


@dataclass(frozen=True)
class QrisSettings:
    """The MPP's own QRIS merchant, for the regional fees it collects itself (``agencies``)."""

    agencies: str = ""  # comma-separated agency codes; "" = the receipt carries no QRIS
    merchant_name: str = ""
    merchant_city: str = ""
    acquirer_domain: str = ""
    merchant_pan: str = ""
    merchant_id: str = ""
    nmid: str = ""
    criteria: str = "URE"
    mcc: str = "9399"
    postal_code: str = ""

    @property
    def agency_codes(self) -> frozenset[str]:
        return frozenset(code.strip() for code in self.agencies.split(",") if code.strip())

    def merchant(self) -> Merchant:
        return Merchant(
            name=self.merchant_name, city=self.merchant_city,
            acquirer_domain=self.acquirer_domain, merchant_pan=self.merchant_pan,
            merchant_id=self.merchant_id, nmid=self.nmid, criteria=self.criteria,
            mcc=self.mcc, postal_code=self.postal_code,
        )  # fmt: skip


@dataclass(frozen=True)
class BackupSettings:
    """Where the desk window writes its scheduled backup (``mppdesk backup --to`` by hand)."""

    dir: str = ""  # absolute folder on a USB disk or network share; "" = no scheduled backup
    interval_hours: float = 24.0  # 0 = no scheduled backup


@dataclass(frozen=True)
class HubSettings:
    """The mall hub this desk replicates to (``mppdesk hub join``); url "" = not joined.

    The desk's hub token is a secret and lives where the desk key lives
    (``mppdesk.store.keys``), never here.
    """

    url: str = ""  # https://hub.mpp.example:8443 (plain http only on loopback)
    ca_file: str = ""  # PEM of the CA that signed the hub's certificate; "" = system store
    timeout_s: float = 10.0  # one whole exchange with the hub (push, pull)
    pull_interval_s: float = 5.0  # how often the desk asks the hub what the mall decided


TRANSPORT_NAMES: set[str] = {"http", "manual", "folder"}
"""The transports an endpoint may name: the built-in ones, plus any registered with
``mppdesk.sync.transports.register_transport`` before the settings are loaded."""


def register_transport_name(name: str) -> None:
    """Let ``[agencies.X] transport = name`` load (called by the sync layer's registry)."""
    if not isinstance(name, str) or not _CODE.match(name):
        raise ValueError(f"a transport name is lower-case letters, digits and '-', got {name!r}")
    TRANSPORT_NAMES.add(name)


@dataclass(frozen=True, init=False)
class AgencyEndpoint:
    """One agency endpoint: which transport carries its outbox entries, and that transport's
    settings (``base_url`` … ``ca_file`` for http, ``drop_dir`` and ``receipt_check_s`` for
    the folder drop, none for manual).

    ``mode`` is the transport's older name and stays accepted, so files and callers written
    before transports existed keep working: ``mode = "manual"`` in settings.toml,
    ``AgencyEndpoint(code, mode="manual")`` and ``replace(endpoint, mode=...)`` (an explicit
    ``mode`` wins over the ``transport`` that ``replace`` copies), and ``endpoint.mode``
    reads the transport.
    """

    code: str
    transport: str = "http"  # a registered transport: http | manual | folder | ...
    base_url: str = ""
    token_env: str | None = None
    token_keyring: bool = False
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 15.0
    deadline_s: float = 30.0  # one whole exchange: connect, upload and the complete answer
    ca_file: str | None = None  # PEM bundle of the CA that signed the agency's certificate
    drop_dir: str = ""  # folder drop: the absolute folder the agency collects from
    receipt_check_s: float = 30.0  # folder drop: how often a dropped entry looks for a receipt

    def __init__(self, code: str, *, mode: str | None = None, **values: Any) -> None:
        object.__setattr__(self, "code", code)
        for f in fields(self):
            if f.name != "code":
                object.__setattr__(self, f.name, values.pop(f.name, f.default))
        if values:
            raise TypeError(f"AgencyEndpoint: unknown setting(s) {sorted(values)}")
        if mode is not None:
            object.__setattr__(self, "transport", mode)

    @property
    def mode(self) -> str:
        """The transport's name (its older spelling, kept for callers that read it)."""
        return self.transport

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
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    printing: PrintingSettings = field(default_factory=PrintingSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
    agencies: dict[str, AgencyEndpoint] = field(default_factory=dict)
    hub: HubSettings = field(default_factory=HubSettings)
    qris: QrisSettings = field(default_factory=QrisSettings)

    def with_agency(self, endpoint: AgencyEndpoint) -> Settings:
        agencies = dict(self.agencies)
        agencies[endpoint.code] = endpoint
        return replace(self, agencies=agencies)


_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Allowed range of each number, both ends inclusive, by "section.key" (agency endpoints:
# "agencies.key"). Every number is also refused when infinite or NaN, and a whole-number
# setting when it has a fraction. A new numeric setting joins with one line here.
RANGES: dict[str, tuple[float, float]] = {
    "desk.idle_lock_minutes": (1, 240),
    "desk.retention_days": (1, 36_500),
    "sync.backoff_base_s": (0.01, 3_600),
    "sync.backoff_cap_s": (0.01, 86_400),
    "sync.lease_s": (1, 86_400),
    "sync.poll_interval_s": (0.05, 86_400),
    "sync.status_poll_interval_s": (1, 7 * 86_400),
    "sync.pause_probe_s": (0.1, 86_400),
    "sync.protocol_error_flag_after": (1, 10_000),
    "sync.max_answer_bytes": (1, 1 << 30),
    "sync.concurrency_per_agency": (1, 32),
    "intake.max_attachment_bytes": (1, 1 << 34),
    "intake.max_visit_attachment_bytes": (1, 1 << 36),
    "intake.max_attachments": (1, 10_000),
    "backup.interval_hours": (0, 24 * 31),
    "hub.timeout_s": (0.1, 600),
    "hub.pull_interval_s": (0.1, 86_400),
    "agencies.connect_timeout_s": (0.05, 300),
    "agencies.read_timeout_s": (0.05, 3_600),
    "agencies.deadline_s": (0.05, 3_600),
    "agencies.receipt_check_s": (0.01, 3_600),
}


def _check_value(where: str, key: str, value: Any) -> None:
    """Refuse a value no desk can work with, naming the file and key (``RANGES``)."""
    name = f"{where}.{key}"
    if isinstance(value, str):
        if any(ord(ch) < 32 and ch not in "\t" for ch in value):
            raise SettingsError(f"{name}: control characters are not allowed")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(f"{name}: expected a finite number, got {value!r}")
    section = where.rsplit(":", 1)[-1].split(".", 1)[0]
    bounds = RANGES.get(f"{section}.{key}")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise SettingsError(
            f"{name}: expected {bounds[0]:g} to {bounds[1]:g}, got {value!r}"
        )


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
        if expected is not None and (
            not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        ):
            raise SettingsError(f"{where}.{key}: expected {expected.__name__}, got {value!r}")
        _check_value(where, key, value)
        values[key] = value
    return cls(**values)


def _agency_endpoint(code: str, table: Any, where: str) -> AgencyEndpoint:
    """One ``[agencies.X]`` table: ``transport`` (or its alias ``mode``) names a registered
    transport, and the transport's own keys are usable (an http URL, an absolute drop folder)."""
    key = "transport"
    if isinstance(table, dict) and "mode" in table:
        table = dict(table)
        if "transport" in table and table["transport"] != table["mode"]:
            raise SettingsError(f"{where}.mode: {table['mode']!r} contradicts transport")
        key = "mode"
        table["transport"] = table.pop("mode")
    endpoint = _section(AgencyEndpoint, table, where, code=code)
    if endpoint.transport not in TRANSPORT_NAMES:
        raise SettingsError(
            f"{where}.{key}: unknown transport {endpoint.transport!r}; expected one of "
            + ", ".join(sorted(TRANSPORT_NAMES))
        )
    if endpoint.transport == "http" and not endpoint.base_url.startswith(("http://", "https://")):
        raise SettingsError(f"{where}.base_url: expected an http(s) URL")
    if endpoint.transport == "folder" and not Path(endpoint.drop_dir).is_absolute():
        raise SettingsError(
            f"{where}.drop_dir: the folder drop needs the absolute folder the agency collects "
            f"from, got {endpoint.drop_dir!r}"
        )
    return endpoint


def _check_timezone(name: str, where: str) -> None:
    """The desk's time zone must load, or every date on receipts and reports would fail."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise SettingsError(
            f"{where}: unknown time zone {name!r}; expected e.g. Asia/Jakarta (WIB), "
            "Asia/Makassar (WITA) or Asia/Jayapura (WIT)"
        ) from None


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
    unknown = set(raw) - {"desk", "sync", "intake", "printing", "backup", "agencies", "hub", "qris"}
    if unknown:
        raise SettingsError(f"{path}: unknown section(s) {sorted(unknown)}")
    desk = _section(DeskSettings, raw.get("desk"), f"{path}:desk")
    if desk.language not in ("id", "en"):
        raise SettingsError(f"{path}:desk.language: expected 'id' or 'en'")
    _check_timezone(desk.timezone, f"{path}:desk.timezone")
    try:
        desk = replace(desk, code=normalize_desk_code(desk.code))
    except TrackingNumberError as exc:
        raise SettingsError(f"{path}:desk.code: {exc}, got {desk.code!r}") from None
    sync = _section(SyncSettings, raw.get("sync"), f"{path}:sync")
    if sync.backoff_base_s > sync.backoff_cap_s:
        raise SettingsError(
            f"{path}:sync.backoff_base_s: {sync.backoff_base_s:g} is above "
            f"sync.backoff_cap_s ({sync.backoff_cap_s:g}); the first retry cannot wait longer "
            "than the longest"
        )
    intake = _section(IntakeSettings, raw.get("intake"), f"{path}:intake")  # ranges: RANGES
    printing = _section(PrintingSettings, raw.get("printing"), f"{path}:printing")
    if printing.paper not in PAPERS:
        raise SettingsError(f"{path}:printing.paper: expected one of {', '.join(PAPERS)}")
    printer = printing.receipt_printer
    if len(printer) > 127 or any(ch in printer for ch in "\n\r\t\0") or printer.startswith("-"):
        raise SettingsError(f"{path}:printing.receipt_printer: not a printer name")
    backup = _section(BackupSettings, raw.get("backup"), f"{path}:backup")
    if not 0 <= backup.interval_hours <= 24 * 31:
        raise SettingsError(f"{path}:backup.interval_hours: expected 0 (off) to 744 hours")
    if backup.dir and not Path(backup.dir).expanduser().is_absolute():
        raise SettingsError(f"{path}:backup.dir: expected an absolute folder, got {backup.dir!r}")
    agencies = {}
    for code, table in (raw.get("agencies") or {}).items():
        if not _CODE.match(code):
            raise SettingsError(f"{path}:agencies.{code}: agency code must be lower case")
        endpoint = _agency_endpoint(code, table, f"{path}:agencies.{code}")
        from urllib.parse import urlsplit

        if "@" in urlsplit(endpoint.base_url).netloc:
            # The URL itself is never echoed: what stands before the @ is a secret.
            raise SettingsError(
                f"{path}:agencies.{code}.base_url: credentials (user:password@) are not "
                "allowed in the URL; name the token with token_env or token_keyring"
            )
        if endpoint.ca_file is not None:
            if not isinstance(endpoint.ca_file, str) or not endpoint.ca_file.strip():
                raise SettingsError(f"{path}:agencies.{code}.ca_file: expected a file path")
            ca_path = Path(endpoint.ca_file).expanduser()
            ca_path = ca_path if ca_path.is_absolute() else Path(data_dir) / ca_path
            if not ca_path.is_file():
                raise SettingsError(f"{path}:agencies.{code}.ca_file: no such file {str(ca_path)!r}")
            endpoint = replace(endpoint, ca_file=str(ca_path))
        agencies[code] = endpoint
    hub = _load_hub(raw.get("hub"), path, Path(data_dir))
    qris = _section(QrisSettings, raw.get("qris"), f"{path}:qris")
    if qris.agency_codes:
        try:
            qris.merchant().check()
        except QrisError as exc:
            raise SettingsError(f"{path}:qris: {exc}") from None
    return Settings(
        desk=desk, sync=sync, intake=intake, printing=printing, backup=backup,
        agencies=agencies, hub=hub, qris=qris,
    )


def _load_hub(raw: Any, path: Path, data_dir: Path) -> HubSettings:
    """The ``[hub]`` section: an http(s) URL without credentials, plain http only to a
    loopback host, and a CA file that exists (relative to the data dir)."""
    from urllib.parse import urlsplit

    hub = _section(HubSettings, raw, f"{path}:hub")
    if hub.url:
        parts = urlsplit(hub.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{path}:hub.url: expected an http(s) URL")
        if "@" in parts.netloc:
            raise SettingsError(f"{path}:hub.url: credentials (user:password@) are not allowed")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise SettingsError(
                f"{path}:hub.url: plain http is only allowed to a hub on this PC (loopback); "
                "use https"
            )
    if hub.ca_file:
        ca_path = Path(hub.ca_file).expanduser()
        ca_path = ca_path if ca_path.is_absolute() else data_dir / ca_path
        if not ca_path.is_file():
            raise SettingsError(f"{path}:hub.ca_file: no such file {str(ca_path)!r}")
        hub = replace(hub, ca_file=str(ca_path))
    return hub


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` names this PC (127.0.0.0/8, ::1, localhost): the only hosts a desk
    may reach over plain http."""
    import ipaddress

    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    lines += ["", "[intake]"]
    for f in fields(IntakeSettings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings.intake, f.name))}")
    lines += ["", "[printing]"]
    for f in fields(PrintingSettings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings.printing, f.name))}")
    lines += ["", "[backup]"]
    for f in fields(BackupSettings):
        lines.append(f"{f.name} = {_toml_value(getattr(settings.backup, f.name))}")
    if settings.hub != HubSettings():
        lines += ["", "[hub]"]
        for f in fields(HubSettings):
            lines.append(f"{f.name} = {_toml_value(getattr(settings.hub, f.name))}")
    if settings.qris != QrisSettings():
        lines += ["", "[qris]"]
        for f in fields(QrisSettings):
            lines.append(f"{f.name} = {_toml_value(getattr(settings.qris, f.name))}")
    for code, endpoint in sorted(settings.agencies.items()):
        lines += ["", f"[agencies.{code}]"]
        for f in fields(AgencyEndpoint):
            if f.name == "code":
                continue
            value = getattr(endpoint, f.name)
            if value is None or (f.name in ("base_url", "drop_dir") and not value):
                continue
            if f.name == "receipt_check_s" and endpoint.transport != "folder":
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_settings(data_dir: Path, settings: Settings) -> Path:
    """Write atomically: a crash mid-write leaves the old file."""
    path = Path(data_dir) / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # the desk's own, only
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(dump_settings(settings))
    os.replace(tmp, path)
    return path
