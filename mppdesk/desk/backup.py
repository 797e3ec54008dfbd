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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from mppdesk import __version__
from mppdesk.core.messages import Phrase
from mppdesk.core.messages import text as message_text
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
    # The last attempt's failure as a message code and its parameters (None: it worked).
    error_code: str | None = None
    error_params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # The text a status file written before the catalog kept (read, never written again).
    legacy_error: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the last attempt failed."""
        return bool(self.error_code or self.legacy_error)

    def error_text(self, lang: str = "id") -> str | None:
        """The last failure in ``lang`` (None when the last attempt worked)."""
        if self.error_code:
            return message_text(self.error_code, lang, **self.error_params)
        return self.legacy_error


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
        raise BackupError.of("backup.shared_store")
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
            raise _target_problem(target_dir, exc) from exc
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
        raise BackupError.of("backup.target_missing", target=str(target_dir))
    if not target_dir.is_dir():
        raise BackupError.of("backup.target_not_folder", target=str(target_dir))
    if not os.access(target_dir, os.W_OK | os.X_OK):
        raise BackupError.of("backup.target_unwritable", target=str(target_dir))


def _target_problem(target_dir: Path, exc: OSError) -> BackupError:
    """What a failed write to the target means, by its errno (a code of the catalog)."""
    code, target = exc.errno, str(target_dir)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return BackupError.of("backup.target_full", target=target, reason=exc.strerror or "")
    if code == errno.EFBIG:
        return BackupError.of("backup.target_file_too_large", target=target)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE):
        return BackupError.of("backup.target_gone", target=target, reason=exc.strerror or str(exc))
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return BackupError.of(
            "backup.target_denied", target=target, reason=exc.strerror or str(exc)
        )
    return BackupError.of("backup.target_failed", target=target, reason=str(exc))


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
        raise BackupError.of("backup.key_problem", reason=str(exc)) from exc


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
        raise BackupError.of("backup.damaged", file=str(source))
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
        raise BackupError.of("backup.no_such_folder", source=str(source))
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError.of("backup.incomplete", source=str(source), manifest=MANIFEST)
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise BackupError.of("backup.manifest_too_large", path=str(path))
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError.of("backup.manifest_unreadable", path=str(path), reason=str(exc)) from exc
    problems = _manifest_problems(manifest)
    if len(problems) == 1:
        raise BackupError.of("backup.manifest_unusable", path=str(path), problem=problems[0])
    if problems:
        raise BackupError.of(
            "backup.manifest_unusable_more",
            path=str(path),
            problem=problems[0],
            more=len(problems) - 1,
        )
    return manifest


def _manifest_problems(manifest: Any) -> list[Phrase]:
    """What is wrong with a manifest, each a ``backup.manifest.`` message."""
    if not isinstance(manifest, dict):
        return [Phrase("backup.manifest.not_object")]
    problems = []
    if manifest.get("format") != FORMAT:
        problems.append(Phrase("backup.manifest.format", {"format": FORMAT}))
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(
            Phrase(
                "backup.manifest.format_version", {"version": repr(manifest.get("format_version"))}
            )
        )
    if not isinstance(manifest.get("encrypted"), bool):
        problems.append(Phrase("backup.manifest.encrypted"))
    fingerprint = manifest.get("key_fingerprint")
    if manifest.get("encrypted") and not (
        isinstance(fingerprint, str) and _SHA256.match(fingerprint)
    ):
        problems.append(Phrase("backup.manifest.fingerprint"))
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        return [*problems, Phrase("backup.manifest.files")]
    seen = set()
    for index, item in enumerate(files):
        where = f"files[{index}]"
        if not isinstance(item, dict):
            problems.append(Phrase("backup.manifest.item_not_object", {"where": where}))
            continue
        name = item.get("path")
        if not isinstance(name, str) or not _safe_relative(name):
            problems.append(Phrase("backup.manifest.item_path", {"where": where}))
        elif name in seen:
            problems.append(Phrase("backup.manifest.item_twice", {"where": where}))
        else:
            seen.add(name)
        if not isinstance(item.get("sha256"), str) or not _SHA256.match(item["sha256"]):
            problems.append(Phrase("backup.manifest.item_sha256", {"where": where}))
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            problems.append(Phrase("backup.manifest.item_size", {"where": where}))
    if STORE_FILE not in seen:
        problems.append(Phrase("backup.manifest.no_store", {"store": STORE_FILE}))
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
            raise BackupKeyMismatch.of("backup.key_unavailable", reason=str(exc)) from exc
        if store_backup.key_fingerprint(master) != manifest["key_fingerprint"]:
            raise BackupKeyMismatch.of("backup.key_mismatch", backup=source.name)
    version = manifest.get("schema_version")
    if version is not None and version not in store_backup.known_schema_versions():
        raise BackupError.of("backup.schema_newer", backup=source.name, version=str(version))
    existing = _existing_desk(data_dir)
    if existing and not force:
        raise BackupConflict.of(
            "backup.conflict", data_dir=str(data_dir), existing=", ".join(existing)
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
                    raise BackupError.of(
                        "backup.file_missing", backup=source.name, file=item["path"]
                    )
                _sha, size = _copy(source_file, staging / item["path"], expect=item["sha256"])
                if size != item["size"]:
                    raise BackupError.of("backup.file_size", backup=source.name, file=item["path"])
            if existing:
                moved_aside = _move_aside(data_dir, existing)
            for name in sorted({PurePosixPath(i["path"]).parts[0] for i in manifest["files"]}):
                os.replace(staging / name, data_dir / name)
            _fsync_dir(data_dir)
        except OSError as exc:
            raise BackupError.of(
                "backup.restore_failed", data_dir=str(data_dir), reason=str(exc)
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
        raise BackupError.of(
            "backup.no_space",
            data_dir=str(data_dir),
            needed=needed // 1_000_000,
            free=free // 1_000_000,
        )


# --- the schedule and its last result ----------------------------------------------------


def read_status(data_dir: Path) -> BackupStatus:
    """The last backup's outcome; an unreadable status file counts as "never"."""
    path = Path(data_dir) / STATUS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            return BackupStatus()
        code = raw.get("error_code")
        params = raw.get("error_params")
        legacy = raw.get("last_error")  # the text a status file kept before the catalog
        return BackupStatus(
            last_success_at=_parse_time(raw.get("last_success_at")),
            last_backup=raw.get("last_backup") if isinstance(raw.get("last_backup"), str) else None,
            last_attempt_at=_parse_time(raw.get("last_attempt_at")),
            error_code=code if isinstance(code, str) and code else None,
            error_params=_params_from_json(params) if isinstance(params, dict) else {},
            legacy_error=legacy if isinstance(legacy, str) and legacy else None,
        )
    except (OSError, UnicodeDecodeError, ValueError):
        return BackupStatus()


