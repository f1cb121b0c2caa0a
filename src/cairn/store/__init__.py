"""The store: every row Cairn keeps, behind :class:`cairn.store.interface.Store`.

Only this package speaks SQL. :func:`open_store` opens SQLite (the embedded default, a file
in the data directory) or PostgreSQL, and migrates the schema to the newest revision.
"""

from __future__ import annotations

import pathlib

from cairn import errors
from cairn.store import db, interface, migrate, sql

DATABASE_FILE = "cairn.db"


def open_store(url: str | None = None, *, data_dir: pathlib.Path | None = None) -> interface.Store:
    """Opens the database at ``url``, or the SQLite file ``<data_dir>/cairn.db`` when it is None.

    The caller reads ``CAIRN_DATABASE_URL``; this function reads no environment.
    """
    if url is None:
        if data_dir is None:
            raise errors.UsageError("open_store needs a database URL or a data directory")
        data_dir.mkdir(parents=True, exist_ok=True)
        url = db.sqlite_url(data_dir / DATABASE_FILE)
    database = db.Database(db.create_engine(url))
    try:
        migrate.upgrade(database)
    except BaseException:
        database.close()
        raise
    return sql.SqlStore(database)
