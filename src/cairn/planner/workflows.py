"""Planning a workflow run: :func:`plan_workflow`.

A deployment's ``workflows`` section (from the blueprint, with Cloudify's standard ones from
``types.yaml``) maps each workflow to ``{plugin, operation, parameters}``. Plugin
``default_workflows`` names one of Cloudify's built-in workflows, planned here; a script
workflow (plugin ``script``, ``script_runner.tasks.execute_workflow``) is one task that the
engine runs as a script with the parameters as inputs. Anything else cannot run here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cairn import errors
from cairn.dsl import instances as dsl_instances
from cairn.model import runtime
from cairn.planner import context, healing, result, scaling, standard, topology
from cairn.planner import parameters as schema

DEFAULT_WORKFLOWS = "default_workflows"
SCRIPT_PLUGIN = "script"
SCRIPT_WORKFLOW_TASK = "script_runner.tasks.execute_workflow"
WORKFLOW_MODULE = "cloudify.plugins.workflows."

BUILT_IN: Mapping[str, Callable[[context.Context], result.WorkflowPlan]] = {
    **standard.WORKFLOWS,
    "auto_heal_reinstall_node_subgraph": healing.heal,
    "scale_entity": scaling.scale_workflow,
    "scale": scaling.scale_workflow,
}


def plan_workflow(
    workflow_id: str,
    *,
    deployment: Mapping[str, Any],
    instances: Sequence[runtime.NodeInstance],
    parameters: Mapping[str, Any],
    allow_custom_parameters: bool = False,
    deployment_id: str | None = None,
    new_id: Callable[[str], str] | None = None,
) -> result.WorkflowPlan:
    """The task graph of one run of ``workflow_id`` (see :mod:`cairn.planner`)."""
    declared = deployment.get("workflows") or {}
    workflow = declared.get(workflow_id)
    if not isinstance(workflow, Mapping):
        known = ", ".join(sorted(declared)) or "none"
        raise errors.NotFoundError(
            f"the deployment has no workflow '{workflow_id}' (its workflows: {known})"
        )
    topo = topology.Topology(deployment, instances)
    resolved = parameters_of(workflow_id, workflow, parameters, topo, allow_custom_parameters)
    ctx = context.Context(
        workflow_id=workflow_id,
        topology=topo,
        parameters=resolved,
        deployment_id=deployment_id or (instances[0].deployment_id if instances else ""),
        new_id=new_id or _fresh_ids(topo),
    )
    plugin, operation = workflow.get("plugin"), workflow.get("operation")
    if plugin == DEFAULT_WORKFLOWS and isinstance(operation, str):
        builder = BUILT_IN.get(operation.removeprefix(WORKFLOW_MODULE))
        if builder is None:
            raise errors.UsageError(
                f"workflow '{workflow_id}' is Cloudify's built-in {operation}, which Cairn "
                f"does not run (it runs: {', '.join(sorted(BUILT_IN))})"
            )
        return builder(ctx)
    if plugin == SCRIPT_PLUGIN and operation == SCRIPT_WORKFLOW_TASK:
        return standard.script(ctx)
    raise errors.UsageError(
        f"workflow '{workflow_id}' maps to {plugin}.{operation}: Cairn runs Cloudify's built-in "
        "workflows and script workflows only"
    )


def parameters_of(
    workflow_id: str,
    workflow: Mapping[str, Any],
    given: Mapping[str, Any],
    topo: topology.Topology,
    allow_custom: bool,
) -> dict[str, Any]:
    declared = workflow.get("parameters") or {}
    return schema.resolve(workflow_id, declared, given, topo=topo, allow_custom=allow_custom)


def _fresh_ids(topo: topology.Topology) -> Callable[[str], str]:
    generate = dsl_instances.id_generator(random.SystemRandom())

    def new_id(name: str) -> str:
        while True:
            candidate = generate(name)
            if candidate not in topo.instances:
                return candidate

    return new_id
