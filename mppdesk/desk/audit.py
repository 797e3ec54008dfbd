"""The audit trail: verifying the hash chain and reporting its head."""

from __future__ import annotations

from typing import Any

from mppdesk.core.audit_chain import verify_chain
from mppdesk.desk.runtime import Runtime
from mppdesk.store import repo


def chain_head(runtime: Runtime) -> str:
    """``ID:HASH`` of the newest event: recorded off the PC to catch a rewritten chain."""
    with runtime.store.read() as session:
        event_id, digest = repo.audit_head(session)
    return f"{event_id}:{digest}"


def verify_audit(runtime: Runtime, expect_head: str | None = None) -> dict[str, Any]:
    """Walk the whole chain; also check that a head recorded elsewhere is still in it."""
    count = 0
    seen_expected = expect_head is None
    expected_id, expected_hash = (None, None)
    if expect_head:
        left, _, right = expect_head.partition(":")
        expected_id, expected_hash = (int(left) if left.isdigit() else -1), right
    with runtime.store.read() as session:

        def counted():
            nonlocal count, seen_expected
            for event in repo.audit_events(session):
                count += 1
                if event.id == expected_id and event.hash == expected_hash:
                    seen_expected = True
                yield event

        broken = verify_chain(counted())
        head_id, head_hash = repo.audit_head(session)
    if broken is not None:
        return {
            "ok": False,
            "events": count,
            "first_bad_event": broken.event_id,
            "position": broken.position,
            "reason": broken.reason,
            "head": f"{head_id}:{head_hash}",
        }
    if not seen_expected:
        return {
            "ok": False,
            "events": count,
            "first_bad_event": expected_id,
            "position": None,
            "reason": "the recorded head is not in this chain (the chain was rewritten)",
            "head": f"{head_id}:{head_hash}",
        }
    return {
        "ok": True,
        "events": count,
        "first_bad_event": None,
        "position": None,
        "reason": None,
        "head": f"{head_id}:{head_hash}",
    }
