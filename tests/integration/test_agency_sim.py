"""The reference agency server over real HTTP on loopback: the contract, faults, durability,
garbage, the command, and the OpenAPI file its answers must match."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from mppdesk.sync.sim import FaultSpecError, parse_fault_spec
from mppdesk.sync.sim.faults import FaultPlan

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "resources" / "protocol" / "agency-sync.openapi.yaml"
HEADERS = {"X-MPP-Desk": "loket-03"}


def post(session, handle, draft, *, body=None, key=None, headers=None, agency=None):
    return session.post(
        handle.agency_url(agency or draft.agency) + "/submissions",
        data=draft.body if body is None else body,
        headers={
            **HEADERS,
            "Content-Type": "application/json",
            "Idempotency-Key": key or draft.submission_id,
            **(headers or {}),
        },
        timeout=(2, 10),
    )


def put(session, handle, draft, name, data=None, sha=None, headers=None):
    data = draft.files[name][0] if data is None else data
    return session.put(
        f"{handle.agency_url(draft.agency)}/submissions/{draft.submission_id}/attachments/{name}",
        data=data,
        headers={
            **HEADERS,
            "Content-Type": "application/pdf",
            "X-Content-SHA256": sha or hashlib.sha256(data).hexdigest(),
            **(headers or {}),
        },
        timeout=(2, 10),
    )


def status(session, handle, draft):
    return session.get(
        f"{handle.agency_url(draft.agency)}/submissions/{draft.submission_id}",
        headers=HEADERS,
        timeout=(2, 10),
    )


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


# -- the contract ------------------------------------------------------------------------


def test_health_and_unknown_agency(start_agency_sim, http):
    handle = start_agency_sim(agencies=frozenset({"dukcapil", "bpjs"}))
    answer = http.get(handle.agency_url("dukcapil") + "/health", timeout=2)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.headers["Content-Type"] == "application/json"
    missing = http.get(handle.agency_url("samsat") + "/health", timeout=2)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_post_then_byte_identical_replay_then_conflict(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    first = post(http, agency_sim, draft)
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "received"
    assert first.json()["submission_id"] == draft.submission_id
    assert first.json()["agency_ref"].startswith("DUKCAPIL-")

    again = post(http, agency_sim, draft)
    assert again.status_code == 200
    assert again.content == first.content  # the original result, byte for byte

    changed = make_submission("dukcapil", submission_id=draft.submission_id, answers={"x": 2})
    conflict = post(http, agency_sim, changed)
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "idempotency_conflict"

    stats = agency_sim.stats("dukcapil")
    assert stats["submissions"] == 1
    assert stats["replays"] == 1
    assert stats["idempotency_conflicts"] == 1
    assert stats["duplicates_refused"] == 2
    stored = agency_sim.submissions("dukcapil")
    assert [s["body_sha256"] for s in stored] == [hashlib.sha256(draft.body).hexdigest()]
    assert stored[0]["desk"] == "loket-03"


def test_idempotency_is_per_agency(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    other = make_submission("bpjs", submission_id=draft.submission_id)
    assert post(http, agency_sim, draft).status_code == 201
    assert post(http, agency_sim, other).status_code == 201


def test_validation_names_every_bad_field(agency_sim, http, make_submission):
    draft = make_submission(
        "dukcapil",
        applicant={"nik": "12345"},
        form_version="v1",
        finalized_at="28/11/2026",
        checklist=[{"id": "fc-kk", "state": "lost"}],
        attachments=[{"name": "a/b.pdf", "sha256": "XYZ", "size": -1, "content_type": "pdf"}],
        supersedes="not-a-uuid",
    )
    del draft.document["officer"]
    draft.document["agency"] = "imigrasi"
    answer = post(http, agency_sim, draft)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "validation"
    assert body["fields"] == {
        "officer": "required",
        "agency": "must be 'dukcapil', the agency of this endpoint",
        "applicant.nik": "must be 16 digits",
        "form_version": "must be 'sha256:' followed by 64 lower-case hex digits",
        "finalized_at": "must be an ISO 8601 date-time",
        "checklist[0].state": body["fields"]["checklist[0].state"],
        "attachments[0].name": "must be a plain file name (no slashes or control characters)",
        "attachments[0].sha256": "must be 64 lower-case hex digits",
        "attachments[0].size": "must be a non-negative integer",
        "attachments[0].content_type": "must be a media type such as application/pdf",
        "supersedes": "must be null or the UUID of an earlier submission",
    }
    assert "copy" in body["fields"]["checklist[0].state"]
    assert agency_sim.stats("dukcapil")["submissions"] == 0


def test_validation_of_key_canonical_form_and_cancellation(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    wrong_key = post(http, agency_sim, draft, key=str(uuid.uuid4()))
    assert wrong_key.status_code == 422
    assert wrong_key.json()["fields"] == {"submission_id": "must equal the Idempotency-Key header"}

    spaced = json.dumps(draft.document).encode()
    not_canonical = post(http, agency_sim, draft, body=spaced)
    assert not_canonical.status_code == 422
    assert set(not_canonical.json()["fields"]) == {"body"}

    cancel = make_submission("dukcapil", answers={"_cancel": True})
    assert post(http, agency_sim, cancel).json()["fields"] == {
        "supersedes": "a cancellation must name the submission it cancels"
    }
    ok_cancel = make_submission("dukcapil", answers={"_cancel": True}, supersedes=str(uuid.uuid4()))
    assert post(http, agency_sim, ok_cancel).status_code == 201
    foreigner = make_submission("imigrasi", applicant={"paspor": "X1234567"})
    assert post(http, agency_sim, foreigner).status_code == 201


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{not json", {}, "not JSON"),
        (b"\xff\xfe", {}, "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, {}, "not JSON"),
        (b'{"a": NaN}', {}, "not JSON"),
        (b"{}", {"Content-Type": "text/plain"}, "Content-Type"),
        (b"{}", {"Idempotency-Key": ""}, "Idempotency-Key"),
        (b"{}", {"X-MPP-Desk": ""}, "X-MPP-Desk"),
    ],
)
def test_bad_requests_are_400(agency_sim, http, make_submission, body, headers, message):
    draft = make_submission("dukcapil")
    answer = post(http, agency_sim, draft, body=body, headers=headers)
    assert answer.status_code == 400
    assert message in answer.json()["message"]


def test_top_level_array_is_422(agency_sim, http, make_submission):
    answer = post(http, agency_sim, make_submission(), body=b"[]")
    assert answer.status_code == 422
    assert answer.json()["fields"] == {"body": "must be a JSON object"}


def test_same_key_while_first_is_running_is_in_progress(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    agency_sim.set_faults("dukcapil:slow=1:delay=30")
    results: dict[str, requests.Response] = {}

    def first() -> None:
        with requests.Session() as own:
            results["first"] = post(own, agency_sim, draft)

    thread = threading.Thread(target=first)
    thread.start()
    agency_sim.wait_until(lambda: agency_sim.stats("dukcapil")["in_progress"] == 1, what="hold")
    second = post(http, agency_sim, draft)
    assert second.status_code == 409
    assert second.json()["error"] == "in_progress"
    agency_sim.set_faults("")  # wakes the slow request at once
    thread.join(10)
    assert results["first"].status_code == 201
    assert post(http, agency_sim, draft).status_code == 200
    assert agency_sim.stats("dukcapil")["in_progress_refused"] == 1


def test_concurrent_deliveries_of_one_key_store_it_once(agency_sim, make_submission):
    draft = make_submission("dukcapil")
    barrier = threading.Barrier(8)
    codes: list[tuple[int, str | None]] = []

    def deliver() -> None:
        with requests.Session() as own:
            own.get(agency_sim.agency_url("dukcapil") + "/health", timeout=2)  # connect first
            barrier.wait(5)
            answer = post(own, agency_sim, draft)
            codes.append((answer.status_code, answer.json().get("error")))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(codes) == 8
    assert codes.count((201, None)) == 1
    assert set(codes) <= {(201, None), (200, None), (409, "in_progress")}
    assert agency_sim.stats("dukcapil")["submissions"] == 1


def test_attachments_until_complete(agency_sim, http, make_submission):
    draft = make_submission("dukcapil", files={"scan-kk.pdf": b"%PDF kk", "foto.jpg": b"\xff\xd8"})
    assert post(http, agency_sim, draft).status_code == 201
    assert status(http, agency_sim, draft).json()["missing_attachments"] == [
        "foto.jpg",
        "scan-kk.pdf",
    ]

    first = put(http, agency_sim, draft, "scan-kk.pdf")
    assert first.status_code == 201
    assert first.json()["missing_attachments"] == ["foto.jpg"]
    assert put(http, agency_sim, draft, "scan-kk.pdf").status_code == 200

    other = put(http, agency_sim, draft, "foto.jpg", data=b"other bytes")
    assert other.status_code == 409
    assert other.json()["error"] == "attachment_conflict"
    lying = put(http, agency_sim, draft, "foto.jpg", sha=draft.sha256("scan-kk.pdf"))
    assert lying.status_code == 422
    assert lying.json()["fields"] == {"X-Content-SHA256": "does not match the bytes received"}
    no_hash = put(http, agency_sim, draft, "foto.jpg", headers={"X-Content-SHA256": ""})
    assert no_hash.status_code == 422
    draft.files["lain.pdf"] = (b"x", "application/pdf")
    assert put(http, agency_sim, draft, "lain.pdf").status_code == 422

    unknown = make_submission("dukcapil", files={"a.pdf": b"a"})
    assert put(http, agency_sim, unknown, "a.pdf").status_code == 404

    assert put(http, agency_sim, draft, "foto.jpg").status_code == 201
    now = status(http, agency_sim, draft).json()
    assert now["missing_attachments"] == []
    assert agency_sim.stats("dukcapil")["attachments"] == 2


def test_status_moves_only_when_files_are_complete(agency_sim, http, make_submission):
    draft = make_submission("dukcapil", files={"scan.pdf": b"scan"})
    assert post(http, agency_sim, draft).status_code == 201
    blocked = agency_sim.advance("dukcapil", draft.submission_id)
    assert blocked["advanced"] == []
    assert blocked["waiting_for_attachments"] == [
        {"agency": "dukcapil", "submission_id": draft.submission_id}
    ]
    assert put(http, agency_sim, draft, "scan.pdf").status_code == 201
    seen = []
    for _ in range(3):
        agency_sim.advance("dukcapil", draft.submission_id)
        seen.append(status(http, agency_sim, draft).json()["status"])
    assert seen[0] == "processing"
    assert seen[1] in ("completed", "rejected", "needs_info")
    assert status(http, agency_sim, draft).json()["message"]


@pytest.mark.parametrize(
    ("outcome", "path"),
    [
        ("completed", ["processing", "completed", "completed"]),
        ("rejected", ["processing", "rejected", "rejected"]),
        ("needs_info", ["processing", "needs_info", "completed"]),
    ],
)
def test_sim_outcome_decides_the_end(agency_sim, http, make_submission, outcome, path):
    draft = make_submission("bpjs", answers={"_sim_outcome": outcome})
    assert post(http, agency_sim, draft).status_code == 201
    seen = []
    for _ in path:
        agency_sim.advance(None)
        seen.append(status(http, agency_sim, draft).json()["status"])
    assert seen == path


def test_outcome_rule_rejects_and_asks_about_one_in_twenty_each():
    from mppdesk.sync.sim.store import planned_outcome

    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"sub-{i}")) for i in range(4000)]
    outcomes = [planned_outcome(sid, {}) for sid in ids]
    assert 150 < outcomes.count("rejected") < 250
    assert 150 < outcomes.count("needs_info") < 250
    assert planned_outcome(ids[0], {}) == planned_outcome(ids[0], {"x": 1})  # stable
    assert planned_outcome(ids[0], {"_sim_outcome": "rejected"}) == "rejected"


def test_advance_on_a_timer(start_agency_sim, http, make_submission):
    handle = start_agency_sim(advance_after_s=0.02)
    draft = make_submission("dukcapil", answers={"_sim_outcome": "completed"})
    assert post(http, handle, draft).status_code == 201
    seen: list[str] = []

    def completed() -> bool:
        seen.append(status(http, handle, draft).json()["status"])
        return seen[-1] == "completed"

    handle.wait_until(completed, what="completed")
    assert seen[0] in ("received", "processing", "completed")


def test_bearer_tokens(start_agency_sim, http, make_submission):
    handle = start_agency_sim(tokens={"dukcapil": "t-dukcapil", "bpjs": "t-bpjs"})
    draft = make_submission("dukcapil")
    assert http.get(handle.agency_url("dukcapil") + "/health", timeout=2).status_code == 200
    missing = post(http, handle, draft)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = post(http, handle, draft, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    others = post(http, handle, draft, headers={"Authorization": "Bearer t-bpjs"})
    assert others.status_code == 403
    right = post(http, handle, draft, headers={"Authorization": "Bearer t-dukcapil"})
    assert right.status_code == 201
    open_agency = make_submission("samsat")
    assert post(http, handle, open_agency).status_code == 201


def test_store_survives_a_restart(start_agency_sim, http, make_submission, tmp_path):
    db = tmp_path / "durable.sqlite3"
    first = start_agency_sim(db_path=str(db))
    draft = make_submission("dukcapil", files={"a.pdf": b"a"})
    created = post(http, first, draft)
    assert put(http, first, draft, "a.pdf").status_code == 201
    first.stop()
    http.close()

    second = start_agency_sim(db_path=str(db))
    with requests.Session() as fresh:
        replay = post(fresh, second, draft)
        assert replay.status_code == 200
        assert replay.content == created.content
        assert put(fresh, second, draft, "a.pdf").status_code == 200
        assert status(fresh, second, draft).json()["missing_attachments"] == []
    assert second.stats("dukcapil")["submissions"] == 1


def test_keep_alive_has_no_nagle_delay(agency_sim, http, make_submission):
    draft = make_submission()
    post(http, agency_sim, draft)
    # 40 ms per request with Nagle's delayed ACK would take 2 s; a few ms each without. The
    # best of three rounds counts: a busy machine (the other test worker) slows one round,
    # while the delayed ACK slows every round alike.
    rounds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(50):
            assert status(http, agency_sim, draft).status_code == 200
        rounds.append(time.perf_counter() - start)
        if rounds[-1] < 1.0:
            break
    assert min(rounds) < 1.0, rounds


# -- faults ------------------------------------------------------------------------------


def test_injected_status_with_retry_after(agency_sim, http, make_submission):
    agency_sim.set_faults("bpjs:status429=1:retry_after=2,*:status503=0")
    answer = post(http, agency_sim, make_submission("bpjs"))
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "2"
    assert answer.json()["error"] == "injected"
    assert post(http, agency_sim, make_submission("dukcapil")).status_code == 201
    assert agency_sim.stats("bpjs")["submissions"] == 0
    assert agency_sim.stats("bpjs")["faults_injected"] == {"status429": 1}


def test_drop_after_commit_stores_then_hangs_up(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    agency_sim.set_faults("dukcapil:drop_after_commit=1")
    with pytest.raises(requests.ConnectionError):
        post(http, agency_sim, draft)
    assert agency_sim.stats("dukcapil")["submissions"] == 1
    agency_sim.set_faults("")
    replay = post(http, agency_sim, draft)
    assert replay.status_code == 200


def test_refuse_and_unauthorized_windows(agency_sim, http, make_submission):
    agency_sim.set_faults("imigrasi:refuse_for=60,polri:unauthorized_for=60")
    with pytest.raises(requests.ConnectionError):
        http.get(agency_sim.agency_url("imigrasi") + "/health", timeout=2)
    assert post(http, agency_sim, make_submission("polri")).status_code == 401
    assert http.get(agency_sim.agency_url("polri") + "/health", timeout=2).status_code == 200
    assert post(http, agency_sim, make_submission("bpjs")).status_code == 201
    agency_sim.set_faults("imigrasi:refuse_for=0")  # a window of 0 s is already over
    assert http.get(agency_sim.agency_url("imigrasi") + "/health", timeout=2).status_code == 200


def test_fault_draws_are_reproducible():
    def draws(seed: int) -> list[int | None]:
        plan = FaultPlan.from_spec("*:status500=0.5,dukcapil:status503=0.3", seed, 0.0)
        return [
            plan.decide(agency, has_body=True, is_health=False, now=1.0).status
            for agency in ["dukcapil", "bpjs"] * 30
        ]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert {500, 503, None} <= set(draws(7))


def test_an_agency_rule_replaces_the_star_rule():
    plan = FaultPlan.from_spec("*:slow=1:delay=2,bpjs:slow=0", 1, 0.0)
    assert plan.decide("dukcapil", has_body=False, is_health=False, now=0).slow_delay == 2
    assert plan.decide("bpjs", has_body=False, is_health=False, now=0).slow_delay is None


def test_fault_spec_round_trips():
    spec = (
        "dukcapil:drop_after_commit=0.2,*:status500=0.1,bpjs:status429=0.1:retry_after=2,"
        "*:slow=0.05:delay=1.5,imigrasi:refuse_for=10,polri:unauthorized_for=5"
    )
    rules = parse_fault_spec(spec)
    assert len(rules) == 6
    assert rules[2].param("retry_after") == 2
    assert FaultPlan(rules, 0, 0).spec == spec
    assert parse_fault_spec("  ") == ()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("dukcapil", "fault rule 1 'dukcapil': expected SCOPE:FAULT=VALUE"),
        ("*:status500=0.1,", "fault rule 2 '': empty rule"),
        ("Dukcapil:slow=1", "scope 'Dukcapil' is neither '*' nor an agency code"),
        ("*:explode=1", "unknown fault 'explode'"),
        ("*:status200=1", "injected statuses are 400 to 599"),
        ("*:status500=1.5", "status500 is a probability, between 0 and 1"),
        ("*:status500=lots", "status500 needs a number, got 'lots'"),
        ("*:slow=1:dealy=2", "slow takes no parameter 'dealy' (parameters: delay)"),
        ("*:refuse_for=-1", "refuse_for is a number of seconds, not negative"),
        ("*:slow=0.1,*:slow=0.2", "fault rule 2 '*:slow=0.2': *:slow is given twice"),
        ("*:slow", "'slow' should be NAME=VALUE"),
        ("*:status500=nan", "needs a finite number"),
    ],
)
def test_fault_spec_errors_name_the_bad_part(spec, expected):
    with pytest.raises(FaultSpecError) as error:
        parse_fault_spec(spec)
    assert expected in str(error.value)


def test_admin_refuses_a_bad_spec_and_keeps_the_old_one(agency_sim, http):
    agency_sim.set_faults("*:slow=0")
    answer = http.post(agency_sim.url + "/_admin/faults", json={"spec": "*:nope=1"}, timeout=2)
    assert answer.status_code == 422
    assert "unknown fault 'nope'" in answer.json()["fields"]["spec"]
    assert http.get(agency_sim.url + "/_admin/faults", timeout=2).json()["spec"] == "*:slow=0"
    as_text = http.post(
        agency_sim.url + "/_admin/faults",
        data=b"bpjs:status500=1",
        headers={"Content-Type": "text/plain"},
        timeout=2,
    )
    assert as_text.json() == {"spec": "bpjs:status500=1", "seed": 0}


# -- garbage and rude clients ------------------------------------------------------------


def raw_exchange(handle, payload: bytes, *, half_close: bool = True) -> bytes:
    host, port = handle.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "payload",
    [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /dukcapil/health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
        b"GET /%ff%fe/health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"FROB /dukcapil/health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HEAD /dukcapil/health HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /dukcapil/submissions HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n"
        b"Idempotency-Key: k\r\nContent-Length: nope\r\n\r\n",
        b"POST /dukcapil/submissions HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n"
        b"Idempotency-Key: k\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"POST /dukcapil/submissions HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n"
        b"Idempotency-Key: k\r\nContent-Length: 999999999999\r\n\r\n{}",
        b"PUT /dukcapil/submissions/x/attachments/y HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n\r\n",
        b"POST /_admin/advance HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnull",
        b'POST /_admin/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n{"spec": 5}',
        b"GET /_admin/submissions?agency=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_garbage_gets_a_4xx_and_the_server_lives_on(agency_sim, http, payload):
    answer = raw_exchange(agency_sim, payload)
    if answer:
        status_line = answer.split(b"\r\n", 1)[0]
        code = int(status_line.split()[1])
        assert 400 <= code < 500, status_line
    assert http.get(agency_sim.agency_url("dukcapil") + "/health", timeout=2).status_code == 200


def test_client_that_disconnects_mid_body_stores_nothing(agency_sim, http, make_submission):
    draft = make_submission("dukcapil")
    head = (
        f"POST /dukcapil/submissions HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n"
        f"Content-Type: application/json\r\nIdempotency-Key: {draft.submission_id}\r\n"
        f"Content-Length: {len(draft.body)}\r\n\r\n"
    ).encode()
    assert raw_exchange(agency_sim, head + draft.body[:20]) == b""
    assert agency_sim.stats("dukcapil")["submissions"] == 0
    assert post(http, agency_sim, draft).status_code == 201  # and the key is free again


def test_keep_alive_survives_an_unread_error_body(agency_sim, make_submission):
    draft = make_submission("dukcapil")
    request = (
        f"POST /dukcapil/submissions HTTP/1.1\r\nHost: x\r\nX-MPP-Desk: d\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(draft.body)}\r\n\r\n"
    ).encode() + draft.body  # no Idempotency-Key: 400 before the body is read
    second = b"GET /dukcapil/health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = raw_exchange(agency_sim, request + second)
    assert answer.startswith(b"HTTP/1.1 400")
    assert answer.count(b"HTTP/1.1 200 OK") == 1


def test_no_server_error_under_random_requests(agency_sim, http, make_submission):
    """A small seeded fuzz over the four endpoints: everything answers, nothing 5xx."""
    import random

    rng = random.Random(5)
    drafts = [make_submission(rng.choice(["dukcapil", "bpjs"]), files={"a.pdf": b"a"})
              for _ in range(5)]  # fmt: skip
    seen = set()
    for _ in range(150):
        draft = rng.choice(drafts)
        action = rng.randrange(4)
        if action == 0:
            body = draft.body
            if rng.random() < 0.4:
                cut = rng.randrange(len(body))
                body = body[:cut] + bytes([rng.randrange(256)]) + body[cut + 1 :]
            answer = post(http, agency_sim, draft, body=body)
        elif action == 1:
            data = rng.choice([b"a", b"b", b""])
            answer = put(http, agency_sim, draft, "a.pdf", data=data)
        elif action == 2:
            answer = status(http, agency_sim, draft)
        else:
            answer = http.get(agency_sim.url + rng.choice(["/", "/x/y/z", "/dukcapil/submissions"]))
        seen.add(answer.status_code)
        assert answer.status_code < 500, answer.text
    assert {200, 201, 404} <= seen


# -- the command ---------------------------------------------------------------------------


def test_command_listens_serves_and_stops_on_sigterm(start_agency_sim_process, make_submission):
    handle = start_agency_sim_process(
        "--agencies", "dukcapil,bpjs", "--token", "bpjs=rahasia", "--faults", "bpjs:slow=0"
    )
    draft = make_submission("dukcapil")
    with requests.Session() as session:
        assert session.get(handle.agency_url("dukcapil") + "/health", timeout=5).ok
        assert post(session, handle, draft).status_code == 201
        assert post(session, handle, make_submission("bpjs")).status_code == 401
        assert session.get(handle.agency_url("pdam") + "/health", timeout=5).status_code == 404
    assert handle.stats()["faults"] == "bpjs:slow=0"
    handle.process.send_signal(signal.SIGTERM)
    assert handle.process.wait(10) == 0
    # The store file holds what was acknowledged, readable by anyone after the stop.
    import sqlite3

    with sqlite3.connect(handle.db_path) as db:
        rows = db.execute("SELECT submission_id FROM submissions").fetchall()
    assert rows == [(draft.submission_id,)]


def test_command_refuses_bad_options(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mppdesk", "agency-sim", "--port", "0", "--faults", "*:boom=1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--faults: fault rule 1 '*:boom=1': unknown fault 'boom'" in result.stderr
    assert result.stdout == ""


# -- the OpenAPI file ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def response_schema(openapi: dict, path: str, method: str, code: int) -> dict:
    responses = openapi["paths"][path][method]["responses"]
    response = responses.get(str(code)) or responses.get(f"{str(code)[0]}XX")
    assert response is not None, f"{method.upper()} {path} does not document {code}"
    while "$ref" in response:
        response = resolve(openapi, response["$ref"])
    return response["content"]["application/json"]["schema"]


def resolve(openapi: dict, ref: str) -> dict:
    node = openapi
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_describes_the_contract(openapi):
    assert openapi["openapi"].startswith("3.1")
    assert set(openapi["paths"]) == {
        "/health",
        "/submissions",
        "/submissions/{submission_id}",
        "/submissions/{submission_id}/attachments/{name}",
    }
    post_op = openapi["paths"]["/submissions"]["post"]
    assert {"200", "201", "400", "401", "403", "404", "409", "422", "429"} <= set(
        post_op["responses"]
    )
    headers = {p["name"] if "name" in p else resolve(openapi, p["$ref"])["name"]
               for p in post_op["parameters"]}  # fmt: skip
    assert {"Idempotency-Key", "X-MPP-Desk"} <= headers
    assert "bearerAuth" in openapi["components"]["securitySchemes"]
    body_schema = post_op["requestBody"]["content"]["application/json"]["schema"]
    submission = resolve(openapi, body_schema["$ref"])
    from mppdesk.sync.sim.validation import REQUIRED_KEYS

    assert set(submission["required"]) == set(REQUIRED_KEYS)


def test_sim_answers_validate_against_the_openapi_schemas(
    openapi, start_agency_sim, http, make_submission
):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:agency-sync", Resource.from_contents(openapi, default_specification=DRAFT202012)
    )
    checked: set[tuple[str, str, int]] = set()

    def check(answer: requests.Response, path: str, method: str) -> None:
        schema = response_schema(openapi, path, method, answer.status_code)
        validator = jsonschema.Draft202012Validator(
            {"$ref": "urn:agency-sync" + schema["$ref"]}, registry=registry
        )
        errors = [e.message for e in validator.iter_errors(answer.json())]
        assert not errors, (method, path, answer.status_code, errors)
        checked.add((method, path, answer.status_code))

    handle = start_agency_sim(tokens={"dukcapil": "t", "bpjs": "u"})
    auth = {"Authorization": "Bearer t"}
    draft = make_submission("dukcapil", files={"a.pdf": b"a"})
    check(http.get(handle.agency_url("dukcapil") + "/health", timeout=2), "/health", "get")
    check(post(http, handle, draft), "/submissions", "post")  # 401
    check(post(http, handle, draft, headers={"Authorization": "Bearer u"}), "/submissions", "post")
    check(post(http, handle, draft, headers=auth), "/submissions", "post")
    check(post(http, handle, draft, headers=auth), "/submissions", "post")
    changed = make_submission("dukcapil", submission_id=draft.submission_id, answers={})
    check(post(http, handle, changed, headers=auth), "/submissions", "post")
    check(post(http, handle, make_submission(officer=""), headers=auth), "/submissions", "post")
    check(post(http, handle, draft, body=b"{", headers=auth), "/submissions", "post")
    att = "/submissions/{submission_id}/attachments/{name}"
    check(put(http, handle, draft, "a.pdf", data=b"b", headers=auth), att, "put")
    check(put(http, handle, draft, "a.pdf", headers=auth), att, "put")
    check(put(http, handle, draft, "a.pdf", headers=auth), att, "put")
    check(put(http, handle, make_submission(), "a.pdf", data=b"a", headers=auth), att, "put")
    check(put(http, handle, draft, "a.pdf", sha="0" * 64, headers=auth), att, "put")
    one = "/submissions/{submission_id}"
    for sid in (draft.submission_id, str(uuid.uuid4())):
        answer = http.get(
            handle.agency_url("dukcapil") + f"/submissions/{sid}",
            headers={**HEADERS, **auth},
            timeout=2,
        )
        check(answer, one, "get")
    handle.set_faults("dukcapil:status503=1:retry_after=3")
    check(post(http, handle, make_submission(), headers=auth), "/submissions", "post")
    check(http.get(handle.agency_url("dukcapil") + "/health", timeout=2), "/health", "get")
    handle.set_faults("dukcapil:status429=1")
    check(put(http, handle, draft, "a.pdf", headers=auth), att, "put")
    handle.set_faults("")
    codes = {(p, c) for _, p, c in checked}
    assert {c for p, c in codes if p == "/submissions"} == {200, 201, 400, 401, 403, 409, 422, 503}
    assert {c for p, c in codes if p == att} == {200, 201, 404, 409, 422, 429}
    assert {c for p, c in codes if p == one} == {200, 404}


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_refs_resolve_and_schemas_are_valid(openapi):
    import jsonschema

    for ref in _refs(openapi):
        assert ref.startswith("#/"), ref
        resolve(openapi, ref)  # raises KeyError when dangling
    for schema in openapi["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_submission_schema_agrees_with_the_sim(openapi, make_submission):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:agency-sync", Resource.from_contents(openapi, default_specification=DRAFT202012)
    )
    validator = jsonschema.Draft202012Validator(
        {"$ref": "urn:agency-sync#/components/schemas/Submission"}, registry=registry
    )
    good = make_submission("dukcapil", files={"a.pdf": b"a"}, supersedes=str(uuid.uuid4()))
    assert list(validator.iter_errors(good.document)) == []
    for bad in (
        {"applicant": {"nik": "123"}},
        {"form_version": "v1"},
        {"checklist": [{"id": "x", "state": "lost"}]},
        {"attachments": [{"name": "a", "sha256": "A" * 64, "size": 1, "content_type": "x/y"}]},
        {"supersedes": "nope"},
    ):
        assert list(validator.iter_errors(make_submission(**bad).document)), bad
    incomplete = make_submission().document
    del incomplete["proxy"]
    assert list(validator.iter_errors(incomplete))


def test_the_sim_imports_only_the_standard_library_and_core():
    """A program of its own: it must keep working whatever the desk's layers do."""
    import ast
    import sys

    import mppdesk.sync.sim as sim_package

    outside = []
    for path in sorted(Path(sim_package.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "mppdesk" and (
                    name == "mppdesk.core" or name.startswith("mppdesk.core.")
                ):
                    continue
                if name.startswith("mppdesk.sync.sim"):
                    continue
                if top != "mppdesk" and top in sys.stdlib_module_names:
                    continue
                outside.append(f"{path.name}: {name}")
    assert outside == []
