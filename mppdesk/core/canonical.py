"""Canonical JSON: the frozen bytes of a payload and their hash.

The outbox stores exactly these bytes, and the agency compares them byte for byte when the
same idempotency key comes again, so the encoding must never depend on dict order or spacing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
