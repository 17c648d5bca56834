"""Alembic environment for the product store.

Run through :meth:`connector.store.Store.upgrade`, which hands over an open
connection in ``config.attributes["connection"]``; offline (``--sql``) mode is
supported for DBAs who want the DDL as a script.
"""

from __future__ import annotations

from alembic import context

from connector.store.tables import metadata

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
