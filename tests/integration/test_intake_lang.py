"""``mppdesk intake`` speaks the language asked: ``--lang en``, else ``MPPDESK_LANG``, else the
desk's setting (issue 12: the default "id" used to shadow both)."""

from __future__ import annotations

import json

from tests.conftest import PASSWORD, make_user, run_cli
from tests.integration.test_intake import example_visit
from tests.integration.test_messages_cli import desk_dir  # noqa: F401 - the fixture


def _visit(tmp_path, document) -> str:
    document = dict(document)
    document["services"] = [  # attachments are not what this test is about
        {k: v for k, v in service.items() if k != "attachments"} for service in document["services"]
    ]
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def _user(desk_dir) -> None:  # noqa: F811 - the fixture's value
    from mppdesk.desk.runtime import open_runtime

    runtime = open_runtime(desk_dir)
    try:
        make_user(runtime, "ani", "officer")
    finally:
        runtime.close()


def test_intake_words_follow_lang_then_the_environment(tmp_path, desk_dir):  # noqa: F811
    _user(desk_dir)
    good = _visit(tmp_path, example_visit("dukcapil/ktp-el"))
    args = ("intake", "--input", good, "--user", "ani", "--password-stdin")
    english = run_cli(*args, "--lang", "en", stdin=PASSWORD + "\n", data_dir=desk_dir)
    assert english.returncode == 0, english.stderr
    assert "Electronic ID card" in english.stdout and "due " in english.stdout
    assert "dukcapil/ktp-el" not in english.stdout  # the service's name, not its code
    indonesian = run_cli(*args, stdin=PASSWORD + "\n", data_dir=desk_dir)
    assert "KTP-el" in indonesian.stdout and "perkiraan selesai" in indonesian.stdout

    bad = dict(example_visit("dukcapil/ktp-el"))
    bad["applicant"] = dict(bad["applicant"], nama="")
    refused = run_cli(
        "intake",
        "--input",
        _visit(tmp_path, bad),
        "--user",
        "ani",
        "--password-stdin",
        "--json",
        stdin=PASSWORD + "\n",
        data_dir=desk_dir,
        env={"MPPDESK_LANG": "en"},
    )
    assert refused.returncode == 2
    messages = [e["message"] for e in json.loads(refused.stdout)["errors"]]
    assert "Full name is required." in messages
