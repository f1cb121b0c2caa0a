"""Events, secrets and tokens: statements run inside a caller's transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa

from cairn import errors
from cairn.model import runtime
from cairn.store import rows, tables

_events = tables.events
_secrets = tables.secrets
_tokens = tables.tokens


def add_events(conn: sa.Connection, events: Sequence[runtime.Event]) -> None:
    if events:
        conn.execute(sa.insert(_events), [rows.event_to_row(event) for event in events])


def list_events(
    conn: sa.Connection,
    *,
    execution_id: str | None = None,
    deployment_id: str | None = None,
    after_id: int = 0,
    limit: int = 1000,
) -> list[runtime.Event]:
    query = sa.select(_events).where(_events.c.id > after_id).order_by(_events.c.id).limit(limit)
    if execution_id is not None:
        query = query.where(_events.c.execution_id == execution_id)
    if deployment_id is not None:
        query = query.where(_events.c.deployment_id == deployment_id)
    return [rows.event_from_row(row) for row in conn.execute(query)]


def get_secret(conn: sa.Connection, name: str) -> runtime.Secret:
    row = conn.execute(sa.select(_secrets).where(_secrets.c.name == name)).first()
    if row is None:
        raise errors.NotFoundError(f"secret {name!r} not found")
    return rows.secret_from_row(row)


def list_secrets(conn: sa.Connection) -> list[runtime.Secret]:
    result = conn.execute(sa.select(_secrets).order_by(_secrets.c.name))
    return [rows.secret_from_row(row) for row in result]


def put_secret(conn: sa.Connection, secret: runtime.Secret, *, create: bool) -> None:
    """Create: ConflictError if it exists. Update: the value and ``updated_at`` only."""
    exists = conn.execute(sa.select(_secrets.c.name).where(_secrets.c.name == secret.name))
    if exists.first() is not None:
        if create:
            raise errors.ConflictError(f"secret {secret.name!r} already exists")
        conn.execute(
            sa.update(_secrets)
            .where(_secrets.c.name == secret.name)
            .values(ciphertext=secret.ciphertext, updated_at=secret.updated_at)
        )
    elif create:
        conn.execute(sa.insert(_secrets), [rows.secret_to_row(secret)])
    else:
        raise errors.NotFoundError(f"secret {secret.name!r} not found")


def delete_secret(conn: sa.Connection, name: str) -> None:
    if conn.execute(sa.delete(_secrets).where(_secrets.c.name == name)).rowcount == 0:
        raise errors.NotFoundError(f"secret {name!r} not found")


def find_token(conn: sa.Connection, digest: str) -> runtime.Token | None:
    row = conn.execute(sa.select(_tokens).where(_tokens.c.digest == digest)).first()
    return None if row is None else rows.token_from_row(row)


def find_tokens(conn: sa.Connection, digests: Collection[str]) -> dict[str, runtime.Token]:
    """The known ones among ``digests``, by digest, in one query per chunk."""
    found: dict[str, runtime.Token] = {}
    for chunk in tables.in_chunks(digests):
        query = sa.select(_tokens).where(_tokens.c.digest.in_(chunk))
        found.update((row.digest, rows.token_from_row(row)) for row in conn.execute(query))
    return found


def list_tokens(conn: sa.Connection) -> list[runtime.Token]:
    result = conn.execute(sa.select(_tokens).order_by(_tokens.c.created_at, _tokens.c.id))
    return [rows.token_from_row(row) for row in result]


def put_token(conn: sa.Connection, token: runtime.Token) -> None:
    conn.execute(sa.insert(_tokens), [rows.token_to_row(token)])


def revoke_token(conn: sa.Connection, token_id: str) -> None:
    changed = conn.execute(sa.update(_tokens).where(_tokens.c.id == token_id).values(revoked=True))
    if changed.rowcount == 0:
        raise errors.NotFoundError(f"token {token_id!r} not found")
