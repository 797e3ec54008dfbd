"""The states a submission, its review and its outbox entries go through (see DESIGN.md)."""

from __future__ import annotations

from enum import StrEnum


class SubmissionStatus(StrEnum):
    DRAFT = "draft"
    FINALIZED = "finalized"
    HELD = "held"  # held for a supervisor's approval before sending
    QUEUED = "queued"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CONFLICT = "conflict"
    COLLECTED = "collected"
    # Replaced by a correction or a cancellation (the submission whose ``supersedes_id``
    # names it): never approved, never sent if it was not sent yet (mppdesk.desk.corrections).
    SUPERSEDED = "superseded"


class ReviewState(StrEnum):
    UNREVIEWED = "unreviewed"
    APPROVED = "approved"
    RETURNED = "returned"
    FLAGGED = "flagged"


class OutboxState(StrEnum):
    HELD = "held"
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    PAUSED = "paused"
    # Needs a person, not a retry: an agency that keeps answering outside the protocol, a
    # submission the agency lost after accepting it, or a fault of this PC (an unreadable
    # attachment). ``last_error_class`` says which; "kirim ulang" puts it back in the queue.
    FLAGGED = "flagged"
    # Withdrawn before it was sent: its submission was superseded (a correction or a
    # cancellation). Final, like ``done``, but nothing reached the agency.
    SUPERSEDED = "superseded"


class AgencyStatus(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    NEEDS_INFO = "needs_info"
    COMPLETED = "completed"
    REJECTED = "rejected"


TERMINAL_AGENCY_STATUSES = frozenset({AgencyStatus.COMPLETED, AgencyStatus.REJECTED})


class ChecklistState(StrEnum):
    """What happened to one requirement (persyaratan) at the counter."""

    ORIGINAL = "original"  # original handed over and kept
    COPY = "copy"  # copy handed over
    SHOWN = "shown"  # original shown and returned
    DIGITAL = "digital"  # scanned / attached
    MISSING = "missing"  # not brought: goes on the "berkas belum lengkap" slip
    NOT_APPLICABLE = "not_applicable"  # condition does not hold for this applicant


SATISFIED_CHECKLIST_STATES = frozenset(
    {ChecklistState.ORIGINAL, ChecklistState.COPY, ChecklistState.SHOWN, ChecklistState.DIGITAL}
)


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
