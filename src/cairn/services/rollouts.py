"""Rollouts: start one workflow across a group, follow it, pause, resume, cancel, retry the
failed members, roll members back.

A rollout is stored whole before anything runs (:func:`start`); from then on the runner
(:mod:`cairn.services.rollout_runner`) of any manager process moves it, a tick at a time, from what the database
says: it follows its members' executions, starts the next members of the current wave (at
most ``concurrency`` at once), opens the next wave once the current one is done and has
soaked, and acts on the failure threshold. It keeps nothing in memory that decides anything,
so a rollout goes on when the CLI that started it exits and across manager restarts.

A member's execution id is stored (status ``starting``) before its execution is created,
with that id: after a crash in between, the runner finds the id without an execution and
creates it then, so a member never gets two executions.

Offline sites (``--offline``): ``skip`` records the member ``offline`` and goes on; it is
started when its site is back (and a member whose site goes away while its execution runs
is released from its wave: the execution is durable and finishes when the agent returns).
``wait`` holds the wave until the site is back. ``fail`` fails the member (its execution,
if any, is cancelled), and ``retry-failed`` reruns it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cairn import errors
from cairn.model import executions
from cairn.model import rollouts as model
from cairn.services import executions as execution_service
from cairn.services import ids, updates
from cairn.services.manager import Manager
from cairn.store import interface

MS = model.MemberStatus
RS = model.Status
Change = interface.MemberChange


def start(
    manager: Manager,
    *,
    workflow_id: str,
    group_id: str,
    parameters: Mapping[str, Any] | None = None,
    settings: model.Settings | None = None,
    user: str = "admin",
) -> model.Rollout:
    """Stores a rollout of ``workflow_id`` over the group's deployments (taken now); the
    runner starts the first wave at its next tick."""
    ids.check(workflow_id, what="workflow", field="workflow_id")
    parameters = dict(parameters or {})
    if workflow_id == executions.UPDATE_WORKFLOW:
        _check_update_parameters(manager, parameters)
    else:
        _check_workflow(manager, group_id, workflow_id)
    chosen = settings or model.Settings()
    if chosen.on_failure is model.OnFailure.ROLLBACK and workflow_id not in model.INVERSE:
        raise ids.FieldError(
            f"--on-failure rollback needs a workflow Cairn knows how to undo "
            f"({', '.join(sorted(model.INVERSE))}); {workflow_id!r} is not one: use pause or stop",
            field="on_failure",
        )
    rollout = model.Rollout(
        id=_new_id(manager),
        group_id=group_id,
        workflow_id=workflow_id,
        parameters=parameters,
        settings=chosen,
        status=RS.RUNNING,
        wave=0,
        waves=1,
        created_at=manager.clock.now(),
        created_by=user,
    )
    stored = manager.store.create_rollout(rollout)
    if manager.rollouts is not None:
        manager.rollouts.wake()
    return stored


def _new_id(manager: Manager) -> str:
    return f"{manager.clock.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def _check_update_parameters(manager: Manager, parameters: Mapping[str, Any]) -> None:
    unknown = sorted(set(parameters) - {"blueprint_id", "inputs"})
    if unknown:
        raise ids.FieldError(
            f"the update workflow takes blueprint_id and inputs, not {', '.join(unknown)}",
            field="parameters",
        )
    blueprint_id = parameters.get("blueprint_id")
    if blueprint_id is not None:
        if not isinstance(blueprint_id, str):
            raise ids.FieldError("blueprint_id must be a blueprint's id", field="parameters")
        manager.store.get_blueprint(blueprint_id)  # NotFoundError for an unknown blueprint
    if not isinstance(parameters.get("inputs") or {}, Mapping):
        raise ids.FieldError(
            "inputs must be a mapping of input names to values", field="parameters"
        )


def _check_workflow(manager: Manager, group_id: str, workflow_id: str) -> None:
    """Every member's deployment has the workflow (else a FieldError naming some that lack
    it); an unknown group is left to the store to report."""
    try:
        members = set(manager.store.group_member_ids(group_id))
    except errors.NotFoundError:
        return
    lacking = sorted(
        d.id
        for d in manager.store.list_deployments()
        if d.id in members and workflow_id not in (d.plan.get("workflows") or {})
    )
    if lacking:
        shown = ", ".join(lacking[:5]) + (
            f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        )
        raise ids.FieldError(
            f"workflow {workflow_id!r} is not a workflow of {shown} (cairn deployments get "
            "DEP lists a deployment's workflows)",
            field="workflow_id",
        )


def get(manager: Manager, rollout_id: str) -> model.Rollout:
    return manager.store.get_rollout(rollout_id)


def waves(manager: Manager, rollout_id: str) -> dict[int, dict[str, int]]:
    """Members by wave and status."""
    return manager.store.rollout_wave_counts(rollout_id)


def settings_from(**given: Any) -> model.Settings:
    """Settings from user input; a FieldError naming every problem (the first one's field)."""
    chosen, problems = model.settings_from(**given)
    if chosen is None:
        field = next(iter(problems))
        raise ids.FieldError("; ".join(problems.values()), field=field)
    return chosen


def list_(manager: Manager) -> list[model.Rollout]:
    return manager.store.list_rollouts()


def members(
    manager: Manager,
    rollout_id: str,
    *,
    statuses: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[model.Member]:
    if statuses:
        bad = sorted(set(statuses) - {s.value for s in MS})
        if bad:
            raise ids.FieldError(
                f"unknown member status {', '.join(bad)} (one of {', '.join(s.value for s in MS)})",
                field="status",
            )
    return manager.store.list_rollout_members(
        rollout_id, statuses=statuses or None, limit=limit, offset=offset
    )


def pause(manager: Manager, rollout_id: str) -> model.Rollout:
    """No member starts until :func:`resume`; running ones are followed to their end."""
    _move(
        manager, rollout_id, model.PAUSABLE, "paused", status=RS.PAUSED, reason="paused by a user"
    )
    return get(manager, rollout_id)


def resume(manager: Manager, rollout_id: str) -> model.Rollout:
    """Goes on from where a paused, stopped or failed rollout stands; the failure threshold
    counts again from the failures there are now."""
    rollout = get(manager, rollout_id)
    failed = rollout.counts.get(MS.FAILED.value, 0)
    _move(
        manager,
        rollout_id,
        model.RESUMABLE,
        "resumed",
        status=RS.RUNNING,
        reason=None,
        ended_at=None,
        failure_base=failed,
    )
    return _woken(manager, rollout_id)


def cancel(manager: Manager, rollout_id: str) -> model.Rollout:
    """No member starts any more; running members' executions are cancelled."""
    rollout = get(manager, rollout_id)
    if rollout.status in model.ENDED or rollout.status is RS.CANCELLING:
        raise errors.ConflictError(f"rollout {rollout_id} has ended ({rollout.status})")
    _move(
        manager,
        rollout_id,
        model.LIVE,
        "cancelled",
        status=RS.CANCELLING,
        reason="cancelled by a user",
    )
    return _woken(manager, rollout_id)


def retry_failed(manager: Manager, rollout_id: str) -> model.Rollout:
    """Reruns only the failed members (resuming their executions where they have one) and
    sets the rollout going again."""
    store = manager.store
    rollout = get(manager, rollout_id)
    if rollout.status in {RS.CANCELLING, RS.CANCELLED, RS.ROLLING_BACK, RS.ROLLED_BACK}:
        raise errors.ConflictError(
            f"rollout {rollout_id} is {rollout.status}: only a running, paused, stopped or "
            "failed rollout can retry its failed members"
        )
    failed = store.list_rollout_members(rollout_id, statuses=[MS.FAILED.value])
    if not failed:
        raise errors.ConflictError(f"rollout {rollout_id} has no failed member to retry")
    changes = [
        Change(
            deployment_id=m.deployment_id,
            expected=[MS.FAILED],
            values={"status": MS.RETRYING if m.execution_id else MS.PENDING, "ended_at": None},
        )
        for m in failed
    ]
    if not store.update_rollout(
        rollout_id,
        version=rollout.version,
        members=changes,
        now=manager.clock.now(),
        status=RS.RUNNING,
        reason=None,
        ended_at=None,
        failure_base=0,
    ):
        raise errors.ConflictError(f"rollout {rollout_id} changed meanwhile; try again")
    return _woken(manager, rollout_id)


def rollback(
    manager: Manager, rollout_id: str, *, deployment_ids: Sequence[str], user: str = "admin"
) -> list[model.Member]:
    """Undoes the rollout's change on the members named (an update: back to the revision
    each was at before it), now; every bad name is reported and nothing starts."""
    rollout = get(manager, rollout_id)
    if rollout.workflow_id not in model.INVERSE:
        raise errors.ConflictError(
            f"rollout {rollout_id} ran {rollout.workflow_id!r}, which Cairn does not know how "
            f"to undo (it can undo {', '.join(sorted(model.INVERSE))})"
        )
    if not deployment_ids:
        raise ids.FieldError("name at least one member to roll back", field="members")
    found = {
        m.deployment_id: m
        for m in manager.store.list_rollout_members(rollout_id, deployment_ids=deployment_ids)
    }
    problems = []
    for name in deployment_ids:
        member = found.get(name)
        if member is None:
            problems.append(f"{name}: not a member of rollout {rollout_id}")
        elif not undoable(member):
            problems.append(
                f"{name}: it is {member.status}"
                + ("" if member.execution_id else " and never ran")
                + " (a member that succeeded or failed can be rolled back)"
            )
    busy = manager.store.busy_deployments(list(found))
    problems.extend(f"{name}: another execution of it is active or queued" for name in sorted(busy))
    if problems:
        raise errors.ConflictError("cannot roll back: " + "; ".join(problems))
    started = []
    for name in dict.fromkeys(deployment_ids):
        started.append(start_rollback(manager, rollout, found[name], user=user))
    if manager.rollouts is not None:
        manager.rollouts.wake()
    return started


def delete(manager: Manager, rollout_id: str) -> None:
    manager.store.delete_rollout(rollout_id)


def _move(
    manager: Manager,
    rollout_id: str,
    allowed: frozenset[RS],
    verb: str,
    **values: Any,
) -> None:
    rollout = get(manager, rollout_id)
    if rollout.status not in allowed or not manager.store.update_rollout(
        rollout_id, expected=allowed, **values
    ):
        raise errors.ConflictError(
            f"rollout {rollout_id} is {get(manager, rollout_id).status}: it cannot be {verb}"
        )


def _woken(manager: Manager, rollout_id: str) -> model.Rollout:
    if manager.rollouts is not None:
        manager.rollouts.wake()
    return get(manager, rollout_id)


def undoable(member: model.Member) -> bool:
    return member.execution_id is not None and member.status in {
        MS.SUCCEEDED,
        MS.FAILED,
        MS.ROLLBACK_FAILED,
    }


def start_rollback(
    manager: Manager, rollout: model.Rollout, member: model.Member, *, user: str
) -> model.Member:
    """Starts the execution that undoes ``member``'s change and records it (or the error)."""
    now = manager.clock.now()
    execution_id = str(uuid.uuid4())
    values: dict[str, Any]
    try:
        _undo(manager, rollout, member, execution_id=execution_id, user=user)
        values = {
            "status": MS.ROLLING_BACK,
            "rollback_execution_id": execution_id,
            "ended_at": None,
        }
    except errors.CairnError as exc:
        values = {
            "status": MS.ROLLBACK_FAILED,
            "error": model.first_line(str(exc)),
            "ended_at": now,
        }
    manager.store.set_rollout_members(
        rollout.id,
        [Change(deployment_id=member.deployment_id, expected=[member.status], values=values)],
        now=now,
    )
    return manager.store.list_rollout_members(rollout.id, deployment_ids=[member.deployment_id])[0]


def _undo(
    manager: Manager,
    rollout: model.Rollout,
    member: model.Member,
    *,
    execution_id: str,
    user: str,
) -> None:
    inverse = model.INVERSE[rollout.workflow_id]
    if inverse != executions.UPDATE_WORKFLOW:
        execution_service.start(
            manager,
            deployment_id=member.deployment_id,
            workflow_id=inverse,
            user=user,
            execution_id=execution_id,
        )
        return
    deployment = manager.store.get_deployment(member.deployment_id)
    if member.to_revision is not None and deployment.revision == member.to_revision:
        updates.revert(
            manager,
            deployment_id=member.deployment_id,
            to=member.from_revision,
            user=user,
            execution_id=execution_id,
        )
    elif member.from_revision is not None and deployment.revision == member.from_revision:
        updates.abandon(
            manager, deployment_id=member.deployment_id, user=user, execution_id=execution_id
        )
    else:
        raise errors.ConflictError(
            f"deployment {member.deployment_id} is at revision {deployment.revision}, neither "
            f"the rollout's ({member.to_revision}) nor the one before it ({member.from_revision})"
        )
