"""Intrinsic functions: what they are called, how they are spotted, what arguments they take.

A function is written as a mapping with one key, its name (``{get_input: port}``); Cloudify
also accepts a second key ``type`` that names the type the result must have
(``{get_input: port, type: integer}``). Any other mapping is plain data, so a property that
happens to hold ``{concat: x, other: y}`` is not a function.

Functions come in two kinds, as in Cloudify:

* *static* ones (Cloudify's "hybrid" functions: ``get_input``, ``get_property``, ``concat``,
  ``merge`` and the ``string_*`` family) are evaluated when a deployment is created
  (:mod:`cairn.dsl.evaluation`);
* *runtime* ones (``get_attribute``, ``get_attributes_list``/``_dict``, ``get_secret``,
  ``get_capability``, ``get_group_capability``, ``get_environment_capability``,
  ``get_label``, ``get_sys``, ``get_consumers``) stay as written in the deployment plan and
  are resolved while workflows run.

Of all of them Cloudify 7's parser gates only two on the DSL version: ``concat`` needs
``cloudify_dsl_1_1`` and ``merge`` ``cloudify_dsl_1_3`` (``FunctionSpec.since``). The others
came with later Cloudify releases but are accepted in any DSL version, so they are here too.

Whether what a function refers to exists (inputs, nodes, property paths, SELF/SOURCE/TARGET
in their context) is checked by :mod:`cairn.dsl.function_checks`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cairn.dsl import yamlsrc

STATIC = "static"
RUNTIME = "runtime"

SELF = "SELF"
SOURCE = "SOURCE"
TARGET = "TARGET"
NODE_REFERENCES = (SELF, SOURCE, TARGET)

# Where a value sits; decides what SELF, SOURCE and TARGET mean (Cloudify's scan scopes).
NODE_SCOPE = "node_template"
RELATIONSHIP_SCOPE = "node_template_relationship"
OUTPUTS_SCOPE = "outputs"
POLICIES_SCOPE = "policies"
SCALING_GROUPS_SCOPE = "scaling_groups"
CAPABILITIES_SCOPE = "capabilities"
LABELS_SCOPE = "labels"
DEPLOYMENT_SETTINGS_SCOPE = "deployment_settings"

RETURN_TYPE_KEY = "type"

ArgsCheck = Callable[[str, Any], "str | None"]


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """One intrinsic function. ``since`` is the DSL version Cloudify's parser insists on."""

    name: str
    kind: str
    check_args: ArgsCheck
    since: tuple[int, int] = (1, 0)


@dataclass(frozen=True, kw_only=True)
class Where:
    """Where a value sits in the plan, for SELF/SOURCE/TARGET and for messages.

    ``node`` is the node SELF names (node scope) or SOURCE names (relationship scope);
    ``target`` is the node TARGET names. ``path`` is Cloudify's dotted path
    (``nodes.vm.properties.ip``), so messages point at the same place Cloudify's do.
    """

    scope: str
    path: str
    node: str | None = None
    target: str | None = None

    def key(self, key: Any) -> Where:
        return Where(
            scope=self.scope, path=f"{self.path}.{key}", node=self.node, target=self.target
        )

    def item(self, index: int) -> Where:
        return Where(
            scope=self.scope, path=f"{self.path}[{index}]", node=self.node, target=self.target
        )


@dataclass(frozen=True, kw_only=True)
class FunctionUse:
    """One function found in a value: its name, arguments, the mapping itself and position."""

    name: str
    args: Any
    raw: Mapping[str, Any]
    where: Where
    mark: yamlsrc.Mark | None


# --- detection -------------------------------------------------------------------------


# The values that may hold a function; scalars never do.
CONTAINERS = (dict, list, tuple, Mapping)


def function_of(value: Any) -> tuple[str, Any] | None:
    """``(name, args)`` when ``value`` is a function call, else None (Cloudify's get_function)."""
    if not isinstance(value, Mapping) or not 0 < len(value) < 3:
        return None
    found: tuple[str, Any] | None = None
    for key, args in value.items():
        if key == RETURN_TYPE_KEY:
            continue
        if not isinstance(key, str) or key not in FUNCTIONS:
            return None
        found = (key, args)
    return found


def is_function(value: Any) -> bool:
    return function_of(value) is not None


