"""The store on a real SQLite file: pragmas, migrations, guards, sequences, applicants, audit."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from mppdesk.core.audit_chain import verify_chain
from mppdesk.store import repo
from mppdesk.store.database import NewerSchemaError, Store, sqlite_url


@pytest.fixture
def store(tmp_path):
    s = Store(sqlite_url(tmp_path / "desk.sqlite"), tmp_path)
    s.migrate()
    yield s
    s.close()


NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def test_every_connection_has_wal_full_sync_and_foreign_keys(store):
    for _ in range(2):
        with store.read() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_are_enforced(store):
    from mppdesk.store.models import ApplicantNameToken

    with pytest.raises(Exception, match="FOREIGN KEY"):
        with store.write() as session:
            session.add(ApplicantNameToken(token="X", applicant_id="missing"))


def test_store_from_a_newer_version_is_refused(tmp_path, store):
    with store.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    again = Store(store.url, tmp_path)
    with pytest.raises(NewerSchemaError, match="newer MPP Desk"):
        again.migrate()
    again.close()


def test_backup_is_a_consistent_copy(tmp_path, store):
    with store.write() as session:
        repo.next_sequence(session, "x")
    target = store.backup(tmp_path / "copy.sqlite")
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT value FROM sequences WHERE name='x'").fetchone() == (1,)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copy.close()


def test_sequences_are_unique_under_concurrent_writers(store):
    taken: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            with store.write() as session:
                value = repo.next_sequence(session, "tracking:K01:261129")
            with lock:
                taken.append(value)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(1, 101))


def test_audit_chain_in_the_store_verifies_and_detects_tampering(store, tmp_path):
    with store.write() as session:
        for i in range(5):
            repo.append_audit(session, actor="ani", action="test", object_id=str(i), details={"i": i})
    with store.read() as session:
        assert verify_chain(repo.audit_events(session)) is None
        head_id, head = repo.audit_head(session)
        assert head_id == 5 and len(head) == 64
    raw = sqlite3.connect(tmp_path / "desk.sqlite")
    raw.execute("UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
    raw.commit()
    raw.close()
    with store.read() as session:
        broken = verify_chain(repo.audit_events(session))
    assert broken is not None and broken.event_id == 3


def test_migrations_match_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mppdesk.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
