"""submissions: the view's agency and status filters in time order, with the applicant

The view filters by agency and shows the newest first. ``ix_submissions_agency_date`` orders
an agency's rows by local day only, so the first page of one agency over all time sorted the
agency's whole share (about 125,000 of a million rows: a second). ``(agency, finalized_at,
id)`` hands them over newest first and the page stops after a hundred, like
``ix_submissions_status_time`` does for the status filter. With both filters the planner
(no statistics) picked either index and read a common agency's rows for a rare status
(115 ms at 100,000); ``(status, agency, finalized_at, id)`` answers both at once, and in
the page's full order, so the planner prefers it over either one-column index.

Each ends with ``applicant_id`` (and ``(status, finalized_at, id, applicant_id)`` joins
them): a status or agency filter with a name search checks each row's applicant against the
search without reading the row (a rare status with two common name words: 206 ms).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 14:25:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_submissions_agency_time",
            ["agency", "finalized_at", "id", "applicant_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_submissions_status_agency_time",
            ["status", "agency", "finalized_at", "id", "applicant_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_submissions_status_applicant_time",
            ["status", "finalized_at", "id", "applicant_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_submissions_status_applicant_time")
        batch_op.drop_index("ix_submissions_status_agency_time")
        batch_op.drop_index("ix_submissions_agency_time")
