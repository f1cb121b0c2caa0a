"""Conversions between rows and domain objects: ``*_from_row`` and ``*_to_row``.

Rows are read by column name; JSON comes back as plain dicts and lists, so tuples in the
domain objects (relationships, labels, dependencies) are rebuilt here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa

from cairn.model import executions, runtime
from cairn.store import tables

Row = sa.Row[Any]
Values = dict[str, Any]


def blueprint_to_row(blueprint: runtime.Blueprint) -> Values:
    return {
        "id": blueprint.id,
        "main_file": blueprint.main_file,
        "plan": blueprint.plan,
        "description": blueprint.description,
        "created_at": blueprint.created_at,
        "created_by": blueprint.created_by,
    }


def select_blueprints() -> sa.Select[Any]:
    """``SELECT`` of whole blueprint rows, the plan as its JSON text (see :class:`LazyJSON`):
    a blueprint's plan holds every type it imports, and most reads want its id or inputs."""
    return _SELECT_BLUEPRINTS


def blueprint_from_row(row: Row) -> runtime.Blueprint:
    """From a row of :func:`select_blueprints`."""
    return runtime.Blueprint(
        id=row.id,
        main_file=row.main_file,
        plan=LazyJSON(row.plan_text),
        description=row.description,
        created_at=row.created_at,
        created_by=row.created_by,
    )


def deployment_to_row(deployment: runtime.Deployment) -> Values:
    return {
        "id": deployment.id,
        "blueprint_id": deployment.blueprint_id,
        "inputs": deployment.inputs,
        "plan": deployment.plan,
        "site": deployment.site,
        "labels": {key: list(values) for key, values in deployment.labels.items()},
        "created_at": deployment.created_at,
        "created_by": deployment.created_by,
        "revision": deployment.revision,
        "drift_policy": None if deployment.drift_policy is None else dict(deployment.drift_policy),
        "drift_next_at": deployment.drift_next_at,
    }


