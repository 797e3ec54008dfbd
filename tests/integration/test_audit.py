"""The audit chain on a real store: `mppdesk audit verify` catches edits, deletions, reordering."""

from __future__ import annotations

import logging

import pytest

from mppdesk.desk.intake import finalize_visit, parse_visit
from mppdesk.desk.runtime import open_runtime
from mppdesk.logs import MaskingFilter
from mppdesk.store import repo
from tests.conftest import cli_json, run_cli
from tests.integration.test_intake import example_visit


@pytest.fixture
def audited(data_dir, runtime, officer):
    for _ in range(3):
        finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    with runtime.store.read() as session:
        count = repo.audit_head(session)[0]
    runtime.close()
    assert count >= 8, count
    return data_dir, count


def _tamper(data_dir, sql: str) -> None:
    """Edit the store below the desk, as someone with the file and the key could."""
    runtime = open_runtime(data_dir)
    raw = runtime.store.raw_connection()
    try:
        raw.executescript(sql)
    finally:
        raw.close()
        runtime.close()


def test_intact_chain_verifies(audited):
    data_dir, count = audited
    result = run_cli("audit", "verify", "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert cli_json(result)["events"] == count


@pytest.mark.parametrize(
    ("sql", "bad_event"),
    [
        ("UPDATE audit_events SET actor = 'mallory' WHERE id = 4;", 4),
        ("DELETE FROM audit_events WHERE id = 3;", 4),
        (
            "UPDATE audit_events SET id = -1 WHERE id = 5;"
            "UPDATE audit_events SET id = 5 WHERE id = 6;"
            "UPDATE audit_events SET id = 6 WHERE id = -1;",
            5,
        ),
    ],
    ids=["edited", "deleted", "reordered"],
)
def test_tampering_is_named(audited, sql, bad_event):
    data_dir, _count = audited
    _tamper(data_dir, sql)
    result = run_cli("audit", "verify", "--json", data_dir=data_dir)
    assert result.returncode == 1
    assert cli_json(result)["first_bad_event"] == bad_event


def test_rewritten_chain_is_caught_by_a_head_recorded_elsewhere(audited):
    data_dir, _count = audited
    head = run_cli("audit", "head", data_dir=data_dir).stdout.strip()
    # A consistent rewrite: drop the newest event; the rest of the chain still verifies.
    _tamper(data_dir, "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events);")
    assert run_cli("audit", "verify", data_dir=data_dir).returncode == 0
    result = run_cli("audit", "verify", "--expect-head", head, "--json", data_dir=data_dir)
    assert result.returncode == 1
    assert "rewritten" in cli_json(result)["reason"]


def test_logs_mask_nik_and_phone(caplog):
    logger = logging.getLogger("mppdesk.test")
    handler_filter = MaskingFilter()
    record = logger.makeRecord("mppdesk.test", logging.WARNING, __file__, 1,
                               "applicant %s phone %s", ("3174014506900001", "081234567890"), None)
    handler_filter.filter(record)
    text = record.getMessage()
    assert "3174014506900001" not in text and "81234567890" not in text
    assert "3174" in text


def test_the_chain_head_travels_to_the_agency_with_each_sync(data_dir, runtime, officer, agency_sim):
    from mppdesk.desk.audit import verify_audit
    from mppdesk.settings import AgencyEndpoint, Settings, save_settings
    from mppdesk.sync.worker import SyncWorker

    settings = Settings().with_agency(
        AgencyEndpoint(code="dukcapil", base_url=agency_sim.agency_url("dukcapil"))
    )
    save_settings(data_dir, settings)
    finalize_visit(runtime, officer, parse_visit(example_visit("dukcapil/ktp-el")))
    worker = SyncWorker(runtime.store, settings, runtime.blobs)
    assert worker.drain(30)[0]
    worker.close()
    heads = agency_sim.stats("dukcapil")["audit_heads"]
    head = heads[settings.desk.code]
    # The head the agency holds is part of the desk's chain; later events extend it.
    assert verify_audit(runtime, head)["ok"]
    with runtime.store.write() as session:
        repo.append_audit(session, actor="x", action="test")
    assert verify_audit(runtime, head)["ok"]
