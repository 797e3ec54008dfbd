"""outbox: count of answers outside the protocol

``protocol_errors`` counts the answers in a row that were not the protocol's (a 200 from a
captive portal, cut JSON, another submission's id, an unknown status word, a 418 ...). They
are retried like any transient failure, but after ``SyncSettings.protocol_error_flag_after``
of them the entry is flagged for a supervisor (outbox state ``flagged``) instead of being
tried for ever. The new state needs no schema change (``state`` is a string column).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 13:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("protocol_errors", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("protocol_errors")
