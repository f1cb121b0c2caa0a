"""Drift policies and their schedule on deployments, and drift as recorded on instances.

The scheduler of every manager replica looks for deployments whose ``drift_next_at`` has
come (:func:`due`) and claims each one with a compare-and-set on ``drift_next_at``
(:func:`claim`): only the replica whose ``UPDATE ... WHERE drift_next_at = <what it read>``
changes the row runs the check, so each scheduled check runs once however many replicas
look at once.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Collection, Mapping, Sequence

import sqlalchemy as sa

from cairn import errors
from cairn.model import runtime
from cairn.model.plan import JSON
from cairn.store import interface, rows, tables

_deployments = tables.deployments
_instances = tables.node_instances


def set_policy(
    conn: sa.Connection,
    deployment_id: str,
    *,
    policy: Mapping[str, JSON] | None,
    next_at: datetime.datetime | None,
) -> runtime.Deployment:
    changed = conn.execute(
        sa.update(_deployments)
        .where(_deployments.c.id == deployment_id)
        .values(drift_policy=None if policy is None else dict(policy), drift_next_at=next_at)
    )
    if changed.rowcount == 0:
        raise errors.NotFoundError(f"deployment {deployment_id!r} not found")
    row = conn.execute(rows.select_deployments().where(_deployments.c.id == deployment_id)).one()
    return rows.deployment_from_row(row)


def with_policy_key(conn: sa.Connection, key: str) -> list[runtime.Deployment]:
    """Deployments whose drift policy holds ``key``: the policies whose text names it (in
    SQL: the scheduler asks every second, and parsing 10,000 policies each time was a tenth
    of the manager), checked parsed, then the few found read whole."""
    as_text = sa.cast(_deployments.c.drift_policy, sa.Text)
    named = sa.select(_deployments.c.id, as_text.label("policy")).where(
        as_text.like(f"%{json.dumps(key)}%")  # a superset: LIKE's wildcards only widen it
    )
    found = [
        row.id
        for row in conn.execute(named)
        if isinstance(policy := json.loads(row.policy), Mapping) and policy.get(key)
    ]
    if not found:
        return []
    query = (
        rows.select_deployments().where(_deployments.c.id.in_(found)).order_by(_deployments.c.id)
    )
    return [rows.deployment_from_row(row) for row in conn.execute(query)]


def due(conn: sa.Connection, *, now: datetime.datetime, limit: int) -> list[runtime.Deployment]:
    """Deployments whose next scheduled check has come, the longest waiting first."""
    query = (
        rows.select_deployments()
        .where(_deployments.c.drift_next_at.is_not(None), _deployments.c.drift_next_at <= now)
        .order_by(_deployments.c.drift_next_at, _deployments.c.id)
        .limit(limit)
    )
    return [rows.deployment_from_row(row) for row in conn.execute(query)]


def claim(conn: sa.Connection, claims: Sequence[interface.DriftClaim]) -> set[str]:
    """Moves each ``drift_next_at`` from ``expected`` to ``next_at``; the ids moved (not
    those someone else moved first)."""
    moved: set[str] = set()
    for claim in claims:
        changed = conn.execute(
            _CLAIM,
            {
                "deployment_id": claim.deployment_id,
                "expected": claim.expected,
                "next_at": claim.next_at,
            },
        )
        if changed.rowcount == 1:
            moved.add(claim.deployment_id)
    return moved


_CLAIM = (
    sa.update(_deployments)
    .where(
        _deployments.c.id == sa.bindparam("deployment_id"),
        _deployments.c.drift_next_at == sa.bindparam("expected"),
    )
    .values(drift_next_at=sa.bindparam("next_at"))
)


def installed(conn: sa.Connection, deployment_ids: Collection[str]) -> set[str]:
    """Those of ``deployment_ids`` with an instance in a state that has something to check."""
    nothing = [runtime.InstanceState.UNINITIALIZED.value, runtime.InstanceState.DELETED.value]
    found: set[str] = set()
    wanted = list(deployment_ids)
    for start in range(0, len(wanted), tables.IN_CHUNK):
        query = (
            sa.select(_instances.c.deployment_id)
            .where(
                _instances.c.deployment_id.in_(wanted[start : start + tables.IN_CHUNK]),
                _instances.c.state.not_in(nothing),
            )
            .distinct()
        )
        found.update(conn.scalars(query))
    return found


def system_properties(
    conn: sa.Connection, deployment_ids: list[str] | None
) -> dict[str, list[tuple[str, JSON]]]:
    """(instance id, system_properties) of each deployment's instances, in one query."""
    query = sa.select(
        _instances.c.deployment_id, _instances.c.id, _instances.c.system_properties
    ).order_by(_instances.c.deployment_id, _instances.c.id)
    if deployment_ids is not None:
        query = query.where(_instances.c.deployment_id.in_(deployment_ids))
    found: dict[str, list[tuple[str, JSON]]] = {}
    for deployment_id, instance_id, props in conn.execute(query):
        found.setdefault(deployment_id, []).append((instance_id, props or {}))
    return found


def swap_policy(
    conn: sa.Connection,
    deployment_id: str,
    *,
    expected: Mapping[str, JSON] | None,
    policy: Mapping[str, JSON] | None,
) -> bool:
    """Compare-and-set of the whole policy: True if it was ``expected`` and is now ``policy``.

    JSON columns cannot be compared in SQL on PostgreSQL (``json`` has no ``=``), so the
    stored text, as read, is the compare value."""
    as_text = sa.cast(_deployments.c.drift_policy, sa.Text)
    text = conn.execute(
        sa.select(as_text).where(_deployments.c.id == deployment_id)
    ).scalar_one_or_none()
    current = None if text is None else json.loads(text)
    if current != (None if expected is None else dict(expected)):
        return False
    condition = as_text.is_(None) if text is None else as_text == text
    changed = conn.execute(
        sa.update(_deployments)
        .where(_deployments.c.id == deployment_id, condition)
        .values(drift_policy=None if policy is None else dict(policy))
    )
    return changed.rowcount == 1
