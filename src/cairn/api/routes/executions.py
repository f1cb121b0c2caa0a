"""``/executions``: start a workflow, list, get, resume, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cairn.api import schemas, security
from cairn.services import executions

router = APIRouter(prefix="/executions", tags=["executions"])


@router.post(
    "",
    status_code=201,
    summary="Start a workflow",
    description="Plans the workflow's whole task graph, stores it and starts it. A deployment "
    "runs one execution at a time: with `queue` the new one waits in line (FIFO), else it is "
    "refused (409) naming the active one.",
)
def start_execution(
    body: schemas.ExecutionStart, manager: security.Manager, caller: security.Operator
) -> schemas.ExecutionOut:
    started = executions.start(
        manager,
        deployment_id=body.deployment_id,
        workflow_id=body.workflow_id,
        parameters=body.parameters,
        queue=body.queue,
        user=caller.user,
    )
    return schemas.execution_out(started)


@router.get(
    "",
    summary="List executions",
    description="Executions, oldest first; `deployment_id` keeps those of one deployment.",
)
def list_executions(
    manager: security.Manager,
    _caller: security.Viewer,
    deployment_id: Annotated[str | None, Query(description="Only this deployment's.")] = None,
) -> list[schemas.ExecutionOut]:
    found = executions.list_(manager, deployment_id=deployment_id)
    return [schemas.execution_out(e) for e in found]


@router.get(
    "/{execution_id}",
    summary="Get an execution",
    description="One execution: workflow, parameters, status, times and error.",
)
def get_execution(
    execution_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.ExecutionOut:
    return schemas.execution_out(executions.get(manager, execution_id))


@router.post(
    "/{execution_id}/resume",
    summary="Resume an execution",
    description="Reruns only the failed and never-started tasks of a failed or cancelled "
    "execution; tasks that succeeded are not run again.",
)
def resume_execution(
    execution_id: str, manager: security.Manager, _caller: security.Operator
) -> schemas.ExecutionOut:
    return schemas.execution_out(executions.resume(manager, execution_id))


@router.post(
    "/{execution_id}/cancel",
    summary="Cancel an execution",
    description="`cancel` starts no new operation and lets running ones finish; `force` "
    "abandons running operations; `kill` kills them. A queued execution is cancelled at once.",
)
def cancel_execution(
    execution_id: str,
    manager: security.Manager,
    _caller: security.Operator,
    body: schemas.ExecutionCancel | None = None,
) -> schemas.ExecutionOut:
    mode = body.mode if body is not None else "cancel"
    return schemas.execution_out(executions.cancel(manager, execution_id, mode=mode))
