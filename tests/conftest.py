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
