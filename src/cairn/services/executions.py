"""Running workflows: start, follow, resume, cancel; the node instances they change.

Starting an execution plans the workflow's whole task graph (``cairn.planner``) and stores
it with the execution in one transaction; the engine takes it from there. A deployment runs
one execution at a time: a second one waits in a FIFO queue (``queue=True``) or is refused.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cairn import errors, planner
from cairn.model import executions, runtime
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
CancelMode = Literal["cancel", "force", "kill"]
_CANCEL_STATUS = {
    "cancel": ES.CANCELLING,
    "force": ES.FORCE_CANCELLING,
    "kill": ES.KILL_CANCELLING,
}


def start(
    manager: Manager,
    *,
    deployment_id: str,
    workflow_id: str,
    parameters: Mapping[str, Any] | None = None,
    queue: bool = False,
    user: str = "admin",
    execution_id: str | None = None,
) -> executions.Execution:
    """Plans ``workflow_id`` and stores the execution (``execution_id``: the id to give it,
    so a caller that recorded the id first can tell later whether it was stored)."""
    store = manager.store
    planned = _plan(manager, deployment_id, workflow_id, parameters)
    specs = _specs(planned)
    change = planned.change
    if change is not None:
        _refuse_while_busy(manager, deployment_id, queue=queue)
    if change is not None and change.removed_instance_ids:
        # scale in: instances and relationships go once every other task has succeeded
        specs.append(
            executions.TaskSpec(
                key="scale/apply",
                kind=executions.TaskKind.CHANGE_INSTANCES,
                inputs={
                    "remove": list(change.removed_instance_ids),
                    "relationships": {
                        k: [dict(r) for r in v] for k, v in change.relationships.items()
                    },
                },
                depends_on=tuple(spec.key for spec in specs),
                description="remove the scaled-in instances",
            )
        )
    if planned.added_instances:
        store.add_instances(planned.added_instances)
    if change is not None and change.scales_out:
        for instance_id, relationships in change.relationships.items():
            store.update_instance(instance_id, relationships=relationships)
    execution = _pending(
        manager,
        planned,
        deployment_id=deployment_id,
        workflow_id=workflow_id,
        user=user,
        execution_id=execution_id,
    )
    try:
        stored = store.create_execution(execution, specs, queue=queue)
    except errors.ConflictError:
        if planned.added_instances:
            store.remove_instances([i.id for i in planned.added_instances])
        raise
    manager.wake()
    return stored


def start_many(
    manager: Manager,
    *,
    deployment_ids: Sequence[str],
    workflow_id: str,
    parameters: Mapping[str, Any] | None = None,
    queue: bool = False,
    user: str = "admin",
    skip_empty: bool = False,
) -> list[executions.Execution | errors.CairnError | None]:
    """:func:`start` for many deployments, stored in one transaction: per deployment, in
    order, its execution or the error that refused it alone (unknown deployment, workflow
    or parameter, busy without ``queue``); with ``skip_empty``, None where the workflow
    would run no task (nothing is stored for it). A workflow that changes the deployment's
    instances (a scale) is started on its own, as :func:`start` does."""
    store = manager.store
    answers: dict[int, executions.Execution | errors.CairnError | None] = {}
    batch: list[tuple[int, executions.Execution, list[executions.TaskSpec]]] = []
    for index, deployment_id in enumerate(deployment_ids):
        try:
            planned = _plan(manager, deployment_id, workflow_id, parameters)
            if planned.change is not None or planned.added_instances:
                answers[index] = start(
                    manager,
                    deployment_id=deployment_id,
                    workflow_id=workflow_id,
                    parameters=parameters,
                    queue=queue,
                    user=user,
                )
                continue
        except errors.CairnError as refused:
            answers[index] = refused
            continue
        if skip_empty and not planned.tasks:
            answers[index] = None
            continue
        execution = _pending(
            manager, planned, deployment_id=deployment_id, workflow_id=workflow_id, user=user
        )
        batch.append((index, execution, _specs(planned)))
    stored = store.create_executions([(e, s) for _, e, s in batch], queue=queue)
    for (index, _, _), answer in zip(batch, stored, strict=True):
        answers[index] = answer
    manager.wake()
    return [answers[i] for i in range(len(deployment_ids))]


def _plan(
    manager: Manager,
    deployment_id: str,
    workflow_id: str,
    parameters: Mapping[str, Any] | None,
) -> planner.WorkflowPlan:
    """The workflow's task graph on the deployment as it is now."""
    return planner.plan_workflow(
        workflow_id,
        deployment=manager.store.get_deployment(deployment_id).plan,
        instances=manager.store.list_instances(deployment_id),
        parameters=parameters or {},
        deployment_id=deployment_id,
    )


