"""Who saw whose data: look-ups, searches and detail views audited with keyed subjects, read
back by the access log (desk layer and ``mppdesk audit log``); foreign applicants looked up
by passport or KITAS (``mppdesk applicant show``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mppdesk.desk import counter
from mppdesk.desk.audit import AccessQuery, access_log_rows, verify_audit
from mppdesk.desk.errors import InvalidInput, PermissionDenied
from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.submission_views import SubmissionFilter, submission_detail, submissions_page
from mppdesk.store import access_log, repo
from tests.conftest import PASSWORD, cli_json, make_user, run_cli
from tests.example_visits import KTP, example_visit

BANK = "bri/pembukaan-rekening"  # example 0: a foreigner with passport and KITAS


def _finalize(runtime, actor, code: str, index: int = 0):
    visit = example_visit(code, index=index)
    finalize_visit(runtime, actor, parse_visit(visit))
    return visit["applicant"]


def test_lookups_searches_and_details_name_the_person_by_subject_only(runtime):
    ani = make_user(runtime, "ani", "officer")
    budi = make_user(runtime, "budi", "officer")
    sari = make_user(runtime, "sari", "supervisor")
    person = _finalize(runtime, ani, KTP)
    nik = person["nik"]
    other = _finalize(runtime, ani, BANK)  # another person, who must not show up

    assert counter.lookup_applicant(runtime, budi, nik) is not None
    rows = submissions_page(runtime, budi, SubmissionFilter(text=nik))
    assert [r.applicant_id_number for r in rows] == [nik]
    submission_detail(runtime, budi, rows[0].id)
    name_rows = submissions_page(runtime, budi, SubmissionFilter(text=person["nama"].split()[0]))
    assert name_rows
    submissions_page(runtime, budi, SubmissionFilter(text="3171999999999999"))  # nobody

    with runtime.store.read() as session:
        events = list(repo.audit_events(session))
        secret = access_log.secret_in_session(session)
    subject = access_log.subject_of(secret, nik)
    for event in events:  # the chain holds subjects, never the number or the typed name
        assert nik not in json.dumps(event.details) and person["nama"] not in json.dumps(
            event.details
        )
    searched = [e for e in events if e.action == "submissions.searched"]
    assert [e.details["kind"] for e in searched] == ["identity", "name", "identity"]
    assert subject in searched[0].details["subjects"] and searched[0].details["shown"] == 1
    assert searched[2].details["shown"] == 0 and searched[2].details["subjects"] == [
        access_log.subject_of(secret, "3171999999999999")
    ]

    log = access_log_rows(runtime, sari, AccessQuery(subject=nik))
    actions = [row["action"] for row in log]
    assert {"applicant.viewed", "submission.viewed", "submissions.searched"} <= set(actions)
    assert "visit.finalized" in actions or "submission.finalized" in actions  # intake by ani
    by_budi = [row for row in log if row["user"] == "budi"]
    assert {row["action"] for row in by_budi} == {
        "applicant.viewed", "submission.viewed", "submissions.searched"
    }
    assert all(row["user_name"] == "Budi" for row in by_budi)
    assert [row["id"] for row in log] == sorted((row["id"] for row in log), reverse=True)
    assert nik not in json.dumps(log)
    # The other person's record is not in this person's log, and theirs does not hold budi.
    theirs = access_log_rows(runtime, sari, AccessQuery(subject=other["no_paspor"]))
    assert theirs and not any(row["user"] == "budi" for row in theirs)

    today = runtime.local_today()
    only_budi = access_log_rows(runtime, sari, AccessQuery(user="budi", day=today))
    assert {row["action"] for row in only_budi} == {
        "applicant.viewed", "submission.viewed", "submissions.searched"
    }
    assert access_log_rows(runtime, sari, AccessQuery(user="budi", day=today - timedelta(1))) == []

    with pytest.raises(PermissionDenied):
        access_log_rows(runtime, budi, AccessQuery(subject=nik))
    with pytest.raises(InvalidInput):
        access_log_rows(runtime, sari, AccessQuery(subject="   "))
    with runtime.store.read() as session:
        reads = [e for e in repo.audit_events(session) if e.action == "audit.access_log_read"]
    assert reads[0].actor == "sari" and reads[0].details["subjects"] == [subject]
    assert verify_audit(runtime)["ok"] is True


def test_look_up_by_passport_or_kitas_normalises_and_refuses_malformed_numbers(runtime):
    ani = make_user(runtime, "ani", "officer")
    person = _finalize(runtime, ani, BANK)
    found = counter.lookup_applicant(runtime, ani, person["no_paspor"].lower(), "paspor")
    assert found is not None and found.id_kind in ("paspor", "kitas")
    by_kitas = counter.lookup_applicant(runtime, ani, " " + person["no_kitas"].lower(), "kitas")
    assert by_kitas is not None and by_kitas.applicant_id == found.applicant_id
    with pytest.raises(InvalidInput) as refused:
        counter.lookup_applicant(runtime, ani, "!!", "paspor")
    assert refused.value.errors[0].path == "applicant.no_paspor"
    assert "'!'" in refused.value.errors[0].message


def test_cli_applicant_show_and_audit_log(runtime, data_dir):
    ani = make_user(runtime, "ani", "officer")
    person = _finalize(runtime, ani, BANK)
    passport, kitas = person["no_paspor"], person["no_kitas"]

    def show(*who: str):
        return run_cli("applicant", "show", *who, "--user", "ani", "--password-stdin", "--json",
                       stdin=PASSWORD + "\n", data_dir=data_dir)

    shown = show("--passport", passport.lower())
    answer = cli_json(shown)
    assert shown.returncode == 0 and answer["found"] is True
    assert answer["applicant"]["name"] == person["nama"]
    assert cli_json(show("--kitas", kitas))["found"] is True
    assert cli_json(show("--nik", "3171999999999999")) == {"found": False, "applicant": None}
    malformed = show("--passport", "!!")
    assert malformed.returncode == 2
    assert cli_json(malformed)["errors"][0]["path"] == "applicant.no_paspor"

    log = run_cli("audit", "log", "--subject", passport, "--json", data_dir=data_dir)
    assert log.returncode == 0, log.stderr
    rows = cli_json(log)
    viewed = [row for row in rows if row["action"] == "applicant.viewed"]
    assert len(viewed) == 2 and {row["user"] for row in viewed} == {"ani"}
    assert passport not in log.stdout and kitas not in log.stdout
    assert set(rows[0]) >= {"at", "user", "user_name", "action", "object_type", "object_id"}

    today = runtime.local_today().isoformat()
    mine = cli_json(run_cli("audit", "log", "--user", "ani", "--date", today, "--json",
                            data_dir=data_dir))
    assert {row["action"] for row in mine} == {"applicant.viewed"}
    assert all(row["at"].startswith(today) for row in mine)
    assert run_cli("audit", "log", "--date", "2026-13-45", data_dir=data_dir).returncode == 2
    verify = run_cli("audit", "verify", "--json", data_dir=data_dir)
    assert cli_json(verify)["ok"] is True
