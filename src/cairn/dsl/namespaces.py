"""Namespaced imports (``ns--file.yaml``): prefixing what an imported file defines.

A file imported under a namespace has every name it defines, and every reference it makes
to its own names, prefixed with ``ns--``, so the same file can be imported twice without
clashes. Standard types (``cloudify.*``) and primitive type names are never prefixed. This
rewrites the file's YAML before it is merged, which keeps the rest of the parser unaware of
namespaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cairn.dsl import properties, resolver, yamlsrc

NODE_REFS = frozenset({"SELF", "SOURCE", "TARGET"})
_PREFIXED_SECTIONS = (
    "node_types",
    "relationships",
    "data_types",
    "plugins",
    "node_templates",
    "inputs",
    "outputs",
    "capabilities",
    "groups",
    "policies",
    "policy_types",
    "policy_triggers",
    "workflows",
)


def apply(data: yamlsrc.YMap, namespace: str) -> None:
    """Rewrite one imported file's content in place for ``namespace``."""
    ns = _Namespacer(namespace)
    for section in ("node_types", "relationships", "data_types"):
        ns.each(data.get(section), ns.type_def)
    ns.each(data.get("node_templates"), ns.template)
    ns.each(data.get("inputs"), ns.schema_property)
    for section in ("outputs", "capabilities"):
        ns.each(data.get(section), lambda item: ns.functions_in(item, "value"))
    ns.each(data.get("workflows"), ns.workflow)
    ns.each(data.get("groups"), lambda g: ns.names_in(g, "members"))
    ns.each(data.get("policies"), lambda p: ns.names_in(p, "targets"))
    for section in _PREFIXED_SECTIONS:
        if isinstance(data.get(section), yamlsrc.YMap):
            data[section] = ns.rekey(data[section])


class _Namespacer:
    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def name(self, value: Any) -> Any:
        if (
            not isinstance(value, str)
            or value.startswith("cloudify.")
            or value in properties.PRIMITIVE_TYPES
        ):
            return value
        return f"{self.namespace}{resolver.NAMESPACE_DELIMITER}{value}"

    def rekey(self, section: yamlsrc.YMap) -> yamlsrc.YMap:
        renamed = yamlsrc.YMap(section.mark)
        for key, value in section.items():
            new = self.name(key)
            renamed[new] = value
            renamed.key_marks[new] = section.key_marks.get(key, section.mark)
            renamed.value_marks[new] = section.value_marks.get(key, section.mark)
        return renamed

    @staticmethod
    def each(section: Any, action: Callable[[Any], None]) -> None:
        if isinstance(section, dict):
            for item in section.values():
                if isinstance(item, dict):
                    action(item)

    def set_name(self, item: dict[str, Any], key: str) -> None:
        if key in item:
            item[key] = self.name(item[key])

    def names_in(self, item: dict[str, Any], key: str) -> None:
        values = item.get(key)
        if isinstance(values, list):
            values[:] = [self.name(v) for v in values]

    def type_def(self, item: dict[str, Any]) -> None:
        self.set_name(item, "derived_from")
        self.each(item.get("properties"), self.schema_property)
        for field in ("interfaces", "source_interfaces", "target_interfaces"):
            self.interfaces(item.get(field))

    def schema_property(self, item: dict[str, Any]) -> None:
        self.set_name(item, "type")

    def template(self, item: dict[str, Any]) -> None:
        self.set_name(item, "type")
        self.functions_in(item, "properties")
        self.interfaces(item.get("interfaces"))
        relationships = item.get("relationships")
        if isinstance(relationships, list):
            for rel in relationships:
                if isinstance(rel, dict):
                    self.set_name(rel, "type")
                    self.set_name(rel, "target")
                    self.interfaces(rel.get("source_interfaces"))
                    self.interfaces(rel.get("target_interfaces"))

    def workflow(self, item: dict[str, Any]) -> None:
        self.set_name(item, "mapping")

    def interfaces(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        for ops in raw.values():
            if not isinstance(ops, dict):
                continue
            for op_name, op in list(ops.items()):
                if isinstance(op, str) and op:
                    ops[op_name] = self.name(op)
                elif isinstance(op, dict):
                    if op.get("implementation"):
                        op["implementation"] = self.name(op["implementation"])
                    self.functions_in(op, "inputs")

    def functions_in(self, container: dict[str, Any], key: str) -> None:
        if key in container:
            container[key] = self.function_args(container[key])

    def function_args(self, value: Any) -> Any:
        if isinstance(value, list):
            value[:] = [self.function_args(v) for v in value]
            return value
        if not isinstance(value, dict):
            return value
        for key, args in list(value.items()):
            if key == "get_input":
                if isinstance(args, str):
                    value[key] = self.name(args)
                elif isinstance(args, list) and args and isinstance(args[0], str):
                    args[0] = self.name(args[0])
            elif key in ("get_property", "get_attribute"):
                if isinstance(args, list) and args and args[0] not in NODE_REFS:
                    args[0] = self.name(args[0])
            else:
                value[key] = self.function_args(args)
        return value
