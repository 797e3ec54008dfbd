"""Every fault of the PC is a message and an exit code, never a traceback or a NIK (issue 10).

Each test runs the real ``mppdesk`` command in a child process on a desk holding real
visits (its own data dir and desk key in tmp_path), breaks one thing of the environment
(disk, store file, key file, settings, audit trail, arguments), and checks the exit code,
the message, that stderr holds no traceback and none of the applicants' NIKs, and that the
data is whole again once the fault is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.runtime import STORE_FILE, open_runtime
from tests.conftest import make_user, run_cli
from tests.example_visits import KTP, example_visit
from tests.integration.conftest import mounted_tmpfs

PASSWORD = "rahasia-petugas-1"
# The catalog example's NIK with other serials (same region and birth date, so valid).
NIKS = ["3578036801950021", "3578036801950022", "3578036801950023"]
NAMES = ["Kartika Sulistyowati Qz", "Ratnasari Hendrawan Qz", "Wulandari Prasetyo Qz"]


@dataclass
class Desk:
    data_dir: Path
    key_file: Path
    visits: int

    def cli(self, *args: str, stdin: str | None = None, env: dict | None = None):
        return run_cli(*args, stdin=stdin, data_dir=self.data_dir, env=env)

    def info(self) -> dict:
        result = self.cli("info", "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def assert_intact(self, audit: bool = False) -> None:
        """The data as it was before the fault: every visit there (and the audit chain whole)."""
        assert self.info()["counts"]["visits"] == self.visits
        if audit:
            verified = self.cli("audit", "verify", "--json")
            assert verified.returncode == 0, verified.stderr
            assert json.loads(verified.stdout)["ok"] is True


def assert_plain(
    result: subprocess.CompletedProcess, code: int, *needles: str, case: str = ""
) -> None:
    """Exit ``code``; every needle on stderr; no traceback, no NIK anywhere in the output."""
    output = result.stdout + result.stderr
    assert result.returncode == code, (case, result.returncode, result.stderr)
    assert "Traceback" not in output, (case, result.stderr)
    for nik in NIKS:
        assert nik not in output, case
    for name in NAMES:
        assert name not in output, case
    for needle in needles:
        assert needle in result.stderr, (case, needle, result.stderr)


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory) -> Path:
    """The desk below, built once per session (per pytest-xdist worker): ``keys/desk.key``
    and ``data`` with three visits of three applicants, the store closed. Each test breaks
    its own copy; building it (a new key, a migrated store, an account, three visits) is what
    cost a second a test."""
    root = tmp_path_factory.mktemp("faulty-desk")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MPPDESK_KEY_FILE", str(root / "keys" / "desk.key"))
        runtime = open_runtime(root / "data")
        try:
            officer = make_user(runtime, "ani", "officer", PASSWORD)
            for index, (nik, name) in enumerate(zip(NIKS, NAMES, strict=True)):
                visit = example_visit(KTP, ticket=f"A-{index + 1:03d}")
                visit["applicant"].update({"nik": nik, "nama": name})
                finalize_visit(runtime, officer, parse_visit(visit))
        finally:
            runtime.close()
    return root


@pytest.fixture
def desk(tmp_path, monkeypatch, desk_template) -> Desk:
    """A desk with three visits of three applicants, its own key file, the store closed: a
    copy of the template, modes and all."""
    for part in ("keys", "data"):
        shutil.copytree(desk_template / part, tmp_path / part)
    key_file = tmp_path / "keys" / "desk.key"
    monkeypatch.setenv("MPPDESK_KEY_FILE", str(key_file))
    monkeypatch.setenv("MPPDESK_LANG", "id")
    return Desk(tmp_path / "data", key_file, len(NIKS))


def visit_file(tmp_path: Path, nik: str = "3578036801950031", name: str = "Sekar Ayu Qz") -> Path:
    """A visit JSON with its attachments beside it (intake reads only the visit's folder)."""
    folder = tmp_path / "visit"
    folder.mkdir(exist_ok=True)
    visit = example_visit(KTP, ticket="B-001")
    visit["applicant"].update({"nik": nik, "nama": name})
    for service in visit["services"]:
        names = []
        for source in service["attachments"]:
            shutil.copyfile(source, folder / Path(source).name)
            names.append(Path(source).name)
        service["attachments"] = names
    path = folder / "visit.json"
    path.write_text(json.dumps(visit), encoding="utf-8")
    return path


# --- disk full ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MB file system (tmpfs) to fill."""
    with mounted_tmpfs(tmp_path / "disk", "8m") as point:
        yield point


def fill(point: Path, leave: int = 0) -> Path:
    """Fill the file system at ``point`` up to ``leave`` bytes free (0: completely)."""
    filler = point / "filler"
    remaining = max(shutil.disk_usage(point).free - leave, 0) if leave else None
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block = b"\0" * 65536
    try:
        while remaining is None or remaining > 0:
            size = len(block) if remaining is None else min(len(block), remaining)
            written = os.write(fd, block[:size])
            if remaining is not None:
                remaining -= written
    except OSError:
        if remaining is not None:
            raise
        while True:  # the last partial blocks
            try:
                os.write(fd, b"\0" * 512)
            except OSError:
                break
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_is_a_message_on_every_command(tmp_path, desk, small_disk):
    on_disk = Desk(small_disk / "data", desk.key_file, desk.visits)
    shutil.copytree(desk.data_dir, on_disk.data_dir)
    visit = visit_file(tmp_path)
    filler = fill(small_disk)
    assert shutil.disk_usage(small_disk).free < 64 * 1024

    for command in (
        ["info"],
        ["info", "--json"],
        ["submissions", "list", "--json"],
        ["audit", "verify"],
        ["user", "list"],
    ):
        result = on_disk.cli(*command)
        assert_plain(result, 1, "disk penuh", case=" ".join(command))
    intake = on_disk.cli(
        "intake", "--input", str(visit), "--user", "ani", "--password-stdin", "--json",
        stdin=PASSWORD + "\n",
    )
    assert_plain(intake, 1, "disk penuh")
    added = on_disk.cli("user", "add", "budi", "--role", "officer", "--password-stdin",
                        stdin=PASSWORD + "\n")
    assert_plain(added, 1, "disk penuh")

    filler.unlink()
    on_disk.assert_intact(audit=True)


def test_a_nearly_full_disk_refuses_a_visit_whole_and_leaves_no_temp_file(
    tmp_path, desk, small_disk
):
    on_disk = Desk(small_disk / "data", desk.key_file, desk.visits)
    shutil.copytree(desk.data_dir, on_disk.data_dir)
    on_disk.assert_intact()  # the store opens (and checkpoints) before the disk fills up
    path = visit_file(tmp_path)
    (path.parent / "scan-kk.pdf").write_bytes(b"%PDF-1.4\n" + os.urandom(600_000) + b"\n%%EOF\n")
    visit = json.loads(path.read_text())
    visit["services"][0]["attachments"] = ["scan-kk.pdf"]
    path.write_text(json.dumps(visit))
    filler = fill(small_disk, leave=200_000)

    result = on_disk.cli(
        "intake", "--input", str(path), "--user", "ani", "--password-stdin", "--json",
        stdin=PASSWORD + "\n",
    )
    assert_plain(result, 1, "disk penuh")
    leftovers = [p for p in (on_disk.data_dir / "attachments").rglob("*.tmp")]
    assert leftovers == []

    filler.unlink()
    on_disk.assert_intact()  # nothing of the refused visit was stored


# --- the store file ----------------------------------------------------------------------


def test_a_truncated_store_is_named_damaged_with_what_to_do(desk):
    store = desk.data_dir / STORE_FILE
    original = store.read_bytes()
    with open(store, "r+b") as handle:
        handle.truncate(len(original) // 3)

    for command in (["info"], ["audit", "verify"], ["submissions", "list"]):
        result = desk.cli(*command)
        assert_plain(result, 1, "berkas penyimpanan rusak", str(store), "mppdesk restore")

    store.write_bytes(original)
    desk.assert_intact(audit=True)


@pytest.mark.parametrize("how", ["empty", "deleted"])
def test_an_empty_or_deleted_store_next_to_data_is_refused_not_recreated(desk, how):
    store = desk.data_dir / STORE_FILE
    original = store.read_bytes()
    if how == "empty":
        store.write_bytes(b"")
    else:
        store.unlink()

    for command in (["info"], ["user", "list"], ["init"]):
        result = desk.cli(*command)
        assert_plain(result, 1, "tidak ada atau kosong", str(store), "not re-created")
        # Never re-created: the next login would otherwise say "wrong password".
        assert (store.stat().st_size == 0) if how == "empty" else not store.exists()
    login = desk.cli(
        "intake", "--input", "-", "--user", "ani", "--password-stdin", stdin=PASSWORD + "\n{}"
    )
    assert_plain(login, 1, "tidak ada atau kosong")

    store.write_bytes(original)
    desk.assert_intact()


def test_only_init_creates_a_store(tmp_path):
    fresh = tmp_path / "fresh"
    result = run_cli("info", data_dir=fresh)
    assert_plain(result, 1, "mppdesk init")
    assert not (fresh / STORE_FILE).exists()
    assert run_cli("init", data_dir=fresh).returncode == 0
    assert json.loads(run_cli("info", "--json", data_dir=fresh).stdout)["counts"]["visits"] == 0


def test_a_data_dir_of_another_account_is_permission_denied(desk):
    """Run as ``nobody`` on root's private data dir: a real EACCES, not a simulated one."""
    import sys
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv(1) to run the command as another account")
    outer = Path(tempfile.mkdtemp(prefix="mppdesk-perm-"))
    try:
        outer.chmod(0o711)  # others may pass through, not list or enter the data dir
        data_dir = outer / "data"
        shutil.copytree(desk.data_dir, data_dir)
        data_dir.chmod(0o700)
        result = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
             "-m", "mppdesk", "info", "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=60, cwd="/", check=False,
        )
        assert_plain(result, 1, "izin ditolak", str(data_dir))
    finally:
        shutil.rmtree(outer)
    desk.assert_intact()


# --- the desk key ------------------------------------------------------------------------


def _mode_644(key: Path) -> str:
    key.chmod(0o644)
    return "chmod 600"


def _garbage(key: Path) -> str:
    key.write_text("this is not a key\n")
    return "not a key file"


def _binary(key: Path) -> str:
    key.write_bytes(os.urandom(64))
    return "not a key file"


def _empty(key: Path) -> str:
    key.write_bytes(b"")
    return "empty"


def _folder(key: Path) -> str:
    key.unlink()
    key.mkdir(mode=0o700)
    return "is a folder"


KEY_FAULTS = {
    "mode-644": _mode_644,
    "garbage": _garbage,
    "binary": _binary,
    "empty": _empty,
    "a-folder": _folder,
}


def test_each_key_file_problem_names_the_file_and_the_fix(desk):
    good = desk.key_file.read_bytes()
    for fault, make in KEY_FAULTS.items():
        fix_hint = make(desk.key_file)

        result = desk.cli("info")
        assert_plain(
            result, 1, "kunci desk bermasalah", str(desk.key_file), fix_hint, case=fault
        )

        if desk.key_file.is_dir():
            desk.key_file.rmdir()
        desk.key_file.write_bytes(good)
        desk.key_file.chmod(0o600)
    desk.assert_intact()


def test_a_missing_key_is_refused_when_data_exists_and_no_new_key_is_made(desk):
    good = desk.key_file.read_bytes()
    desk.key_file.unlink()

    result = desk.cli("info")
    assert_plain(result, 1, "kunci desk bermasalah", str(desk.key_file), "A new key would not")
    assert not desk.key_file.exists()

    desk.key_file.write_bytes(good)
    desk.key_file.chmod(0o600)
    desk.assert_intact()


def test_another_valid_key_is_named_a_key_mismatch_not_damage(desk, tmp_path):
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o600)
    result = desk.cli("info", env={"MPPDESK_KEY_FILE": str(other)})
    assert_plain(result, 1, "kunci desk tidak cocok")
    desk.assert_intact()


