"""backup_100k / restore_100k: ``mppdesk backup`` and ``mppdesk restore`` of a desk holding
100,000 submissions (5,000 with --quick).

The store (encrypted, as the desk uses it) is generated once by bench_submissions' generator
into its own cache folder, then given realistic row sizes (a frozen payload of about 1.5 KB
per outbox entry, answers of about 600 bytes) and one sealed 50 KB attachment per hundred
submissions (1,000 files at 100k). Each backup sample is ``make_backup`` into an empty folder
on the same disk (sqlcipher_export, quick_check, attachment copies with SHA-256, manifest,
fsyncs, rename); each restore sample is ``restore_backup`` of that backup into an empty data
dir (manifest, key fingerprint, copy with hash check, open and migrate-check, requeue, audit
verify). The backup's floor is the cheapest consistent copy written by hand on the raw
driver: ``sqlcipher_export`` of the live store into an equally keyed file (a plain file copy of
a live WAL store is not a backup: NOTES, only the backup API or an export is consistent) and
the attachment files, each synced; the restore's floor is the backup folder copied and synced.
Each is timed alternately with the app in the same run.

Goal: backup <= 3x its floor (the app also re-opens the snapshot for ``quick_check``, hashes
every byte and writes a manifest), restore <= 6x (a plain copy against hash checks, opening,
migrate-check, requeue and audit verify); the seconds are what the issue asks for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.harness import Result, cost_result

CACHE = Path(tempfile.gettempdir()) / "mppdesk-bench"
ATTACHMENT_EVERY = 100
ATTACHMENT_BYTES = 50_000
REPEAT = 3


def _env(size: int) -> Path:
    root = CACHE / f"backup-{size}"
    root.mkdir(parents=True, exist_ok=True)
    os.environ["MPPDESK_KEY_FILE"] = str(root / "desk.key")
    return root / "data"


def _prepare(size: int):
    from bench.bench_submissions import _generate
    from mppdesk.desk.runtime import open_runtime

    data_dir = _env(size)
    marker = data_dir.parent / "ready"
    if marker.exists():
        return open_runtime(data_dir)
    if data_dir.exists():
        shutil.rmtree(data_dir)  # a half-made one from an interrupted run
    runtime = open_runtime(data_dir)
    _generate(runtime, size)
    _fill(runtime, size)
    marker.write_text(str(size))
    return runtime


def _fill(runtime, size: int) -> None:
    """Realistic row sizes, and attachment files sealed with the desk key."""
    raw = runtime.store.raw_connection()
    try:
        raw.execute("PRAGMA synchronous=OFF")  # generation only
        raw.execute("BEGIN")
        raw.execute("UPDATE outbox SET payload = randomblob(1500)")
        raw.execute(
            "UPDATE submissions SET answers = '{\"catatan\": \"' || hex(randomblob(300)) || '\"}'"
        )
        rows = []
        ids = [r[0] for r in raw.execute("SELECT id FROM submissions ORDER BY id")]
        for index, submission_id in enumerate(ids[::ATTACHMENT_EVERY]):
            data = os.urandom(ATTACHMENT_BYTES)
            digest = runtime.blobs.put(data)
            rows.append((submission_id, f"scan-{index}.pdf", digest, len(data), "application/pdf"))
        raw.executemany(
            "INSERT INTO attachments (submission_id, name, sha256, size, content_type)"
            " VALUES (?,?,?,?,?)",
            rows,
        )
        raw.execute("COMMIT")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _copy_synced(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())  # a copy on a USB disk is not there until it is synced


def _raw_export(source: Path, key: bytes | None, target: Path) -> None:
    """A consistent copy of the live store on the raw driver: export into an equally keyed
    file (or the backup API for a plain store), then sync it."""
    if key is None:
        import sqlite3

        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        import sqlcipher3

        connection = sqlcipher3.connect(str(source))
        try:
            connection.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
            quoted = str(target).replace("'", "''")
            connection.execute(f"ATTACH DATABASE '{quoted}' AS copy KEY \"x'{key.hex()}'\"")
            connection.execute("SELECT sqlcipher_export('copy')")
            connection.execute("DETACH DATABASE copy")
        finally:
            connection.close()
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())


def _raw_copy(runtime, target: Path) -> None:
    """The backup's floor: a consistent export of the store and the attachment files,
    synced, nothing checked or hashed."""
    target.mkdir()
    _raw_export(runtime.store.path, runtime.store.key, target / "mppdesk.sqlite")
    root = runtime.blobs.root
    for folder in root.iterdir():
        if folder.is_dir():
            (target / folder.name).mkdir()
            for blob in folder.iterdir():
                _copy_synced(blob, target / folder.name / blob.name)


def _tree_copy(source: Path, target: Path) -> None:
    """The restore's floor: the backup folder copied and synced, nothing checked."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            _copy_synced(path, destination)


def run(quick: bool = False) -> list[Result]:
    from mppdesk.desk.backup import make_backup, restore_backup

    size = 5_000 if quick else 100_000
    runtime = _prepare(size)
    scratch = Path(tempfile.mkdtemp(prefix="mppdesk-bench-backup-", dir=CACHE))
    backup_s: list[float] = []
    backup_floor: list[float] = []
    restore_s: list[float] = []
    restore_floor: list[float] = []
    extra: dict = {}
    try:
        for round_ in range(REPEAT):
            usb = scratch / f"usb-{round_}"
            usb.mkdir()
            start = time.perf_counter()
            result = make_backup(runtime, usb)
            backup_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            _raw_copy(runtime, scratch / f"floor-{round_}")
            backup_floor.append(time.perf_counter() - start)

            target = scratch / f"restored-{round_}"
            start = time.perf_counter()
            restored = restore_backup(result.path, target)
            restore_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            _tree_copy(result.path, scratch / f"floor-restore-{round_}")
            restore_floor.append(time.perf_counter() - start)
            if restored.counts.get("submissions") != size:
                raise AssertionError(f"restored {restored.counts} of {size} submissions")
            extra = {
                "submissions": size,
                "files": result.files,
                "backup_mb": round(result.bytes / 1_000_000, 1),
                "attachments": result.files - 1,
            }
            for leftover in scratch.iterdir():
                shutil.rmtree(leftover)
    finally:
        runtime.close()
        shutil.rmtree(scratch, ignore_errors=True)
    label = "5k" if quick else "100k"
    ran_at = f"{size} submissions"
    return [
        cost_result(
            f"backup_{label}", backup_s, backup_floor, goal=3.0, unit="s", extra=extra, size=ran_at
        ),
        cost_result(
            f"restore_{label}", restore_s, restore_floor, goal=6.0, unit="s", extra=extra,
            size=ran_at,
        ),
    ]
