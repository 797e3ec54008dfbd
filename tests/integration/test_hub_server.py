"""The mall hub over real HTTP on loopback (uvicorn in a thread), on a real PostgreSQL (one
fresh database for this module) and on SQLite: push order, idempotency, all-or-nothing, the
audit chain, tokens, limits, pull, tickets, conflicts, review, TLS, and no personal data in
clear in the database."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
import ssl
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy
import yaml

from mppdesk.core.audit_chain import GENESIS, event_hash
from mppdesk.hub.app import RateLimiter, create_app, served_routes
from mppdesk.hub.catalog import catalog_digest, read_overrides
from mppdesk.hub.server import init_hub, open_store, serve_in_thread
from tests.hub_fixtures import hub_on_backend

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "resources" / "protocol" / "hub-sync.openapi.yaml"
PG_ENV = "MPPDESK_TEST_PG_URL"
NIK = "3174051203870007"
NAME = "SITI NURHALIZA WIBISONO"
PHONE = "081298765432"
_codes = itertools.count(1)


def new_desk_code() -> str:
    return f"D{next(_codes):02d}{uuid.uuid4().hex[:4].upper()}"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hubkey") / "hub.key"


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def hub(request, key_file, tmp_path_factory):
    """One hub per backend for the module; every test enrolls desks of its own."""
    with hub_on_backend(request, key_file, tmp_path_factory) as handle:
        yield handle


@pytest.fixture(scope="module")
def pg_hub(pg_module_url, key_file):
    init_hub(pg_module_url, key_file=key_file)
    handle = serve_in_thread(pg_module_url, key_file=key_file)
    handle.db_url = pg_module_url
    yield handle
    handle.stop()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


class DeskClient:
    """A desk as the hub sees it: a code, a token, an officer, and a journal of its own."""

    def __init__(self, hub, session: requests.Session, code: str | None = None):
        self.hub = hub
        self.http = session
        self.code = code or new_desk_code()
        self.token = hub.store.add_desk(self.code)
        self.seq = 0
        self.head = GENESIS
        self.audit_id = 0

    def headers(self, officer: str | None = None, token: str | None = None) -> dict:
        headers = {
            "Authorization": f"Bearer {token or self.token}",
            "X-MPP-Desk": self.code,
        }
        if officer:
            headers["X-MPP-Officer"] = officer
        return headers

    def record(self, kind: str, entity: str, body: dict) -> dict:
        self.seq += 1
        return {"seq": self.seq, "kind": kind, "id": entity, "body": body}

    def audit(self, action: str, details: dict | None = None) -> dict:
        self.audit_id += 1
        at = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=self.audit_id)
        details = details or {}
        digest = event_hash(self.head, at, "ani", action, "visit", str(self.audit_id), details)
        body = {
            "at": at.isoformat(timespec="microseconds"),
            "actor": "ani",
            "action": action,
            "object_type": "visit",
            "object_id": str(self.audit_id),
            "details": details,
            "prev_hash": self.head,
            "hash": digest,
        }
        self.head = digest
        return self.record("audit", str(self.audit_id), body)

    def push(self, records: list[dict], **kwargs) -> requests.Response:
        return self.http.post(
            self.hub.url + "/v1/push",
            json={"desk": self.code, "records": records},
            headers=self.headers(**kwargs),
            timeout=20,
        )

    def post(self, path: str, body: dict, officer: str | None = None) -> requests.Response:
        return self.http.post(
            self.hub.url + path, json=body, headers=self.headers(officer), timeout=20
        )

    def get(self, path: str, officer: str | None = None, **params) -> requests.Response:
        return self.http.get(
            self.hub.url + path, params=params, headers=self.headers(officer), timeout=20
        )

    def pull_all(self, since: int = 0) -> tuple[int, list[dict]]:
        items = []
        while True:
            answer = self.get("/v1/pull", since=since)
            assert answer.status_code == 200, answer.text
            data = answer.json()
            items += data["items"]
            since = data["cursor"]
            if not data["more"]:
                return since, items


def visit(local_date: str = "2026-12-02") -> dict:
    return {"id": str(uuid.uuid4()), "local_date": local_date, "created_at": local_date + "T01:00:00+00:00"}


def submission(status: str = "queued", local_date: str = "2026-12-02", agency: str = "dukcapil") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "tracking_number": "TRK-" + uuid.uuid4().hex[:10].upper(),
        "agency": agency,
        "service": f"{agency}/ktp-el",
        "status": status,
        "local_date": local_date,
        "answers": {"nik": NIK, "nama": NAME},
    }


def stored(hub, desk: str) -> dict[str, int]:
    return hub.store.stats()["desks"].get(desk, {})


def acked(hub, code: str) -> int:
    return next(d["acked"] for d in hub.store.list_desks() if d["desk"] == code)


# -- the contract file -------------------------------------------------------------------------


def test_openapi_and_app_serve_the_same_routes(tmp_path, key_file):
    spec = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    }
    url = "sqlite:///" + str(tmp_path / "hub.db")
    init_hub(url, key_file=key_file)
    store = open_store(url, key_file=key_file)
    try:
        assert served_routes(create_app(store)) == documented
    finally:
        store.engine.dispose()
    prose = (OPENAPI_PATH.parent / "hub-sync.md").read_text(encoding="utf-8")
    for _method, path in documented:
        assert path.split("{")[0].rstrip("/") in prose, path


def test_answers_validate_against_the_openapi_schemas(hub, http):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    spec = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
    registry = Registry().with_resource(
        "urn:hub-sync", Resource.from_contents(spec, default_specification=DRAFT202012)
    )

    def check(answer: requests.Response, path: str, method: str) -> None:
        response = spec["paths"][path][method]["responses"][str(answer.status_code)]
        if "$ref" in response:
            ref = response["$ref"]
            schema = {"$ref": "urn:hub-sync" + ref + "/content/application~1json/schema"}
        else:
            schema = response["content"]["application/json"]["schema"]
            schema = json.loads(
                json.dumps(schema).replace('"#/components', '"urn:hub-sync#/components')
            )
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
        errors = [e.message for e in validator.iter_errors(answer.json())]
        assert not errors, (method, path, answer.status_code, errors)

    desk = DeskClient(hub, http)
    hub.store.add_user("spv_" + desk.code.lower(), "supervisor", "$argon2id$x")
    spv = "spv_" + desk.code.lower()
    check(http.get(hub.url + "/v1/health", timeout=5), "/v1/health", "get")
    held = submission("held")
    check(desk.push([desk.record("submission", held["id"], held), desk.audit("a")]), "/v1/push", "post")
    check(desk.push([desk.record("visit", "v", visit())]), "/v1/push", "post")
    desk.seq += 5
    check(desk.push([desk.record("visit", "w", visit())]), "/v1/push", "post")  # 409 gap
    check(desk.get("/v1/pull", since=0), "/v1/pull", "get")
    check(desk.post("/v1/tickets", {"group": "Q"}), "/v1/tickets", "post")
    check(desk.post("/v1/tickets", {"group": "??"}), "/v1/tickets", "post")
    check(desk.post("/v1/login-failures", {"username": "x", "ok": False}), "/v1/login-failures", "post")
    lookup = {"id_kind": "nik", "id_number": "3174000000000001"}
    check(desk.post("/v1/applicants/lookup", lookup, "ani"), "/v1/applicants/lookup", "post")
    check(desk.get("/v1/review/queue", spv), "/v1/review/queue", "get")
    check(desk.get("/v1/review/queue", "nobody"), "/v1/review/queue", "get")
    decide = "/v1/review/{submission_id}"
    check(desk.post(f"/v1/review/{held['id']}", {"decision": "approved"}, spv), decide, "post")
    check(desk.post("/v1/review/unknown", {"decision": "approved"}, spv), decide, "post")
    check(desk.get("/v1/reports/daily", spv, date="2026-12-02"), "/v1/reports/daily", "get")
    resolve = "/v1/conflicts/{conflict_id}/resolve"
    check(desk.post("/v1/conflicts/999999/resolve", {"value": 1}, spv), resolve, "post")
    bad = dict(desk.headers(), Authorization="Bearer nope")
    check(http.get(hub.url + "/v1/pull", headers=bad, timeout=5), "/v1/pull", "get")


# -- push ----------------------------------------------------------------------------------------


def test_push_is_ordered_idempotent_and_refuses_gaps(hub, http):
    desk = DeskClient(hub, http)
    first = [desk.record("visit", f"v{i}", visit()) for i in range(3)]
    answer = desk.push(first)
    assert answer.status_code == 200 and answer.json() == {"acked": 3}
    # The same batch again (an answer lost on the way back): acknowledged, stored once.
    assert desk.push(first).json() == {"acked": 3}
    assert stored(hub, desk.code)["visits"] == 3
    # A batch that overlaps what is stored: the old part is ignored, the new part stored.
    more = [desk.record("visit", f"v{i}", visit()) for i in range(3, 6)]
    answer = desk.push(first[1:] + more)
    assert answer.json() == {"acked": 6}
    assert stored(hub, desk.code)["visits"] == 6
    # A gap: seq 8 when 7 is next.
    desk.seq += 1
    gap = desk.push([desk.record("visit", "v9", visit())])
    assert gap.status_code == 409
    assert gap.json()["error"] == {
        "code": "sequence_gap",
        "message": gap.json()["error"]["message"],
        "expected": 7,
    }
    # Records of a batch must be consecutive.
    holes = [{"seq": 7, "kind": "visit", "id": "a", "body": {}},
             {"seq": 9, "kind": "visit", "id": "b", "body": {}}]  # fmt: skip
    answer = desk.push(holes)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid"
    assert acked(hub, desk.code) == 6
    # A later record of the same entity replaces the earlier (state-based), never a second row.
    desk.seq = 6
    body = submission("queued")
    desk.push([desk.record("submission", body["id"], body)])
    body["status"] = "accepted"
    assert desk.push([desk.record("submission", body["id"], body)]).json() == {"acked": 8}
    assert stored(hub, desk.code)["submissions"] == 1
    assert hub.store.stats()["duplicates"] == 0


def test_stats_count_a_submission_or_tracking_number_stored_twice(tmp_path, key_file, http):
    url = "sqlite:///" + str(tmp_path / "dup.db")
    init_hub(url, key_file=key_file)
    with serve_in_thread(url, key_file=key_file) as handle:
        a, b = DeskClient(handle, http), DeskClient(handle, http)
        same = submission()
        a.push([a.record("submission", same["id"], same)])
        assert handle.store.stats()["duplicates"] == 0
        b.push([b.record("submission", same["id"], dict(same, tracking_number="TRK-OTHER"))])
        assert handle.store.stats()["duplicates"] == 1  # one id at two desks
        clash = dict(submission(), tracking_number=same["tracking_number"])
        b.push([b.record("submission", clash["id"], clash)])
        stats = handle.store.stats()
        assert stats["duplicates"] == 2  # and one tracking number on two submissions
        assert stats["totals"]["submissions"] == 3


def test_a_batch_is_stored_all_or_nothing(hub, http):
    desk = DeskClient(hub, http)
    good = [desk.record("visit", f"v{i}", visit()) for i in range(4)]
    bad = {"seq": desk.seq + 1, "kind": "selfie", "id": "x", "body": {}}
    answer = desk.push([*good, bad])
    assert answer.status_code == 400
    assert answer.json()["error"]["field"] == "records[4].kind"
    assert stored(hub, desk.code)["visits"] == 0 and acked(hub, desk.code) == 0
    # A broken audit event in the middle: nothing before it is kept either.
    desk.seq = 0
    records = [desk.record("visit", "v1", visit()), desk.audit("visit.finalized")]
    tampered = desk.audit("visit.finalized")
    tampered["body"]["details"] = {"edited": True}
    records += [tampered, desk.record("visit", "v2", visit())]
    answer = desk.push(records)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "chain_broken"
    assert answer.json()["error"]["seq"] == 3
    assert stored(hub, desk.code)["visits"] == 0 and acked(hub, desk.code) == 0


def test_the_audit_chain_is_verified_across_batches_and_a_break_is_shown(hub, http):
    desk = DeskClient(hub, http)
    assert desk.push([desk.audit("login"), desk.audit("visit.started")]).json() == {"acked": 2}
    assert desk.push([desk.record("visit", "v", visit()), desk.audit("visit.finalized")]).json() == {
        "acked": 4
    }
    listed = next(d for d in hub.store.list_desks() if d["desk"] == desk.code)
    assert listed["audit_head"] == desk.head and listed["chain_error"] is None
    # An event deleted on the desk: the next one's prev_hash no longer meets the hub's head.
    desk.audit("deleted.later")
    desk.seq -= 1
    orphan = desk.audit("after.deletion")
    answer = desk.push([orphan])
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "chain_broken" and error["seq"] == 5
    assert "previous hash" in error["message"]
    listed = next(d for d in hub.store.list_desks() if d["desk"] == desk.code)
    assert listed["chain_error"]["seq"] == 5 and listed["acked"] == 4


def test_tokens_unknown_foreign_and_revoked_answer_401(hub, http):
    desk = DeskClient(hub, http)
    other = DeskClient(hub, http)
    assert desk.get("/v1/pull").status_code == 200
    for headers in (
        {"X-MPP-Desk": desk.code},
        {"Authorization": "Bearer not-a-token", "X-MPP-Desk": desk.code},
        {"Authorization": f"Bearer {other.token}", "X-MPP-Desk": desk.code},
        {"Authorization": f"Bearer {desk.token}"},
    ):
        answer = http.get(hub.url + "/v1/pull", headers=headers, timeout=5)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
    assert hub.store.revoke_desk(desk.code)
    answer = desk.push([desk.record("visit", "v", visit())])
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "revoked"
    assert other.get("/v1/pull").status_code == 200
    # Only the token's SHA-256 is stored.
    engine = sqlalchemy.create_engine(hub.db_url)
    try:
        with engine.connect() as conn:
            tokens = [r[0] for r in conn.exec_driver_sql("SELECT token_sha256 FROM hub_desks")]
    finally:
        engine.dispose()
    assert other.token not in tokens and len(tokens[0]) == 64


def test_a_body_over_8_mib_is_refused_with_413(pg_hub, http):
    desk = DeskClient(pg_hub, http)
    blob = "x" * (8 * 1024 * 1024)
    answer = desk.push([desk.record("visit", "big", {"pad": blob})])
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert acked(pg_hub, desk.code) == 0
    # Just under the cap goes through.
    desk.seq = 0
    answer = desk.push([desk.record("visit", "ok", {"pad": "y" * (7 * 1024 * 1024)})])
    assert answer.status_code == 200


def test_a_desk_over_its_rate_is_answered_429_with_retry_after(pg_module_url, key_file, http):
    init_hub(pg_module_url, key_file=key_file)
    with serve_in_thread(
        pg_module_url, key_file=key_file, rate_limiter=RateLimiter(rate=1.0, burst=3)
    ) as handle:
        desk = DeskClient(handle, http)
        other = DeskClient(handle, http)
        codes = [desk.get("/v1/pull").status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200]
        assert 429 in codes[3:]
        limited = desk.get("/v1/pull")
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) >= 1
        # The limit is per desk: another desk is served meanwhile.
        assert other.get("/v1/pull").status_code == 200


# -- pull ----------------------------------------------------------------------------------------


def test_pull_brings_users_catalog_agency_holidays_and_own_review_decisions(hub, http, tmp_path):
    desk = DeskClient(hub, http)
    other = DeskClient(hub, http)
    start, _ = desk.pull_all()
    other_start, _ = other.pull_all()
    name = "ani_" + desk.code.lower()
    hub.store.add_user(name, "officer", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    hub.store.disable_user(name)
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    shutil.copy(ROOT / "resources" / "catalog" / "agencies.yaml", overrides / "agencies.yaml")
    files, digest = read_overrides(overrides)
    hub.store.publish_catalog(files, digest)
    hub.store.set_agency("dukcapil", {"base_url": "https://dukcapil.example", "api_token": "SECRET"})
    hub.store.set_holidays(2999, ["2999-01-01", "2999-03-20"])
    held = submission("held")
    desk.push([desk.record("submission", held["id"], held)])
    spv = "spv_" + desk.code.lower()
    hub.store.add_user(spv, "supervisor", "$argon2id$x")
    decided = other.post(f"/v1/review/{held['id']}", {"decision": "approved", "reason": None}, spv)
    assert decided.status_code == 200 and decided.json()["desk"] == desk.code

    cursor, items = desk.pull_all(start)
    mine = [i for i in items if i["kind"] != "user" or i["body"]["username"] in (name, spv)]
    kinds = [i["kind"] for i in mine]
    assert kinds == ["user", "user", "catalog", "agency", "holidays", "user", "review"]
    assert mine[0]["body"]["disabled"] is False and mine[1]["body"]["disabled"] is True
    assert mine[0]["body"]["full_name"] == name  # sealed at the hub, opened for the desk
    assert "full_name_enc" not in mine[0]["body"]
    assert mine[1]["body"]["password_hash"].startswith("$argon2id$")
    assert "password" not in mine[1]["body"]
    catalog = mine[2]["body"]
    assert catalog["sha256"] == catalog_digest(catalog["files"]) == digest
    assert set(catalog["files"]) == {"agencies.yaml"}
    assert mine[3]["body"] == {"agency": "dukcapil", "base_url": "https://dukcapil.example"}
    assert mine[4]["body"] == {"year": 2999, "dates": ["2999-01-01", "2999-03-20"]}
    assert mine[6]["body"]["submission_id"] == held["id"]
    assert mine[6]["body"]["decision"] == "approved" and mine[6]["body"]["actor"] == spv
    # The decision is for the owning desk only; a second pull from the cursor is empty.
    _, theirs = other.pull_all(other_start)
    assert not [i for i in theirs if i["kind"] == "review"]
    again = desk.get("/v1/pull", since=cursor).json()
    assert again["items"] == [] and again["cursor"] == cursor


def test_pull_pages_by_1000(pg_hub, http):
    desk = DeskClient(pg_hub, http)
    start, _ = desk.pull_all()
    # 1101 holiday items, written in one statement (1101 admin commands would take seconds).
    from mppdesk.hub import schema

    with pg_hub.store.engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(schema.feed),
            [
                {"kind": "holidays", "desk": None, "at": "2026-12-02T00:00:00+00:00",
                 "body_json": json.dumps({"year": year, "dates": [f"{year:04d}-01-01"]})}
                for year in range(1000, 2101)
            ],
        )  # fmt: skip
    first = desk.get("/v1/pull", since=start).json()
    assert len(first["items"]) == 1000 and first["more"] is True
    rest = desk.get("/v1/pull", since=first["cursor"]).json()
    assert rest["more"] is False and len(rest["items"]) == 101
    assert rest["items"][-1]["body"]["year"] == 2100


def test_bad_pull_cursor_is_invalid(hub, http):
    desk = DeskClient(hub, http)
    for since in ("-1", "abc", str(2**63)):
        answer = desk.get("/v1/pull", since=since)
        assert answer.status_code == 400 and answer.json()["error"]["field"] == "since"


# -- tickets, lockout -----------------------------------------------------------------------------


def test_tickets_are_unique_per_group_per_day_under_concurrent_desks(hub, http):
    desks = [DeskClient(hub, requests.Session()) for _ in range(4)]
    group = "T" + uuid.uuid4().hex[:3].upper()
    barrier = threading.Barrier(len(desks) * 5)

    def take(desk: DeskClient) -> str:
        barrier.wait(10)
        answer = desk.post("/v1/tickets", {"group": group})
        assert answer.status_code == 200, answer.text
        return answer.json()["number"]

    try:
        with ThreadPoolExecutor(len(desks) * 5) as pool:
            numbers = list(pool.map(take, [d for d in desks for _ in range(5)]))
            numbers += list(pool.map(take, [d for d in desks for _ in range(5)]))
    finally:
        for desk in desks:
            desk.http.close()
    assert len(numbers) == 40 and len(set(numbers)) == 40
    assert sorted(numbers) == [f"{group}-{n:03d}" for n in range(1, 41)]
    other = DeskClient(hub, http).post("/v1/tickets", {"group": "Z" + group[1:]}).json()
    assert other["number"].endswith("-001")


def test_login_failures_lock_the_name_across_desks(hub, http):
    a, b = DeskClient(hub, http), DeskClient(hub, http)
    name = "lock_" + a.code.lower()
    hub.store.add_user(name, "officer", "$argon2id$x")
    answers = []
    for i in range(5):
        desk = a if i % 2 else b
        answers.append(desk.post("/v1/login-failures", {"username": name, "ok": False}).json())
    assert [x["locked_until"] is None for x in answers] == [True] * 4 + [False]
    # Still locked for a success reported at another desk.
    again = a.post("/v1/login-failures", {"username": name, "ok": True}).json()
    assert again["locked_until"] is not None


# -- applicants -------------------------------------------------------------------------------------


def applicant(number: str, name: str, version: int | None = None, **profile) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "id_kind": "nik",
        "id_number": number,
        "name": name,
        "profile": profile,
        "base_version": version,
    }


def test_conflicting_offline_edits_are_kept_side_by_side_and_settled(hub, http):
    a, b, c = DeskClient(hub, http), DeskClient(hub, http), DeskClient(hub, http)
    number = "3171" + uuid.uuid4().int.__str__()[:12]
    spv = "spv_" + a.code.lower()
    hub.store.add_user(spv, "supervisor", "$argon2id$x")
    first = applicant(number, "BUDI SANTOSO", None, telepon="081200000001", alamat="JL MAWAR 1")
    assert a.push([a.record("applicant", first["id"], first)]).status_code == 200
    found = c.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number}, "ani").json()
    assert found["found"] is True
    assert found["applicant"]["name"] == "BUDI SANTOSO" and found["applicant"]["version"] == 1
    assert found["applicant"]["profile"] == {"telepon": "081200000001", "alamat": "JL MAWAR 1"}
    # Desk B, from version 1, changes the phone; desk A, also from version 1 and offline,
    # changes the phone too and the address.
    from_b = applicant(number, "BUDI SANTOSO", 1, telepon="081200000002", alamat="JL MAWAR 1")
    assert b.push([b.record("applicant", from_b["id"], from_b)]).status_code == 200
    from_a = dict(first, base_version=1, profile={"telepon": "081200000003", "alamat": "JL MELATI 2"})
    assert a.push([a.record("applicant", first["id"], from_a)]).status_code == 200
    found = c.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number}, "ani").json()
    record = found["applicant"]
    assert record["version"] == 3
    assert record["profile"] == {"telepon": "081200000003", "alamat": "JL MELATI 2"}
    [conflict] = record["conflicts"]
    assert conflict["field"] == "telepon"
    assert [(v["value"], v["desk"]) for v in conflict["values"]] == [
        ("081200000002", b.code),
        ("081200000003", a.code),
    ]
    # Desk B pushes its applicant again unchanged: its stale phone does not overwrite A's.
    assert b.push([b.record("applicant", from_b["id"], dict(from_b, base_version=1))]).ok
    record = c.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number}, "ani").json()
    assert record["applicant"]["profile"]["telepon"] == "081200000003"
    assert len(record["applicant"]["conflicts"]) == 1
    # An officer cannot settle it; a supervisor can, and the version moves on.
    path = f"/v1/conflicts/{conflict['id']}/resolve"
    assert a.post(path, {"value": "081200000002"}, "ani").status_code == 403
    settled = a.post(path, {"value": "081200000002"}, spv)
    assert settled.status_code == 200 and settled.json() == {"applicant_version": 4}
    record = c.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number}, "ani").json()
    assert record["applicant"]["profile"]["telepon"] == "081200000002"
    assert record["applicant"]["conflicts"] == []
    assert a.post(path, {"value": "x"}, spv).status_code == 404


def test_lookup_is_audited_by_desk_officer_and_keyed_hash(hub, http):
    desk = DeskClient(hub, http)
    number = "3172" + str(uuid.uuid4().int)[:12]
    missing = desk.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number}, "ani")
    assert missing.json() == {"found": False}
    no_officer = desk.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": number})
    assert no_officer.status_code == 400
    engine = sqlalchemy.create_engine(hub.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT desk, officer, subject_hash, found FROM hub_access_log WHERE desk = '"
                + desk.code
                + "'"
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    assert rows[0][:2] == (desk.code, "ani") and not rows[0][3]
    assert rows[0][2] == hub.store.key.lookup_hash("nik", number) and number not in rows[0][2]


# -- review and reports --------------------------------------------------------------------------------


def test_review_queue_spans_desks_and_needs_a_supervisor(hub, http):
    a, b = DeskClient(hub, http), DeskClient(hub, http)
    spv = "spv_" + a.code.lower()
    hub.store.add_user(spv, "supervisor", "$argon2id$x")
    hub.store.add_user("off_" + a.code.lower(), "officer", "$argon2id$x")
    held_a, held_b, queued = submission("held"), submission("held"), submission("queued")
    a.push([a.record("submission", held_a["id"], held_a), a.record("submission", queued["id"], queued)])
    b.push([b.record("submission", held_b["id"], held_b)])
    queue = b.get("/v1/review/queue", spv).json()["items"]
    ids = {item["submission_id"]: item for item in queue}
    assert held_a["id"] in ids and held_b["id"] in ids and queued["id"] not in ids
    assert ids[held_a["id"]]["desk"] == a.code
    assert ids[held_a["id"]]["tracking_number"] == held_a["tracking_number"]
    assert NIK not in json.dumps(queue) and NAME not in json.dumps(queue)
    for officer in ("off_" + a.code.lower(), "nobody", None):
        answer = b.get("/v1/review/queue", officer)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    bad = b.post(f"/v1/review/{held_a['id']}", {"decision": "maybe"}, spv)
    assert bad.status_code == 400
    assert b.post(f"/v1/review/{held_a['id']}", {"decision": "returned", "reason": "KK buram"}, spv).ok
    # Desk B decided at its own counter for its own submission: pushed as a review record.
    b.push([b.record("review", "r1", {"submission_id": held_b["id"], "decision": "approved"})])
    queue = {i["submission_id"] for i in b.get("/v1/review/queue", spv).json()["items"]}
    assert held_a["id"] not in queue and held_b["id"] not in queue
    # The hub's decision reaches desk A (the owner) by pull, not desk B.
    _, items = a.pull_all()
    reviews = [i["body"] for i in items if i["kind"] == "review"]
    assert [(r["submission_id"], r["decision"], r["reason"]) for r in reviews] == [
        (held_a["id"], "returned", "KK buram")
    ]


def test_daily_report_counts_the_mall_day_by_desk(hub, http):
    a, b = DeskClient(hub, http), DeskClient(hub, http)
    spv = "spv_" + a.code.lower()
    hub.store.add_user(spv, "supervisor", "$argon2id$x")
    day = "2031-0" + str(1 + next(_codes) % 9) + "-1" + str(next(_codes) % 10)
    a.push([a.record("visit", "v1", visit(day)), a.record("visit", "v2", visit(day))]
           + [a.record("submission", s["id"], s) for s in (submission("queued", day),
                                                            submission("held", day, "bpjs"))])  # fmt: skip
    b.push([b.record("visit", "v1", visit(day)), b.record("visit", "v0", visit("2031-12-31"))])
    report = a.get("/v1/reports/daily", spv, date=day).json()
    assert report.pop("billing")["collected"] == {}  # the mall's money: test_hub_billing.py
    assert report.pop("tickets")["groups"] == {}  # the queue: test_hub_ticket_resend.py
    assert report == {
        "date": day,
        "desks": {a.code: {"visits": 2, "submissions": 2}, b.code: {"visits": 1, "submissions": 0}},
        "by_agency": {"dukcapil": 1, "bpjs": 1},
        "by_status": {"queued": 1, "held": 1},
        "totals": {"visits": 3, "submissions": 2},
    }
    assert a.get("/v1/reports/daily", spv, date="2031-13-45").status_code == 400
    assert a.get("/v1/reports/daily", "ani", date=day).status_code == 403


# -- security --------------------------------------------------------------------------------------------


def test_no_nik_name_or_phone_in_clear_in_the_postgresql_dump(pg_hub, http):
    desk = DeskClient(pg_hub, http)
    person = applicant(NIK, NAME, None, telepon=PHONE, alamat="JL KENANGA 7", tanggal_lahir="1987-03-12")
    sub = submission("held")
    records = [
        desk.record("applicant", person["id"], person),
        desk.record("visit", "v1", dict(visit(), applicant={"nik": NIK, "nama": NAME})),
        desk.record("submission", sub["id"], sub),
        desk.audit("visit.finalized", {"nik": NIK, "phone": PHONE}),
        desk.record("applicant_change", "c1", {"field": "telepon", "new": PHONE}),
    ]
    assert desk.push(records).status_code == 200
    found = desk.post("/v1/applicants/lookup", {"id_kind": "nik", "id_number": NIK}, "ani").json()
    assert found["applicant"]["name"] == NAME and found["applicant"]["id_number"] == NIK
    # Sealed, not lost: the hub key opens what the desk sent, and nothing else does.
    assert pg_hub.store.record_body(desk.code, "submission", sub["id"]) == sub
    assert pg_hub.store.record_body(desk.code, "audit", "1")["details"] == {"nik": NIK, "phone": PHONE}
    officer = "Rina Kartikasari Wulandari"
    pg_hub.store.add_user("rina_" + desk.code.lower(), "officer", "$argon2id$x", officer)
    dump = _dump(pg_hub.db_url)
    assert "hub_records" in dump and "hub_applicants" in dump  # the dump did read the tables
    assert "rina_" + desk.code.lower() in dump  # ... and the users table with its feed
    for secret in (NIK, NAME, PHONE, "JL KENANGA 7", NIK[:4] + " " + NIK[4:], officer):
        assert secret not in dump, f"{secret!r} found in clear in the hub database"


def test_connections_lost_by_the_database_answer_503_and_the_push_then_stores(pg_hub, http):
    """Connections the database dropped (a restart, a failover) under the hub's pool: a push
    is answered 503 (the desk retries), never 500, and stores again once the pool reconnects."""
    import psycopg

    desk = DeskClient(pg_hub, http)
    assert desk.push([desk.record("visit", "v1", visit())]).status_code == 200
    url = sqlalchemy.engine.make_url(pg_hub.db_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                         password=url.password, dbname=url.database, autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert dropped >= 1
    record = desk.record("visit", "v2", visit())
    statuses = []
    for _ in range(45):  # each dead pooled connection fails once, then is replaced
        answer = desk.push([record])
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            assert answer.json() == {"acked": record["seq"]}
            break
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["code"] == "unavailable"
    assert statuses[0] == 503 and statuses[-1] == 200
    assert statuses.count(503) <= dropped


def test_officer_names_stored_in_clear_before_0003_are_sealed_by_hub_init(hub, http, key_file):
    desk = DeskClient(hub, http)
    start, _ = desk.pull_all()
    username = "lama_" + desk.code.lower()
    hub.store.add_user(username, "officer", "$argon2id$x", "Siti Lama")
    with hub.store.engine.begin() as conn:  # as a hub before 0003 wrote it: in clear, twice
        conn.execute(sqlalchemy.text(
            "UPDATE hub_users SET full_name = 'Siti Lama', full_name_enc = NULL"
            " WHERE username = :u"), {"u": username})
        feed = conn.execute(sqlalchemy.text(
            "SELECT cursor, body_json FROM hub_feed WHERE kind = 'user' ORDER BY cursor DESC"
        )).first()
        body = json.loads(feed.body_json)
        body.pop("full_name_enc")
        body["full_name"] = "Siti Lama"
        conn.execute(sqlalchemy.text("UPDATE hub_feed SET body_json = :b WHERE cursor = :c"),
                     {"b": json.dumps(body), "c": feed.cursor})

    init_hub(hub.db_url, key_file=key_file)  # the upgrade an admin runs

    with hub.store.engine.connect() as conn:
        clear = conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM hub_users WHERE full_name LIKE '%Siti Lama%'")).scalar_one()
        in_feed = conn.execute(sqlalchemy.text(
            "SELECT count(*) FROM hub_feed WHERE body_json LIKE '%Siti Lama%'")).scalar_one()
    assert clear == 0 and in_feed == 0
    _, items = desk.pull_all(start)
    mine = [i["body"] for i in items if i["kind"] == "user" and i["body"]["username"] == username]
    assert [b["full_name"] for b in mine] == ["Siti Lama"]


def _dump(url: str) -> str:
    parsed = sqlalchemy.engine.make_url(url)
    if shutil.which("pg_dump"):
        result = subprocess.run(
            ["pg_dump", "--data-only", "--no-owner", "-h", parsed.host or "127.0.0.1",
             "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres", parsed.database],
            env=dict(os.environ, PGPASSWORD=parsed.password or ""),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode == 0:
            return result.stdout
    engine = sqlalchemy.create_engine(url)
    parts = []
    try:
        with engine.connect() as conn:
            inspector = sqlalchemy.inspect(conn)
            for table in inspector.get_table_names():
                parts.append(table)
                for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"'):
                    parts.append(repr(tuple(row)))
    finally:
        engine.dispose()
    return "\n".join(parts)


def _make_ca_and_server_cert(directory: Path, common_name: str) -> tuple[Path, Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "hub.pem", directory / "hub.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


def test_tls_serve_is_verified_against_the_desks_ca(pg_module_url, key_file, tmp_path, http):
    ca_file, cert_file, tls_key = _make_ca_and_server_cert(tmp_path / "good", "MPP Hub CA")
    stranger_ca, _, _ = _make_ca_and_server_cert(tmp_path / "other", "Someone Else CA")
    init_hub(pg_module_url, key_file=key_file)
    with serve_in_thread(
        pg_module_url, key_file=key_file, cert=cert_file, key=tls_key
    ) as handle:
        assert handle.url.startswith("https://127.0.0.1:")
        answer = http.get(handle.url + "/v1/health", verify=str(ca_file), timeout=5)
        assert answer.status_code == 200 and answer.json()["ok"] is True
        with pytest.raises(requests.exceptions.SSLError):
            http.get(handle.url + "/v1/health", verify=str(stranger_ca), timeout=5)
        with pytest.raises(requests.exceptions.SSLError):
            http.get(handle.url + "/v1/health", timeout=5)  # system store: not trusted either
        context = ssl.create_default_context(cafile=str(ca_file))
        assert context.verify_mode == ssl.CERT_REQUIRED
        # Closed here, before the hub stops: a TLS connection still open at shutdown would be
        # waiting for the client's close_notify when the loop ends.
        http.close()


def test_plain_http_off_loopback_is_refused(pg_module_url, key_file):
    with pytest.raises(ValueError, match="loopback"):
        serve_in_thread(pg_module_url, host="0.0.0.0", key_file=key_file)
