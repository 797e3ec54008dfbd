"""Store benchmarks: finalize_visit, nik_lookup, name_search.

Each runs on the encrypted store (SQLCipher) the desk uses, and each floor runs the same SQL
on an equally encrypted raw connection with the same pragmas, in the same run.

- finalize_visit: a 3-service visit through the desk (validation, one transaction) against
  raw SQL writing the same rows; goal ratio <= 2.
- nik_lookup / name_search: over 1,000,000 generated applicants (100,000 with --quick)
  against the raw query; goal ratio <= 2 and p95 <= 10 ms.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
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


def bench_lookups(quick: bool) -> list[Result]:
    from mppdesk.store import lookups
    from mppdesk.store.repo import name_key

    count = 100_000 if quick else 1_000_000
    runtime, samples = _applicant_store(count)
    rng = random.Random(2)
    numbers = [f"{rng.randrange(count):016d}" for _ in range(400)]
    raw = runtime.store.raw_connection()
    try:
        it = iter(numbers * 3)

        def project_nik():
            assert lookups.applicant_by_identity(runtime.store, "nik", next(it)) is not None

        it_raw = iter(numbers * 3)

        def floor_nik():
            raw.execute("BEGIN")
            row = raw.execute(
                "SELECT id, id_kind, id_number, name, profile, updated_at FROM applicants"
                " WHERE id_kind = ? AND id_number = ?", ("nik", next(it_raw))).fetchone()
            raw.execute("COMMIT")
            assert row is not None

        floor = time_calls(floor_nik, 300, warmup=20)
        project = time_calls(project_nik, 300, warmup=20)
        results = [cost_result("nik_lookup", project, floor, goal=2.0, extra={"applicants": count})]

        queries = [q for _n, q in samples] * 20

        it_q = iter(queries)

        def project_name():
            lookups.applicants_by_name(runtime.store, next(it_q), limit=20)

        it_qr = iter(queries)

        def floor_name():
            words = sorted(set(name_key(next(it_qr)).split()), key=len, reverse=True)
            sql = ("SELECT a.id, a.id_kind, a.id_number, a.name, a.profile, a.updated_at"
                   " FROM applicant_name_tokens t JOIN applicants a ON a.id = t.applicant_id"
                   " WHERE t.token >= ? AND t.token < ?")
            params = [words[0], words[0] + "\U0010ffff"]
            for word in words[1:]:
                sql += " AND (' ' || a.name_key) LIKE ?"
                params.append("% " + word + "%")
            raw.execute("BEGIN")
            rows = raw.execute(sql + " ORDER BY t.token, t.applicant_id LIMIT 20", params).fetchall()
            raw.execute("COMMIT")
            [json.loads(r[4]) for r in rows]

        floor = time_calls(floor_name, min(200, len(queries) // 2), warmup=5)
        project = time_calls(project_name, min(200, len(queries) // 2), warmup=5)
        results.append(cost_result("name_search", project, floor, goal=2.0, extra={"applicants": count}))
        return results
    finally:
        raw.close()
        runtime.close()


def bench_finalize(quick: bool) -> Result:
    from mppdesk.core.audit_chain import event_hash
    from mppdesk.core.canonical import canonical_json, sha256_hex
    from mppdesk.desk.auth import add_user, login, os_actor
    from mppdesk.desk.intake import finalize_visit, parse_visit
    from mppdesk.desk.runtime import open_runtime

    root = _env("finalize")
    data_dir = root / "desk"
    shutil.rmtree(data_dir, ignore_errors=True)
    runtime = open_runtime(data_dir)
    add_user(runtime, os_actor(), "ani", "officer", "rahasia-bench-1")
    actor = login(runtime, "ani", "rahasia-bench-1")
    visit = _three_service_visit(runtime)
    request = parse_visit(visit)
    repeat = 40 if quick else 150
    sample = finalize_visit(runtime, actor, request)

    # The floor writes the same rows as the sample visit, with the same pragmas.
    raw = runtime.store.raw_connection()
    raw.execute("PRAGMA synchronous=FULL")
    with runtime.store.read() as session:
        from mppdesk.store import repo

        stored = repo.get_visit(session, sample.visit_id)
        rows = {
            "submissions": [(s.service, s.agency, s.answers, s.fee, s.sla_due.isoformat(),
                             [(c.requirement_id, c.position, c.applies, c.state) for c in s.checklist],
                             s.outbox[0].payload)
                            for s in stored.submissions],
            "profile": repo.get_applicant(session, stored.applicant_id).profile,
        }
    counter = {"n": 0}

    def floor():
        counter["n"] += 1
        n = counter["n"]
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
        visit_id = str(uuid.uuid4())
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("SELECT * FROM applicants WHERE id_kind='nik' AND id_number=?",
                    (visit["applicant"]["nik"],)).fetchone()
        raw.execute("INSERT INTO visits (id, ticket, desk, officer, applicant_id, proxy, status, draft,"
                    " ticket_at, started_at, finalized_at, local_date, updated_at) VALUES"
                    " (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (visit_id, "A-1", "K01", "ani", stored.applicant_id, None, "finalized", None,
                     None, now, now, "2026-11-30", now))
        prev = raw.execute("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()[0]
        for position, (service, agency, answers, fee, sla, checklist, payload) in enumerate(rows["submissions"]):
            raw.execute("UPDATE sequences SET value = value + 1 WHERE name = 'floor' RETURNING value").fetchone()
            submission_id = str(uuid.uuid4())
            raw.execute("INSERT INTO submissions (id, visit_id, position, service, agency, tracking_number,"
                        " form_version, status, review_state, applicant_id, answers, fee, sla_due,"
                        " finalized_at, local_date, officer) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (submission_id, visit_id, position, service, agency, f"F-{n}-{position}",
                         "sha256:x", "queued", "unreviewed", stored.applicant_id,
                         json.dumps(answers), fee, sla, now, "2026-11-30", "ani"))
            raw.executemany("INSERT INTO checklist_items (submission_id, requirement_id, position,"
                            " applies, state) VALUES (?,?,?,?,?)",
                            [(submission_id, *item) for item in checklist])
            body = canonical_json(json.loads(payload))
            raw.execute("INSERT INTO outbox (id, submission_id, agency, state, payload, payload_sha256,"
                        " attempts, created_at, next_attempt_at, attachments_acked) VALUES"
                        " (?,?,?,?,?,?,?,?,?,?)",
                        (str(uuid.uuid4()), submission_id, agency, "pending", body, sha256_hex(body),
                         0, now, now, "{}"))
            at = datetime.now(UTC)
            digest = event_hash(prev, at, "ani", "submission.finalized", "submission", submission_id, {})
            raw.execute("INSERT INTO audit_events (at, actor, action, object_type, object_id, details,"
                        " prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
                        (at.replace(tzinfo=None).isoformat(sep=" "), "ani", "submission.finalized",
                         "submission", submission_id, "{}", prev, digest))
            prev = digest
        raw.execute("COMMIT")

    raw.execute("INSERT OR IGNORE INTO sequences (name, value) VALUES ('floor', 0)")
    floor_samples = time_calls(floor, repeat, warmup=3)
    project_samples = time_calls(lambda: finalize_visit(runtime, actor, request), repeat, warmup=3)
    raw.close()
    runtime.close()
    return cost_result("finalize_visit", project_samples, floor_samples, goal=2.0,
                       extra={"services": len(visit["services"])})


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