def contains_function(value: Any) -> bool:
    """Whether a function appears anywhere in ``value``."""
    if is_function(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_function(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_function(v) for v in value)
    return False


def iter_functions(
    value: Any, where: Where, mark: yamlsrc.Mark | None = None
) -> Iterator[FunctionUse]:
    """Every function in ``value``, outermost first, including those inside arguments."""
    found = function_of(value)
    own_mark = getattr(value, "mark", None) or mark
    if found is not None:
        yield FunctionUse(name=found[0], args=found[1], raw=value, where=where, mark=own_mark)
    # Scalars hold no function: skip them before building their paths (the hot path).
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, CONTAINERS):
                yield from iter_functions(item, where.key(key), child_mark(value, key, own_mark))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if isinstance(item, CONTAINERS):
                yield from iter_functions(
                    item, where.item(index), child_mark(value, index, own_mark)
                )


def child_mark(container: Any, key: Any, fallback: yamlsrc.Mark | None) -> yamlsrc.Mark | None:
    """Where ``container[key]`` is written, when the container came from YAML."""
    if isinstance(container, yamlsrc.YMap):
        return container.value_marks.get(key, container.mark)
    if isinstance(container, yamlsrc.YSeq):
        if isinstance(key, int) and 0 <= key < len(container.item_marks):
            return container.item_marks[key]
        return container.mark
    return fallback


