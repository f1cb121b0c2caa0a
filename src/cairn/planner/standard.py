"""Cloudify's built-in workflows that act on instances as they are: install, uninstall,
reinstall, rollback, execute_operation, start, stop, restart, pull, check_status and check_drift, and
script workflows from the blueprint.

Parameters arrive resolved (:mod:`cairn.planner.parameters`); the filters ``node_ids``,
``node_instance_ids`` and ``type_names`` select instances as Cloudify's
``_filter_node_instances`` does, and the instances not selected are left intact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cairn import errors
from cairn.model import executions
from cairn.model.runtime import InstanceState
from cairn.planner import context, graph, lifecycle, operations, parameters, result, steps

Action = lifecycle.Action
Phase = lifecycle.Phase


def script(ctx: context.Context) -> result.WorkflowPlan:
    g = graph.Graph()
    g.chain(f"workflow:{ctx.workflow_id}").add(
        executions.TaskSpec(
            key=f"workflow:{ctx.workflow_id}",
            kind=executions.TaskKind.OPERATION,
            operation=f"workflow:{ctx.workflow_id}",
            inputs=dict(ctx.parameters),
            description=f"run the script of workflow {ctx.workflow_id}",
        )
    )
    return ctx.plan(g, f"run the script workflow '{ctx.workflow_id}'")


# --- lifecycle workflows --------------------------------------------------------------------


def _run(ctx: context.Context, phases: Sequence[Phase], description: str) -> result.WorkflowPlan:
    g = graph.Graph()
    lifecycle.run_phases(g, ctx.topology, phases)
    return ctx.plan(g, description)


def install(ctx: context.Context) -> result.WorkflowPlan:
    chosen = ctx.select()
    phase = Phase(name="", action=Action.INSTALL, instances=chosen, intact=ctx.others(chosen))
    return _run(ctx, [phase], f"install {len(chosen)} node instance(s)")


def uninstall(ctx: context.Context) -> result.WorkflowPlan:
    chosen = ctx.select()
    phase = Phase(
        name="",
        action=Action.UNINSTALL,
        instances=chosen,
        intact=ctx.others(chosen),
        ignore_failure=ctx.flag("ignore_failure"),
    )
    return _run(ctx, [phase], f"uninstall {len(chosen)} node instance(s)")


def reinstall_phases(
    chosen: Sequence[str], intact: Sequence[str], *, ignore_failure: bool
) -> list[Phase]:
    """Uninstall, then install from scratch (Cloudify's ``reinstall_node_instances``)."""
    return [
        Phase(
            name="uninstall",
            action=Action.UNINSTALL,
            instances=chosen,
            intact=intact,
            ignore_failure=ignore_failure,
        ),
        Phase(
            name="install",
            action=Action.INSTALL,
            instances=chosen,
            intact=intact,
            states=dict.fromkeys(chosen, InstanceState.DELETED),
        ),
    ]


def reinstall(ctx: context.Context) -> result.WorkflowPlan:
    chosen = ctx.select()
    phases = reinstall_phases(chosen, ctx.others(chosen), ignore_failure=ctx.flag("ignore_failure"))
    return _run(ctx, phases, f"reinstall {len(chosen)} node instance(s)")


def rollback(ctx: context.Context) -> result.WorkflowPlan:
    """Instances left ``creating``, ``configuring`` or ``starting`` go back to their last
    stable state; with ``full_rollback`` everything is then uninstalled."""
    states = {i: ctx.topology.instances[i].state for i in ctx.topology.ids()}
    unresolved = [i for i in ctx.select() if states[i] in steps.UNRESOLVED]
    full = ctx.flag("full_rollback")
    phases = [
        Phase(
            name="rollback" if full else "",
            action=Action.ROLLBACK,
            instances=unresolved,
            intact=ctx.others(unresolved),
            ignore_failure=True,
        )
    ]
    if full:
        after = {i: steps.after_rollback(s) for i, s in states.items()}
        phases.append(
            Phase(
                name="uninstall",
                action=Action.UNINSTALL,
                instances=ctx.topology.ids(),
                states=after,
            )
        )
    what = "then uninstall everything" if full else "to their last stable state"
    return _run(ctx, phases, f"roll back {len(unresolved)} node instance(s) {what}")


# --- operation workflows --------------------------------------------------------------------


def _operation_run(
    ctx: context.Context, run: operations.Run, description: str
) -> result.WorkflowPlan:
    g = graph.Graph()
    operations.add_run(g, ctx.topology, run)
    return ctx.plan(g, description)


def execute_operation(ctx: context.Context) -> result.WorkflowPlan:
    operation = str(ctx.parameters.get("operation"))
    problem = parameters.operation_name_problem(operation, ctx.topology)
    if problem is not None:
        # Cloudify would run nothing; a typo deserves an error.
        raise errors.InputError([f"parameter 'operation': {problem}"])
    run = operations.Run(
        operation=operation,
        selected=ctx.select(),
        kwargs=ctx.parameters.get("operation_kwargs") or {},
        allow_kwargs_override=ctx.flag("allow_kwargs_override"),
        by_dependency_order=ctx.flag("run_by_dependency_order"),
    )
    return _operation_run(ctx, run, f"run {operation}")


def _lifecycle_run(
    ctx: context.Context, name: str, kwargs_parameter: str, **extra: Any
) -> operations.Run:
    return operations.Run(
        operation=f"cloudify.interfaces.lifecycle.{name}",
        selected=ctx.select(),
        kwargs=ctx.parameters.get(kwargs_parameter) or {},
        allow_kwargs_override=True,
        by_dependency_order=ctx.flag("run_by_dependency_order", True),
        **extra,
    )


def start(ctx: context.Context) -> result.WorkflowPlan:
    return _operation_run(ctx, _lifecycle_run(ctx, "start", "operation_parms"), "start")


def stop(ctx: context.Context) -> result.WorkflowPlan:
    run = _lifecycle_run(ctx, "stop", "operation_parms", reverse_order=True)
    return _operation_run(ctx, run, "stop")


def pull(ctx: context.Context) -> result.WorkflowPlan:
    return _operation_run(ctx, _lifecycle_run(ctx, "pull", "operation_parms"), "pull")


def restart(ctx: context.Context) -> result.WorkflowPlan:
    g = graph.Graph()
    stop_run = _lifecycle_run(ctx, "stop", "stop_parms", reverse_order=True, phase="stop")
    chains = operations.add_run(g, ctx.topology, stop_run)
    barrier = g.barrier("stop/done", "stop finished", chains)
    operations.add_run(
        g, ctx.topology, _lifecycle_run(ctx, "start", "start_parms", phase="start"), after=barrier
    )
    return ctx.plan(g, "restart: stop, then start")


def check_status(ctx: context.Context) -> result.WorkflowPlan:
    g = graph.Graph()
    keys = operations.add_check_status(
        g, ctx.topology, ctx.select(), by_dependency_order=ctx.flag("run_by_dependency_order")
    )
    if ctx.flag("ignore_failure"):
        g.ignore(keys)
    return ctx.plan(g, f"check the status of {len(keys)} node instance(s)", status_checks=keys)


def check_drift(ctx: context.Context) -> result.WorkflowPlan:
    """Each selected instance's check_drift results end up in its
    ``system_properties["drift"]`` (the engine records every check_drift operation's outcome,
    see :mod:`cairn.model.drift`); a failed check fails the execution unless
    ``ignore_failure``."""
    g = graph.Graph()
    keys = operations.add_check_drift(
        g, ctx.topology, ctx.select(), by_dependency_order=ctx.flag("run_by_dependency_order")
    )
    if ctx.flag("ignore_failure"):
        g.ignore(keys)
    return ctx.plan(g, f"check {len(keys)} node instance(s) and relationship end(s) for drift")


WORKFLOWS: dict[str, Callable[[context.Context], result.WorkflowPlan]] = {
    "install": install,
    "uninstall": uninstall,
    "reinstall": reinstall,
    "rollback": rollback,
    "execute_operation": execute_operation,
    "start": start,
    "stop": stop,
    "restart": restart,
    "pull": pull,
    "check_status": check_status,
    "check_drift": check_drift,
}
