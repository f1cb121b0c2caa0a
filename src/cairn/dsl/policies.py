"""Groups, policies and scaling groups, as Cloudify 7 builds them.

A group names node templates and other groups; a ``cloudify.policies.scaling`` policy
that targets a group makes it a *scaling group*: its members get one instance count and
scale together. Scaling groups follow Cloudify's rules:

* a node or group is a direct member of at most one scaling group, and scaling groups do
  not contain each other in a cycle;
* nodes that share a scaling group must be contained (``contained_in``, transitively) in
  a shared node, or one in the other, or have ancestors that are: a group may not tear a
  node away from its host;
* a member contained in another member of the same scaling group is dropped from the
  innermost group that holds both (it scales with its container anyway); when they meet
  only in an outer group, the member's group closest to it goes instead.

Cloudify keeps group members in a set, so their order in its plan is arbitrary; we keep
the order they were written in, without repeats.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from cairn.dsl import loader, properties, scalable, sections, versions, yamlsrc
from cairn.dsl.problems import Problems
from cairn.model import plan

SCALING_POLICY = "cloudify.policies.scaling"
CONTAINED_IN = "cloudify.relationships.contained_in"
GROUP_FIELDS = {"members": "list", "policies": "dict"}
GROUP_POLICY_FIELDS = {"type": "string", "properties": "dict", "triggers": "dict"}
GROUP_TRIGGER_FIELDS = {"type": "string", "parameters": "dict"}
POLICY_FIELDS = {"type": "string", "properties": "dict", "targets": "list"}


# --- policy types and triggers --------------------------------------------------------


def policy_types(
    merged: loader.Merged, *, problems: Problems, data_types: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``policy_types``: {name: {properties: schema, source}}."""
    return _definitions(
        merged,
        "policy_types",
        schema_key="properties",
        kind="policy type",
        data_types=data_types or {},
        problems=problems,
    )


