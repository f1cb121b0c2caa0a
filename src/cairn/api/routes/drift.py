"""``/drift`` and ``/deployments/{id}/drift``: what the last drift checks found, and each
deployment's drift policy."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api import drift_schemas, schemas, security
from cairn.services import drift, executions

router = APIRouter(tags=["drift"])


@router.get(
    "/drift",
    summary="List deployments' drift",
    description="Every deployment, drifted or not, with its last check and drift policy.",
)
def list_drift(
    manager: security.Manager, _caller: security.Viewer
) -> list[drift_schemas.DeploymentDriftOut]:
    return [drift_schemas.deployment_drift_out(d) for d in drift.summaries(manager)]


@router.post(
    "/drift/checks",
    summary="Check drift now, across many deployments",
    description="Starts check_drift on the deployments named, a group's members, or all "
    "(`all: true`), stored together: a sweep. A busy deployment's check waits for its "
    "running execution. Follow them under /executions, or read GET /drift once they ended.",
    status_code=201,
)
def check_drift(
    body: drift_schemas.ChecksIn, manager: security.Manager, caller: security.Operator
) -> drift_schemas.ChecksOut:
    done = drift.check_now(
        manager,
        deployment_ids=body.deployment_ids,
        group_id=body.group_id,
        every=body.all,
        user=caller.user,
    )
    return drift_schemas.ChecksOut(
        started=[schemas.execution_out(e) for e in done.started],
        refused=[drift_schemas.RefusedOut(deployment_id=d, error=e) for d, e in done.refused],
    )


@router.get(
    "/deployments/{deployment_id}/drift",
    summary="Get a deployment's drift",
    description="Per node instance: drifted or not, what differs, the last status check.",
)
def get_drift(
    deployment_id: str, manager: security.Manager, _caller: security.Viewer
) -> drift_schemas.DeploymentDriftDetail:
    found, instances = drift.show(manager, deployment_id)
    return drift_schemas.deployment_drift_detail(found, instances)


@router.put(
    "/deployments/{deployment_id}/drift-policy",
    summary="Set a deployment's drift policy",
    description="off, detect or correct, with the interval between scheduled checks; the "
    "first check is one interval from now. A bad mode or interval is a 422 naming the field, "
    "and nothing changes.",
)
def set_drift_policy(
    deployment_id: str,
    body: drift_schemas.DriftPolicyIn,
    manager: security.Manager,
    _caller: security.Operator,
) -> schemas.DeploymentDetail:
    policy = drift.policy_from(body.mode, body.interval)
    stored = drift.set_policy(manager, deployment_id, policy)
    return schemas.deployment_detail(stored, executions.node_instances(manager, deployment_id))
