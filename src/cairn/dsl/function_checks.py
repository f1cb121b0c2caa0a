"""The parse-time check of intrinsic function references, as Cloudify's ``validate_functions``.

Split from :mod:`cairn.dsl.functions`, which says what the functions are (their names, how
they are spotted, what arguments they take); this module says whether what they refer to is
there: where in a plan Cloudify looks for functions (:func:`plan_sites`), what SELF, SOURCE
and TARGET name there (:func:`resolve_node`, also used when a deployment is created) and
:func:`check_plan`.

:func:`check_plan` rejects exactly what Cloudify's ``validate_functions`` rejects (malformed
arguments, undeclared inputs, unknown nodes and property paths, SELF/SOURCE/TARGET outside
their context, ``concat``/``merge`` below their DSL version) and nothing more, because a
blueprint Cloudify accepts must parse here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cairn.dsl import functions, yamlsrc

# --- node references -----------------------------------------------------------------------


def resolve_node(
    ref: Any, where: functions.Where, nodes: Mapping[str, Any], *, function: str
) -> str:
    """The node id that ``ref`` (a node id, SELF, SOURCE or TARGET) names where it is used.

    Raises :class:`ReferenceProblem` when the reference makes no sense there.
    """
    if ref == functions.SELF:
        if where.scope != functions.NODE_SCOPE or where.node is None:
            raise ReferenceProblem(
                "function-context",
                f"{function}: SELF can only be used in a node template, not in {where.path}",
            )
        return where.node
    if ref in (functions.SOURCE, functions.TARGET):
        node = where.node if ref == functions.SOURCE else where.target
        if where.scope != functions.RELATIONSHIP_SCOPE or node is None:
            raise ReferenceProblem(
                "function-context",
                f"{function}: {ref} can only be used in a relationship, not in {where.path}",
            )
        return node
    if not isinstance(ref, str) or ref not in nodes:
        raise ReferenceProblem(
            "unknown-node", f"{function} refers to unknown node {functions.show(ref)}"
        )
    return ref


class ReferenceProblem(Exception):
    """A function refers to something that is not there; ``code`` is the problem's short code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- the parse-time check -------------------------------------------------------------------

Problem = tuple["yamlsrc.Mark | None", str, str]


def plan_sites(plan: Any) -> Iterator[tuple[Any, functions.Where]]:
    """Every container whose values Cloudify scans for functions, with where it sits.

    Relationship properties, workflow parameters, groups and input defaults are not scanned:
    Cloudify leaves functions there as written.
    """
    for node in plan.nodes:
        yield from _node_sites(node)
    for name, output in plan.outputs.items():
        yield output, functions.Where(scope=functions.OUTPUTS_SCOPE, path=f"outputs.{name}")
    for name, policy in plan.policies.items():
        if isinstance(policy, Mapping):
            properties = policy.get("properties") or {}
            yield (
                properties,
                functions.Where(scope=functions.POLICIES_SCOPE, path=f"policies.{name}.properties"),
            )
    for name, group in plan.scaling_groups.items():
        if isinstance(group, Mapping):
            properties = group.get("properties") or {}
            yield (
                properties,
                functions.Where(
                    scope=functions.SCALING_GROUPS_SCOPE, path=f"scaling_groups.{name}.properties"
                ),
            )
    for name, capability in plan.capabilities.items():
        yield (
            capability,
            functions.Where(scope=functions.CAPABILITIES_SCOPE, path=f"capabilities.{name}"),
        )
    for key, label in plan.labels.items():
        yield label, functions.Where(scope=functions.LABELS_SCOPE, path=f"labels.{key}")
    yield (
        plan.deployment_settings,
        functions.Where(scope=functions.DEPLOYMENT_SETTINGS_SCOPE, path="deployment_settings"),
    )


