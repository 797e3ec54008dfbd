"""The counter's hottest reads (NIK lookup, name completion) on a raw pooled connection.

Same tables as the ORM models, read without building ORM objects: these run on every scan
of a KTP and every keystroke of a name, so they stay within a small factor of raw SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mppdesk.store.database import Store
from mppdesk.store.repo import name_key

_COLUMNS = "a.id, a.id_kind, a.id_number, a.name, a.profile, a.updated_at"


@dataclass(frozen=True)
class ApplicantRow:
    id: str
    id_kind: str
    id_number: str
    name: str
    profile: dict[str, Any]
    updated_at: datetime | None


def _datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _row(values: tuple) -> ApplicantRow:
    profile = values[4]
    if isinstance(profile, str | bytes):
        profile = json.loads(profile)
    return ApplicantRow(
        values[0], values[1], values[2], values[3], profile or {}, _datetime(values[5])
    )


def applicant_by_identity(store: Store, id_kind: str, id_number: str) -> ApplicantRow | None:
    p = store.paramstyle
    with store.raw_read() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM applicants a WHERE a.id_kind = {p} AND a.id_number = {p}",  # noqa: S608 - placeholders only
            (id_kind, id_number),
        )
        found = cursor.fetchone()
    return _row(found) if found else None


def applicants_by_name(store: Store, text: str, limit: int = 20) -> list[ApplicantRow]:
    """Applicants having a name word starting with each typed word, first ``limit`` of them.

    The longest typed word drives an index range scan over name words; the other words filter
    the joined names. Results come in the order of the matched word, then by name.
    """
    words = [w for w in name_key(text).replace(",", " ").replace(".", " ").split() if w]
    if not words:
        return []
    words = sorted(set(words), key=len, reverse=True)
    p = store.paramstyle
    # Only constant column lists and placeholders are put into the SQL text.
    sql = (
        f"SELECT {_COLUMNS} FROM applicant_name_tokens t JOIN applicants a ON a.id = t.applicant_id"  # noqa: S608
        f" WHERE t.token >= {p} AND t.token < {p}"
    )
    params: list[Any] = [words[0], words[0] + "\U0010ffff"]
    for word in words[1:]:
        sql += f" AND (' ' || a.name_key) LIKE {p}"
        params.append("% " + word.replace("%", "").replace("_", "") + "%")
    # Index order (token, applicant_id): the scan stops after ``limit`` matches, no sort.
    sql += f" ORDER BY t.token, t.applicant_id LIMIT {p}"
    params.append(limit)
    with store.raw_read() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    seen: set[str] = set()
    out = []
    for values in rows:
        if values[0] not in seen:
            seen.add(values[0])
            out.append(_row(values))
    return out
