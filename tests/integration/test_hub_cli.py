"""``mppdesk hub …`` as a real process: exact JSON shapes, serve's first line and SIGTERM,
refusals, faults of the environment, and no personal data in the hub's log."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from mppdesk.core.audit_chain import GENESIS, event_hash
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
PG_ENV = "MPPDESK_TEST_PG_URL"
NIK = "3275014402910003"
NAME = "RATNA KUSUMAWARDHANI"
PHONE = "085733221100"


@pytest.fixture(scope="module")
def key_env(tmp_path_factory) -> dict:
    return {"MPPDESK_HUB_KEY_FILE": str(tmp_path_factory.mktemp("hubkey") / "hub.key")}


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def db(request, key_env, tmp_path_factory) -> str:
    """An initialized hub database (by the real command) for the module."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_module_url")
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("hubdb") / "hub.db")
    result = run_cli("hub", "init", "--db", url, env=key_env)
    assert result.returncode == 0, result.stderr
    return url


@pytest.fixture(scope="module")
def pg_db(pg_module_url, key_env) -> str:
    """The PostgreSQL hub alone: command shapes do not depend on the backend, and every
    command is a process start (seconds on a loaded CI machine)."""
    result = run_cli("hub", "init", "--db", pg_module_url, env=key_env)
    assert result.returncode == 0, result.stderr
    return pg_module_url


