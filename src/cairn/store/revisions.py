"""Deployment revisions: statements run inside a caller's transaction.

A deployment's revisions are numbered from 1 (the deployment as created). An update stores
the next one as ``pending`` in the same transaction as its execution, its new node instances
and the relationships they add (:func:`begin_update`), so a refused update leaves nothing
behind. The update's last task moves the deployment to the revision (:func:`apply`): the
deployment's blueprint, inputs and plan, the removed instances and the rewritten
relationships change in one transaction, so a crash cannot leave the move half done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import catalog, rows, runs, tables

_revisions = tables.deployment_revisions
_deployments = tables.deployments
_instances = tables.node_instances

PENDING = "pending"
APPLIED = "applied"
FAILED = "failed"
ABANDONED = "abandoned"  # a failed update given up for a rollback to the revision before it
STATUSES = frozenset({PENDING, APPLIED, FAILED, ABANDONED})


def add(conn: sa.Connection, revision: runtime.Revision) -> None:
    catalog.require_deployment(conn, revision.deployment_id)
    taken = sa.select(_revisions.c.revision).where(
        _revisions.c.deployment_id == revision.deployment_id,
        _revisions.c.revision == revision.revision,
    )
    if conn.execute(taken).first() is not None:
        raise errors.ConflictError(
            f"deployment {revision.deployment_id!r} already has revision {revision.revision}"
        )
    _insert(conn, revision)


def _insert(conn: sa.Connection, revision: runtime.Revision) -> None:
    _check_status(revision.status)
    conn.execute(sa.insert(_revisions), [rows.revision_to_row(revision)])


def get(conn: sa.Connection, deployment_id: str, number: int) -> runtime.Revision:
    row = conn.execute(
        rows.select_revisions().where(
            _revisions.c.deployment_id == deployment_id, _revisions.c.revision == number
        )
    ).first()
    if row is None:
        catalog.require_deployment(conn, deployment_id)
        raise errors.NotFoundError(f"deployment {deployment_id!r} has no revision {number}")
    return rows.revision_from_row(row)


def list_for(conn: sa.Connection, deployment_id: str) -> list[runtime.Revision]:
    catalog.require_deployment(conn, deployment_id)
    query = (
        rows.select_revisions()
        .where(_revisions.c.deployment_id == deployment_id)
        .order_by(_revisions.c.revision)
    )
    return [rows.revision_from_row(row) for row in conn.execute(query)]


def set_status(
    conn: sa.Connection,
    deployment_id: str,
    number: int,
    *,
    status: str,
    execution_id: str | None = None,
) -> None:
    """NotFoundError (and no change) for a revision that does not exist."""
    _check_status(status)
    values: dict[str, Any] = {"status": status}
    if execution_id is not None:
        values["execution_id"] = execution_id
    changed = conn.execute(
        sa.update(_revisions)
        .where(_revisions.c.deployment_id == deployment_id, _revisions.c.revision == number)
        .values(**values)
    ).rowcount
    if not changed:
        get(conn, deployment_id, number)  # raises the NotFoundError that says which


def begin_update(
    conn: sa.Connection,
    revision: runtime.Revision,
    *,
    execution: executions.Execution,
    specs: Sequence[executions.TaskSpec],
    added: Sequence[runtime.NodeInstance],
    relationships: Mapping[str, Sequence[Mapping[str, Any]]],
    abandon: int | None = None,
) -> executions.Execution:
    """Stores the pending revision, the update's execution and task graph, the instances it
    adds and the relationships existing instances gain, or nothing (ConflictError while the
    deployment has an active or queued execution, or when it moved to another revision)."""
    deployment_id = revision.deployment_id
    catalog.require_deployment(conn, deployment_id, lock=True)
    catalog.refuse_busy(conn, deployment_id, busy=runs.BUSY, doing="cannot be updated now")
    current = conn.scalar(
        sa.select(_deployments.c.revision).where(_deployments.c.id == deployment_id)
    )
    latest = conn.scalar(
        sa.select(sa.func.max(_revisions.c.revision)).where(
            _revisions.c.deployment_id == deployment_id
        )
    )
    if revision.revision != max(current or 0, latest or 0) + 1:  # so it is not taken either
        raise errors.ConflictError(
            f"deployment {deployment_id!r} changed meanwhile (now at revision {current}); "
            "preview the update again"
        )
    if abandon is not None:
        given_up = get(conn, deployment_id, abandon)
        if given_up.status != FAILED:
            raise errors.ConflictError(
                f"revision {abandon} of deployment {deployment_id!r} is {given_up.status}: "
                "only a failed update can be abandoned"
            )
        set_status(conn, deployment_id, abandon, status=ABANDONED)
    _insert(conn, revision)
    catalog.add_instances(conn, added)
    for instance_id, rels in relationships.items():
        catalog.update_instance(conn, instance_id, relationships=rels)
    # the deployment's row is held and nothing of it is busy: the execution's own checks
    # (the same two reads) are not made again
    return runs.insert_execution(conn, execution, specs)


def apply(
    conn: sa.Connection,
    deployment_id: str,
    number: int,
    *,
    remove: Sequence[str],
    relationships: Mapping[str, Sequence[Mapping[str, Any]]],
) -> bool:
    """Moves the deployment to revision ``number``; False (and no change) when it is there
    already, so running it again after a crash is harmless."""
    catalog.require_deployment(conn, deployment_id, lock=True)
    if catalog.get_deployment(conn, deployment_id).revision == number:
        return False
    get(conn, deployment_id, number)  # NotFoundError if there is no such revision
    # copied column to column: the plan is neither parsed nor written out again
    source = sa.select(_revisions).where(
        _revisions.c.deployment_id == deployment_id, _revisions.c.revision == number
    )
    conn.execute(
        sa.update(_deployments)
        .where(_deployments.c.id == deployment_id)
        .values(
            blueprint_id=source.with_only_columns(_revisions.c.blueprint_id).scalar_subquery(),
            inputs=source.with_only_columns(_revisions.c.inputs).scalar_subquery(),
            plan=source.with_only_columns(_revisions.c.plan).scalar_subquery(),
            revision=number,
        )
    )
    present = conn.scalars(sa.select(_instances.c.id).where(_instances.c.id.in_(set(remove))))
    catalog.remove_instances(conn, list(present))
    for instance_id, rels in relationships.items():
        if instance_id not in remove:
            catalog.update_instance(conn, instance_id, relationships=rels)
    set_status(conn, deployment_id, number, status=APPLIED)
    return True


def site_uses_blueprint(conn: sa.Connection, site: str, blueprint_id: str) -> bool:
    """Whether a deployment on ``site`` is at a revision of ``blueprint_id``, or has one (an
    update's tasks run by the old revision's blueprint and the new one's)."""
    in_force = sa.select(_deployments.c.id).where(
        _deployments.c.site == site, _deployments.c.blueprint_id == blueprint_id
    )
    if conn.execute(in_force.limit(1)).first() is not None:
        return True
    revised = (
        sa.select(_revisions.c.deployment_id)
        .join(_deployments, _deployments.c.id == _revisions.c.deployment_id)
        .where(_deployments.c.site == site, _revisions.c.blueprint_id == blueprint_id)
    )
    return conn.execute(revised.limit(1)).first() is not None


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise errors.InputError(
            [f"a revision's status is one of {sorted(STATUSES)}, not {status!r}"]
        )
