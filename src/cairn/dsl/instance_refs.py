"""Which instance of a node a runtime reference means, when the node has several.

Split from :mod:`cairn.dsl.runtime` so that the rules for picking an instance sit in one
place, apart from evaluating the functions. A ``get_attribute`` (or a ``get_property`` whose
value holds functions) that names a node with several instances means the one related to the
instance being worked on (the *anchor*):

* the target of the anchor's relationship to that node (only for SELF's instance, as in
  Cloudify);
* else the one in the same instance of the smallest scaling group holding both, scaling
  groups being inherited through containment (Cloudify's ``_containing_groups``);
* else -- Cairn's addition, deciding only what Cloudify refuses -- the one on the same host.

When nothing decides, :class:`Unresolved` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cairn.model import runtime as runtime_model

CONTAINED_IN = "cloudify.relationships.contained_in"

Instance = runtime_model.NodeInstance


class Unresolved(Exception):
    """No single instance is meant; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Instances:
    """One snapshot of a deployment's node instances, indexed by id and by node.

    ``nodes`` are the deployment plan's nodes by id (for their relationships' type
    hierarchies, which tell containment).
    """

    def __init__(
        self, *, nodes: Mapping[str, Mapping[str, Any]], instances: Sequence[Instance]
    ) -> None:
        self._nodes = nodes
        self._by_id = {instance.id: instance for instance in instances}
        self._by_node: dict[str, list[Instance]] = {}
        for instance in instances:
            self._by_node.setdefault(instance.node_id, []).append(instance)

    def get(self, instance_id: str) -> Instance | None:
        return self._by_id.get(instance_id)

    def of_node(self, node_id: str) -> list[Instance]:
        return self._by_node.get(node_id, [])

    def resolve(self, node_id: str, anchors: Sequence[str], *, related: bool) -> Instance:
        """The one instance of ``node_id`` meant where the ``anchors`` instances are worked on.

        ``anchors`` are instance ids in Cloudify's order (SELF's, else SOURCE's and
        TARGET's); ``related`` says whether the anchor's relationships decide first (they
        do for SELF's instance only). Raises :class:`Unresolved`.
        """
        candidates = self.of_node(node_id)
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise Unresolved(f"node '{node_id}' has no instances")
        anchored = [self._anchor(a) for a in anchors]
        found = _related(anchored[0], node_id, candidates) if related else None
        # Cloudify's rules first, so Cairn's host rule only decides what Cloudify refuses.
        for rule in (self._same_group, _same_host):
            for anchor in anchored:
                found = found or rule(anchor, candidates)
        if found is not None:
            return found
        shown = " or ".join(f"'{a.id}'" for a in anchored)
        raise Unresolved(
            f"node '{node_id}' has {len(candidates)} instances and "
            + (
                f"none of them is related to {shown} by a relationship, a scaling group or a host"
                if anchored
                else "nothing here says which one to use (get_attributes_list gives them all)"
            )
        )

    def parent(self, instance: Instance) -> Instance | None:
        """The instance that ``instance`` is contained in, if any."""
        for rel in (self._nodes.get(instance.node_id) or {}).get("relationships") or ():
            if CONTAINED_IN in (rel.get("type_hierarchy") or ()):
                for link in instance.relationships:
                    if link.get("target_name") == rel.get("target"):
                        return self._by_id.get(str(link.get("target_id")))
        return None

    def groups(self, instance: Instance) -> list[tuple[str, str]]:
        """``(group, group instance)`` of every scaling group around ``instance``, innermost
        first, through its containers (Cloudify's ``_containing_groups``)."""
        found: list[tuple[str, str]] = []
        current: Instance | None = instance
        seen: set[str] = set()
        while current is not None and current.id not in seen:
            seen.add(current.id)
            found += [(str(g.get("name")), str(g.get("id"))) for g in current.scaling_groups]
            current = self.parent(current)
        return found

    def _anchor(self, instance_id: str) -> Instance:
        found = self.get(instance_id)
        if found is None:
            raise Unresolved(f"node instance '{instance_id}' is not in the deployment")
        return found

    def _same_group(self, anchor: Instance, candidates: list[Instance]) -> Instance | None:
        """The candidate in the same instance of the smallest group holding both sides."""
        candidate_groups = {name for name, _ in self.groups(candidates[0])}
        shared = [pair for pair in self.groups(anchor) if pair[0] in candidate_groups]
        if not shared:
            return None
        name, group_instance = shared[0]
        matching = [c for c in candidates if dict(self.groups(c)).get(name) == group_instance]
        return matching[0] if len(matching) == 1 else None


def _related(anchor: Instance, node_id: str, candidates: list[Instance]) -> Instance | None:
    """The candidate that ``anchor`` has a relationship to (exactly one), if any."""
    targets = {
        str(r.get("target_id")) for r in anchor.relationships if r.get("target_name") == node_id
    }
    if len(targets) != 1:
        return None
    target = targets.pop()
    return next((c for c in candidates if c.id == target), None)


def _same_host(anchor: Instance, candidates: list[Instance]) -> Instance | None:
    if anchor.host_id is None:
        return None
    matching = [c for c in candidates if c.host_id == anchor.host_id]
    return matching[0] if len(matching) == 1 else None
