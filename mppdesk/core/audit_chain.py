"""The audit chain: each event's hash covers the previous event's hash and the event itself.

An edited, deleted or reordered event breaks every hash after it, and the newest hash (the
chain head) travels off the PC with each sync and daily report, so a rewrite of the whole
local chain is caught elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mppdesk.core.canonical import canonical_json

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any],
) -> str:
    # In UTC, as the store keeps it: an event stamped by a clock in the desk's zone (the
    # demo's seeded morning) must hash as it verifies later, here and at the hub.
    body = canonical_json(
        {
            "at": (at.astimezone(UTC) if at.tzinfo is not None else at).isoformat(
                timespec="microseconds"
            ),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "details": dict(details),
        }
    )
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


@dataclass(frozen=True)
class ChainEvent:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str
    position: int = 0  # 1-based place of the event in the chain


def verify_chain(events: Iterable[ChainEvent]) -> ChainBreak | None:
    """The first event where the chain does not hold, or None.

    Events come from a file anyone with the key could edit, so any field may hold anything:
    an edit that leaves an event unreadable (details that are not a JSON object, a time that
    is not a time) is a break at that event like any other edit, never a crash.
    """
    expected_prev = GENESIS
    for position, event in enumerate(events, start=1):
        if event.prev_hash != expected_prev:
            return ChainBreak(
                event.id, "previous hash does not match (event deleted or reordered)", position
            )
        if not isinstance(event.details, Mapping):
            return ChainBreak(
                event.id, "event details are not a JSON object (event edited)", position
            )
        if not isinstance(event.at, datetime):
            return ChainBreak(event.id, "event time is not a time (event edited)", position)
        try:
            recomputed = event_hash(
                event.prev_hash,
                event.at,
                str(event.actor),
                str(event.action),
                str(event.object_type),
                str(event.object_id),
                event.details,
            )
        except (TypeError, ValueError, UnicodeError):
            return ChainBreak(event.id, "event cannot be hashed (event edited)", position)
        if recomputed != event.hash:
            return ChainBreak(event.id, "hash does not match the event (event edited)", position)
        expected_prev = event.hash
    return None
