"""``mppdesk intake --check``: the visit's plan from the command line, nothing stored (issue 11,
item 3: the CLI plans with the same code the desk's draft and finalize use)."""

from __future__ import annotations

import json

from mppdesk.desk.queries import info
from mppdesk.desk.runtime import open_runtime
from tests.conftest import cli_json, make_user
from tests.integration.test_intake import _intake_file, example_visit, with_local_attachments


def test_check_prints_the_plan_and_stores_nothing(tmp_path, data_dir, runtime):
    make_user(runtime, "ani", "officer")
    runtime.close()
    visit = with_local_attachments(example_visit("dukcapil/ktp-el"), tmp_path)
    visit["applicant"]["tanggal_lahir"] = "1995-01-29"  # the NIK says 28-01-1995
    visit["services"][0]["checklist"]["kk"] = "missing"
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(json.dumps(visit))

    result = _intake_file(data_dir, visit_file, "--check", "--json")
    assert result.returncode == 0, result.stderr
    plan = cli_json(result)
    assert plan["ok"] is True
    (service,) = plan["services"]
    assert (service["service"], service["status"], service["missing"]) == (
        "dukcapil/ktp-el", "queued", ["kk"]
    )
    assert [w["path"] for w in plan["warnings"]] == ["applicant.nik"]
    assert [d["path"] for d in plan["missing_documents"]] == ["services[0].checklist.kk"]

    reopened = open_runtime(data_dir)
    try:
        counts = info(reopened)["counts"]
    finally:
        reopened.close()
    assert counts["submissions"] == 0 and counts.get("visits", 0) == 0

    text = _intake_file(data_dir, visit_file, "--check", "--lang", "en")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("dukcapil/ktp-el  queued  SLA ")
    assert "warning: applicant.nik: " in text.stderr

    visit["applicant"]["nik"] = "31710"
    visit_file.write_text(json.dumps(visit))
    refused = _intake_file(data_dir, visit_file, "--check", "--json")
    assert refused.returncode == 2
    assert any(e["path"] == "applicant.nik" for e in cli_json(refused)["errors"])
