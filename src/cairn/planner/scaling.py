"""Scaling a node or a scaling group out and in (Cloudify's ``scale_entity`` workflow and the
deployment modification of ``dsl_parser.rel_graph``).

The entity is a scaling group, or a node (its host node with ``scale_compute``). Its count is
per container instance, like ``current_instances``: scaling a node contained in a host with
two instances by +1 adds one instance on each host. The current count is read from the
instances themselves (the largest count in any container), so it stays right even if the
stored plan's ``current_instances`` was not updated.

Out: every container gets new instances up to the target count, each with everything it
holds (contained nodes, group members, at their current counts). New instances connect to
their targets as at deployment creation (``all_to_all``, ``all_to_one`` keeping the target
the node's instances already use, only within the same instance of a scaling group both ends
share); existing instances with a relationship to the scaled node gain relationships to the
new instances. Those are installed, and the existing sources run ``establish``.

In: each container loses instances down to the target count: first those in
``include_instances``, then the newest (last stored) not in ``exclude_instances``. They and
everything they hold are uninstalled; existing sources run ``unlink``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cairn import errors
from cairn.model import runtime
from cairn.planner import containment, context, graph, lifecycle, result, topology

ALL_TO_ONE = "all_to_one"


@dataclass(frozen=True, kw_only=True)
class Request:
    name: str
    delta: int
    scale_compute: bool
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class Outcome:
    change: result.InstanceChange
    topology: topology.Topology  # the deployment as the tasks see it
    instances: tuple[str, ...]  # the instances to install (out) or uninstall (in)


def entity_of(topo: topology.Topology, request: Request) -> str:
    if request.name in topo.scaling_groups:
        return request.name
    node = topo.nodes.get(request.name)
    if node is None:
        known = ", ".join([*topo.nodes, *topo.scaling_groups])
        raise errors.InputError(
            [f"no node or scaling group named '{request.name}' to scale (there are: {known})"]
        )
    host = node.get("host_id")
    return str(host) if request.scale_compute and host else request.name


def scale(
    topo: topology.Topology,
    request: Request,
    *,
    new_id: Callable[[str], str],
    deployment_id: str,
) -> Outcome:
    tree = containment.Tree(topo)
    entity = entity_of(topo, request)
    _check_hints(tree, entity, request)
    counts = {vertex: _current_count(tree, vertex) for vertex in tree.parent_vertex}
    target = counts.get(entity, 0) + request.delta
    _check_bounds(tree, entity, target, request.delta)
    if request.delta > 0:
        return _scale_out(
            tree, entity, target=target, counts=counts, new_id=new_id, deployment_id=deployment_id
        )
    return _scale_in(tree, entity, target, request)


# --- counts and checks --------------------------------------------------------------------


def _current_count(tree: containment.Tree, vertex: str) -> int:
    containers = tree.containers(vertex)
    if containers == [None]:
        return len(tree.instances_of(vertex))
    if containers:
        return max(len(tree.in_container(c, vertex)) for c in containers)
    return _declared(tree, vertex, "current_instances", 1)


def _declared(tree: containment.Tree, vertex: str, key: str, default: int) -> int:
    if tree.is_group(vertex):
        source = tree.groups[vertex].get("properties") or {}
        value = source.get(key, source.get("default_instances", default))
    else:
        value = (tree.topology.nodes[vertex].get("scalable") or {}).get(key, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _check_bounds(tree: containment.Tree, entity: str, target: int, delta: int) -> None:
    current = target - delta
    if target < 0:
        raise errors.InputError(
            [f"cannot scale '{entity}' by {delta}: it has {current} instance(s)"]
        )
    low = _declared(tree, entity, "min_instances", 0)
    high = _declared(tree, entity, "max_instances", -1)
    if target < low or (high >= 0 and target > high):
        bound = f"{low}..{high}" if high >= 0 else f"at least {low}"
        raise errors.InputError(
            [f"cannot scale '{entity}' to {target} instance(s): it allows {bound}"]
        )


def _check_hints(tree: containment.Tree, entity: str, request: Request) -> None:
    """Cloudify's ``validate_inclusions_and_exclusions``, every problem at once."""
    include, exclude = list(request.include), list(request.exclude)
    if not include and not exclude:
        return
    if request.delta > 0:
        raise errors.InputError(["instances cannot be included or excluded when scaling out"])
    problems: list[str] = []
    available = set(tree.instances_of(request.name))
    if tree.is_group(request.name):
        available |= {i for i in tree.topology.instances if tree.group_instance(i, entity)}
    if missing := [i for i in include if i not in available]:
        problems.append(f"included instances do not exist: {', '.join(missing)}")
    if missing := [i for i in exclude if i not in available]:
        problems.append(f"excluded instances do not exist: {', '.join(missing)}")
    if both := [i for i in include if i in exclude]:
        problems.append(f"instances both included and excluded: {', '.join(both)}")
    kept = {_entity_instance(tree, entity, i) for i in exclude} - {None}
    total = len(tree.instances_of(entity))
    if total + request.delta < len(kept):
        problems.append(
            f"{len(kept)} instance(s) of '{entity}' are excluded, but only "
            f"{total + request.delta} would remain"
        )
    if request.scale_compute:
        problems.append(
            "instances cannot be included or excluded with scale_compute: name the compute "
            "instances and set scale_compute to false"
        )
    if problems:
        raise errors.InputError(problems)


