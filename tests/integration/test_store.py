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


def test_applicant_profile_merges_and_records_changes(store):
    with store.write() as session:
        applicant, changes = repo.save_applicant(
            session, new_id="a1", id_kind="nik", id_number="3174014506900001",
            profile={"nama": "Siti Aminah", "no_hp": "+6281234567890", "email": ""},
            officer="ani", visit_id="v1", now=NOW,
        )
        assert changes == []
    with store.write() as session:
        applicant, changes = repo.save_applicant(
            session, new_id="unused", id_kind="nik", id_number="3174014506900001",
            profile={"nama": "Siti Aminah", "no_hp": "+6281299990000", "alamat": "Jl. Tebet 1"},
            officer="budi", visit_id="v2", now=NOW,
        )
        assert applicant.id == "a1"
        assert sorted(c[0] for c in changes) == ["alamat", "no_hp"]
        # Typed once, kept: a field not typed this time keeps its stored value.
        assert applicant.profile["nama"] == "Siti Aminah"
    with store.read() as session:
        history = repo.applicant_changes(session, "a1")
        assert {(h.field, h.old_value["v"], h.officer) for h in history} == {
            ("no_hp", "+6281234567890", "budi"),
            ("alamat", None, "budi"),
        }


def test_name_search_by_any_word_prefix(store):
    with store.write() as session:
        for i, name in enumerate(["Siti Aminah", "Nur Siti Rahma", "Budi Santoso", "Sitompul"]):
            repo.save_applicant(session, new_id=f"a{i}", id_kind="nik", id_number=f"{i:016d}",
                                profile={"nama": name}, officer="ani", visit_id=None, now=NOW)
    with store.read() as session:
        names = [a.name for a in repo.search_applicants_by_name(session, "siti")]
        assert sorted(names) == ["Nur Siti Rahma", "Siti Aminah"]
        assert [a.name for a in repo.search_applicants_by_name(session, "sit rah")] == ["Nur Siti Rahma"]
        assert [a.name for a in repo.search_applicants_by_name(session, "SITO")] == ["Sitompul"]
        assert repo.search_applicants_by_name(session, "   ") == []


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
