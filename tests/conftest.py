"""Fixtures shared by every test: real data dirs, real stores, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One desk key for the whole run, never the developer's own (child processes inherit it).
os.environ["MPPDESK_KEY_FILE"] = os.path.join(tempfile.mkdtemp(prefix="mppdesk-key-"), "desk.key")

PASSWORD = "rahasia-petugas-1"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def runtime(data_dir: Path):
    from mppdesk.desk.runtime import open_runtime

    rt = open_runtime(data_dir)
    yield rt
    rt.close()


def make_user(runtime, username: str, role: str, password: str = PASSWORD):
    from mppdesk.desk.auth import add_user, login, os_actor

    add_user(runtime, os_actor(), username, role, password, username.title())
    return login(runtime, username, password)


@pytest.fixture
def officer(runtime):
    return make_user(runtime, "ani", "officer")


@pytest.fixture
def supervisor(runtime):
    return make_user(runtime, "sari", "supervisor")


def run_cli(*args: str, stdin: str | None = None, data_dir: Path | None = None,
            env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real ``mppdesk`` command in a child process."""
    command = [sys.executable, "-m", "mppdesk", *args]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(command, input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=full_env, check=False)


def cli_json(result: subprocess.CompletedProcess):
    assert result.stdout.strip(), f"no output; stderr: {result.stderr}"
    return json.loads(result.stdout)


PG_ENV = "MPPDESK_TEST_PG_URL"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test (CI starts the server: .ci/postgres.sh)."""
    import uuid

    import sqlalchemy

    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"{PG_ENV} is not set (CI sets it; run .ci/postgres.sh locally)")
    name = f"mppdesk_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
