"""hub users: officers' full names sealed by the hub key like the applicants' personal columns

Adds ``hub_users.full_name_enc`` (AES-GCM, the user name as associated data). The old
``full_name`` column stays for rows written before this revision and is emptied when
``mppdesk hub init`` seals them (``HubStore.seal_plain_officer_names``: the key is outside the
database, so a migration cannot do it); new rows keep it empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 20:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("full_name_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_users", schema=None) as batch_op:
        batch_op.drop_column("full_name_enc")