def _params_to_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON: numbers and text as they are, a nested message as its code."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Phrase):
            out[key] = {"code": value.code, "params": _params_to_json(value.params)}
        elif isinstance(value, bool | int | float) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


def _params_from_json(raw: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(value.get("code"), str):
            nested = value.get("params")
            out[str(key)] = Phrase(
                value["code"], _params_from_json(nested) if isinstance(nested, dict) else {}
            )
        elif isinstance(value, str | int | float | bool) or value is None:
            out[str(key)] = value
    return out


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def failure_of(exc: BaseException) -> tuple[str, dict[str, Any]]:
    """A failed backup as a message code and parameters, for the status file."""
    if isinstance(exc, DeskError) and exc.code:
        return exc.code, dict(exc.params)
    return "backup.failed_other", {
        "reason": exc.text("id") if isinstance(exc, DeskError) else str(exc)
    }


def record_status(
    data_dir: Path, *, at: datetime, result: BackupResult | None, error: BaseException | None
) -> BackupStatus:
    """Keep the outcome of one backup attempt; a failure keeps the last success.

    The failure is kept as its message code and parameters, so the status bar words it in
    the window's language (a status file that kept text is still read, as text).
    """
    previous = read_status(data_dir)
    code, params = failure_of(error) if error is not None else (None, {})
    status = BackupStatus(
        last_success_at=at if result is not None else previous.last_success_at,
        last_backup=str(result.path) if result is not None else previous.last_backup,
        last_attempt_at=at,
        error_code=code,
        error_params=params,
    )
    raw = {
        "last_success_at": _iso(status.last_success_at),
        "last_backup": status.last_backup,
        "last_attempt_at": _iso(status.last_attempt_at),
        "error_code": code,
        "error_params": _params_to_json(params),
    }
    path = Path(data_dir) / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("could not record the backup status in %s: %s", path, exc)
    return status


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


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
        status.failed
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
        return record_status(runtime.data_dir, at=now, result=None, error=exc)
    return record_status(runtime.data_dir, at=now, result=result, error=None)


__all__ = [
    "BackupConflict",
    "BackupError",
    "BackupKeyMismatch",
    "BackupResult",
    "BackupStatus",
    "RestoreResult",
    "backup_due",
    "failure_of",
    "make_backup",
    "read_manifest",
    "read_status",
    "record_status",
    "restore_backup",
    "scheduled_backup",
]
