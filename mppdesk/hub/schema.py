"""The hub's tables (SQLAlchemy Core). The Alembic migrations in ``migrations/`` create them.

Personal data is only ever in the ``*_enc`` columns (AES-GCM with the hub key); everything
else is a code, a number, a hash, a date or a status, so a dump of the database, a replica or
a report query never holds a NIK, a name or a phone number in clear.
Times are ISO-8601 text in UTC: the same on PostgreSQL and SQLite and sortable as text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

# SQLite only numbers an INTEGER PRIMARY KEY by itself; PostgreSQL gets a bigint identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

desks = Table(
    "hub_desks",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),
    Column("last_seen", String(40), nullable=True),
    Column("acked_seq", BigInteger, nullable=False, default=0),
    # The desk's newest journal sequence as it last said (X-MPP-Journal-Head): pending = head - acked
    Column("journal_head", BigInteger, nullable=True),
    Column("audit_head", String(64), nullable=False),
    Column("chain_error", Text, nullable=True),
    Column("chain_error_seq", BigInteger, nullable=True),
)

records = Table(
    "hub_records",
    metadata,
    # One row per desk entity (state-based): its key is the primary key, no surrogate id, so
    # a push maintains one index fewer; kind and id first, so a submission is found by its
    # id alone (a review decision) through the same index.
    Column("desk", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ref_id", String(64), nullable=True),  # a review record: its submission id
    Column("tracking_no", String(64), nullable=True),
    Column("agency", String(64), nullable=True),
    Column("service", String(128), nullable=True),
    Column("status", String(32), nullable=True),
    Column("local_date", String(10), nullable=True),
    Column("created_at", String(40), nullable=True),
    Column("stored_at", String(40), nullable=False),
    Column("body_enc", LargeBinary, nullable=False),
    PrimaryKeyConstraint("kind", "entity_id", "desk", name="pk_hub_records"),
    # Every index slows the hot path (push): the ones that serve one query are partial.
    Index(
        "ix_hub_records_kind_date",
        "kind",
        "local_date",
        postgresql_where=text("local_date IS NOT NULL"),
        sqlite_where=text("local_date IS NOT NULL"),
    ),
    Index(
        "ix_hub_records_held",
        "entity_id",
        postgresql_where=text("kind = 'submission' AND status = 'held'"),
        sqlite_where=text("kind = 'submission' AND status = 'held'"),
    ),
    Index(
        "ix_hub_records_review_ref",
        "ref_id",
        postgresql_where=text("kind = 'review'"),
        sqlite_where=text("kind = 'review'"),
    ),
)

applicants = Table(
    "hub_applicants",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("lookup_hash", String(64), nullable=False, unique=True),
    Column("id_kind", String(16), nullable=False),
    Column("id_number_enc", LargeBinary, nullable=False),
    Column("name_enc", LargeBinary, nullable=False),
    # {"fields": {...}, "history": {field: [[version, desk, at, value], ...]}}
    Column("profile_enc", LargeBinary, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_by", String(16), nullable=False),
    Column("updated_by", String(16), nullable=False),
    Column("updated_at", String(40), nullable=False),
    # A foreigner's other number (since 0005): the keyed hash of ("paspor", no_paspor) of a
    # KITAS-keyed applicant, of ("kitas", no_kitas) of a passport-keyed one, so either number
    # finds them. Never unique: the applicant keyed by that number wins (``HubStore.lookup``).
    Column("alias_hash", String(64), nullable=True),
    Index(
        "ix_hub_applicants_alias",
        "alias_hash",
        postgresql_where=text("alias_hash IS NOT NULL"),
        sqlite_where=text("alias_hash IS NOT NULL"),
    ),
)

applicant_conflicts = Table(
    "hub_applicant_conflicts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("applicant_id", BigInteger, nullable=False, index=True),
    Column("field", String(64), nullable=False),
    Column("values_enc", LargeBinary, nullable=False),  # [{"value", "desk", "at"}, ...]
    Column("created_at", String(40), nullable=False),
    Column("resolved_at", String(40), nullable=True),
    Column("resolved_by", String(64), nullable=True),
)

users = Table(
    "hub_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("full_name", String(200), nullable=False),  # "" since 0003: see full_name_enc
    Column("full_name_enc", LargeBinary, nullable=True),  # sealed, the user name as context
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("locked_until", String(40), nullable=True),
    Column("updated_at", String(40), nullable=False),
)

catalog_publications = Table(
    "hub_catalog_publications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False),
    Column("files_json", Text, nullable=False),
    Column("published_at", String(40), nullable=False),
)

agency_settings = Table(
    "hub_agency_settings",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("settings_json", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

holidays = Table(
    "hub_holidays",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("dates_json", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

review_decisions = Table(
    "hub_review_decisions",
    metadata,
    Column("submission_id", String(64), primary_key=True),
    Column("desk", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    Column("actor", String(64), nullable=False),
    Column("decided_at", String(40), nullable=False),
)

# What a desk pulls: one row per change, ``desk`` NULL for every desk.
feed = Table(
    "hub_feed",
    metadata,
    Column("cursor", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("desk", String(16), nullable=True),
    Column("body_json", Text, nullable=False),
    Column("at", String(40), nullable=False),
)

ticket_counters = Table(
    "hub_ticket_counters",
    metadata,
    Column("grp", String(8), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("seq", Integer, nullable=False),
)

tickets = Table(
    "hub_tickets",
    metadata,
    Column("grp", String(8), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("desk", String(16), nullable=False),
    Column("issued_at", String(40), nullable=False),
    # The lifecycle (migration 0002, mppdesk/hub/tickets.py): NULL status is a number handed
    # out by the older POST /v1/tickets, called as it was issued.
    Column("priority", String(24), nullable=True),
    Column("label", String(40), nullable=True),
    Column("status", String(12), nullable=True),  # waiting|called|served|done|no_show
    Column("called_at", String(40), nullable=True),
    Column("served_at", String(40), nullable=True),
    Column("finished_at", String(40), nullable=True),
    Column("counter", String(16), nullable=True),  # the desk that called it
    Column("officer", String(64), nullable=True),
    Index("ix_hub_tickets_day_status", "day", "grp", "status", "seq"),
    Index("ix_hub_tickets_day_called", "day", "grp", "called_at"),
)

access_log = Table(
    "hub_access_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("desk", String(16), nullable=False),
    Column("officer", String(64), nullable=False),
    Column("subject_hash", String(64), nullable=False),
    Column("found", Boolean, nullable=False),
)

login_attempts = Table(
    "hub_login_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("desk", String(16), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_hub_login_attempts_user", "username", "id"),
)

# The desks' billing records (migration 0004, mppdesk/hub/billing.py): one row per bill, what
# its desk last pushed. Nothing personal is in a bill (a code, an agency, an amount, a state,
# the NTPN, times), so no column is sealed: the mall's money figures are plain SQL. Times are
# UTC ISO text as everywhere here; ``paid_day`` is the mall's local date of the payment.
billing = Table(
    "hub_billing",
    metadata,
    Column("desk", String(16), nullable=False),
    Column("submission_id", String(64), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("code", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("ntpn", String(16), nullable=True),
    Column("paid_at", String(40), nullable=True),
    Column("paid_day", String(10), nullable=True),
    Column("expires_at", String(40), nullable=False),
    Column("seq", BigInteger, nullable=False),  # the desk sequence of the record kept
    Column("stored_at", String(40), nullable=False),
    PrimaryKeyConstraint("submission_id", "desk", name="pk_hub_billing"),
    # The two mall figures, each from its own partial index (on PostgreSQL covering the
    # amount, so the totals need no row): paid per agency on a day; unpaid ones by expiry, in
    # the order the report lists them (it stops at the first 50).
    Index(
        "ix_hub_billing_paid_day",
        "paid_day",
        "agency",
        postgresql_include=["amount"],
        postgresql_where=text("state = 'paid'"),
        sqlite_where=text("state = 'paid'"),
    ),
    Index(
        "ix_hub_billing_unpaid_expires",
        "expires_at",
        "desk",
        "submission_id",
        postgresql_include=["amount"],
        postgresql_where=text("state = 'unpaid'"),
        sqlite_where=text("state = 'unpaid'"),
    ),
)
