"""A deployment as the planner sees it: its nodes (from the stored plan) and its node instances
(from the store, with their current states and relationships).

A stored instance relationship names only its type and target; its operations and properties
are those of the node's relationship to the same target node (at most one relationship links
two nodes, as in Cloudify, so the target node names it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cairn.model import runtime

CONTAINED_IN = "cloudify.relationships.contained_in"
COMPUTE = "cloudify.nodes.Compute"
LIFECYCLE = "cloudify.interfaces.lifecycle"
INTERFACES = "cloudify.interfaces."


@dataclass(frozen=True, kw_only=True)
class Relationship:
    """One relationship of a source instance, with the plan's operations for both ends."""

    index: int
    source_id: str
    target_id: str
    target_node: str
    type: str
    hierarchy: tuple[str, ...]
    properties: Mapping[str, Any]
    source_operations: Mapping[str, Any]
    target_operations: Mapping[str, Any]

    def is_a(self, type_name: str) -> bool:
        return type_name in self.hierarchy

    def has_operation(self, operation: str, *, target_side: bool) -> bool:
        ops = self.target_operations if target_side else self.source_operations
        return operation in ops

    @property
    def lifecycle_operation(self) -> str | None:
        """The target operation the source waits for (depends_on_lifecycle_operation)."""
        operation = self.properties.get("operation")
        return operation if isinstance(operation, str) and operation else None


class Topology:
    """Nodes and instances of one deployment; instances keep the order they were given in."""

    def __init__(
        self, deployment: Mapping[str, Any], instances: Sequence[runtime.NodeInstance]
    ) -> None:
        self.deployment = deployment
        self.nodes: dict[str, Mapping[str, Any]] = {
            node["id"]: node for node in deployment.get("nodes") or () if isinstance(node, Mapping)
        }
        self.instances: dict[str, runtime.NodeInstance] = {i.id: i for i in instances}
        self._relationships = {i.id: self._resolve(i) for i in instances}
        self._contained: dict[str, list[str]] = {i.id: [] for i in instances}
        for instance in instances:
            for rel in self._relationships[instance.id]:
                if rel.is_a(CONTAINED_IN) and rel.target_id in self._contained:
                    self._contained[rel.target_id].append(instance.id)

    @property
    def scaling_groups(self) -> Mapping[str, Any]:
        groups = self.deployment.get("scaling_groups") or {}
        return groups if isinstance(groups, Mapping) else {}

    def ids(self) -> list[str]:
        return list(self.instances)

    def node(self, instance_id: str) -> Mapping[str, Any]:
        return self.nodes.get(self.instances[instance_id].node_id, {})

    def operations(self, instance_id: str) -> Mapping[str, Any]:
        ops = self.node(instance_id).get("operations") or {}
        return ops if isinstance(ops, Mapping) else {}

    def has_operation(self, instance_id: str, operation: str) -> bool:
        """Whether the instance's node has the operation with an implementation (not a no-op)."""
        return operation in self.operations(instance_id)

    def is_host(self, instance_id: str) -> bool:
        return COMPUTE in (self.node(instance_id).get("type_hierarchy") or ())

    def relationships(self, instance_id: str) -> tuple[Relationship, ...]:
        return self._relationships[instance_id]

    def contained_subgraph(self, instance_id: str) -> list[str]:
        """The instance and every instance contained in it, directly or not (Cloudify's
        ``get_contained_subgraph``), in instance order."""
        found = {instance_id}
        pending = [instance_id]
        while pending:
            for child in self._contained.get(pending.pop(), ()):
                if child not in found:
                    found.add(child)
                    pending.append(child)
        return [i for i in self.instances if i in found]

    def select(
        self,
        *,
        node_ids: Iterable[str] = (),
        node_instance_ids: Iterable[str] = (),
        type_names: Iterable[str] = (),
    ) -> list[str]:
        """Instances passing Cloudify's filters (an empty filter lets everything through)."""
        nodes, ids, types = set(node_ids), set(node_instance_ids), set(type_names)
        selected: list[str] = []
        for instance in self.instances.values():
            hierarchy = set(self.nodes.get(instance.node_id, {}).get("type_hierarchy") or ())
            if nodes and instance.node_id not in nodes:
                continue
            if types and not types & hierarchy:
                continue
            if ids and instance.id not in ids:
                continue
            selected.append(instance.id)
        return selected

    def _resolve(self, instance: runtime.NodeInstance) -> tuple[Relationship, ...]:
        planned = self.nodes.get(instance.node_id, {}).get("relationships") or ()
        result: list[Relationship] = []
        for index, written in enumerate(instance.relationships):
            target_node = str(written.get("target_name") or "")
            rel_type = str(written.get("type") or "")
            match = planned_relationship(planned, target_node, rel_type)
            result.append(
                Relationship(
                    index=index,
                    source_id=instance.id,
                    target_id=str(written.get("target_id") or ""),
                    target_node=target_node,
                    type=rel_type,
                    hierarchy=tuple(match.get("type_hierarchy") or (rel_type,)),
                    properties=match.get("properties") or {},
                    source_operations=match.get("source_operations") or {},
                    target_operations=match.get("target_operations") or {},
                )
            )
        return tuple(result)


def planned_relationship(
    planned: Sequence[Mapping[str, Any]], target_node: str, rel_type: str
) -> Mapping[str, Any]:
    """The node's relationship to ``target_node``: the last one of that type, else the last one
    to that target (a later relationship to the same target replaces an earlier one)."""
    to_target = [r for r in planned if r.get("target") == target_node]
    same_type = [r for r in to_target if r.get("type") == rel_type]
    if same_type:
        return same_type[-1]
    return to_target[-1] if to_target else {}


def operation_leaf(operation: str) -> str:
    """How an operation appears in task keys: ``create`` for the lifecycle interface,
    ``validation.create`` for Cloudify's other interfaces, the full name otherwise."""
    if operation.startswith(f"{LIFECYCLE}."):
        return operation[len(LIFECYCLE) + 1 :]
    if operation.startswith(INTERFACES):
        return operation[len(INTERFACES) :]
    return operation


def resolve_operation(operations: Mapping[str, Any], name: str) -> str | None:
    """The qualified operation ``name`` refers to: itself, or the one operation whose last part
    it is (Cloudify also accepts an unambiguous short name)."""
    if name in operations:
        return name
    matches = [op for op in operations if op.rsplit(".", 1)[-1] == name]
    return matches[0] if len(matches) == 1 else None
