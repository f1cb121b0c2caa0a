"""Request and response bodies of the drift routes (Pydantic), and their conversions."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cairn.api import schemas
from cairn.services import drift as drift_service


class DriftPolicyIn(schemas.Body):
    mode: Literal["off", "detect", "correct"] = Field(
        description="off: no scheduled checks; detect: check_drift and check_status every "
        "interval; correct: then update drifted instances and heal failed ones."
    )
    interval: str | float | None = Field(
        default=None,
        description="Between scheduled checks: seconds, or 30s, 5m, 1h, 1d (10 s to 366 days; "
        "default 1h).",
    )


class ChecksIn(schemas.Body):
    deployment_ids: list[str] = Field(default=[], description="Deployments to check.")
    group_id: str | None = Field(default=None, description="Check this group's members.")
    all: bool = Field(default=False, description="Check every deployment.")


class RefusedOut(BaseModel):
    deployment_id: str
    error: str


class ChecksOut(BaseModel):
    started: list[schemas.ExecutionOut] = Field(
        description="The check_drift executions, one per deployment (queued behind a "
        "deployment's running execution)."
    )
    refused: list[RefusedOut] = Field(description="Deployments not checked, and why.")


class DeploymentDriftOut(BaseModel):
    deployment_id: str
    site: str
    drifted: bool = Field(description="Whether the last check found any instance drifted.")
    checked_at: datetime.datetime | None = Field(description="The last check (null: never).")
    drifted_instances: list[str]
    status_failed: list[str] = Field(description="Instances whose last status check failed.")
    mode: str = Field(description="The drift policy: off, detect or correct.")
    interval: float | None = Field(description="Seconds between scheduled checks.")
    next_at: datetime.datetime | None = Field(description="The next scheduled check.")


class InstanceDriftOut(BaseModel):
    id: str
    node_id: str
    drifted: bool
    checked_at: str | None
    execution: str | None = Field(description="The execution that last checked it.")
    differences: dict[str, Any] = Field(description="What differs: {name: {expected, actual}}.")
    record: dict[str, Any] | None = Field(description="The whole stored drift record.")
    status: dict[str, Any] | None = Field(description="The last check_status result.")


class DeploymentDriftDetail(DeploymentDriftOut):
    instances: list[InstanceDriftOut]


def deployment_drift_out(found: drift_service.DeploymentDrift) -> DeploymentDriftOut:
    return DeploymentDriftOut(**_fields(found))


def _fields(found: drift_service.DeploymentDrift) -> dict[str, Any]:
    policy, summary = found.policy, found.summary
    return {
        "deployment_id": found.deployment.id,
        "site": found.deployment.site,
        "drifted": summary.drifted,
        "checked_at": summary.checked_at,
        "drifted_instances": list(summary.drifted_instances),
        "status_failed": list(summary.status_failed),
        "mode": policy.mode.value,
        "interval": None if policy.mode.value == "off" else policy.interval,
        "next_at": found.deployment.drift_next_at,
    }


def deployment_drift_detail(
    found: drift_service.DeploymentDrift, instances: list[drift_service.InstanceDrift]
) -> DeploymentDriftDetail:
    return DeploymentDriftDetail(
        **_fields(found),
        instances=[
            InstanceDriftOut(
                id=i.instance_id,
                node_id=i.node_id,
                drifted=i.drifted,
                checked_at=i.checked_at,
                execution=i.execution,
                differences=dict(i.differences),
                record=None if i.record is None else dict(i.record),
                status=None if i.status is None else dict(i.status),
            )
            for i in instances
        ],
    )