def _node_sites(node: Any) -> Iterator[tuple[Any, functions.Where]]:
    base = f"nodes.{node.id}"
    yield (
        node.properties,
        functions.Where(scope=functions.NODE_SCOPE, path=f"{base}.properties", node=node.id),
    )
    for name, capability in node.capabilities.items():
        if isinstance(capability, Mapping):
            properties = capability.get("properties") or {}
            path = f"{base}.capabilities.{name}"
            yield properties, functions.Where(scope=functions.NODE_SCOPE, path=path, node=node.id)
    if "scalable" not in node.capabilities:
        scalable = dict(vars(node.scalable))
        yield (
            scalable,
            functions.Where(
                scope=functions.NODE_SCOPE, path=f"{base}.capabilities.scalable", node=node.id
            ),
        )
    # Most operations (dozens per node, inherited from the standard types) have no function
    # in their inputs: skip them before building their paths, which keeps checking linear
    # in the blueprint with a small constant.
    for name, op in node.operations.items():
        if op.inputs and functions.contains_function(op.inputs):
            path = f"{base}.operations.{name}.inputs"
            yield op.inputs, functions.Where(scope=functions.NODE_SCOPE, path=path, node=node.id)
    for rel in node.relationships:
        for ops in (rel.source_operations, rel.target_operations):
            for name, op in ops.items():
                if not (op.inputs and functions.contains_function(op.inputs)):
                    continue
                where = functions.Where(
                    scope=functions.RELATIONSHIP_SCOPE,
                    path=f"{base}.{rel.type}.{name}.inputs",
                    node=node.id,
                    target=rel.target,
                )
                yield op.inputs, where


def site_functions(container: Any, where: functions.Where) -> Iterator[functions.FunctionUse]:
    """The functions among the values of one site (not the site mapping itself)."""
    mark = getattr(container, "mark", None)
    if isinstance(container, Mapping):
        for key, value in container.items():
            if isinstance(value, functions.CONTAINERS):
                yield from functions.iter_functions(
                    value, where.key(key), functions.child_mark(container, key, mark)
                )
    elif isinstance(container, (list, tuple)):
        for index, value in enumerate(container):
            if isinstance(value, functions.CONTAINERS):
                yield from functions.iter_functions(
                    value, where.item(index), functions.child_mark(container, index, mark)
                )


def check_plan(plan: Any) -> list[Problem]:
    """Function problems Cloudify's parser rejects, as ``(mark, code, message)``.

    ``mark`` is where the function is written when the plan value came from YAML, else None.
    """
    context = _CheckContext(plan)
    problems: list[Problem] = []
    for container, where in plan_sites(plan):
        for use in site_functions(container, where):
            for code, message in _check_use(use, context):
                problems.append((use.mark, code, f"{message} (at {use.where.path})"))
    return problems


class _CheckContext:
    def __init__(self, plan: Any) -> None:
        self.inputs: Mapping[str, Any] = plan.inputs
        self.nodes: dict[str, Any] = {node.id: node.properties for node in plan.nodes}
        self.version = functions.dsl_version(plan.dsl_version)
        self.version_text: str = plan.dsl_version


def _check_use(use: functions.FunctionUse, context: _CheckContext) -> list[tuple[str, str]]:
    problem = functions.argument_problem(use.name, use.args)
    if problem is not None:
        return [("function-args", problem)]
    spec = functions.FUNCTIONS[use.name]
    if context.version is not None and context.version < spec.since:
        wanted = f"cloudify_dsl_{spec.since[0]}_{spec.since[1]}"
        return [
            ("function-version", f"{use.name} needs {wanted} or later, not {context.version_text}")
        ]
    check = _CHECKS.get(use.name)
    if check is None:
        return []
    try:
        message = check(use, context)
    except ReferenceProblem as exc:
        return [(exc.code, exc.message)]
    return [] if message is None else [("function-args", message)]


