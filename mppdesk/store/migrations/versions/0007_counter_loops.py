"""counter loops: corrections, returns, handovers, accounts, access audit

(Placeholder in the chain; the work that needs it fills it in.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_handovers()
    _upgrade_corrections()
    _upgrade_access_audit()


def downgrade() -> None:
    _downgrade_access_audit()
    _downgrade_corrections()
    _downgrade_handovers()


# --- handovers to manual agencies: who received the files, with their reference ---------


def _upgrade_handovers() -> None:
    op.create_table(
        "handovers",
        sa.Column("submission_id", sa.String(36), sa.ForeignKey("submissions.id"), primary_key=True),
        sa.Column("agency", sa.String(50), nullable=False),
        sa.Column("received_by", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("handed_at", sa.DateTime(), nullable=False),
        sa.Column("local_date", sa.String(10), nullable=False),
    )
    op.create_index("ix_handovers_agency_date", "handovers", ["agency", "local_date"])


def _downgrade_handovers() -> None:
    op.drop_index("ix_handovers_agency_date", table_name="handovers")
    op.drop_table("handovers")


# --- corrections and cancellations: who supersedes whom; superseded ones owe nothing -------

# Copied, not imported: a migration must keep meaning what it meant when it was written.
# A superseded submission (status ``superseded``) is neither owed to its applicant (SLA lists)
# nor something a supervisor still has to look at (a corrected return leaves the lists).
_OPEN_SLA_0003 = (
    "collected_at IS NULL AND coalesce(agency_status, '') NOT IN ('completed', 'rejected') "
    "AND status NOT IN ('rejected', 'conflict', 'collected')"
)
_ATTENTION_0003 = (
    "status IN ('rejected', 'conflict') OR agency_status = 'needs_info' "
    "OR review_state IN ('flagged', 'returned')"
)
_OPEN_SLA_0007 = (
    "collected_at IS NULL AND coalesce(agency_status, '') NOT IN ('completed', 'rejected') "
    "AND status NOT IN ('rejected', 'conflict', 'collected', 'superseded')"
)
_ATTENTION_0007 = (
    "status <> 'superseded' AND (status IN ('rejected', 'conflict') "
    "OR agency_status = 'needs_info' OR review_state IN ('flagged', 'returned'))"
)
_OPEN_SLA_COLUMNS = ["sla_due", "agency", "status", "agency_status", "collected_at"]


def _partial_indexes(open_sla: str, attention: str) -> None:
    op.drop_index("ix_submissions_open_sla", table_name="submissions")
    op.drop_index("ix_submissions_attention", table_name="submissions")
    op.create_index(
        "ix_submissions_open_sla",
        "submissions",
        _OPEN_SLA_COLUMNS,
        sqlite_where=sa.text(open_sla),
        postgresql_where=sa.text(open_sla),
    )
    op.create_index(
        "ix_submissions_attention",
        "submissions",
        ["local_date", "finalized_at"],
        sqlite_where=sa.text(f"({attention})"),
        postgresql_where=sa.text(f"({attention})"),
    )


def _upgrade_corrections() -> None:
    # Is this submission superseded, and by which one: asked per row of every page and by
    # the sync worker's claim, so it is an index, not a scan.
    op.create_index("ix_submissions_supersedes", "submissions", ["supersedes_id"])
    _partial_indexes(_OPEN_SLA_0007, _ATTENTION_0007)


def _downgrade_corrections() -> None:
    _partial_indexes(_OPEN_SLA_0003, _ATTENTION_0003)
    op.drop_index("ix_submissions_supersedes", table_name="submissions")


# --- access audit: whose data each search and view showed, by keyed hash -------------------


def _upgrade_access_audit() -> None:
    import secrets

    # The key of the subject hashes (mppdesk/store/access_log.py): made once, here, so every
    # store has one before its first look-up, and it travels with the store in backups.
    secrets_table = op.create_table(
        "desk_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(128), nullable=False),
    )
    op.bulk_insert(secrets_table, [{"name": "audit-subject", "value": secrets.token_hex(32)}])
    op.create_table(
        "audit_subjects",
        sa.Column("subject", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("audit_events.id"), primary_key=True),
    )
    # "What did this officer open on that day": by actor and time, not a scan of the chain.
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def _downgrade_access_audit() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor_at", table_name="audit_events")
    op.drop_table("audit_subjects")
    op.drop_table("desk_secrets")
