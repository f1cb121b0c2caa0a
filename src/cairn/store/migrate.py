"""Schema migrations, run in-process: no alembic.ini is needed at run time.

:func:`upgrade` brings a database to the newest revision in ``migrations/versions`` in one
transaction: on SQLite under the write lock, on PostgreSQL under an advisory lock, so that
two managers starting at once do not both migrate.

To write a new revision, change :mod:`cairn.store.tables`, then let Alembic draft the
difference against a database at the current head and edit the draft by hand::

    python -m cairn.store.migrations revision "add sites"
"""

from __future__ import annotations

import pathlib

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import exc as alembic_exc

from cairn.store import db

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"
_LOCK_KEY = 0x6361_6972_6E00  # "cairn": names the advisory lock held while migrating


def config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration for our migrations, migrating ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "r%%(rev)s_%%(slug)s")  # importable module names
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(database: db.Database) -> None:
    """Migrates the database to the newest revision (nothing to do when it is there)."""
    try:
        with database.write() as conn:
            if database.is_postgresql:
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            command.upgrade(config(conn), "head")
    except alembic_exc.CommandError as error:
        raise db.StoreError(
            f"cannot migrate the database: {error} (was it written by a newer Cairn?)"
        ) from error
