"""Containment of a deployment's node instances and scaling-group instances, rebuilt from the
stored instances (Cloudify's ``build_previous_deployment_node_graph``).

Vertices are nodes and scaling groups. A node's container is the target of its
``contained_in`` relationship, unless it is a member of a scaling group: then the group holds
it, and the group's outermost enclosing group is held by that target instead, so scaling the
group multiplies the member with whatever else the group holds (the same rule as
:mod:`cairn.dsl.instances`). Group instances exist only through the ``scaling_groups`` of their
members, innermost first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cairn.planner import topology


class Tree:
    """Vertices and instances with their containers; new instances can be added."""

    def __init__(self, topo: topology.Topology) -> None:
        self.topology = topo
        self.groups: Mapping[str, Any] = topo.scaling_groups
        self.parent_vertex = _vertex_parents(topo, self.groups)
        self.child_vertices: dict[str | None, list[str]] = {}
        for vertex, parent in self.parent_vertex.items():
            self.child_vertices.setdefault(parent, []).append(vertex)
        self.parent: dict[str, str | None] = {}
        self.vertex_of: dict[str, str] = {}
        self.children: dict[str | None, dict[str, list[str]]] = {}
        self.hosts: dict[str, str | None] = {}
        self._index_instances()

    def is_group(self, vertex: str) -> bool:
        return vertex in self.groups

    def add(self, instance_id: str, vertex: str, parent: str | None, host: str | None) -> None:
        self.parent[instance_id] = parent
        self.vertex_of[instance_id] = vertex
        self.children.setdefault(parent, {}).setdefault(vertex, []).append(instance_id)
        self.hosts[instance_id] = host

    def instances_of(self, vertex: str) -> list[str]:
        return [i for i, v in self.vertex_of.items() if v == vertex]

    def in_container(self, container: str | None, vertex: str) -> list[str]:
        return list(self.children.get(container, {}).get(vertex, ()))

    def containers(self, vertex: str) -> list[str | None]:
        parent = self.parent_vertex.get(vertex)
        return [None] if parent is None else list(self.instances_of(parent))

    def host_of(self, instance_id: str | None) -> str | None:
        """The host instance whatever is created in ``instance_id`` runs on."""
        while instance_id is not None:
            if not self.is_group(self.vertex_of.get(instance_id, "")):
                return self.hosts.get(instance_id)
            instance_id = self.parent.get(instance_id)
        return None

    def ancestors(self, instance_id: str) -> Iterator[str]:
        current = self.parent.get(instance_id)
        while current is not None:
            yield current
            current = self.parent.get(current)

    def node_container(self, instance_id: str) -> str | None:
        """The nearest node instance (not a group instance) holding ``instance_id``."""
        for ancestor in self.ancestors(instance_id):
            if not self.is_group(self.vertex_of[ancestor]):
                return ancestor
        return None

    def group_chain(self, instance_id: str) -> list[str]:
        """The group instances directly above ``instance_id`` up to the first node instance,
        innermost first (a node instance's ``scaling_groups``)."""
        found: list[str] = []
        for ancestor in self.ancestors(instance_id):
            if not self.is_group(self.vertex_of[ancestor]):
                break
            found.append(ancestor)
        return found

    def group_instance(self, instance_id: str, group: str) -> str | None:
        for ancestor in self.ancestors(instance_id):
            if self.vertex_of[ancestor] == group:
                return ancestor
        return None

    def groups_around(self, vertex: str) -> list[str]:
        """The scaling groups holding ``vertex``, directly or not, innermost first."""
        found: list[str] = []
        current = self.parent_vertex.get(vertex)
        seen = {vertex}
        while current is not None and current not in seen:
            seen.add(current)
            if self.is_group(current):
                found.append(current)
            current = self.parent_vertex.get(current)
        return found

    def subtree(self, instance_id: str) -> list[str]:
        """``instance_id`` and everything it holds, directly or not."""
        found = [instance_id]
        for vertex_children in self.children.get(instance_id, {}).values():
            for child in vertex_children:
                found += self.subtree(child)
        return found

    def _index_instances(self) -> None:
        topo = self.topology
        group_parents: dict[str, str | None] = {}
        for instance in topo.instances.values():
            chain = [(str(g.get("name")), str(g.get("id"))) for g in instance.scaling_groups]
            for position, (name, group_id) in enumerate(chain):
                if position + 1 < len(chain):
                    group_parents[group_id] = chain[position + 1][1]
                elif group_parents.get(group_id) is None:
                    group_parents[group_id] = _target_of(instance, self.parent_vertex.get(name))
                self.vertex_of.setdefault(group_id, name)
        for group_id, parent in group_parents.items():
            self.add(group_id, self.vertex_of[group_id], parent, None)
        for instance in topo.instances.values():
            parent_vertex = self.parent_vertex.get(instance.node_id)
            if parent_vertex is None:
                parent = None
            elif self.is_group(parent_vertex):
                parent = next(
                    (
                        str(g.get("id"))
                        for g in instance.scaling_groups
                        if g.get("name") == parent_vertex
                    ),
                    None,
                )
            else:
                parent = _target_of(instance, parent_vertex)
            self.add(instance.id, instance.node_id, parent, instance.host_id)


def _target_of(instance: Any, target_node: str | None) -> str | None:
    if target_node is None:
        return None
    for rel in instance.relationships:
        if rel.get("target_name") == target_node:
            return str(rel.get("target_id"))
    return None


def _vertex_parents(topo: topology.Topology, groups: Mapping[str, Any]) -> dict[str, str | None]:
    member_of: dict[str, str] = {}
    for name, group in groups.items():
        for member in (group.get("members") or ()) if isinstance(group, Mapping) else ():
            member_of[str(member)] = name
    parents: dict[str, str | None] = {}
    for node_id, node in topo.nodes.items():
        container = _container_node(node)
        if node_id not in member_of:
            parents[node_id] = container
            continue
        parents[node_id] = member_of[node_id]
        if container is not None:
            top = member_of[node_id]
            while top in member_of:
                top = member_of[top]
            parents[top] = container
    for name in groups:
        if name in member_of:
            parents[name] = member_of[name]
        else:
            parents.setdefault(name, None)
    return parents


def _container_node(node: Mapping[str, Any]) -> str | None:
    container = None
    for rel in node.get("relationships") or ():
        if topology.CONTAINED_IN in (rel.get("type_hierarchy") or ()):
            container = rel.get("target")
    return container
