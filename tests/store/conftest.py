"""One store contract suite, run on SQLite (a file per test) and on PostgreSQL.

PostgreSQL gets a fresh database per test module (created on 127.0.0.1:5432 as user
postgres, dropped afterwards) and an emptied schema per test. Its tests are marked
``integration`` and skipped only when the server cannot be reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from cairn.store import interface, open_store, tables

PG_SERVER = "host=127.0.0.1 port=5432 user=postgres"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test module; its URL."""
    try:
        admin = psycopg.connect(f"{PG_SERVER} dbname=postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})".strip())
    name = f"cairn_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def empty_pg_tables(url: str) -> None:
    dbname = url.rsplit("/", 1)[1]
    names = ", ".join(table.name for table in tables.metadata.sorted_tables)
    with psycopg.connect(f"{PG_SERVER} dbname={dbname}", autocommit=True) as conn:
        conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an empty, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'cairn.db'}"
        open_store(url).close()  # migrated
        return url
    url = str(request.getfixturevalue("pg_database"))
    open_store(url).close()  # migrated
    empty_pg_tables(url)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[interface.Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def backend(store_url: str) -> str:
    return "postgresql" if store_url.startswith("postgresql") else "sqlite"
