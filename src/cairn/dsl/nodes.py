"""Node templates: typed, merged with their type, related, placed on hosts.

Builds :class:`cairn.model.plan.Node` objects the way Cloudify's parser does: properties
merged into the type's schema, interfaces merged with the type's, relationships checked
and merged with their types, ``host_id`` following ``contained_in`` up to a Compute node,
and the plugins each node needs. Relationship cycles are refused here (Cloudify only fails
later, when it builds the deployment): an environment whose install order is a cycle can
never be installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.dsl import loader, operations, properties, relationships, scalable, versions, yamlsrc
from cairn.dsl.problems import Problems
from cairn.model import plan

TEMPLATE_KEYS = frozenset(
    {"type", "instances", "capabilities", "interfaces", "relationships", "properties"}
)
HOST_TYPE = "cloudify.nodes.Compute"
CONTAINED_IN = "cloudify.relationships.contained_in"


@dataclass
class Context:
    node_types: Mapping[str, dict[str, Any]]
    relationship_types: Mapping[str, dict[str, Any]]
    data_types: Mapping[str, dict[str, Any]]
    ops: operations.Context
    gate: versions.Gate
    problems: Problems
    type_operations: operations.TypeOperations = field(init=False)

    def __post_init__(self) -> None:
        self.type_operations = operations.TypeOperations(self.ops)


@dataclass
class _Draft:
    entry: loader.Entry
    type_def: dict[str, Any]
    properties: dict[str, Any]
    interfaces: operations.Interfaces
    relationships: list[dict[str, Any]] = field(default_factory=list)
    scalable: plan.Scalable = field(default_factory=plan.Scalable)
    instances: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, plan.Operation] = field(default_factory=dict)
    host_id: str | None = None


def build(merged: loader.Merged, ctx: Context) -> tuple[plan.Node, ...]:
    entries = merged.section("node_templates")
    drafts: dict[str, _Draft] = {}
    for name, entry in entries.items():
        draft = _template(entry, ctx)
        if draft is not None:
            drafts[name] = draft
    for draft in drafts.values():
        relationships.parse(draft, entries, drafts, ctx)
    relationships.check_cycles(drafts, ctx.problems)
    for draft in drafts.values():
        draft.host_id = _host_id(draft, drafts, set())
    return _finish(drafts, ctx)


def _template(entry: loader.Entry, ctx: Context) -> _Draft | None:
    raw, problems = entry.value, ctx.problems
    if not isinstance(raw, Mapping):
        problems.add(entry.mark, "type", f"node template {entry.name!r} must be a mapping")
        return None
    for key in raw:
        if key not in TEMPLATE_KEYS:
            problems.at_key(
                raw,
                key,
                entry.mark,
                "unknown-key",
                f"node template {entry.name!r} has unknown key {key!r} (allowed: {', '.join(sorted(TEMPLATE_KEYS))})",
            )
    type_name = raw.get("type")
    if not isinstance(type_name, str):
        problems.at_value(
            raw,
            "type",
            entry.key_mark,
            "required",
            f"node template {entry.name!r} needs a 'type' (a node type name)",
        )
        return None
    type_def = ctx.node_types.get(type_name)
    if type_def is None:
        problems.at_value(
            raw,
            "type",
            entry.mark,
            "unknown-type",
            f"node template {entry.name!r} has unknown node type {type_name!r}",
        )
        return None
    props = merge_properties(
        raw.get("properties"),
        type_def["properties"],
        entry,
        ctx,
        owner=f"{entry.name!r} node",
        kind="type",
        field="properties",
    )
    for iface_err in interface_problems(raw.get("interfaces"), raw, "interfaces", entry):
        problems.add(*iface_err)
    interfaces = operations.parse_interfaces(raw.get("interfaces"))
    draft = _Draft(entry=entry, type_def=type_def, properties=props, interfaces=interfaces)
    _instances(draft, ctx)
    return draft


def merge_properties(
    raw: Any,
    schema: Mapping[str, Any],
    entry: loader.Entry,
    ctx: Context,
    *,
    owner: str,
    kind: str,
    field: str,
    container: Any = None,
) -> dict[str, Any]:
    container = entry.value if container is None else container
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        ctx.problems.at_value(
            container, field, entry.mark, "type", f"{owner}: {field!r} must be a mapping"
        )
        return {}
    merger = properties.Merger(ctx.data_types, owner=owner, kind=kind)
    result = merger.merge(raw, schema)
    fallback = yamlsrc.value_mark(container, field, entry.mark)
    for err in merger.errors:
        ctx.problems.add(
            properties.locate(err.at, fallback) if err.at is not None else fallback,
            err.code,
            err.message,
        )
    return result


def interface_problems(
    raw: Any, container: Any, field: str, entry: loader.Entry
) -> list[tuple[yamlsrc.Mark, str, str]]:
    found: list[tuple[yamlsrc.Mark, str, str]] = []
    if raw is None:
        return found
    if not isinstance(raw, Mapping):
        return [
            (
                yamlsrc.value_mark(container, field, entry.mark),
                "type",
                f"{entry.name!r}: {field!r} must be a mapping",
            )
        ]
    for iface, ops in raw.items():
        if ops is None:
            continue
        if not isinstance(ops, Mapping):
            found.append(
                (
                    yamlsrc.value_mark(raw, iface, entry.mark),
                    "type",
                    f"{entry.name!r}: interface {iface!r} must be a mapping",
                )
            )
            continue
        for op_name, op in ops.items():
            for err in operations.check_operation(
                op, where=f"{entry.name!r} operation {iface}.{op_name}", type_level=False
            ):
                at = err.at if isinstance(err.at, tuple) else (ops, op_name)
                found.append((properties.locate(at, entry.mark), err.code, err.message))
    return found


def _instances(draft: _Draft, ctx: Context) -> None:
    raw, entry = draft.entry.value, draft.entry
    deploy = None
    instances = raw.get("instances")
    if instances is not None:
        if (
            not isinstance(instances, Mapping)
            or not isinstance(instances.get("deploy"), int)
            or isinstance(instances.get("deploy"), bool)
            or instances["deploy"] < 0
        ):
            ctx.problems.at_value(
                raw,
                "instances",
                entry.mark,
                "instances",
                f"{entry.name!r}: 'instances' must be {{deploy: N}} with N >= 0",
            )
        else:
            deploy = instances["deploy"]
            draft.instances = dict(instances)
    caps = raw.get("capabilities")
    if caps is None:
        if deploy is not None:
            draft.scalable = plan.Scalable(
                default_instances=deploy, current_instances=deploy, planned_instances=deploy
            )
        return
    ctx.gate.check(
        entry.source, yamlsrc.key_mark(raw, "capabilities", entry.mark), "capabilities", (1, 3)
    )
    if deploy is not None:
        ctx.problems.at_key(
            raw,
            "capabilities",
            entry.mark,
            "instances",
            f"node {entry.name!r} defines both instances.deploy and capabilities.scalable "
            "(instances.deploy is deprecated)",
        )
    if not isinstance(caps, Mapping) or any(k != "scalable" for k in caps):
        ctx.problems.at_value(
            raw,
            "capabilities",
            entry.mark,
            "unknown-key",
            f"{entry.name!r}: 'capabilities' holds only 'scalable'",
        )
        return
    scal = caps.get("scalable") or {}
    if not isinstance(scal, Mapping) or any(k != "properties" for k in scal):
        ctx.problems.at_value(
            caps,
            "scalable",
            entry.mark,
            "unknown-key",
            f"{entry.name!r}: 'scalable' holds only 'properties'",
        )
        return
    draft.scalable, found = scalable.parse(scal.get("properties"), where=f"node {entry.name!r}")
    for at, code, message in found:
        ctx.problems.add(properties.locate(at, entry.mark), code, message)


def _host_id(draft: _Draft, drafts: Mapping[str, _Draft], seen: set[str]) -> str | None:
    if any(HOST_TYPE in item for item in draft.type_def["type_hierarchy"]):
        return draft.entry.name
    for rel in draft.relationships:
        if (
            CONTAINED_IN in rel["type_hierarchy"]
            and rel["target"] in drafts
            and rel["target"] not in seen
        ):
            return _host_id(drafts[rel["target"]], drafts, seen | {draft.entry.name})
    return None


def _finish(drafts: dict[str, _Draft], ctx: Context) -> tuple[plan.Node, ...]:
    rels: dict[str, list[plan.Relationship]] = {}
    for name, draft in drafts.items():
        draft.operations = _resolve(
            draft.interfaces,
            draft.type_def["interfaces"],
            ctx,
            draft.entry,
            where=f"in node {name!r} of type {draft.entry.value['type']!r}",
            code="operation",
            type_interfaces_entry=draft.type_def.get("entry"),
        )
        rels[name] = [_plan_relationship(rel, draft, drafts, ctx) for rel in draft.relationships]
    plugin_sets = _plugins_by_node(drafts, rels, ctx)
    host_plugins: dict[str, dict[str, None]] = {}
    for name, draft in drafts.items():
        if draft.host_id is not None:
            on_host = host_plugins.setdefault(draft.host_id, {})
            on_host.update((p, None) for p, ex in plugin_sets[name] if ex == "host_agent")
    nodes: list[plan.Node] = []
    for name, draft in drafts.items():
        used = plugin_sets[name]
        to_install: tuple[str, ...] = ()
        if draft.host_id == name:
            to_install = tuple(host_plugins.get(name, {}))
        elif draft.host_id is None:
            for plugin, executor in used:
                if executor == "host_agent":
                    ctx.problems.add(
                        draft.entry.key_mark,
                        "host",
                        f"node {name!r} is not contained in a host but uses plugin {plugin!r} "
                        "with the host_agent executor",
                    )
        nodes.append(
            plan.Node(
                id=name,
                type=draft.entry.value["type"],
                type_hierarchy=tuple(draft.type_def["type_hierarchy"]),
                properties=draft.properties,
                relationships=tuple(rels[name]),
                operations=draft.operations,
                scalable=draft.scalable,
                host_id=draft.host_id,
                plugins_to_install=to_install,
                deployment_plugins_to_install=tuple(
                    dict.fromkeys(p for p, ex in used if ex == "central_deployment_agent")
                ),
                instances=draft.instances,
            )
        )
    return tuple(nodes)


def _resolve(
    template: operations.Interfaces,
    type_interfaces: operations.Interfaces,
    ctx: Context,
    entry: loader.Entry,
    *,
    where: str,
    code: str,
    type_interfaces_entry: loader.Entry | None = None,
) -> dict[str, plan.Operation]:
    ops, found = ctx.type_operations.resolve(
        template, type_interfaces, where=where, error_code=code
    )
    for err in found:
        ctx.problems.add(
            _operation_mark(err.at, entry, type_interfaces_entry), err.code, err.message
        )
    return ops


def _operation_mark(at: Any, *entries: loader.Entry | None) -> yamlsrc.Mark:
    """Where an operation is written: in the template if it writes it, else in its type."""
    fallback = next(e for e in entries if e is not None).key_mark
    if not isinstance(at, tuple):
        return fallback
    interface, operation = at
    for entry in entries:
        if entry is None or not isinstance(entry.value, Mapping):
            continue
        interfaces = entry.value.get("interfaces")
        ops = interfaces.get(interface) if isinstance(interfaces, Mapping) else None
        if isinstance(ops, Mapping) and operation in ops:
            return yamlsrc.value_mark(ops, operation, fallback)
    return fallback


def _plan_relationship(
    rel: dict[str, Any], draft: _Draft, drafts: Mapping[str, _Draft], ctx: Context
) -> plan.Relationship:
    source_ops = _resolve(
        rel["source_interfaces"],
        rel["type_source_interfaces"],
        ctx,
        draft.entry,
        where=f"in relationship of type {rel['type']!r} in node {draft.entry.name!r}",
        code="operation",
    )
    target = drafts.get(rel["target"])
    target_ops = (
        _resolve(
            rel["target_interfaces"],
            rel["type_target_interfaces"],
            ctx,
            draft.entry,
            where=f"in relationship of type {rel['type']!r} in node {rel['target']!r}",
            code="operation",
        )
        if target
        else {}
    )
    return plan.Relationship(
        type=rel["type"],
        target=rel["target"],
        type_hierarchy=tuple(rel["type_hierarchy"]),
        properties=rel["properties"],
        source_operations=source_ops,
        target_operations=target_ops,
        connection_type=str(rel["properties"].get("connection_type") or "all_to_all"),
    )


def _plugins_by_node(
    drafts: Mapping[str, _Draft], rels: Mapping[str, list[plan.Relationship]], ctx: Context
) -> dict[str, list[tuple[str, str]]]:
    """(plugin, executor) pairs each node's operations use, its relationships' included."""
    found: dict[str, dict[tuple[str, str], None]] = {name: {} for name in drafts}
    for name, draft in drafts.items():
        _add_ops(found[name], draft.operations.values())
        for rel in rels[name]:
            _add_ops(found[name], rel.source_operations.values())
            if rel.target in found:
                _add_ops(found[rel.target], rel.target_operations.values())
    return {name: list(pairs) for name, pairs in found.items()}


def _add_ops(into: dict[tuple[str, str], None], ops: Any) -> None:
    for op in ops:
        if op.plugin:
            into.setdefault((op.plugin, str(op.executor)), None)
