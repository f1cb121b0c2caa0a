"""Interfaces and operations: reading them, merging them along types, resolving them.

An operation is written as a string (its implementation) or a mapping. Types merge their
parents' interfaces operation by operation; a template then overrides its type's operations
(Cloudify's rules: a template that keeps the type's implementation keeps the type's inputs
schema and fills it; one that replaces the implementation replaces the inputs too).

Resolving an implementation decides who runs it: a script next to the blueprint, an inline
script, or a ``plugin.module.task`` mapping of a declared plugin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn.dsl import functions, properties
from cairn.model import plan

OP_KEYS = (
    "implementation",
    "inputs",
    "executor",
    "max_retries",
    "retry_interval",
    "timeout",
    "timeout_recoverable",
)
# Cloudify's two, and Cairn's own: ``site_agent`` runs an operation on the agent of the
# deployment's site even for a node that is not contained in a host.
EXECUTORS = ("central_deployment_agent", "host_agent", "site_agent")
RawOp = dict[str, Any]
Interfaces = dict[str, dict[str, RawOp]]


@dataclass
class OperationError(Exception):
    code: str
    message: str
    at: Any = None


def no_op() -> RawOp:
    return {
        "implementation": "",
        "inputs": {},
        "executor": None,
        "max_retries": None,
        "retry_interval": None,
        "timeout": None,
        "timeout_recoverable": None,
    }


def normalise(raw: Any) -> RawOp | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return {**no_op(), "implementation": raw}
    if isinstance(raw, Mapping):
        op = no_op()
        for key in OP_KEYS:
            if key in raw:
                op[key] = raw[key]
        # wrong kinds are reported by check_operation; keep the plan buildable meanwhile
        if not isinstance(op["implementation"], str):
            op["implementation"] = ""
        if not isinstance(op["inputs"], Mapping):
            op["inputs"] = {}
        return op
    return None


def check_operation(raw: Any, *, where: str, type_level: bool) -> list[OperationError]:
    """Shape problems of one operation definition."""
    if raw is None or isinstance(raw, str):
        return []
    if not isinstance(raw, Mapping):
        return [OperationError("type", f"{where}: an operation is a string or a mapping", raw)]
    found: list[OperationError] = []
    for key, value in raw.items():
        if key not in OP_KEYS:
            found.append(OperationError("unknown-key", f"{where}: unknown key {key!r}", (raw, key)))
            continue
        problem = _check_field(key, value, type_level=type_level)
        if problem:
            found.append(OperationError("type", f"{where}: {problem}", (raw, key)))
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))


# Each operation field: (is the value acceptable, what to say when it is not).
_FIELD_CHECKS: dict[str, tuple[Any, str]] = {
    "implementation": (lambda v: isinstance(v, str), "'implementation' must be a string"),
    "executor": (
        lambda v: v in EXECUTORS,
        f"illegal executor, valid values are {', '.join(EXECUTORS)}",
    ),
    "inputs": (lambda v: isinstance(v, Mapping), "'inputs' must be a mapping"),
    # Cloudify reads booleans as numbers here (true == 1): so does Cairn
    "max_retries": (
        lambda v: isinstance(v, int) and v >= -1,
        "'max_retries' must be -1 (unlimited) or a non-negative integer",
    ),
    "retry_interval": (
        lambda v: _is_number(v) and v >= 0,
        "'retry_interval' must be a non-negative number",
    ),
    "timeout": (lambda v: _is_number(v) and v >= 0, "'timeout' must be a non-negative number"),
    "timeout_recoverable": (
        lambda v: isinstance(v, bool),
        "'timeout_recoverable' must be a boolean",
    ),
}


def _check_field(key: str, value: Any, *, type_level: bool) -> str | None:
    if value is None:
        return None
    accept, message = _FIELD_CHECKS[key]
    if not accept(value):
        return str(message) if key != "executor" else f"{message} (got {value!r})"
    if key == "inputs" and type_level:
        for name, schema in value.items():
            problem = _input_schema_problem(name, schema)
            if problem:
                return problem
    return None


_INPUT_SCHEMA_KEYS = frozenset(
    {
        "type",
        "default",
        "description",
        "required",
        "constraints",
        "display_label",
        "hidden",
        "item_type",
        "display",
    }
)


def _input_schema_problem(name: Any, schema: Any) -> str | None:
    """A node type's operation input is declared like a blueprint input."""
    if schema is None:
        return None  # Cloudify takes an empty declaration
    if not isinstance(schema, Mapping):
        return f"input {name!r} must be a mapping (type, default, description, ...)"
    unknown = sorted(str(k) for k in schema if k not in _INPUT_SCHEMA_KEYS)
    if unknown:
        return f"input {name!r} has unknown keys {unknown}"
    type_name = schema.get("type")
    if type_name is not None and not isinstance(type_name, str):
        return f"input {name!r}: 'type' must be a string"
    default = schema.get("default")
    if (
        isinstance(type_name, str)
        and default is not None
        and type_name in properties.PRIMITIVE_TYPES
        and not functions.is_function(default)
        and not properties.simple_value_ok(default, type_name)
    ):
        return f"input {name!r}: default {default!r} is not a {type_name}"
    return None


