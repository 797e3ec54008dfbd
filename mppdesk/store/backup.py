"""The SQL side of backups off the PC: the store snapshot, what it references, and the
outbox after a restore.

The snapshot itself is ``Store.backup`` (the SQLite backup API, or ``sqlcipher_export`` into an
equally encrypted file): the one way to copy a live store consistently. Everything here reads
that snapshot, never the live file, so the attachments copied next to it are exactly the ones
it references. The folder layout, hashes and manifest are ``mppdesk.desk.backup``'s business.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update

from mppdesk.core.states import OutboxState
from mppdesk.store import repo
from mppdesk.store.database import BUSY_TIMEOUT_MS, MIGRATIONS_DIR, Store, StoreError
from mppdesk.store.keys import derive_key
from mppdesk.store.models import OutboxEntry

_FINGERPRINT_PURPOSE = "mppdesk-backup-fingerprint"
_FINGERPRINT_MESSAGE = b"mppdesk desk key fingerprint v1"


def key_fingerprint(master: bytes) -> str:
    """A keyed hash that names the desk key without revealing it.

    HMAC under a key derived for this purpose only: equal for the same desk key, and
    nothing about the store or attachment keys can be learned from it.
    """
    return hmac.new(
        derive_key(master, _FINGERPRINT_PURPOSE), _FINGERPRINT_MESSAGE, hashlib.sha256
    ).hexdigest()


def snapshot_store(store: Store, target: Path) -> Path:
    """A consistent copy of the live store at ``target`` (encrypted like the store).

    ``Store.backup`` words its failures for the store's own disk; here they happen on the
    backup target, so they come back as the OSError they stand for and the caller words
    every target problem in one place.
    """
    try:
        return store.backup(target)
    except StoreError as exc:
        raise _target_error(exc, target) from exc
    except (sqlite3.Error, _sqlcipher_error()) as exc:
        raise _target_error(StoreError(str(exc)), target) from exc


def _target_error(exc: StoreError, target: Path) -> BaseException:
    message = str(exc)
    reason = getattr(exc, "reason", "other")
    if not target.parent.exists():
        return OSError(errno.ENOENT, f"the target folder is gone ({message})")
    if reason == "disk_full" or "full" in message.lower():
        return OSError(errno.ENOSPC, f"no space left on the target ({message})")
    if reason in ("readonly", "permission"):
        return OSError(errno.EACCES, f"the target cannot be written ({message})")
    if reason == "io" or "i/o error" in message.lower():
        return OSError(errno.EIO, f"the target failed while writing ({message})")
    return exc


@contextmanager
def _open_snapshot(path: Path, key: bytes | None) -> Iterator[Any]:
    if key is not None:
        import sqlcipher3

        connection = sqlcipher3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    else:
        connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        yield connection
    except (sqlite3.DatabaseError, _sqlcipher_error()) as exc:
        if "not a database" in str(exc).lower():
            raise StoreError(
                f"the store copy {path} cannot be read with this desk key: {exc}"
            ) from exc
        raise StoreError(f"the store copy {path} cannot be read: {exc}") from exc
    finally:
        connection.close()


def _sqlcipher_error() -> type[BaseException]:
    try:
        import sqlcipher3

        return sqlcipher3.DatabaseError
    except ImportError:  # pragma: no cover - sqlcipher3-binary is a dependency
        return sqlite3.DatabaseError


def snapshot_facts(path: Path, key: bytes | None) -> dict[str, Any]:
    """What the snapshot holds: schema version, row counts, referenced attachments.

    Also proves the copy opens with the key and passes SQLite's quick check, before a
    manifest is written that calls it a backup.
    """
    with _open_snapshot(path, key) as connection:
        check = connection.execute("PRAGMA quick_check").fetchone()
        if not check or check[0] != "ok":
            raise StoreError(f"the store snapshot failed SQLite's check: {check}")
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        row = connection.execute(
            "SELECT (SELECT count(*) FROM visits), (SELECT count(*) FROM submissions),"
            " (SELECT count(*) FROM outbox), (SELECT count(*) FROM audit_events)"
        ).fetchone()
        counts = dict(
            zip(("visits", "submissions", "outbox_entries", "audit_events"), row, strict=True)
        )
        digests = sorted(
            row[0] for row in connection.execute("SELECT DISTINCT sha256 FROM attachments")
        )
    return {
        "schema_version": version[0] if version else None,
        "counts": counts,
        "attachments": digests,
    }


def known_schema_versions() -> set[str]:
    """Every schema version this MPP Desk can open (and migrate from)."""
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def requeue_after_restore(
    store: Store, *, now: datetime, actor: str, details: dict[str, Any]
) -> int:
    """Entries caught in flight by the backup go back to pending, due now.

    Their idempotency key is the submission id, unchanged, so an agency that did receive
    one answers the repeat as a replay; done, failed and held entries keep their state.
    The restore itself is recorded in the audit chain. Returns how many were requeued.
    """
    with store.write() as session:
        result = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.state == OutboxState.IN_FLIGHT)
            .values(
                state=OutboxState.PENDING,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=now,
            )
        )
        requeued = int(result.rowcount or 0)
        repo.append_audit(
            session,
            actor=actor,
            action="backup.restored",
            object_type="store",
            details={**details, "requeued_in_flight": requeued},
            at=now,
        )
    return requeued
