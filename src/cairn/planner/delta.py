"""The delta between a deployment's revision in force and a new one (pure).

Two levels, both JSON-able and in a stable order, so a preview reads like ``terraform plan``:

- :func:`plan_changes`: what differs between the two deployment plans: nodes, their
  properties, operations and relationships, the deployment's inputs, outputs, capabilities
  and workflows, each ``added``, ``removed`` or ``modified``.
- :func:`instance_changes`: what that means for the node instances. The new plan's instances
  (fresh ids) are matched to the stored ones node by node, containers first, within the same
  container instance, in order: a match keeps the stored instance; a new instance left over is
  *added*; a stored one left over (its node gone, its container gone or changed, fewer
  instances now) is *removed* with everything contained in it. A kept instance is *modified*
  when its node's definition changed, or when its last drift check says it drifted
  (``system_properties["drift"]["drifted"]``), so an update with no new blueprint reapplies
  drifted instances.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cairn.model import runtime
from cairn.planner import topology

JSON = Any
ADDED, REMOVED, MODIFIED = "added", "removed", "modified"
# what defines a node for the delta; instance counts show as added or removed instances
NODE_FIELDS = ("type", "properties", "operations", "relationships")
SECTIONS = (("output", "outputs"), ("capability", "capabilities"), ("workflow", "workflows"))


@dataclass(frozen=True, kw_only=True)
class Change:
    """One difference: ``what`` (node, property, operation, relationship, input, output,
    capability, workflow), its ``name``, the ``node`` it belongs to, and old and new values
    (for properties, inputs and outputs)."""

    what: str
    name: str
    change: str
    node: str | None = None
    old: JSON = None
    new: JSON = None

    def to_json(self) -> dict[str, JSON]:
        found: dict[str, JSON] = {"what": self.what, "name": self.name, "change": self.change}
        if self.node is not None:
            found["node"] = self.node
        if self.change != ADDED and self.what in {"property", "input", "output"}:
            found["old"] = self.old
        if self.change != REMOVED and self.what in {"property", "input", "output"}:
            found["new"] = self.new
        return found


def plan_changes(old: Mapping[str, JSON], new: Mapping[str, JSON]) -> list[Change]:
    """Every difference between two deployment plans (``model.deployment.to_json`` form)."""
    changes = _mapping("input", old.get("inputs") or {}, new.get("inputs") or {}, values=True)
    old_nodes, new_nodes = _nodes(old), _nodes(new)
    for name in _names(old_nodes, new_nodes):
        if name not in new_nodes:
            changes.append(Change(what="node", name=name, change=REMOVED))
        elif name not in old_nodes:
            changes.append(Change(what="node", name=name, change=ADDED))
        else:
            changes += _node(name, old_nodes[name], new_nodes[name])
    for what, key in SECTIONS:
        changes += _mapping(what, old.get(key) or {}, new.get(key) or {}, values=what == "output")
    return changes


def _node(name: str, old: Mapping[str, JSON], new: Mapping[str, JSON]) -> list[Change]:
    changes: list[Change] = []
    if old.get("type") != new.get("type"):
        changes.append(Change(what="type", name=str(new.get("type")), node=name, change=MODIFIED))
    changes += _mapping(
        "property", old.get("properties") or {}, new.get("properties") or {}, values=True, node=name
    )
    changes += _mapping(
        "operation", old.get("operations") or {}, new.get("operations") or {}, node=name
    )
    changes += _mapping(
        "relationship", _relationships(old), _relationships(new), node=name, values=False
    )
    return changes


def _mapping(
    what: str,
    old: Mapping[str, JSON],
    new: Mapping[str, JSON],
    *,
    values: bool = False,
    node: str | None = None,
) -> list[Change]:
    changes = []
    for key in _names(old, new):
        if key not in new:
            change = REMOVED
        elif key not in old:
            change = ADDED
        elif old[key] != new[key]:
            change = MODIFIED
        else:
            continue
        changes.append(
            Change(
                what=what,
                name=str(key),
                change=change,
                node=node,
                old=old.get(key) if values else None,
                new=new.get(key) if values else None,
            )
        )
    return changes


def _relationships(node: Mapping[str, JSON]) -> dict[str, JSON]:
    """A node's relationships by ``<type> -> <target>``."""
    return {f"{r.get('type')} -> {r.get('target')}": r for r in node.get("relationships") or ()}


def _nodes(deployment_plan: Mapping[str, JSON]) -> dict[str, Mapping[str, JSON]]:
    return {str(n["id"]): n for n in deployment_plan.get("nodes") or () if isinstance(n, Mapping)}


def _names(old: Mapping[str, JSON], new: Mapping[str, JSON]) -> list[str]:
    return sorted({*old, *new}, key=str)


