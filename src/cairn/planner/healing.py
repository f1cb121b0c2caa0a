"""heal: Cloudify's ``auto_heal_reinstall_node_subgraph``, planned ahead of time.

The instances looked at are those on the failing instance's host (the host's contained
subgraph; the failing instance's own when it has no host), or every instance when no
``node_instance_id`` is given. Unhealthy ones run their node's ``heal`` operations (preheal,
heal, postheal) when it defines ``lifecycle.heal``; the others are reinstalled together with
everything contained in them (uninstall, then install from scratch). ``force_reinstall``
reinstalls them all; with ``allow_reinstall: false`` a heal that would reinstall is refused.

Which instances are unhealthy: Cloudify first runs check_status and decides on its results.
A plan is made before anything runs, so the statuses recorded by earlier check_status runs
(``system_properties["status"]``) decide, with Cloudify's rules: for a targeted heal an
instance is healthy only if its last check passed, and the named instance is always treated
as failing; for a deployment-wide heal an instance is unhealthy only if its last check failed.
Cloudify also falls back to reinstalling an instance whose heal operation fails; here a
failed heal operation fails the execution, and the user can run heal again with
``force_reinstall``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cairn import errors
from cairn.planner import context, graph, lifecycle, result, standard, steps, topology


def heal(ctx: context.Context) -> result.WorkflowPlan:
    topo = ctx.topology
    failing = ctx.parameters.get("node_instance_id")
    if isinstance(failing, str) and failing:
        host = topo.instances[failing].host_id
        looked_at = topo.contained_subgraph(host if host in topo.instances else failing)
        healthy = {i for i in looked_at if i != failing and _passed(topo, i, require_task=True)}
    else:
        looked_at = topo.ids()
        healthy = {i for i in looked_at if _passed(topo, i, require_task=False)}
    if ctx.flag("force_reinstall"):
        to_heal: list[str] = []
        to_reinstall = list(looked_at)
    else:
        to_heal, to_reinstall = _split(topo, looked_at, healthy)
    if to_reinstall and not ctx.flag("allow_reinstall", True):
        raise errors.ConflictError(
            "allow_reinstall is false, but healing would reinstall " + _listed(to_reinstall)
        )
    phases: list[lifecycle.Phase] = []
    if to_heal:
        phases.append(
            lifecycle.Phase(
                name="heal" if to_reinstall else "",
                action=lifecycle.Action.HEAL,
                instances=to_heal,
                intact=ctx.others(to_heal),
            )
        )
    if to_reinstall:
        phases += standard.reinstall_phases(
            to_reinstall, ctx.others(to_reinstall), ignore_failure=ctx.flag("ignore_failure", True)
        )
    g = graph.Graph()
    lifecycle.run_phases(g, topo, phases)
    description = (
        f"heal {len(to_heal)} node instance(s) and reinstall {len(to_reinstall)} "
        f"(diagnosis: {ctx.parameters.get('diagnose_value', 'Not provided')})"
    )
    return ctx.plan(g, description)


def _passed(topo: topology.Topology, instance_id: str, *, require_task: bool) -> bool:
    """Cloudify's ``_find_healthy_instances`` on the recorded status."""
    status = topo.instances[instance_id].system_properties.get("status")
    ok = status.get("ok") if isinstance(status, Mapping) else None
    task = status.get("task") if isinstance(status, Mapping) else None
    return bool(ok) or (task is None and not require_task)


def _split(
    topo: topology.Topology, looked_at: Sequence[str], healthy: set[str]
) -> tuple[list[str], list[str]]:
    """Cloudify's ``_find_instances_to_heal``: (to heal, to reinstall)."""
    to_heal: list[str] = []
    to_reinstall: set[str] = set()
    for instance_id in looked_at:
        if instance_id in healthy or instance_id in to_reinstall:
            continue
        if topo.has_operation(instance_id, steps.lifecycle("heal")):
            to_heal.append(instance_id)
        else:
            to_reinstall.update(topo.contained_subgraph(instance_id))
    return (
        [i for i in to_heal if i not in to_reinstall],
        [i for i in topo.ids() if i in to_reinstall],
    )


def _listed(instance_ids: Sequence[str]) -> str:
    shown = ", ".join(instance_ids[:5])
    more = len(instance_ids) - 5
    return f"{shown} (and {more} more)" if more > 0 else shown
