"""``/deployments``: create from a blueprint and inputs, list, get, move to another site,
delete; inputs, outputs and capabilities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api import group_schemas, schemas, security, site_schemas
from cairn.services import deployments, executions, filters, sites
from cairn.services import drift as drift_service

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.get(
    "",
    summary="List deployments",
    description="Every deployment, oldest first; `blueprint_id` keeps those of one blueprint, "
    "`filter` (repeatable, string form: `env=prod`, `id starts-with web-`, ...) and "
    "`filter_id` (a saved filter) those every rule matches. A bad rule is a 422 naming it.",
)
def list_deployments(
    manager: security.Manager,
    _caller: security.Viewer,
    blueprint_id: Annotated[str | None, Query(description="Only this blueprint's.")] = None,
    filter: Annotated[
        list[str] | None, Query(description="A filter rule; repeatable, all must hold.")
    ] = None,
    filter_id: Annotated[str | None, Query(description="A saved filter's name.")] = None,
) -> list[schemas.DeploymentOut]:
    rules = filters.resolve(manager, rules=filter or (), filter_id=filter_id)
    found = filters.select_deployments(
        manager, rules, deployments.list_(manager, blueprint_id=blueprint_id)
    )
    drifts = {d.deployment.id: d.summary for d in drift_service.summaries(manager)}
    return [schemas.deployment_out(d, drifts[d.id]) for d in found if d.id in drifts]


@router.get(
    "/{deployment_id}",
    summary="Get a deployment",
    description="One deployment with its inputs and how many node instances are in each state.",
)
def get_deployment(
    deployment_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.DeploymentDetail:
    found = deployments.get(manager, deployment_id)
    return schemas.deployment_detail(found, executions.node_instances(manager, deployment_id))


@router.put(
    "/{deployment_id}",
    status_code=201,
    summary="Create a deployment",
    description="Creates a deployment of a stored blueprint: the inputs are checked (every "
    "problem listed, 422), the secrets the blueprint reads must exist, and node instances are "
    "created, uninitialized. Run the install workflow to create the environment. "
    "`drift_mode`/`drift_interval` set its drift policy (a bad one is a 422 naming the field, "
    "and nothing is created).",
)
def create_deployment(
    deployment_id: str,
    body: schemas.DeploymentCreate,
    manager: security.Manager,
    caller: security.Operator,
) -> schemas.DeploymentDetail:
    policy = None
    if body.drift_mode is not None or body.drift_interval is not None:
        policy = drift_service.policy_from(body.drift_mode or "detect", body.drift_interval)
    created = deployments.create(
        manager,
        deployment_id=deployment_id,
        blueprint_id=body.blueprint_id,
        inputs=body.inputs,
        labels=body.labels,
        site=body.site,
        user=caller.user,
    )
    if policy is not None:
        created = drift_service.set_policy(manager, deployment_id, policy)
    return schemas.deployment_detail(created, executions.node_instances(manager, deployment_id))


@router.patch(
    "/{deployment_id}",
    summary="Change a deployment's labels",
    description="Labels: `replace_labels` drops them all first, then `remove_labels` "
    "(KEY or KEY=VALUE) are removed and `labels` added; keys are lower-cased. Removing a "
    "label the deployment does not have is a 422.",
)
def update_deployment(
    deployment_id: str,
    body: group_schemas.DeploymentUpdate,
    manager: security.Manager,
    _caller: security.Operator,
) -> schemas.DeploymentDetail:
    updated = deployments.update_labels(
        manager,
        deployment_id,
        labels=body.labels,
        remove_labels=body.remove_labels,
        replace_labels=body.replace_labels,
    )
    return schemas.deployment_detail(updated, executions.node_instances(manager, deployment_id))


@router.put(
    "/{deployment_id}/site",
    summary="Move a deployment to another site",
    description="Places the deployment on another site: its next executions run there. "
    "Refused (409) while an execution of it is active or queued; an unknown site is a 422 "
    "naming the field `site`.",
)
def set_site(
    deployment_id: str,
    body: site_schemas.DeploymentSite,
    manager: security.Manager,
    _caller: security.Operator,
) -> schemas.DeploymentDetail:
    moved = sites.set_site(manager, deployment_id, body.site)
    return schemas.deployment_detail(moved, executions.node_instances(manager, deployment_id))


@router.delete(
    "/{deployment_id}",
    status_code=204,
    summary="Delete a deployment",
    description="Deletes a deployment with its node instances, executions and events. Refused "
    "(409) while an execution is active or queued, and while node instances are installed "
    "unless `force` is true.",
)
def delete_deployment(
    deployment_id: str,
    manager: security.Manager,
    _caller: security.Operator,
    force: Annotated[bool, Query(description="Delete even with installed instances.")] = False,
) -> Response:
    deployments.delete(manager, deployment_id, force=force)
    return Response(status_code=204)


@router.get(
    "/{deployment_id}/inputs",
    summary="Get a deployment's inputs",
    description="The inputs the deployment was created with, defaults filled in.",
)
def get_inputs(
    deployment_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.InputsOut:
    return schemas.InputsOut(
        deployment_id=deployment_id, inputs=deployments.inputs(manager, deployment_id)
    )


@router.get(
    "/{deployment_id}/outputs",
    summary="Get a deployment's outputs",
    description="The blueprint's outputs, runtime functions (get_attribute, get_secret, "
    "concat, ...) evaluated against the node instances now. A viewer sees get_secret values "
    "hidden.",
)
def get_outputs(
    deployment_id: str, manager: security.Manager, caller: security.Viewer
) -> schemas.ValuesOut:
    found = deployments.outputs(manager, deployment_id, caller=caller)
    return schemas.values_out(deployment_id, found)


@router.get(
    "/{deployment_id}/capabilities",
    summary="Get a deployment's capabilities",
    description="The blueprint's capabilities, evaluated like outputs.",
)
def get_capabilities(
    deployment_id: str, manager: security.Manager, caller: security.Viewer
) -> schemas.ValuesOut:
    found = deployments.capabilities(manager, deployment_id, caller=caller)
    return schemas.values_out(deployment_id, found)
