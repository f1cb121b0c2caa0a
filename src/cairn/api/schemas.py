"""The API's request and response bodies (Pydantic), and conversions from domain objects.

Responses are built from the frozen domain dataclasses with the ``*_out`` functions here, so
routes stay one line of work each. Nothing that could hold a secret value has a field for it,
except :class:`SecretValue`, which only ``GET /secrets/{name}`` returns.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cairn.model import drift, executions, runtime
from cairn.services import auth, deployments


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class ProblemOut(BaseModel):
    message: str = Field(description="What is wrong.")
    field: str | None = Field(default=None, description="The request field at fault, dotted.")
    file: str | None = Field(default=None, description="Blueprint file, relative to its folder.")
    line: int | None = None
    col: int | None = None
    code: str | None = Field(default=None, description="A short, stable word naming the problem.")


class ErrorDetail(BaseModel):
    code: str = Field(description="not_found, conflict, forbidden, unauthenticated, invalid_...")
    message: str
    field: str | None = Field(
        default=None, description="The request field at fault, when there is one."
    )
    problems: list[ProblemOut] = Field(
        default_factory=list, description="Every problem, for blueprints, inputs and bodies."
    )


class ErrorOut(BaseModel):
    error: ErrorDetail


# --- system ---------------------------------------------------------------------------------


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"


class StatusOut(BaseModel):
    version: str
    blueprints: int
    deployments: int
    executions: dict[str, int] = Field(description="Executions by status.")
    secrets: int


# --- blueprints -----------------------------------------------------------------------------


class BlueprintOut(BaseModel):
    id: str
    main_file: str
    description: str | None
    created_at: datetime.datetime
    created_by: str
    nodes: int = Field(description="How many node templates the blueprint declares.")
    workflows: list[str]


class BlueprintDetail(BlueprintOut):
    plan: dict[str, Any] = Field(description="The parsed plan (docs/plan-format.md).")


def blueprint_out(blueprint: runtime.Blueprint) -> BlueprintOut:
    return BlueprintOut(**_blueprint_fields(blueprint))


def blueprint_detail(blueprint: runtime.Blueprint) -> BlueprintDetail:
    return BlueprintDetail(**_blueprint_fields(blueprint), plan=dict(blueprint.plan))


def _blueprint_fields(blueprint: runtime.Blueprint) -> dict[str, Any]:
    nodes = blueprint.plan.get("nodes")
    return {
        "id": blueprint.id,
        "main_file": blueprint.main_file,
        "description": blueprint.description,
        "created_at": blueprint.created_at,
        "created_by": blueprint.created_by,
        "nodes": len(nodes) if isinstance(nodes, list) else 0,
        "workflows": _keys(blueprint.plan.get("workflows")),
    }


def _keys(value: Any) -> list[str]:
    return [str(k) for k in value] if isinstance(value, Mapping) else []


# --- deployments ----------------------------------------------------------------------------


class DeploymentCreate(Body):
    blueprint_id: str = Field(description="The blueprint to deploy.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Deployment inputs.")
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="Labels added to those the blueprint declares."
    )
    site: str = Field(default="local", description="The site the deployment is placed on.")
    drift_mode: Literal["off", "detect", "correct"] | None = Field(
        default=None, description="Scheduled drift checks (see PUT .../drift-policy)."
    )
    drift_interval: str | float | None = Field(
        default=None, description="Between scheduled checks: seconds, or 30s, 5m, 1h, 1d."
    )


class DeploymentOut(BaseModel):
    id: str
    blueprint_id: str
    revision: int = Field(description="The revision in force (see /deployments/{id}/revisions).")
    site: str
    labels: dict[str, list[str]]
    created_at: datetime.datetime
    created_by: str
    workflows: list[str]
    drifted: bool = Field(description="Whether the last check found any instance drifted.")
    drift_checked_at: datetime.datetime | None = Field(
        description="When an instance was last checked for drift (null: never)."
    )
    drift_mode: str = Field(description="off, detect or correct.")
    drift_interval: float | None = Field(description="Seconds between scheduled checks.")
    drift_next_at: datetime.datetime | None = Field(description="The next scheduled check.")


class DeploymentDetail(DeploymentOut):
    inputs: dict[str, Any]
    node_instances: dict[str, int] = Field(description="How many node instances in each state.")


def deployment_out(deployment: runtime.Deployment, summary: drift.Summary) -> DeploymentOut:
    return DeploymentOut(**_deployment_fields(deployment, summary))


def deployment_detail(
    deployment: runtime.Deployment, instances: list[runtime.NodeInstance]
) -> DeploymentDetail:
    states: dict[str, int] = {}
    for instance in instances:
        states[instance.state.value] = states.get(instance.state.value, 0) + 1
    summary = drift.summarize(deployment.id, [(i.id, i.system_properties) for i in instances])
    return DeploymentDetail(
        **_deployment_fields(deployment, summary),
        inputs=dict(deployment.inputs),
        node_instances=states,
    )


def _deployment_fields(deployment: runtime.Deployment, summary: drift.Summary) -> dict[str, Any]:
    policy = drift.policy_of(deployment.drift_policy)
    off = policy.mode is drift.Mode.OFF
    return {
        "drifted": summary.drifted,
        "drift_checked_at": summary.checked_at,
        "drift_mode": policy.mode.value,
        "drift_interval": None if off else policy.interval,
        "drift_next_at": deployment.drift_next_at,
        "id": deployment.id,
        "blueprint_id": deployment.blueprint_id,
        "revision": deployment.revision,
        "site": deployment.site,
        "labels": {k: list(v) for k, v in deployment.labels.items()},
        "created_at": deployment.created_at,
        "created_by": deployment.created_by,
        "workflows": _keys(deployment.plan.get("workflows")),
    }


class InputsOut(BaseModel):
    deployment_id: str
    inputs: dict[str, Any]


class ValueOut(BaseModel):
    value: Any = Field(description="Runtime functions evaluated against the node instances now.")
    description: str | None = None


class ValuesOut(BaseModel):
    deployment_id: str
    values: dict[str, ValueOut]


def values_out(deployment_id: str, found: Mapping[str, deployments.Value]) -> ValuesOut:
    return ValuesOut(
        deployment_id=deployment_id,
        values={k: ValueOut(value=v.value, description=v.description) for k, v in found.items()},
    )


# --- executions -----------------------------------------------------------------------------


class ExecutionStart(Body):
    deployment_id: str
    workflow_id: str = Field(description="install, uninstall, a custom workflow, ...")
    parameters: dict[str, Any] = Field(default_factory=dict)
    queue: bool = Field(
        default=False,
        description="Wait in line behind the deployment's active execution instead of refusing.",
    )


class ExecutionCancel(Body):
    mode: Literal["cancel", "force", "kill"] = Field(
        default="cancel",
        description="cancel: running operations finish; force: they are abandoned; "
        "kill: they are killed.",
    )


class ExecutionOut(BaseModel):
    id: str
    deployment_id: str
    workflow_id: str
    parameters: dict[str, Any]
    status: executions.ExecutionStatus
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    error: str | None
    created_by: str
    ended: bool


def execution_out(execution: executions.Execution) -> ExecutionOut:
    return ExecutionOut(
        id=execution.id,
        deployment_id=execution.deployment_id,
        workflow_id=execution.workflow_id,
        parameters=dict(execution.parameters),
        status=execution.status,
        created_at=execution.created_at,
        started_at=execution.started_at,
        ended_at=execution.ended_at,
        error=execution.error,
        created_by=execution.created_by,
        ended=execution.status in executions.ENDED,
    )


# --- node instances -------------------------------------------------------------------------


class NodeInstanceOut(BaseModel):
    id: str
    deployment_id: str
    node_id: str
    host_id: str | None
    state: runtime.InstanceState
    runtime_properties: dict[str, Any]
    system_properties: dict[str, Any]
    relationships: list[dict[str, Any]]
    scaling_groups: list[dict[str, Any]]
    version: int


def node_instance_out(instance: runtime.NodeInstance) -> NodeInstanceOut:
    return NodeInstanceOut(
        id=instance.id,
        deployment_id=instance.deployment_id,
        node_id=instance.node_id,
        host_id=instance.host_id,
        state=instance.state,
        runtime_properties=dict(instance.runtime_properties),
        system_properties=dict(instance.system_properties),
        relationships=[dict(r) for r in instance.relationships],
        scaling_groups=[dict(g) for g in instance.scaling_groups],
        version=instance.version,
    )


# --- events ---------------------------------------------------------------------------------


class EventOut(BaseModel):
    id: int
    execution_id: str
    deployment_id: str
    timestamp: datetime.datetime
    type: str
    level: str
    message: str
    node_instance_id: str | None
    operation: str | None
    task_id: int | None
    attempt: int | None
    context: dict[str, Any]


def event_out(event: runtime.Event) -> EventOut:
    return EventOut(
        id=event.id or 0,
        execution_id=event.execution_id,
        deployment_id=event.deployment_id,
        timestamp=event.timestamp,
        type=event.type,
        level=event.level,
        message=event.message,
        node_instance_id=event.node_instance_id,
        operation=event.operation,
        task_id=event.task_id,
        attempt=event.attempt,
        context=dict(event.context),
    )


class EventPage(BaseModel):
    events: list[EventOut]
    last_id: int = Field(description="Pass it as after_id to get the next events.")
    execution_status: executions.ExecutionStatus | None = Field(
        default=None,
        description="The execution's status, when events of one execution were asked for.",
    )
    complete: bool = Field(
        description="True when the execution has ended and every one of its events was sent."
    )


# --- secrets --------------------------------------------------------------------------------


class SecretCreate(Body):
    name: str
    value: str = Field(description="Stored encrypted; never shown in listings or events.")


class SecretUpdate(Body):
    value: str


class SecretOut(BaseModel):
    name: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    created_by: str


class SecretValue(SecretOut):
    value: str


def secret_out(secret: runtime.Secret) -> SecretOut:
    return SecretOut(
        name=secret.name,
        created_at=secret.created_at,
        updated_at=secret.updated_at,
        created_by=secret.created_by,
    )


# --- tokens ---------------------------------------------------------------------------------


class TokenCreate(Body):
    role: runtime.Role
    description: str = ""


class TokenOut(BaseModel):
    id: str
    role: runtime.Role
    description: str
    created_at: datetime.datetime
    revoked: bool


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token; shown this once, stored only as a digest.")


def token_out(token: runtime.Token) -> TokenOut:
    return TokenOut(
        id=token.id,
        role=token.role,
        description=token.description,
        created_at=token.created_at,
        revoked=token.revoked,
    )


def token_created(issued: auth.IssuedToken) -> TokenCreated:
    return TokenCreated(**token_out(issued.token).model_dump(), token=issued.value)
