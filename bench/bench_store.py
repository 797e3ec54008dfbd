"""Store benchmarks: finalize_visit, nik_lookup, name_search.

Each runs on the encrypted store (SQLCipher) the desk uses, and each floor runs the same SQL
on an equally encrypted raw connection with the same pragmas, in the same run.

- finalize_visit: a 3-service visit through the desk (validation, one transaction) against
  raw SQL writing the same rows; goal ratio <= 2.
- nik_lookup: the visit page's NIK look-up as the desk does it (``desk.counter.lookup_applicant``:
  permission, applicant, its recent changes, an audited view) over 1,000,000 generated
  applicants (100,000 with --quick), against the same statements on a raw connection; goal
  ratio <= 2. The app has no applicant-name look-up of its own: its only name search is the
  submissions page's search box, timed through the desk by bench_submissions ("name" case).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Result, cost_result, time_calls

CACHE = Path(tempfile.gettempdir()) / "mppdesk-bench"
FIRST = ["SITI", "NUR", "DEWI", "BUDI", "AGUS", "RINA", "ANDI", "YULI", "HENDRA", "PUTRI",
         "EKO", "SRI", "RUDI", "LINA", "JOKO", "MAYA", "FAJAR", "INDAH", "RIZKY", "WATI"]
LAST = ["SANTOSO", "WIJAYA", "LESTARI", "HIDAYAT", "PRATAMA", "SARI", "KURNIAWAN", "SIREGAR",
        "NASUTION", "HARAHAP", "SAPUTRA", "UTAMI", "SETIAWAN", "WULANDARI", "GUNAWAN", "PANJAITAN"]


def _env(name: str) -> Path:
    """A data dir with its own key file, so cached stores stay readable between runs."""
    root = CACHE / name
    root.mkdir(parents=True, exist_ok=True)
    os.environ["MPPDESK_KEY_FILE"] = str(root / "desk.key")
    return root


def _nik(i: int) -> str:
    day = 1 + i % 28
    return f"3174{1 + i % 9:02d}{day:02d}{1 + i % 12:02d}{80 + i % 20:02d}{i % 10000:04d}"


def _populate(store, count: int) -> list[tuple[str, str]]:
    """count applicants with name tokens, through the store's raw connection, in batches."""
    from mppdesk.store.repo import name_key

    rng = random.Random(1)
    raw = store.raw_connection()
    samples = []
    now = datetime(2026, 1, 1).isoformat(sep=" ")
    try:
        raw.execute("PRAGMA synchronous=OFF")  # generation only; measured runs use FULL
        batch, tokens = [], []
        for i in range(count):
            name = f"{rng.choice(FIRST)} {rng.choice(FIRST)} {rng.choice(LAST)} {i:07d}"
            applicant_id = str(uuid.UUID(int=i + 1))
            number = f"{i:016d}"
            batch.append((applicant_id, "nik", number, name, name_key(name),
                          json.dumps({"nama": name}), now, now))
            tokens.extend((token, applicant_id) for token in set(name_key(name).split()))
            if i % 50_000 == 0:
                samples.append((number, name.split()[2][:4] + " " + name.split()[0]))
            if len(batch) >= 50_000:
                _flush(raw, batch, tokens)
                batch, tokens = [], []
        _flush(raw, batch, tokens)
    finally:
        raw.close()
    return samples


def _flush(raw, batch, tokens) -> None:
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT INTO applicants (id, id_kind, id_number, name, name_key, profile, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?)", batch)
    raw.executemany("INSERT OR IGNORE INTO applicant_name_tokens (token, applicant_id) VALUES (?,?)",
                    tokens)
    raw.execute("COMMIT")


def _applicant_store(count: int):
    from mppdesk.desk.runtime import open_runtime

    root = _env("applicants")
    data_dir = root / f"store-{count}"
    marker = data_dir / "populated.json"
    if not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        runtime = open_runtime(data_dir)
        samples = _populate(runtime.store, count)
        runtime.close()
        marker.write_text(json.dumps(samples))
    runtime = open_runtime(data_dir)
    return runtime, json.loads(marker.read_text())


