"""Deployment updates: preview, update, revision history, revert.

An update moves a deployment to a new *revision*: a blueprint (the same or another) and
inputs. The new deployment plan is prepared as for a new deployment (every problem with the
inputs at once), compared with the plan in force (:mod:`cairn.planner.delta`), and the
``update`` workflow runs only what changed (:mod:`cairn.planner.updating`). Starting it
stores revision N+1 as ``pending`` together with the execution, in one transaction; the
execution's last task moves the deployment to it (``applied``); a failed or cancelled update
leaves it ``failed`` until ``cairn executions resume`` finishes it.

A revert is an update to the blueprint and inputs of an earlier revision. A failed update
can be given up (:func:`abandon`): it is marked ``abandoned`` and an update back to the
revision in force undoes what it did so far (planned from the failed revision's plan, with
the instances it left half done reinstalled); a rollout's rollback uses it.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cairn import errors
from cairn.model import deployment as deployment_model
from cairn.model import executions, runtime
from cairn.model import plan as plan_model
from cairn.planner import updating
from cairn.services import blueprints, deployments
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
# Parsed blueprints, by main file and upload time: a rollout updates many deployments to one
# blueprint, and parsing it is most of the cost of planning each update. A blueprint's files
# never change under its id (a new upload is a new id, or a new upload time).
_PARSED: dict[tuple[str, str], Any] = {}
_PARSED_LOCK = threading.Lock()
_PARSED_KEPT = 16


@dataclass(frozen=True, kw_only=True)
class Preview:
    """An update as planned: from which revision to which, and the delta and the steps."""

    deployment_id: str
    from_revision: int
    to_revision: int
    blueprint_id: str
    inputs: Mapping[str, Any]
    plan: updating.UpdatePlan
    new_plan: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "from_revision": self.from_revision,
            "to_revision": self.to_revision,
            "blueprint_id": self.blueprint_id,
            "inputs": dict(self.inputs),
            **self.plan.summary(),
        }


@dataclass(frozen=True, kw_only=True)
class Started:
    preview: Preview
    execution: executions.Execution


def preview(
    manager: Manager,
    *,
    deployment_id: str,
    blueprint_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
) -> Preview:
    """The update to ``blueprint_id`` (default: the deployment's) with the deployment's
    inputs overridden by ``inputs``; nothing is stored."""
    deployment = manager.store.get_deployment(deployment_id)
    chosen = blueprint_id or deployment.blueprint_id
    merged = {**_kept_inputs(manager, chosen, deployment), **dict(inputs or {})}
    return _preview(manager, deployment, chosen, merged)


def update(
    manager: Manager,
    *,
    deployment_id: str,
    blueprint_id: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    user: str = "admin",
    execution_id: str | None = None,
) -> Started:
    """Plans the update and starts it (see :func:`preview`); ConflictError while another
    execution of the deployment is active or queued. ``execution_id``: the id to give the
    execution (a caller that recorded it first can tell later whether it was stored)."""
    planned = preview(
        manager, deployment_id=deployment_id, blueprint_id=blueprint_id, inputs=inputs
    )
    return _start(manager, planned, user=user, execution_id=execution_id)


def start(
    manager: Manager, planned: Preview, *, user: str = "admin", execution_id: str | None = None
) -> Started:
    """Starts an update planned with :func:`preview` (ConflictError if the deployment moved
    meanwhile: preview again)."""
    return _start(manager, planned, user=user, execution_id=execution_id)


def revert(
    manager: Manager,
    *,
    deployment_id: str,
    to: int | None = None,
    user: str = "admin",
    execution_id: str | None = None,
) -> Started:
    """An update back to revision ``to`` (default: the applied revision before the one in
    force), with that revision's blueprint and inputs."""
    target = revert_target(manager, deployment_id=deployment_id, to=to)
    deployment = manager.store.get_deployment(deployment_id)
    planned = _preview(manager, deployment, target.blueprint_id, dict(target.inputs))
    return _start(manager, planned, user=user, execution_id=execution_id)


def abandon(
    manager: Manager, *, deployment_id: str, user: str = "admin", execution_id: str | None = None
) -> Started:
    """Gives up the deployment's failed update and starts the update that undoes it, back to
    the revision in force (ConflictError when there is no failed update)."""
    store = manager.store
    deployment = store.get_deployment(deployment_id)
    later = [
        r
        for r in store.list_revisions(deployment_id)
        if r.revision > deployment.revision and r.status != "abandoned"
    ]
    if not later or later[-1].status != "failed":
        state = (
            f"its update to revision {later[-1].revision} is {later[-1].status}"
            if later
            else ("it has no unfinished update")
        )
        raise errors.ConflictError(
            f"deployment '{deployment_id}' has no failed update to give up: {state}"
        )
    failed = later[-1]
    in_force = store.get_revision(deployment_id, deployment.revision)
    new_plan, resolved = _prepare(manager, in_force.blueprint_id, in_force.inputs)
    instances = store.list_instances(deployment_id)
    number = failed.revision + 1
    planned = updating.plan_update(
        current=_with_nodes_of(failed.plan, deployment.plan),
        new=new_plan,
        instances=instances,
        deployment_id=deployment_id,
        old_revision=failed.revision,
        new_revision=number,
        unfinished=_half_done(instances, failed.plan),
    )
    preview = Preview(
        deployment_id=deployment_id,
        from_revision=failed.revision,
        to_revision=number,
        blueprint_id=in_force.blueprint_id,
        inputs=resolved,
        plan=planned,
        new_plan=new_plan,
    )
    return _start(manager, preview, user=user, execution_id=execution_id, abandon=failed.revision)


def _with_nodes_of(plan: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """``plan`` with the nodes only ``other`` has (those a failed update was removing)."""
    names = {n.get("id") for n in plan.get("nodes") or ()}
    extra = [n for n in other.get("nodes") or () if n.get("id") not in names]
    return {**plan, "nodes": [*(plan.get("nodes") or ()), *extra]}


def _half_done(
    instances: Sequence[runtime.NodeInstance], failed_plan: Mapping[str, Any]
) -> list[str]:
    """Instances a failed update left in another state than started (reinstalled by the
    update that undoes it), of the nodes its plan knows."""
    known = {n.get("id") for n in failed_plan.get("nodes") or ()}
    return [
        i.id
        for i in instances
        if i.node_id in known and i.state is not runtime.InstanceState.STARTED
    ]


def preview_revert(manager: Manager, *, deployment_id: str, to: int | None = None) -> Preview:
    target = revert_target(manager, deployment_id=deployment_id, to=to)
    deployment = manager.store.get_deployment(deployment_id)
    return _preview(manager, deployment, target.blueprint_id, dict(target.inputs))


def revert_target(manager: Manager, *, deployment_id: str, to: int | None) -> runtime.Revision:
    deployment = manager.store.get_deployment(deployment_id)
    if to is None:
        earlier = [
            r
            for r in manager.store.list_revisions(deployment_id)
            if r.revision < deployment.revision and r.status == "applied"
        ]
        if not earlier:
            raise errors.ConflictError(
                f"deployment '{deployment_id}' has no applied revision before revision "
                f"{deployment.revision} to revert to"
            )
        return earlier[-1]
    if to == deployment.revision:
        raise errors.ConflictError(
            f"revision {to} is the one deployment '{deployment_id}' is at already"
        )
    return manager.store.get_revision(deployment_id, to)


def history(manager: Manager, deployment_id: str) -> list[runtime.Revision]:
    return manager.store.list_revisions(deployment_id)


def revision(manager: Manager, deployment_id: str, number: int) -> runtime.Revision:
    return manager.store.get_revision(deployment_id, number)


def _preview(
    manager: Manager,
    deployment: runtime.Deployment,
    blueprint_id: str,
    inputs: Mapping[str, Any],
) -> Preview:
    revisions = manager.store.list_revisions(deployment.id)
    _refuse_unfinished(deployment, revisions)
    new_plan, resolved = _prepare(manager, blueprint_id, inputs)
    latest = max(r.revision for r in revisions)
    number = max(latest, deployment.revision) + 1
    planned = updating.plan_update(
        current=deployment.plan,
        new=new_plan,
        instances=manager.store.list_instances(deployment.id),
        deployment_id=deployment.id,
        old_revision=deployment.revision,
        new_revision=number,
    )
    return Preview(
        deployment_id=deployment.id,
        from_revision=deployment.revision,
        to_revision=number,
        blueprint_id=blueprint_id,
        inputs=resolved,
        plan=planned,
        new_plan=new_plan,
    )


def _prepare(
    manager: Manager, blueprint_id: str, inputs: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The new deployment plan and its resolved inputs (InputError listing every problem)."""
    from cairn.dsl import deployment as dsl_deployment

    prepared = dsl_deployment.prepare(_parsed(manager, blueprint_id), dict(inputs))
    deployments.check_secrets(manager, prepared.secrets)
    return deployment_model.to_json(prepared), dict(prepared.inputs)


def _kept_inputs(
    manager: Manager, blueprint_id: str, deployment: runtime.Deployment
) -> dict[str, Any]:
    """The deployment's inputs that the new blueprint still declares (new ones take their
    defaults unless given)."""
    declared = _parsed(manager, blueprint_id).inputs
    return {k: v for k, v in deployment.inputs.items() if k in declared}


def _parsed(manager: Manager, blueprint_id: str) -> plan_model.Plan:
    """The blueprint's plan, parsed from its files once (see ``_PARSED``): not read from its
    stored plan, which would be decoded again for every deployment updated."""
    from cairn.dsl import parser

    blueprint = manager.store.get_blueprint(blueprint_id)
    path = blueprints.main_path(manager, blueprint)
    key = (str(path), blueprint.created_at.isoformat())
    with _PARSED_LOCK:
        parsed = _PARSED.get(key)
    if parsed is None:
        parsed = parser.parse_path(str(path), options=blueprints.parse_options())
        with _PARSED_LOCK:
            _PARSED[key] = parsed
            while len(_PARSED) > _PARSED_KEPT:
                del _PARSED[next(iter(_PARSED))]
    return parsed


def _refuse_unfinished(
    deployment: runtime.Deployment, revisions: Sequence[runtime.Revision]
) -> None:
    for revision in revisions:
        if revision.revision > deployment.revision and revision.status != "abandoned":
            execution = revision.execution_id or "?"
            if revision.status == "pending":
                then = f"execution {execution} is applying it; wait for it to end"
            else:
                then = f"resume execution {execution} (cairn executions resume) first"
            raise errors.ConflictError(
                f"deployment '{deployment.id}' has an unfinished update to revision "
                f"{revision.revision} ({revision.status}): {then}"
            )


def _start(
    manager: Manager,
    planned: Preview,
    *,
    user: str,
    execution_id: str | None = None,
    abandon: int | None = None,
) -> Started:
    store = manager.store
    now = manager.clock.now()
    execution = executions.Execution(
        id=execution_id or str(uuid.uuid4()),
        deployment_id=planned.deployment_id,
        workflow_id=executions.UPDATE_WORKFLOW,
        parameters={
            "blueprint_id": planned.blueprint_id,
            "inputs": dict(planned.inputs),
            "revision": planned.to_revision,
        },
        status=ES.PENDING,
        created_at=now,
        created_by=user,
    )
    summary = planned.to_json()
    summary.pop("steps", None)
    revision = runtime.Revision(
        deployment_id=planned.deployment_id,
        revision=planned.to_revision,
        blueprint_id=planned.blueprint_id,
        inputs=dict(planned.inputs),
        plan=planned.new_plan,
        created_at=now,
        created_by=user,
        status="pending",
        execution_id=execution.id,
        summary=summary,
    )
    specs = [_flagged(spec, planned.plan.ignore_failure_keys) for spec in planned.plan.tasks]
    stored = store.begin_update(
        revision,
        execution=execution,
        specs=specs,
        added=planned.plan.added,
        relationships={k: list(v) for k, v in planned.plan.extended.items()},
        abandon=abandon,
    )
    manager.wake()
    return Started(preview=planned, execution=stored)


def _flagged(spec: executions.TaskSpec, ignored: frozenset[str]) -> executions.TaskSpec:
    return dataclasses.replace(spec, ignore_failure=spec.key in ignored)
