"""hub applicants: a foreigner found by either number (passport or KITAS/KITAP)

A desk keys a foreign applicant by their KITAS/KITAP when they have one and keeps the passport
in the profile (``no_paspor``), or the reverse (``no_kitas``). Adds
``hub_applicants.alias_hash``: the keyed hash (as ``lookup_hash``, hub key) of that other
number, with a partial index (only foreigners with both numbers have one). Rows written
before this revision get theirs when ``mppdesk hub init`` opens their sealed profiles
(``HubStore.fill_applicant_aliases``: the key is outside the database, so a migration
cannot).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_applicants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alias_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_hub_applicants_alias",
        "hub_applicants",
        ["alias_hash"],
        postgresql_where=sa.text("alias_hash IS NOT NULL"),
        sqlite_where=sa.text("alias_hash IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_hub_applicants_alias", table_name="hub_applicants")
    with op.batch_alter_table("hub_applicants", schema=None) as batch_op:
        batch_op.drop_column("alias_hash")