def show(value: Any) -> str:
    """A value as a user wrote it, short enough for a one-line message."""
    if isinstance(value, str):
        return repr(value)
    try:
        text = json.dumps(value, default=str, sort_keys=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# --- argument shapes (Cloudify's parse_args) ---------------------------------------------


def _path_item_ok(item: Any) -> bool:
    return isinstance(item, (str, int)) or is_function(item)


def _node_path(name: str, args: Any) -> str | None:
    if isinstance(args, list) and len(args) >= 2 and all(_path_item_ok(a) for a in args):
        return None
    what = "attribute" if "attribute" in name else "property"
    return f"{name} takes [node, {what}, nested key or index...], got {show(args)}"


def _get_input(name: str, args: Any) -> str | None:
    if isinstance(args, str) or is_function(args):
        return None
    if isinstance(args, list) and args and all(_path_item_ok(a) for a in args):
        return None
    return f"{name} takes an input name or [input, nested key or index...], got {show(args)}"


def _get_attributes_dict(name: str, args: Any) -> str | None:
    usage = f"{name} takes [node, attribute or [attribute, nested key...], ...], got {show(args)}"
    if not isinstance(args, list) or not args:
        return usage
    paths = [p if isinstance(p, list) else [p] for p in args[1:]]
    if any(_node_path(name, [args[0], *p]) for p in paths):
        return usage
    keys = [".".join(str(k) for k in p) for p in paths]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        return f"{name} lists an attribute path more than once: {', '.join(duplicated)}"
    return None


def _get_sys(name: str, args: Any) -> str | None:
    if isinstance(args, list) and len(args) >= 2 and all(_path_item_ok(a) for a in args):
        return None
    return f"{name} takes [entity, property] (e.g. [deployment, id]), got {show(args)}"


def _get_consumers(name: str, args: Any) -> str | None:
    if args in ("ids", "names", "count"):
        return None
    return f"{name} takes one of ids, names, count, got {show(args)}"


def _get_secret(name: str, args: Any) -> str | None:
    if isinstance(args, str) or is_function(args) or (isinstance(args, list) and len(args) > 1):
        return None
    return f"{name} takes a secret name or [secret, nested key...], got {show(args)}"


def _capability(name: str, args: Any) -> str | None:
    if not isinstance(args, list) or len(args) < 2:
        return f"{name} takes [deployment, capability, nested key or index...], got {show(args)}"
    for index, arg in enumerate(args):
        if name == "get_group_capability" and index == 1 and isinstance(arg, list):
            continue
        if not _path_item_ok(arg):
            return f"{name}: argument {index} must be a string, integer or function: {show(arg)}"
    return None


def _get_environment_capability(name: str, args: Any) -> str | None:
    if isinstance(args, str):
        return None
    if isinstance(args, list) and len(args) >= 2:
        bad = [a for a in args if not _path_item_ok(a)]
        return (
            f"{name}: arguments must be strings, integers or functions, got {show(bad[0])}"
            if bad
            else None
        )
    return f"{name} takes a capability name or [capability, nested key...], got {show(args)}"


def _get_label(name: str, args: Any) -> str | None:
    if isinstance(args, str) or is_function(args):
        return None
    if isinstance(args, list) and len(args) == 2:
        key, index = args
        if not (isinstance(key, str) or is_function(key)):
            return f"{name}: the label key must be a string or a function, got {show(key)}"
        if isinstance(index, int) or (isinstance(index, str) and index.isdigit()):
            return None
        return f"{name}: the label value index must be a number, got {show(index)}"
    return f"{name} takes a label key or [label key, value index], got {show(args)}"


def _a_list(name: str, args: Any) -> str | None:
    return None if isinstance(args, list) else f"{name} takes a list, got {show(args)}"


def _arity(low: int, high: int) -> ArgsCheck:
    def check(name: str, args: Any) -> str | None:
        if isinstance(args, list) and low <= len(args) <= high:
            return None
        count = str(low) if low == high else f"{low} to {high}"
        return f"{name} takes a list of {count} arguments, got {show(args)}"

    return check


def _one_string(name: str, args: Any) -> str | None:
    if isinstance(args, str) or (isinstance(args, Mapping) and len(args) == 1):
        return None
    return f"{name} takes one string argument, got {show(args)}"


FUNCTIONS: Mapping[str, FunctionSpec] = {
    spec.name: spec
    for spec in (
        FunctionSpec(name="get_input", kind=STATIC, check_args=_get_input),
        FunctionSpec(name="get_property", kind=STATIC, check_args=_node_path),
        FunctionSpec(name="concat", kind=STATIC, check_args=_a_list, since=(1, 1)),
        FunctionSpec(name="merge", kind=STATIC, check_args=_a_list, since=(1, 3)),
        FunctionSpec(name="string_find", kind=STATIC, check_args=_arity(2, 2)),
        FunctionSpec(name="string_replace", kind=STATIC, check_args=_arity(3, 4)),
        FunctionSpec(name="string_split", kind=STATIC, check_args=_arity(2, 3)),
        FunctionSpec(name="string_lower", kind=STATIC, check_args=_one_string),
        FunctionSpec(name="string_upper", kind=STATIC, check_args=_one_string),
        FunctionSpec(name="get_attribute", kind=RUNTIME, check_args=_node_path),
        FunctionSpec(name="get_attributes_list", kind=RUNTIME, check_args=_node_path),
        FunctionSpec(name="get_attributes_dict", kind=RUNTIME, check_args=_get_attributes_dict),
        FunctionSpec(name="get_secret", kind=RUNTIME, check_args=_get_secret),
        FunctionSpec(name="get_capability", kind=RUNTIME, check_args=_capability),
        FunctionSpec(name="get_group_capability", kind=RUNTIME, check_args=_capability),
        FunctionSpec(
            name="get_environment_capability", kind=RUNTIME, check_args=_get_environment_capability
        ),
        FunctionSpec(name="get_label", kind=RUNTIME, check_args=_get_label),
        FunctionSpec(name="get_sys", kind=RUNTIME, check_args=_get_sys),
        FunctionSpec(name="get_consumers", kind=RUNTIME, check_args=_get_consumers),
    )
}

STATIC_FUNCTIONS = frozenset(n for n, s in FUNCTIONS.items() if s.kind == STATIC)
RUNTIME_FUNCTIONS = frozenset(n for n, s in FUNCTIONS.items() if s.kind == RUNTIME)

# get_sys entities and properties Cloudify knows.
SYS_PROPERTIES = frozenset(
    {
        ("tenant", "name"),
        ("deployment", "id"),
        ("deployment", "name"),
        ("deployment", "blueprint"),
        ("deployment", "owner"),
    }
)


def argument_problem(name: str, args: Any) -> str | None:
    """Why ``args`` is not a valid argument of function ``name``, or None."""
    return FUNCTIONS[name].check_args(name, args)


def string_argument_problem(name: str, args: Any) -> str | None:
    """Why a string function's (already evaluated) arguments have the wrong types, or None.

    Arguments that are still functions pass: they are resolved later.
    """
    values = args if isinstance(args, list) else [args]
    for index, value in enumerate(values):
        wanted: type = int if index == 3 or (name == "string_split" and index == 2) else str
        if is_function(value):
            continue
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            kind = "an integer" if wanted is int else "a string"
            return f"{name}: argument {index + 1} must be {kind}, got {show(value)}"
    return None


def dsl_version(text: str | None) -> tuple[int, int] | None:
    """``cloudify_dsl_1_4`` -> ``(1, 4)``; None when it is not such a name."""
    if not text:
        return None
    parts = text.rsplit("_", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[1]), int(parts[2])