def _entity_instance(tree: containment.Tree, entity: str, instance_id: str) -> str | None:
    if tree.vertex_of.get(instance_id) == entity:
        return instance_id
    return tree.group_instance(instance_id, entity)


# --- out ------------------------------------------------------------------------------------


def _scale_out(
    tree: containment.Tree,
    entity: str,
    *,
    target: int,
    counts: Mapping[str, int],
    new_id: Callable[[str], str],
    deployment_id: str,
) -> Outcome:
    created: list[str] = []

    def create(vertex: str, container: str | None) -> None:
        instance_id = new_id(vertex)
        host = None
        if not tree.is_group(vertex):
            host = tree.host_of(container)
            node = tree.topology.nodes[vertex]
            if host is None and node.get("host_id") == vertex:
                host = instance_id
            created.append(instance_id)
        tree.add(instance_id, vertex, container, host)
        for child in tree.child_vertices.get(vertex, ()):
            for _ in range(counts.get(child, 0)):
                create(child, instance_id)

    for container in tree.containers(entity):
        for _ in range(target - len(tree.in_container(container, entity))):
            create(entity, container)
    new = set(created)
    links = _Links(tree, new)
    added = tuple(links.new_instance(i, deployment_id) for i in created)
    extended = links.extended()
    existing = [
        dataclasses.replace(i, relationships=extended[i.id]) if i.id in extended else i
        for i in tree.topology.instances.values()
    ]
    change = result.InstanceChange(
        entity=entity, count=target, added_instances=added, relationships=extended
    )
    topo = topology.Topology(tree.topology.deployment, [*existing, *added])
    return Outcome(change=change, topology=topo, instances=tuple(created))


class _Links:
    """Relationships of new instances, and new relationships of existing ones."""

    def __init__(self, tree: containment.Tree, new: set[str]) -> None:
        self.tree = tree
        self.new = new

    def new_instance(self, instance_id: str, deployment_id: str) -> runtime.NodeInstance:
        tree = self.tree
        node_id = tree.vertex_of[instance_id]
        rels: list[dict[str, Any]] = []
        for rel in _planned(tree.topology.nodes[node_id]):
            if topology.CONTAINED_IN in (rel.get("type_hierarchy") or ()):
                container = tree.node_container(instance_id)
                targets = [container] if container is not None else []
            else:
                targets = self.targets(instance_id, node_id, rel)
            rels += [_written(rel, t) for t in targets]
        groups = tuple({"name": tree.vertex_of[g], "id": g} for g in tree.group_chain(instance_id))
        return runtime.NodeInstance(
            id=instance_id,
            deployment_id=deployment_id,
            node_id=node_id,
            host_id=tree.hosts.get(instance_id),
            state=runtime.InstanceState.UNINITIALIZED,
            runtime_properties={},
            relationships=tuple(rels),
            scaling_groups=groups,
        )

    def targets(self, source: str, node_id: str, rel: Mapping[str, Any]) -> list[str]:
        tree = self.tree
        target_node = str(rel.get("target"))
        targets = tree.instances_of(target_node)
        shared = [g for g in tree.groups_around(node_id) if g in tree.groups_around(target_node)]
        if shared:
            mine = tree.group_instance(source, shared[0])
            targets = [t for t in targets if tree.group_instance(t, shared[0]) == mine]
        if _connection(rel) != ALL_TO_ONE or not targets:
            return targets
        used = {
            str(r.get("target_id"))
            for i in tree.instances_of(node_id)
            if i not in self.new
            for r in tree.topology.instances[i].relationships
            if r.get("target_name") == target_node and r.get("type") == rel.get("type")
        }
        return [next(iter(used))] if len(used) == 1 else [min(targets)]

    def extended(self) -> dict[str, tuple[dict[str, Any], ...]]:
        result_: dict[str, tuple[dict[str, Any], ...]] = {}
        for instance in self.tree.topology.instances.values():
            added: list[dict[str, Any]] = []
            for rel in _planned(self.tree.topology.nodes.get(instance.node_id, {})):
                if topology.CONTAINED_IN in (rel.get("type_hierarchy") or ()):
                    continue
                have = {str(r.get("target_id")) for r in instance.relationships}
                if _connection(rel) == ALL_TO_ONE and any(
                    r.get("target_name") == rel.get("target") for r in instance.relationships
                ):
                    continue
                fresh = [
                    t
                    for t in self.targets(instance.id, instance.node_id, rel)
                    if t in self.new and t not in have
                ]
                added += [_written(rel, t) for t in fresh]
            if added:
                result_[instance.id] = (*(dict(r) for r in instance.relationships), *added)
        return result_


