"""hub tickets: priority, called/served/no-show times, the display's calls

Adds the ticket lifecycle (mppdesk/hub/tickets.py): priority category, the group's label for
the waiting-room display, the state and the time of each step, the desk that called it and
its officer. Rows already there keep a NULL state: numbers the older ``POST /v1/tickets``
handed out when a counter called them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("priority", 24),
    ("label", 40),
    ("status", 12),
    ("called_at", 40),
    ("served_at", 40),
    ("finished_at", 40),
    ("counter", 16),
    ("officer", 64),
)


def upgrade() -> None:
    with op.batch_alter_table("hub_tickets", schema=None) as batch_op:
        for name, length in _COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        # The next call reads the oldest waiting ticket of each kind, and the last calls.
        batch_op.create_index(
            "ix_hub_tickets_day_status", ["day", "grp", "status", "seq"], unique=False
        )
        batch_op.create_index("ix_hub_tickets_day_called", ["day", "grp", "called_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_hub_tickets_day_called")
        batch_op.drop_index("ix_hub_tickets_day_status")
        for name, _length in reversed(_COLUMNS):
            batch_op.drop_column(name)
