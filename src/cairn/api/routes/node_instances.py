"""``/node-instances``: a deployment's node instances with their state and properties."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cairn.api import schemas, security
from cairn.services import executions

router = APIRouter(prefix="/node-instances", tags=["node instances"])


@router.get(
    "",
    summary="List node instances",
    description="A deployment's node instances: lifecycle state and runtime properties.",
)
def list_node_instances(
    manager: security.Manager,
    _caller: security.Viewer,
    deployment_id: Annotated[str, Query(description="The deployment.")],
) -> list[schemas.NodeInstanceOut]:
    found = executions.node_instances(manager, deployment_id)
    return [schemas.node_instance_out(i) for i in sorted(found, key=lambda i: i.id)]


@router.get(
    "/{instance_id}",
    summary="Get a node instance",
    description="One node instance with its runtime properties and relationships.",
)
def get_node_instance(
    instance_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.NodeInstanceOut:
    return schemas.node_instance_out(executions.node_instance(manager, instance_id))
