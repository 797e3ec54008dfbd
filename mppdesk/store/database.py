"""Opening the store: engine set-up, transactions, schema migrations with a backup first.

A desk's store is always its own SQLite file in the data dir (``refuse_shared_store``: the
mall shares data through the hub, ``mppdesk hub``, never through one database). Every SQLite connection gets WAL, ``synchronous=FULL``
(commits survive power loss), foreign keys and a busy timeout. Python 3.11's sqlite3 module
does not begin transactions the way SQLAlchemy expects, so the driver's own transaction
handling is switched off and SQLAlchemy emits BEGIN itself (the recipe in SQLAlchemy's SQLite
dialect documentation); write transactions use ``BEGIN IMMEDIATE`` so two writers queue on the
busy timeout instead of failing to upgrade a read lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class StoreError(Exception):
    """A problem of the environment (locked, full, corrupt, too new): shown to the user.

    ``reason`` says which, so the error boundary can word it in the officer's language:
    busy, disk_full, damaged, readonly, missing, newer, lost, permission or other.
    """

    def __init__(self, message: str, reason: str = "other"):
        super().__init__(message)
        self.reason = reason


class NewerSchemaError(StoreError):
    def __init__(self, message: str):
        super().__init__(message, "newer")


# Below this much free space a "disk I/O error" of SQLite is the disk being full: creating
# the WAL or growing it fails with SQLITE_IOERR rather than SQLITE_FULL.
DISK_FULL_FREE_BYTES = 1 << 20


def disk_is_full(directory: Path | None) -> bool:
    """Whether the file system holding ``directory`` has (almost) no space left."""
    if directory is None:
        return False
    import shutil

    probe = Path(directory)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < DISK_FULL_FREE_BYTES
    except OSError:
        return False


def create_private_file(path: Path) -> None:
    """Create an empty file readable only by its owner, unless it exists.

    SQLite gives a new database 644 and its WAL and SHM files the database's mode; creating
    the file first makes all three 600 whatever the umask.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path_of(url: str) -> Path | None:
    """The file of a SQLite URL, or None (another database, or in memory)."""
    if not _is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


SHARED_STORE_RETIRED = (
    "a desk's store is always its own SQLite file: a desk pointed straight at a shared "
    "database ({scheme}) is no longer supported. Join the mall hub instead ('mppdesk hub "
    "join URL --desk CODE --token-stdin'); PostgreSQL is the hub's store ('mppdesk hub serve')"
)


def refuse_shared_store(url: str) -> None:
    """A desk refuses any store but SQLite: the shared PostgreSQL mode was not offline (the
    server down crashed intake) and kept personal data in clear (the desk key covers SQLite
    only). The URL itself is never echoed: it may hold a password."""
    if not _is_sqlite(url):
        scheme = url.split(":", 1)[0][:40] if ":" in url else "not a database URL"
        raise StoreError(SHARED_STORE_RETIRED.format(scheme=scheme), "not_sqlite")


