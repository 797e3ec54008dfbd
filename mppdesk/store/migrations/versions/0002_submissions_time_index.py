"""submissions view: indexes on finalization time

The submissions view lists newest first and pages by (finalized_at, id); without these
indexes the first page of a million-row store sorts every row of the range (all of them, or
all of one status).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 09:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index("ix_submissions_finalized_at", ["finalized_at", "id"], unique=False)
        batch_op.create_index(
            "ix_submissions_status_time", ["status", "finalized_at"], unique=False
        )
        # Searching by applicant (name, NIK): that applicant's submissions newest first.
        batch_op.create_index(
            "ix_submissions_applicant_time", ["applicant_id", "finalized_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_applicant_time")
        batch_op.drop_index("ix_submissions_status_time")
        batch_op.drop_index("ix_submissions_finalized_at")
