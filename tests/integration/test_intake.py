"""Intake end to end on a real store with the built-in catalog."""

from __future__ import annotations

import json

import pytest

from mppdesk.core.tracking import normalize_tracking_number
from mppdesk.desk.errors import InvalidInput, PermissionDenied
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.queries import info, list_submissions
from mppdesk.forms.catalog import builtin_catalog_dirs, load_catalog
from tests.conftest import PASSWORD, cli_json, make_user, run_cli

CATALOG = load_catalog(builtin_catalog_dirs())
SERVICES = sorted(CATALOG.services)


def example_visit(code: str, example_index: int = 0) -> dict:
    service = CATALOG.services[code]
    example = service.examples[example_index]
    attachments = []
    for name in example.attachments:
        path = CATALOG.resolve_path(name)
        attachments.append(str(path))
    return {
        "ticket": "A-001",
        "applicant": dict(example.applicant),
        "proxy": dict(example.proxy) if example.proxy else None,
        "services": [{"service": code, "answers": dict(example.answers),
                      "checklist": dict(example.checklist), "attachments": attachments}],
    }


@pytest.mark.parametrize("code", SERVICES)
def test_every_builtin_example_is_accepted(runtime, officer, code):
    for index in range(len(CATALOG.services[code].examples)):
        result = finalize_visit(runtime, officer, parse_visit(example_visit(code, index)))
        (submission,) = result.submissions
        assert submission.service == code
        assert normalize_tracking_number(submission.tracking_number) == submission.tracking_number
        expected = "held" if CATALOG.services[code].requires_approval else "queued"
        assert submission.status == expected


def with_local_attachments(visit: dict, folder) -> dict:
    """``visit`` with its attachment files copied into ``folder`` and named relative to it:
    ``mppdesk intake`` reads attachments only from the visit file's own folder."""
    import shutil
    from pathlib import Path

    for service in visit["services"]:
        names = []
        for source in service.get("attachments", []):
            shutil.copyfile(source, Path(folder) / Path(source).name)
            names.append(Path(source).name)
        service["attachments"] = names
    return visit


def _three_service_visit() -> dict:
    ktp = example_visit("dukcapil/ktp-el")
    others = [c for c in SERVICES if c != "dukcapil/ktp-el"
              and {r.field for r in CATALOG.services[c].shared_fields}
              <= set(ktp["applicant"]) and not CATALOG.services[c].examples[0].attachments][:2]
    assert len(others) == 2, "need two more services fitting the KTP-el applicant"
    for code in others:
        example = CATALOG.services[code].examples[0]
        ktp["services"].append({"service": code, "answers": dict(example.answers),
                                "checklist": dict(example.checklist)})
    return ktp


def test_one_visit_three_services_one_applicant_three_tracking_numbers(runtime, officer):
    visit = _three_service_visit()
    result = finalize_visit(runtime, officer, parse_visit(visit))
    numbers = [s.tracking_number for s in result.submissions]
    assert len(set(numbers)) == 3
    assert info(runtime)["counts"] == {"applicants": 1, "visits": 1, "submissions": 3,
                                       "outbox_pending": sum(s.status == "queued" for s in result.submissions)}
    rows = list_submissions(runtime, officer)
    assert {r["tracking_number"] for r in rows} == set(numbers)
    for row in rows:
        assert len(row["outbox"]) == 1
        assert row["outbox"][0]["state"] in ("pending", "held")


def test_each_agency_receives_only_the_shared_fields_its_service_declares(runtime, officer):
    visit = _three_service_visit()
    result = finalize_visit(runtime, officer, parse_visit(visit))
    raw = runtime.store.raw_connection()
    with raw:
        for summary in result.submissions:
            (payload,) = raw.execute("SELECT payload FROM outbox WHERE submission_id = ?",
                                     (summary.submission_id,)).fetchone()
            body = json.loads(payload)
            declared = {ref.field for ref in CATALOG.services[summary.service].shared_fields}
            assert set(body["applicant"]) <= declared
            assert body["submission_id"] == summary.submission_id
            assert body["form_version"].startswith("sha256:")
            # Frozen canonical bytes: sorted keys, no spaces.
            assert payload == json.dumps(body, ensure_ascii=False, sort_keys=True,
                                         separators=(",", ":")).encode()


def test_bad_nik_stores_nothing_and_names_the_field(runtime, officer):
    visit = example_visit("dukcapil/ktp-el")
    visit["applicant"]["nik"] = "12345"
    before = info(runtime)["counts"]
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, parse_visit(visit))
    assert "applicant.nik" in [e.path for e in caught.value.errors]
    assert info(runtime)["counts"] == before


def test_unknown_service_and_answer_are_named(runtime, officer):
    visit = example_visit("dukcapil/ktp-el")
    visit["services"].append({"service": "nope/nothing", "answers": {}})
    visit["services"][0]["answers"]["tidak_ada"] = "x"
    with pytest.raises(InvalidInput) as caught:
        finalize_visit(runtime, officer, parse_visit(visit))
    paths = [e.path for e in caught.value.errors]
    assert "services[1].service" in paths
    assert "services[0].answers.tidak_ada" in paths


def test_returning_applicant_is_found_and_changes_recorded(runtime, officer):
    first = example_visit("dukcapil/ktp-el")
    finalize_visit(runtime, officer, parse_visit(first))
    second = example_visit("dukcapil/ktp-el")
    second["applicant"]["alamat"] = "Jl. Baru No. 2"
    result = finalize_visit(runtime, officer, parse_visit(second))
    assert result.applicant_changes == ("alamat",)
    assert info(runtime)["counts"]["applicants"] == 1


