"""The schema: migrations match tables.py, and open_store sets each backend up."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest
import sqlalchemy as sa
import store_samples as s
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cairn import errors
from cairn.store import db, migrate, open_store, tables


def test_migrations_match_tables(store_url: str) -> None:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, tables.metadata) == []
            head = ScriptDirectory.from_config(migrate.config()).get_current_head()
            assert context.get_current_revision() == head
            names = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert names == {t.name for t in tables.metadata.sorted_tables} | {"alembic_version"}


def test_one_active_execution_is_enforced_by_the_schema(store_url: str) -> None:
    """The partial unique index holds even for a writer that skips the store's checks."""
    store = open_store(store_url)
    try:
        s.setup_deployment(store)
        store.create_execution(s.execution("e1"), [], queue=False)
    finally:
        store.close()
    row = {
        "id": "e2",
        "deployment_id": "dep",
        "seq": 99,
        "workflow_id": "install",
        "parameters": {},
        "status": "started",
        "created_at": s.T0,
        "created_by": "admin",
    }
    engine = sa.create_engine(store_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.insert(tables.executions), [row])
        with engine.begin() as conn:  # ended executions are not covered
            conn.execute(sa.insert(tables.executions), [{**row, "status": "failed"}])
    finally:
        engine.dispose()


def test_open_store_in_a_data_dir(tmp_path: pathlib.Path) -> None:
    data_dir = tmp_path / "new" / "data"
    store = open_store(data_dir=data_dir)
    try:
        store.put_blueprint(s.blueprint("bp"))
    finally:
        store.close()
    database = data_dir / "cairn.db"
    assert database.is_file()
    again = open_store(data_dir=data_dir)  # reopened: migrations have nothing to do
    try:
        assert [b.id for b in again.list_blueprints()] == ["bp"]
    finally:
        again.close()
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_connection_settings(tmp_path: pathlib.Path) -> None:
    engine = db.create_engine(db.sqlite_url(tmp_path / "x.db"))
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "in-memory SQLite is not supported"),
        ("sqlite:///:memory:", "in-memory SQLite is not supported"),
        ("mysql://root@localhost/cairn", "unsupported database URL 'mysql://root@localhost/cairn'"),
    ],
)
def test_open_store_refuses_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(errors.UsageError, match=message):
        open_store(url)


def test_open_store_needs_a_place() -> None:
    with pytest.raises(errors.UsageError, match="needs a database URL or a data directory"):
        open_store()


def test_a_database_from_a_newer_version_is_refused(tmp_path: pathlib.Path) -> None:
    url = db.sqlite_url(tmp_path / "x.db")
    open_store(url).close()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00d'")
    finally:
        engine.dispose()
    with pytest.raises(db.StoreError, match=r"cannot migrate the database.*newer Cairn"):
        open_store(url)


def test_database_errors_are_wrapped(tmp_path: pathlib.Path) -> None:
    url = db.sqlite_url(tmp_path / "x.db")
    store = open_store(url)
    try:
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE tokens")
        finally:
            engine.dispose()
        with pytest.raises(db.StoreError, match="no such table: tokens") as caught:
            store.list_tokens()
        assert isinstance(caught.value, errors.CairnError)
        assert isinstance(caught.value.__cause__, sa.exc.OperationalError)
    finally:
        store.close()
