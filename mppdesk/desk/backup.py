"""Backups off the PC: a consistent, encrypted copy of the desk on a USB disk or a share, and
bringing a desk back from one on a new PC.

A backup is a folder ``mppdesk-backup-<desk>-<UTC time>/`` holding the store snapshot (still
encrypted with the desk key), the attachment files it references (already AES-GCM sealed),
the settings and catalog overrides, and ``manifest.json`` last: the desk code, the schema
version, a keyed fingerprint of the desk key (never the key) and each file's SHA-256 and size.
It is built in a hidden ``.partial`` folder inside the target and renamed into place only when
complete, so a full disk or a pulled USB stick never leaves a folder that looks like a backup.

A restore checks the key fingerprint before writing anything, copies every file into a
staging folder inside the data dir while checking its hash against the manifest, and only then
moves the files into place. Outbox entries the backup caught in flight go back to pending with
their idempotency keys unchanged, so nothing is delivered twice.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from mppdesk import __version__
from mppdesk.desk.errors import DeskError
from mppdesk.desk.runtime import STORE_FILE, Runtime, open_runtime
from mppdesk.settings import SETTINGS_FILE
from mppdesk.store import backup as store_backup
from mppdesk.store.database import StoreError
from mppdesk.store.keys import KeyFileError, load_master_key

log = logging.getLogger(__name__)

BACKUP_PREFIX = "mppdesk-backup-"
MANIFEST = "manifest.json"
FORMAT = "mppdesk-backup"
FORMAT_VERSION = 1
STATUS_FILE = "backup-status.json"
ATTACHMENTS = "attachments"
CATALOG = "catalog"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024  # 100k attachments make about 15 MB
_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BackupError(DeskError):
    """The backup or restore could not be done; nothing that looks like one was left (exit 1)."""


class BackupKeyMismatch(BackupError):
    """The backup was made with another desk key (the CLI exits 4)."""


class BackupConflict(BackupError):
    """The data dir already holds a desk and --force was not given (the CLI exits 2)."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    created_at: datetime
    files: int
    bytes: int
    counts: dict[str, int]
    missing_attachments: list[str]
    encrypted: bool
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    data_dir: Path
    backup: str
    files: int
    bytes: int
    schema_version: str | None
    counts: dict[str, int]
    requeued_in_flight: int
    moved_aside: Path | None
    audit_ok: bool
    seconds: float


@dataclass(frozen=True)
class BackupStatus:
    """The last scheduled or manual backup, kept in the data dir for the status bar."""

    last_success_at: datetime | None = None
    last_backup: str | None = None
    last_attempt_at: datetime | None = None
    last_error: str | None = None


# --- making a backup ---------------------------------------------------------------------


def make_backup(
    runtime: Runtime, target_dir: Path, *, clock: Callable[[], datetime] | None = None
) -> BackupResult:
    """Write ``<target_dir>/mppdesk-backup-<desk>-<time>/`` or nothing that looks like it.

    The target must already exist: a USB disk that is not mounted leaves an empty mount
    point, and creating the folder there would put the "backup" on this PC's own disk.
    """
    now = (clock or runtime.now)().astimezone(UTC)
    started = datetime.now(UTC)
    target_dir = Path(target_dir)
    _check_target(target_dir)
    if runtime.store.path is None:
        raise BackupError("backups are made of a desk's own SQLite store, not a shared one")
    desk = _safe_name(runtime.settings.desk.code)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    final = _free_name(target_dir, f"{BACKUP_PREFIX}{desk}-{stamp}")
    partial = target_dir / f".{final.name}.{secrets.token_hex(4)}.partial"
    encrypted = runtime.store.encrypted
    try:
        try:
            partial.mkdir(mode=0o700)
            files: list[dict[str, Any]] = []
            snapshot = partial / STORE_FILE
            store_backup.snapshot_store(runtime.store, snapshot)
            files.append(_entry(STORE_FILE, *_hash_file(snapshot)))
            facts = store_backup.snapshot_facts(snapshot, runtime.store.key)
            missing = _copy_attachments(runtime.blobs.root, partial, facts["attachments"], files)
            for name in _config_files(runtime.data_dir):
                files.append(_entry(name, *_copy(runtime.data_dir / name, partial / name)))
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "mppdesk_version": __version__,
                "desk": runtime.settings.desk.code,
                "mpp_name": runtime.settings.desk.mpp_name,
                "created_at": now.isoformat(),
                "schema_version": facts["schema_version"],
                "encrypted": encrypted,
                "key_fingerprint": _fingerprint() if encrypted else None,
                "counts": facts["counts"],
                "missing_attachments": missing,
                "files": files,
            }
            _write_manifest(partial / MANIFEST, manifest)
            _fsync_dir(partial)
            os.rename(partial, final)
        except OSError as exc:
            raise BackupError(_target_problem(target_dir, exc)) from exc
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    try:
        _fsync_dir(target_dir)  # the rename itself; the backup is complete either way
    except OSError as exc:
        log.warning("could not sync %s after the rename: %s", target_dir, exc)
    if missing:
        log.warning("backup %s: %d referenced attachment files missing", final, len(missing))
    log.info("backup written to %s", final)
    return BackupResult(
        path=final,
        created_at=now,
        files=len(files),
        bytes=sum(f["size"] for f in files),
        counts=facts["counts"],
        missing_attachments=missing,
        encrypted=encrypted,
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )


