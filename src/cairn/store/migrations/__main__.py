"""Drafts a new revision: ``python -m cairn.store.migrations revision "MESSAGE"``.

Alembic compares :mod:`cairn.store.tables` with a scratch SQLite database migrated to the
current head and writes the difference to ``versions/``; check and edit the draft by hand
(PostgreSQL may need more than SQLite shows).
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from alembic import command

from cairn.store import db, migrate


def draft_revision(message: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database = db.Database(db.create_engine(db.sqlite_url(pathlib.Path(scratch) / "x.db")))
        try:
            migrate.upgrade(database)
            with database.write() as conn:
                command.revision(migrate.config(conn), message=message, autogenerate=True)
        finally:
            database.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m cairn.store.migrations revision "MESSAGE"')
    draft_revision(sys.argv[2])
