"""Alembic runs migrations on the connection the store hands it (``config.attributes["connection"]``)."""

from alembic import context

from core.history.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
