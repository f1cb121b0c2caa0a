"""Relationships of node templates: checked against their types and targets.

Every relationship names a declared relationship type and another node template; its
properties are merged into the type's schema and its operations with the type's. The
install order of an environment follows its relationships, so they must not form a cycle:
Cloudify only fails on a cycle when it builds a deployment, Cairn refuses the blueprint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cairn.dsl import loader, nodes, operations, yamlsrc
from cairn.dsl.problems import Problems

if TYPE_CHECKING:
    from cairn.dsl.nodes import Context, _Draft

KEYS = frozenset({"type", "target", "properties", "source_interfaces", "target_interfaces"})
CONTAINED_IN = "cloudify.relationships.contained_in"
LIFECYCLE_DEPENDENCY = "cloudify.relationships.depends_on_lifecycle_operation"


def parse(
    draft: _Draft, entries: Mapping[str, loader.Entry], drafts: Mapping[str, _Draft], ctx: Context
) -> None:
    entry, raw = draft.entry, draft.entry.value.get("relationships")
    if raw is None:
        return
    if not isinstance(raw, list):
        ctx.problems.at_value(
            entry.value,
            "relationships",
            entry.mark,
            "type",
            f"{entry.name!r}: 'relationships' must be a list",
        )
        return
    contained: list[tuple[str, str]] = []
    for index, rel in enumerate(raw):
        at = yamlsrc.value_mark(raw, index, entry.mark)
        built = _relationship(rel, at, entry, entries, ctx)
        if built is None:
            continue
        if CONTAINED_IN in built["type_hierarchy"]:
            contained.append((built["type"], built["target"]))
        draft.relationships.append(built)
    if len(contained) > 1:
        ctx.problems.at_value(
            entry.value,
            "relationships",
            entry.mark,
            "relationship",
            f"node {entry.name!r} has more than one relationship derived from {CONTAINED_IN}: {contained}",
        )


def _relationship(
    rel: Any,
    at: yamlsrc.Mark,
    entry: loader.Entry,
    entries: Mapping[str, loader.Entry],
    ctx: Context,
) -> dict[str, Any] | None:
    problems = ctx.problems
    if not isinstance(rel, Mapping):
        problems.add(at, "type", f"{entry.name!r}: a relationship must be a mapping")
        return None
    for key in rel:
        if key not in KEYS:
            problems.at_key(
                rel,
                key,
                at,
                "unknown-key",
                f"{entry.name!r}: relationship has unknown key {key!r} (allowed: {', '.join(sorted(KEYS))})",
            )
    type_name, target = rel.get("type"), rel.get("target")
    ok = True
    if not isinstance(type_name, str) or type_name not in ctx.relationship_types:
        problems.at_value(
            rel,
            "type",
            at,
            "unknown-type",
            f"a relationship under node {entry.name!r} declares an undefined relationship type {type_name!r}",
        )
        ok = False
    if not isinstance(target, str) or target not in entries:
        problems.at_value(
            rel,
            "target",
            at,
            "unknown-target",
            f"a relationship under node {entry.name!r} declares an undefined target node {target!r}",
        )
        ok = False
    elif target == entry.name:
        problems.at_value(
            rel,
            "target",
            at,
            "relationship",
            f"a relationship under node {entry.name!r} declares the node itself as its target",
        )
        ok = False
    if not ok or not isinstance(type_name, str) or not isinstance(target, str):
        return None
    rel_type = ctx.relationship_types[type_name]
    props = nodes.merge_properties(
        rel.get("properties"),
        rel_type["properties"],
        entry,
        ctx,
        owner=f"{entry.name!r} node relationship",
        kind="relationship type",
        field="properties",
        container=rel,
    )
    if type_name == LIFECYCLE_DEPENDENCY:
        _check_lifecycle_dependency(rel, at=at, entry=entry, target=entries[target], ctx=ctx)
    result: dict[str, Any] = {
        "type": type_name,
        "target": target,
        "properties": props,
        "type_hierarchy": list(rel_type["type_hierarchy"]),
        "at": at,
    }
    for side in ("source_interfaces", "target_interfaces"):
        for err in nodes.interface_problems(rel.get(side), rel, side, entry):
            problems.add(*err)
        result[side] = operations.parse_interfaces(rel.get(side))
        result[f"type_{side}"] = rel_type[side]
    return result


def _check_lifecycle_dependency(
    rel: Mapping[str, Any],
    *,
    at: yamlsrc.Mark,
    entry: loader.Entry,
    target: loader.Entry,
    ctx: Context,
) -> None:
    operation = (
        (rel.get("properties") or {}).get("operation")
        if isinstance(rel.get("properties"), Mapping)
        else None
    )
    if not operation:
        ctx.problems.add(
            at,
            "relationship",
            f"node {entry.name!r}: {LIFECYCLE_DEPENDENCY} needs an 'operation' property "
            "naming a lifecycle operation of the target",
        )
        return
    interfaces = target.value.get("interfaces") if isinstance(target.value, Mapping) else None
    lifecycle = (
        interfaces.get("cloudify.interfaces.lifecycle") if isinstance(interfaces, Mapping) else None
    )
    if not isinstance(lifecycle, Mapping) or operation not in lifecycle:
        ctx.problems.add(
            at,
            "relationship",
            f"define the {operation!r} operation in the target node {target.name!r} for node "
            f"{entry.name!r}'s {LIFECYCLE_DEPENDENCY} relationship",
        )


def check_cycles(drafts: Mapping[str, _Draft], problems: Problems) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for rel in drafts[name].relationships:
            target = rel["target"]
            if target not in drafts:
                continue
            if state.get(target) == 1:
                cycle = (
                    [*trail[trail.index(target) :], target] if target in trail else [name, target]
                )
                problems.add(
                    rel["at"], "cycle", f"relationships form a cycle: {' -> '.join(cycle)}"
                )
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = 2

    for name in drafts:
        if name not in state:
            visit(name, [name])
