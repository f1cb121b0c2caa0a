"""Sites, the deployments placed on them, and their agent tokens: statements run inside a
caller's transaction.

A deployment names its site in ``deployments.site`` without a foreign key (the built-in
site ``local`` predates the ``sites`` table in old databases); the writers here keep the two
consistent instead: a site with deployments is not deleted, and a deployment is moved only
to a site that exists. The site's row conversions live here rather than in :mod:`rows`,
beside the only statements that use them.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from cairn import errors
from cairn.model import runtime, sites
from cairn.store import catalog, rows, tables

_sites = tables.sites
_deployments = tables.deployments
_executions = tables.executions
_tokens = tables.tokens


def site_to_row(site: sites.Site) -> rows.Values:
    return {
        "name": site.name,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "labels": {key: list(values) for key, values in site.labels.items()},
        "description": site.description,
        "created_at": site.created_at,
        "created_by": site.created_by,
        "agent_version": site.agent_version,
        "agent_address": site.agent_address,
        "last_seen": site.last_seen,
    }


def site_from_row(row: rows.Row) -> sites.Site:
    return sites.Site(
        name=row.name,
        latitude=row.latitude,
        longitude=row.longitude,
        labels={key: tuple(values) for key, values in row.labels.items()},
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        agent_version=row.agent_version,
        agent_address=row.agent_address,
        last_seen=row.last_seen,
    )


def get_site(conn: sa.Connection, name: str) -> sites.Site:
    row = conn.execute(sa.select(_sites).where(_sites.c.name == name)).first()
    if row is None:
        raise errors.NotFoundError(f"site {name!r} not found")
    return site_from_row(row)


def get_sites(conn: sa.Connection, names: Collection[str]) -> dict[str, sites.Site]:
    """The known ones among ``names``, by name, in one query per chunk."""
    found: dict[str, sites.Site] = {}
    for chunk in tables.in_chunks(names):
        query = sa.select(_sites).where(_sites.c.name.in_(chunk))
        found.update((row.name, site_from_row(row)) for row in conn.execute(query))
    return found


def list_sites(conn: sa.Connection) -> list[sites.Site]:
    return [site_from_row(row) for row in conn.execute(sa.select(_sites).order_by(_sites.c.name))]


def require_site(conn: sa.Connection, name: str, *, lock: bool = False) -> None:
    """NotFoundError unless the site exists; ``lock`` holds its row until commit (PostgreSQL),
    so a deletion and a placement on the site run one after the other."""
    query = sa.select(_sites.c.name).where(_sites.c.name == name)
    if lock:
        query = query.with_for_update()
    if conn.execute(query).first() is None:
        raise errors.NotFoundError(f"site {name!r} not found")


def create_site(conn: sa.Connection, site: sites.Site) -> None:
    if conn.execute(sa.select(_sites.c.name).where(_sites.c.name == site.name)).first():
        raise errors.ConflictError(f"site {site.name!r} already exists")
    conn.execute(sa.insert(_sites), [site_to_row(site)])


def ensure_site(conn: sa.Connection, site: sites.Site) -> None:
    """Inserts ``site`` unless a site of that name exists (then nothing changes)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_sites).on_conflict_do_nothing(index_elements=["name"])
    conn.execute(statement, [site_to_row(site)])


def update_site(conn: sa.Connection, site: sites.Site) -> sites.Site:
    """Writes the fields a user edits (location, labels, description); what the agent
    reported is left alone."""
    values = {
        key: value
        for key, value in site_to_row(site).items()
        if key in ("latitude", "longitude", "labels", "description")
    }
    row = conn.execute(
        sa.update(_sites).where(_sites.c.name == site.name).values(**values).returning(*_sites.c)
    ).first()
    if row is None:
        raise errors.NotFoundError(f"site {site.name!r} not found")
    return site_from_row(row)


def delete_site(conn: sa.Connection, name: str) -> None:
    """Deletes the site and revokes its agent tokens; ConflictError for ``local`` or while
    deployments are placed on it."""
    if name == sites.LOCAL:
        raise errors.ConflictError(f"site {sites.LOCAL!r} is built in and cannot be deleted")
    require_site(conn, name, lock=True)
    placed = conn.scalars(
        sa.select(_deployments.c.id).where(_deployments.c.site == name).order_by(_deployments.c.id)
    ).all()
    if placed:
        shown = ", ".join(placed[:10]) + (
            f" and {len(placed) - 10} more" if len(placed) > 10 else ""
        )
        raise errors.ConflictError(
            f"site {name!r} has {len(placed)} deployment{'s' if len(placed) != 1 else ''} "
            f"placed on it ({shown}); delete them or move them to another site first"
        )
    conn.execute(sa.update(_tokens).where(_tokens.c.site == name).values(revoked=True))
    conn.execute(sa.delete(_sites).where(_sites.c.name == name))


def deployment_counts(conn: sa.Connection) -> dict[str, int]:
    """How many deployments each site has (sites without any are left out)."""
    query = sa.select(_deployments.c.site, sa.func.count()).group_by(_deployments.c.site)
    return {site: int(count) for site, count in conn.execute(query)}


def set_deployment_site(
    conn: sa.Connection, deployment_id: str, site: str, *, busy: Collection[str]
) -> runtime.Deployment:
    """Moves the deployment to ``site``; refused like a deletion while it is busy."""
    catalog.require_deployment(conn, deployment_id, lock=True)
    require_site(conn, site, lock=True)
    catalog.refuse_busy(conn, deployment_id, busy=busy, doing="cannot move to another site")
    conn.execute(
        sa.update(_deployments).where(_deployments.c.id == deployment_id).values(site=site)
    )
    return catalog.get_deployment(conn, deployment_id)


_SEEN = (
    sa.update(_sites)
    .where(_sites.c.name == sa.bindparam("site_name"))
    .values(
        last_seen=sa.bindparam("now", type_=_sites.c.last_seen.type),
        agent_version=sa.bindparam("agent_version"),
        agent_address=sa.bindparam("agent_address"),
    )
)


def site_seen(
    conn: sa.Connection,
    name: str,
    *,
    now: datetime.datetime,
    agent_version: str | None,
    agent_address: str | None,
) -> None:
    """One UPDATE per agent poll; NotFoundError when the site is gone."""
    params = {
        "site_name": name,
        "now": now,
        "agent_version": agent_version,
        "agent_address": agent_address,
    }
    if conn.execute(_SEEN, params).rowcount == 0:
        raise errors.NotFoundError(f"site {name!r} not found")


def list_site_tokens(conn: sa.Connection, name: str) -> list[runtime.Token]:
    query = (
        sa.select(_tokens)
        .where(_tokens.c.site == name)
        .order_by(_tokens.c.created_at, _tokens.c.id)
    )
    return [rows.token_from_row(row) for row in conn.execute(query)]


def rotate_site_token(conn: sa.Connection, name: str, token: runtime.Token) -> None:
    """Revokes every token of the site and stores ``token`` (which must belong to it)."""
    if token.site != name or token.role is not runtime.Role.AGENT:
        raise errors.UsageError(f"the new token must be an agent token of site {name!r}")
    if name == sites.LOCAL:
        raise errors.ConflictError(
            f"site {sites.LOCAL!r} is served by the manager itself and has no agent token"
        )
    require_site(conn, name, lock=True)
    conn.execute(
        sa.update(_tokens).where(_tokens.c.site == name, ~_tokens.c.revoked).values(revoked=True)
    )
    conn.execute(sa.insert(_tokens), [rows.token_to_row(token)])
