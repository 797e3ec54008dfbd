"""The mall hub on PostgreSQL (issue 13): ingest, replication lag, look-up, daily report.

Needs a PostgreSQL server: ``MPPDESK_BENCH_PG_URL`` (else ``MPPDESK_TEST_PG_URL``), a URL of
a database the user may ``CREATE DATABASE`` from; each run makes a fresh database and drops it.
Without one, one line says the module is skipped and no result is returned.

The hub is the real program, ``mppdesk hub serve`` in a process of its own (so the desks'
threads here never share its interpreter); the desks use the desk's own code: its hub client
(``mppdesk.sync.hub_client.HubClient``), its hub lane (``HubLane``), its look-up and mall
report (``mppdesk.desk.hub``). Each result carries its floor measured in the same run:

- ``hub_ingest``: 20 desks push at once (20 threads, each its own ``HubClient``, batches of
  500 journal records as desks build them: visits, applicants, submissions, checklists,
  outbox states and a valid audit chain). Floor: the same rows (already sealed, as the hub
  stores them) inserted by 20 psycopg connections in batches of 500 with
  ``ON CONFLICT DO NOTHING`` into a copy of the hub's table. Goal: ratio >= 0.5.
- ``replication_lag``: 20 desks (each its own encrypted SQLite store and hub lane) each
  finalize one visit a second; a sample is the time from the desk's commit to the visit's row
  being visible at the hub (a poller on PostgreSQL every 20 ms). Floor: rows inserted straight
  into PostgreSQL by 20 psycopg writers at the same pace, seen by the same poller. Goal:
  p95 <= 2 s (``extra``, the issue's goal); ratio <= 50 (the 2 s budget over a floor of 10-40 ms).
- ``mall_lookup``: a desk's NIK look-up through the hub (``mppdesk.desk.hub.lookup``: the
  hub's answer, the desk's audit, the local cache) over 1,000,000 hub applicants (20,000
  with --quick). Floor: the hub's own query on a psycopg connection (by keyed hash) and the
  decryption of the row. Goal: p95 <= 50 ms (``extra``, the issue's goal); ratio <= 100 (50 ms
  over the ~0.5 ms floor). ``extra`` also holds the HTTP exchange alone (``hub_call_*``).
- ``mall_daily_aggregates``: the mall daily report a supervisor reads through a desk
  (``mppdesk.desk.hub.mall_daily_report``) over 100 desks and 10,000,000 submissions
  (200,000 with --quick) plus their visits, made server-side with ``INSERT … SELECT
  generate_series`` in the hub's own table, each body sealed by the hub's key
  (``HubKey.seal_json``; the secondary indexes built after the load, as a restore does), and
  a bill for every fourth submission in ``hub_billing`` (the report's money, issue 14), and
  a busy queue in ``hub_tickets`` (issue 14): 5,000 tickets a day over 8 groups, 7 days with
  --quick, a year at full size. Floor: the report's eight queries (three of them the money's,
  two the queue's: the day's tickets fetched whole, the clock notes) on a psycopg connection. Goal: p95 <= 500 ms (``extra``,
  the issue's goal); ratio <= 10 (the fixed cost of one HTTP exchange over a query of a few ms at CI sizes).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.harness import Result, cost_result, percentile, rate_result

DESKS = 20
BATCH = 500
PASSWORD = "rahasia-bench-1"
LAG_GOAL_S = 2.0
LOOKUP_GOAL_MS = 50.0
REPORT_GOAL_MS = 500.0
REPORT_DAY = date(2026, 11, 27)


def _admin_url() -> str | None:
    return os.environ.get("MPPDESK_BENCH_PG_URL") or os.environ.get("MPPDESK_TEST_PG_URL")


def _conninfo(url: str) -> dict:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432,
            "user": parsed.username, "password": parsed.password, "dbname": parsed.database}


class Mall:
    """A fresh hub database, the hub key, ``mppdesk hub serve`` and enrolled desks."""

    def __init__(self, admin_url: str, root: Path):
        import sqlalchemy

        self.root = root
        self.admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"mppdesk_bench_hub_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {self.name} TEMPLATE template0 ENCODING 'UTF8'"
                                 " LC_COLLATE 'C' LC_CTYPE 'C'")
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name
        self.key_file = root / "hub.key"
        from mppdesk.hub.server import init_hub, open_store

        init_hub(self.url, key_file=self.key_file)
        self.store = open_store(self.url, key_file=self.key_file)
        self.process: subprocess.Popen | None = None
        self.hub_url = ""

    def serve(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mppdesk", "hub", "serve", "--db", self.url, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "MPPDESK_HUB_KEY_FILE": str(self.key_file),
                 "PYTHONUNBUFFERED": "1"},
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(f"the hub did not start: {line!r}")
        self.hub_url = line.removeprefix("listening on ")

    def psycopg(self):
        import psycopg

        return psycopg.connect(**_conninfo(self.url))

    def close(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)
            self.process.stdout.close()
        self.store.engine.dispose()
        drop_database(self.admin, self.name)
        self.admin.dispose()


def drop_database(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    """Drop a bench database. A plain DROP first: it stops an autovacuum worker busy on the
    freshly loaded tables itself, which ``WITH (FORCE)`` may not do without the right to
    signal it (InsufficientPrivilege); FORCE then for a client the run left connected."""
    import sqlalchemy.exc

    with admin.connect() as conn:
        try:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        except sqlalchemy.exc.OperationalError:  # still in use: another session
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _reachable(url: str) -> str | None:
    """None when PostgreSQL answers, else why not (one line)."""
    try:
        import psycopg

        psycopg.connect(**_conninfo(url), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: skip with the reason
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def run(quick: bool) -> list[Result]:
    url = _admin_url()
    problem = "neither MPPDESK_BENCH_PG_URL nor MPPDESK_TEST_PG_URL is set" if not url else None
    problem = problem or _reachable(url)
    if problem:
        print(f"bench_hub: skipped, no PostgreSQL reachable ({problem})", flush=True)
        return []
    root = Path(tempfile.mkdtemp(prefix="mppdesk-bench-hub-"))
    os.environ.setdefault("MPPDESK_KEY_FILE", str(root / "desk-key" / "desk.key"))
    results: list[Result] = []
    try:
        for step in (_hub_ingest, _replication_lag, _mall_lookup, _mall_daily_aggregates):
            mall = Mall(url, root / step.__name__)
            try:
                results.append(step(mall, quick))
            finally:
                mall.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


# --- desks ------------------------------------------------------------------------------------


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _service(catalog) -> str:
    """A service with no attachments and no approval: one submission per visit."""
    for code in sorted(catalog.services):
        service = catalog.service(code)
        if (service.agency == "dukcapil" and not service.examples[0].attachments
                and not service.requires_approval):
            return code
    raise RuntimeError("no dukcapil service without attachments")


def _visit_request(catalog, serial: int):
    from mppdesk.desk.intake import parse_visit

    code = _service(catalog)
    example = catalog.service(code).examples[0]
    applicant = dict(example.applicant)
    if "nik" in applicant:
        applicant["nik"] = applicant["nik"][:12] + f"{serial % 9999 + 1:04d}"
    return parse_visit({"ticket": "B-001", "applicant": applicant, "services": [
        {"service": code, "answers": dict(example.answers),
         "checklist": dict(example.checklist)}]})


def _desks(mall: Mall, count: int, template: Path):
    """``count`` desks joined to the hub: data dirs copied from one fresh store."""
    from mppdesk.desk import hub as desk_hub
    from mppdesk.desk.runtime import open_runtime

    runtimes = []
    for i in range(count):
        data_dir = mall.root / f"K{i + 1:02d}"
        shutil.copytree(template, data_dir)
        desk_hub.join(data_dir, mall.hub_url, f"K{i + 1:02d}", mall.store.add_desk(f"K{i + 1:02d}"))
        runtimes.append(open_runtime(data_dir, create=False))
    return runtimes


def _template_store(root: Path) -> Path:
    from mppdesk.desk.runtime import open_runtime

    template = root / "template"
    open_runtime(template).close()
    return template


# --- hub_ingest -------------------------------------------------------------------------------


def _journal_template(mall: Mall) -> list[dict]:
    """The push records one real desk builds for one visit (its journal after finalize)."""
    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit
    from mppdesk.store import hub as journal

    (runtime,) = _desks(mall, 1, _template_store(mall.root))
    try:
        with runtime.store.write() as session:  # the accounts come from the hub's pull
            journal.upsert_officer(session, {"username": "ani", "full_name": "Ani",
                                             "role": "officer", "disabled": False,
                                             "password_hash": _hasher().hash(PASSWORD)})
        actor = login(runtime, "ani", PASSWORD)
        finalize_visit(runtime, actor, _visit_request(runtime.catalog, 1))
        with runtime.store.read() as session:
            return journal.records(session, journal.journal_batch(session, BATCH))
    finally:
        runtime.close()


def _desk_records(template: list[dict], desk: int, visits: int) -> list[dict]:
    """``visits`` copies of the template for one desk: new ids, consecutive seqs, and an audit
    chain rehashed so the hub verifies it."""
    from mppdesk.core.audit_chain import GENESIS, event_hash

    ids = set()
    for record in template:
        if record["kind"] in ("visit", "submission", "applicant", "outbox_state"):
            ids.add(str(record["id"]))
        body = record["body"]
        for name in ("tracking_number", "id_number"):
            if isinstance(body.get(name), str):
                ids.add(body[name])
    text = json.dumps(template)
    out, seq, audit_id, head = [], 0, 0, GENESIS
    for v in range(visits):
        copy = text
        for old in ids:
            new = f"{desk:03d}{v:07d}" + old[10:] if len(old) > 10 else f"{desk}{v}{old}"
            copy = copy.replace(old, new[: max(len(old), len(new))])
        for record in json.loads(copy):
            seq += 1
            record["seq"] = seq
            if record["kind"] == "audit":
                audit_id += 1
                body = record["body"]
                record["id"] = str(audit_id)
                body["id"] = audit_id
                body["prev_hash"] = head
                body["hash"] = head = event_hash(
                    head, datetime.fromisoformat(body["at"]), body["actor"], body["action"],
                    body["object_type"], body["object_id"], body.get("details") or {})
            out.append(record)
    return out


def _hub_ingest(mall: Mall, quick: bool) -> Result:
    from mppdesk.hub.store import _index_columns
    from mppdesk.sync.hub_client import HubClient

    visits = 40 if quick else 200
    mall.serve()
    template = _journal_template(mall)
    per_desk = [_desk_records(template, d, visits) for d in range(DESKS)]
    codes = [f"D{d:02d}" for d in range(DESKS)]
    tokens = [mall.store.add_desk(code) for code in codes]
    records = sum(len(r) for r in per_desk)

    def push_all(round_no: int) -> float:
        for code in codes:  # every round starts from an empty hub for these desks
            with mall.psycopg() as conn:
                conn.execute("DELETE FROM hub_records WHERE desk = %s", (code,))
                conn.execute("DELETE FROM hub_applicants")
                conn.execute("UPDATE hub_desks SET acked_seq = 0, audit_head = %s WHERE code = %s",
                             ("0" * 64, code))
        errors: list[str] = []
        barrier = threading.Barrier(DESKS + 1)

        def desk(i: int) -> None:
            client = HubClient(mall.hub_url, codes[i], tokens[i], timeout_s=60)
            try:
                barrier.wait()
                mine = per_desk[i]
                for start in range(0, len(mine), BATCH):
                    batch = mine[start:start + BATCH]
                    for _ in range(20):
                        result = client.push(batch)
                        if result.ok:
                            break
                        time.sleep(result.retry_after_s or 0.05)
                    else:
                        errors.append(result.message)
                        return
            finally:
                client.close()

        threads = [threading.Thread(target=desk, args=(i,)) for i in range(DESKS)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise RuntimeError(f"push failed: {errors[0]}")
        return records / elapsed

    # The floor's rows: what the hub stores for the same records, sealed beforehand.
    stamp = datetime.now(UTC).isoformat()
    floor_rows = []
    for code, mine in zip(codes, per_desk, strict=True):
        latest = {(r["kind"], r["id"]): r for r in mine}
        rows = []
        for record in latest.values():
            index = _index_columns(record["kind"], record["body"])
            rows.append((code, record["kind"], record["id"], record["seq"], stamp,
                         mall.store.key.seal_json(record["body"], f"{code}/{record['kind']}".encode()),
                         index["ref_id"], index["tracking_no"], index["agency"], index["service"],
                         index["status"], index["local_date"], index["created_at"]))
        floor_rows.append(rows)

    def floor(round_no: int) -> float:
        with mall.psycopg() as conn:
            conn.execute("DROP TABLE IF EXISTS floor_records")
            conn.execute("CREATE TABLE floor_records (LIKE hub_records INCLUDING ALL)")
        barrier = threading.Barrier(DESKS + 1)

        def writer(rows) -> None:  # type: ignore[no-untyped-def]
            with mall.psycopg() as conn:
                barrier.wait()
                for start in range(0, len(rows), BATCH):
                    with conn.transaction(), conn.cursor() as cursor:
                        cursor.executemany(
                            "INSERT INTO floor_records (desk, kind, entity_id, seq, stored_at,"
                            " body_enc, ref_id, tracking_no, agency, service, status, local_date,"
                            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                            " %s) ON CONFLICT DO NOTHING", rows[start:start + BATCH])

        threads = [threading.Thread(target=writer, args=(rows,)) for rows in floor_rows]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        return records / (time.perf_counter() - started)

    hub_rates, floor_rates = [], []
    for round_no in range(3):
        floor_rates.append(floor(round_no))
        hub_rates.append(push_all(round_no))
    stats = mall.store.stats()
    assert stats["duplicates"] == 0, stats
    return rate_result("hub_ingest", hub_rates, floor_rates, goal=0.5, unit="records_per_s",
                       extra={"records": records, "desks": DESKS, "batch": BATCH},
                       size=f"{DESKS} desks x {visits} visits ({records} records)")


# --- replication_lag --------------------------------------------------------------------------


class _Poller:
    """Notes when each awaited id first becomes visible in a table (a query every 20 ms);
    lag = first seen - committed, both on this process's clock."""

    def __init__(self, mall: Mall, query: str):
        self.mall = mall
        self.query = query
        self.pending: set[str] = set()
        self.committed: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def expect(self, key: str) -> None:
        """Before the write: the poller may see the row before the writer notes its commit."""
        with self.lock:
            self.pending.add(key)

    def done(self, key: str, committed: float) -> None:
        with self.lock:
            self.committed[key] = committed

    @property
    def lags(self) -> list[float]:
        return [max(0.0, self.seen[k] - t) for k, t in self.committed.items() if k in self.seen]

    def _run(self) -> None:
        with self.mall.psycopg() as conn:
            conn.autocommit = True
            while not self.stop.wait(0.02):
                with self.lock:
                    keys = list(self.pending)
                if not keys:
                    continue
                seen = {r[0] for r in conn.execute(self.query, (keys,))}
                now = time.perf_counter()
                with self.lock:
                    for key in seen:
                        self.pending.discard(key)
                        self.seen[key] = now

    def __enter__(self) -> _Poller:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        while self.pending and time.monotonic() < deadline:
            self.stop.wait(0.05)
        self.stop.set()
        self.thread.join(10)