# --- settings ----------------------------------------------------------------------------

BAD_SETTINGS = {
    "lease-inf": ("[sync]\nlease_s = inf\n", "sync.lease_s"),
    "retention-negative": ("[desk]\nretention_days = -30\n", "desk.retention_days"),
    "backoff-base-over-cap": (
        "[sync]\nbackoff_base_s = 600\nbackoff_cap_s = 60\n",
        "sync.backoff_base_s",
    ),
    "idle-lock-zero": ("[desk]\nidle_lock_minutes = 0\n", "desk.idle_lock_minutes"),
    "timeout-nan": (
        '[agencies.dukcapil]\nbase_url = "http://127.0.0.1:9/dukcapil"\nread_timeout_s = nan\n',
        "agencies.dukcapil.read_timeout_s",
    ),
    "timezone": ('[desk]\ntimezone = "Asia/Bandung"\n', "desk.timezone"),
    "language": ('[desk]\nlanguage = "jv"\n', "desk.language"),
    "desk-code": ('[desk]\ncode = "K 01!"\n', "desk.code"),
    "malformed": ("[desk\ncode = 1\n", "settings.toml"),
}


def test_a_bad_setting_is_refused_with_the_file_and_key_named(desk):
    settings = desk.data_dir / "settings.toml"
    for case, (text, key) in BAD_SETTINGS.items():
        settings.write_text(text, encoding="utf-8")
        result = desk.cli("info")
        assert_plain(
            result, 1, "pengaturan tidak dapat dipakai", str(settings), key, case=case
        )
    english = desk.cli("info", env={"MPPDESK_LANG": "en"})
    assert_plain(english, 1, "the settings cannot be used", "settings.toml")
    settings.unlink()
    desk.assert_intact()