def hub(*args: str, db: str, env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_cli("hub", *args, "--db", db, stdin=stdin, env=env)


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


class Served:
    """``mppdesk hub serve`` as a child process on a free loopback port."""

    def __init__(self, db: str, env: dict, *extra: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mppdesk", "hub", "serve", "--db", db, "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, **env),
        )
        self.first_line = self.process.stdout.readline().strip()
        self.url = self.first_line.removeprefix("listening on ")

    def stop(self) -> tuple[int, str, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


def audit_body(prev: str, n: int, details: dict) -> dict:
    at = dt.datetime(2026, 12, 2, 9, 0, n, tzinfo=dt.UTC)
    digest = event_hash(prev, at, "ani", "visit.finalized", "visit", str(n), details)
    return {"at": at.isoformat(timespec="microseconds"), "actor": "ani",
            "action": "visit.finalized", "object_type": "visit", "object_id": str(n),
            "details": details, "prev_hash": prev, "hash": digest}  # fmt: skip


def test_init_is_repeatable_and_the_key_file_is_private(db, key_env):
    again = run_cli("hub", "init", "--db", db, env=key_env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("hub schema at revision ")
    mode = stat.S_IMODE(os.stat(key_env["MPPDESK_HUB_KEY_FILE"]).st_mode)
    assert mode == 0o600


def test_serve_announces_its_port_serves_and_stops_cleanly_on_sigterm(db, key_env):
    served = Served(db, key_env)
    try:
        assert served.first_line.startswith("listening on http://127.0.0.1:")
        port = int(served.url.rsplit(":", 1)[1])
        assert port > 0
        answer = requests.get(served.url + "/v1/health", timeout=5)
        assert answer.json() == {"ok": True, "contract": 1}
    finally:
        code, out, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err and out == ""


def _children(pid: int, marker: str) -> list[int]:
    """The processes whose parent is ``pid`` and whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        if ppid == pid and marker in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow  # three interpreters start (workers are spawned, not forked)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_serve_with_workers_shares_one_port_and_stops_every_worker(pg_db, key_env):
    bad = hub("serve", "--port", "0", "--workers", "0", db=pg_db, env=key_env)
    assert bad.returncode == 2 and "--workers" in bad.stderr
    no_traceback(bad)
    code = "W" + uuid.uuid4().hex[:4].upper()
    token = json.loads(hub("desk", "add", code, "--json", db=pg_db, env=key_env).stdout)["token"]
    served = Served(pg_db, key_env, "--workers", "2")
    workers: list[int] = []
    try:
        assert served.first_line.startswith("listening on http://127.0.0.1:")
        workers = _children(served.process.pid, "spawn_main")
        assert len(workers) == 2  # announced only once both accept
        headers = {"Authorization": f"Bearer {token}", "X-MPP-Desk": code}
        for n in range(1, 7):  # a fresh connection each: the kernel hands them to either
            records = [{"seq": n, "kind": "visit", "id": f"v{n}", "body": {"local_date": "2026-12-02"}}]
            answer = requests.post(served.url + "/v1/push", json={"desk": code, "records": records},
                                   headers=headers, timeout=10)  # fmt: skip
            assert answer.json() == {"acked": n}, answer.text
    finally:
        exit_code, out, err = served.stop()
    assert exit_code == 0, err
    assert "Traceback" not in err and out == ""
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    stats = json.loads(hub("stats", "--json", db=pg_db, env=key_env).stdout)
    assert stats["desks"][code]["visits"] == 6


def test_serve_refuses_plain_http_off_loopback(pg_db, key_env):
    result = hub("serve", "--host", "0.0.0.0", "--port", "0", db=pg_db, env=key_env)
    assert result.returncode == 2
    assert "loopback" in result.stderr and "--cert" in result.stderr
    no_traceback(result)
    half = hub("serve", "--port", "0", "--cert", "x.pem", db=pg_db, env=key_env)
    assert half.returncode == 2 and "--key" in half.stderr
    missing = hub("serve", "--port", "0", "--cert", "/nonexistent/c.pem", "--key",
                  "/nonexistent/k.pem", db=pg_db, env=key_env)  # fmt: skip
    assert missing.returncode == 2 and "certificate" in missing.stderr
    no_traceback(missing)


@pytest.mark.slow  # a handful of process starts: over 10 s on a loaded machine
def test_desk_add_list_revoke_and_the_chain_error_shown(pg_db, key_env):
    code = "K" + uuid.uuid4().hex[:4].upper()
    added = hub("desk", "add", code.lower(), "--json", db=pg_db, env=key_env)
    assert added.returncode == 0, added.stderr
    enrolled = json.loads(added.stdout)
    assert set(enrolled) == {"desk", "token"} and enrolled["desk"] == code
    assert len(enrolled["token"]) >= 40
    served = Served(pg_db, key_env)
    try:
        headers = {"Authorization": f"Bearer {enrolled['token']}", "X-MPP-Desk": code,
                   "X-MPP-Journal-Head": "5"}  # fmt: skip
        first = audit_body(GENESIS, 1, {})
        records = [{"seq": 1, "kind": "audit", "id": "1", "body": first},
                   {"seq": 2, "kind": "visit", "id": "v1", "body": {"local_date": "2026-12-02"}}]  # fmt: skip
        push = requests.post(served.url + "/v1/push", json={"desk": code, "records": records},
                             headers=headers, timeout=10)  # fmt: skip
        assert push.json() == {"acked": 2}
        assert requests.get(served.url + "/v1/pull", headers=headers, timeout=10).ok
        broken = dict(audit_body(first["hash"], 2, {}), hash="f" * 64)
        refused = requests.post(
            served.url + "/v1/push",
            json={"desk": code, "records": [{"seq": 3, "kind": "audit", "id": "2", "body": broken}]},
            headers=headers,
            timeout=10,
        )
        assert refused.status_code == 409
        listed = hub("desk", "list", "--json", db=pg_db, env=key_env)
        assert listed.returncode == 0, listed.stderr
        [desk] = [d for d in json.loads(listed.stdout)["desks"] if d["desk"] == code]
        assert desk["acked"] == 2 and desk["pending"] == 3 and desk["revoked"] is False
        assert desk["last_seen"] is not None
        assert desk["chain_error"]["seq"] == 3
        text = hub("desk", "list", db=pg_db, env=key_env)
        assert "CHAIN BROKEN at seq 3" in text.stdout
        revoked = hub("desk", "revoke", code, db=pg_db, env=key_env)
        assert revoked.returncode == 0, revoked.stderr
        after = requests.get(served.url + "/v1/pull", headers=headers, timeout=10)
        assert after.status_code == 401 and after.json()["error"]["code"] == "revoked"
        assert hub("desk", "revoke", "NOPE", db=pg_db, env=key_env).returncode == 2
    finally:
        served.stop()


@pytest.mark.slow  # a handful of process starts: over 10 s on a loaded machine
def test_user_add_and_disable_reach_the_pull(pg_db, key_env):
    name = "ani" + uuid.uuid4().hex[:6]
    added = hub("user", "add", name, "--role", "officer", "--password-stdin", db=pg_db, env=key_env,
                stdin="rahasia-petugas-1\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "rahasia" not in added.stdout + added.stderr
    assert hub("user", "disable", name, db=pg_db, env=key_env).returncode == 0
    assert hub("user", "disable", "nobody-" + name, db=pg_db, env=key_env).returncode == 2
    empty = hub("user", "add", name, "--role", "officer", "--password-stdin", db=pg_db, env=key_env,
                stdin="\n")  # fmt: skip
    assert empty.returncode == 2
    token = json.loads(hub("desk", "add", "P" + name[-4:], "--json", db=pg_db, env=key_env).stdout)
    served = Served(pg_db, key_env)
    try:
        headers = {"Authorization": f"Bearer {token['token']}", "X-MPP-Desk": token["desk"]}
        items = requests.get(served.url + "/v1/pull", headers=headers, timeout=10).json()["items"]
    finally:
        served.stop()
    mine = [i["body"] for i in items if i["kind"] == "user" and i["body"]["username"] == name]
    assert [u["disabled"] for u in mine] == [False, True]
    from argon2 import PasswordHasher

    assert PasswordHasher().verify(mine[0]["password_hash"], "rahasia-petugas-1")
    assert "$m=19456,t=2,p=1$" in mine[0]["password_hash"]


def test_catalog_publish_refuses_a_broken_folder_with_the_checks_messages(pg_db, key_env, tmp_path):
    broken = tmp_path / "broken"
    (broken / "services" / "dukcapil").mkdir(parents=True)
    (broken / "services" / "dukcapil" / "x.yaml").write_text(
        "code: dukcapil/x\nagency: nowhere\n", encoding="utf-8"
    )
    refused = hub("catalog", "publish", str(broken), db=pg_db, env=key_env)
    assert refused.returncode == 2
    assert "x.yaml" in refused.stderr and "nothing published" in refused.stderr
    no_traceback(refused)
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(ROOT / "resources" / "catalog" / "agencies.yaml", good / "agencies.yaml")
    published = hub("catalog", "publish", str(good), db=pg_db, env=key_env)
    assert published.returncode == 0, published.stderr
    assert "sha256" in published.stdout


def test_agency_settings_and_holidays_are_published_for_the_pull(pg_db, key_env):
    from mppdesk.hub.server import open_store
    from mppdesk.hub.store import Desk

    store = open_store(pg_db, key_file=Path(key_env["MPPDESK_HUB_KEY_FILE"]))
    try:
        code = "A" + uuid.uuid4().hex[:4].upper()
        store.add_desk(code)
        start = store.pull(Desk(code), 0)["cursor"]
        agency = hub("agency", "set", "bpjs", "--base-url", "https://bpjs.example/api",
                     "--read-timeout-s", "20", db=pg_db, env=key_env)  # fmt: skip
        assert agency.returncode == 0, agency.stderr
        days = hub("holidays", "set", "2030", "2030-01-01", "2030-05-01", db=pg_db, env=key_env)
        assert days.returncode == 0, days.stderr
        wrong = hub("holidays", "set", "2030", "2031-01-01", db=pg_db, env=key_env)
        assert wrong.returncode == 2 and "2030" in wrong.stderr
        secret = hub("agency", "set", "bpjs", "--base-url", "https://u:tok@bpjs.example",
                     db=pg_db, env=key_env)  # fmt: skip
        assert secret.returncode == 2
        items = store.pull(Desk(code), start)["items"]
    finally:
        store.engine.dispose()
    assert items == [
        {"kind": "agency", "body": {"agency": "bpjs", "base_url": "https://bpjs.example/api",
                                    "connect_timeout_s": 3.0, "read_timeout_s": 20.0}},
        {"kind": "holidays", "body": {"year": 2030, "dates": ["2030-01-01", "2030-05-01"]}},
    ]  # fmt: skip


def test_stats_has_the_exact_shape_and_counts_duplicates(db, key_env):
    code = "S" + uuid.uuid4().hex[:4].upper()
    token = json.loads(hub("desk", "add", code, "--json", db=db, env=key_env).stdout)["token"]
    served = Served(db, key_env)
    try:
        headers = {"Authorization": f"Bearer {token}", "X-MPP-Desk": code}
        records = [
            {"seq": 1, "kind": "visit", "id": "v1", "body": {"local_date": "2026-12-02"}},
            {"seq": 2, "kind": "submission", "id": str(uuid.uuid4()),
             "body": {"tracking_number": "T-" + code, "status": "queued"}},
            {"seq": 3, "kind": "applicant", "id": str(uuid.uuid4()),
             "body": {"id_kind": "nik", "id_number": "3171" + uuid.uuid4().hex[:12], "name": "A"}},
        ]  # fmt: skip
        for _ in range(2):  # the second push is a retry: stored once
            answer = requests.post(served.url + "/v1/push", json={"desk": code, "records": records},
                                   headers=headers, timeout=10)  # fmt: skip
            assert answer.json() == {"acked": 3}
    finally:
        served.stop()
    result = hub("stats", "--json", db=db, env=key_env)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert set(stats) == {"desks", "totals", "duplicates"}
    assert set(stats["totals"]) == {"visits", "submissions", "applicants"}
    entry = stats["desks"][code]
    assert set(entry) == {"visits", "submissions", "applicants", "last_seen"}
    assert (entry["visits"], entry["submissions"], entry["applicants"]) == (1, 1, 1)
    assert dt.datetime.fromisoformat(entry["last_seen"])
    assert stats["totals"]["visits"] == sum(d["visits"] for d in stats["desks"].values())
    assert stats["duplicates"] == 0


def test_environment_faults_are_one_line_and_an_exit_code(tmp_path, key_env):
    down = run_cli("hub", "stats", "--json", "--db",
                   "postgresql+psycopg://hub:s3cret-pw@127.0.0.1:1/hub", env=key_env)  # fmt: skip
    assert down.returncode == 1
    assert "cannot use the database" in down.stderr and "s3cret-pw" not in down.stderr
    no_traceback(down)
    bad_url = run_cli("hub", "init", "--db", "not a url", env=key_env)
    assert bad_url.returncode == 2 and "URL" in bad_url.stderr
    no_traceback(bad_url)
    url = "sqlite:///" + str(tmp_path / "hub.db")
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"\xff\xfe not a key")
    for key_file in (garbage, tmp_path, tmp_path / "missing.key"):
        result = run_cli("hub", "desk", "list", "--db", url,
                         env={"MPPDESK_HUB_KEY_FILE": str(key_file)})  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "hub key" in result.stderr
        no_traceback(result)
    not_initialized = run_cli("hub", "desk", "list", "--db", url, env=key_env)
    assert not_initialized.returncode == 1 and "hub init" in not_initialized.stderr
    no_db = run_cli("hub", "stats", env=dict(key_env, MPPDESK_HUB_DB=""))
    assert no_db.returncode == 2 and "--db" in no_db.stderr


def test_the_hub_log_holds_no_nik_name_or_phone(pg_db, key_env):
    code = "L" + uuid.uuid4().hex[:4].upper()
    token = json.loads(hub("desk", "add", code, "--json", db=pg_db, env=key_env).stdout)["token"]
    served = Served(pg_db, key_env)
    try:
        headers = {"Authorization": f"Bearer {token}", "X-MPP-Desk": code, "X-MPP-Officer": "ani"}
        person = {"id_kind": "nik", "id_number": NIK, "name": NAME, "profile": {"telepon": PHONE}}
        records = [{"seq": 1, "kind": "applicant", "id": "a1", "body": person}]
        ok = requests.post(served.url + "/v1/push", json={"desk": code, "records": records},
                           headers=headers, timeout=10)  # fmt: skip
        assert ok.status_code == 200
        # Refusals that carry the personal data in what they refuse.
        bad = [{"seq": 2, "kind": NAME, "id": NIK, "body": person}]
        assert requests.post(served.url + "/v1/push", json={"desk": code, "records": bad},
                             headers=headers, timeout=10).status_code == 400  # fmt: skip
        gap = [{"seq": 9, "kind": "applicant", "id": NIK, "body": person}]
        assert requests.post(served.url + "/v1/push", json={"desk": code, "records": gap},
                             headers=headers, timeout=10).status_code == 409  # fmt: skip
        found = requests.post(served.url + "/v1/applicants/lookup",
                              json={"id_kind": "nik", "id_number": NIK}, headers=headers,
                              timeout=10).json()  # fmt: skip
        assert found["applicant"]["name"] == NAME
        assert requests.post(served.url + "/v1/applicants/lookup", data=NIK + NAME,
                             headers=headers, timeout=10).status_code == 400  # fmt: skip
    finally:
        code_, out, err = served.stop()
    assert code_ == 0
    assert "/v1/push" in err and "/v1/applicants/lookup" in err  # the log did record the calls
    for secret in (NIK, NAME, PHONE):
        assert secret not in out + err
