"""Alembic's entry point for the store's migrations: runs them on the connection `open_store` passes.

There is no alembic.ini: `broadsheet.delivery.store.alembic_config(connection)`
is the configuration, for `open_store` and for `alembic.command` alike.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from broadsheet.delivery.store import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "the store's migrations run on a connection: use broadsheet.delivery.store.alembic_config(connection)"
    )

# Batch mode lets later migrations alter SQLite tables, which can only be copied and replaced.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