def node_definition_changed(old: Mapping[str, JSON], new: Mapping[str, JSON]) -> bool:
    return any(old.get(key) != new.get(key) for key in NODE_FIELDS)


def drifted(instance: runtime.NodeInstance) -> bool:
    drift = instance.system_properties.get("drift")
    return isinstance(drift, Mapping) and bool(drift.get("drifted"))


# --- instances --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InstanceDelta:
    """What an update does to the node instances.

    ``removed``: stored instances that go (in stored order, contained ones included).
    ``added``: new instances, uninitialized, their relationships pointing at the instances
    they will have. ``modified``: kept instances to update, each with its reasons.
    ``relationships``: the final relationship lists of kept instances whose list changes;
    ``gained`` and ``lost``: the relationships (``{type, target_id, target_name}``) that kept
    instances gain and lose.
    """

    removed: tuple[str, ...] = ()
    added: tuple[runtime.NodeInstance, ...] = ()
    modified: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    relationships: Mapping[str, tuple[Mapping[str, JSON], ...]] = field(default_factory=dict)
    gained: Mapping[str, tuple[Mapping[str, JSON], ...]] = field(default_factory=dict)
    lost: Mapping[str, tuple[Mapping[str, JSON], ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.removed or self.added or self.modified or self.relationships)

    def to_json(self) -> dict[str, JSON]:
        return {
            "removed": list(self.removed),
            "added": [{"id": i.id, "node": i.node_id} for i in self.added],
            "modified": [{"id": k, "reasons": list(v)} for k, v in self.modified.items()],
            "relationships": {
                "gained": {k: [dict(r) for r in v] for k, v in self.gained.items()},
                "lost": {k: [dict(r) for r in v] for k, v in self.lost.items()},
            },
        }


# the reason given for an instance a failed update left half done (it is reinstalled)
UNFINISHED = "left unfinished by a failed update"


def instance_changes(
    *,
    old: Mapping[str, JSON],
    new: Mapping[str, JSON],
    instances: Sequence[runtime.NodeInstance],
    deployment_id: str,
    unfinished: Collection[str] = (),
) -> InstanceDelta:
    """Matches the new plan's ``node_instances`` to the stored ``instances`` (module doc);
    the kept ones named in ``unfinished`` are modified whatever their definition says."""
    matcher = _Matcher(old, new, instances)
    mapping = matcher.match()
    kept = {stored for stored in mapping.values() if stored in matcher.stored}
    removed = _with_contained(matcher, [i.id for i in instances if i.id not in kept])
    final = {
        mapping[str(p["id"])]: [_mapped(r, mapping) for r in p.get("relationships") or ()]
        for p in matcher.planned
    }
    added = tuple(
        _new_instance(p, mapping, final, deployment_id)
        for p in matcher.planned
        if mapping[str(p["id"])] not in matcher.stored
    )
    relationships, gained, lost = {}, {}, {}
    for instance in instances:
        if instance.id in removed:
            continue
        now = [_written(r) for r in instance.relationships]
        after = final[instance.id]
        if now != after:
            relationships[instance.id] = tuple(after)
            if plus := [r for r in after if r not in now]:
                gained[instance.id] = tuple(plus)
            if minus := [r for r in now if r not in after]:
                lost[instance.id] = tuple(minus)
    modified = {
        i.id: reasons
        for i in instances
        if i.id not in removed
        and (reasons := (*_reasons(i, matcher), *((UNFINISHED,) if i.id in unfinished else ())))
    }
    return InstanceDelta(
        removed=tuple(i.id for i in instances if i.id in removed),
        added=added,
        modified=modified,
        relationships=relationships,
        gained=gained,
        lost=lost,
    )


def _reasons(instance: runtime.NodeInstance, matcher: _Matcher) -> tuple[str, ...]:
    reasons = []
    old, new = matcher.old_nodes[instance.node_id], matcher.new_nodes[instance.node_id]
    if node_definition_changed(old, new):
        reasons.append(f"node {instance.node_id} changed")
    else:
        used = template_inputs(new) & matcher.changed_inputs
        reasons.extend(f"input {name} changed (its template uses it)" for name in sorted(used))
    if drifted(instance):
        reasons.append("drifted")
    return tuple(reasons)


FILE_TYPE = "cairn.nodes.File"
_PLACEHOLDER = re.compile(r"\$(?:\{([_a-zA-Z][_a-zA-Z0-9]*)\}|([_a-zA-Z][_a-zA-Z0-9]*))")


def template_inputs(node: Mapping[str, JSON]) -> set[str]:
    """The deployment inputs a ``cairn.nodes.File`` template reads at run time (its
    ``${name}`` placeholders that its ``vars`` do not set): a change of one changes the file
    though no property changed."""
    if FILE_TYPE not in (node.get("type_hierarchy") or ()):
        return set()
    properties = node.get("properties") or {}
    template = properties.get("template")
    if not isinstance(template, str):
        return set()
    given = properties.get("vars")
    named = {a or b for a, b in _PLACEHOLDER.findall(template.replace("$$", ""))}
    return named - set(given if isinstance(given, Mapping) else ())


def _with_contained(matcher: _Matcher, ids: Sequence[str]) -> set[str]:
    found = set(ids)
    grew = True
    while grew:
        grew = False
        for instance_id, container in matcher.stored_container.items():
            if container in found and instance_id not in found:
                found.add(instance_id)
                grew = True
    return found


def _written(rel: Mapping[str, JSON]) -> dict[str, JSON]:
    return {
        "type": rel.get("type"),
        "target_id": rel.get("target_id"),
        "target_name": rel.get("target_name"),
    }


def _mapped(rel: Mapping[str, JSON], mapping: Mapping[str, str]) -> dict[str, JSON]:
    written = _written(rel)
    written["target_id"] = mapping.get(str(rel.get("target_id")), rel.get("target_id"))
    return written


def _new_instance(
    planned: Mapping[str, JSON],
    mapping: Mapping[str, str],
    final: Mapping[str, list[dict[str, JSON]]],
    deployment_id: str,
) -> runtime.NodeInstance:
    host = planned.get("host_id")
    instance_id = mapping[str(planned["id"])]
    return runtime.NodeInstance(
        id=instance_id,
        deployment_id=deployment_id,
        node_id=str(planned["node_id"]),
        host_id=None if host is None else mapping.get(str(host), str(host)),
        state=runtime.InstanceState.UNINITIALIZED,
        runtime_properties={},
        relationships=tuple(final[instance_id]),
        scaling_groups=tuple(dict(g) for g in planned.get("scaling_groups") or ()),
    )


class _Matcher:
    """Pairs new planned instances with stored ones (see the module doc)."""

    def __init__(
        self,
        old: Mapping[str, JSON],
        new: Mapping[str, JSON],
        instances: Sequence[runtime.NodeInstance],
    ) -> None:
        self.old_nodes, self.new_nodes = _nodes(old), _nodes(new)
        self.planned: list[Mapping[str, JSON]] = [
            p for p in new.get("node_instances") or () if isinstance(p, Mapping)
        ]
        self.stored = {i.id: i for i in instances}
        old_inputs, new_inputs = old.get("inputs") or {}, new.get("inputs") or {}
        self.changed_inputs = {
            name
            for name in {*old_inputs, *new_inputs}
            if old_inputs.get(name) != new_inputs.get(name)
        }
        self.stored_container = {
            i.id: _container(i.relationships, self.old_nodes.get(i.node_id, {})) for i in instances
        }

    def match(self) -> dict[str, str]:
        """New planned id -> the id it will have (a stored one, or itself)."""
        mapping: dict[str, str] = {}
        for node_id in self._containers_first():
            self._match_node(node_id, mapping)
        return mapping

    def _containers_first(self) -> list[str]:
        order: list[str] = []

        def visit(node_id: str, seen: tuple[str, ...]) -> None:
            if node_id in order or node_id in seen or node_id not in self.new_nodes:
                return
            parent = _container_node(self.new_nodes[node_id])
            if parent is not None:
                visit(parent, (*seen, node_id))
            order.append(node_id)

        for node_id in self.new_nodes:
            visit(node_id, ())
        return order

    def _match_node(self, node_id: str, mapping: dict[str, str]) -> None:
        planned = [p for p in self.planned if p.get("node_id") == node_id]
        new_node, old_node = self.new_nodes[node_id], self.old_nodes.get(node_id)
        same_place = old_node is not None and (
            _container_node(old_node) == _container_node(new_node)
            and old_node.get("type") == new_node.get("type")
        )
        stored = [i for i in self.stored.values() if i.node_id == node_id] if same_place else []
        groups: dict[str | None, list[str]] = {}
        for instance in stored:
            groups.setdefault(self.stored_container[instance.id], []).append(instance.id)
        for p in planned:
            container = _container(p.get("relationships") or (), new_node)
            key = None if container is None else mapping.get(container, container)
            candidates = groups.get(key) or []
            mapping[str(p["id"])] = candidates.pop(0) if candidates else str(p["id"])


def _container_node(node: Mapping[str, JSON]) -> str | None:
    for rel in node.get("relationships") or ():
        if topology.CONTAINED_IN in (rel.get("type_hierarchy") or ()):
            return str(rel.get("target"))
    return None


def _container(rels: Sequence[Mapping[str, JSON]], node: Mapping[str, JSON]) -> str | None:
    target_node = _container_node(node)
    if target_node is None:
        return None
    for rel in rels:
        if rel.get("target_name") == target_node:
            return str(rel.get("target_id"))
    return None
