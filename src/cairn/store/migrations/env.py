"""Alembic's environment: migrates the connection that :mod:`cairn.store.migrate` hands in."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from cairn.store import tables


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=tables.metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run(context.config.attributes["connection"])
