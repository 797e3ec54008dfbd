"""billing: agency billing records and payment state

An agency may answer a fee-bearing submission with a billing record (kode billing, amount,
expiry) and report its payment in later status answers (unpaid, paid with the NTPN, expired).
One row per submission holds what the agency last stated (``mppdesk.store.billing``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("agency", sa.String(length=50), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ntpn", sa.String(length=16), nullable=True),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submissions.id"]),
        sa.PrimaryKeyConstraint("submission_id"),
    )
    op.create_index("ix_billing_state_expires", "billing", ["state", "expires_at"])
    op.create_index("ix_billing_agency_paid", "billing", ["agency", "paid_at"])


def downgrade() -> None:
    op.drop_index("ix_billing_agency_paid", table_name="billing")
    op.drop_index("ix_billing_state_expires", table_name="billing")
    op.drop_table("billing")
