"""tickets: priority and issued, called, served, done or no-show times

The desk's queue tickets (mppdesk/store/tickets.py): those it issues from its own block (a
kiosk on a desk not joined to a hub, or any desk while the hub is away) and those it calls,
each step with its time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "queue_tickets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("grp", sa.String(8), nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("local_date", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(24), nullable=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("called_at", sa.DateTime(), nullable=True),
        sa.Column("served_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("officer", sa.String(64), nullable=True),
        sa.Column("hub_state", sa.String(12), nullable=True),
        sa.UniqueConstraint("local_date", "number", name="uq_queue_tickets_day_number"),
    )
    op.create_index(
        "ix_queue_tickets_day_group_status", "queue_tickets", ["local_date", "grp", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_queue_tickets_day_group_status", table_name="queue_tickets")
    op.drop_table("queue_tickets")