def parse_interfaces(raw: Any) -> Interfaces:
    result: Interfaces = {}
    if not isinstance(raw, Mapping):
        return result
    for name, ops in raw.items():
        interface: dict[str, RawOp] = {}
        if isinstance(ops, Mapping):
            for op_name, op in ops.items():
                normal = normalise(op) if op is not None else no_op()
                if normal is not None:
                    interface[str(op_name)] = normal
        result[str(name)] = interface
    return result


def merge_type_interfaces(overriding: Interfaces, overridden: Interfaces) -> Interfaces:
    """A derived type over its parent: the derived operation wins whole."""
    return _merge(overriding, overridden, _merge_type_op)


def merge_template_interfaces(template: Interfaces, type_: Interfaces) -> Interfaces:
    return _merge(template, type_, _merge_template_op)


def _merge(overriding: Interfaces, overridden: Interfaces, merge_op: Any) -> Interfaces:
    merged: Interfaces = {}
    for name in [*overridden, *[n for n in overriding if n not in overridden]]:
        over, under = overriding.get(name, {}), overridden.get(name, {})
        ops: dict[str, RawOp] = {}
        for op_name in [*under, *[o for o in over if o not in under]]:
            ops[op_name] = merge_op(over.get(op_name), under.get(op_name))
        merged[name] = ops
    return merged


def _merge_type_op(over: RawOp | None, under: RawOp | None) -> RawOp:
    if over is None:
        assert under is not None
        return under
    return over


def _merge_template_op(template: RawOp | None, type_op: RawOp | None) -> RawOp:
    if type_op is None:
        assert template is not None
        return template
    if template is None:
        return {**type_op, "inputs": schema_inputs(type_op["inputs"], {})}
    if template == no_op():
        return no_op()
    if type_op == no_op():
        return template
    implementation = template["implementation"] or type_op["implementation"]
    same = implementation == type_op["implementation"]
    merged: RawOp = {"implementation": implementation}
    merged["inputs"] = (
        schema_inputs(type_op["inputs"], template["inputs"]) if same else template["inputs"]
    )
    for key in OP_KEYS[2:]:
        if not same or template[key] is not None:
            merged[key] = template[key]
        else:
            merged[key] = type_op[key]
    return merged