def _planned(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The node's relationships, at most one per target node (the last one wins)."""
    by_target: dict[Any, tuple[int, Mapping[str, Any]]] = {}
    for index, rel in enumerate(node.get("relationships") or ()):
        by_target[rel.get("target")] = (index, rel)
    return [rel for _, rel in sorted(by_target.values(), key=lambda pair: pair[0])]


def _connection(rel: Mapping[str, Any]) -> Any:
    properties = rel.get("properties") or {}
    return properties.get("connection_type", rel.get("connection_type"))


def _written(rel: Mapping[str, Any], target_id: str) -> dict[str, Any]:
    return {"type": rel.get("type"), "target_id": target_id, "target_name": rel.get("target")}


# --- in -------------------------------------------------------------------------------------


def _scale_in(tree: containment.Tree, entity: str, target: int, request: Request) -> Outcome:
    include = [_entity_instance(tree, entity, i) for i in request.include]
    exclude = {_entity_instance(tree, entity, i) for i in request.exclude}
    chosen: list[str] = []
    for container in tree.containers(entity):
        present = tree.in_container(container, entity)
        chosen += _choose(present, len(present) - target, include, exclude)
    held = {i for c in chosen for i in tree.subtree(c)}
    topo = tree.topology
    removed = tuple(i for i in topo.instances if i in held)
    reduced: dict[str, tuple[dict[str, Any], ...]] = {}
    for instance in topo.instances.values():
        if instance.id in held:
            continue
        kept = tuple(dict(r) for r in instance.relationships if r.get("target_id") not in held)
        if len(kept) < len(instance.relationships):
            reduced[instance.id] = kept
    change = result.InstanceChange(
        entity=entity, count=target, removed_instance_ids=removed, relationships=reduced
    )
    return Outcome(change=change, topology=topo, instances=removed)


def _choose(
    present: list[str], count: int, include: Sequence[str | None], exclude: set[str | None]
) -> list[str]:
    chosen = [i for i in dict.fromkeys(include) if i in present][: max(count, 0)]
    for candidate in reversed(present):
        if len(chosen) >= count:
            break
        if candidate not in chosen and candidate not in exclude:
            chosen.append(candidate)
    for candidate in reversed(present):
        if len(chosen) >= count:
            break
        if candidate not in chosen:
            chosen.append(candidate)
    return chosen


# --- the workflow ---------------------------------------------------------------------------


def scale_workflow(ctx: context.Context) -> result.WorkflowPlan:
    """Cloudify's ``scale_entity`` (and its older name ``scale``, with ``node_id``)."""
    name = ctx.parameters.get("scalable_entity_name", ctx.parameters.get("node_id"))
    if not isinstance(name, str) or not name:
        raise errors.InputError(["parameter 'scalable_entity_name' must name a node or a group"])
    delta = _delta(ctx.parameters.get("delta", 1))
    if delta == 0:
        return ctx.plan(graph.Graph(), f"scale '{name}' by 0: nothing to do")
    request = Request(
        name=name,
        delta=delta,
        scale_compute=ctx.flag("scale_compute"),
        include=ctx.names("include_instances"),
        exclude=ctx.names("exclude_instances"),
    )
    outcome = scale(ctx.topology, request, new_id=ctx.new_id, deployment_id=ctx.deployment_id)
    acted = list(outcome.instances)
    intact = [i for i in outcome.topology.ids() if i not in set(acted)]
    phase = lifecycle.Phase(
        name="",
        action=lifecycle.Action.INSTALL if delta > 0 else lifecycle.Action.UNINSTALL,
        instances=acted,
        intact=intact,
        ignore_failure=delta < 0 and ctx.flag("ignore_failure"),
    )
    g = graph.Graph()
    lifecycle.run_phases(g, outcome.topology, [phase])
    entity, count = outcome.change.entity, outcome.change.count
    direction = "out" if delta > 0 else "in"
    description = f"scale '{entity}' {direction} to {count} ({len(acted)} node instance(s))"
    return ctx.plan(g, description, change=outcome.change)


def _delta(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise errors.InputError([f"parameter 'delta' must be an integer, not {value!r}"]) from None