def _specs(planned: planner.WorkflowPlan) -> list[executions.TaskSpec]:
    """The planned tasks, each marked as the plan says (failure ignored, status recorded)."""
    return [
        dataclasses.replace(
            spec,
            ignore_failure=spec.key in planned.ignore_failure_keys,
            records_status=spec.key in planned.status_check_keys,
        )
        for spec in planned.tasks
    ]


def _pending(
    manager: Manager,
    planned: planner.WorkflowPlan,
    *,
    deployment_id: str,
    workflow_id: str,
    user: str,
    execution_id: str | None = None,
) -> executions.Execution:
    """The execution to store for ``planned``, PENDING, made now by ``user``."""
    return executions.Execution(
        id=execution_id or str(uuid.uuid4()),
        deployment_id=deployment_id,
        workflow_id=workflow_id,
        parameters=dict(planned.parameters),
        status=ES.PENDING,
        created_at=manager.clock.now(),
        created_by=user,
    )


def _refuse_while_busy(manager: Manager, deployment_id: str, *, queue: bool) -> None:
    """A scale changes the deployment's instances when it is created, so it may not wait in
    the queue behind another execution, nor start while one runs."""
    busy = manager.store.list_executions(
        deployment_id=deployment_id, statuses=[*executions.ACTIVE, ES.QUEUED]
    )
    if busy:
        how = "cannot be queued" if queue else "cannot start"
        raise errors.ConflictError(
            f"a scale of deployment {deployment_id!r} {how} while execution {busy[0].id} "
            f"({busy[0].workflow_id}, {busy[0].status}) is active or queued; start it when that one ends"
        )


def get(manager: Manager, execution_id: str) -> executions.Execution:
    return manager.store.get_execution(execution_id)


def list_(manager: Manager, *, deployment_id: str | None = None) -> list[executions.Execution]:
    return manager.store.list_executions(deployment_id=deployment_id)


def tasks(manager: Manager, execution_id: str) -> list[executions.Task]:
    return manager.store.list_tasks(execution_id)


def resume(manager: Manager, execution_id: str) -> executions.Execution:
    """Reruns only the failed and never-started tasks of a failed or cancelled execution."""
    store = manager.store
    execution = store.get_execution(execution_id)
    if execution.status not in executions.RESUMABLE:
        raise errors.ConflictError(
            f"execution {execution_id} is {execution.status}; only failed or cancelled "
            "executions can be resumed"
        )
    if execution.workflow_id == executions.UPDATE_WORKFLOW:
        number = execution.parameters.get("revision")
        if isinstance(number, int):
            revision = store.get_revision(execution.deployment_id, number)
            if revision.status == "abandoned":
                raise errors.ConflictError(
                    f"execution {execution_id} updated deployment '{execution.deployment_id}' "
                    f"to revision {number}, which was abandoned (rolled back): it cannot be resumed"
                )
    # Tasks first: the engine only looks at tasks of executions that are not ended.
    store.reset_for_resume(execution_id)
    if not store.set_execution_status(
        execution_id, expected=executions.RESUMABLE, status=ES.PENDING, now=manager.clock.now()
    ):
        raise errors.ConflictError(f"execution {execution_id} changed while resuming; try again")
    manager.wake()
    return store.get_execution(execution_id)


def cancel(
    manager: Manager, execution_id: str, *, mode: CancelMode = "cancel"
) -> executions.Execution:
    store = manager.store
    execution = store.get_execution(execution_id)
    now = manager.clock.now()
    if execution.status is ES.QUEUED:
        store.set_execution_status(execution_id, expected=[ES.QUEUED], status=ES.CANCELLED, now=now)
        store.cancel_pending_tasks(execution_id)
    elif execution.status in executions.ACTIVE:
        target = _CANCEL_STATUS[mode]
        if not store.set_execution_status(
            execution_id, expected=executions.ACTIVE, status=target, now=now
        ):
            raise errors.ConflictError(f"execution {execution_id} ended while cancelling")
    else:
        raise errors.ConflictError(f"execution {execution_id} already ended ({execution.status})")
    manager.wake()
    return store.get_execution(execution_id)


def events(
    manager: Manager, *, execution_id: str, after_id: int = 0, limit: int = 1000
) -> list[runtime.Event]:
    manager.store.get_execution(execution_id)  # NotFoundError for an unknown id
    return manager.store.list_events(execution_id=execution_id, after_id=after_id, limit=limit)


def node_instances(manager: Manager, deployment_id: str) -> list[runtime.NodeInstance]:
    manager.store.get_deployment(deployment_id)
    return manager.store.list_instances(deployment_id)


def node_instance(manager: Manager, instance_id: str) -> runtime.NodeInstance:
    return manager.store.get_instance(instance_id)