def _check_target(target_dir: Path) -> None:
    if not target_dir.exists():
        raise BackupError(
            f"the backup target {target_dir} does not exist (is the USB disk or share mounted?)"
        )
    if not target_dir.is_dir():
        raise BackupError(f"the backup target {target_dir} is not a folder")
    if not os.access(target_dir, os.W_OK | os.X_OK):
        raise BackupError(f"cannot write to the backup target {target_dir} (permissions)")


def _target_problem(target_dir: Path, exc: OSError) -> str:
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"the backup target {target_dir} is full; no backup was written ({exc.strerror})"
    if code == errno.EFBIG:
        return (
            f"the backup target {target_dir} cannot hold a file this large (a FAT32 disk takes "
            f"at most 4 GB per file: format it exFAT or NTFS); no backup was written"
        )
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE):
        return (
            f"the backup target {target_dir} disappeared or failed while writing (disk removed "
            f"or share lost?); no backup was written ({exc.strerror or exc})"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to the backup target {target_dir}: {exc.strerror or exc}"
    return f"writing the backup to {target_dir} failed; no backup was written: {exc}"


def _safe_name(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", code)[:32] or "desk"


def _free_name(target_dir: Path, name: str) -> Path:
    candidate = target_dir / name
    number = 2
    while candidate.exists():
        candidate = target_dir / f"{name}-{number}"
        number += 1
    return candidate


def _fingerprint() -> str:
    try:
        return store_backup.key_fingerprint(load_master_key(create=False))
    except KeyFileError as exc:
        raise BackupError(str(exc)) from exc


def _entry(path: str, sha256: str, size: int) -> dict[str, Any]:
    return {"path": path, "sha256": sha256, "size": size}


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy(source: Path, target: Path, expect: str | None = None) -> tuple[str, int]:
    """Copy one file, hashing what is written, and fsync it; ``expect`` checks the hash."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    size = 0
    # Private like the data dir: the files are sealed, but their names and sizes are not.
    with open(source, "rb") as src, os.fdopen(_create_private(target), "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if expect is not None and digest.hexdigest() != expect:
        raise BackupError(f"{source}: damaged (its SHA-256 does not match the manifest)")
    return digest.hexdigest(), size


def _create_private(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)


def _copy_attachments(
    root: Path, partial: Path, digests: Iterable[str], files: list[dict[str, Any]]
) -> list[str]:
    missing = []
    for digest in digests:
        if not _SHA256.match(digest or ""):
            continue  # not a blob name: nothing on disk can belong to it
        relative = f"{ATTACHMENTS}/{digest[:2]}/{digest}"
        source = root / digest[:2] / digest
        if not source.is_file():
            missing.append(digest)  # purged between the snapshot and now, or lost
            continue
        # Any error from here on is the target's (or the disk's): the backup fails whole.
        files.append(_entry(relative, *_copy(source, partial / relative)))
    return missing


def _config_files(data_dir: Path) -> list[str]:
    """Settings and catalog overrides: small, no secrets, part of what makes the desk."""
    names = []
    if (data_dir / SETTINGS_FILE).is_file():
        names.append(SETTINGS_FILE)
    catalog = data_dir / CATALOG
    if catalog.is_dir():
        for path in sorted(catalog.rglob("*")):
            if path.is_file():
                names.append(path.relative_to(data_dir).as_posix())
    return names


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    with os.fdopen(_create_private(path), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


_NO_DIR_SYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EISDIR}


def _fsync_dir(path: Path) -> None:
    """Make a folder's new entries durable, where the file system can (POSIX local disks)."""
    if os.name != "posix":
        return  # Windows cannot open a folder for fsync; NTFS journals the rename
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIR_SYNC:  # network shares often refuse a folder fsync
            raise
    finally:
        os.close(fd)


# --- reading a backup --------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup folder, checked for shape; anything else is refused."""
    source = Path(source)
    if not source.is_dir():
        raise BackupError(f"{source}: no such backup folder")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"{source}: not a complete MPP Desk backup (no {MANIFEST}; an interrupted "
            "backup never gets one)"
        )
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise BackupError(f"{path}: too large to be a backup manifest")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path}: cannot read the backup manifest ({exc})") from exc
    problems = _manifest_problems(manifest)
    if problems:
        raise BackupError(f"{path}: not a usable backup manifest: {'; '.join(problems[:5])}")
    return manifest


