"""Domain objects for the store tests: small, valid, and easy to vary."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import interface

T0 = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def blueprint(blueprint_id: str = "bp") -> runtime.Blueprint:
    return runtime.Blueprint(
        id=blueprint_id,
        main_file="blueprint.yaml",
        plan={"nodes": [{"id": "vm", "properties": {"size": 2, "tags": ["a", "b"]}}]},
        created_at=T0,
        description="a test blueprint",
    )


def instance(
    instance_id: str, deployment_id: str = "dep", *, node_id: str = "vm"
) -> runtime.NodeInstance:
    return runtime.NodeInstance(
        id=instance_id,
        deployment_id=deployment_id,
        node_id=node_id,
        host_id=instance_id,
        state=runtime.InstanceState.UNINITIALIZED,
        runtime_properties={"ip": None},
        relationships=({"type": "cloudify.relationships.depends_on", "target_id": "x"},),
        scaling_groups=({"name": "group", "id": "group_1"},),
    )


def deployment(deployment_id: str = "dep", blueprint_id: str = "bp") -> runtime.Deployment:
    return runtime.Deployment(
        id=deployment_id,
        blueprint_id=blueprint_id,
        inputs={"port": 8080},
        plan={"nodes": ["vm"]},
        created_at=T0,
        labels={"env": ("prod", "eu")},
    )


def setup_deployment(
    store: interface.Store,
    deployment_id: str = "dep",
    *,
    instance_ids: Sequence[str] = ("vm_1", "vm_2"),
) -> None:
    """A blueprint ``bp`` (created once) and a deployment with the given instances."""
    try:
        store.get_blueprint("bp")
    except errors.NotFoundError:
        store.put_blueprint(blueprint("bp"))
    store.create_deployment(
        deployment(deployment_id),
        [instance(i, deployment_id) for i in instance_ids],
    )


def execution(
    execution_id: str,
    deployment_id: str = "dep",
    *,
    status: executions.ExecutionStatus = executions.ExecutionStatus.PENDING,
    created_at: datetime.datetime = T0,
) -> executions.Execution:
    return executions.Execution(
        id=execution_id,
        deployment_id=deployment_id,
        workflow_id="install",
        parameters={"node_ids": []},
        status=status,
        created_at=created_at,
    )


def spec(key: str, *depends_on: str, instance_id: str | None = "vm_1") -> executions.TaskSpec:
    return executions.TaskSpec(
        key=key,
        kind=executions.TaskKind.OPERATION,
        node_instance_id=instance_id,
        operation="cloudify.interfaces.lifecycle.create",
        inputs={"key": key},
        depends_on=depends_on,
        description=f"task {key}",
    )


def started_execution(
    store: interface.Store,
    execution_id: str,
    specs: Sequence[executions.TaskSpec],
    deployment_id: str = "dep",
) -> dict[str, int]:
    """Creates and starts an execution; answers its task ids by key."""
    store.create_execution(execution(execution_id, deployment_id), specs, queue=False)
    started = store.set_execution_status(
        execution_id,
        expected={executions.ExecutionStatus.PENDING},
        status=executions.ExecutionStatus.STARTED,
        now=T0,
    )
    assert started
    return {task.key: task.id for task in store.list_tasks(execution_id)}


def claim_all(
    store: interface.Store, *, now: datetime.datetime = T0, owner: str = "w1", limit: int = 100
) -> list[executions.Task]:
    return store.claim_tasks(owner=owner, now=now, lease_seconds=30, limit=limit)


def succeed(store: interface.Store, task: executions.Task, *, now: datetime.datetime = T0) -> None:
    assert store.complete_task(
        task.id, attempt=task.attempt, state=executions.TaskState.SUCCEEDED, now=now
    )
