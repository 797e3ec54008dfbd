"""Opening the hub database: one engine per URL, migrations, and the faults of the environment.

PostgreSQL (``postgresql+psycopg://…``) is the hub's store; SQLite (``sqlite:///hub.db``) is
accepted with the same code for the demo and a small MPP. On SQLite every transaction starts
with ``BEGIN IMMEDIATE`` so that two pushes never both read the same ``acked`` and then race to
write: writers queue (busy timeout) instead of failing at commit.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "hub_alembic_version"


class HubDatabaseError(Exception):
    """The database URL is wrong or the database cannot be used (an environment fault).

    The message never holds the password of the URL nor a statement's parameters.
    """

    def __init__(self, message: str, *, invalid: bool = False):
        super().__init__(message)
        self.invalid = invalid


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as "(invalid)"
        return "(invalid URL)"


def create_hub_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise HubDatabaseError(f"not a database URL: {safe_url(url)}", invalid=True) from None
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise HubDatabaseError(
            f"the hub stores in PostgreSQL or SQLite, not {backend!r}", invalid=True
        )
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver the hub ships
        elif parsed.get_driver_name() != "psycopg":
            raise HubDatabaseError(
                "the hub talks to PostgreSQL with psycopg 3: use postgresql+psycopg://…",
                invalid=True,
            )
    try:
        if backend == "sqlite":
            engine = create_engine(
                parsed, connect_args={"timeout": 30, "check_same_thread": False}
            )
            _sqlite_immediate(engine)
        else:
            engine = create_engine(
                parsed,
                pool_size=20,
                max_overflow=20,
                # No pre-ping: a round trip per checkout on the hot path; a connection lost
                # to a database restart fails one request (503) and the desk retries.
                pool_recycle=1800,
                connect_args={"connect_timeout": 5},
            )
            _pg_push_stage(engine)
    except (NoSuchModuleError, ArgumentError, ImportError):
        raise HubDatabaseError(
            f"no driver for the database URL {safe_url(url)}", invalid=True
        ) from None
    return engine


def _pg_push_stage(engine: Engine) -> None:
    """Each PostgreSQL connection gets the push's staging table once, when it opens, so a
    push does not spend a round trip asking for it (see ``store._copy_records``)."""
    from mppdesk.hub.store import STAGE_CREATE

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        with dbapi_connection.cursor() as cursor:
            cursor.execute(STAGE_CREATE)
        dbapi_connection.commit()


def _sqlite_immediate(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)
    return ScriptDirectory.from_config(config).get_current_head() or ""


def upgrade(engine: Engine) -> str:
    """Create or upgrade the hub schema to the newest revision (repeatable)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    return head_revision()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        row = connection.exec_driver_sql("SELECT version_num FROM hub_alembic_version").first()
        return row[0] if row else None


def check_schema(engine: Engine) -> None:
    """Refuse a database the hub has not initialized, or one from a newer hub."""
    current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise HubDatabaseError("the hub database is not initialized: run `mppdesk hub init`")
    if current != head:
        raise HubDatabaseError(
            f"the hub database is at revision {current}, this hub expects {head}: "
            "run `mppdesk hub init` (or use the newer hub)"
        )