def make_engine(url: str, key: bytes | None = None) -> Engine:
    if _is_sqlite(url):
        if key is not None:
            # SQLCipher: the whole file (and its WAL) encrypted with a raw 256-bit key.
            engine_url = make_url(url).set(drivername="sqlite+pysqlcipher", password=f"x'{key.hex()}'")
        else:
            engine_url = make_url(url)
        engine = create_engine(
            engine_url,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            # The pysqlcipher dialect defaults to SingletonThreadPool, which closes other
            # threads' connections once more than five threads have one: with the sync
            # worker's threads that closed a connection in use and crashed the process.
            poolclass=QueuePool,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
            cursor = dbapi_connection.cursor()
            if key is not None:
                # SQLCipher writes its own errors (a wrong key, a damaged page) straight to
                # stderr; the error boundary words them for the officer instead.
                cursor.execute("PRAGMA cipher_log_level = NONE")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted personal data is overwritten, not left in free pages (retention purge).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn) -> None:
            immediate = conn.get_execution_options().get("mppdesk_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """The desk's database: sessions for reading and writing, and the schema's version."""

    def __init__(self, url: str, data_dir: Path | None = None, key: bytes | None = None):
        refuse_shared_store(url)
        self.url = url
        self.data_dir = Path(data_dir) if data_dir else None
        self.key = key if _is_sqlite(url) else None
        self.engine = make_engine(url, self.key)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(mppdesk_write=True), expire_on_commit=False
        )
        self._write_gate = threading.Lock() if self.is_sqlite else contextlib.nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return _is_sqlite(self.url)

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    @property
    def directory(self) -> Path | None:
        """The folder of the SQLite file (where a full disk is checked), else None."""
        path = self.path
        return path.parent if path is not None else None

    @property
    def path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        database = self.engine.url.database
        return Path(database) if database and database != ":memory:" else None

    def raw_connection(self):
        """A plain DB-API connection to the SQLite file, keyed when encrypted.

        For the benchmarks' floors and for tests that must reach below the ORM; the desk's
        own code goes through sessions.
        """
        if self.path is None:
            raise StoreError("a raw connection is only available for a SQLite store")
        if self.key is not None:
            import sqlcipher3

            connection = sqlcipher3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            connection.execute(f"PRAGMA key = \"x'{self.key.hex()}'\"")
        else:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.isolation_level = None  # autocommit: transactions are explicit BEGIN/COMMIT
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed at the end, rolled back on any error.

        SQLite has one writer at a time; threads of this process queue on a lock here
        instead of in SQLite's busy handler, which sleeps up to 100 ms between tries.
        """
        with (
            self._write_gate,
            _translate_errors(self.directory),
            self._write() as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with _translate_errors(self.directory), self._read() as session, session.begin():
            yield session

    @contextmanager
    def raw_write(self) -> Iterator[Any]:
        """A pooled DB-API cursor in one write transaction, for the hottest write (finalize).

        The same guarantees as ``write()``: this process's write gate, ``BEGIN IMMEDIATE`` on
        SQLite (the pooled connection carries WAL and synchronous=FULL), commit at the end,
        rollback on any error, environment faults as StoreError.
        """
        with self._write_gate, _translate_errors(self.directory):
            connection = self.engine.raw_connection()
            cursor = connection.cursor()
            try:
                if self.is_sqlite:
                    cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                if self.is_sqlite:
                    cursor.execute("COMMIT")
                else:
                    connection.commit()
            except BaseException:
                try:
                    if self.is_sqlite:
                        cursor.execute("ROLLBACK")
                    else:
                        connection.rollback()
                except Exception:  # noqa: BLE001 - the original error matters more
                    pass
                raise
            finally:
                cursor.close()
                connection.close()

    @property
    def paramstyle(self) -> str:
        return "?" if self.is_sqlite else "%s"

    def close(self) -> None:
        self.engine.dispose()

    def checkpoint(self) -> None:
        """Copy the WAL into the main file and truncate it (after a purge)."""
        if self.is_sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- schema -----------------------------------------------------------------------

    def schema_version(self) -> str | None:
        with _translate_errors(self.directory), self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self, target: str = "head") -> str:
        """Bring the schema to the newest version; back up an existing SQLite store first.

        A store written by a newer MPP Desk is refused (its schema version is unknown here).
        Returns the schema version now in force.
        """
        from alembic import command
        from alembic.script import ScriptDirectory

        config = _alembic_config()
        script = ScriptDirectory.from_config(config)
        head = script.get_current_head() if target == "head" else target
        current = self.schema_version()
        if current is not None:
            known = {rev.revision for rev in script.walk_revisions()}
            if current not in known:
                raise NewerSchemaError(
                    f"the store at {self.url_for_humans()} has schema version {current}, written "
                    f"by a newer MPP Desk; this version knows up to {head}. Upgrade MPP Desk."
                )
        if current == head:
            return head
        if current is not None and self.path is not None:
            self.backup(self.backup_path(current))
        with _translate_errors(self.directory), self.engine.begin() as connection:
            if self.is_sqlite:
                # Batch mode copies tables; that fails while foreign keys are enforced.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            config.attributes["connection"] = connection
            command.upgrade(config, target)
            if self.is_sqlite:
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise StoreError(f"foreign key check failed after migration: {problems[:5]}")
        if self.is_sqlite:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        log.info("store schema migrated from %s to %s", current, head)
        return head

    def url_for_humans(self) -> str:
        return str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)

    def backup_path(self, version: str) -> Path:
        assert self.path is not None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self.path.parent / "backups" / f"{self.path.stem}-{stamp}-{version}.sqlite"

    def backup(self, target: Path) -> Path:
        """A consistent copy of the live SQLite store (the backup API, not a file copy).

        Written under a temporary name and renamed, so a crash mid-backup never leaves a
        partial file that looks like a backup.
        """
        if self.path is None:
            raise StoreError("backup is only available for a SQLite store")
        with _translate_errors(self.directory):
            return self._backup(target)

    def _backup(self, target: Path) -> Path:
        assert self.path is not None
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        create_private_file(partial)  # a backup holds everything the store holds
        try:
            if self.key is not None:
                # An encrypted store is exported into an equally encrypted copy, never in clear.
                source = self.raw_connection()
                try:
                    quoted = str(partial).replace("'", "''")
                    source.execute(f"ATTACH DATABASE '{quoted}' AS backup KEY \"x'{self.key.hex()}'\"")
                    source.execute("SELECT sqlcipher_export('backup')")
                    source.execute("DETACH DATABASE backup")
                finally:
                    source.close()
            else:
                source = sqlite3.connect(self.path)
                try:
                    destination = sqlite3.connect(partial)
                    try:
                        source.backup(destination)
                    finally:
                        destination.close()
                finally:
                    source.close()
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)  # a partial copy only keeps the disk full
            raise
        log.info("store backed up to %s", target)
        return target


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def store_fault(exc: BaseException, directory: Path | None = None) -> StoreError | None:
    """The environment's failure behind ``exc`` as a StoreError, or None for anything else.

    Takes SQLAlchemy's wrapped errors and the drivers' own (the backup API and raw
    connections use sqlite3/sqlcipher3 directly). Only the driver's reason is kept: the
    statement's parameters (personal data) never reach the message.
    """
    import errno

    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(f"the disk holding the store is full: {exc.strerror}", "disk_full")
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        invalidated = exc.connection_invalidated
    elif type(exc).__module__.startswith(("sqlite3", "sqlcipher3")):
        orig, invalidated = exc, False
    else:
        return None
    message = (str(orig) if orig is not None else type(exc).__name__).splitlines()[0][:300]
    lowered = message.lower()
    kind = type(orig).__name__ if orig is not None else type(exc).__name__
    if kind in ("IntegrityError", "ProgrammingError", "InterfaceError", "NotSupportedError"):
        return None  # the desk's own bug, not the environment: a crash report
    if "locked" in lowered or "busy" in lowered:
        return StoreError(f"the store is busy (locked by another program): {message}", "busy")
    if ("disk" in lowered and "full" in lowered) or "no space" in lowered:
        return StoreError(f"the disk holding the store is full: {message}", "disk_full")
    if ("disk i/o error" in lowered or "unable to open" in lowered) and disk_is_full(directory):
        return StoreError(f"the disk holding the store is full: {message}", "disk_full")
    if "malformed" in lowered or "not a database" in lowered or "file is encrypted" in lowered:
        return StoreError(
            f"the store file is damaged, or the desk key does not match it: {message}", "damaged"
        )
    if "readonly" in lowered or "read-only" in lowered or "permission" in lowered:
        return StoreError(f"the store cannot be written (read-only): {message}", "readonly")
    if "unable to open" in lowered:
        return StoreError(f"the store cannot be opened: {message}", "permission")
    if "disk i/o error" in lowered:
        return StoreError(f"the disk holding the store failed to read or write: {message}", "io")
    if invalidated:
        return StoreError(f"the connection to the store was lost: {message}", "lost")
    if kind == "OperationalError" and ("connect" in lowered or "server" in lowered):
        return StoreError(f"the store server cannot be reached: {message}", "lost")
    return None


@contextmanager
def _translate_errors(directory: Path | None = None) -> Iterator[None]:
    """Turn the environment's failures into StoreError with a message a person can act on."""
    try:
        yield
    except Exception as exc:
        fault = store_fault(exc, directory)
        if fault is None or fault is exc:
            raise
        raise fault from exc