def test_supervisor_may_intake_but_unknown_role_may_not(runtime, supervisor):
    from mppdesk.desk.auth import Actor

    finalize_visit(runtime, supervisor, parse_visit(example_visit("dukcapil/ktp-el")))
    with pytest.raises(PermissionDenied):
        finalize_visit(runtime, Actor("x", "visitor"), parse_visit(example_visit("dukcapil/ktp-el")))


def test_cli_intake_round_trip(tmp_path, data_dir, runtime):
    make_user(runtime, "ani", "officer")
    runtime.close()
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(json.dumps(with_local_attachments(_three_service_visit(), tmp_path)))
    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    output = cli_json(result)
    assert len(output["submissions"]) == 3
    for item in output["submissions"]:
        assert set(item) >= {"submission_id", "service", "tracking_number", "status", "sla_due"}

    listed = cli_json(run_cli("submissions", "list", "--json", data_dir=data_dir))
    assert {s["submission_id"] for s in listed} == {s["submission_id"] for s in output["submissions"]}
    assert all(set(s["outbox"][0]) >= {"agency", "state", "attempts", "last_error", "next_attempt_at",
                                      "agency_ref", "agency_status"} for s in listed)

    bad = json.loads(visit_file.read_text())
    bad["applicant"]["nik"] = "31710"
    visit_file.write_text(json.dumps(bad))
    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert result.returncode == 2
    assert any(e["path"] == "applicant.nik" for e in cli_json(result)["errors"])
    counts = cli_json(run_cli("info", "--json", data_dir=data_dir))["counts"]
    assert counts["submissions"] == 3

    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", stdin="wrong-password\n", data_dir=data_dir)
    assert result.returncode == 4
    result = run_cli("intake", "--input", str(visit_file), "--user", "nobody", "--password-stdin",
                     "--json", stdin="wrong-password\n", data_dir=data_dir)
    assert result.returncode == 4


def test_malformed_visit_json_exits_2(tmp_path, data_dir, runtime):
    make_user(runtime, "ani", "officer")
    runtime.close()
    visit_file = tmp_path / "visit.json"
    visit_file.write_text("{not json")
    result = run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                     "--json", stdin=PASSWORD + "\n", data_dir=data_dir)
    assert result.returncode == 2
    assert "baris 1" in cli_json(result)["errors"][0]["message"]


def _intake_file(data_dir, visit_file, *extra):
    return run_cli("intake", "--input", str(visit_file), "--user", "ani", "--password-stdin",
                   *extra, stdin=PASSWORD + "\n", data_dir=data_dir)


def test_desk_code_in_another_case_continues_the_same_counter(tmp_path, data_dir, runtime):
    """Issue 10 item 5: ``k01`` after ``K01`` the same day used to restart the sequence and
    fail every intake with an IntegrityError traceback."""
    make_user(runtime, "ani", "officer")
    runtime.close()
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(json.dumps(with_local_attachments(example_visit("dukcapil/ktp-el"),
                                                            tmp_path)))
    numbers = []
    for code in ("K01", "k01", " k01 "):
        (data_dir / "settings.toml").write_text(f'[desk]\ncode = "{code}"\n')
        result = _intake_file(data_dir, visit_file, "--json")
        assert result.returncode == 0, result.stderr
        numbers.append(cli_json(result)["submissions"][0]["tracking_number"])
    prefixes = {n.split("-")[0] for n in numbers}
    sequences = [int(n.split("-")[2]) for n in numbers]
    assert prefixes == {"K01"}
    assert sequences == [sequences[0], sequences[0] + 1, sequences[0] + 2]


@pytest.mark.parametrize("code", ["K-01", "", "LOKET1", "ABCDEFG", "k 01"])
def test_invalid_desk_code_is_a_settings_error_naming_the_key(data_dir, code):
    (data_dir / "settings.toml").write_text(f'[desk]\ncode = "{code}"\n')
    result = run_cli("info", "--json", data_dir=data_dir)
    assert result.returncode == 1
    assert "desk.code" in result.stderr and "Traceback" not in result.stderr


def test_intake_returns_the_engines_warnings(tmp_path, data_dir, runtime):
    """Issue 10 item 10: a NIK contradicting the birth date is stored, with a word about it."""
    make_user(runtime, "ani", "officer")
    runtime.close()
    visit = with_local_attachments(example_visit("dukcapil/ktp-el"), tmp_path)
    visit["applicant"]["tanggal_lahir"] = "1995-01-29"  # the NIK says 28-01-1995
    visit_file = tmp_path / "visit.json"
    visit_file.write_text(json.dumps(visit))
    result = _intake_file(data_dir, visit_file, "--json")
    assert result.returncode == 0, result.stderr
    output = cli_json(result)
    assert [w["path"] for w in output["warnings"]] == ["applicant.nik"]
    assert "28-01-1995" in output["warnings"][0]["message"]
    assert len(output["submissions"]) == 1

    visit["ticket"] = "A-002"
    visit_file.write_text(json.dumps(visit))
    result = _intake_file(data_dir, visit_file, "--lang", "en")
    assert result.returncode == 0, result.stderr
    assert "warning: applicant.nik: " in result.stderr
    assert "The date of birth in the NIK (28-01-1995) differs" in result.stderr

    from mppdesk.desk.runtime import open_runtime
    from mppdesk.store import repo

    reopened = open_runtime(data_dir)
    try:
        with reopened.store.read() as session:
            finalized = [e.details for e in repo.audit_events(session)
                         if e.action == "visit.finalized"]
    finally:
        reopened.close()
    assert [d["warnings"] for d in finalized] == [["applicant.nik"], ["applicant.nik"]]


def test_intake_without_warnings_returns_an_empty_list(runtime, officer):
    result = finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    assert result.as_dict()["warnings"] == []
