"""Blueprints, deployments and node instances: statements run inside a caller's transaction."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import drift, runtime
from cairn.store import interface, rows, tables

_blueprints = tables.blueprints
_deployments = tables.deployments
_instances = tables.node_instances
_executions = tables.executions


def get_blueprint(conn: sa.Connection, blueprint_id: str) -> runtime.Blueprint:
    row = conn.execute(rows.select_blueprints().where(_blueprints.c.id == blueprint_id)).first()
    if row is None:
        raise errors.NotFoundError(f"blueprint {blueprint_id!r} not found")
    return rows.blueprint_from_row(row)


def list_blueprints(conn: sa.Connection) -> list[runtime.Blueprint]:
    result = conn.execute(rows.select_blueprints().order_by(_blueprints.c.id))
    return [rows.blueprint_from_row(row) for row in result]


def put_blueprint(conn: sa.Connection, blueprint: runtime.Blueprint) -> None:
    conn.execute(sa.insert(_blueprints), [rows.blueprint_to_row(blueprint)])


def delete_blueprint(conn: sa.Connection, blueprint_id: str) -> None:
    used = conn.scalars(
        sa.select(_deployments.c.id)
        .where(_deployments.c.blueprint_id == blueprint_id)
        .order_by(_deployments.c.id)
    ).all()
    if used:
        raise errors.ConflictError(
            f"blueprint {blueprint_id!r} is used by deployments: {', '.join(used)}"
        )
    deleted = conn.execute(sa.delete(_blueprints).where(_blueprints.c.id == blueprint_id))
    if deleted.rowcount == 0:
        raise errors.NotFoundError(f"blueprint {blueprint_id!r} not found")


def get_deployment(conn: sa.Connection, deployment_id: str) -> runtime.Deployment:
    row = conn.execute(rows.select_deployments().where(_deployments.c.id == deployment_id)).first()
    if row is None:
        raise errors.NotFoundError(f"deployment {deployment_id!r} not found")
    return rows.deployment_from_row(row)


def list_deployments(
    conn: sa.Connection, *, blueprint_id: str | None = None
) -> list[runtime.Deployment]:
    query = rows.select_deployments().order_by(_deployments.c.id)
    if blueprint_id is not None:
        query = query.where(_deployments.c.blueprint_id == blueprint_id)
    found = [rows.deployment_from_row(row) for row in conn.execute(query)]
    if not found and blueprint_id is not None:
        require_blueprint(conn, blueprint_id)
    return found


def require_blueprint(conn: sa.Connection, blueprint_id: str) -> None:
    query = sa.select(_blueprints.c.id).where(_blueprints.c.id == blueprint_id)
    if conn.execute(query).first() is None:
        raise errors.NotFoundError(f"blueprint {blueprint_id!r} not found")


def require_deployment(conn: sa.Connection, deployment_id: str, *, lock: bool = False) -> None:
    """NotFoundError unless the deployment exists.

    ``lock`` holds its row until commit on PostgreSQL, so that writers of its executions
    run one at a time. ``FOR NO KEY UPDATE`` rather than ``FOR UPDATE``: inserting an event
    or an instance of the deployment (a foreign key check) need not wait for it.
    """
    query = sa.select(_deployments.c.id).where(_deployments.c.id == deployment_id)
    if lock:
        query = query.with_for_update(key_share=True)
    if conn.execute(query).first() is None:
        raise errors.NotFoundError(f"deployment {deployment_id!r} not found")


def lock_deployments(conn: sa.Connection, deployment_ids: Sequence[str]) -> None:
    """:func:`require_deployment`'s lock for many at once, in the order given (sorted by the
    caller, so that two writers never wait on each other); a missing one is no error."""
    for begin in range(0, len(deployment_ids), tables.IN_CHUNK):
        chunk = deployment_ids[begin : begin + tables.IN_CHUNK]
        conn.execute(
            sa.select(_deployments.c.id)
            .where(_deployments.c.id.in_(chunk))
            .order_by(_deployments.c.id)
            .with_for_update(key_share=True)
        ).all()


def create_deployment(
    conn: sa.Connection,
    deployment: runtime.Deployment,
    instances: Sequence[runtime.NodeInstance],
) -> None:
    require_blueprint(conn, deployment.blueprint_id)
    taken = sa.select(_deployments.c.id).where(_deployments.c.id == deployment.id)
    if conn.execute(taken).first() is not None:
        raise errors.ConflictError(f"deployment {deployment.id!r} already exists")
    _check_owner(instances, deployment.id)
    conn.execute(sa.insert(_deployments), [rows.deployment_to_row(deployment)])
    first = runtime.Revision(
        deployment_id=deployment.id,
        revision=deployment.revision,
        blueprint_id=deployment.blueprint_id,
        inputs=deployment.inputs,
        plan=deployment.plan,
        created_at=deployment.created_at,
        created_by=deployment.created_by,
    )
    conn.execute(sa.insert(tables.deployment_revisions), [rows.revision_to_row(first)])
    if instances:
        conn.execute(sa.insert(_instances), [rows.instance_to_row(i) for i in instances])


def delete_deployment(conn: sa.Connection, deployment_id: str, *, busy: Collection[str]) -> None:
    """Deletes it with everything it owns (foreign keys cascade); ConflictError if busy."""
    require_deployment(conn, deployment_id, lock=True)
    refuse_busy(conn, deployment_id, busy=busy)
    conn.execute(sa.delete(_deployments).where(_deployments.c.id == deployment_id))


def refuse_busy(
    conn: sa.Connection, deployment_id: str, *, busy: Collection[str], doing: str = ""
) -> None:
    """ConflictError naming the deployment's executions whose status is in ``busy``.

    The caller holds the deployment's row (:func:`require_deployment` with ``lock``), so no
    execution can start between this check and the caller's write.
    """
    active = conn.execute(
        sa.select(_executions.c.id, _executions.c.status)
        .where(_executions.c.deployment_id == deployment_id, _executions.c.status.in_(busy))
        .order_by(_executions.c.created_at, _executions.c.seq)
    ).all()
    if active:
        listed = ", ".join(f"{row.id!r} ({row.status})" for row in active)
        reason = f" and {doing}" if doing else ""
        raise errors.ConflictError(
            f"deployment {deployment_id!r} has active or queued executions{reason}: {listed}"
        )


def list_instances(conn: sa.Connection, deployment_id: str) -> list[runtime.NodeInstance]:
    query = (
        sa.select(_instances)
        .where(_instances.c.deployment_id == deployment_id)
        .order_by(_instances.c.node_id, _instances.c.id)
    )
    found = [rows.instance_from_row(row) for row in conn.execute(query)]
    if not found:
        require_deployment(conn, deployment_id)
    return found


def get_instance(conn: sa.Connection, instance_id: str) -> runtime.NodeInstance:
    row = conn.execute(sa.select(_instances).where(_instances.c.id == instance_id)).first()
    if row is None:
        raise errors.NotFoundError(f"node instance {instance_id!r} not found")
    return rows.instance_from_row(row)


_GET_INSTANCES = sa.select(_instances).where(
    _instances.c.id.in_(sa.bindparam("instance_ids", expanding=True))
)


def get_instances(
    conn: sa.Connection, instance_ids: Collection[str]
) -> dict[str, runtime.NodeInstance]:
    if not instance_ids:
        return {}
    found = conn.execute(_GET_INSTANCES, {"instance_ids": sorted(set(instance_ids))})
    return {row.id: rows.instance_from_row(row) for row in found}


def add_instances(conn: sa.Connection, instances: Sequence[runtime.NodeInstance]) -> None:
    for deployment_id in sorted({instance.deployment_id for instance in instances}):
        require_deployment(conn, deployment_id)
    if instances:
        conn.execute(sa.insert(_instances), [rows.instance_to_row(i) for i in instances])


def remove_instances(conn: sa.Connection, instance_ids: Sequence[str]) -> None:
    wanted = set(instance_ids)
    if not wanted:
        return
    deleted = conn.scalars(
        sa.delete(_instances).where(_instances.c.id.in_(wanted)).returning(_instances.c.id)
    ).all()
    missing = wanted - set(deleted)
    if missing:
        raise errors.NotFoundError(f"node instances not found: {', '.join(sorted(missing))}")


def update_instance(
    conn: sa.Connection,
    instance_id: str,
    *,
    expected_version: int | None = None,
    state: runtime.InstanceState | None = None,
    runtime_properties: Mapping[str, Any] | None = None,
    system_properties: Mapping[str, Any] | None = None,
    relationships: Sequence[Mapping[str, Any]] | None = None,
) -> runtime.NodeInstance:
    """Writes the given fields and bumps ``version``; ``system_properties`` are merged."""
    values = _changes(conn, instance_id, state, runtime_properties, system_properties)
    if relationships is not None:
        values["relationships"] = [dict(r) for r in relationships]
    statement = _instance_update(tuple(values), versioned=expected_version is not None)
    params = {"instance_id": instance_id, "expected_version": expected_version}
    row = conn.execute(statement.returning(*_instances.c), {**params, **values}).first()
    if row is not None:
        return rows.instance_from_row(row)
    current = get_instance(conn, instance_id)  # NotFoundError if it is gone
    raise errors.ConflictError(
        f"node instance {instance_id!r} changed meanwhile: "
        f"version {current.version}, expected {expected_version}"
    )


def apply_updates(conn: sa.Connection, updates: Sequence[interface.InstanceUpdate]) -> None:
    """Applies a task's instance updates (each bumps ``version``); NotFoundError if one is gone."""
    for update in updates:
        values = _changes(
            conn,
            update.instance_id,
            update.state,
            update.runtime_properties,
            update.system_properties,
        )
        if update.runtime_changes is not None:
            values.update(_runtime_changes(conn, update.instance_id, update.runtime_changes))
        if update.drift_check is not None:
            values["system_properties"] = _drift_merged(
                conn, update.instance_id, values.get("system_properties"), update.drift_check
            )
        if update.relationships is not None:
            values["relationships"] = [dict(r) for r in update.relationships]
        if not values:
            continue
        statement = _instance_update(tuple(values), versioned=False)
        if conn.execute(statement, {"instance_id": update.instance_id, **values}).rowcount == 0:
            raise errors.NotFoundError(f"node instance {update.instance_id!r} not found")


