"""Node instances of a new deployment (Cloudify's ``multi_instance``/``rel_graph``).

The plan's nodes and scaling groups form a graph. Containment (``contained_in``, and
membership of a scaling group) makes a forest: each root gets its number of instances, and
every contained node or group gets its number *per instance of its container*. A node that
is a member of a scaling group and contained in some node is moved under the group, and the
group's outermost ancestor under that node, so the group multiplies the member together with
whatever else it holds.

``connected_to``/``depends_on`` relationships then join instances: ``all_to_all`` joins every
source instance to every target instance, ``all_to_one`` to a single target instance (the
smallest id, as Cloudify picks). When source and target share a scaling group, only
instances inside the same instance of that group are joined.

As in Cloudify, at most one relationship links two nodes: a later relationship to the same
target replaces an earlier one.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cairn.model import deployment, plan

CONTAINED_IN = "cloudify.relationships.contained_in"
CONNECTED_TO = "cloudify.relationships.connected_to"
DEPENDS_ON = "cloudify.relationships.depends_on"
GROUP_CONTAINED_IN = "__group_contained_in__"
ALL_TO_ALL = "all_to_all"
ALL_TO_ONE = "all_to_one"
MAX_INSTANCES = 100_000
ID_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 6


class InstanceError(Exception):
    """The node instances cannot be created (an unsupported relationship, too many, ...)."""


def id_generator(rng: random.Random | None = None) -> Callable[[str], str]:
    """Makes ``<name>_<6 random [a-z0-9]>`` ids, unique per name; pass a seeded ``rng`` in tests."""
    chooser = rng or random.SystemRandom()
    used: set[str] = set()

    def new_id(name: str) -> str:
        while True:
            suffix = "".join(chooser.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
            candidate = f"{name}_{suffix}"
            if candidate not in used:
                used.add(candidate)
                return candidate

    return new_id


@dataclass
class _Edge:
    type: str
    hierarchy: tuple[str, ...]
    target: str
    index: int
    connection_type: Any = None
    replaced: str | None = None  # the real container, when containment goes through a group

    def is_a(self, *types: str) -> bool:
        return any(t in self.hierarchy for t in types)


@dataclass
class _Vertex:
    name: str
    count: int
    group: bool
    host_id: str | None


@dataclass
class _Instance:
    id: str
    vertex: _Vertex
    host_id: str | None
    out: dict[str, deployment.RelationshipInstance] = field(default_factory=dict)
    out_meta: dict[str, tuple[int, str | None]] = field(default_factory=dict)


def _group_edge(target: str) -> _Edge:
    return _Edge(type=GROUP_CONTAINED_IN, hierarchy=(GROUP_CONTAINED_IN,), target=target, index=-1)


class _PlanGraph:
    """Nodes and scaling groups, with at most one edge from one vertex to another."""

    def __init__(
        self,
        nodes: Sequence[plan.Node],
        scaling_groups: Mapping[str, Any],
        counts: Mapping[str, int],
    ) -> None:
        self.vertices: dict[str, _Vertex] = {}
        self.edges: dict[str, dict[str, _Edge]] = {}
        for node in nodes:
            self._vertex(_Vertex(node.id, counts[node.id], False, node.host_id))
        for name in scaling_groups:
            self._vertex(_Vertex(name, counts[name], True, None))
        member_of = self._add_memberships(scaling_groups)
        for node in nodes:
            self._add_relationships(node, member_of)
        self._check_supported()

    def _vertex(self, vertex: _Vertex) -> None:
        self.vertices[vertex.name] = vertex
        self.edges[vertex.name] = {}

    def _add_memberships(self, scaling_groups: Mapping[str, Any]) -> dict[str, str]:
        member_of: dict[str, str] = {}
        for name, group in scaling_groups.items():
            for member in group.get("members") or ():
                if member in self.vertices:
                    self.edges[member][name] = _group_edge(name)
                    member_of[member] = name
        return member_of

    def _add_relationships(self, node: plan.Node, member_of: Mapping[str, str]) -> None:
        for index, rel in enumerate(node.relationships):
            connection = rel.properties.get("connection_type", rel.connection_type)
            edge = _Edge(rel.type, tuple(rel.type_hierarchy), rel.target, index, connection)
            group = member_of.get(node.id)
            if group is None or not edge.is_a(CONTAINED_IN):
                self.edges[node.id][rel.target] = edge
                continue
            # A contained member hangs under its group; the group's top under the container.
            self.edges[node.id][group] = replace(edge, target=group, replaced=rel.target)
            top = group
            while top in member_of:
                top = member_of[top]
            self.edges[top][rel.target] = _group_edge(rel.target)

    def _check_supported(self) -> None:
        for source, targets in self.edges.items():
            for target, edge in targets.items():
                if not edge.is_a(DEPENDS_ON, CONTAINED_IN, CONNECTED_TO, GROUP_CONTAINED_IN):
                    raise InstanceError(
                        f"relationship {edge.type!r} from {source!r} to {target!r} is not derived "
                        f"from {DEPENDS_ON}, {CONNECTED_TO} or {CONTAINED_IN}"
                    )

    def container(self, name: str) -> str | None:
        for target, edge in self.edges[name].items():
            if edge.is_a(CONTAINED_IN, GROUP_CONTAINED_IN):
                return target
        return None

    def groups_around(self, name: str) -> list[str]:
        """The scaling groups holding ``name`` (directly or via containment), innermost first."""
        found: list[str] = []
        seen = {name}
        current = self.container(name)
        while current is not None and current not in seen:
            seen.add(current)
            if self.vertices[current].group:
                found.append(current)
            current = self.container(current)
        return found


def create(
    nodes: Sequence[plan.Node],
    scaling_groups: Mapping[str, Any],
    counts: Mapping[str, int],
    new_id: Callable[[str], str],
) -> tuple[deployment.NodeInstance, ...]:
    """The node instances of a new deployment.

    ``counts`` gives the (evaluated) number of instances of every node and scaling group.
    """
    graph = _PlanGraph(nodes, scaling_groups, counts)
    builder = _Builder(graph, new_id)
    builder.contain()
    builder.connect()
    return builder.extract()


class _Builder:
    """Creates instances down the containment forest, then joins connected ones."""

    def __init__(self, graph: _PlanGraph, new_id: Callable[[str], str]) -> None:
        self.graph = graph
        self.new_id = new_id
        self.instances: dict[str, _Instance] = {}
        self.by_vertex: dict[str, list[str]] = {name: [] for name in graph.vertices}
        self.parent: dict[str, str] = {}  # instance -> the instance containing it
        self.children: dict[str, list[str]] = {name: [] for name in graph.vertices}
        for name in graph.vertices:
            container = graph.container(name)
            if container is not None and container in self.children:
                self.children[container].append(name)

    def contain(self) -> None:
        for name in self.graph.vertices:
            if self.graph.container(name) is None:
                self._instantiate(name, None, None)

    def _instantiate(self, name: str, parent: str | None, host: str | None) -> None:
        vertex = self.graph.vertices[name]
        made: list[tuple[str, str | None]] = []
        for _ in range(vertex.count):
            if len(self.instances) >= MAX_INSTANCES:
                raise InstanceError(
                    f"the deployment would have more than {MAX_INSTANCES} instances"
                )
            instance_id = self.new_id(name)
            current = instance_id if host is None and vertex.host_id == name else host
            host_id = current if current is not None else vertex.host_id
            instance = _Instance(instance_id, vertex, host_id)
            self.instances[instance_id] = instance
            self.by_vertex[name].append(instance_id)
            if parent is not None:
                edge = self.graph.edges[name][self._container_vertex(parent)]
                self._link(instance, parent, edge)
                self.parent[instance_id] = parent
            made.append((instance_id, current))
        for instance_id, current in made:
            for child in self.children[name]:
                self._instantiate(child, instance_id, current)

    def _container_vertex(self, instance_id: str) -> str:
        return self.instances[instance_id].vertex.name

    def _link(self, source: _Instance, target_id: str, edge: _Edge) -> None:
        source.out[target_id] = deployment.RelationshipInstance(
            type=edge.type, target_id=target_id, target_name=edge.target
        )
        source.out_meta[target_id] = (edge.index, edge.replaced)

    def connect(self) -> None:
        for source, targets in self.graph.edges.items():
            for target, edge in targets.items():
                if edge.is_a(CONNECTED_TO, DEPENDS_ON) and not edge.is_a(CONTAINED_IN):
                    self._connect(source, target, edge)

    def _connect(self, source: str, target: str, edge: _Edge) -> None:
        if edge.connection_type not in (ALL_TO_ALL, ALL_TO_ONE):
            raise InstanceError(
                f"relationship {edge.type!r} from {source!r} to {target!r} has connection_type "
                f"{edge.connection_type!r}; it must be {ALL_TO_ALL} or {ALL_TO_ONE}"
            )
        sources, targets = self.by_vertex[source], self.by_vertex.get(target, [])
        if not sources or not targets:
            return
        shared = [
            g for g in self.graph.groups_around(source) if g in self.graph.groups_around(target)
        ]
        if edge.connection_type == ALL_TO_ONE:
            if shared:
                raise InstanceError(
                    f"{ALL_TO_ONE} is not supported within a scaling group, but {source!r} and "
                    f"{target!r} are both in group {shared[0]!r}"
                )
            targets = [min(targets)]
        for source_ids, target_ids in self._pairs(sources, targets, shared[0] if shared else None):
            for source_id in source_ids:
                for target_id in target_ids:
                    self._link(self.instances[source_id], target_id, edge)

    def _pairs(
        self, sources: list[str], targets: list[str], group: str | None
    ) -> list[tuple[list[str], list[str]]]:
        """Source and target instances to join, split by instance of their innermost group."""
        if group is None:
            return [(sources, targets)]
        by_group: dict[str | None, tuple[list[str], list[str]]] = {}
        for index, ids in enumerate((sources, targets)):
            for instance_id in ids:
                key = self._group_instance(instance_id, group)
                by_group.setdefault(key, ([], []))[index].append(instance_id)
        return list(by_group.values())

    def _group_instance(self, instance_id: str, group: str) -> str | None:
        current = self.parent.get(instance_id)
        while current is not None:
            if self._container_vertex(current) == group:
                return current
            current = self.parent.get(current)
        return None

    def extract(self) -> tuple[deployment.NodeInstance, ...]:
        return tuple(
            self._node_instance(instance)
            for instance in self.instances.values()
            if not instance.vertex.group
        )

    def _node_instance(self, instance: _Instance) -> deployment.NodeInstance:
        relationships: list[tuple[int, deployment.RelationshipInstance]] = []
        groups: tuple[deployment.ScalingGroupInstance, ...] = ()
        for target_id, written in instance.out.items():
            rel = written
            index, replaced = instance.out_meta[target_id]
            in_group = rel.type == GROUP_CONTAINED_IN
            if replaced is not None or in_group:
                around, container = self._groups_above(target_id)
                first = deployment.ScalingGroupInstance(name=rel.target_name, id=target_id)
                groups = (first, *around)
                if replaced is not None and container is not None:
                    rel = replace(rel, target_name=container.vertex.name, target_id=container.id)
            if not in_group:
                relationships.append((index, rel))
        relationships.sort(key=lambda pair: pair[0])
        return deployment.NodeInstance(
            id=instance.id,
            node_id=instance.vertex.name,
            host_id=instance.host_id,
            relationships=tuple(rel for _, rel in relationships),
            scaling_groups=groups,
        )

    def _groups_above(
        self, group_instance: str
    ) -> tuple[list[deployment.ScalingGroupInstance], _Instance | None]:
        """The group instances above a group instance, and the node instance holding them."""
        found: list[deployment.ScalingGroupInstance] = []
        current = self.parent.get(group_instance)
        while current is not None:
            holder = self.instances[current]
            if not holder.vertex.group:
                return found, holder
            found.append(deployment.ScalingGroupInstance(name=holder.vertex.name, id=current))
            current = self.parent.get(current)
        return found, None