def policy_triggers(
    merged: loader.Merged, *, problems: Problems, data_types: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``policy_triggers``: {name: {parameters: schema, source}}."""
    return _definitions(
        merged,
        "policy_triggers",
        schema_key="parameters",
        kind="policy trigger",
        data_types=data_types or {},
        problems=problems,
    )


def _definitions(
    merged: loader.Merged,
    section: str,
    *,
    schema_key: str,
    kind: str,
    data_types: Mapping[str, Any],
    problems: Problems,
) -> dict[str, Any]:
    fields = {schema_key: "dict", "source": "string"}
    result: dict[str, Any] = {}
    for name, entry in sections.entries(merged, section, problems).items():
        raw, what = entry.value, f"{kind} {name!r}"
        if raw is None:
            result[name] = {}
            continue
        if not sections.check_fields(raw, fields, what=what, at=entry.key_mark, problems=problems):
            continue
        sections.require(raw, ("source",), what=what, at=entry.key_mark, problems=problems)
        found: list[tuple[Any, str, str]] = []
        written = raw.get(schema_key)
        schema = properties.parse_schema(
            written if isinstance(written, dict) else None,
            data_types=data_types,
            owner=what,
            problems=found,
        )
        for at, code, message in found:
            problems.add(properties.locate(at, entry.key_mark), code, message)
        result[name] = {
            schema_key: properties.strip_initial_defaults(schema),
            "source": raw.get("source"),
        }
    return result


# --- groups ---------------------------------------------------------------------------


def groups(
    merged: loader.Merged,
    *,
    node_names: Iterable[str],
    problems: Problems,
    types: Mapping[str, Any] | None = None,
    triggers: Mapping[str, Any] | None = None,
    data_types: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``groups``: {name: {members, policies}}.

    ``types`` and ``triggers`` are the parsed policy types and triggers; when not given
    they are parsed here (their problems are reported by :func:`policy_types` and
    :func:`policy_triggers`).
    """
    dtypes = data_types or {}
    if types is None:
        types = policy_types(merged, problems=Problems(), data_types=dtypes)
    if triggers is None:
        triggers = policy_triggers(merged, problems=Problems(), data_types=dtypes)
    nodes = frozenset(node_names)
    entries = sections.entries(merged, "groups", problems)
    known = nodes | frozenset(entries)
    context = _PolicyContext(types=types, triggers=triggers, data_types=dtypes, problems=problems)
    result: dict[str, Any] = {}
    for name, entry in entries.items():
        what = f"group {name!r}"
        if name in nodes:
            problems.add(
                entry.key_mark,
                "name-clash",
                f"{what} has the name of a node template; the two must differ",
            )
        raw = entry.value
        if raw is None:
            result[name] = {}
            continue
        if not sections.check_fields(
            raw, GROUP_FIELDS, what=what, at=entry.key_mark, problems=problems
        ):
            continue
        members = _members(raw, what=what, at=entry.key_mark, known=known, problems=problems)
        result[name] = {
            "members": members,
            "policies": context.group_policies(raw.get("policies"), name, entry),
        }
    return result


def _members(
    raw: Mapping[str, Any],
    *,
    what: str,
    at: yamlsrc.Mark,
    known: frozenset[str],
    problems: Problems,
) -> list[str]:
    members = raw.get("members")
    if members is None:
        sections.require(raw, ("members",), what=what, at=at, problems=problems)
        return []
    if not isinstance(members, list):
        return []
    if not members:
        problems.at_value(raw, "members", at, "no-members", f"{what} needs at least one member")
    for index, member in enumerate(members):
        mark = yamlsrc.value_mark(members, index, at)
        if not isinstance(member, str):
            problems.add(
                mark, "type", f"{what}: a member must be a string, not {sections.kind_of(member)}"
            )
        elif member not in known:
            problems.add(
                mark,
                "unknown-member",
                f"{what}: member {member!r} is neither a node template nor a group",
            )
    return list(dict.fromkeys(m for m in members if isinstance(m, str)))


class _PolicyContext:
    """Policies written inside a group: typed by policy types, with triggers."""

    def __init__(
        self,
        *,
        types: Mapping[str, Any],
        triggers: Mapping[str, Any],
        data_types: Mapping[str, Any],
        problems: Problems,
    ) -> None:
        self.types, self.triggers = types, triggers
        self.data_types, self.problems = data_types, problems

    def group_policies(self, raw: Any, group: str, entry: loader.Entry) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if not isinstance(raw, dict):
            return result
        for name, policy in raw.items():
            what = f"group {group!r} policy {name!r}"
            at = yamlsrc.key_mark(raw, name, entry.key_mark)
            if policy is None:
                result[str(name)] = {}
                continue
            if not sections.check_fields(
                policy, GROUP_POLICY_FIELDS, what=what, at=at, problems=self.problems
            ):
                continue
            type_name = self._reference(policy, self.types, what=what, at=at, kind="policy type")
            schema = (self.types[type_name] or {}).get("properties") or {} if type_name else None
            result[str(name)] = {
                "type": policy.get("type"),
                "properties": self._merge(
                    policy.get("properties"), schema, what, "policy type", at
                ),
                "triggers": self._triggers(policy.get("triggers"), what, at),
            }
        return result

    def _triggers(self, raw: Any, owner: str, at: yamlsrc.Mark) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if not isinstance(raw, dict):
            return result
        for name, trigger in raw.items():
            what = f"{owner} trigger {name!r}"
            mark = yamlsrc.key_mark(raw, name, at)
            if trigger is None:
                result[str(name)] = {}
                continue
            if not sections.check_fields(
                trigger, GROUP_TRIGGER_FIELDS, what=what, at=mark, problems=self.problems
            ):
                continue
            type_name = self._reference(
                trigger, self.triggers, what=what, at=mark, kind="policy trigger"
            )
            schema = (self.triggers[type_name] or {}).get("parameters") or {} if type_name else None
            result[str(name)] = {
                "type": trigger.get("type"),
                "parameters": self._merge(
                    trigger.get("parameters"), schema, what, "policy trigger", mark
                ),
            }
        return result

    def _reference(
        self,
        raw: Mapping[str, Any],
        known: Mapping[str, Any],
        *,
        what: str,
        at: yamlsrc.Mark,
        kind: str,
    ) -> str | None:
        value = raw.get("type")
        if value is None:
            sections.require(raw, ("type",), what=what, at=at, problems=self.problems)
            return None
        if not isinstance(value, str):
            return None
        if value not in known:
            self.problems.at_value(
                raw,
                "type",
                at,
                "unknown-type",
                f"{what} has type {value!r}, which is not a defined {kind}",
            )
            return None
        return value

    def _merge(
        self,
        instance: Any,
        schema: Mapping[str, Any] | None,
        owner: str,
        kind: str,
        at: yamlsrc.Mark,
    ) -> Any:
        if instance is None:
            instance = {}
        if schema is None or not isinstance(instance, Mapping):
            return instance
        merger = properties.Merger(self.data_types, owner=owner, kind=kind)
        merged = merger.merge(instance, schema)
        for err in merger.errors:
            mark = properties.locate(err.at, at) if err.at is not None else at
            self.problems.add(mark, err.code, err.message)
        return merged


# --- policies and scaling groups ------------------------------------------------------


def policies(
    merged: loader.Merged,
    *,
    node_names: Iterable[str],
    groups: Mapping[str, Any],
    gate: versions.Gate,
    problems: Problems,
    nodes: Iterable[plan.Node] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``policies`` ({name: {type, properties, targets}}) and the scaling groups they make.

    ``nodes`` gives the ``contained_in`` relationships the scaling group rules need;
    without them every node counts as uncontained.
    """
    sections.gate_section(merged, "policies", gate, (1, 3))
    result: dict[str, Any] = {}
    scaling: dict[str, Any] = {}
    for name, entry in sections.entries(merged, "policies", problems).items():
        before = len(problems)
        policy = _policy(entry, groups, problems)
        if policy is None:
            continue
        result[name] = policy
        if len(problems) == before:
            for target in policy["targets"]:
                scaling[target] = {
                    "members": list(groups[target]["members"]),
                    "properties": dict(policy["properties"]),
                }
    _ScalingGroups(merged, scaling, node_names=node_names, nodes=nodes, problems=problems).check()
    return result, scaling


def _policy(
    entry: loader.Entry, groups: Mapping[str, Any], problems: Problems
) -> dict[str, Any] | None:
    raw, what, at = entry.value, f"policy {entry.name!r}", entry.key_mark
    if raw is None:
        problems.add(at, "required", f"{what} needs 'type' and 'targets'")
        return None
    if not sections.check_fields(raw, POLICY_FIELDS, what=what, at=at, problems=problems):
        return None
    sections.require(raw, ("type", "targets"), what=what, at=at, problems=problems)
    type_name = raw.get("type")
    if isinstance(type_name, str) and type_name != SCALING_POLICY:
        problems.at_value(
            raw,
            "type",
            at,
            "policy-type",
            f"{what}: policy type {type_name!r} is not implemented, only {SCALING_POLICY!r} is",
        )
    written = raw.get("properties")
    counts, found = scalable.parse(written if isinstance(written, dict) else None, where=what)
    for item_at, code, message in found:
        problems.add(properties.locate(item_at, at), code, message)
    return {
        "type": type_name,
        "properties": scalable.to_dict(counts),
        "targets": _targets(raw, groups, what=what, at=at, problems=problems),
    }


def _targets(
    raw: Mapping[str, Any],
    groups: Mapping[str, Any],
    *,
    what: str,
    at: yamlsrc.Mark,
    problems: Problems,
) -> list[Any]:
    targets = raw.get("targets")
    if not isinstance(targets, list):
        return []
    if not targets:
        problems.at_value(
            raw, "targets", at, "no-targets", f"{what} needs at least one target group"
        )
    for index, target in enumerate(targets):
        mark = yamlsrc.value_mark(targets, index, at)
        if not isinstance(target, str):
            problems.add(
                mark,
                "type",
                f"{what}: a target must be a group name, not {sections.kind_of(target)}",
            )
        elif target not in groups:
            problems.add(
                mark,
                "unknown-target",
                f"{what}: target {target!r} is not a group (only groups can be policy targets)",
            )
        elif "members" not in groups[target]:
            problems.add(mark, "required", f"{what}: target group {target!r} has no members")
    return list(targets)


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class _ScalingGroups:
    """Cloudify's checks of scaling group membership, and its pruning of contained members."""

    def __init__(
        self,
        merged: loader.Merged,
        scaling: dict[str, Any],
        *,
        node_names: Iterable[str],
        nodes: Iterable[plan.Node],
        problems: Problems,
    ) -> None:
        self.scaling, self.problems = scaling, problems
        self.group_entries = merged.section("groups")
        self.fallback = merged.main.mark
        nodes = tuple(nodes)
        self.nodes = frozenset(node_names) | {n.id for n in nodes}
        self.containers: dict[str, str] = {}
        for node in nodes:
            for rel in node.relationships:
                if rel.is_a(CONTAINED_IN):
                    self.containers.setdefault(node.id, rel.target)
        # member -> the scaling groups it is a direct member of (a graph, in written order)
        self.member_of: dict[str, list[str]] = {}
        for group, data in scaling.items():
            for member in data["members"]:
                self.member_of.setdefault(member, [])
                self.member_of.setdefault(group, [])
                if group not in self.member_of[member]:
                    self.member_of[member].append(group)

    def check(self) -> None:
        cycles = self._cycles()
        multiple = self._multiple()
        if cycles or multiple:
            return  # Cloudify stops here; the rules below assume a forest of groups
        self._containment()
        self._prune()

    def _group_mark(self, group: str) -> yamlsrc.Mark:
        entry = self.group_entries.get(group)
        return entry.key_mark if entry is not None else self.fallback

    def _member_mark(self, group: str, member: str) -> yamlsrc.Mark:
        entry = self.group_entries.get(group)
        if entry is None or not isinstance(entry.value, dict):
            return self._group_mark(group)
        members = entry.value.get("members")
        if isinstance(members, list) and member in members:
            return yamlsrc.value_mark(members, members.index(member), entry.key_mark)
        return entry.key_mark

    def _reach(self, start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(self.member_of.get(start, []))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.member_of.get(current, []))
        return seen

    def _cycles(self) -> bool:
        reach = {v: self._reach(v) for v in self.member_of}
        reported: set[str] = set()
        for vertex in self.member_of:
            if vertex in reported or vertex not in reach[vertex]:
                continue
            cycle = [v for v in self.member_of if v in reach[vertex] and vertex in reach[v]]
            reported.update(cycle)
            names = " -> ".join([*cycle, cycle[0]])
            self.problems.add(
                self._group_mark(vertex),
                "group-cycle",
                f"scaling groups contain each other in a cycle: {names}",
            )
        return bool(reported)

    def _multiple(self) -> bool:
        found = False
        for member, containing in self.member_of.items():
            if len(containing) > 1:
                found = True
                self.problems.add(
                    self._member_mark(containing[1], member),
                    "multiple-groups",
                    f"{member!r} is a member of several scaling groups ({', '.join(containing)}); "
                    "a node or group can be a member of one scaling group only",
                )
        return found

    def _node_chain(self, node: str) -> list[str]:
        """The node, then the node it is contained in, and so on up."""
        chain, seen = [node], {node}
        while (parent := self.containers.get(chain[-1])) is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
        return chain

    def _group_chain(self, member: str) -> list[str]:
        """The member, then its scaling group, that group's scaling group, and so on."""
        chain = [member]
        while self.member_of.get(chain[-1]):
            chain.append(self.member_of[chain[-1]][0])
        return chain

    def _pair_ok(self, a: str, b: str) -> bool:
        if a == b:
            return True
        above_a, above_b = set(self._node_chain(a)[1:]), set(self._node_chain(b)[1:])
        if not (above_a or above_b):
            return True
        return b in above_a or a in above_b or bool(above_a & above_b)

    def _containment(self) -> None:
        groups = [g for g in self.member_of if g not in self.nodes]
        group_set = set(groups)
        ok: set[tuple[str, str]] = set()
        bad: dict[tuple[str, str], str] = {}
        checked: set[tuple[str, str]] = set()
        for group in groups:
            members = sorted(self._members_of(group) - group_set)
            for a, b in itertools.combinations_with_replacement(members, 2):
                if (a, b) in checked:
                    continue
                checked.add((a, b))
                if self._pair_ok(a, b):
                    ok.add((a, b))
                else:
                    bad[(a, b)] = group
        for (a, b), group in sorted(bad.items()):
            rescued = any(_pair(b, c) in ok for c in self._node_chain(a)) or any(
                _pair(a, c) in ok for c in self._node_chain(b)
            )
            if rescued:
                ok.add((a, b))
                continue
            self.problems.add(
                self._group_mark(group),
                "not-contained",
                f"nodes {a!r} and {b!r} share scaling group {group!r} but neither is contained "
                "in the other and no node contains both, nor any of their ancestors",
            )

    def _members_of(self, group: str) -> set[str]:
        """Everything that reaches ``group`` in the membership graph (members, recursively)."""
        return {v for v in self.member_of if v != group and group in self._reach(v)}

    def _prune(self) -> None:
        for member in self.member_of:
            if member not in self.nodes:
                continue
            containing_groups = self._group_chain(member)
            if len(containing_groups) < 2:
                continue
            for node in self._node_chain(member)[1:]:
                if node not in self.member_of:
                    continue
                node_groups = set(self._group_chain(node))
                shared = set(containing_groups) & node_groups
                if not shared:
                    continue
                innermost = next(g for g in containing_groups if g in shared)
                if containing_groups[1] == innermost:
                    removed = member
                else:
                    outer = (g for g in reversed(containing_groups) if g not in node_groups)
                    removed = next(outer, member)
                members = self.scaling[innermost]["members"]
                if removed in members:
                    members.remove(removed)
