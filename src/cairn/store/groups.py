"""Saved filters, groups of deployments and their members, and deployment labels:
statements run inside a caller's transaction.

Group membership is rows of ``group_members`` with foreign keys to the group and the
deployment that cascade: deleting a deployment takes it out of its groups, deleting a group
leaves the deployments alone. Writers check every named deployment first, so a request that
names one unknown deployment stores nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from cairn import errors
from cairn.model import filters, groups, runtime
from cairn.store import catalog, rows, tables

_filters = tables.filters
_groups = tables.groups
_members = tables.group_members
_deployments = tables.deployments


# --- saved filters --------------------------------------------------------------------------


def filter_to_row(saved: groups.SavedFilter) -> rows.Values:
    return {
        "name": saved.name,
        "kind": saved.kind.value,
        "rules": [rule.to_json() for rule in saved.rules],
        "description": saved.description,
        "created_at": saved.created_at,
        "created_by": saved.created_by,
    }


def filter_from_row(row: rows.Row) -> groups.SavedFilter:
    kind = filters.Kind(row.kind)
    found, problems = filters.parse_all(row.rules, kind=kind)
    if problems:  # only checked rules are stored; a hand-edited row is reported, not guessed
        raise errors.ConflictError(f"saved filter {row.name!r} holds bad rules: {problems[0]}")
    return groups.SavedFilter(
        name=row.name,
        kind=kind,
        rules=tuple(found),
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def get_filter(conn: sa.Connection, name: str) -> groups.SavedFilter:
    row = conn.execute(sa.select(_filters).where(_filters.c.name == name)).first()
    if row is None:
        raise errors.NotFoundError(f"filter {name!r} not found")
    return filter_from_row(row)


def list_filters(conn: sa.Connection, *, kind: filters.Kind | None) -> list[groups.SavedFilter]:
    query = sa.select(_filters).order_by(_filters.c.name)
    if kind is not None:
        query = query.where(_filters.c.kind == kind.value)
    return [filter_from_row(row) for row in conn.execute(query)]


def create_filter(conn: sa.Connection, saved: groups.SavedFilter) -> None:
    if conn.execute(sa.select(_filters.c.name).where(_filters.c.name == saved.name)).first():
        raise errors.ConflictError(f"filter {saved.name!r} already exists")
    conn.execute(sa.insert(_filters), [filter_to_row(saved)])


def delete_filter(conn: sa.Connection, name: str) -> None:
    if conn.execute(sa.delete(_filters).where(_filters.c.name == name)).rowcount == 0:
        raise errors.NotFoundError(f"filter {name!r} not found")


# --- groups ---------------------------------------------------------------------------------

_COUNT = (
    sa.select(sa.func.count())
    .where(_members.c.group_id == _groups.c.id)
    .correlate(_groups)
    .scalar_subquery()
    .label("member_count")
)


def group_from_row(row: rows.Row) -> groups.Group:
    return groups.Group(
        id=row.id,
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
        member_count=int(row.member_count),
    )


def get_group(conn: sa.Connection, group_id: str) -> groups.Group:
    row = conn.execute(sa.select(_groups, _COUNT).where(_groups.c.id == group_id)).first()
    if row is None:
        raise errors.NotFoundError(f"group {group_id!r} not found")
    return group_from_row(row)


def list_groups(conn: sa.Connection) -> list[groups.Group]:
    query = sa.select(_groups, _COUNT).order_by(_groups.c.id)
    return [group_from_row(row) for row in conn.execute(query)]


def require_group(conn: sa.Connection, group_id: str, *, lock: bool = False) -> None:
    query = sa.select(_groups.c.id).where(_groups.c.id == group_id)
    if lock:
        query = query.with_for_update()
    if conn.execute(query).first() is None:
        raise errors.NotFoundError(f"group {group_id!r} not found")


def member_ids(conn: sa.Connection, group_id: str) -> list[str]:
    require_group(conn, group_id)
    query = (
        sa.select(_members.c.deployment_id)
        .where(_members.c.group_id == group_id)
        .order_by(_members.c.deployment_id)
    )
    return list(conn.scalars(query))


def create_group(
    conn: sa.Connection, group: groups.Group, deployment_ids: Sequence[str]
) -> groups.Group:
    if conn.execute(sa.select(_groups.c.id).where(_groups.c.id == group.id)).first():
        raise errors.ConflictError(f"group {group.id!r} already exists")
    _require_deployments(conn, deployment_ids)
    conn.execute(
        sa.insert(_groups),
        [
            {
                "id": group.id,
                "description": group.description,
                "created_at": group.created_at,
                "created_by": group.created_by,
            }
        ],
    )
    _insert_members(conn, group.id, deployment_ids, now=group.created_at)
    return get_group(conn, group.id)


def add_members(
    conn: sa.Connection, group_id: str, deployment_ids: Sequence[str], *, now: datetime.datetime
) -> list[str]:
    """Adds those not members yet; answers them, sorted."""
    require_group(conn, group_id, lock=True)
    _require_deployments(conn, deployment_ids)
    present = set(member_ids(conn, group_id))
    added = sorted(set(deployment_ids) - present)
    _insert_members(conn, group_id, added, now=now)
    return added


def remove_members(conn: sa.Connection, group_id: str, deployment_ids: Sequence[str]) -> list[str]:
    """Removes those that are members; answers them, sorted."""
    require_group(conn, group_id, lock=True)
    present = set(member_ids(conn, group_id))
    removed = sorted(present & set(deployment_ids))
    if removed:
        conn.execute(
            sa.delete(_members).where(
                _members.c.group_id == group_id, _members.c.deployment_id.in_(removed)
            )
        )
    return removed


def delete_group(conn: sa.Connection, group_id: str) -> None:
    if conn.execute(sa.delete(_groups).where(_groups.c.id == group_id)).rowcount == 0:
        raise errors.NotFoundError(f"group {group_id!r} not found")


def _require_deployments(conn: sa.Connection, deployment_ids: Sequence[str]) -> None:
    wanted = sorted(set(deployment_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), tables.IN_CHUNK):
        chunk = wanted[start : start + tables.IN_CHUNK]
        found.update(conn.scalars(sa.select(_deployments.c.id).where(_deployments.c.id.in_(chunk))))
    missing = [d for d in wanted if d not in found]
    if missing:
        shown = ", ".join(repr(d) for d in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise errors.NotFoundError(
            f"deployment{'s' if len(missing) > 1 else ''} {shown}{more} not found"
        )


def _insert_members(
    conn: sa.Connection, group_id: str, deployment_ids: Sequence[str], *, now: datetime.datetime
) -> None:
    unique = sorted(set(deployment_ids))
    if unique:
        conn.execute(
            sa.insert(_members),
            [{"group_id": group_id, "deployment_id": d, "added_at": now} for d in unique],
        )


# --- deployment labels ----------------------------------------------------------------------


def set_deployment_labels(
    conn: sa.Connection, deployment_id: str, labels: Mapping[str, Sequence[str]]
) -> runtime.Deployment:
    """Replaces the deployment's whole label mapping."""
    done = conn.execute(
        sa.update(_deployments)
        .where(_deployments.c.id == deployment_id)
        .values(labels={key: list(values) for key, values in labels.items()})
    )
    if done.rowcount == 0:
        raise errors.NotFoundError(f"deployment {deployment_id!r} not found")
    return catalog.get_deployment(conn, deployment_id)
