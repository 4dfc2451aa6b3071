"""Alembic environment: run on the connection that imprint.store.db.migrate passes in."""

from __future__ import annotations

from alembic import context

from imprint.store.rows import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("imprint migrations run from imprint.store.db.migrate, which passes a connection")
# batch mode because SQLite cannot ALTER most column properties in place.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
