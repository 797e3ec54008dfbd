"""supervisor review decisions, satisfaction survey, dashboard indexes

``review_decisions`` keeps every approve / return / flag (the submission keeps the latest);
``survey_responses`` holds the nine SKM scores of a visit (PermenPANRB 14/2017).

Indexes for the supervisor dashboard (bench/bench_reports.py measures them on a store of two
million submissions):

- ``ix_submissions_open_sla``: partial, over the submissions still owed to their applicants;
  the "due soon" and "overdue" figures read a few thousand entries instead of every
  submission ever taken;
- ``ix_submissions_attention``: partial, the few submissions a supervisor should look at;
- ``ix_submissions_day_report``, ``ix_visits_day_report``, ``ix_submissions_visit_service``
  and ``ix_outbox_backlog``: covering, so a busy day is counted from the indexes without
  reading each (wide) row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 04:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Copied, not imported: a migration must keep meaning what it meant when it was written.
OPEN_SLA_SQL = (
    "collected_at IS NULL AND coalesce(agency_status, '') NOT IN ('completed', 'rejected') "
    "AND status NOT IN ('rejected', 'conflict', 'collected')"
)
ATTENTION_SQL = (
    "status IN ('rejected', 'conflict') OR agency_status = 'needs_info' "
    "OR review_state IN ('flagged', 'returned')"
)
SURVEY_COLUMNS = (
    "requirements",
    "procedure",
    "turnaround",
    "cost",
    "product",
    "competence",
    "conduct",
    "complaints",
    "facilities",
)


def upgrade() -> None:
    op.create_table(
        "review_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_review_decisions_submission_id", ["submission_id"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("officer", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SURVEY_COLUMNS),
        sa.Column("suggestion", sa.Text(), nullable=True),
        sa.CheckConstraint(
            " AND ".join(f"{name} BETWEEN 1 AND 4" for name in SURVEY_COLUMNS),
            name="ck_survey_scores",
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id"),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index("ix_survey_responses_local_date", ["local_date"], unique=False)

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submissions_open_sla",
            ["sla_due", "agency", "status", "agency_status", "collected_at"],
            unique=False,
            sqlite_where=sa.text(OPEN_SLA_SQL),
            postgresql_where=sa.text(OPEN_SLA_SQL),
        )
        batch_op.create_index(
            "ix_submissions_day_report",
            [
                "local_date",
                "status",
                "agency",
                "service",
                "officer",
                "agency_status",
                "review_state",
                "finalized_at",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_submissions_visit_service", ["visit_id", "service", "agency"], unique=False
        )
        batch_op.create_index(
            "ix_submissions_attention",
            ["local_date", "finalized_at"],
            unique=False,
            sqlite_where=sa.text(f"({ATTENTION_SQL})"),
            postgresql_where=sa.text(f"({ATTENTION_SQL})"),
        )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(
            "ix_visits_day_report",
            ["local_date", "status", "officer", "ticket_at", "started_at", "finalized_at"],
            unique=False,
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_backlog", ["state", "agency", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_backlog")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_day_report")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_attention")
        batch_op.drop_index("ix_submissions_visit_service")
        batch_op.drop_index("ix_submissions_day_report")
        batch_op.drop_index("ix_submissions_open_sla")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_responses_local_date")
    op.drop_table("survey_responses")
    with op.batch_alter_table("review_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_review_decisions_submission_id")
    op.drop_table("review_decisions")
