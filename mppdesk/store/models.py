"""SQLAlchemy models of the desk's store.

Times are stored as naive UTC (``UtcDateTime`` makes them aware again on the way out);
``local_date`` columns hold the install's calendar day (YYYY-MM-DD) so per-day queries and
sequences never depend on the database's idea of time zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict: JSON}


class Officer(Base):
    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LoginAttempt(Base):
    """Every login attempt, also for unknown names, so lockout counts failures in a window."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)


class Applicant(Base):
    __tablename__ = "applicants"
    __table_args__ = (
        UniqueConstraint("id_kind", "id_number", name="uq_applicant_identity"),
        Index("ix_applicants_name_key", "name_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    id_kind: Mapped[str] = mapped_column(String(16))  # nik | paspor | kitas
    id_number: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(500))
    name_key: Mapped[str] = mapped_column(String(500))  # upper-cased, folded, for prefix search
    profile: Mapped[dict] = mapped_column(JSON)  # shared field values (data bersama)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The hub's version of this applicant when the desk last saw it there (0006): pushed as
    # the base of the desk's changes, so the hub keeps both sides of a conflicting edit.
    hub_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ApplicantNameToken(Base):
    """One row per word of an applicant's name: search by any word, by prefix, in an index."""

    __tablename__ = "applicant_name_tokens"

    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(
        ForeignKey("applicants.id", ondelete="CASCADE"), primary_key=True
    )


class ApplicantChange(Base):
    __tablename__ = "applicant_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    new_value: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    visit_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    officer: Mapped[str] = mapped_column(String(64))


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_local_date", "local_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), default="")
    desk: Mapped[str] = mapped_column(String(32))
    officer: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[str | None] = mapped_column(ForeignKey("applicants.id"), nullable=True)
    proxy: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | finalized
    draft: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # in-progress state
    ticket_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    local_date: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    submissions: Mapped[list[Submission]] = relationship(
        back_populates="visit", order_by="Submission.position"
    )


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_local_date", "local_date"),
        Index("ix_submissions_status", "status"),
        Index("ix_submissions_agency_date", "agency", "local_date"),
        Index("ix_submissions_finalized_at", "finalized_at", "id"),
        Index("ix_submissions_status_time", "status", "finalized_at"),
        # 0005: the view's filters in its order, with the applicant to check a search
        # against without reading the row
        Index("ix_submissions_agency_time", "agency", "finalized_at", "id", "applicant_id"),
        Index(
            "ix_submissions_status_agency_time",
            "status",
            "agency",
            "finalized_at",
            "id",
            "applicant_id",
        ),
        Index(
            "ix_submissions_status_applicant_time", "status", "finalized_at", "id", "applicant_id"
        ),
        Index("ix_submissions_applicant_time", "applicant_id", "finalized_at", "id"),
        Index("ix_submissions_supersedes", "supersedes_id"),  # 0007: who corrects this one
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    service: Mapped[str] = mapped_column(String(100))
    agency: Mapped[str] = mapped_column(String(50))
    tracking_number: Mapped[str] = mapped_column(String(32), unique=True)
    form_version: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16))
    review_state: Mapped[str] = mapped_column(String(16), default="unreviewed")
    review_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("applicants.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    fee: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sla_due: Mapped[date] = mapped_column(Date)
    finalized_at: Mapped[datetime] = mapped_column(UtcDateTime)
    local_date: Mapped[str] = mapped_column(String(10))
    officer: Mapped[str] = mapped_column(String(64))
    supersedes_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    agency_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    agency_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agency_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    agency_updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    collected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    collected_by: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    visit: Mapped[Visit] = relationship(back_populates="submissions")
    checklist: Mapped[list[ChecklistItem]] = relationship(
        back_populates="submission", order_by="ChecklistItem.position"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="submission")
    outbox: Mapped[list[OutboxEntry]] = relationship(back_populates="submission")


class ChecklistItem(Base):
    __tablename__ = "checklist_items"

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    requirement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    applies: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))

    submission: Mapped[Submission] = relationship(back_populates="checklist")


