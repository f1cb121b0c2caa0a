"""The plan: a parsed, validated, fully merged blueprint.

Nodes, relationships and operations are frozen dataclasses. The sections whose shape is
open-ended in the DSL (inputs, outputs, workflows, groups, policies, ...) are kept as
JSON-compatible mappings in the same shape as Cloudify's parser gives them, so that the
plan can be compared with Cloudify's and serialised as is. Intrinsic functions stay as
written (``{"get_input": "x"}``); :mod:`cairn.dsl.deployment` evaluates the static ones.

:func:`to_json` gives the documented JSON shape (docs/plan-format.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = Any

SCRIPT_PLUGIN = "script"
SCRIPT_TASK = "script_runner.tasks.run"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """One operation of a node or of one end of a relationship.

    ``name`` is qualified (``cloudify.interfaces.lifecycle.create``). A script operation has
    ``plugin == "script"`` and its path in ``implementation`` and in ``inputs["script_path"]``.
    ``None`` in the retry and timeout fields means "the engine's default".
    """

    name: str
    implementation: str
    plugin: str | None
    operation: str | None
    executor: str | None
    inputs: Mapping[str, JSON]
    max_retries: int | None = None
    retry_interval: float | None = None
    timeout: float | None = None
    timeout_recoverable: bool | None = None

    @property
    def is_script(self) -> bool:
        return self.plugin == SCRIPT_PLUGIN


@dataclass(frozen=True, kw_only=True)
class Relationship:
    type: str
    target: str
    type_hierarchy: tuple[str, ...]
    properties: Mapping[str, JSON]
    source_operations: Mapping[str, Operation]
    target_operations: Mapping[str, Operation]
    connection_type: str = "all_to_all"

    def is_a(self, type_name: str) -> bool:
        return type_name in self.type_hierarchy


@dataclass(frozen=True, kw_only=True)
class Scalable:
    """Instance counts; each is an int or, until inputs are applied, an intrinsic function."""

    default_instances: int | JSON = 1
    min_instances: int | JSON = 0
    max_instances: int | JSON = -1  # -1: unbounded (Cloudify's UNBOUNDED)
    current_instances: int | JSON = 1
    planned_instances: int | JSON = 1


@dataclass(frozen=True, kw_only=True)
class Node:
    id: str
    type: str
    type_hierarchy: tuple[str, ...]
    properties: Mapping[str, JSON]
    relationships: tuple[Relationship, ...]
    operations: Mapping[str, Operation]
    scalable: Scalable
    host_id: str | None = None
    plugins_to_install: tuple[str, ...] = ()
    deployment_plugins_to_install: tuple[str, ...] = ()
    instances: Mapping[str, JSON] = field(default_factory=dict)
    capabilities: Mapping[str, JSON] = field(default_factory=dict)

    def is_a(self, type_name: str) -> bool:
        return type_name in self.type_hierarchy


@dataclass(frozen=True, kw_only=True)
class Plan:
    dsl_version: str
    description: str | None
    metadata: Mapping[str, JSON]
    inputs: Mapping[str, JSON]
    outputs: Mapping[str, JSON]
    capabilities: Mapping[str, JSON]
    nodes: tuple[Node, ...]
    workflows: Mapping[str, JSON]
    groups: Mapping[str, JSON]
    policies: Mapping[str, JSON]
    scaling_groups: Mapping[str, JSON]
    labels: Mapping[str, JSON]
    blueprint_labels: Mapping[str, JSON]
    deployment_settings: Mapping[str, JSON]
    resource_tags: Mapping[str, JSON] = field(default_factory=dict)
    plugins: Mapping[str, JSON] = field(default_factory=dict)
    data_types: Mapping[str, JSON] = field(default_factory=dict)
    relationship_types: Mapping[str, JSON] = field(default_factory=dict)
    policy_types: Mapping[str, JSON] = field(default_factory=dict)
    policy_triggers: Mapping[str, JSON] = field(default_factory=dict)
    imported_blueprints: tuple[str, ...] = ()
    namespaces_mapping: Mapping[str, JSON] = field(default_factory=dict)
    deployment_plugins_to_install: tuple[str, ...] = ()
    workflow_plugins_to_install: tuple[str, ...] = ()
    host_agent_plugins_to_install: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def operation_to_json(op: Operation) -> dict[str, JSON]:
    return {
        "implementation": op.implementation,
        "plugin": op.plugin,
        "operation": op.operation,
        "executor": op.executor,
        "inputs": jsonable(op.inputs),
        "max_retries": op.max_retries,
        "retry_interval": op.retry_interval,
        "timeout": op.timeout,
        "timeout_recoverable": op.timeout_recoverable,
    }


def _operations_to_json(ops: Mapping[str, Operation]) -> dict[str, JSON]:
    return {name: operation_to_json(op) for name, op in sorted(ops.items())}


def relationship_to_json(rel: Relationship) -> dict[str, JSON]:
    return {
        "type": rel.type,
        "target": rel.target,
        "type_hierarchy": list(rel.type_hierarchy),
        "properties": jsonable(rel.properties),
        "connection_type": rel.connection_type,
        "source_operations": _operations_to_json(rel.source_operations),
        "target_operations": _operations_to_json(rel.target_operations),
    }


def node_to_json(node: Node) -> dict[str, JSON]:
    return {
        "id": node.id,
        "type": node.type,
        "type_hierarchy": list(node.type_hierarchy),
        "host_id": node.host_id,
        "properties": jsonable(node.properties),
        "relationships": [relationship_to_json(r) for r in node.relationships],
        "operations": _operations_to_json(node.operations),
        "plugins_to_install": list(node.plugins_to_install),
        "deployment_plugins_to_install": list(node.deployment_plugins_to_install),
        "scalable": {
            "default_instances": node.scalable.default_instances,
            "min_instances": node.scalable.min_instances,
            "max_instances": node.scalable.max_instances,
            "current_instances": node.scalable.current_instances,
            "planned_instances": node.scalable.planned_instances,
        },
        "capabilities": jsonable(node.capabilities),
    }


def to_json(plan: Plan) -> dict[str, JSON]:
    """The documented JSON form of a plan (docs/plan-format.md)."""
    return {
        "dsl_version": plan.dsl_version,
        "description": plan.description,
        "metadata": jsonable(plan.metadata),
        "inputs": jsonable(plan.inputs),
        "outputs": jsonable(plan.outputs),
        "capabilities": jsonable(plan.capabilities),
        "nodes": [node_to_json(n) for n in plan.nodes],
        "workflows": jsonable(plan.workflows),
        "groups": jsonable(plan.groups),
        "policies": jsonable(plan.policies),
        "scaling_groups": jsonable(plan.scaling_groups),
        "labels": jsonable(plan.labels),
        "blueprint_labels": jsonable(plan.blueprint_labels),
        "deployment_settings": jsonable(plan.deployment_settings),
        "resource_tags": jsonable(plan.resource_tags),
        "plugins": jsonable(plan.plugins),
        "data_types": sorted(plan.data_types),
        "relationship_types": sorted(plan.relationship_types),
        "policy_types": sorted(plan.policy_types),
        "policy_triggers": sorted(plan.policy_triggers),
        "imported_blueprints": list(plan.imported_blueprints),
        "namespaces_mapping": jsonable(plan.namespaces_mapping),
        "deployment_plugins_to_install": list(plan.deployment_plugins_to_install),
        "workflow_plugins_to_install": list(plan.workflow_plugins_to_install),
        "host_agent_plugins_to_install": list(plan.host_agent_plugins_to_install),
    }


def jsonable(value: Any) -> JSON:
    """Plain dicts, lists and JSON scalars (YAML dates become ISO strings)."""
    if isinstance(value, Mapping):
        return {str(k) if not isinstance(k, str) else k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
