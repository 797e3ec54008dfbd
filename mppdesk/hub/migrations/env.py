"""Alembic environment of the hub: run by ``mppdesk.hub.migrate`` on a connection it passes."""

from __future__ import annotations

from alembic import context

from mppdesk.hub.schema import metadata

VERSION_TABLE = "hub_alembic_version"

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only ``alembic`` run by hand without the hub
    from sqlalchemy import create_engine

    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    connection = engine.connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