# --- arguments and the audit trail -------------------------------------------------------


def test_an_absurd_limit_is_exit_2_with_a_message(desk):
    for limit in ("99999999999999999999", "0", "-5", "lots"):
        result = desk.cli("submissions", "list", "--limit", limit)
        assert_plain(result, 2, "--limit", case=limit)
    listed = desk.cli("submissions", "list", "--limit", "2", "--json")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 2


@pytest.mark.parametrize(
    "details", ["'{\"x\": '", "'[1, 2]'", "'{\"a\": NaN}'", "'null'"], ids=["cut", "list", "nan", "null"]
)
def test_audit_verify_names_an_event_whose_json_was_edited(desk, details):
    runtime = open_runtime(desk.data_dir)
    raw = runtime.store.raw_connection()
    try:
        raw.execute(f"UPDATE audit_events SET details = {details} WHERE id = 3")
    finally:
        raw.close()
        runtime.close()

    result = desk.cli("audit", "verify")
    assert_plain(result, 1, "event 3", "edited")
    report = json.loads(desk.cli("audit", "verify", "--json").stdout)
    assert (report["ok"], report["first_bad_event"], report["position"]) == (False, 3, 3)


# --- an unexpected error: the crash report -----------------------------------------------


def test_an_unexpected_error_writes_a_masked_crash_report_and_one_line(tmp_path, desk):
    """A store changed below the desk (a trigger) makes intake fail in a way nobody planned:
    an integrity error whose text holds the new applicant's NIK and name in its parameters."""
    runtime = open_runtime(desk.data_dir)
    raw = runtime.store.raw_connection()
    try:
        raw.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON applicants "
            "BEGIN SELECT RAISE(ABORT, 'refused ' || NEW.id_number); END"
        )
    finally:
        raw.close()
        runtime.close()
    nik, name = "3578036801950031", "Sekar Ayu Qz"

    result = desk.cli(
        "intake", "--input", str(visit_file(tmp_path, nik, name)), "--user", "ani",
        "--password-stdin", stdin=PASSWORD + "\n",
    )

    assert_plain(result, 1, "IntegrityError", "crash-")
    assert nik not in result.stderr and name not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    crash_dir = desk.data_dir / "crash"
    (report,) = crash_dir.iterdir()
    assert str(report) in lines[0]
    assert stat.S_IMODE(crash_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    text = report.read_text()
    assert "IntegrityError" in text and "refused 3578********0031" in text
    assert "[parameters: dropped]" in text and "Traceback" in text
    assert nik not in text and name not in text
    assert desk.info()["counts"]["visits"] == desk.visits


# --- exposure ----------------------------------------------------------------------------


def _modes(root: Path) -> dict[str, int]:
    modes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            modes[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def test_the_data_dir_is_private_whatever_encrypt_says(tmp_path, monkeypatch):
    monkeypatch.setenv("MPPDESK_KEY_FILE", str(tmp_path / "desk.key"))
    data_dir = tmp_path / "plain"
    data_dir.mkdir(mode=0o755)
    (data_dir / "settings.toml").write_text("[desk]\nencrypt = false\n")
    os.chmod(data_dir / "settings.toml", 0o644)
    assert run_cli("init", data_dir=data_dir).returncode == 0
    assert run_cli("user", "add", "ani", "--role", "officer", "--password-stdin",
                   stdin=PASSWORD + "\n", data_dir=data_dir).returncode == 0
    stored = run_cli("intake", "--input", str(visit_file(tmp_path)), "--user", "ani",
                     "--password-stdin", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert stored.returncode == 0, stored.stderr

    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    modes = _modes(data_dir)
    assert STORE_FILE in modes and "settings.toml" in modes
    assert any(name.startswith("attachments/") for name in modes)
    loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
    assert loose == {}


def test_a_looser_existing_data_dir_is_tightened(desk):
    os.chmod(desk.data_dir, 0o755)
    for path in desk.data_dir.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)

    result = desk.cli("info")
    assert result.returncode == 0, result.stderr
    assert "now 700" in result.stderr
    assert stat.S_IMODE(desk.data_dir.stat().st_mode) == 0o700
    loose = {n: oct(m) for n, m in _modes(desk.data_dir).items() if m & 0o077}
    assert loose == {}


# --- logs --------------------------------------------------------------------------------


def test_logged_sql_errors_lose_their_parameters_and_niks():
    """An integrity error logged with its traceback: the row it tried to write stays out."""
    import logging

    import sqlalchemy

    from mppdesk.desk.crash import safe_exception_text
    from mppdesk.logs import MaskingFilter

    engine = sqlalchemy.create_engine("sqlite://")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE people (nik TEXT UNIQUE, name TEXT)")
            insert = sqlalchemy.text("INSERT INTO people VALUES (:nik, :name)")
            conn.execute(insert, {"nik": NIKS[0], "name": NAMES[0]})
            with pytest.raises(sqlalchemy.exc.IntegrityError) as caught:
                conn.execute(insert, {"nik": NIKS[0], "name": NAMES[0]})
    finally:
        engine.dispose()
    assert NIKS[0] in str(caught.value)  # what would have leaked

    record = logging.LogRecord(
        "mppdesk.test", logging.ERROR, __file__, 1, "intake failed: %s", (caught.value,),
        (caught.type, caught.value, caught.tb),
    )
    MaskingFilter().filter(record)
    logged = logging.Formatter().format(record)
    assert "UNIQUE constraint failed" in logged and "[parameters: dropped]" in logged
    assert NIKS[0] not in logged and NAMES[0] not in logged
    reported = safe_exception_text(caught.value)
    assert "IntegrityError" in reported and NIKS[0] not in reported and NAMES[0] not in reported


def test_sqlites_own_disk_full_is_worded_as_a_full_disk(tmp_path):
    """SQLITE_FULL ("database or disk is full"), made for real with a page limit."""
    import sqlite3

    from mppdesk.desk.faults import explain

    connection = sqlite3.connect(tmp_path / "small.sqlite")
    try:
        connection.execute("CREATE TABLE t (data BLOB)")
        connection.execute("PRAGMA max_page_count = 3")
        with pytest.raises(sqlite3.OperationalError, match="full") as caught:
            connection.execute("INSERT INTO t VALUES (?)", (os.urandom(100_000),))
    finally:
        connection.close()
    fault = explain(caught.value)
    assert fault is not None and fault.kind == "environment"
    assert "disk penuh" in fault.message("id") and "disk is full" in fault.message("en")