def schema_inputs(schema: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Type-level inputs schema filled with template values (defaults where missing).

    Missing values without defaults are reported later by :func:`missing_inputs`.
    """
    merged: dict[str, Any] = {
        k: v["default"] for k, v in schema.items() if isinstance(v, Mapping) and "default" in v
    }
    merged.update(values)
    for key, spec in schema.items():
        if isinstance(spec, Mapping) and "type" in spec and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], "type": spec["type"]}
    return merged


def missing_inputs(schema: Mapping[str, Any], merged: Mapping[str, Any]) -> list[str]:
    return sorted(str(k) for k in schema if k not in merged)


@dataclass(frozen=True, kw_only=True)
class Context:
    """What resolving an implementation needs to know."""

    plugins: Mapping[str, Mapping[str, Any]]
    resource_dirs: tuple[str, ...]
    remote_namespaces: frozenset[str] = frozenset()


def resolve(
    name: str, raw: RawOp, ctx: Context, *, where: str, error_code: str
) -> plan.Operation | None:
    """The planned operation, or None for a no-op. Raises OperationError."""
    mapping = raw["implementation"]
    if not mapping:
        return None
    inputs = raw["inputs"]
    candidates = [p for p in ctx.plugins if mapping.startswith(f"{p}.")]
    is_url = _is_url(mapping)
    exists = not is_url and _script_exists(mapping, ctx.resource_dirs)
    inline = not (is_url or exists) and "\n" in mapping.strip()
    remote = (
        not candidates and mapping.partition("--")[0] in ctx.remote_namespaces and "--" in mapping
    )
    if is_url or exists or inline or remote:
        return _script(name, raw, ctx, inline=inline, where=where)
    if candidates:
        if len(candidates) > 1:
            raise OperationError(
                "ambiguous",
                f"ambiguous operation mapping {mapping!r} for {where}: plugins {candidates}",
            )
        plugin_name = candidates[0]
        executor = raw["executor"] or ctx.plugins[plugin_name].get("executor")
        return _operation(
            name,
            raw,
            plugin_name,
            mapping[len(plugin_name) + 1 :],
            inputs=inputs,
            executor=executor,
        )
    raise OperationError(
        error_code,
        f"could not extract a plugin or find a script from mapping {mapping!r} of operation "
        f"{name!r} {where}: no plugin of that name is declared and no such script exists",
    )


def _script(name: str, raw: RawOp, ctx: Context, *, inline: bool, where: str) -> plan.Operation:
    mapping = raw["implementation"]
    inputs = dict(raw["inputs"])
    if "script_path" in inputs or "script_source" in inputs:
        raise OperationError(
            "script",
            f"cannot define 'script_path' in the inputs of operation {name!r} {where}: "
            "the implementation is already a script",
        )
    scripts = [
        p for p in ctx.plugins if p == plan.SCRIPT_PLUGIN or p.endswith(f"--{plan.SCRIPT_PLUGIN}")
    ]
    if not scripts:
        raise OperationError(
            "script",
            f"the script plugin is not declared but operation {name!r} {where} needs it "
            "(import cloudify/types/types.yaml)",
        )
    inputs["script_source" if inline else "script_path"] = mapping
    executor = raw["executor"] or "auto"
    return _operation(name, raw, scripts[0], plan.SCRIPT_TASK, inputs=inputs, executor=executor)


def _operation(
    name: str, raw: RawOp, plugin_name: str, task: str, *, inputs: Mapping[str, Any], executor: Any
) -> plan.Operation:
    return plan.Operation(
        name=name,
        implementation=raw["implementation"],
        plugin=plugin_name,
        operation=task,
        executor=executor,
        inputs=inputs,
        max_retries=raw["max_retries"],
        retry_interval=raw["retry_interval"],
        timeout=raw["timeout"],
        timeout_recoverable=raw["timeout_recoverable"],
    )


def _is_url(value: str) -> bool:
    head, sep, rest = value.partition("://")
    return bool(sep) and head.isalpha() and bool(rest) and " " not in value


def _script_exists(mapping: str, dirs: tuple[str, ...]) -> bool:
    """A script file inside one of ``dirs``: symbolic links are followed, and a file they
    lead to outside the folder is not a script of this blueprint."""
    path = mapping.rpartition("--")[2]
    if "\n" in path or not path or os.path.isabs(path):
        return False
    for base in dirs:
        root = os.path.realpath(base)
        candidate = os.path.realpath(os.path.join(base, path))
        if candidate.startswith(root + os.sep) and os.path.isfile(candidate):
            return True
    return False


def resolve_interfaces(
    interfaces: Interfaces, ctx: Context, *, where: str, error_code: str
) -> tuple[dict[str, plan.Operation], list[OperationError]]:
    """Every operation of some interfaces, by qualified name (no-ops dropped)."""
    result: dict[str, plan.Operation] = {}
    found: list[OperationError] = []
    for iface, ops in interfaces.items():
        for op_name, raw in ops.items():
            qualified = f"{iface}.{op_name}"
            try:
                op = resolve(
                    qualified,
                    raw,
                    ctx,
                    where=f"in interface {iface!r} {where}",
                    error_code=error_code,
                )
            except OperationError as exc:
                exc.at = (iface, op_name)
                found.append(exc)
                continue
            if op is not None:
                result[qualified] = op
    return result, found


class TypeOperations:
    """Resolves templates' operations, reusing what their types already define.

    Most templates override none or a few of the dozens of operations their type inherits
    from ``cloudify.nodes.Root``. Merging and resolving the type's operations once, and then
    only the interfaces a template writes, keeps parsing linear in the blueprint's size
    with a small constant.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._by_type: dict[int, tuple[Interfaces, dict[str, dict[str, plan.Operation]]]] = {}

    def resolve(
        self, template: Interfaces, type_interfaces: Interfaces, *, where: str, error_code: str
    ) -> tuple[dict[str, plan.Operation], list[OperationError]]:
        found: list[OperationError] = []
        key = id(type_interfaces)
        if key not in self._by_type:
            base: dict[str, dict[str, plan.Operation]] = {}
            for name, raw_ops in merge_template_interfaces({}, type_interfaces).items():
                base[name], errors = resolve_interfaces(
                    {name: raw_ops}, self.ctx, where=where, error_code=error_code
                )
                found.extend(errors)
            # the type's interfaces are kept alive with the cache, so their id stays unique
            self._by_type[key] = (type_interfaces, base)
        result: dict[str, plan.Operation] = {}
        for resolved in self._by_type[key][1].values():
            result.update(resolved)
        for name, ops in template.items():
            under = type_interfaces.get(name, {})
            own = {op: _merge_template_op(raw, under.get(op)) for op, raw in ops.items()}
            for op in own:
                result.pop(f"{name}.{op}", None)
            resolved, errors = resolve_interfaces(
                {name: own}, self.ctx, where=where, error_code=error_code
            )
            result.update(resolved)
            found.extend(errors)
        return result, found
