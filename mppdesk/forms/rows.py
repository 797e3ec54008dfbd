"""The rows one finalized visit stores, as plain tuples in their tables' column order.

The visit plan (:mod:`mppdesk.forms.plan`) produces them in pure code; the store's finalize
write (:mod:`mppdesk.store.finalize`) inserts them with one ``executemany`` per table, the
tuple's fields naming the columns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple


class VisitRow(NamedTuple):
    id: str
    ticket: str
    desk: str
    officer: str
    applicant_id: str
    proxy: dict[str, Any] | None
    status: str
    draft: None
    ticket_at: datetime | None
    started_at: datetime
    finalized_at: datetime
    local_date: str
    updated_at: datetime


class SubmissionRow(NamedTuple):
    id: str
    visit_id: str
    position: int
    service: str
    agency: str
    tracking_number: str
    form_version: str
    status: str
    review_state: str
    applicant_id: str
    answers: dict[str, Any]
    fee: int | None
    sla_due: date
    finalized_at: datetime
    local_date: str
    officer: str
    supersedes_id: str | None


class ChecklistRow(NamedTuple):
    submission_id: str
    requirement_id: str
    position: int
    applies: bool
    state: str


class AttachmentRow(NamedTuple):
    submission_id: str
    name: str
    sha256: str
    size: int
    content_type: str


class OutboxRow(NamedTuple):
    id: str
    submission_id: str
    agency: str
    state: str
    payload: bytes
    payload_sha256: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    attachments_acked: dict[str, Any]


class AuditRow(NamedTuple):
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