def _changes(
    conn: sa.Connection,
    instance_id: str,
    state: runtime.InstanceState | None,
    runtime_properties: Mapping[str, Any] | None,
    system_properties: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The columns to write; merging system properties reads (and locks) the stored ones."""
    values: dict[str, Any] = {}
    if state is not None:
        values["state"] = state.value
    if runtime_properties is not None:
        values["runtime_properties"] = runtime_properties
    if system_properties is not None:
        row = conn.execute(_LOCK_SYSTEM_PROPERTIES, {"instance_id": instance_id}).first()
        if row is None:
            raise errors.NotFoundError(f"node instance {instance_id!r} not found")
        values["system_properties"] = {**row.system_properties, **system_properties}
    return values


def _drift_merged(
    conn: sa.Connection,
    instance_id: str,
    merged: Mapping[str, Any] | None,
    check: interface.DriftCheck,
) -> dict[str, Any]:
    """The system properties with ``check`` merged into the stored drift record: read
    (and locked) here, so the checks of one execution that end in one transaction, or in
    two at once, each merge into the record the other left."""
    if merged is None:
        row = conn.execute(_LOCK_SYSTEM_PROPERTIES, {"instance_id": instance_id}).first()
        if row is None:
            raise errors.NotFoundError(f"node instance {instance_id!r} not found")
        merged = row.system_properties
    record = drift.merged(
        merged.get(drift.KEY),
        execution_id=check.execution_id,
        checked_at=check.checked_at,
        entry=check.entry,
        relationship=check.relationship,
    )
    return {**merged, drift.KEY: record}


def _runtime_changes(
    conn: sa.Connection, instance_id: str, changes: interface.RuntimeChanges
) -> dict[str, Any]:
    """The merged runtime properties to write, or nothing when they would not change."""
    row = conn.execute(_LOCK_RUNTIME_PROPERTIES, {"instance_id": instance_id}).first()
    if row is None:
        raise errors.NotFoundError(f"node instance {instance_id!r} not found")
    current = row.runtime_properties
    merged = runtime.merge_runtime_properties(current, changes.before, changes.after)
    return {} if merged == current else {"runtime_properties": merged}


_LOCK_RUNTIME_PROPERTIES = (
    sa.select(_instances.c.runtime_properties)
    .where(_instances.c.id == sa.bindparam("instance_id"))
    .with_for_update()
)
_LOCK_SYSTEM_PROPERTIES = (
    sa.select(_instances.c.system_properties)
    .where(_instances.c.id == sa.bindparam("instance_id"))
    .with_for_update()
)


@functools.cache
def _instance_update(columns: tuple[str, ...], *, versioned: bool) -> sa.Update:
    """The UPDATE writing ``columns`` (bound by their names) and bumping ``version``.

    Built once per shape: completions apply instance updates on the engine's hot path.
    """
    query = sa.update(_instances).where(_instances.c.id == sa.bindparam("instance_id"))
    if versioned:
        query = query.where(_instances.c.version == sa.bindparam("expected_version"))
    values = {name: sa.bindparam(name, type_=_instances.c[name].type) for name in columns}
    return query.values(version=_instances.c.version + 1, **values)


def _check_owner(instances: Sequence[runtime.NodeInstance], deployment_id: str) -> None:
    strays = sorted(i.id for i in instances if i.deployment_id != deployment_id)
    if strays:
        raise errors.UsageError(
            f"node instances {', '.join(strays)} do not belong to deployment {deployment_id!r}"
        )
