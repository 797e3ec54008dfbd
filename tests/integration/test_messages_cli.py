"""The command line words the desk's errors and the catalog's problems from the one message
catalog, in the language of ``--lang``, ``MPPDESK_LANG`` or the desk's setting (issue 11,
item 2)."""

from __future__ import annotations

import json

import pytest

from mppdesk.core.messages import text
from mppdesk.settings import SETTINGS_FILE
from tests.conftest import copy_store_template, run_cli


@pytest.fixture
def desk_dir(data_dir, store_template):
    """An installed desk: the session's migrated store template when it was made with this
    process's desk key (an earlier test may have swapped the key), else ``mppdesk init``."""
    if copy_store_template(store_template, data_dir):
        data_dir.chmod(0o700)  # as ``mppdesk init`` leaves it (else a warning joins stderr)
    else:
        assert run_cli("init", data_dir=data_dir).returncode == 0
    return data_dir


def test_an_error_code_is_printed_in_the_language_asked(tmp_path, desk_dir):
    out = tmp_path / "c.pdf"
    english = run_cli("checklist", "no/such", "--lang", "en", "-o", str(out), data_dir=desk_dir)
    assert english.returncode == 2
    assert english.stderr.strip() == "Unknown service: no/such"
    indonesian = run_cli("checklist", "no/such", "-o", str(out), data_dir=desk_dir)
    assert indonesian.returncode == 2
    assert indonesian.stderr.strip() == text("error.service_unknown", "id", services="no/such")
    assert indonesian.stderr.strip() == "Layanan tidak dikenal: no/such"
    assert not out.exists()


def test_field_errors_follow_the_environment_and_the_desks_setting(desk_dir):
    args = ("user", "add", "dewi", "--role", "officer", "--password-stdin")
    indonesian = run_cli(*args, stdin="pendek\n", data_dir=desk_dir)
    assert indonesian.returncode == 2
    assert indonesian.stderr.strip() == "password: Kata sandi minimal 8 karakter"
    english = run_cli(*args, stdin="pendek\n", data_dir=desk_dir, env={"MPPDESK_LANG": "en"})
    assert english.stderr.strip() == "password: Password needs at least 8 characters"

    (desk_dir / SETTINGS_FILE).write_text('[desk]\nlanguage = "en"\n', encoding="utf-8")
    from_settings = run_cli(*args, stdin="pendek\n", data_dir=desk_dir)
    assert from_settings.stderr.strip() == "password: Password needs at least 8 characters"


def _broken_catalog(root):
    (root / "services" / "polri").mkdir(parents=True)
    (root / "services" / "polri" / "kosong.yaml").write_text("", encoding="utf-8")
    (root / "services" / "polri" / "rusak.yaml").write_text("id: [tidak ditutup\n", "utf-8")
    return root


def test_catalog_check_prints_each_problem_with_its_code_in_both_languages(tmp_path, data_dir):
    draft = _broken_catalog(tmp_path / "draft")
    english = run_cli("catalog", "check", str(draft), "--lang", "en", data_dir=data_dir)
    indonesian = run_cli("catalog", "check", str(draft), data_dir=data_dir)
    assert english.returncode == indonesian.returncode == 1
    empty = str(draft / "services" / "polri" / "kosong.yaml")
    assert f"{empty}: the file is empty [load.empty_file]" in english.stderr.splitlines()
    assert f"{empty}: berkas kosong [load.empty_file]" in indonesian.stderr.splitlines()
    assert "YAML syntax error" in english.stderr and "[load.yaml_syntax]" in english.stderr
    assert "galat sintaks YAML" in indonesian.stderr
    assert english.stderr.splitlines()[-1] == "2 problem(s) found"
    assert indonesian.stderr.splitlines()[-1] == "2 masalah ditemukan"


def test_a_refusal_in_json_carries_its_code(tmp_path, desk_dir):
    visit = tmp_path / "v.json"
    visit.write_text("{}", encoding="utf-8")
    refused = run_cli(
        "intake", "--input", str(visit), "--user", "nobody", "--password-stdin", "--json",
        "--lang", "en", stdin="salah-sandi\n", data_dir=desk_dir,
    )
    assert refused.returncode == 4
    worded = text("accounts.bad_credentials_left", "en", left=4)
    assert worded.startswith("Wrong user name or password.")
    assert json.loads(refused.stdout) == {"error": worded, "code": "accounts.bad_credentials_left"}
    assert refused.stderr.strip() == worded
