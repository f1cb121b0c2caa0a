"""``workflows``: the workflows a deployment of the blueprint can run.

A workflow is written as a mapping string (``plugin.module.function`` or a script path) or
as a mapping with ``mapping``, ``parameters`` (declared like inputs), ``is_cascading`` and,
from DSL 1.4 on, ``availability_rules``. The mapping is resolved like an operation's
implementation (:func:`cairn.dsl.operations.resolve`); a script runs through the script
plugin's ``execute_workflow`` task, which gets the script as the default of a
``script_path`` (or ``script_source``, for an inline script) parameter, as in Cloudify.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from cairn.dsl import functions, loader, operations, sections, versions, yamlsrc
from cairn.dsl.problems import Problems

WORKFLOW_FIELDS: Mapping[str, str | None] = {
    "mapping": "string",
    "parameters": "dict",
    "is_cascading": "boolean",
    "availability_rules": "dict",
}
RULE_FIELDS: Mapping[str, str | None] = {
    "available": "boolean",
    "node_instances_active": "list",
    "node_types_required": "list",
}
ACTIVE_VALUES = ("all", "partial", "none")
SCRIPT_WORKFLOW_TASK = "script_runner.tasks.execute_workflow"
SCRIPT_KEYS = ("script_path", "script_source")


def workflows(
    merged: loader.Merged,
    *,
    plugins: Mapping[str, Mapping[str, Any]],
    resource_dirs: Iterable[str],
    gate: versions.Gate,
    problems: Problems,
    data_types: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """``workflows`` and the names of the plugins they need (``workflow_plugins_to_install``).

    Each workflow: {plugin, operation, parameters, is_cascading, availability_rules}. A
    mapping that names a script runs it with the script plugin's ``execute_workflow`` task,
    the script's path given as the default of a ``script_path`` parameter.
    """
    ctx = operations.Context(
        plugins=plugins,
        resource_dirs=tuple(resource_dirs),
        remote_namespaces=frozenset(merged.namespaces_mapping),
    )
    result: dict[str, Any] = {}
    needed: dict[str, None] = {}
    for name, entry in sections.entries(merged, "workflows", problems).items():
        workflow = _workflow(entry, ctx, data_types or {}, gate, problems)
        if workflow is not None:
            result[name] = workflow
            needed.setdefault(workflow["plugin"], None)
    return result, list(needed)


def _workflow(
    entry: loader.Entry,
    ctx: operations.Context,
    data_types: Mapping[str, Any],
    gate: versions.Gate,
    problems: Problems,
) -> dict[str, Any] | None:
    raw, what = entry.value, f"workflow {entry.name!r}"
    if isinstance(raw, str):
        return _resolve_workflow(entry, raw, {}, ctx, problems, cascading=False, rules=None)
    if raw is None or not isinstance(raw, dict):
        problems.add(
            entry.mark,
            "required" if raw is None else "type",
            f"{what} must be a mapping string or a mapping with a 'mapping' key",
        )
        return None
    sections.check_fields(raw, WORKFLOW_FIELDS, what=what, at=entry.key_mark, problems=problems)
    sections.require(raw, ("mapping",), what=what, at=entry.key_mark, problems=problems)
    parameters = _parameters(
        raw.get("parameters"),
        what=what,
        at=entry.key_mark,
        source=entry.source,
        data_types=data_types,
        gate=gate,
        problems=problems,
    )
    rules = raw.get("availability_rules")
    if rules is not None:
        at = yamlsrc.key_mark(raw, "availability_rules", entry.key_mark)
        gate.check(entry.source, at, "availability_rules", (1, 4))
        _check_rules(rules, what=what, at=at, problems=problems)
    mapping = raw.get("mapping")
    if not isinstance(mapping, str):
        return None
    return _resolve_workflow(
        entry,
        mapping,
        parameters,
        ctx,
        problems,
        cascading=raw.get("is_cascading", False),
        rules=rules,
    )


def _check_rules(rules: Any, *, what: str, at: yamlsrc.Mark, problems: Problems) -> None:
    label = f"{what}: 'availability_rules'"
    if not sections.check_fields(rules, RULE_FIELDS, what=label, at=at, problems=problems):
        return
    active = rules.get("node_instances_active")
    if isinstance(active, list) and any(v not in ACTIVE_VALUES for v in active):
        problems.at_value(
            rules,
            "node_instances_active",
            at,
            "availability",
            f"{label}: node_instances_active takes values among "
            f"{', '.join(ACTIVE_VALUES)}, not {functions.show(active)}",
        )
    required = rules.get("node_types_required")
    if isinstance(required, list):
        for index, type_name in enumerate(required):
            if type_name is not None and not isinstance(type_name, str):
                problems.add(
                    yamlsrc.value_mark(required, index, at),
                    "type",
                    f"{label}: a node type name must be a string",
                )


def _resolve_workflow(
    entry: loader.Entry,
    mapping: str,
    parameters: dict[str, Any],
    ctx: operations.Context,
    problems: Problems,
    *,
    cascading: Any,
    rules: Any,
) -> dict[str, Any] | None:
    what = f"workflow {entry.name!r}"
    at = yamlsrc.value_mark(entry.value, "mapping", entry.key_mark)
    if not mapping:
        problems.add(at, "workflow", f"{what} needs a non-empty mapping")
        return None
    raw_op = {**operations.no_op(), "implementation": mapping, "inputs": parameters}
    try:
        op = operations.resolve(entry.name, raw_op, ctx, where=what, error_code="workflow")
    except operations.OperationError as exc:
        problems.add(at, exc.code, _workflow_error(exc.code, what, mapping, parameters, ctx))
        return None
    assert op is not None  # a non-empty mapping is never a no-op
    script_key = next((k for k in SCRIPT_KEYS if k in op.inputs and k not in parameters), None)
    task = op.operation
    if script_key is not None:
        parameters = {
            **parameters,
            script_key: {
                "default": mapping,
                "description": "Workflow script executed by the script plugin",
            },
        }
        task = SCRIPT_WORKFLOW_TASK
    return {
        "plugin": op.plugin,
        "operation": task,
        "parameters": parameters,
        "is_cascading": cascading,
        "availability_rules": rules,
    }


def _workflow_error(
    code: str, what: str, mapping: str, parameters: Mapping[str, Any], ctx: operations.Context
) -> str:
    if code == "ambiguous":
        candidates = [p for p in ctx.plugins if mapping.startswith(f"{p}.")]
        return f"{what}: mapping {mapping!r} is ambiguous, it matches plugins {candidates}"
    if code == "script" and any(k in parameters for k in SCRIPT_KEYS):
        return (
            f"{what}: cannot define 'script_path' or 'script_source' in the parameters, "
            f"the mapping {mapping!r} is already a script"
        )
    if code == "script":
        return (
            f"{what}: the script plugin is not declared but mapping {mapping!r} needs it "
            "(import cloudify/types/types.yaml)"
        )
    return (
        f"{what}: could not extract a plugin or find a script from mapping {mapping!r}: "
        "no plugin of that name is declared and no such script exists"
    )


def _parameters(
    raw: Any,
    *,
    what: str,
    at: yamlsrc.Mark,
    source: loader.Source,
    data_types: Mapping[str, Any],
    gate: versions.Gate,
    problems: Problems,
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    result: dict[str, Any] = {}
    for name, value in raw.items():
        prop = sections.SchemaProperty(
            value,
            what=f"{what} parameter {name!r}",
            at=yamlsrc.key_mark(raw, name, at),
            source=source,
            data_types=data_types,
            gate=gate,
            problems=problems,
        )
        parsed = prop.parse(sections.PARAMETER_FIELDS, is_input=False)
        if parsed is not None:
            result[str(name)] = parsed
    return result
