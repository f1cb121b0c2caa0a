"""Node types, relationship types and data types: hierarchies and merged definitions.

Each type is resolved once, after its parent (``derived_from``) and, for data types, after
the data types its properties use. A cycle or an unknown parent is reported where the
``derived_from`` is written and the type is left out, so one broken type does not hide the
problems of the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cairn.dsl import loader, operations, properties, versions, yamlsrc
from cairn.dsl.problems import Problems

TypeDefs = dict[str, dict[str, Any]]

NODE_TYPE_KEYS = frozenset({"derived_from", "interfaces", "properties", "runtime_properties"})
RELATIONSHIP_KEYS = frozenset(
    {"derived_from", "properties", "source_interfaces", "target_interfaces"}
)
DATA_TYPE_KEYS = frozenset({"properties", "description", "derived_from", "version"})


class _Resolver:
    """Resolves one section of types in dependency order."""

    def __init__(
        self,
        entries: Mapping[str, loader.Entry],
        *,
        kind: str,
        build: Callable[[loader.Entry, dict[str, Any] | None], dict[str, Any] | None],
        problems: Problems,
        deps: Callable[[loader.Entry], list[str]] | None = None,
    ) -> None:
        self.entries = entries
        self.kind = kind
        self.build = build
        self.problems = problems
        self.deps = deps
        self.done: TypeDefs = {}
        self.failed: set[str] = set()
        self.visiting: set[str] = set()

    def all(self) -> TypeDefs:
        for name in self.entries:
            self.get(name)
        return {name: self.done[name] for name in self.entries if name in self.done}

    def get(self, name: str) -> dict[str, Any] | None:
        if name in self.done:
            return self.done[name]
        if name in self.failed or name not in self.entries:
            return None
        entry = self.entries[name]
        if name in self.visiting:
            self.problems.add(entry.key_mark, "cycle", f"{self.kind} {name!r} derives from itself")
            self.failed.add(name)
            return None
        if not isinstance(entry.value, Mapping):
            self.problems.add(entry.mark, "type", f"{self.kind} {name!r} must be a mapping")
            self.failed.add(name)
            return None
        self.visiting.add(name)
        try:
            for dependency in self.deps(entry) if self.deps else []:
                self.get(dependency)
            parent = self._parent(entry)
            if parent is False:
                self.failed.add(name)
                return None
            built = self.build(entry, parent if isinstance(parent, dict) else None)
        finally:
            self.visiting.discard(name)
        if built is None:
            self.failed.add(name)
            return None
        self.done[name] = built
        return built

    def _parent(self, entry: loader.Entry) -> dict[str, Any] | bool | None:
        parent_name = entry.value.get("derived_from")
        if parent_name is None:
            return None
        at = yamlsrc.value_mark(entry.value, "derived_from", entry.mark)
        if not isinstance(parent_name, str):
            self.problems.add(at, "type", "'derived_from' must be a string")
            return False
        if parent_name not in self.entries:
            self.problems.add(
                at,
                "unknown-type",
                f"{self.kind} {entry.name!r} derives from {parent_name!r}, which is not defined",
            )
            return False
        parent = self.get(parent_name)
        return parent if parent is not None else False


def check_keys(entry: loader.Entry, allowed: frozenset[str], kind: str, problems: Problems) -> None:
    for key in entry.value:
        if key not in allowed:
            problems.at_key(
                entry.value,
                key,
                entry.mark,
                "unknown-key",
                f"{kind} {entry.name!r} has unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
            )


def _schema(
    entry: loader.Entry, raw: Any, data_types: TypeDefs, kind: str, problems: Problems
) -> dict[str, Any]:
    found: list[tuple[Any, str, str]] = []
    schema = properties.parse_schema(
        raw, data_types=data_types, owner=f"{kind} {entry.name!r}", problems=found
    )
    for at, code, message in found:
        problems.add(properties.locate(at, entry.mark), code, message)
    return schema


def _check_interfaces(entry: loader.Entry, raw: Any, field: str, problems: Problems) -> None:
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        problems.at_value(
            entry.value, field, entry.mark, "type", f"{entry.name!r}: {field!r} must be a mapping"
        )
        return
    for iface, ops in raw.items():
        if ops is None:
            continue
        if not isinstance(ops, Mapping):
            problems.at_value(
                raw,
                iface,
                entry.mark,
                "type",
                f"{entry.name!r}: interface {iface!r} must be a mapping",
            )
            continue
        for op_name, op in ops.items():
            for err in operations.check_operation(
                op, where=f"operation {iface}.{op_name}", type_level=True
            ):
                problems.add(
                    properties.locate(
                        err.at if isinstance(err.at, tuple) else (ops, op_name), entry.mark
                    ),
                    err.code,
                    err.message,
                )


def data_types(merged: loader.Merged, gate: versions.Gate, problems: Problems) -> TypeDefs:
    entries = merged.section("data_types")
    for entry in entries.values():
        gate.check(entry.source, entry.key_mark, "data_types", (1, 2))

    def deps(entry: loader.Entry) -> list[str]:
        raw = entry.value.get("properties")
        if not isinstance(raw, Mapping):
            return []
        return [
            p["type"]
            for p in raw.values()
            if isinstance(p, Mapping) and isinstance(p.get("type"), str)
        ]

    resolver: _Resolver

    def build(entry: loader.Entry, parent: dict[str, Any] | None) -> dict[str, Any] | None:
        if entry.name in properties.PRIMITIVE_TYPES:
            problems.add(
                entry.key_mark, "type", f"cannot redefine the primitive type {entry.name!r}"
            )
            return None
        check_keys(entry, DATA_TYPE_KEYS, "data type", problems)
        known = dict(resolver.done)
        schema = _schema(entry, entry.value.get("properties"), known, "data type", problems)
        if parent:
            schema = properties.merge_schemas(parent.get("properties", {}), schema, known)
        result = {
            k: entry.value[k]
            for k in ("description", "derived_from", "version")
            if k in entry.value
        }
        result["properties"] = properties.strip_initial_defaults(schema)
        return result

    resolver = _Resolver(entries, kind="data type", build=build, problems=problems, deps=deps)
    return resolver.all()


def node_types(
    merged: loader.Merged, dtypes: TypeDefs, gate: versions.Gate, problems: Problems
) -> TypeDefs:
    def build(entry: loader.Entry, parent: dict[str, Any] | None) -> dict[str, Any] | None:
        check_keys(entry, NODE_TYPE_KEYS, "node type", problems)
        if "runtime_properties" in entry.value:
            gate.check(
                entry.source,
                yamlsrc.key_mark(entry.value, "runtime_properties", entry.mark),
                "runtime_properties",
                (1, 5),
            )
        _check_interfaces(entry, entry.value.get("interfaces"), "interfaces", problems)
        props = _schema(entry, entry.value.get("properties"), dtypes, "node type", problems)
        runtime = _schema(
            entry, entry.value.get("runtime_properties"), dtypes, "node type", problems
        )
        interfaces = operations.parse_interfaces(entry.value.get("interfaces"))
        hierarchy = [entry.name]
        if parent:
            props = properties.merge_schemas(parent["properties"], props, dtypes)
            runtime = properties.merge_schemas(parent["runtime_properties"], runtime, dtypes)
            interfaces = operations.merge_type_interfaces(interfaces, parent["interfaces"])
            hierarchy = [*parent["type_hierarchy"], entry.name]
        return {
            "name": entry.name,
            "properties": props,
            "runtime_properties": runtime,
            "interfaces": interfaces,
            "type_hierarchy": hierarchy,
            "entry": entry,
        }

    return _Resolver(
        merged.section("node_types"), kind="node type", build=build, problems=problems
    ).all()


def relationship_types(merged: loader.Merged, dtypes: TypeDefs, problems: Problems) -> TypeDefs:
    def build(entry: loader.Entry, parent: dict[str, Any] | None) -> dict[str, Any] | None:
        check_keys(entry, RELATIONSHIP_KEYS, "relationship type", problems)
        props = _schema(entry, entry.value.get("properties"), dtypes, "relationship type", problems)
        result: dict[str, Any] = {"name": entry.name, "entry": entry}
        for side in ("source_interfaces", "target_interfaces"):
            _check_interfaces(entry, entry.value.get(side), side, problems)
            result[side] = operations.parse_interfaces(entry.value.get(side))
        hierarchy = [entry.name]
        if parent:
            props = properties.merge_schemas(parent["properties"], props, dtypes)
            for side in ("source_interfaces", "target_interfaces"):
                result[side] = operations.merge_type_interfaces(result[side], parent[side])
            hierarchy = [*parent["type_hierarchy"], entry.name]
        result["properties"] = props
        result["type_hierarchy"] = hierarchy
        return result

    return _Resolver(
        merged.section("relationships"), kind="relationship type", build=build, problems=problems
    ).all()
