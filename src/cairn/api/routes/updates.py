"""``/deployments/{id}/updates``, ``/revert`` and ``/revisions``: move a deployment to a new
revision, back to an earlier one, and read its history."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.api import security
from cairn.api import update_schemas as schemas
from cairn.services import deployments, updates

router = APIRouter(prefix="/deployments", tags=["updates"])


@router.post(
    "/{deployment_id}/updates",
    summary="Update a deployment",
    description="Moves the deployment to a new revision (a blueprint and inputs): the delta "
    "with the revision in force is computed and the `update` workflow runs only what changed "
    "(202, with the execution). With `preview`, nothing runs (200). Refused: an unknown "
    "blueprint (404), bad inputs (422, every problem), another execution active or queued, "
    "or an unfinished update (409).",
    status_code=202,
    responses={200: {"description": "A preview: the delta and the steps."}},
)
def update(
    deployment_id: str,
    body: schemas.UpdateRequest,
    manager: security.Manager,
    caller: security.Operator,
    response: Response,
) -> schemas.UpdateOut:
    if body.preview:
        response.status_code = 200
        shown = updates.preview(
            manager, deployment_id=deployment_id, blueprint_id=body.blueprint_id, inputs=body.inputs
        )
        return schemas.update_out(shown)
    started = updates.update(
        manager,
        deployment_id=deployment_id,
        blueprint_id=body.blueprint_id,
        inputs=body.inputs,
        user=caller.user,
    )
    return schemas.update_out(started.preview, started)


@router.post(
    "/{deployment_id}/revert",
    summary="Revert a deployment to an earlier revision",
    description="An update to the blueprint and inputs of revision `to` (default: the applied "
    "revision before the one in force). A missing revision is a 404; the revision in force, "
    "or none before it, a 409.",
    status_code=202,
    responses={200: {"description": "A preview: the delta and the steps."}},
)
def revert(
    deployment_id: str,
    body: schemas.RevertRequest,
    manager: security.Manager,
    caller: security.Operator,
    response: Response,
) -> schemas.UpdateOut:
    if body.preview:
        response.status_code = 200
        shown = updates.preview_revert(manager, deployment_id=deployment_id, to=body.to)
        return schemas.update_out(shown)
    started = updates.revert(manager, deployment_id=deployment_id, to=body.to, user=caller.user)
    return schemas.update_out(started.preview, started)


@router.get(
    "/{deployment_id}/revisions",
    summary="A deployment's revisions",
    description="Every revision, oldest first: blueprint, inputs, when, by whom, and how "
    "applying it went.",
)
def list_revisions(
    deployment_id: str, manager: security.Manager, _caller: security.Viewer
) -> list[schemas.RevisionOut]:
    current = deployments.get(manager, deployment_id).revision
    return [
        schemas.revision_out(r, current=current) for r in updates.history(manager, deployment_id)
    ]


@router.get(
    "/{deployment_id}/revisions/{revision}",
    summary="One revision of a deployment",
    description="One revision with the delta from the one before.",
)
def get_revision(
    deployment_id: str, revision: int, manager: security.Manager, _caller: security.Viewer
) -> schemas.RevisionOut:
    current = deployments.get(manager, deployment_id).revision
    return schemas.revision_out(
        manager.store.get_revision(deployment_id, revision), current=current
    )
