"""hub tickets: priority, called/served/no-show times, the display's calls

(Placeholder in the chain; the work that needs it fills it in.)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 20:30:00
"""

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