def _cpu_ms(fn, repeat: int) -> float:
    """Median CPU milliseconds of one call (this process, all threads)."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return round(statistics.median(samples) * 1000, 3)


def _officer(runtime):
    """The benchmark's officer, created once per cached store (the store outlives a run)."""
    from mppdesk.desk.auth import add_user, has_users, login, os_actor

    if not has_users(runtime):
        add_user(runtime, os_actor(), "ani", "officer", "rahasia-bench-1")
    return login(runtime, "ani", "rahasia-bench-1")


def bench_lookups(quick: bool) -> list[Result]:
    """nik_lookup: the visit page's NIK look-up, ``desk.counter.lookup_applicant``.

    The desk operation checks the permission, reads the applicant and its last profile
    changes and appends an ``applicant.viewed`` audit event, in one write transaction. The
    floor does the same statements on an equally encrypted raw connection: BEGIN IMMEDIATE,
    the applicant row, its last 10 changes, the chain's last hash, one chained INSERT,
    COMMIT with synchronous=FULL.
    """
    from mppdesk.core.audit_chain import event_hash
    from mppdesk.desk.counter import lookup_applicant

    count = 100_000 if quick else 1_000_000
    runtime, _samples = _applicant_store(count)
    actor = _officer(runtime)
    desk_code = runtime.settings.desk.code
    rng = random.Random(2)
    numbers = [f"{rng.randrange(count):016d}" for _ in range(400)]
    raw = runtime.store.raw_connection()
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("PRAGMA secure_delete=ON")
    try:
        it = iter(numbers * 3)

        def project_nik():
            assert lookup_applicant(runtime, actor, next(it)) is not None

        it_raw = iter(numbers * 3)

        def floor_nik():
            raw.execute("BEGIN IMMEDIATE")
            row = raw.execute(
                "SELECT id, id_kind, id_number, name, profile, updated_at FROM applicants"
                " WHERE id_kind = ? AND id_number = ?", ("nik", next(it_raw))).fetchone()
            assert row is not None
            json.loads(row[4])
            raw.execute(
                "SELECT field, old_value, new_value, changed_at, officer FROM applicant_changes"
                " WHERE applicant_id = ? ORDER BY id DESC LIMIT 10", (row[0],)).fetchall()
            prev = raw.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
            at = datetime.now(UTC)
            details = {"desk": desk_code}
            digest = event_hash(prev[0] if prev else "0" * 64, at, "ani", "applicant.viewed",
                                "applicant", row[0], details)
            raw.execute(
                "INSERT INTO audit_events (at, actor, action, object_type, object_id, details,"
                " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                (at.replace(tzinfo=None).isoformat(sep=" "), "ani", "applicant.viewed",
                 "applicant", row[0], json.dumps(details), prev[0] if prev else "0" * 64, digest))
            raw.execute("COMMIT")

        repeat = 150 if quick else 300
        # Interleaved, so that neither side always runs on the page cache the other warmed.
        floor, project = [], []
        for _ in range(5):
            floor += time_calls(floor_nik, repeat // 5, warmup=4)
            project += time_calls(project_nik, repeat // 5, warmup=4)
        # Both wait on the same fsync at COMMIT; the CPU time says what the desk adds to it.
        cpu_floor = _cpu_ms(floor_nik, 100)
        cpu_project = _cpu_ms(project_nik, 100)
        return [cost_result("nik_lookup", project, floor, goal=2.0,
                            extra={"applicants": count, "desk_op": "counter.lookup_applicant",
                                   "cpu_p50_ms": cpu_project, "floor_cpu_p50_ms": cpu_floor},
                            size=f"{count} applicants")]
    finally:
        raw.close()
        runtime.close()


def bench_finalize(quick: bool) -> Result:
    """finalize_visit: a 3-service visit through the desk against raw SQL writing its rows.

    The desk's path: permission, validation by the form engine, the plan of every row, one
    write transaction (mppdesk.store.finalize). The floor is what any finalize must do on an
    equally encrypted raw connection with the same pragmas (WAL, synchronous=FULL): BEGIN
    IMMEDIATE, read the applicant and the visit's state, insert the visit, take the day's
    numbers, canonicalise each payload with its tracking number, insert the same submissions,
    checklist items, outbox entries and the same four chained audit events, COMMIT. Both run
    on a store already holding ``stored`` visits, so index upkeep is not that of an empty file.
    """
    from mppdesk.core.audit_chain import GENESIS, event_hash
    from mppdesk.core.canonical import canonical_json, sha256_hex
    from mppdesk.desk.auth import add_user, login, os_actor
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime
    from mppdesk.store import repo

    root = _env("finalize")
    data_dir = root / "desk"
    shutil.rmtree(data_dir, ignore_errors=True)
    runtime = open_runtime(data_dir)
    add_user(runtime, os_actor(), "ani", "officer", "rahasia-bench-1")
    actor = login(runtime, "ani", "rahasia-bench-1")
    visit = _three_service_visit(runtime)
    request = parse_visit(visit)
    repeat = 60 if quick else 200
    stored_visits = 2_000 if quick else 10_000
    sample = finalize_visit(runtime, actor, request)

    # The floor writes the rows the desk wrote for the sample visit, with fresh ids.
    with runtime.store.read() as session:
        stored = repo.get_visit(session, sample.visit_id)
        applicant = repo.get_applicant(session, stored.applicant_id)
        identity = (applicant.id_kind, applicant.id_number)
        submissions = [
            (s.service, s.agency, s.form_version, s.status, json.loads(s.outbox[0].payload),
             s.answers, s.fee, s.sla_due.isoformat(), s.local_date,
             [(c.requirement_id, c.position, c.applies, c.state) for c in s.checklist])
            for s in stored.submissions
        ]
    raw = runtime.store.raw_connection()
    events = [(action, object_type, json.loads(details)) for action, object_type, details in raw.execute(
        "SELECT action, object_type, details FROM audit_events ORDER BY id DESC LIMIT ?",
        (len(submissions) + 1,)).fetchall()[::-1]]
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("PRAGMA secure_delete=ON")
    counter = {"n": 0}
    stamp = lambda at: at.replace(tzinfo=None).isoformat(" ", "microseconds")  # noqa: E731

    def floor():
        counter["n"] += 1
        n = counter["n"]
        now = datetime.now(UTC)
        at = stamp(now)
        visit_id = str(uuid.uuid4())
        raw.execute("BEGIN IMMEDIATE")
        applicant_id, _name, profile = raw.execute(
            "SELECT id, name, profile FROM applicants WHERE id_kind = ? AND id_number = ?",
            identity).fetchone()
        json.loads(profile)
        raw.execute("SELECT status FROM visits WHERE id = ?", (visit_id,)).fetchone()
        raw.execute("INSERT INTO visits (id, ticket, desk, officer, applicant_id, proxy, status,"
                    " draft, ticket_at, started_at, finalized_at, local_date, updated_at) VALUES"
                    " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (visit_id, "A-1", "K01", "ani", applicant_id, None, "finalized", None,
                     None, at, at, stored.local_date, at))
        first = raw.execute(
            "INSERT INTO sequences (name, value) VALUES ('floor', ?) ON CONFLICT (name)"
            " DO UPDATE SET value = sequences.value + excluded.value RETURNING value",
            (len(submissions),)).fetchone()[0] - len(submissions) + 1
        sub_rows, checklist_rows, outbox_rows, audit_rows = [], [], [], []
        prev = raw.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        prev = prev[0] if prev else GENESIS
        for position, (service, agency, version, status, payload, answers, fee, sla, day,
                       checklist) in enumerate(submissions):
            submission_id = str(uuid.uuid4())
            tracking = f"F{n:07d}-{first + position}"
            body = canonical_json({**payload, "submission_id": submission_id,
                                   "tracking_number": tracking})
            body_hash = sha256_hex(body)
            sub_rows.append((submission_id, visit_id, position, service, agency, tracking, version,
                             status, "unreviewed", applicant_id, json.dumps(answers), fee, sla, at,
                             day, "ani", None))
            checklist_rows.extend((submission_id, *item) for item in checklist)
            outbox_rows.append((str(uuid.uuid4()), submission_id, agency, "pending", body,
                                body_hash, 0, at, at, "{}"))
            details = {**events[position][2], "tracking_number": tracking,
                       "payload_sha256": body_hash}
            audit_rows.append(("submission.finalized", "submission", submission_id, details))
        audit_rows.append(("visit.finalized", "visit", visit_id, events[-1][2]))
        chained = []
        for action, object_type, object_id, details in audit_rows:
            digest = event_hash(prev, now, "ani", action, object_type, object_id, details)
            chained.append((at, "ani", action, object_type, object_id, json.dumps(details), prev,
                            digest))
            prev = digest
        raw.executemany("INSERT INTO submissions (id, visit_id, position, service, agency,"
                        " tracking_number, form_version, status, review_state, applicant_id,"
                        " answers, fee, sla_due, finalized_at, local_date, officer, supersedes_id)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", sub_rows)
        raw.executemany("INSERT INTO checklist_items (submission_id, requirement_id, position,"
                        " applies, state) VALUES (?,?,?,?,?)", checklist_rows)
        raw.executemany("INSERT INTO outbox (id, submission_id, agency, state, payload,"
                        " payload_sha256, attempts, created_at, next_attempt_at, attachments_acked)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?)", outbox_rows)
        raw.executemany("INSERT INTO audit_events (at, actor, action, object_type, object_id,"
                        " details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)", chained)
        raw.execute("COMMIT")

    # Fill the store with visits of the same shape first (generation only: no fsync).
    raw.execute("PRAGMA synchronous=OFF")
    for _ in range(stored_visits):
        floor()
    raw.execute("PRAGMA synchronous=FULL")
    # Interleaved halves, so a burst of another process's disk or CPU load hits both sides.
    floor_samples, project_samples = [], []
    for _ in range(2):
        floor_samples += time_calls(floor, repeat // 2, warmup=3)
        project_samples += time_calls(lambda: finalize_visit(runtime, actor, request),
                                      repeat // 2, warmup=3)
    raw.close()
    runtime.close()
    return cost_result("finalize_visit", project_samples, floor_samples, goal=2.0,
                       extra={"services": len(visit["services"])},
                       size=f"{len(visit['services'])}-service visit, {stored_visits} visits in store")


def _three_service_visit(runtime) -> dict:
    catalog = runtime.catalog
    base = catalog.service("dukcapil/ktp-el").examples[0]
    visit = {"ticket": "A-1", "applicant": dict(base.applicant), "proxy": None,
             "services": [{"service": "dukcapil/ktp-el", "answers": dict(base.answers),
                           "checklist": dict(base.checklist)}]}
    for code in sorted(catalog.services):
        service = catalog.service(code)
        example = service.examples[0]
        if code == "dukcapil/ktp-el" or example.attachments or service.requires_approval:
            continue
        if {r.field for r in service.shared_fields} <= set(base.applicant):
            visit["services"].append({"service": code, "answers": dict(example.answers),
                                      "checklist": dict(example.checklist)})
        if len(visit["services"]) == 3:
            break
    return visit


def run(quick: bool) -> list[Result]:
    saved = os.environ.get("MPPDESK_KEY_FILE")
    try:
        results = [bench_finalize(quick)]
        results += bench_lookups(quick)
        return results
    finally:
        if saved is None:
            os.environ.pop("MPPDESK_KEY_FILE", None)
        else:
            os.environ["MPPDESK_KEY_FILE"] = saved
