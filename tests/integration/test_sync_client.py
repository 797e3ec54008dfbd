"""The agency client against the real reference server on loopback: every answer of the
protocol, and every way the network fails, come back as an Answer (never an exception) that
the sync policy classifies as the protocol says."""

from __future__ import annotations

import hashlib
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import urllib3

from mppdesk.core.sync_policy import Expected, OutcomeKind, classify
from mppdesk.sync.client import AgencyClient, Answer

DESK = "loket-03"


def outcome(answer: Answer, now: datetime | None = None, expect: Expected | None = None):
    return classify(
        answer.status_code,
        answer.body,
        answer.error_kind,
        retry_after=answer.retry_after,
        now=now or datetime.now(UTC),
        expect=expect,
        body_problem=answer.body_problem,
        detail=answer.detail,
    )


@pytest.fixture
def client_for():
    clients: list[AgencyClient] = []

    def make(handle, agency: str = "dukcapil", token: str | None = None, **kwargs: Any):
        kwargs.setdefault("connect_timeout", 2.0)
        kwargs.setdefault("read_timeout", 5.0)
        client = AgencyClient(handle.agency_url(agency), token, DESK, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def put_file(client: AgencyClient, draft, name: str) -> Answer:
    data, content_type = draft.files[name]
    return client.put_attachment(draft.submission_id, name, data, content_type, draft.sha256(name))


def test_delivered_then_replay_then_conflict(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    assert client.health() is True
    draft = make_submission("dukcapil")

    first = client.post_submission(draft.submission_id, draft.body)
    assert first.status_code == 201
    assert first.error_kind is None and first.ok
    posted = Expected("post", draft.submission_id)
    delivered = outcome(first, expect=posted)
    assert delivered.kind is OutcomeKind.DELIVERED
    assert delivered.agency_ref == first.body["agency_ref"]
    assert delivered.agency_status == "received"

    replay = client.post_submission(draft.submission_id, draft.body)
    assert replay.status_code == 200
    assert replay.body == first.body
    assert outcome(replay, expect=posted).kind is OutcomeKind.DELIVERED
    # The same answer for another submission proves nothing about this one.
    other = Expected("post", make_submission("dukcapil").submission_id)
    assert outcome(replay, expect=other).reason == "other_submission"

    changed = make_submission("dukcapil", submission_id=draft.submission_id, answers={})
    conflict = client.post_submission(draft.submission_id, changed.body)
    assert conflict.status_code == 409
    assert outcome(conflict).kind is OutcomeKind.CONFLICT
    assert outcome(conflict).reason == "idempotency_conflict"
    assert agency_sim.stats("dukcapil")["submissions"] == 1


def test_body_bytes_are_sent_exactly_as_given(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil", answers={"nama_ibu": "Sité Ñurhayati", "catatan": "✓"})
    body = draft.body
    assert b"\xc3\xa9" in body  # UTF-8, not \u escapes: re-encoding would change the bytes
    assert client.post_submission(draft.submission_id, body).status_code == 201
    stored = agency_sim.submissions("dukcapil")[0]
    assert stored["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert stored["desk"] == DESK


def test_validation_reasons_reach_the_outcome(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil", applicant={"nik": "31710"})
    answer = client.post_submission(draft.submission_id, draft.body)
    assert answer.status_code == 422
    failed = outcome(answer)
    assert failed.kind is OutcomeKind.FAILED
    assert dict(failed.fields) == {"applicant.nik": "must be 16 digits"}
    assert failed.message == answer.error_message == "the agency refuses the content"


def test_credentials_401_403_pause_and_the_right_token_delivers(
    start_agency_sim, client_for, make_submission
):
    handle = start_agency_sim(tokens={"dukcapil": "rahasia-dukcapil", "bpjs": "rahasia-bpjs"})
    draft = make_submission("dukcapil")
    for token, code in ((None, 401), ("salah", 401), ("rahasia-bpjs", 403)):
        answer = client_for(handle, token=token).post_submission(draft.submission_id, draft.body)
        assert answer.status_code == code
        assert outcome(answer).kind is OutcomeKind.PAUSED
        assert not outcome(answer).burns_attempt
    good = client_for(handle, token="rahasia-dukcapil")
    assert good.post_submission(draft.submission_id, draft.body).status_code == 201
    assert "rahasia" not in repr(good)


def test_unknown_agency_404_pauses(start_agency_sim, client_for, make_submission):
    handle = start_agency_sim(agencies=frozenset({"dukcapil"}))
    draft = make_submission("samsat")
    answer = client_for(handle, "samsat").post_submission(draft.submission_id, draft.body)
    assert answer.status_code == 404
    assert outcome(answer).kind is OutcomeKind.PAUSED


def test_attachment_cut_by_the_server_is_retried_alone(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    scan = bytes(range(256)) * 4096  # 1 MiB: the server hangs up halfway through it
    draft = make_submission("dukcapil", files={"scan-kk.pdf": scan, "foto.jpg": b"\xff\xd8"})
    assert client.post_submission(draft.submission_id, draft.body).status_code == 201
    assert put_file(client, draft, "foto.jpg").status_code == 201

    agency_sim.set_faults("dukcapil:drop_midway=1")
    cut = put_file(client, draft, "scan-kk.pdf")
    assert cut.status_code is None
    assert cut.error_kind == "reset", cut.error_message
    assert outcome(cut).kind is OutcomeKind.RETRY
    assert client.get_status(draft.submission_id).status_code is not None  # GETs unaffected
    assert client.get_status(draft.submission_id).body["missing_attachments"] == ["scan-kk.pdf"]

    agency_sim.set_faults("")
    retried = put_file(client, draft, "scan-kk.pdf")
    assert retried.status_code == 201
    assert retried.body["missing_attachments"] == []
    stats = agency_sim.stats("dukcapil")
    assert (stats["submissions"], stats["attachments"], stats["duplicates_refused"]) == (1, 2, 0)


def test_attachment_cut_by_the_client_is_retried_alone(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil", files={"scan.pdf": b"%PDF" + bytes(50_000)})
    assert client.post_submission(draft.submission_id, draft.body).status_code == 201
    data, _ = draft.files["scan.pdf"]
    host, port = agency_sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            (
                f"PUT /dukcapil/submissions/{draft.submission_id}/attachments/scan.pdf HTTP/1.1\r\n"
                f"Host: x\r\nX-MPP-Desk: {DESK}\r\nX-Content-SHA256: {draft.sha256('scan.pdf')}\r\n"
                f"Content-Type: application/pdf\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
            + data[:10_000]
        )  # and the desk loses power
    assert client.get_status(draft.submission_id).body["missing_attachments"] == ["scan.pdf"]
    assert put_file(client, draft, "scan.pdf").status_code == 201
    assert client.get_status(draft.submission_id).body["missing_attachments"] == []


def test_answer_lost_after_commit_then_retry_is_a_replay(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil")
    agency_sim.set_faults("dukcapil:drop_after_commit=1")
    lost = client.post_submission(draft.submission_id, draft.body)
    assert (lost.status_code, lost.error_kind) == (None, "reset")
    agency_sim.set_faults("")
    again = client.post_submission(draft.submission_id, draft.body)
    assert again.status_code == 200
    assert agency_sim.stats("dukcapil")["submissions"] == 1


def test_refused_when_the_server_is_stopped(start_agency_sim, client_for, make_submission):
    handle = start_agency_sim()
    client = client_for(handle)
    draft = make_submission("dukcapil")
    assert client.health()  # a kept-alive connection exists now
    handle.stop()
    answer = client.post_submission(draft.submission_id, draft.body)
    assert answer.status_code is None
    assert answer.error_kind == "refused", answer.error_message
    assert "Connection refused" in answer.error_message
    assert client.health() is False
    assert outcome(answer).kind is OutcomeKind.RETRY


def test_slow_answer_hits_the_read_timeout(agency_sim, client_for, make_submission):
    client = client_for(agency_sim, read_timeout=0.2)
    draft = make_submission("dukcapil")
    agency_sim.set_faults("dukcapil:slow=1:delay=30")
    start = time.monotonic()
    answer = client.post_submission(draft.submission_id, draft.body)
    elapsed = time.monotonic() - start
    assert (answer.status_code, answer.error_kind) == (None, "timeout")
    assert elapsed < 10.0  # the 0.2 s read timeout, not the 30 s answer (slack for a busy CPU)
    assert outcome(answer).kind is OutcomeKind.RETRY
    agency_sim.set_faults("")  # releases the held request, which then stores it
    agency_sim.wait_until(lambda: agency_sim.stats("dukcapil")["submissions"] == 1, what="stored")
    assert client.post_submission(draft.submission_id, draft.body).status_code == 200


def test_connect_timeout_to_a_listener_that_never_accepts(client_for):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    try:
        port = listener.getsockname()[1]
        # Fill the accept backlog so the next connect hangs in SYN_SENT.
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        client = AgencyClient(f"http://127.0.0.1:{port}/x", None, DESK, 0.2, 0.2)
        answer = client.get_status("a")
        client.close()
        assert answer.status_code is None
        assert answer.error_kind == "timeout", answer.error_message
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_tls_to_a_plain_http_server_is_a_tls_error(agency_sim):
    client = AgencyClient(
        agency_sim.url.replace("http://", "https://") + "/dukcapil", None, DESK, 2, 2
    )
    answer = client.get_status("x")
    client.close()
    assert (answer.status_code, answer.error_kind) == (None, "tls")


def test_retry_after_and_server_errors_are_retries(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil")
    agency_sim.set_faults("dukcapil:status429=1:retry_after=7")
    limited = client.post_submission(draft.submission_id, draft.body)
    assert (limited.status_code, limited.retry_after) == (429, "7")
    assert outcome(limited).kind is OutcomeKind.RETRY
    assert outcome(limited).retry_after_s == 7.0
    agency_sim.set_faults("dukcapil:status500=1")
    broken = client.post_submission(draft.submission_id, draft.body)
    assert broken.status_code == 500
    assert outcome(broken).reason == "http_500"
    assert client.health() is False
    agency_sim.set_faults("dukcapil:refuse_for=60")
    refused = client.post_submission(draft.submission_id, draft.body)
    assert (refused.status_code, refused.error_kind) == (None, "reset")
    agency_sim.set_faults("")
    assert client.post_submission(draft.submission_id, draft.body).status_code == 201


def test_status_and_unknown_submission(agency_sim, client_for, make_submission):
    client = client_for(agency_sim)
    draft = make_submission("dukcapil", answers={"_sim_outcome": "rejected"})
    client.post_submission(draft.submission_id, draft.body)
    agency_sim.advance("dukcapil", draft.submission_id)
    agency_sim.advance("dukcapil", draft.submission_id)
    answer = client.get_status(draft.submission_id)
    assert answer.body["status"] == "rejected"
    assert answer.body["message"]
    assert client.get_status("00000000-0000-0000-0000-000000000000").status_code == 404


class RecordingPoolManager(urllib3.PoolManager):
    """A real urllib3 pool manager whose pools remember each request's arguments (the headers
    among them are exactly what goes on the wire, urllib3 adding only Host and framing)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        super().__init__()

    @property  # type: ignore[override]
    def pool_classes_by_scheme(self) -> dict[str, type]:
        return self._classes

    @pool_classes_by_scheme.setter
    def pool_classes_by_scheme(self, classes: dict[str, type]) -> None:
        # The client installs its watched pools here; each is wrapped to record its calls.
        calls = self.calls

        def recording(base: type) -> type:
            class Recording(base):  # type: ignore[valid-type, misc]
                def urlopen(self, method, url, *args, **kwargs):  # type: ignore[override]
                    calls.append({"method": method, "url": url, "pool": self, **kwargs})
                    return super().urlopen(method, url, *args, **kwargs)

            return Recording

        self._classes = {scheme: recording(cls) for scheme, cls in classes.items()}


def test_every_call_has_timeouts_verification_and_headers(agency_sim, make_submission):
    manager = RecordingPoolManager()
    client = AgencyClient(agency_sim.agency_url("bpjs"), "tok", DESK, 1.5, 4.0, manager)
    draft = make_submission("bpjs", files={"a b/c.pdf".replace("/", "_"): b"x"})
    body = draft.body
    client.health()
    client.post_submission(draft.submission_id, body)
    put_file(client, draft, "a b_c.pdf")
    client.get_status(draft.submission_id)
    client.close()  # a given pool manager is not the client's to close
    assert manager.request("GET", agency_sim.agency_url("bpjs") + "/health", timeout=2).status == 200
    manager.clear()
    assert [c["method"] for c in manager.calls[:4]] == ["GET", "POST", "PUT", "GET"]
    for call in manager.calls[:4]:
        assert (call["timeout"].connect_timeout, call["timeout"].read_timeout) == (1.5, 4.0)
        assert call["retries"] is False  # the outbox owns retries
        assert call["redirect"] is False
        assert call["preload_content"] is False  # streamed, under the deadline and the cap
        assert call["pool"].pool.maxsize == client.max_connections  # kept-alive connections
        sent = call["headers"]
        assert sent["X-MPP-Desk"] == DESK
        assert sent["Authorization"] == "Bearer tok"
    post_call = manager.calls[1]
    assert post_call["body"] is body
    assert post_call["headers"]["Idempotency-Key"] == draft.submission_id
    assert post_call["headers"]["Content-Type"] == "application/json"
    assert manager.calls[2]["url"].endswith("/attachments/a%20b_c.pdf")


def test_an_https_agency_is_always_verified(tmp_path):
    """No TLS connection is made without verifying the certificate and the hostname."""
    manager = RecordingPoolManager()
    client = AgencyClient("https://127.0.0.1:9/dukcapil", None, DESK, 1, 1, manager)
    try:
        answer = client.health()
    finally:
        client.close()
        manager.clear()
    assert answer is False
    pool = manager.calls[0]["pool"]
    assert pool.cert_reqs == ssl.CERT_REQUIRED
    assert pool.conn_kw["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert pool.assert_hostname is None  # urllib3 matches the hostname itself


def test_redirects_are_not_followed(client_for):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        client = AgencyClient(f"http://127.0.0.1:{server.server_address[1]}", None, DESK, 1, 1)
        answer = client.post_submission("k", b"{}")
        client.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert answer.status_code == 307
    assert outcome(answer).kind is OutcomeKind.PAUSED


@pytest.mark.parametrize(
    "url", ["ftp://agency/x", "agency.example/x", "http://", "http://a/x?token=1"]
)
def test_bad_base_url_is_refused_at_construction(url):
    with pytest.raises(ValueError, match="base URL"):
        AgencyClient(url, None, DESK, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"desk_id": "loket-é"}, "desk_id"),
        ({"desk_id": "  "}, "desk_id"),
        ({"token": "a\r\nX-Evil: 1"}, "token"),
        ({"connect_timeout": 0}, "timeout"),
    ],
)
def test_bad_settings_are_refused_at_construction(kwargs, match):
    settings = {"token": None, "desk_id": DESK, "connect_timeout": 1, "read_timeout": 1}
    settings.update(kwargs)
    with pytest.raises(ValueError, match=match):
        AgencyClient("http://127.0.0.1:9/dukcapil", **settings)


def test_a_body_that_is_not_bytes_is_a_bug_not_a_network_error(agency_sim, client_for):
    client = client_for(agency_sim)
    with pytest.raises(TypeError, match="frozen payload bytes"):
        client.post_submission("k", '{"a":1}')  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="submission_id"):
        client.post_submission("kunci-ß", b"{}")


def test_netrc_credentials_never_reach_an_agency(agency_sim, tmp_path, monkeypatch):
    port = agency_sim.port
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    manager = RecordingPoolManager()
    client = AgencyClient(f"http://127.0.0.1:{port}/dukcapil", None, DESK, 1, 2, manager)
    assert client.health()
    client.close()
    manager.clear()
    assert "Authorization" not in manager.calls[0]["headers"]
    with RecordingSession() as plain:  # what a bare requests call would have sent
        plain.get(f"http://127.0.0.1:{port}/dukcapil/health", timeout=2)
    assert plain.sent_headers[0]["Authorization"].startswith("Basic ")


class RecordingSession(requests.Session):
    """A real requests session that remembers the headers it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_headers: list[dict[str, str]] = []

    def send(self, request, **kwargs):  # type: ignore[override]
        self.sent_headers.append(dict(request.headers))
        return super().send(request, **kwargs)


def test_a_ca_bundle_that_cannot_be_read_is_an_answer_not_a_crash(tmp_path, monkeypatch):
    """The environment's CA bundle is read once, when the client is built; a missing or
    unreadable one comes back on every call as an error the outbox retries and shows, as
    requests reported it per call, and nothing goes out unverified."""
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with AgencyClient("https://127.0.0.1:9/dukcapil", None, DESK, 1, 1) as client:
        missing = client.get_status("x")
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(not_pem))
    with AgencyClient("https://127.0.0.1:9/dukcapil", None, DESK, 1, 1) as client:
        garbage = client.get_status("x")
    assert (missing.status_code, missing.error_kind) == (None, "other")
    assert "No such file" in missing.error_message
    assert (garbage.status_code, garbage.error_kind) == (None, "tls")
    assert outcome(garbage).kind is OutcomeKind.RETRY
