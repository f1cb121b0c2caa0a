"""``/rollouts``: one workflow across a group, in waves, with a per-member ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api import rollout_schemas as schemas
from cairn.api import security
from cairn.services import rollouts

router = APIRouter(prefix="/rollouts", tags=["rollouts"])


@router.post(
    "",
    summary="Start a rollout",
    description="Runs `workflow_id` on every deployment of the group (taken now), in waves: "
    "the first wave is the canary; a wave starts when the one before has ended and soaked; at "
    "most `concurrency` members run at once. At `max_failures` failed members the rollout "
    "pauses, stops, or rolls back what it changed. The rollout runs on the manager: it goes "
    "on without the caller and across restarts. Refused: an unknown group or blueprint (404), "
    "an empty group (409), bad settings (422).",
    status_code=201,
)
def start(
    body: schemas.RolloutRequest, manager: security.Manager, caller: security.Operator
) -> schemas.RolloutOut:
    settings = rollouts.settings_from(
        concurrency=body.concurrency,
        waves=body.waves,
        soak=body.soak,
        max_failures=body.max_failures,
        on_failure=body.on_failure,
        offline=body.offline,
    )
    started = rollouts.start(
        manager,
        workflow_id=body.workflow_id,
        group_id=body.group_id,
        parameters=body.parameters,
        settings=settings,
        user=caller.user,
    )
    return schemas.rollout_out(started)


@router.get("", summary="List rollouts", description="Every rollout, oldest first, with counts.")
def list_rollouts(manager: security.Manager, _caller: security.Viewer) -> list[schemas.RolloutOut]:
    return [schemas.rollout_out(r) for r in rollouts.list_(manager)]


@router.get(
    "/{rollout_id}",
    summary="Get a rollout",
    description="The rollout, its members by wave and status, and its failed members with the "
    "first line of their errors.",
)
def get_rollout(
    rollout_id: str, manager: security.Manager, _caller: security.Viewer
) -> schemas.RolloutDetailOut:
    return _detail(manager, rollout_id)


def _detail(manager: security.Manager, rollout_id: str) -> schemas.RolloutDetailOut:
    rollout = rollouts.get(manager, rollout_id)
    failing = rollouts.members(
        manager, rollout_id, statuses=["failed", "rollback_failed"], limit=50
    )
    return schemas.detail_out(rollout, rollouts.waves(manager, rollout_id), failing)


@router.get(
    "/{rollout_id}/members",
    summary="A rollout's ledger",
    description="Each member: status, execution, attempts, first error line, timestamps; in "
    "wave order. Filter by `status` (repeatable).",
)
def list_members(
    rollout_id: str,
    manager: security.Manager,
    _caller: security.Viewer,
    status: Annotated[
        list[str] | None, Query(description="Only members in these statuses.")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[schemas.MemberOut]:
    found = rollouts.members(manager, rollout_id, statuses=status, limit=limit, offset=offset)
    return [schemas.member_out(m) for m in found]


@router.post(
    "/{rollout_id}/pause",
    summary="Pause a rollout",
    description="No member starts until it is resumed; running members are followed to their "
    "end (409 unless running or converging).",
)
def pause(
    rollout_id: str, manager: security.Manager, _caller: security.Operator
) -> schemas.RolloutDetailOut:
    rollouts.pause(manager, rollout_id)
    return _detail(manager, rollout_id)


@router.post(
    "/{rollout_id}/resume",
    summary="Resume a rollout",
    description="A paused, stopped or failed rollout goes on from where it stands; the failure "
    "threshold counts afresh.",
)
def resume(
    rollout_id: str, manager: security.Manager, _caller: security.Operator
) -> schemas.RolloutDetailOut:
    rollouts.resume(manager, rollout_id)
    return _detail(manager, rollout_id)


@router.post(
    "/{rollout_id}/cancel",
    summary="Cancel a rollout",
    description="No member starts any more; running members' executions are cancelled (409 "
    "once it has ended).",
)
def cancel(
    rollout_id: str, manager: security.Manager, _caller: security.Operator
) -> schemas.RolloutDetailOut:
    rollouts.cancel(manager, rollout_id)
    return _detail(manager, rollout_id)


@router.post(
    "/{rollout_id}/retry-failed",
    summary="Retry the failed members",
    description="Reruns only the failed members, resuming their executions where they have "
    "one, and sets the rollout going again (409 when none failed).",
)
def retry_failed(
    rollout_id: str, manager: security.Manager, _caller: security.Operator
) -> schemas.RolloutDetailOut:
    rollouts.retry_failed(manager, rollout_id)
    return _detail(manager, rollout_id)


@router.post(
    "/{rollout_id}/rollback",
    summary="Roll members back",
    description="Undoes the rollout's change on the members named, now: an update rollout "
    "returns each to the revision it was at before (a failed update is given up and undone). "
    "Every bad name is reported and nothing starts (409).",
    status_code=202,
)
def rollback(
    rollout_id: str,
    body: schemas.RollbackRequest,
    manager: security.Manager,
    caller: security.Operator,
) -> list[schemas.MemberOut]:
    started = rollouts.rollback(manager, rollout_id, deployment_ids=body.members, user=caller.user)
    return [schemas.member_out(m) for m in started]


@router.delete(
    "/{rollout_id}",
    summary="Delete a rollout",
    description="Removes an ended rollout and its ledger (409 while it is live).",
    status_code=204,
)
def delete(rollout_id: str, manager: security.Manager, _caller: security.Operator) -> Response:
    rollouts.delete(manager, rollout_id)
    return Response(status_code=204)
