"""tickets: priority and issued, called, served, done or no-show times

(Placeholder in the chain; the work that needs it fills it in.)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:30:00
"""

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
