"""counter loops: corrections, returns, handovers, accounts, access audit

(Placeholder in the chain; the work that needs it fills it in.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 20:30:00
"""

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
