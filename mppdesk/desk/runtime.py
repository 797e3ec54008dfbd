"""Everything one desk process works with: settings, store, catalog, attachment files, clock.

Built once by the composition root (``mppdesk.app``) or the command line, then passed to
the desk's operations.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mppdesk.desk.private import secure_data_dir
from mppdesk.forms.catalog import Catalog, builtin_catalog_dirs, load_catalog
from mppdesk.settings import Settings, load_settings
from mppdesk.store.blobs import BlobStore
from mppdesk.store.database import (
    Store,
    StoreError,
    create_private_file,
    sqlite_path_of,
    sqlite_url,
)
from mppdesk.store.keys import derive_key, key_check, load_master_key

log = logging.getLogger(__name__)

STORE_FILE = "mppdesk.sqlite"
# Written when a store is created, next to it: proof that this data dir had a store (so a
# deleted or emptied one is refused, not silently re-created) and a fingerprint of the key
# it was made with (so "wrong key" and "damaged file" get different messages).
STORE_MARKER = STORE_FILE + ".created"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    data_dir: Path
    settings: Settings
    store: Store
    catalog: Catalog
    blobs: BlobStore
    clock: Callable[[], datetime] = field(default=_utcnow)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.desk.timezone)

    def now(self) -> datetime:
        return self.clock()

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.tz)

    def local_today(self) -> date:
        return self.local_now().date()

    def holidays(self, *years: int) -> frozenset[date]:
        from mppdesk.forms import indonesia

        days: set[date] = set()
        for year in years:
            days |= indonesia.holidays(year, data_dir=self.data_dir)  # + the install's file
        if self.settings.hub.url:  # joined: the days the mall's hub published count too
            from mppdesk.store.hub import hub_holidays

            with self.store.read() as session:
                published = hub_holidays(session)
            for year in years:
                days |= {date.fromisoformat(d) for d in published.get(str(year), ())}
        return frozenset(days)

    def close(self) -> None:
        self.store.close()


def open_runtime(
    data_dir: Path,
    db_url: str | None = None,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
    create: bool = True,
) -> Runtime:
    """Open the data dir, its store and the merged catalog.

    A store is created only when ``create`` and the data dir holds nothing of an earlier
    one: a missing or empty store next to attachments, backups or the store's marker is
    refused with what to do, and no new desk key is made while data exists.
    """
    data_dir = Path(data_dir)
    try:
        data_dir.stat()  # PermissionError (another account's folder) goes out as it is
    except FileNotFoundError:
        pass
    if not create and not data_dir.is_dir():  # a typo in --data-dir makes no new folder
        raise StoreError(
            f"there is no data dir at {data_dir}; check --data-dir, or run 'mppdesk init "
            f"--data-dir {data_dir}' to start a new desk there",
            "missing",
        )
    secure_data_dir(data_dir)
    settings = load_settings(data_dir)
    catalog = load_catalog(builtin_catalog_dirs(data_dir))
    url = db_url or sqlite_url(data_dir / STORE_FILE)
    store_file = sqlite_path_of(url)
    store_exists = store_file is not None and _has_content(store_file)
    leftovers = [] if store_exists else _earlier_store_traces(data_dir, store_file)
    if store_file is not None and not store_exists:
        if leftovers:
            raise StoreError(_missing_store_message(data_dir, store_file, leftovers), "missing")
        if not create:
            raise StoreError(
                f"there is no store in {data_dir} yet; run 'mppdesk init --data-dir "
                f"{data_dir}' to create one",
                "missing",
            )
    master = (
        load_master_key(create=not (store_exists or leftovers)) if settings.desk.encrypt else None
    )
    created = store_file is not None and not store_exists
    if created:
        store_file.unlink(missing_ok=True)  # an empty file of nothing (no traces around it)
        create_private_file(store_file)  # 600 before SQLite makes it 644 (and its WAL, SHM)
    store_key = derive_key(master, "mppdesk-store") if master and url.startswith("sqlite") else None
    store = Store(url, data_dir, store_key)
    try:
        if migrate:
            store.migrate()
        else:
            store.schema_version()  # a wrong key or a damaged file shows now, not later
    except StoreError as exc:
        store.close()
        if created and store_file is not None:
            _remove_new_store(store_file)
        raise _explain_unreadable(exc, data_dir, master) from exc
    except BaseException:
        store.close()
        if created and store_file is not None:
            _remove_new_store(store_file)
        raise
    if store_file is not None:
        _write_marker(data_dir, master)
    runtime = Runtime(
        data_dir=data_dir,
        settings=settings,
        store=store,
        catalog=catalog,
        blobs=BlobStore(
            data_dir / "attachments", derive_key(master, "mppdesk-attachments") if master else None
        ),
    )
    if clock is not None:
        runtime.clock = clock
    return runtime


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _earlier_store_traces(data_dir: Path, store_file: Path | None) -> list[str]:
    """What in the data dir shows that a store was here before (empty: a fresh install).

    ``settings.toml`` alone is not a trace: ``mppdesk agency set`` writes it before ``init``.
    """
    traces = []
    if (data_dir / STORE_MARKER).exists():
        traces.append(STORE_MARKER)
    if store_file is not None and _has_content(store_file.with_name(store_file.name + "-wal")):
        traces.append(store_file.name + "-wal")
    for folder in ("attachments", "backups"):
        root = data_dir / folder
        if root.is_dir() and any(path.is_file() for path in root.rglob("*")):
            traces.append(folder + "/")
    return traces


def _missing_store_message(data_dir: Path, store_file: Path, traces: list[str]) -> str:
    state = "is empty (0 bytes)" if store_file.exists() else "is missing"
    backups = _newest_backups(data_dir)
    restore = (
        f"restore it from a backup (newest: {backups[0]}) or from 'mppdesk backup'"
        if backups
        else "restore it from the desk's backup ('mppdesk restore')"
    )
    return (
        f"the store {store_file} {state}, but {data_dir} holds data of a store "
        f"({', '.join(traces)}); it was not re-created, so nothing more is lost. {restore}; "
        f"to start over with an empty store instead, move {data_dir} aside and run "
        "'mppdesk init'"
    )


def _newest_backups(data_dir: Path) -> list[str]:
    root = data_dir / "backups"
    try:
        files = [p for p in root.iterdir() if p.is_file() and p.suffix == ".sqlite"]
    except OSError:
        return []
    return [str(p) for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)]


def _explain_unreadable(exc: StoreError, data_dir: Path, master: bytes | None) -> StoreError:
    """A store that SQLCipher cannot read is either damaged or opened with another key: the
    marker's key fingerprint tells which."""
    if exc.reason != "damaged":
        return exc
    recorded = _read_marker(data_dir).get("key_check")
    if master is not None and isinstance(recorded, str) and recorded != key_check(master):
        from mppdesk.store.keys import KEY_FILE_ENV

        return StoreError(
            f"the desk key in use is not the key the store in {data_dir} was created with; "
            f"set {KEY_FILE_ENV} to that desk key's file (or restore it from its backup)",
            "key_mismatch",
        )
    reason = str(exc).rsplit(": ", 1)[-1]
    backups = _newest_backups(data_dir)
    newest = f"; newest backup: {backups[0]}" if backups else ""
    store_file = data_dir / STORE_FILE
    if master is not None and recorded is None:  # no fingerprint to tell the two apart
        return StoreError(f"{store_file}: {reason}{newest}", "unreadable")
    return StoreError(f"{store_file}: {reason} (truncated or overwritten){newest}", "damaged")


def _read_marker(data_dir: Path) -> dict:
    try:
        value = json.loads((data_dir / STORE_MARKER).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _write_marker(data_dir: Path, master: bytes | None) -> None:
    check = key_check(master) if master is not None else None
    marker = _read_marker(data_dir)
    if marker and marker.get("key_check") == check:
        return
    value = {
        "created_at": marker.get("created_at") or _utcnow().isoformat(timespec="seconds"),
        "key_check": check,
    }
    path = data_dir / STORE_MARKER
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(value) + "\n")
        os.replace(tmp, path)
    except OSError as exc:  # a full disk: the store opened; the marker waits for next time
        log.warning("cannot write %s: %s", path, exc)
        tmp.unlink(missing_ok=True)


def _remove_new_store(store_file: Path) -> None:
    """A store this call created and could not set up is removed, not left half-made."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            store_file.with_name(store_file.name + suffix).unlink(missing_ok=True)
        except OSError:
            pass