class Attachment(Base):
    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("submission_id", "name", name="uq_attachment_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))

    submission: Mapped[Submission] = relationship(back_populates="attachments")


class OutboxEntry(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("submission_id", "agency", name="uq_outbox_submission_agency"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_agency_state", "agency", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    agency: Mapped[str] = mapped_column(String(50))  # agency endpoint code
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # canonical JSON, frozen at finalize
    payload_sha256: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    agency_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    agency_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    agency_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_status_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    attachments_acked: Mapped[dict] = mapped_column(JSON, default=dict)  # name -> sha256
    # Answers outside the protocol in a row (captive portal, wrong endpoint); at
    # SyncSettings.protocol_error_flag_after the entry is flagged for a supervisor (0004).
    protocol_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    submission: Mapped[Submission] = relationship(back_populates="outbox")


class Sequence(Base):
    """Named counters: tracking numbers per desk and day, queue tickets per group and day."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """Append-only, hash-chained: each event's hash covers the previous hash and itself."""

    __tablename__ = "audit_events"
    __table_args__ = (  # 0007: the access log asks by officer and by day
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- supervisor review and satisfaction survey (migration 0003) ------------------------

from sqlalchemy import CheckConstraint, text  # noqa: E402 - kept with the models that need it

# The nine elements (unsur) of PermenPANRB 14/2017, in the regulation's order; the labels
# live with the survey (mppdesk.desk.survey).
SURVEY_COLUMNS = (
    "requirements",  # persyaratan
    "procedure",  # sistem, mekanisme dan prosedur
    "turnaround",  # waktu penyelesaian
    "cost",  # biaya/tarif
    "product",  # produk spesifikasi jenis pelayanan
    "competence",  # kompetensi pelaksana
    "conduct",  # perilaku pelaksana
    "complaints",  # penanganan pengaduan, saran dan masukan
    "facilities",  # sarana dan prasarana
)

# A submission still owed to its applicant: the SLA lists look only at these. The same text is
# the WHERE of the partial index ``ix_submissions_open_sla`` and of the queries that use it:
# SQLite uses a partial index only when the query repeats its terms with the same constants.
OPEN_SLA_SQL = (
    "collected_at IS NULL AND coalesce(agency_status, '') NOT IN ('completed', 'rejected') "
    "AND status NOT IN ('rejected', 'conflict', 'collected', 'superseded')"
)

# A submission a supervisor should look at; ``ix_submissions_attention`` holds only these.
ATTENTION_SQL = (
    "status <> 'superseded' AND (status IN ('rejected', 'conflict') "
    "OR agency_status = 'needs_info' OR review_state IN ('flagged', 'returned'))"
)
Index(
    "ix_submissions_attention",
    Submission.__table__.c.local_date,
    Submission.__table__.c.finalized_at,
    sqlite_where=text(f"({ATTENTION_SQL})"),
    postgresql_where=text(f"({ATTENTION_SQL})"),
)

Index(
    "ix_submissions_open_sla",
    # sla_due to search by, agency to count by, and the columns of the WHERE itself, so the
    # counts never leave the (small) index.
    *(
        Submission.__table__.c[name]
        for name in ("sla_due", "agency", "status", "agency_status", "collected_at")
    ),
    sqlite_where=text(OPEN_SLA_SQL),
    postgresql_where=text(OPEN_SLA_SQL),
)

# Covering indexes of the supervisor dashboard: a busy day's counts by status, agency,
# service, officer and hour, and its waiting and service times, read from the index alone
# instead of looking up each wide row (migration 0003; bench/bench_reports.py measures them).
Index(
    "ix_submissions_day_report",
    *(
        Submission.__table__.c[name]
        for name in (
            "local_date",
            "status",
            "agency",
            "service",
            "officer",
            "agency_status",
            "review_state",
            "finalized_at",
        )
    ),
)
Index(
    "ix_visits_day_report",
    *(
        Visit.__table__.c[name]
        for name in ("local_date", "status", "officer", "ticket_at", "started_at", "finalized_at")
    ),
)
# The survey per service and agency: a day's responses joined to their visits' submissions.
Index(
    "ix_submissions_visit_service",
    Submission.__table__.c.visit_id,
    Submission.__table__.c.service,
    Submission.__table__.c.agency,
)
# The sync backlog per agency: undelivered states are few, this reads only them.
Index(
    "ix_outbox_backlog",
    OutboxEntry.__table__.c.state,
    OutboxEntry.__table__.c.agency,
    OutboxEntry.__table__.c.created_at,
)


class ReviewDecision(Base):
    """One supervisor decision on a submission; the submission keeps the latest one."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16))  # approved | returned | flagged
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    released: Mapped[int] = mapped_column(Integer, default=0)  # outbox entries let go


class SurveyResponse(Base):
    """One satisfaction survey (SKM) answered at the end of a visit: nine scores of 1-4."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        Index("ix_survey_responses_local_date", "local_date"),
        CheckConstraint(
            " AND ".join(f"{name} BETWEEN 1 AND 4" for name in SURVEY_COLUMNS),
            name="ck_survey_scores",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[str] = mapped_column(ForeignKey("visits.id"), unique=True)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    local_date: Mapped[str] = mapped_column(String(10))
    officer: Mapped[str] = mapped_column(String(64))
    requirements: Mapped[int] = mapped_column(Integer)
    procedure: Mapped[int] = mapped_column(Integer)
    turnaround: Mapped[int] = mapped_column(Integer)
    cost: Mapped[int] = mapped_column(Integer)
    product: Mapped[int] = mapped_column(Integer)
    competence: Mapped[int] = mapped_column(Integer)
    conduct: Mapped[int] = mapped_column(Integer)
    complaints: Mapped[int] = mapped_column(Integer)
    facilities: Mapped[int] = mapped_column(Integer)
    suggestion: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- the mall hub (migration 0006) -----------------------------------------------------


class HubJournal(Base):
    """One committed change to replicate to the hub, written by a trigger (see 0006)."""

    __tablename__ = "hub_journal"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    entity_id: Mapped[str] = mapped_column(String(200))


class HubState(Base):
    """What the desk knows of its hub: acked sequence, pull cursor, last exchanges, errors."""

    __tablename__ = "hub_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class HubLookupCache(Base):
    """An applicant as the hub last answered a look-up for them (offline fallback)."""

    __tablename__ = "hub_lookup_cache"

    id_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    applicant: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- handovers to manual agencies (migration 0007) --------------------------------------


class Handover(Base):
    """A submission for an agency without an API handed over by hand (serah terima berkas).

    Its outbox entry becomes ``done`` in the same transaction; this row keeps who received
    the files at the agency and their reference, which the agency never sends back itself.
    """

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_agency_date", "agency", "local_date"),)

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    agency: Mapped[str] = mapped_column(String(50))
    received_by: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    officer: Mapped[str] = mapped_column(String(64))
    handed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    local_date: Mapped[str] = mapped_column(String(10))


# --- queue tickets: issued, called, served, done or no-show (migration 0008) ------------


class QueueTicket(Base):
    """A queue ticket this desk issued from its own block (kiosk, offline) or called.

    Each step keeps its time (mppdesk/store/tickets.py), so waiting (issued → called) and
    service (called → finished) are true figures. A ticket the hub issued and this desk
    called is kept too (``source`` hub), with the hub's stamps.
    """

    __tablename__ = "queue_tickets"
    __table_args__ = (
        UniqueConstraint("local_date", "number", name="uq_queue_tickets_day_number"),
        Index("ix_queue_tickets_day_group_status", "local_date", "grp", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    grp: Mapped[str] = mapped_column(String(8))  # the ticket letter (F)
    label: Mapped[str] = mapped_column(String(40), default="")  # the catalog group (dukcapil)
    local_date: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str | None] = mapped_column(String(24), nullable=True)
    source: Mapped[str] = mapped_column(String(8))  # desk | hub
    status: Mapped[str] = mapped_column(String(12))  # waiting|called|served|done|no_show
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    called_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    served_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    officer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A hub ticket: the last step the hub acknowledged; a later ``status`` is still to send.
    hub_state: Mapped[str | None] = mapped_column(String(12), nullable=True)


# --- billing records from agencies and their payment state (migration 0009) -------------


class BillingRecord(Base):
    """The bill an agency issued for a fee-bearing submission, as it last stated it.

    One per submission (a re-issued code after expiry replaces it); ``state`` is the
    agency's word (unpaid, paid, expired), ``ntpn`` and ``paid_at`` its proof of payment.
    """

    __tablename__ = "billing"
    __table_args__ = (
        Index("ix_billing_state_expires", "state", "expires_at"),
        Index("ix_billing_agency_paid", "agency", "paid_at"),
    )

    submission_id: Mapped[str] = mapped_column(ForeignKey("submissions.id"), primary_key=True)
    agency: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    ntpn: Mapped[str | None] = mapped_column(String(16), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the desk first heard of it
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


# --- access audit (migration 0007) --------------------------------------------------------


class AuditSubject(Base):
    """Whose data an audited search or view showed: one row per (person, event).

    ``subject`` is a keyed hash of the person's identity number (mppdesk/store/access_log.py),
    never the number; the same list is in the event's details, which the chain covers.
    """

    __tablename__ = "audit_subjects"

    subject: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)


class DeskSecret(Base):
    """Secrets of this store that travel with it (the audit subject hash key)."""

    __tablename__ = "desk_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