def _check_get_input(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    name = use.args[0] if isinstance(use.args, list) else use.args
    if functions.is_function(name) or (isinstance(name, str) and name in context.inputs):
        return None
    raise ReferenceProblem(
        "unknown-input", f"get_input refers to undeclared input {functions.show(name)}"
    )


def _check_get_property(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    if any(functions.is_function(arg) for arg in use.args):
        return None
    node = resolve_node(use.args[0], use.where, context.nodes, function=use.name)
    missing = cloudify_path_problem(context.nodes[node], use.args[1:])
    if missing is not None:
        dotted = ".".join(str(step) for step in use.args[1:])
        raise ReferenceProblem(
            "unknown-property",
            f"get_property: node '{node}' has no property '{dotted}' ({missing})",
        )
    return None


def cloudify_path_problem(properties: Any, path: list[Any]) -> str | None:
    """Why Cloudify's parse-time walk of a property path fails, or None.

    Cloudify does not evaluate while it checks: reaching a function it turns the value into
    ``[function, next key]`` and walks on, so one step past a function always passes and a
    second step only passes with index 0 or 1. Replicated so the same blueprints pass.
    """
    value: Any = properties
    for step in path:
        if functions.is_function(value):
            value = [value, step]
        elif isinstance(value, Mapping):
            if step not in value:
                return f"no key {functions.show(step)}"
            value = value[step]
        elif isinstance(value, list):
            if not isinstance(step, int):
                return f"{functions.show(step)} is not a list index"
            if not -len(value) <= step < len(value):
                return f"index {step} is out of range for a list of {len(value)}"
            value = value[step]
        else:
            return f"{functions.show(value)} has no key {functions.show(step)}"
    return None


# Which of SELF/SOURCE/TARGET get_attribute may use in each scope (Cloudify's table; in any
# other scope none of them).
_ATTRIBUTE_REFERENCES = {
    functions.NODE_SCOPE: (functions.SELF,),
    functions.RELATIONSHIP_SCOPE: (functions.SOURCE, functions.TARGET),
    functions.OUTPUTS_SCOPE: (),
}


def _check_attribute_reference(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    ref = use.args[0]
    rest = use.args[1:] if use.name != "get_attributes_dict" else []
    if functions.is_function(ref) or any(functions.is_function(arg) for arg in rest):
        return None
    if ref in functions.NODE_REFERENCES:
        if ref not in _ATTRIBUTE_REFERENCES.get(use.where.scope, ()):
            raise ReferenceProblem(
                "function-context", f"{ref} cannot be used with {use.name} in {use.where.path}"
            )
        return None
    if not isinstance(ref, str) or ref not in context.nodes:
        raise ReferenceProblem(
            "unknown-node", f"{use.name} refers to unknown node {functions.show(ref)}"
        )
    return None


def _check_get_sys(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    entity, prop = use.args[0], use.args[1]
    if functions.is_function(entity):
        return None
    if entity not in {e for e, _ in functions.SYS_PROPERTIES}:
        raise ReferenceProblem("unknown-sys", f"get_sys: unknown entity {functions.show(entity)}")
    if functions.is_function(prop) or (entity, prop) in functions.SYS_PROPERTIES:
        return None
    raise ReferenceProblem(
        "unknown-sys", f"get_sys: {entity} has no property {functions.show(prop)}"
    )


def _check_merge(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    for index, item in enumerate(use.args):
        if not isinstance(item, Mapping):
            return f"merge: item {index + 1} is not a mapping: {functions.show(item)}"
    return None


def _check_string(use: functions.FunctionUse, context: _CheckContext) -> str | None:
    return functions.string_argument_problem(use.name, use.args)


_CHECKS: Mapping[str, Callable[[functions.FunctionUse, _CheckContext], str | None]] = {
    "get_input": _check_get_input,
    "get_property": _check_get_property,
    "get_attribute": _check_attribute_reference,
    "get_attributes_list": _check_attribute_reference,
    "get_attributes_dict": _check_attribute_reference,
    "get_sys": _check_get_sys,
    "merge": _check_merge,
    "string_find": _check_string,
    "string_replace": _check_string,
    "string_split": _check_string,
    "string_lower": _check_string,
    "string_upper": _check_string,
}
