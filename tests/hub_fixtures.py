"""A real mall hub for a test: its own SQLite file and key in ``tmp_path``, served on loopback
(``mppdesk.hub.server.serve_in_thread``), that a test can stop and start again on the same
port to play the hub going away and coming back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from mppdesk.hub.server import init_hub, serve_in_thread
from tests.conftest import PASSWORD

# Cheap hashes: the hub's accounts in a test need no brute-force resistance.
HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)


class Hub:
    """A hub serving on loopback that can stop and start again on the same port: on a SQLite
    file under ``tmp_path``, or on ``db_url`` (a fresh PostgreSQL database)."""

    def __init__(self, tmp_path: Path, db_url: str | None = None) -> None:
        self.db_url = db_url or f"sqlite:///{tmp_path / 'hub.sqlite'}"
        self.key_file = tmp_path / "hub.key"
        init_hub(self.db_url, key_file=self.key_file)
        self.handle = serve_in_thread(self.db_url, key_file=self.key_file)
        self.url = self.handle.url
        self.running = True

    @property
    def store(self):
        return self.handle.store

    def stop(self) -> None:
        if self.running:
            self.handle.stop()
            self.running = False

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self.handle = serve_in_thread(self.db_url, key_file=self.key_file, port=port)
        self.running = True


def add_counter_staff(hub: Hub) -> None:
    """The mall's officer ``ani`` and supervisor ``sari`` at the hub (password PASSWORD)."""
    hub.store.add_user("ani", "officer", HASHER.hash(PASSWORD), "Ani")
    hub.store.add_user("sari", "supervisor", HASHER.hash(PASSWORD), "Sari")


@contextmanager
def hub_on_backend(
    request: pytest.FixtureRequest, key_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A hub served on the backend a parametrized fixture names (``request.param``):
    "postgresql", the module's fresh database (``pg_module_url``), or "sqlite", a file; the
    handle's ``db_url`` says which database, for a test that opens it again."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_module_url")
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("hubdb") / "hub.db")
    init_hub(url, key_file=key_file)
    handle = serve_in_thread(url, key_file=key_file)
    handle.db_url = url
    try:
        yield handle
    finally:
        handle.stop()


def join(runtime, hub: Hub, code: str = "K01", **hub_settings) -> None:
    """``mppdesk hub join`` for the test's desk, with faster hub timings when asked."""
    from dataclasses import replace

    from mppdesk.desk import hub as desk_hub
    from mppdesk.settings import load_settings

    desk_hub.join(runtime.data_dir, hub.url, code, hub.store.add_desk(code))
    settings = load_settings(runtime.data_dir)
    runtime.settings = replace(settings, hub=replace(settings.hub, **hub_settings))
