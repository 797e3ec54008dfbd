"""Attachment files from outside (issue 10, item 4): only regular PDF/JPEG/PNG files inside the
visit's folder, read with bounds; and a failed attachment write leaves no temp file (item 6).

The CLI tests run the real ``mppdesk intake`` in a child process: exit code, JSON errors and
stderr are what an operator sees.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mppdesk.desk.attachments import AttachmentRefused, read_attachment
from mppdesk.desk.errors import InvalidInput
from mppdesk.desk.intake import (
    AttachmentInput,
    ServiceRequest,
    VisitRequest,
    finalize_visit,
    parse_visit,
)
from mppdesk.desk.queries import info
from mppdesk.settings import IntakeSettings, SettingsError, dump_settings, load_settings
from tests.conftest import PASSWORD, cli_json, make_user, run_cli
from tests.integration.test_intake import example_visit

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def _visit_with(names: list[str]) -> dict:
    visit = example_visit("dukcapil/ktp-el")
    visit["services"][0]["attachments"] = names
    return visit


def _intake(data_dir: Path, visit_file: Path, *extra: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", *extra, stdin=PASSWORD + "\n", data_dir=data_dir, timeout=60)
    assert time.monotonic() - started < 30, "intake took too long (a FIFO or device was read?)"
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def desk(data_dir, runtime):
    """A data dir with officer ``ani``; the in-process runtime is closed for the CLI."""
    make_user(runtime, "ani", "officer")
    runtime.close()
    return data_dir


def test_cli_refuses_every_file_the_officer_did_not_mean(tmp_path, desk):
    folder = tmp_path / "kunjungan"
    folder.mkdir()
    outside = tmp_path / "outside.pdf"
    outside.write_bytes(PDF)
    (folder / "scan-kk.pdf").write_bytes(PDF)
    (folder / "link-to-shadow.pdf").symlink_to("/etc/shadow")
    (folder / "link-out.pdf").symlink_to(outside)
    (folder / "proc.pdf").symlink_to("/proc/self/environ")
    (folder / "zero.pdf").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.pdf")
    (folder / "folder.pdf").mkdir()
    (folder / "teks.pdf").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "kosong.pdf").write_bytes(b"")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(folder / "sock.pdf"))
    names = ["scan-kk.pdf", "link-to-shadow.pdf", "link-out.pdf", "proc.pdf", "zero.pdf",
             "pipe.pdf", "folder.pdf", "teks.pdf", "kosong.pdf", "sock.pdf", "/etc/passwd",
             "../outside.pdf", "/proc/self/environ", "/dev/zero", "tidak-ada.pdf"]
    visit_file = folder / "visit.json"
    visit_file.write_text(json.dumps(_visit_with(names)))
    try:
        result = _intake(desk, visit_file)
    finally:
        listener.close()
    assert result.returncode == 2, result.stderr
    errors = {e["path"]: e["message"] for e in cli_json(result)["errors"]}
    expected = {f"services[0].attachments[{i}]" for i in range(1, len(names))}
    assert set(errors) == expected, errors  # every bad one named, the good one not
    assert "luar folder" in errors["services[0].attachments[1]"]  # symlink to /etc/shadow
    assert "luar folder" in errors["services[0].attachments[2]"]  # symlink out of the folder
    assert "pipe" in errors["services[0].attachments[5]"]
    assert "folder" in errors["services[0].attachments[6]"]
    assert "Jenis berkas tidak diterima" in errors["services[0].attachments[7]"]
    assert "kosong" in errors["services[0].attachments[8]"]
    assert "luar folder" in errors["services[0].attachments[10]"]  # /etc/passwd
    assert "tidak ditemukan" in errors["services[0].attachments[14]"]
    counts = cli_json(run_cli("info", "--json", data_dir=desk))["counts"]
    assert counts["submissions"] == 0 and counts["visits"] == 0


def test_cli_accepts_files_in_the_folder_typed_by_content(tmp_path, desk):
    folder = tmp_path / "kunjungan"
    (folder / "scans").mkdir(parents=True)
    (folder / "scans" / "surat.pdf").write_bytes(PDF)
    (folder / "foto.pdf").write_bytes(PNG)  # the name lies; the content decides
    (folder / "ktp.jpg").write_bytes(JPEG)
    (folder / "link-inside.pdf").symlink_to(folder / "scans" / "surat.pdf")
    visit_file = folder / "visit.json"
    visit_file.write_text(json.dumps(_visit_with(
        ["scans/surat.pdf", "foto.pdf", "ktp.jpg", "link-inside.pdf"])))
    result = _intake(desk, visit_file)
    assert result.returncode == 0, result.stderr
    (submission,) = cli_json(result)["submissions"]
    from mppdesk.desk.runtime import open_runtime

    runtime = open_runtime(desk)
    try:
        raw = runtime.store.raw_connection()
        with raw:
            (payload,) = raw.execute("SELECT payload FROM outbox WHERE submission_id = ?",
                                     (submission["submission_id"],)).fetchone()
    finally:
        runtime.close()
    described = {a["name"]: a["content_type"] for a in json.loads(payload)["attachments"]}
    assert described == {"surat.pdf": "application/pdf", "foto.pdf": "image/png",
                         "ktp.jpg": "image/jpeg", "link-inside.pdf": "application/pdf"}


def test_cli_limits_come_from_the_intake_settings(tmp_path, desk):
    (desk / "settings.toml").write_text(
        "[intake]\nmax_attachment_bytes = 1000\nmax_visit_attachment_bytes = 1500\n"
        "max_attachments = 4\n")
    folder = tmp_path / "kunjungan"
    folder.mkdir()
    (folder / "besar.pdf").write_bytes(PDF + b"x" * 2000)
    for name in ("a.pdf", "b.pdf", "c.pdf", "d.pdf"):
        (folder / name).write_bytes(PDF + b"x" * (600 - len(PDF)))
    visit_file = folder / "visit.json"
    visit_file.write_text(json.dumps(_visit_with(["besar.pdf", "a.pdf", "b.pdf", "c.pdf", "d.pdf"])))
    result = _intake(desk, visit_file)
    assert result.returncode == 2, result.stderr
    errors = {e["path"]: e["message"] for e in cli_json(result)["errors"]}
    assert set(errors) == {f"services[0].attachments[{i}]" for i in (0, 3, 4)}, errors
    assert "terlalu besar" in errors["services[0].attachments[0]"]  # over 1000 on its own
    assert "Total lampiran" in errors["services[0].attachments[3]"]  # 600 * 3 > 1500
    assert "Terlalu banyak" in errors["services[0].attachments[4]"]  # the fifth file


def test_parse_visit_refuses_dev_zero_by_its_kind():
    limits = IntakeSettings(max_attachment_bytes=100, max_visit_attachment_bytes=150,
                            max_attachments=2)
    with pytest.raises(InvalidInput) as caught:
        parse_visit(_visit_with(["/dev/zero"]), None, limits)
    (error,) = caught.value.errors
    assert error.path == "services[0].attachments[0]" and "perangkat" in error.message


def test_dev_zero_and_a_fifo_are_refused_without_reading(tmp_path):
    for name, base in (("zero", Path("/dev")), ("urandom", Path("/dev"))):
        with pytest.raises(AttachmentRefused, match="device"):
            read_attachment(name, base, max_bytes=1024)
    os.mkfifo(tmp_path / "pipe")
    # Opening a FIFO that has no writer would block forever without O_NONBLOCK.
    with pytest.raises(AttachmentRefused, match="FIFO"):
        read_attachment("pipe", tmp_path, max_bytes=1024)
    with pytest.raises(AttachmentRefused, match="system file"):
        read_attachment("/proc/self/environ", None, max_bytes=1024)


def test_a_file_larger_than_the_cap_is_not_read_whole(tmp_path):
    (tmp_path / "big.pdf").write_bytes(PDF + b"x" * 5000)
    with pytest.raises(AttachmentRefused, match="too large") as caught:
        read_attachment("big.pdf", tmp_path, max_bytes=1000)
    assert caught.value.too_large


def test_the_desk_check_covers_attachments_that_did_not_come_from_a_file(runtime, officer):
    """The desk's form hands finalize bytes it read itself: the same limits and types apply."""
    visit = parse_visit(_visit_with([]))
    service = visit.services[0]
    bad = ServiceRequest(service.service, service.answers, service.checklist,
                         (AttachmentInput("x.pdf", b"MZ\x90\x00 not a scan", "application/pdf"),))
    before = info(runtime)["counts"]
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, VisitRequest(visit.applicant, (bad,), visit.ticket))
    assert [e.path for e in caught.value.errors] == ["services[0].attachments[0]"]
    assert info(runtime)["counts"] == before


