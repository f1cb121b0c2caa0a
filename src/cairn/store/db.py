"""Engines and transactions: where SQLite and PostgreSQL are told apart, and errors wrapped.

SQLite writers serialise on the database file. A transaction that reads first and writes
later can find that another writer got there in between and fail at once (the busy timeout
does not apply to a lock upgrade), so every write transaction starts with
``BEGIN IMMEDIATE``: it takes the write lock up front and waits its turn for up to
:data:`BUSY_TIMEOUT_SECONDS`. Reads use a plain ``BEGIN`` and, in WAL mode, never wait
for writers. pysqlite's own transaction handling is switched off, and :class:`Database`
emits these itself. With ``synchronous=NORMAL`` a commit survives a crash of the process
(the promise that matters here); only a power cut may lose the last commits.

PostgreSQL runs at READ COMMITTED; the writers that need more lock rows explicitly
(``FOR NO KEY UPDATE``, ``FOR UPDATE SKIP LOCKED``), which SQLite's compiler leaves out.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc

from cairn import errors

BUSY_TIMEOUT_SECONDS = 5.0


class StoreError(errors.CairnError):
    """The database failed."""


class StoreBusy(StoreError, errors.Unavailable):
    """The database stayed locked by other writers past the busy timeout: try again."""


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://...``)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            parsed,
            pool_size=10,
            max_overflow=30,
            pool_pre_ping=True,
            json_serializer=dump_json,
        )
    raise errors.UsageError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
    )


def dump_json(value: Any) -> str:
    """JSON text for a column; any Mapping counts as an object, any tuple as an array."""
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def sqlite_url(path: pathlib.Path) -> str:
    return str(sa.URL.create("sqlite", database=str(path)))


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        raise errors.UsageError(
            "in-memory SQLite is not supported (each connection would see its own database); "
            "give a file: sqlite:///PATH"
        )
    engine = sa.create_engine(
        url,
        poolclass=sa.QueuePool,
        # the API's worker threads (40), the engine, the heartbeats and the connector's
        # threads each hold a connection at times: keep them open rather than reconnecting
        pool_size=24,
        max_overflow=40,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
        json_serializer=dump_json,
    )
    event.listen(engine, "connect", _on_sqlite_connect)
    return engine


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # Database emits BEGIN itself
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
    finally:
        cursor.close()


def _begin_sqlite(connection: sa.Connection, statement: str) -> None:
    """Opens the transaction on the driver connection (pysqlite's own handling is off).

    Straight to the driver rather than through a ``begin`` event: any connection event
    would make SQLAlchemy dispatch events around every statement.
    """
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            raise StoreBusy("the database is busy with other writes; try again") from error
        raise StoreError(f"database error: {error}") from error
    finally:
        cursor.close()


class Database:
    """An engine with read and write transactions that raise only :mod:`cairn.errors`."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.is_postgresql = engine.dialect.name == "postgresql"
        self._is_sqlite = engine.dialect.name == "sqlite"
        # SQLite lets one writer in at a time and makes the others poll, sleeping between
        # tries: under many concurrent writers (a thousand agents reporting) some starve past
        # the busy timeout. Writers of this process queue here instead, woken as soon as the
        # one before commits; the busy timeout is left for writers in other processes.
        self._writer = threading.RLock() if self._is_sqlite else None

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection in a transaction that is rolled back at the end."""
        try:
            with self.engine.connect() as conn:
                if self._is_sqlite:
                    _begin_sqlite(conn, "BEGIN")
                yield conn
        except exc.SQLAlchemyError as error:
            raise translate(error) from error

    @contextlib.contextmanager
    def write(self, *, conflict: str | None = None) -> Iterator[sa.Connection]:
        """A transaction committed when the block ends, or rolled back if it raises.

        ``conflict`` is the message of the ConflictError raised for an integrity error.
        """
        with self._writer or contextlib.nullcontext():
            try:
                with self.engine.begin() as conn:
                    if self._is_sqlite:
                        _begin_sqlite(conn, "BEGIN IMMEDIATE")
                    yield conn
            except exc.SQLAlchemyError as error:
                raise translate(error, conflict=conflict) from error

    def close(self) -> None:
        self.engine.dispose()


def translate(error: exc.SQLAlchemyError, *, conflict: str | None = None) -> errors.CairnError:
    """The :mod:`cairn.errors` exception to raise for a SQLAlchemy one."""
    if isinstance(error, exc.IntegrityError):
        detail = str(error.orig).strip().splitlines()[0] if error.orig is not None else ""
        return errors.ConflictError(conflict or f"the change conflicts with stored data: {detail}")
    if isinstance(error, exc.OperationalError) and "database is locked" in str(error.orig):
        return StoreBusy("the database is busy with other writes; try again")
    if isinstance(error, exc.StatementError) and error.orig is not None:
        return StoreError(f"database error: {type(error.orig).__name__}: {error.orig}")
    return StoreError(f"database error: {error}")
