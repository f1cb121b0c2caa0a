"""Blueprint -> plan: the parser's entry point.

The stages run in dependency order (imports, data types, node and relationship types,
plugins, node templates, the other sections, intrinsic function checks). Each stage
records its problems and goes on with what is sound, so a user sees every problem of a
blueprint in one run; the plan is returned only when there are none.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from typing import Any

from cairn.dsl import (
    function_checks,
    loader,
    nodes,
    operations,
    policies,
    resolver,
    schedules,
    sections,
    types,
    versions,
    workflows,
    yamlsrc,
)
from cairn.dsl.problems import Problems
from cairn.model import plan

PLUGIN_KEYS = {
    "source": None,
    "executor": None,
    "install": None,
    "install_arguments": (1, 1),
    "package_name": (1, 2),
    "package_version": (1, 2),
    "supported_platform": (1, 2),
    "distribution": (1, 2),
    "distribution_version": (1, 2),
    "distribution_release": (1, 2),
    "properties_description": (1, 5),
    "properties": (1, 5),
}


def parse_path(
    path: str | os.PathLike[str], *, options: resolver.ParseOptions | None = None
) -> plan.Plan:
    """The plan of the blueprint at ``path``; :class:`cairn.errors.BlueprintError` lists every problem."""
    # Parsing allocates hundreds of thousands of small objects and frees few: the cyclic
    # garbage collector would scan them over and over for nothing (half the parse time of
    # a 1,000-node blueprint). Reference counting still frees what is dropped.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(os.fspath(path), options or resolver.ParseOptions())
    finally:
        if collecting:
            gc.enable()


def _parse(path: str, options: resolver.ParseOptions) -> plan.Plan:
    problems = Problems()
    merged = loader.load(path, options=options, problems=problems)
    if merged is None:
        problems.raise_if_any()
        raise AssertionError("loader gave nothing and reported nothing")  # pragma: no cover
    result = _build(merged, options=options, problems=problems)
    problems.raise_if_any()
    return result


def _build(
    merged: loader.Merged, *, options: resolver.ParseOptions, problems: Problems
) -> plan.Plan:
    gate = versions.Gate(merged.version, enabled=options.validate_version, problems=problems)
    _check_dsl_definitions(merged.main, gate, problems)
    dtypes = types.data_types(merged, gate, problems)
    node_types = types.node_types(merged, dtypes, gate, problems)
    rel_types = types.relationship_types(merged, dtypes, problems)
    plugins = parse_plugins(merged, gate, problems)
    resource_dirs = (os.path.dirname(merged.main.resolved.path), *options.resource_paths)
    ops_ctx = operations.Context(
        plugins=plugins,
        resource_dirs=resource_dirs,
        remote_namespaces=frozenset(merged.namespaces_mapping),
    )
    _check_relationship_type_operations(rel_types, ops_ctx, problems)
    node_list = nodes.build(
        merged,
        nodes.Context(
            node_types=node_types,
            relationship_types=rel_types,
            data_types=dtypes,
            ops=ops_ctx,
            gate=gate,
            problems=problems,
        ),
    )
    node_names = frozenset(merged.section("node_templates"))
    workflow_defs, workflow_plugins = workflows.workflows(
        merged,
        plugins=plugins,
        resource_dirs=resource_dirs,
        gate=gate,
        problems=problems,
        data_types=dtypes,
    )
    policy_types = policies.policy_types(merged, problems=problems, data_types=dtypes)
    policy_triggers = policies.policy_triggers(merged, problems=problems, data_types=dtypes)
    group_defs = policies.groups(
        merged,
        node_names=node_names,
        problems=problems,
        types=policy_types,
        triggers=policy_triggers,
        data_types=dtypes,
    )
    policy_defs, scaling_groups = policies.policies(
        merged,
        node_names=node_names,
        groups=group_defs,
        gate=gate,
        problems=problems,
        nodes=node_list,
    )
    result = plan.Plan(
        dsl_version=merged.version.raw,
        description=sections.description(merged, problems, gate=gate),
        metadata=sections.metadata(merged, problems),
        inputs=sections.inputs(merged, data_types=dtypes, gate=gate, problems=problems),
        outputs=sections.outputs(merged, gate=gate, problems=problems),
        capabilities=sections.capabilities(merged, gate=gate, problems=problems),
        nodes=node_list,
        workflows=workflow_defs,
        groups=group_defs,
        policies=policy_defs,
        scaling_groups=scaling_groups,
        labels=sections.labels(merged, key="labels", gate=gate, problems=problems),
        blueprint_labels=sections.labels(
            merged, key="blueprint_labels", gate=gate, problems=problems
        ),
        deployment_settings=schedules.deployment_settings(merged, gate=gate, problems=problems),
        resource_tags=sections.resource_tags(merged, gate=gate, problems=problems),
        plugins=plugins,
        data_types=dtypes,
        relationship_types={k: _public(v) for k, v in rel_types.items()},
        policy_types=policy_types,
        policy_triggers=policy_triggers,
        imported_blueprints=tuple(dict.fromkeys(merged.namespaces_mapping.values())),
        namespaces_mapping=dict(merged.namespaces_mapping),
        deployment_plugins_to_install=_collect(node_list, "deployment_plugins_to_install"),
        workflow_plugins_to_install=tuple(workflow_plugins),
        host_agent_plugins_to_install=_collect(node_list, "plugins_to_install"),
    )
    # A template that could not be built (unknown type, ...) is reported already; references
    # to it are not "unknown nodes" and would only bury the real problem.
    incomplete = len(node_list) < len(merged.section("node_templates"))
    for mark, code, message in function_checks.check_plan(result):
        if not (incomplete and code == "unknown-node"):
            problems.add(mark or merged.main.mark, code, message)
    return result


def _check_dsl_definitions(main: loader.Source, gate: versions.Gate, problems: Problems) -> None:
    """``dsl_definitions`` only holds anchors; Cloudify checks it in the main file alone."""
    if "dsl_definitions" not in main.data:
        return
    gate.check(
        main, yamlsrc.key_mark(main.data, "dsl_definitions", main.mark), "dsl_definitions", (1, 2)
    )
    value = main.data["dsl_definitions"]
    if value is not None and not isinstance(value, (dict, list)):
        problems.at_value(
            main.data,
            "dsl_definitions",
            main.mark,
            "type",
            "'dsl_definitions' must be a mapping or a list",
        )


def _collect(node_list: tuple[plan.Node, ...], attribute: str) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for node in node_list:
        for name in getattr(node, attribute):
            names.setdefault(name, None)
    return tuple(names)


def _public(type_def: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in type_def.items() if k != "entry"}


def parse_plugins(
    merged: loader.Merged, gate: versions.Gate, problems: Problems
) -> dict[str, dict[str, Any]]:
    plugins: dict[str, dict[str, Any]] = {}
    for name, entry in merged.section("plugins").items():
        raw = entry.value
        if not isinstance(raw, Mapping):
            problems.add(entry.mark, "type", f"plugin {name!r} must be a mapping")
            continue
        ok = True
        for key, value in raw.items():
            if key not in PLUGIN_KEYS:
                problems.at_key(
                    raw,
                    key,
                    entry.mark,
                    "unknown-key",
                    f"plugin {name!r} has unknown key {key!r} (allowed: {', '.join(PLUGIN_KEYS)})",
                )
                continue
            since = PLUGIN_KEYS[key]
            if since:
                gate.check(
                    entry.source,
                    yamlsrc.key_mark(raw, key, entry.mark),
                    f"plugin key {key!r}",
                    since,
                )
            if key == "install" and not isinstance(value, bool):
                problems.at_value(
                    raw, key, entry.mark, "type", f"plugin {name!r}: 'install' must be a boolean"
                )
            elif key == "properties" and not isinstance(value, Mapping):
                problems.at_value(
                    raw, key, entry.mark, "type", f"plugin {name!r}: 'properties' must be a mapping"
                )
            elif (
                key not in ("install", "properties")
                and value is not None
                and not isinstance(value, str)
            ):
                problems.at_value(
                    raw, key, entry.mark, "type", f"plugin {name!r}: {key!r} must be a string"
                )
        executor = raw.get("executor")
        if executor not in operations.EXECUTORS:
            problems.at_value(
                raw,
                "executor",
                entry.mark,
                "plugin",
                f"plugin {name!r} has an illegal executor {executor!r}; "
                "it must be central_deployment_agent, host_agent or site_agent",
            )
            ok = False
        install = raw.get("install", True)
        if install is not False and not (raw.get("source") or raw.get("package_name")):
            problems.add(
                entry.mark,
                "plugin",
                f"plugin {name!r} needs to be installed but declares neither 'source' nor 'package_name'",
            )
            ok = False
        result = {k: v for k, v in raw.items() if k in PLUGIN_KEYS}
        result["install"] = install if isinstance(install, bool) else True
        result["name"] = name
        plugins[name] = result
        del ok
    return plugins


def _check_relationship_type_operations(
    rel_types: Mapping[str, dict[str, Any]], ctx: operations.Context, problems: Problems
) -> None:
    """Cloudify rejects a relationship type whose operations name no plugin or script."""
    for name, rel_type in rel_types.items():
        entry: loader.Entry = rel_type["entry"]
        for side in ("source_interfaces", "target_interfaces"):
            _, found = operations.resolve_interfaces(
                rel_type[side], ctx, where=f"in relationship type {name!r}", error_code="operation"
            )
            for err in found:
                problems.add(entry.key_mark, err.code, err.message)
