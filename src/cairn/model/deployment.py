"""The deployment plan: a plan with inputs applied, static functions evaluated and node
instances created.

Nodes keep the plan's :class:`cairn.model.plan.Node` shape, with evaluated properties and
operation inputs; runtime functions (``get_attribute``, ``get_secret``, ...) are still as
written. The open-ended sections (outputs, capabilities, policies, ...) keep Cloudify's shape,
as in the plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cairn.model import plan

JSON = plan.JSON


@dataclass(frozen=True, kw_only=True)
class RelationshipInstance:
    """One relationship of a node instance: to which instance, of which node."""

    type: str
    target_id: str
    target_name: str


@dataclass(frozen=True, kw_only=True)
class ScalingGroupInstance:
    """One instance of a scaling group that a node instance belongs to."""

    name: str
    id: str


@dataclass(frozen=True, kw_only=True)
class NodeInstance:
    """One instance of a node: ``<node_id>_<6 letters or digits>``.

    ``host_id`` is the instance of the host (compute) node it runs on, if any;
    ``scaling_groups`` lists the group instances it belongs to, innermost first.
    """

    id: str
    node_id: str
    host_id: str | None
    relationships: tuple[RelationshipInstance, ...] = ()
    scaling_groups: tuple[ScalingGroupInstance, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DeploymentPlan:
    """What a deployment is made of, ready for workflows.

    ``secrets`` names the secrets ``get_secret`` reads with a name known now, so the caller
    can check they exist before anything runs (Cloudify does that when creating a deployment).
    """

    inputs: Mapping[str, JSON]
    nodes: tuple[plan.Node, ...]
    node_instances: tuple[NodeInstance, ...]
    outputs: Mapping[str, JSON]
    capabilities: Mapping[str, JSON]
    workflows: Mapping[str, JSON]
    groups: Mapping[str, JSON]
    policies: Mapping[str, JSON]
    scaling_groups: Mapping[str, JSON]
    labels: Mapping[str, JSON]
    deployment_settings: Mapping[str, JSON]
    secrets: tuple[str, ...] = ()

    def node(self, node_id: str) -> plan.Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def instances_of(self, node_id: str) -> tuple[NodeInstance, ...]:
        return tuple(i for i in self.node_instances if i.node_id == node_id)


def node_instance_to_json(instance: NodeInstance) -> dict[str, JSON]:
    return {
        "id": instance.id,
        "node_id": instance.node_id,
        "host_id": instance.host_id,
        "relationships": [
            {"type": r.type, "target_id": r.target_id, "target_name": r.target_name}
            for r in instance.relationships
        ],
        "scaling_groups": [{"name": g.name, "id": g.id} for g in instance.scaling_groups],
    }


def to_json(deployment_plan: DeploymentPlan) -> dict[str, JSON]:
    """The JSON form of a deployment plan (nodes as in :func:`cairn.model.plan.to_json`)."""
    d = deployment_plan
    return {
        "inputs": plan.jsonable(d.inputs),
        "nodes": [plan.node_to_json(n) for n in d.nodes],
        "node_instances": [node_instance_to_json(i) for i in d.node_instances],
        "outputs": plan.jsonable(d.outputs),
        "capabilities": plan.jsonable(d.capabilities),
        "workflows": plan.jsonable(d.workflows),
        "groups": plan.jsonable(d.groups),
        "policies": plan.jsonable(d.policies),
        "scaling_groups": plan.jsonable(d.scaling_groups),
        "labels": plan.jsonable(d.labels),
        "deployment_settings": plan.jsonable(d.deployment_settings),
        "secrets": list(d.secrets),
    }