def _manifest_problems(manifest: Any) -> list[str]:
    if not isinstance(manifest, dict):
        return ["not a JSON object"]
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(f"format is not {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"format_version {manifest.get('format_version')!r} is not supported")
    if not isinstance(manifest.get("encrypted"), bool):
        problems.append("encrypted must be true or false")
    fingerprint = manifest.get("key_fingerprint")
    if manifest.get("encrypted") and not (
        isinstance(fingerprint, str) and _SHA256.match(fingerprint)
    ):
        problems.append("an encrypted backup needs a key_fingerprint")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        return [*problems, "files must be a non-empty list"]
    seen = set()
    for index, item in enumerate(files):
        where = f"files[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        name = item.get("path")
        if not isinstance(name, str) or not _safe_relative(name):
            problems.append(f"{where}.path: not a relative path inside the backup")
        elif name in seen:
            problems.append(f"{where}.path: listed twice")
        else:
            seen.add(name)
        if not isinstance(item.get("sha256"), str) or not _SHA256.match(item["sha256"]):
            problems.append(f"{where}.sha256: not a SHA-256 hex digest")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(f"{where}.size: not a size")
    if STORE_FILE not in seen:
        problems.append(f"no {STORE_FILE} in files")
    return problems


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or "\\" in name or ":" in name:
        return False
    if any(part in ("", ".", "..") for part in path.parts):
        return False
    top = path.parts[0]
    if len(path.parts) == 1:
        return top in (STORE_FILE, SETTINGS_FILE)
    return top in (ATTACHMENTS, CATALOG)


# --- restoring ---------------------------------------------------------------------------


def restore_backup(
    source: Path,
    data_dir: Path,
    *,
    force: bool = False,
    actor: str = "os",
    clock: Callable[[], datetime] | None = None,
) -> RestoreResult:
    """Bring a desk back from a backup folder into ``data_dir`` (with this PC's desk key)."""
    started = datetime.now(UTC)
    source = Path(source)
    data_dir = Path(data_dir)
    manifest = read_manifest(source)
    if manifest["encrypted"]:
        try:
            master = load_master_key(create=False)
        except KeyFileError as exc:
            raise BackupKeyMismatch(f"cannot restore an encrypted backup: {exc}") from exc
        if store_backup.key_fingerprint(master) != manifest["key_fingerprint"]:
            raise BackupKeyMismatch(
                f"{source.name} was made with another desk key; nothing was restored. Use the "
                "desk key of the PC it came from (MPPDESK_KEY_FILE or the OS keyring)."
            )
    version = manifest.get("schema_version")
    if version is not None and version not in store_backup.known_schema_versions():
        raise BackupError(
            f"{source.name} has schema version {version}, written by a newer MPP Desk; "
            f"upgrade MPP Desk before restoring it"
        )
    existing = _existing_desk(data_dir)
    if existing and not force:
        raise BackupConflict(
            f"{data_dir} already holds a desk ({', '.join(existing)}); nothing was restored. "
            "Restore into an empty data dir, or add --force to move the current one aside."
        )
    total = sum(item["size"] for item in manifest["files"])
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = data_dir / f".restore-{secrets.token_hex(4)}.partial"
    moved_aside: Path | None = None
    try:
        try:
            staging.mkdir(mode=0o700)
            _check_space(data_dir, total)
            for item in manifest["files"]:
                source_file = source / item["path"]
                if not source_file.is_file():
                    raise BackupError(f"{source.name}: {item['path']} is missing from the backup")
                _sha, size = _copy(source_file, staging / item["path"], expect=item["sha256"])
                if size != item["size"]:
                    raise BackupError(f"{source.name}: {item['path']} has the wrong size")
            if existing:
                moved_aside = _move_aside(data_dir, existing)
            for name in sorted({PurePosixPath(i["path"]).parts[0] for i in manifest["files"]}):
                os.replace(staging / name, data_dir / name)
            _fsync_dir(data_dir)
        except OSError as exc:
            raise BackupError(
                f"restoring into {data_dir} failed; nothing was restored: {exc}"
            ) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    runtime = open_runtime(data_dir)  # migrates an older schema (with its own backup first)
    try:
        from mppdesk.desk.audit import verify_audit

        requeued = store_backup.requeue_after_restore(
            runtime.store,
            now=(clock or runtime.now)(),
            actor=actor,
            details={"backup": source.name, "created_at": manifest.get("created_at")},
        )
        audit = verify_audit(runtime)
        schema = runtime.store.schema_version()
    finally:
        runtime.close()
    log.info("restored %s into %s (%d in-flight entries requeued)", source, data_dir, requeued)
    return RestoreResult(
        data_dir=data_dir,
        backup=source.name,
        files=len(manifest["files"]),
        bytes=total,
        schema_version=schema,
        counts=dict(manifest.get("counts") or {}),
        requeued_in_flight=requeued,
        moved_aside=moved_aside,
        audit_ok=bool(audit["ok"]),
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )


def _existing_desk(data_dir: Path) -> list[str]:
    if not data_dir.is_dir():
        return []
    found = []
    for name in (STORE_FILE, f"{STORE_FILE}-wal", f"{STORE_FILE}-shm", SETTINGS_FILE):
        if (data_dir / name).exists():
            found.append(name)
    for name in (ATTACHMENTS, CATALOG):
        folder = data_dir / name
        if folder.is_dir() and any(folder.iterdir()):
            found.append(name)
    return found


def _move_aside(data_dir: Path, names: list[str]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    aside = data_dir / f"replaced-{stamp}"
    aside.mkdir(mode=0o700)
    for name in names:
        os.replace(data_dir / name, aside / name)
    log.warning("the desk that was in %s was moved to %s", data_dir, aside)
    return aside


def _check_space(data_dir: Path, needed: int) -> None:
    free = shutil.disk_usage(data_dir).free
    if free < needed + 16 * 1024 * 1024:
        raise BackupError(
            f"not enough free space in {data_dir}: the backup needs {needed // 1_000_000} MB, "
            f"{free // 1_000_000} MB are free; nothing was restored"
        )


# --- the schedule and its last result ----------------------------------------------------


def read_status(data_dir: Path) -> BackupStatus:
    """The last backup's outcome; an unreadable status file counts as "never"."""
    path = Path(data_dir) / STATUS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            return BackupStatus()
        return BackupStatus(
            last_success_at=_parse_time(raw.get("last_success_at")),
            last_backup=raw.get("last_backup") if isinstance(raw.get("last_backup"), str) else None,
            last_attempt_at=_parse_time(raw.get("last_attempt_at")),
            last_error=raw.get("last_error") if isinstance(raw.get("last_error"), str) else None,
        )
    except (OSError, UnicodeDecodeError, ValueError):
        return BackupStatus()


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def record_status(
    data_dir: Path, *, at: datetime, result: BackupResult | None, error: str | None
) -> BackupStatus:
    """Keep the outcome of one backup attempt; a failure keeps the last success."""
    previous = read_status(data_dir)
    status = BackupStatus(
        last_success_at=at if result is not None else previous.last_success_at,
        last_backup=str(result.path) if result is not None else previous.last_backup,
        last_attempt_at=at,
        last_error=error,
    )
    raw = {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in asdict(status).items()
    }
    path = Path(data_dir) / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(raw, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("could not record the backup status in %s: %s", path, exc)
    return status


def backup_due(
    status: BackupStatus, interval_hours: float, now: datetime, *, retry_after_s: float = 900
) -> bool:
    """Whether the scheduled backup should run now.

    Due when the last success is older than the interval; after a failure (a USB disk not
    plugged in) it is tried again every ``retry_after_s``, not on every tick.
    """
    if interval_hours <= 0:
        return False
    if status.last_success_at is not None and now - status.last_success_at < timedelta(
        hours=interval_hours
    ):
        return False
    if (
        status.last_error
        and status.last_attempt_at is not None
        and now - status.last_attempt_at < timedelta(seconds=retry_after_s)
    ):
        return False
    return True


def scheduled_backup(runtime: Runtime, target_dir: Path) -> BackupStatus:
    """One scheduled run: back up, record the outcome (success or the message), return it."""
    now = runtime.now()
    try:
        result = make_backup(runtime, target_dir)
    except (BackupError, StoreError, OSError) as exc:
        log.warning("scheduled backup to %s failed: %s", target_dir, exc)
        return record_status(runtime.data_dir, at=now, result=None, error=str(exc))
    return record_status(runtime.data_dir, at=now, result=result, error=None)


__all__ = [
    "BackupConflict",
    "BackupError",
    "BackupKeyMismatch",
    "BackupResult",
    "BackupStatus",
    "RestoreResult",
    "backup_due",
    "make_backup",
    "read_manifest",
    "read_status",
    "record_status",
    "restore_backup",
    "scheduled_backup",
]