class LazyJSON(Mapping[str, Any]):
    """A JSON object read as text and parsed the first time it is looked into.

    A deployment's plan is by far its largest column, and most reads of deployments
    (listings, filters, groups, sweeps, existence checks) never look at it: parsing every
    plan read was a tenth of the manager's time in a drift sweep."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: dict[str, Any] | None = None

    def _parsed(self) -> dict[str, Any]:
        # two threads that look at once may both parse: the same value, no harm
        if self._value is None:
            self._value = json.loads(self._text)
        return self._value

    @property
    def text(self) -> str:
        """The JSON text, as read."""
        return self._text

    def __getitem__(self, key: str) -> Any:
        return self._parsed()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsed())

    def __len__(self) -> int:
        return len(self._parsed())

    def __repr__(self) -> str:
        return f"LazyJSON({self._parsed()!r})"


def select_deployments() -> sa.Select[Any]:
    """``SELECT`` of whole deployment rows, the plan as its JSON text (see :class:`LazyJSON`)."""
    return _SELECT_DEPLOYMENTS


_SELECT_BLUEPRINTS = sa.select(
    *(column for column in tables.blueprints.c if column.name != "plan"),
    sa.cast(tables.blueprints.c.plan, sa.Text).label("plan_text"),
)

_SELECT_DEPLOYMENTS = sa.select(
    *(column for column in tables.deployments.c if column.name != "plan"),
    sa.cast(tables.deployments.c.plan, sa.Text).label("plan_text"),
)


def deployment_from_row(row: Row) -> runtime.Deployment:
    """From a row of :func:`select_deployments`."""
    return runtime.Deployment(
        id=row.id,
        blueprint_id=row.blueprint_id,
        inputs=row.inputs,
        plan=LazyJSON(row.plan_text),
        site=row.site,
        labels={key: tuple(values) for key, values in row.labels.items()},
        created_at=row.created_at,
        created_by=row.created_by,
        revision=int(row.revision),
        drift_policy=row.drift_policy,
        drift_next_at=row.drift_next_at,
    )


def revision_to_row(revision: runtime.Revision) -> Values:
    return {
        "deployment_id": revision.deployment_id,
        "revision": revision.revision,
        "blueprint_id": revision.blueprint_id,
        "inputs": dict(revision.inputs),
        "plan": dict(revision.plan),
        "created_at": revision.created_at,
        "created_by": revision.created_by,
        "status": revision.status,
        "execution_id": revision.execution_id,
        "summary": dict(revision.summary),
    }


def select_revisions() -> sa.Select[Any]:
    """``SELECT`` of whole revision rows, the plan as its JSON text (see :class:`LazyJSON`):
    the engine, updates and rollouts read revisions for their number, status and inputs."""
    return _SELECT_REVISIONS


_SELECT_REVISIONS = sa.select(
    *(column for column in tables.deployment_revisions.c if column.name != "plan"),
    sa.cast(tables.deployment_revisions.c.plan, sa.Text).label("plan_text"),
)


def revision_from_row(row: Row) -> runtime.Revision:
    """From a row of :func:`select_revisions`."""
    return runtime.Revision(
        deployment_id=row.deployment_id,
        revision=int(row.revision),
        blueprint_id=row.blueprint_id,
        inputs=row.inputs,
        plan=LazyJSON(row.plan_text),
        created_at=row.created_at,
        created_by=row.created_by,
        status=row.status,
        execution_id=row.execution_id,
        summary=row.summary,
    )


def instance_to_row(instance: runtime.NodeInstance) -> Values:
    return {
        "id": instance.id,
        "deployment_id": instance.deployment_id,
        "node_id": instance.node_id,
        "host_id": instance.host_id,
        "state": instance.state.value,
        "runtime_properties": instance.runtime_properties,
        "relationships": list(instance.relationships),
        "scaling_groups": list(instance.scaling_groups),
        "system_properties": instance.system_properties,
        "version": instance.version,
    }


def instance_from_row(row: Row) -> runtime.NodeInstance:
    return runtime.NodeInstance(
        id=row.id,
        deployment_id=row.deployment_id,
        node_id=row.node_id,
        host_id=row.host_id,
        state=runtime.InstanceState(row.state),
        runtime_properties=row.runtime_properties,
        relationships=tuple(row.relationships),
        scaling_groups=tuple(row.scaling_groups),
        system_properties=row.system_properties,
        version=row.version,
    )


def execution_to_row(execution: executions.Execution) -> Values:
    return {
        "id": execution.id,
        "deployment_id": execution.deployment_id,
        "workflow_id": execution.workflow_id,
        "parameters": execution.parameters,
        "status": execution.status.value,
        "created_at": execution.created_at,
        "started_at": execution.started_at,
        "ended_at": execution.ended_at,
        "error": execution.error,
        "created_by": execution.created_by,
    }


def execution_from_row(row: Row) -> executions.Execution:
    return executions.Execution(
        id=row.id,
        deployment_id=row.deployment_id,
        workflow_id=row.workflow_id,
        parameters=row.parameters,
        status=executions.ExecutionStatus(row.status),
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        error=row.error,
        created_by=row.created_by,
    )


def spec_to_row(spec: executions.TaskSpec) -> Values:
    return {
        "key": spec.key,
        "kind": spec.kind.value,
        "node_instance_id": spec.node_instance_id,
        "operation": spec.operation,
        "instance_state": None if spec.state is None else spec.state.value,
        "relationship_index": spec.relationship_index,
        "target_instance_id": spec.target_instance_id,
        "side": None if spec.side is None else spec.side.value,
        "inputs": spec.inputs,
        "depends_on": list(spec.depends_on),
        "description": spec.description,
        "ignore_failure": spec.ignore_failure,
        "records_status": spec.records_status,
        "revision": spec.revision,
    }


def spec_from_row(row: Row) -> executions.TaskSpec:
    return executions.TaskSpec(
        key=row.key,
        kind=executions.TaskKind(row.kind),
        node_instance_id=row.node_instance_id,
        operation=row.operation,
        state=None if row.instance_state is None else runtime.InstanceState(row.instance_state),
        relationship_index=row.relationship_index,
        target_instance_id=row.target_instance_id,
        side=None if row.side is None else executions.Side(row.side),
        inputs=row.inputs,
        depends_on=tuple(row.depends_on),
        description=row.description,
        ignore_failure=bool(row.ignore_failure),
        records_status=bool(row.records_status),
        revision=row.revision,
    )


def task_from_row(row: Row) -> executions.Task:
    return executions.Task(
        id=row.id,
        execution_id=row.execution_id,
        spec=spec_from_row(row),
        state=executions.TaskState(row.state),
        attempt=row.attempt,
        run_after=row.run_after,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        result=row.result,
        error=row.error,
    )


def event_to_row(event: runtime.Event) -> Values:
    """Without ``id``: the store numbers events."""
    return {
        "execution_id": event.execution_id,
        "deployment_id": event.deployment_id,
        "timestamp": event.timestamp,
        "type": event.type,
        "message": event.message,
        "level": event.level,
        "node_instance_id": event.node_instance_id,
        "operation": event.operation,
        "task_id": event.task_id,
        "attempt": event.attempt,
        "context": event.context,
    }


def event_from_row(row: Row) -> runtime.Event:
    return runtime.Event(
        id=row.id,
        execution_id=row.execution_id,
        deployment_id=row.deployment_id,
        timestamp=row.timestamp,
        type=row.type,
        message=row.message,
        level=row.level,
        node_instance_id=row.node_instance_id,
        operation=row.operation,
        task_id=row.task_id,
        attempt=row.attempt,
        context=row.context,
    )


def secret_to_row(secret: runtime.Secret) -> Values:
    return {
        "name": secret.name,
        "ciphertext": secret.ciphertext,
        "created_at": secret.created_at,
        "updated_at": secret.updated_at,
        "created_by": secret.created_by,
    }


def secret_from_row(row: Row) -> runtime.Secret:
    return runtime.Secret(
        name=row.name,
        ciphertext=bytes(row.ciphertext),
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )


def token_to_row(token: runtime.Token) -> Values:
    return {
        "id": token.id,
        "digest": token.digest,
        "role": token.role.value,
        "description": token.description,
        "created_at": token.created_at,
        "revoked": token.revoked,
        "site": token.site,
    }


def token_from_row(row: Row) -> runtime.Token:
    return runtime.Token(
        id=row.id,
        digest=row.digest,
        role=runtime.Role(row.role),
        description=row.description,
        created_at=row.created_at,
        revoked=bool(row.revoked),
        site=row.site,
    )
