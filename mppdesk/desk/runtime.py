"""Everything one desk process works with: settings, store, catalog, attachment files, clock.

Built once by the composition root (``mppdesk.app``) or the command line, then passed to
the desk's operations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mppdesk.forms.catalog import Catalog, builtin_catalog_dirs, load_catalog
from mppdesk.settings import Settings, load_settings
from mppdesk.store.blobs import BlobStore
from mppdesk.store.database import Store, sqlite_url
from mppdesk.store.keys import derive_key, load_master_key

log = logging.getLogger(__name__)

STORE_FILE = "mppdesk.sqlite"


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
            days |= indonesia.holidays(year)
        return frozenset(days)

    def close(self) -> None:
        self.store.close()


def open_runtime(
    data_dir: Path,
    db_url: str | None = None,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    """Open (and create if needed) the data dir, its store and the merged catalog."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(data_dir)
    catalog = load_catalog(builtin_catalog_dirs(data_dir))
    url = db_url or sqlite_url(data_dir / STORE_FILE)
    master = load_master_key() if settings.desk.encrypt else None
    store_key = derive_key(master, "mppdesk-store") if master and url.startswith("sqlite") else None
    store = Store(url, data_dir, store_key)
    try:
        if migrate:
            store.migrate()
    except BaseException:
        store.close()
        raise
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
