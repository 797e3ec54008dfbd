"""Schema upgrades from an old store: data kept, a backup taken first, never half-migrated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.runtime import open_runtime
from mppdesk.store.database import MIGRATIONS_DIR, Store
from tests.conftest import make_user
from tests.integration.test_intake import example_visit

ROOT = Path(__file__).resolve().parents[2]
FIRST = "0001"


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def test_upgrade_from_the_first_schema_keeps_data_and_backs_up(data_dir):
    runtime = open_runtime(data_dir, migrate=False)
    runtime.store.migrate(FIRST)
    raw = runtime.store.raw_connection()
    raw.execute("INSERT INTO sequences (name, value) VALUES ('kept', 41)")
    raw.close()
    runtime.close()
    if head_revision() == FIRST:
        pytest.skip("only one schema version so far")
    upgraded = open_runtime(data_dir)
    try:
        assert upgraded.store.schema_version() == head_revision()
        raw = upgraded.store.raw_connection()
        assert raw.execute("SELECT value FROM sequences WHERE name='kept'").fetchone() == (41,)
        raw.close()
        backups = sorted((data_dir / "backups").glob(f"*-{FIRST}.sqlite"))
        assert len(backups) == 1
        copy = Store(f"sqlite:///{backups[0]}", data_dir, upgraded.store.key)
        assert copy.schema_version() == FIRST
        copy.close()
        actor = make_user(upgraded, "ani", "officer")
        finalize_visit(upgraded, actor, parse_visit(example_visit("dukcapil/ktp-el")))
    finally:
        upgraded.close()


# The child imports alembic before it says "start", so the kills spread over the migration
# itself (backup, table copies, index and trigger builds), not over module loading.
MIGRATE_CHILD = """
import sys
from pathlib import Path
import alembic.command, alembic.script  # noqa: E401
from mppdesk.store.database import Store
store = Store("sqlite:///" + sys.argv[1], Path(sys.argv[1]).parent, bytes.fromhex(sys.argv[2]))
print("start", flush=True)
store.migrate()
print("done", flush=True)
"""


def _schema(store: Store) -> list[tuple]:
    """Every table, index and trigger with its SQL: the schema exactly, not just its version."""
    raw = store.raw_connection()
    try:
        return raw.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
    finally:
        raw.close()


def _fill(store: Store, rows: int) -> None:
    """Enough submissions that building the new indexes takes a while to interrupt."""
    raw = store.raw_connection()
    raw.execute("BEGIN")
    raw.execute("INSERT INTO applicants (id, id_kind, id_number, name, name_key, profile,"
                " created_at, updated_at) VALUES ('p', 'nik', '1', 'A', 'A', '{}',"
                " '2026-11-29 00:00:00', '2026-11-29 00:00:00')")
    raw.execute("INSERT INTO visits (id, ticket, desk, officer, status, started_at, local_date,"
                " updated_at) VALUES ('v', 'A-1', 'K01', 'ani', 'finalized',"
                " '2026-11-29 00:00:00', '2026-11-29', '2026-11-29 00:00:00')")
    raw.executemany(
        "INSERT INTO submissions (id, visit_id, position, service, agency, tracking_number,"
        " form_version, status, review_state, applicant_id, answers, fee, sla_due, finalized_at,"
        " local_date, officer) VALUES (?, 'v', 0, 's', 'a', ?, 'f', 'queued', 'unreviewed', 'p',"
        " '{}', 0, '2026-12-01', ?, '2026-11-29', 'ani')",
        [(f"s{i}", f"T{i}", f"2026-11-29 0{i % 10}:00:00.{i:06d}") for i in range(rows)],
    )
    raw.execute("COMMIT")
    raw.close()


@pytest.mark.slow
def test_a_kill_during_migration_leaves_the_old_or_the_new_schema(tmp_path, data_dir):
    if head_revision() == FIRST:
        pytest.skip("only one schema version so far")
    runtime = open_runtime(data_dir, migrate=False)
    runtime.store.migrate(FIRST)
    key = runtime.store.key
    _fill(runtime.store, 60_000)
    runtime.close()
    template = (data_dir / "mppdesk.sqlite").read_bytes()
    rounds = max(5, int(20 * float(os.environ.get("MPPDESK_SLOW_SCALE", "1"))))
    seen = {FIRST: 0, head_revision(): 0}
    waiter = threading.Event()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    def fresh_copy() -> None:
        for suffix in ("", "-wal", "-shm"):
            (data_dir / f"mppdesk.sqlite{suffix}").unlink(missing_ok=True)
        (data_dir / "mppdesk.sqlite").write_bytes(template)

    def start_child() -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "-c", MIGRATE_CHILD,
                                  str(data_dir / "mppdesk.sqlite"), key.hex()],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert child.stdout.readline().strip() == "start", child.stderr.read()
        return child

    # How long a whole migration takes here, so the kills spread over all of it; the old and
    # the new schema, so a kill's result is compared with them whole.
    fresh_copy()
    with closing(Store(f"sqlite:///{data_dir / 'mppdesk.sqlite'}", data_dir, key)) as old:
        schemas = {FIRST: _schema(old)}
    fresh_copy()
    child = start_child()
    began = time.monotonic()
    assert child.stdout.readline().strip() == "done", child.stderr.read()
    duration = time.monotonic() - began
    child.wait()
    child.stdout.close()
    child.stderr.close()
    with closing(Store(f"sqlite:///{data_dir / 'mppdesk.sqlite'}", data_dir, key)) as new:
        schemas[head_revision()] = _schema(new)
    remigrated = False
    for i in range(rounds):
        fresh_copy()
        child = start_child()
        waiter.wait(duration * 1.2 * (i + 0.5) / rounds)
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
        store = Store(f"sqlite:///{data_dir / 'mppdesk.sqlite'}", data_dir, key)
        try:
            version = store.schema_version()
            assert version in seen, f"half-migrated schema: {version}"
            seen[version] += 1
            # Exactly the old or the new schema: no copied table, index or trigger left over.
            assert _schema(store) == schemas[version], f"round {i}: schema of {version} differs"
            raw = store.raw_connection()
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert raw.execute("SELECT count(*) FROM submissions").fetchone() == (60_000,)
            raw.close()
            if version == FIRST and not remigrated:
                # The old schema is the template's, so one re-run stands for every old one.
                assert store.migrate() == head_revision()
                assert _schema(store) == schemas[head_revision()]
                remigrated = True
        finally:
            store.close()
    print(f"\nmigration kills: {rounds} over {duration:.2f} s of migration; old schema after"
          f" the kill {seen[FIRST]}, new {seen[head_revision()]}")