def _paced(desks: int, seconds: float, act) -> None:  # type: ignore[no-untyped-def]
    """``act(desk, n)`` once a second per desk, the desks' seconds spread evenly."""
    stop = threading.Event()

    def desk(i: int) -> None:
        stop.wait(i / desks)
        start = time.perf_counter()
        n = 0
        while time.perf_counter() - start < seconds:
            act(i, n)
            n += 1
            stop.wait(max(0.0, start + n - time.perf_counter()))

    threads = [threading.Thread(target=desk, args=(i,)) for i in range(desks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _replication_lag(mall: Mall, quick: bool) -> Result:
    from mppdesk.desk.auth import login
    from mppdesk.desk.intake import finalize_visit
    from mppdesk.sync.hub_sync import start_lane

    seconds = 8 if quick else 60
    mall.serve()
    mall.store.add_user("ani", "officer", _hasher().hash(PASSWORD), "Ani")
    runtimes = _desks(mall, DESKS, _template_store(mall.root))
    lanes = [start_lane(rt.store, rt.settings) for rt in runtimes]
    try:
        deadline = time.monotonic() + 60  # the accounts arrive with the lanes' first pull
        actors = []
        for rt in runtimes:
            while True:
                try:
                    actors.append(login(rt, "ani", PASSWORD))
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        requests = [_visit_request(rt.catalog, i) for i, rt in enumerate(runtimes)]

        with _Poller(mall, "SELECT entity_id FROM floor_visits WHERE entity_id = ANY(%s)") as fl:
            with mall.psycopg() as conn:
                conn.execute("CREATE TABLE floor_visits (entity_id text PRIMARY KEY,"
                             " body_enc bytea NOT NULL)")
                conn.commit()
            connections = [mall.psycopg() for _ in range(DESKS)]
            blob = mall.store.key.seal_json({"visit": "x" * 400})

            def insert(i: int, n: int) -> None:
                key = f"{i}-{n}"
                fl.expect(key)
                connections[i].execute("INSERT INTO floor_visits VALUES (%s, %s)", (key, blob))
                connections[i].commit()
                fl.done(key, time.perf_counter())

            _paced(DESKS, min(seconds, 10), insert)
            for conn in connections:
                conn.close()

        with _Poller(mall, "SELECT entity_id FROM hub_records WHERE kind = 'visit'"
                           " AND entity_id = ANY(%s)") as poller:
            def visit(i: int, n: int) -> None:
                visit_id = str(uuid.uuid4())
                poller.expect(visit_id)
                finalize_visit(runtimes[i], actors[i], requests[i], visit_id=visit_id)
                poller.done(visit_id, time.perf_counter())
                lanes[i].wake()

            _paced(DESKS, seconds, visit)
        missing = len(poller.pending)
    finally:
        for lane in lanes:
            if lane is not None:
                lane.stop()
        for rt in runtimes:
            rt.close()
    result = cost_result("replication_lag", poller.lags, fl.lags, goal=50.0,
                         extra={"goal_p95_ms": LAG_GOAL_S * 1000, "not_seen_in_30s": missing,
                                "visits": len(poller.lags)},
                         size=f"{DESKS} desks x 1 visit/s x {seconds} s")
    result.extra["p95_met"] = result.p95 <= LAG_GOAL_S * 1000 and missing == 0
    return result


# --- mall_lookup ------------------------------------------------------------------------------


def _fill_applicants(mall: Mall, count: int, targets: list[int]) -> None:
    """``count`` hub applicants (NIK by number), sealed as the hub seals them; the targets'
    rows carry their own sealed identity (the hub's own associated data), the others share one
    sealed filler profile of the same size (never opened: only the index probe finds them)."""
    from mppdesk.hub.store import _ctx as sealed_as

    key = mall.store.key
    profile = {"fields": {"name": "FILLER", "tanggal_lahir": "1990-01-01", "alamat": "x" * 40},
               "history": {}}
    filler = (key.seal_json("0", b"id_number"), key.seal_json("FILLER", b"name"),
              key.seal_json(profile, b"profile"))
    wanted = set(targets)
    stamp = datetime.now(UTC).isoformat()
    with mall.psycopg() as conn, conn.cursor() as cursor:
        with cursor.copy("COPY hub_applicants (lookup_hash, id_kind, id_number_enc, name_enc,"
                         " profile_enc, version, created_by, updated_by, updated_at)"
                         " FROM STDIN") as copy:
            for i in range(count):
                nik = _nik(i)
                blobs = filler
                digest = key.lookup_hash("nik", nik)
                if i in wanted:  # sealed exactly as the hub seals a row it will open
                    fields = {"name": f"PEMOHON {i}", "tanggal_lahir": "1990-01-01"}
                    blobs = (key.seal_json(nik, sealed_as(b"id_number", digest)),
                             key.seal_json(fields["name"], sealed_as(b"name", digest)),
                             key.seal_json({"fields": fields, "history": {}},
                                           sealed_as(b"profile", digest)))
                copy.write_row((digest, "nik", *blobs, 1, "K01", "K01", stamp))
        conn.commit()
        conn.execute("ANALYZE hub_applicants")
        conn.commit()


def _nik(i: int) -> str:
    return f"3171{i:012d}"


def _mall_lookup(mall: Mall, quick: bool) -> Result:
    from mppdesk.desk import hub as desk_hub
    from mppdesk.desk.auth import login
    from mppdesk.hub.store import _ctx as sealed_as
    from mppdesk.store import hub as journal

    count = 20_000 if quick else 1_000_000
    repeat = 200
    targets = [(i * 7919) % count for i in range(repeat + 5)]
    _fill_applicants(mall, count, targets)
    mall.serve()
    (runtime,) = _desks(mall, 1, _template_store(mall.root))
    try:
        with runtime.store.write() as session:
            journal.upsert_officer(session, {"username": "ani", "full_name": "Ani",
                                             "role": "officer", "disabled": False,
                                             "password_hash": _hasher().hash(PASSWORD)})
        actor = login(runtime, "ani", PASSWORD)
        key = mall.store.key
        samples, floor, calls, unanswered = [], [], [], 0
        client = desk_hub.client_for(runtime.settings, runtime.store)
        with contextlib.closing(client), mall.psycopg() as conn:
            conn.autocommit = True
            pace = threading.Event()  # never set: its wait() keeps the desk under its rate
            iteration = time.perf_counter()
            for n, i in enumerate(targets):
                # Two hub requests an iteration; a desk may send 50 a second (then 429).
                pace.wait(max(0.0, 0.045 - (time.perf_counter() - iteration)))
                iteration = time.perf_counter()
                started = time.perf_counter()
                found = desk_hub.lookup(runtime, actor, _nik(i))
                elapsed = time.perf_counter() - started
                if found is None or found.source != "hub":
                    unanswered += 1  # the desk waited its 1.5 s and answered alone
                else:
                    assert found.name == f"PEMOHON {i}", found.name
                started = time.perf_counter()
                answer = client.lookup("nik", _nik(i), "ani")  # the HTTP exchange alone
                call = time.perf_counter() - started
                assert answer.ok, answer.message
                started = time.perf_counter()
                digest = key.lookup_hash("nik", _nik(i))
                row = conn.execute("SELECT id_number_enc, profile_enc FROM hub_applicants"
                                   " WHERE lookup_hash = %s", (digest,)).fetchone()
                key.open_json(row[0], sealed_as(b"id_number", digest))
                key.open_json(row[1], sealed_as(b"profile", digest))
                if n >= 5:  # the first few warm the connections
                    calls.append(call)
                    samples.append(elapsed)
                    floor.append(time.perf_counter() - started)
    finally:
        runtime.close()
    result = cost_result("mall_lookup", samples, floor, goal=100.0,
                         extra={"goal_p95_ms": LOOKUP_GOAL_MS, "applicants": count,
                                "not_answered_by_hub": unanswered,
                                "hub_call_p50_ms": round(statistics.median(calls) * 1000, 2),
                                "hub_call_p95_ms": round(percentile(calls, 95) * 1000, 2)},
                         size=f"{count} hub applicants")
    result.extra["p95_met"] = result.p95 <= LOOKUP_GOAL_MS and unanswered == 0
    return result


# --- mall_daily_aggregates --------------------------------------------------------------------

AGENCIES = ("dukcapil", "imigrasi", "polri", "samsat", "bpjs-kesehatan", "djp", "bpn", "pdam")
STATUSES = ("queued", "sent", "accepted", "held", "rejected", "completed")


def _fill_records(mall: Mall, submissions: int) -> int:
    """Submissions (and about one visit per 1.3 submissions) of 100 desks over 365 days,
    generated by PostgreSQL in the hub's table; bodies sealed by the hub's key."""
    key = mall.store.key
    blob_sub = key.seal_json({"id": "x" * 36, "tracking_number": "DKC-K01-261127-0001",
                              "answers": {"keterangan": "x" * 200}}, b"submission")
    blob_visit = key.seal_json({"id": "x" * 36, "ticket": "A-001", "applicant_id": "x" * 36},
                               b"visit")
    chunk = 1_000_000
    visits = int(submissions / 1.3)
    with mall.psycopg() as conn:
        # Bulk load as a restore would: the secondary indexes are built once at the end, with
        # the hub's own definitions read back from the catalog.
        indexes = [r[0] for r in conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'hub_records' AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint WHERE conrelid = 'hub_records'::regclass)")]
        for name, in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'hub_records' AND indexname"
                " NOT IN (SELECT conname FROM pg_constraint"
                " WHERE conrelid = 'hub_records'::regclass)").fetchall():
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        for kind, total, blob in (("submission", submissions, blob_sub),
                                  ("visit", visits, blob_visit)):
            for start in range(0, total, chunk):
                conn.execute(  # the kind is a constant of this file: a literal in the SQL
                    ("INSERT INTO hub_records (desk, kind, entity_id, seq, ref_id, tracking_no,"
                    " agency, service, status, local_date, created_at, stored_at, body_enc)"
                    " SELECT 'K' || lpad(((g / 365) %% 100 + 1)::text, 3, '0'), %(kind)s,"
                    " md5(%(kind)s || g), g, CASE WHEN %(kind)s = 'submission'"
                    " THEN md5('visit' || (g * 10 / 13)) END,"
                    " CASE WHEN %(kind)s = 'submission' THEN 'T' || g END,"
                    " CASE WHEN %(kind)s = 'submission' THEN (%(agencies)s::text[])[g %% 8 + 1] END,"
                    " CASE WHEN %(kind)s = 'submission' THEN (%(agencies)s::text[])[g %% 8 + 1]"
                    " || '/layanan' END,"
                    " CASE WHEN %(kind)s = 'submission' THEN (%(statuses)s::text[])[g %% 6 + 1]"
                    " ELSE 'finalized' END,"
                    " to_char(%(last)s::date - (g %% 365), 'YYYY-MM-DD'),"
                    " to_char(%(last)s::date - (g %% 365), 'YYYY-MM-DD') || 'T08:00:00+00:00',"
                    " now()::text, %(blob)s"
                    " FROM generate_series(%(lo)s, %(hi)s) g").replace("%(kind)s", f"'{kind}'"),
                    { "agencies": list(AGENCIES), "statuses": list(STATUSES),
                     "last": REPORT_DAY, "blob": blob, "lo": start + 1,
                     "hi": min(total, start + chunk)},
                )
                conn.commit()
        for definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.execute("ANALYZE hub_records")
        conn.commit()
        _fill_bills(conn, submissions)
    return visits


def _fill_bills(conn, submissions: int) -> None:  # type: ignore[no-untyped-def]
    """A bill for every fourth submission (issue 14), at its submission's desk: 70 % paid on
    the submission's day, 25 % unpaid with expiries spread over the next ten days (a tenth of
    them within the report's 24 hours), 5 % expired."""
    conn.execute(
        "INSERT INTO hub_billing (desk, submission_id, agency, code, kind, amount, state, ntpn,"
        " paid_at, paid_day, expires_at, seq, stored_at)"
        " SELECT 'K' || lpad(((g / 365) %% 100 + 1)::text, 3, '0'), md5('submission' || g),"
        " (%(agencies)s::text[])[g %% 8 + 1], lpad(g::text, 15, '0'), 'pnbp',"
        " 10000 + (g %% 50) * 5000,"
        " CASE WHEN g %% 20 < 14 THEN 'paid' WHEN g %% 20 < 19 THEN 'unpaid' ELSE 'expired' END,"
        " CASE WHEN g %% 20 < 14 THEN upper(substr(md5('n' || g), 1, 16)) END,"
        " CASE WHEN g %% 20 < 14 THEN to_char(%(last)s::date - (g %% 365), 'YYYY-MM-DD')"
        " || 'T03:00:00.000000+00:00' END,"
        " CASE WHEN g %% 20 < 14 THEN to_char(%(last)s::date - (g %% 365), 'YYYY-MM-DD') END,"
        " CASE WHEN g %% 20 BETWEEN 14 AND 18 THEN to_char((now() AT TIME ZONE 'UTC')"
        " + (g %% 864000) * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
        " ELSE to_char(%(last)s::date - (g %% 365), 'YYYY-MM-DD') || 'T23:00:00.000000+00:00'"
        " END, g, now()::text"
        " FROM generate_series(4, %(hi)s, 4) g",
        {"agencies": list(AGENCIES), "last": REPORT_DAY, "hi": submissions},
    )
    conn.commit()
    # What autovacuum leaves on a live hub: statistics and the visibility map (index-only).
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE hub_billing")
    conn.autocommit = False


TICKET_GROUPS = (("D", "Dukcapil"), ("I", "Imigrasi"), ("P", "Polri"), ("S", "Samsat"),
                 ("B", "BPJS Kesehatan"), ("J", "Pajak"), ("N", "Pertanahan"), ("A", "PDAM"))
PRIORITIES = ("lansia", "disabilitas", "ibu-hamil", "membawa-balita")
CLOCK_REASONS = ("unparsable", "future", "day", "order")
TICKETS_PER_DAY = 5000
_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'  # the hub's ISO times (``tickets._iso``)


def _fill_tickets(conn, days: int, blob: bytes) -> int:  # type: ignore[no-untyped-def]
    """A busy MPP's queue (issue 14) for ``days`` days up to the report day, in the hub's
    ``hub_tickets`` (and its day counters): 5,000 tickets a day over 8 groups, one a kiosk
    issues every 5 s from 08:00 WIB; one in five priority (waits 0.5-5.5 min, the others
    2-32 min), 5 % called and never came (no-show 3 min after the call), the rest called,
    served 20-120 s later and done after 4-19 min at one of 12 counters of their group. About
    one in 600 done tickets was resent with a time the hub did not believe (a ``ticket_clock``
    note in ``hub_records``, sealed ``blob``). Returns the tickets made."""
    groups = [g for g, _label in TICKET_GROUPS]
    labels = [label for _g, label in TICKET_GROUPS]
    conn.execute(
        "INSERT INTO hub_tickets (grp, day, seq, desk, issued_at, priority, label, status,"
        " called_at, served_at, finished_at, counter, officer)"
        " SELECT (%(groups)s::text[])[k + 1], to_char(issued, 'YYYY-MM-DD'), s + 1,"
        " 'K' || lpad((k %% 4 + 97)::text, 3, '0'), to_char(issued, %(utc)s),"
        " CASE WHEN prio THEN (%(prios)s::text[])[s %% 4 + 1] END, (%(labels)s::text[])[k + 1],"
        " CASE WHEN gone THEN 'no_show' ELSE 'done' END, to_char(called, %(utc)s),"
        " CASE WHEN NOT gone THEN to_char(called + (20 + i %% 100) * interval '1 second',"
        " %(utc)s) END,"
        " to_char(called + (CASE WHEN gone THEN 180 ELSE 240 + (i * 104729 + d * 17) %% 900 END)"
        " * interval '1 second', %(utc)s),"
        " 'K' || lpad((k * 12 + s %% 12 + 1)::text, 3, '0'), 'petugas' || (k * 12 + s %% 12 + 1)"
        " FROM generate_series(0, %(n)s - 1) g,"
        " LATERAL (SELECT g / %(per)s AS d, g %% %(per)s AS i) a,"
        " LATERAL (SELECT i %% 8 AS k, i / 8 AS s, i %% 5 = 0 AS prio, (i / 8) %% 20 = 7 AS gone,"
        " (%(last)s::date - d)::timestamp + interval '1 hour' + i * 5 * interval '1 second'"
        " AS issued) b,"
        " LATERAL (SELECT issued + (CASE WHEN prio THEN 30 + (i * 7919 + d * 31) %% 300"
        " ELSE 120 + (i * 7919 + d * 31) %% 1800 END) * interval '1 second' AS called) c",
        {"groups": groups, "labels": labels, "prios": list(PRIORITIES), "utc": _UTC,
         "n": days * TICKETS_PER_DAY, "per": TICKETS_PER_DAY, "last": REPORT_DAY},
    )
    conn.execute("INSERT INTO hub_ticket_counters (grp, day, seq)"
                 " SELECT grp, day, max(seq) FROM hub_tickets GROUP BY grp, day")
    conn.execute(
        "INSERT INTO hub_records (desk, kind, entity_id, seq, status, local_date, created_at,"
        " stored_at, body_enc)"
        " SELECT counter, 'ticket_clock', day || '/' || grp || '-' || lpad(seq::text, 3, '0')"
        " || '/done', 0, (%(reasons)s::text[])[seq %% 4 + 1], day, finished_at, now()::text,"
        " %(blob)s FROM hub_tickets WHERE status = 'done' AND (seq + ascii(grp)) %% 500 = 0",
        {"reasons": list(CLOCK_REASONS), "blob": blob},
    )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE hub_tickets")
    conn.autocommit = False
    return days * TICKETS_PER_DAY


def _check_tickets(queue: dict, tickets: list, notes: list) -> None:
    """The report's queue figures against the rows the floor read: per group the tickets,
    no-shows and mean wait (issued -> called, rounded to 0.1 s as the hub rounds), and the
    resent steps the hub stamped."""
    waits: dict[str, list[float]] = {}
    no_shows: dict[str, int] = {}
    for row in tickets:
        grp, status, issued, called = row[0], row[2], row[3], row[4]
        no_shows[grp] = no_shows.get(grp, 0) + (status == "no_show")
        waits.setdefault(grp, []).append(
            (datetime.fromisoformat(called) - datetime.fromisoformat(issued)).total_seconds())
    assert len(waits) == len(TICKET_GROUPS) and sorted(queue["groups"]) == sorted(waits)
    for grp, figures in queue["groups"].items():
        counts = figures["counts"]
        assert sum(counts.values()) == figures["wait_s"]["n"] == len(waits[grp]) > 0
        assert counts["no_show"] == no_shows[grp] > 0
        assert abs(figures["wait_s"]["mean"] - statistics.fmean(waits[grp])) <= 0.051
    assert queue["all"]["counts"]["done"] + queue["all"]["counts"]["no_show"] == len(tickets)
    assert queue["hub_clock"]["steps"] == sum(int(n) for _reason, n in notes) > 0


def _mall_daily_aggregates(mall: Mall, quick: bool) -> Result:
    from mppdesk.desk import hub as desk_hub
    from mppdesk.desk.auth import login
    from mppdesk.store import hub as journal

    submissions = 200_000 if quick else 10_000_000
    started = time.perf_counter()
    visits = _fill_records(mall, submissions)
    fill_s = time.perf_counter() - started
    with mall.psycopg() as conn:  # the day's queue (issue 14); a year of it at full size
        tickets = _fill_tickets(conn, 7 if quick else 365,
                                mall.store.key.seal_json({"reason": "order"}, b"ticket_clock"))
    tickets_fill_s = time.perf_counter() - started - fill_s
    mall.store.add_user("sari", "supervisor", _hasher().hash(PASSWORD), "Sari")
    mall.serve()
    (runtime,) = _desks(mall, 1, _template_store(mall.root))
    day = REPORT_DAY.isoformat()
    queries = (
        "SELECT desk, kind, count(*) FROM hub_records WHERE kind IN ('visit', 'submission')"
        " AND local_date = %(d)s GROUP BY desk, kind",
        "SELECT agency, count(*) FROM hub_records WHERE kind = 'submission'"
        " AND local_date = %(d)s GROUP BY agency",
        "SELECT status, count(*) FROM hub_records WHERE kind = 'submission'"
        " AND local_date = %(d)s GROUP BY status",
        # The mall's money (issue 14): as HubStore.billing_figures asks it.
        "SELECT agency, count(*), sum(amount) FROM hub_billing WHERE state = 'paid'"
        " AND paid_day = %(d)s GROUP BY agency",
        "SELECT count(*), sum(amount) FROM hub_billing WHERE state = 'unpaid'"
        " AND expires_at > %(now)s AND expires_at <= %(soon)s",
        "SELECT b.desk, b.agency, b.code, b.amount, b.expires_at, r.tracking_no FROM hub_billing b"
        " LEFT JOIN hub_records r ON r.kind = 'submission' AND r.entity_id = b.submission_id"
        " AND r.desk = b.desk WHERE b.state = 'unpaid' AND b.expires_at > %(now)s"
        " AND b.expires_at <= %(soon)s ORDER BY b.expires_at, b.desk, b.submission_id LIMIT 50",
        # The queue (issue 14), as tickets.daily_figures asks it: the day's tickets, the six
        # columns the figures read (folded in Python), then the day's clock notes.
        "SELECT grp, label, status, issued_at, called_at, finished_at FROM hub_tickets"
        " WHERE day = %(d)s",
        "SELECT status, count(*) FROM hub_records WHERE kind = 'ticket_clock'"
        " AND local_date = %(d)s GROUP BY status",
    )
    try:
        with runtime.store.write() as session:
            journal.upsert_officer(session, {"username": "sari", "full_name": "Sari",
                                             "role": "supervisor", "disabled": False,
                                             "password_hash": _hasher().hash(PASSWORD)})
        actor = login(runtime, "sari", PASSWORD)
        samples, floor = [], []
        with mall.psycopg() as conn:
            conn.autocommit = True
            for n in range(33):
                t0 = time.perf_counter()
                report = desk_hub.mall_daily_report(runtime, actor, day)
                t1 = time.perf_counter()
                now = datetime.now(UTC)
                params = {"d": day, "now": now.isoformat(timespec="microseconds"),
                          "soon": (now + timedelta(days=1)).isoformat(timespec="microseconds")}
                rows = [conn.execute(q, params).fetchall() for q in queries]
                t2 = time.perf_counter()
                if n >= 3:
                    samples.append(t1 - t0)
                    floor.append(t2 - t1)
        assert len(report["desks"]) == 100 and report["totals"]["submissions"] == sum(
            r[2] for r in rows[0] if r[1] == "submission")
        billing = report["billing"]
        assert billing["collected_total"]["amount"] == sum(int(r[2]) for r in rows[3]) > 0
        assert billing["unpaid_near_expiry"]["count"] > 0
        assert len(billing["unpaid_near_expiry"]["items"]) == 50
        queue = report["tickets"]
        _check_tickets(queue, rows[6], rows[7])
    finally:
        runtime.close()
    # The goal is absolute (p95 <= 500 ms, ``extra``). The ratio bounds the desk ->
    # hub path's overhead over the raw queries: at 10M rows well under 2, at CI sizes (a
    # query of ~2.5 ms) mostly the fixed cost of one authenticated HTTP exchange.
    result = cost_result("mall_daily_aggregates", samples, floor, goal=10.0,
                         extra={"goal_p95_ms": REPORT_GOAL_MS, "submissions": submissions,
                                "visits": visits, "day_submissions": report["totals"]["submissions"],
                                "day_paid_bills": billing["collected_total"]["paid"],
                                "bills_near_expiry": billing["unpaid_near_expiry"]["count"],
                                "tickets": tickets, "day_tickets": len(rows[6]),
                                "day_wait_mean_s": queue["all"]["wait_s"]["mean"],
                                "fill_s": round(fill_s, 1),
                                "tickets_fill_s": round(tickets_fill_s, 1)},
                         size=f"100 desks, {submissions} submissions")
    result.extra["p95_met"] = result.p95 <= REPORT_GOAL_MS
    return result


