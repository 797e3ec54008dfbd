"""hub: the replication journal, the hub's state at this desk, looked-up applicants

A desk replicates to its mall hub (``resources/protocol/hub-sync.md``) by journalling every
committed change with a desk sequence. The journal rows are written by triggers inside the
committing transaction, so no code path (finalize's raw write, the ORM, the sync worker, a
retention purge) can forget one, and a kill -9 leaves either the change and its journal row or
neither. ``seq`` is AUTOINCREMENT: never reused after the pusher deletes acknowledged rows, and
(SQLite keeps its counter in the same transaction) without gaps from rolled-back writes.

The journal names what changed (kind, id), not how: the pusher reads each row as it is at push
time (state-based), so a submission updated five times goes out as its last state five times
rather than five stale copies.

Outbox rows journal only what the hub shows (state, agency reference and status), never a
lease taken (``in_flight``) nor an attempt counted; visits only once finalized (a draft is the
officer's work in progress); applicants not for ``hub_version`` alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (kind, id expression over NEW/OLD as {row}, insert/update condition, update columns)
JOURNALLED = {
    "applicants": ("applicant", "{row}.id", None, "id_kind, id_number, name, profile, purged_at"),
    "applicant_changes": ("applicant_change", "{row}.id", None, None),
    "visits": ("visit", "{row}.id", "{row}.status = 'finalized'", None),
    "submissions": ("submission", "{row}.id", None, None),
    "outbox": ("outbox_state", "{row}.id", None, None),
    "review_decisions": ("review", "{row}.id", None, None),
    "checklist_items": ("checklist", "{row}.submission_id || '/' || {row}.requirement_id", None, None),
    "survey_responses": ("survey", "{row}.id", None, None),
    "attachments": ("attachment", "{row}.id", None, None),
    "audit_events": ("audit", "{row}.id", None, None),
}

OUTBOX_UPDATE_WHEN = (
    "NEW.state IS NOT 'in_flight' AND (OLD.state IS NOT NEW.state"
    " OR OLD.agency_status IS NOT NEW.agency_status OR OLD.agency_ref IS NOT NEW.agency_ref)"
)


def _trigger_statements() -> list[str]:
    statements = []
    for table, (kind, key, condition, columns) in JOURNALLED.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            if table == "audit_events" and event != "INSERT":
                continue  # append-only: an edit is the hub's chain check to catch
            row = "OLD" if event == "DELETE" else "NEW"
            when = condition.format(row=row) if condition else None
            if table == "outbox" and event == "UPDATE":
                when = OUTBOX_UPDATE_WHEN
            of = f" OF {columns}" if columns and event == "UPDATE" else ""
            where = f" WHEN {when}" if when else ""
            # Every part is a constant of this file: no input reaches the statement.
            statements.append(
                f"CREATE TRIGGER hub_journal_{table}_{event.lower()} AFTER {event}{of} ON {table}"  # noqa: S608
                f"{where} BEGIN INSERT INTO hub_journal (kind, entity_id) VALUES"
                f" ('{kind}', CAST({key.format(row=row)} AS TEXT)); END"
            )
    return statements


def upgrade() -> None:
    op.create_table(
        "hub_journal",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "hub_state",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
    )
    op.create_table(
        "hub_lookup_cache",
        sa.Column("id_kind", sa.String(length=16), primary_key=True),
        sa.Column("id_number", sa.String(length=32), primary_key=True),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hub_version", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for statement in _trigger_statements():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in JOURNALLED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS hub_journal_{table}_{event}")
    with op.batch_alter_table("applicants", schema=None) as batch_op:
        batch_op.drop_column("hub_version")
    op.drop_table("hub_lookup_cache")
    op.drop_table("hub_state")
    op.drop_table("hub_journal")
