"""Deployment updates: preview, update, revision history, revert.

An update moves a deployment to a new *revision*: a blueprint (the same or another) and
inputs. The new deployment plan is prepared as for a new deployment (every problem with the
inputs at once), compared with the plan in force (:mod:`cairn.planner.delta`), and the
``update`` workflow runs only what changed (:mod:`cairn.planner.updating`). Starting it
stores revision N+1 as ``pending`` together with the execution, in one transaction; the
execution's last task moves the deployment to it (``applied``); a failed or cancelled update
leaves it ``failed`` until ``cairn executions resume`` finishes it.

A revert is an update to the blueprint and inputs of an earlier revision.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn import errors
from cairn.model import deployment as deployment_model
from cairn.model import executions, runtime
from cairn.planner import updating
from cairn.services import blueprints, deployments
from cairn.services.manager import Manager

ES = executions.ExecutionStatus


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
    _refuse_unfinished(manager, deployment)
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
) -> Started:
    """Plans the update and starts it (see :func:`preview`); ConflictError while another
    execution of the deployment is active or queued."""
    planned = preview(
        manager, deployment_id=deployment_id, blueprint_id=blueprint_id, inputs=inputs
    )
    return _start(manager, planned, user=user)


def revert(
    manager: Manager, *, deployment_id: str, to: int | None = None, user: str = "admin"
) -> Started:
    """An update back to revision ``to`` (default: the applied revision before the one in
    force), with that revision's blueprint and inputs."""
    target = revert_target(manager, deployment_id=deployment_id, to=to)
    deployment = manager.store.get_deployment(deployment_id)
    _refuse_unfinished(manager, deployment)
    planned = _preview(manager, deployment, target.blueprint_id, dict(target.inputs))
    return _start(manager, planned, user=user)


def preview_revert(manager: Manager, *, deployment_id: str, to: int | None = None) -> Preview:
    target = revert_target(manager, deployment_id=deployment_id, to=to)
    deployment = manager.store.get_deployment(deployment_id)
    _refuse_unfinished(manager, deployment)
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
    new_plan, resolved = _prepare(manager, blueprint_id, inputs)
    latest = max(r.revision for r in manager.store.list_revisions(deployment.id))
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
    from cairn.dsl import parser

    blueprint = manager.store.get_blueprint(blueprint_id)
    parsed = parser.parse_path(
        str(blueprints.main_path(manager, blueprint)), options=blueprints.parse_options()
    )
    prepared = dsl_deployment.prepare(parsed, dict(inputs))
    deployments.check_secrets(manager, prepared.secrets)
    return deployment_model.to_json(prepared), dict(prepared.inputs)


def _kept_inputs(
    manager: Manager, blueprint_id: str, deployment: runtime.Deployment
) -> dict[str, Any]:
    """The deployment's inputs that the new blueprint still declares (new ones take their
    defaults unless given)."""
    declared = manager.store.get_blueprint(blueprint_id).plan.get("inputs") or {}
    return {k: v for k, v in deployment.inputs.items() if k in declared}


def _refuse_unfinished(manager: Manager, deployment: runtime.Deployment) -> None:
    for revision in manager.store.list_revisions(deployment.id):
        if revision.revision > deployment.revision:
            execution = revision.execution_id or "?"
            if revision.status == "pending":
                then = f"execution {execution} is applying it; wait for it to end"
            else:
                then = f"resume execution {execution} (cairn executions resume) first"
            raise errors.ConflictError(
                f"deployment '{deployment.id}' has an unfinished update to revision "
                f"{revision.revision} ({revision.status}): {then}"
            )


def _start(manager: Manager, planned: Preview, *, user: str) -> Started:
    store = manager.store
    now = manager.clock.now()
    execution = executions.Execution(
        id=str(uuid.uuid4()),
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
    )
    manager.wake()
    return Started(preview=planned, execution=stored)


def _flagged(spec: executions.TaskSpec, ignored: frozenset[str]) -> executions.TaskSpec:
    return dataclasses.replace(spec, ignore_failure=spec.key in ignored)
