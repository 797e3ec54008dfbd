"""Fixtures shared by every test: real data dirs, real stores, real processes.

The suite runs on two pytest-xdist workers (pyproject's addopts). A test stays safe beside
the other worker when it:
- writes only under ``tmp_path`` / ``tmp_path_factory``, never a fixed path or the home folder;
- starts servers on port 0 and reads the port back (``free_port()`` only for "down now, back
  on the same port");
- reaches PostgreSQL only through ``fresh_pg_database()`` or ``pg_module_url``;
- puts machine-wide things (CUPS queues, system services) behind
  ``pytestmark = pytest.mark.xdist_group("<name>")`` with names unique per process;
- times only what the other worker cannot skew (its own threads, best of N, or bounds that
  still separate the two outcomes);
- passes with ``-n 0`` as well.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# pytester runs the probe tests that prove noise fails a test (tests/ui/test_noise.py).
pytest_plugins = ("pytester",)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One desk key for the whole run, never the developer's own (child processes inherit it).
os.environ["MPPDESK_KEY_FILE"] = os.path.join(tempfile.mkdtemp(prefix="mppdesk-key-"), "desk.key")
RUN_KEY_FILE = os.environ["MPPDESK_KEY_FILE"]

PASSWORD = "rahasia-petugas-1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep a module together on one pytest-xdist worker when its tests share a fixture of
    module (or class/package) scope: that fixture (a hub server, a mall of desks, a database)
    is then built once, not once in each worker. Other tests are dealt out one by one
    (``--dist loadgroup`` in pyproject.toml); a module that must not run beside itself in
    another worker says so with ``pytestmark = pytest.mark.xdist_group("name")``."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        defs = getattr(item, "_fixtureinfo", None)
        defs = defs.name2fixturedefs if defs is not None else {}
        if any(d and d[-1].scope in ("module", "class", "package") for d in defs.values()):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data dir holding a migrated store keyed with this run's desk key, made once per
    session (per worker under xdist), and the key file it was made with.

    Migrating a new store and writing its key check cost most of a store test's set-up;
    copying this one costs a file copy. ``mppdesk init`` and the CLI still build stores
    from nothing in the tests that are about that.
    """
    from mppdesk.desk.runtime import open_runtime

    path = tmp_path_factory.mktemp("store-template") / "data"
    path.mkdir()
    test_key = os.environ.get("MPPDESK_KEY_FILE")  # a test may have set its own key by now
    os.environ["MPPDESK_KEY_FILE"] = RUN_KEY_FILE
    try:
        open_runtime(path).close()  # closing the last connection folds the WAL into the file
    finally:
        os.environ["MPPDESK_KEY_FILE"] = test_key or RUN_KEY_FILE
    return path, RUN_KEY_FILE


def copy_store_template(template: tuple[Path, str], data_dir: Path) -> bool:
    """Put the template's store into ``data_dir`` if it is as a fresh install finds it
    (empty) and the desk key is still the one the template was made with."""
    source, key_file = template
    if os.environ.get("MPPDESK_KEY_FILE") != key_file or any(data_dir.iterdir()):
        return False
    for item in source.iterdir():
        shutil.copy2(item, data_dir / item.name)  # modes too: the store stays 600
    return True


@pytest.fixture
def runtime(data_dir: Path, store_template: tuple[Path, str]):
    """The desk's runtime on ``data_dir``: a copy of the migrated store template when the
    dir is empty, else whatever the test put there opened (and migrated) as the app would."""
    from mppdesk.desk.runtime import open_runtime

    copy_store_template(store_template, data_dir)
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


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "mppdesk_test"):
    """A fresh PostgreSQL database, dropped afterwards (CI starts the server: .ci/postgres.sh).

    The one helper behind every PostgreSQL test (the hub's store and benchmarks' tests)."""
    import uuid

    import sqlalchemy

    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"{PG_ENV} is not set (CI sets it; run .ci/postgres.sh locally)")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="module")
def pg_module_url(request):
    """A fresh PostgreSQL database shared by the tests of one module."""
    with fresh_pg_database(f"mppdesk_{request.module.__name__.rsplit('.', 1)[-1][:20]}") as url:
        yield url