def test_intake_settings_round_trip_and_refuse_bad_values(data_dir):
    (data_dir / "settings.toml").write_text("[intake]\nmax_attachments = 3\n")
    settings = load_settings(data_dir)
    assert settings.intake == IntakeSettings(max_attachments=3)
    assert "[intake]" in dump_settings(settings)
    (data_dir / "settings.toml").write_text(dump_settings(settings))
    assert load_settings(data_dir) == settings
    for bad in ("max_attachments = 0", "max_attachment_bytes = -1", "max_attachments = 'x'"):
        (data_dir / "settings.toml").write_text(f"[intake]\n{bad}\n")
        with pytest.raises(SettingsError, match=r"intake\.max_attachment"):
            load_settings(data_dir)


_FAILING_WRITE = """
import resource, signal, sys
from pathlib import Path
from mppdesk.store.blobs import BlobStore

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
store = BlobStore(Path(sys.argv[1]), key=None)
try:
    store.put(b"%PDF-" + b"x" * 100_000)
except OSError as exc:
    print("failed", exc.errno)
else:
    print("written")
"""


def test_a_failed_attachment_write_leaves_no_temp_file(tmp_path):
    root = tmp_path / "attachments"
    result = subprocess.run([sys.executable, "-c", _FAILING_WRITE, str(root)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "failed", result.stdout  # the write really failed
    left = [p for p in root.rglob("*") if p.is_file()]
    assert left == [], left
