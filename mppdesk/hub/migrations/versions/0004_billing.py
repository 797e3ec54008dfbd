"""hub billing: the desks' billing records, for the mall's money figures

Each desk pushes its submissions' bills (issue 14: code, agency, amount, state, NTPN, payment
and expiry times; never anything about the applicant) as ``billing`` records. The hub keeps
one row per bill (``mppdesk/hub/billing.py`` decides which state wins) so the mall scope can
show what was collected per agency on a day and which unpaid bills expire soon.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 02:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_billing",
        sa.Column("desk", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("ntpn", sa.String(length=16), nullable=True),
        sa.Column("paid_at", sa.String(length=40), nullable=True),
        sa.Column("paid_day", sa.String(length=10), nullable=True),
        sa.Column("expires_at", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("stored_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", "desk", name="pk_hub_billing"),
    )
    # Partial and (PostgreSQL) covering the amount: each figure reads its index only.
    op.create_index(
        "ix_hub_billing_paid_day",
        "hub_billing",
        ["paid_day", "agency"],
        postgresql_include=["amount"],
        postgresql_where=sa.text("state = 'paid'"),
        sqlite_where=sa.text("state = 'paid'"),
    )
    op.create_index(
        "ix_hub_billing_unpaid_expires",
        "hub_billing",
        ["expires_at", "desk", "submission_id"],
        postgresql_include=["amount"],
        postgresql_where=sa.text("state = 'unpaid'"),
        sqlite_where=sa.text("state = 'unpaid'"),
    )


def downgrade() -> None:
    op.drop_index("ix_hub_billing_unpaid_expires", table_name="hub_billing")
    op.drop_index("ix_hub_billing_paid_day", table_name="hub_billing")
    op.drop_table("hub_billing")
