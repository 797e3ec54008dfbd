"""No personal data in the clear in any file of the data dir: store, WAL, backups, attachments."""

from __future__ import annotations

import os
import stat

import pytest

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.runtime import open_runtime
from mppdesk.store.keys import KeyFileError, load_master_key
from tests.integration.test_intake import example_visit

NIKS = ["3174014506900021", "3174015203850022", "6571014101950023"]
NAMES = ["Rahmawati Kusumadewi Zz", "Bonifasius Tanoto Qq", "Yohana Marbun Xx"]
PHONES = ["+6281311112222", "+6285733334444", "+6287855556666"]


def _all_files(root):
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            yield os.path.join(dirpath, name)


def test_no_plaintext_personal_data_in_the_data_dir(tmp_path, data_dir, runtime, officer):
    secret_file = tmp_path / "scan-ktp.pdf"  # attachments must be PDF/JPEG/PNG by content
    secrets_found = []
    for nik, name, phone in zip(NIKS, NAMES, PHONES, strict=True):
        secret_file.write_text(f"%PDF-1.4\nKTP scan of {name}, NIK {nik}, HP {phone}\n")
        visit = example_visit("dukcapil/ktp-el")
        visit["applicant"].update({"nik": nik, "nama": name, "no_hp": phone})
        visit["services"][0]["attachments"] = [str(secret_file)]
        finalize_visit(runtime, officer, parse_visit(visit))
    runtime.store.backup(data_dir / "backups" / "manual.sqlite")
    needles = [s.encode() for s in NIKS + NAMES + PHONES]
    needles += [n.encode("utf-16-le") for n in NIKS]
    files = list(_all_files(data_dir))
    assert any(f.endswith("-wal") for f in files), "the test must also search a live WAL"
    assert any("attachments" in f for f in files)
    assert any("backups" in f for f in files)
    for path in files:
        with open(path, "rb") as handle:
            data = handle.read()
        for needle in needles:
            if needle in data:
                secrets_found.append((path, needle))
    assert secrets_found == []
    print(f"\ndata at rest: {len(files)} files searched for {len(needles)} values, none found")


def test_store_opens_only_with_its_key(tmp_path, data_dir, runtime, officer, monkeypatch):
    finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    runtime.close()
    other = tmp_path / "other.key"  # a valid key, just not this store's
    other.write_text(os.urandom(32).hex() + "\n")
    other.chmod(0o600)
    monkeypatch.setenv("MPPDESK_KEY_FILE", str(other))
    from mppdesk.store.database import StoreError

    with pytest.raises(StoreError, match="key"):
        open_runtime(data_dir)


def test_key_file_is_private_and_checked(tmp_path, monkeypatch):
    path = tmp_path / "k" / "desk.key"
    monkeypatch.setenv("MPPDESK_KEY_FILE", str(path))
    key = load_master_key()
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key() == key
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_master_key()
