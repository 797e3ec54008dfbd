"""Fixtures for sync over real HTTP: the reference agency server on a free loopback port,
in a thread (fast, one per test) or as its own process (the real command), and a builder of
valid submission bodies."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from mppdesk.core.canonical import canonical_json
from mppdesk.sync.sim import AgencySim, SimConfig

START_TIMEOUT_S = 30.0


class SimHandle:
    """A running agency sim (in a thread or a process) and its admin endpoints."""

    def __init__(
        self,
        url: str,
        *,
        sim: AgencySim | None = None,
        process: subprocess.Popen[str] | None = None,
        db_path: Path | None = None,
    ) -> None:
        self.url = url
        self.sim = sim
        self.process = process
        self.db_path = db_path
        self._admin = requests.Session()
        self.stopped = False

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def agency_url(self, agency: str) -> str:
        return f"{self.url}/{agency}"

    def _admin_call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        response = self._admin.request(method, self.url + path, json=json, timeout=(2, 10))
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def stats(self, agency: str | None = None) -> dict[str, Any]:
        stats = self._admin_call("GET", "/_admin/stats")
        if agency is None:
            return stats
        return stats["agencies"].get(
            agency,
            {"submissions": 0, "attachments": 0, "duplicates_refused": 0, "in_progress": 0},
        )

    def set_faults(self, spec: str, seed: int | None = None) -> dict[str, Any]:
        return self._admin_call("POST", "/_admin/faults", {"spec": spec, "seed": seed})

    def advance(self, agency: str | None, submission_id: str | None = None) -> dict[str, Any]:
        return self._admin_call(
            "POST", "/_admin/advance", {"agency": agency, "submission_id": submission_id}
        )

    def submissions(self, agency: str) -> list[dict[str, Any]]:
        return self._admin_call("GET", f"/_admin/submissions?agency={agency}")["submissions"]

    def wait_until(
        self, condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Poll ``condition`` (cheap admin reads) until it holds; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.005)

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        self._admin.close()
        if self.sim is not None:
            self.sim.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                raise


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def mounted_tmpfs(point: Path, size: str) -> Iterator[Path]:
    """A real small file system at ``point`` (tmpfs of ``size``, e.g. "300k"), to fill up.

    Needs root and mount(8); the calling test skips with the reason where either is missing.
    """
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs root and mount(8) for a tmpfs")
    point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=True)


@pytest.fixture
def start_agency_sim(tmp_path: Path) -> Iterator[Callable[..., SimHandle]]:
    """Start an in-thread sim on a free port: ``start_agency_sim(faults=..., tokens=...)``
    takes SimConfig's fields; the store is a file in tmp_path unless ``db_path`` is given.

    The sim logs an error only for a bug (a 500 it did not mean to give): any such record
    fails the test that caused it.
    """
    handles: list[SimHandle] = []
    errors = _ErrorRecords()
    sim_logger = logging.getLogger("mppdesk.sync.sim")
    sim_logger.addHandler(errors)

    def start(**config: Any) -> SimHandle:
        config.setdefault("db_path", str(tmp_path / f"sim-{len(handles)}.sqlite3"))
        sim = AgencySim(SimConfig(host="127.0.0.1", port=0, **config)).start()
        handle = SimHandle(sim.url, sim=sim, db_path=Path(config["db_path"]))
        handles.append(handle)
        return handle

    try:
        yield start
        for handle in handles:
            handle.stop()
    finally:
        sim_logger.removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == [], "the agency sim logged a bug"


@pytest.fixture
def agency_sim(start_agency_sim: Callable[..., SimHandle]) -> SimHandle:
    return start_agency_sim()


def read_listening_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The sim's first stdout line, without blocking past ``timeout``."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            raise AssertionError(f"agency-sim printed nothing within {timeout} s")
    return process.stdout.readline().strip()


@pytest.fixture
def start_agency_sim_process(tmp_path: Path) -> Iterator[Callable[..., SimHandle]]:
    """Start ``python -m mppdesk agency-sim --port 0 --db FILE ARGS...`` and read its port."""
    handles: list[SimHandle] = []

    def start(*args: str, db_path: Path | None = None) -> SimHandle:
        db = db_path or tmp_path / f"sim-process-{len(handles)}.sqlite3"
        command = [sys.executable, "-m", "mppdesk", "agency-sim", "--port", "0", "--db", str(db)]
        process = subprocess.Popen(
            [*command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            line = read_listening_line(process, START_TIMEOUT_S)
        except BaseException:
            process.kill()
            process.wait(10)
            raise
        if not line.startswith("listening on http://"):
            process.kill()
            _, stderr = process.communicate(timeout=10)
            raise AssertionError(f"unexpected first line {line!r}; stderr: {stderr}")
        handle = SimHandle(line.removeprefix("listening on "), process=process, db_path=db)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()
        if handle.process is not None:
            for stream in (handle.process.stdout, handle.process.stderr):
                if stream is not None:
                    stream.close()


@dataclass
class SubmissionDraft:
    """A valid POST body for the sim, with its attachments' bytes."""

    submission_id: str
    agency: str
    document: dict[str, Any]
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # name → (data, type)

    @property
    def body(self) -> bytes:
        return canonical_json(self.document)

    def sha256(self, name: str) -> str:
        return hashlib.sha256(self.files[name][0]).hexdigest()


@pytest.fixture
def make_submission() -> Callable[..., SubmissionDraft]:
    """``make_submission("dukcapil", files={"scan-kk.pdf": b"..."}, answers={...})``."""

    def make(
        agency: str = "dukcapil",
        *,
        files: dict[str, bytes] | None = None,
        submission_id: str | None = None,
        **overrides: Any,
    ) -> SubmissionDraft:
        sid = submission_id or str(uuid.uuid4())
        attached = {name: (data, "application/pdf") for name, data in (files or {}).items()}
        document: dict[str, Any] = {
            "submission_id": sid,
            "tracking_number": f"MPP-{sid[:8].upper()}",
            "agency": agency,
            "service": f"{agency}/layanan-uji",
            "form_version": "sha256:" + hashlib.sha256(agency.encode()).hexdigest(),
            "finalized_at": "2026-11-28T09:15:02+07:00",
            "mpp": "mpp-jakarta-selatan",
            "desk": "loket-03",
            "officer": "ani",
            "applicant": {"nik": "3171014101900001", "nama": "Siti Aminah"},
            "proxy": None,
            "supersedes": None,
            "answers": {"alasan": "baru"},
            "checklist": [{"id": "fc-kk", "state": "copy"}],
            "attachments": [
                {
                    "name": name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "content_type": content_type,
                }
                for name, (data, content_type) in sorted(attached.items())
            ],
        }
        document.update(overrides)
        return SubmissionDraft(sid, agency, document, attached)

    return make
