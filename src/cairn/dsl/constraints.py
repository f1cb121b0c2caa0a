"""Input types and constraints: checking a definition at parse time, a value at deploy time.

Follows Cloudify 7 (``dsl_parser.constraints`` and ``utils.parse_value``), including its
leniencies, so the same inputs are accepted: ``type: string`` accepts any value, a ``list``
input with an ``item_type`` has its constraints applied to each item, and a value that is
an intrinsic function is not type-checked.

The "object" types (``deployment_id``, ``node_id``, ``secret_key``, ...) name things that
live on a Cloudify manager; Cloudify asks the manager whether the value exists. There is no
such catalogue here, so only what can be checked locally is: ``valid_values`` and
``name_pattern`` apply to the value itself; ``deployment_id``, ``filter_id``, ``labels`` and
``tenants`` constraints are accepted and not checked.

Every check returns a list of problem messages instead of raising, so callers can report all
of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cairn.dsl import functions

OBJECT_TYPES_1_4 = (
    "blueprint_id",
    "deployment_id",
    "capability_value",
    "scaling_group",
    "node_id",
    "node_type",
    "node_instance",
    "secret_key",
)
OBJECT_TYPES_1_5 = ("operation_name",)
OBJECT_TYPES = OBJECT_TYPES_1_4 + OBJECT_TYPES_1_5
PRIMITIVE_TYPES = ("string", "integer", "float", "boolean", "list", "dict", "regex", "textarea")
INPUT_TYPES = PRIMITIVE_TYPES + OBJECT_TYPES

# Object types Cloudify looks up by name on the manager, and which of them valid_values /
# name_pattern apply to.
_VALID_VALUES_OBJECT_TYPES = (
    "capability_value",
    "scaling_group",
    "node_id",
    "node_type",
    "node_instance",
    "operation_name",
)
_MANAGER_ONLY = {"deployment_id", "filter_id", "labels", "tenants"}


@dataclass(frozen=True, kw_only=True)
class Operator:
    """One constraint operator: the shape of its argument and the test of a value."""

    name: str
    argument: str  # "number", "range", "sequence", "regex", "string", "mapping"
    object_types: tuple[str, ...] = ()  # the object types it is defined for, if any


OPERATORS: Mapping[str, Operator] = {
    op.name: op
    for op in (
        Operator(name="equal", argument="number"),
        Operator(name="greater_than", argument="number"),
        Operator(name="greater_or_equal", argument="number"),
        Operator(name="less_than", argument="number"),
        Operator(name="less_or_equal", argument="number"),
        Operator(name="in_range", argument="range"),
        Operator(name="valid_values", argument="sequence"),
        Operator(name="length", argument="number"),
        Operator(name="min_length", argument="number"),
        Operator(name="max_length", argument="number"),
        Operator(name="pattern", argument="regex"),
        Operator(
            name="filter_id", argument="string", object_types=("deployment_id", "blueprint_id")
        ),
        Operator(
            name="labels", argument="sequence", object_types=("deployment_id", "blueprint_id")
        ),
        Operator(
            name="tenants", argument="sequence", object_types=("deployment_id", "blueprint_id")
        ),
        Operator(
            name="name_pattern",
            argument="mapping",
            object_types=(
                "deployment_id",
                "blueprint_id",
                "secret_key",
                *_VALID_VALUES_OBJECT_TYPES,
            ),
        ),
        Operator(name="deployment_id", argument="string", object_types=_VALID_VALUES_OBJECT_TYPES),
    )
}

ERROR_MESSAGE_KEY = "error_message"


# --- definitions (parse time) ---------------------------------------------------------------


def check_definitions(definitions: Any, *, dsl_version: tuple[int, int] | None = None) -> list[str]:
    """Problems with an input's ``constraints:`` list.

    ``dsl_version`` enables the version gate on ``error_message`` (DSL 1.5); leave it None
    where versions are not checked (plugin and type YAML).
    """
    if definitions is None:
        return []
    if not isinstance(definitions, list):
        return [f"constraints must be a list, got {functions.show(definitions)}"]
    problems: list[str] = []
    for definition in definitions:
        problems.extend(check_definition(definition, dsl_version=dsl_version))
    return problems


def check_definition(definition: Any, *, dsl_version: tuple[int, int] | None = None) -> list[str]:
    """Problems with one constraint, ``{operator: argument[, error_message: text]}``."""
    if not isinstance(definition, Mapping) or not definition:
        return [
            f"a constraint is a mapping {{operator: argument}}, got {functions.show(definition)}"
        ]
    names = [key for key in definition if key != ERROR_MESSAGE_KEY]
    if ERROR_MESSAGE_KEY in definition and dsl_version is not None and dsl_version < (1, 5):
        return ["a constraint's error_message needs cloudify_dsl_1_5 or later"]
    if len(names) != 1:
        return [f"a constraint names exactly one operator, got {functions.show(definition)}"]
    name = names[0]
    if name not in OPERATORS:
        known = ", ".join(OPERATORS)
        return [f"unknown constraint operator {functions.show(name)} (known: {known})"]
    args = definition[name]
    if functions.is_function(args) or _argument_ok(OPERATORS[name].argument, args):
        return []
    wanted = _ARGUMENT_TEXT[OPERATORS[name].argument]
    return [f"constraint {name} takes {wanted}, got {functions.show(args)}"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _argument_ok(kind: str, args: Any) -> bool:
    if kind == "number":
        return _is_number(args)
    if kind == "range":
        return isinstance(args, list) and len(args) == 2 and all(_is_number(a) for a in args)
    if kind == "sequence":
        return isinstance(args, list)
    if kind == "regex":
        return isinstance(args, str) and _compiles(args)
    if kind == "string":
        return isinstance(args, str)
    return isinstance(args, Mapping)


_ARGUMENT_TEXT = {
    "number": "a number",
    "range": "[min, max] numbers",
    "sequence": "a list",
    "regex": "a valid regular expression",
    "string": "a string",
    "mapping": "a mapping",
}


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


# --- types ----------------------------------------------------------------------------------


def simple_type_ok(value: Any, type_name: str) -> bool:
    """Whether ``value`` is of a primitive or object input type (Cloudify's rules)."""
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "float":
        return _is_number(value)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "regex":
        return isinstance(value, str) and _compiles(value)
    if type_name == "list":
        return isinstance(value, (list, tuple))
    if type_name == "dict":
        return isinstance(value, Mapping)
    return type_name in ("string", "textarea", *OBJECT_TYPES)


_TYPE_TEXT = {
    "integer": "an integer",
    "float": "a number",
    "boolean": "a boolean",
    "regex": "a valid regular expression",
    "list": "a list",
    "dict": "a mapping",
}


def data_type_schema(type_name: str, data_types: Mapping[str, Any]) -> dict[str, Any]:
    """A data type's properties including inherited ones (the nearest definition wins)."""
    chain: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    current: Any = type_name
    while isinstance(current, str) and current in data_types and current not in seen:
        seen.add(current)
        definition = data_types[current] or {}
        chain.append(definition)
        current = definition.get("derived_from")
    schema: dict[str, Any] = {}
    for definition in reversed(chain):
        schema.update(definition.get("properties") or {})
    return schema


def type_problems(
    value: Any, type_name: Any, data_types: Mapping[str, Any], label: str
) -> list[str]:
    """Why ``value`` is not of ``type_name`` (primitive or data type), with ``label`` first."""
    if type_name is None or functions.is_function(value):
        return []
    if not isinstance(type_name, str):
        return []  # a type that is not a name is reported where it is written
    if type_name in INPUT_TYPES:
        if simple_type_ok(value, type_name):
            return []
        return [f"{label}: {functions.show(value)} is not {_TYPE_TEXT.get(type_name, type_name)}"]
    if type_name not in data_types:
        return [f"{label}: unknown type {functions.show(type_name)}"]
    if not isinstance(value, Mapping):
        return [f"{label}: {functions.show(value)} is not a mapping of type '{type_name}'"]
    schema = data_type_schema(type_name, data_types)
    problems = [
        f"{label}: {functions.show(key)} is not a property of type '{type_name}'"
        for key in value
        if key not in schema
    ]
    for key, declared in schema.items():
        prop = declared or {}
        if key in value:
            problems += type_problems(value[key], prop.get("type"), data_types, f"{label}.{key}")
        elif prop.get("default") is None and prop.get("required", True):
            problems.append(f"{label}: missing property '{key}' of type '{type_name}'")
    return problems


def complete_value(
    value: Any, type_name: Any, data_types: Mapping[str, Any], base: Any = None
) -> Any:
    """``value`` with the defaults of its data type (and nested data types) filled in.

    ``base`` is the default of the property holding the value: Cloudify lays the value over
    it, so a nested default mapping fills in too.
    """
    if not isinstance(type_name, str) or type_name not in data_types:
        return value
    if not isinstance(value, Mapping) or functions.is_function(value):
        return value
    schema = data_type_schema(type_name, data_types)
    merged: dict[Any, Any] = {k: p["default"] for k, p in schema.items() if _has_default(p)}
    if isinstance(base, Mapping):
        merged.update(base)
    merged.update(value)
    result: dict[Any, Any] = {}
    for key, declared in schema.items():
        if key in merged:
            prop = declared or {}
            default = prop.get("default")
            result[key] = complete_value(merged[key], prop.get("type"), data_types, default)
    return result


def _has_default(prop: Any) -> bool:
    return isinstance(prop, Mapping) and prop.get("default") is not None


def cast_to_type(value: Any, type_name: Any) -> Any:
    """A string input converted to its declared integer/float/boolean type when it reads as one.

    Cloudify's ``auto_correct_types``: for inputs that arrive as text (query strings, CLI).
    """
    if not isinstance(value, str):
        return value
    try:
        if type_name == "integer":
            return int(value)
        if type_name == "float":
            return float(value)
    except ValueError:
        return value
    if type_name == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


# --- values (deploy time) -------------------------------------------------------------------


def check_value(
    name: str,
    value: Any,
    definition: Mapping[str, Any],
    *,
    data_types: Mapping[str, Any],
    label: str | None = None,
) -> list[str]:
    """Why ``value`` is not acceptable for input ``name`` declared by ``definition``.

    The type first (a wrong type says more than the constraint it then fails), then every
    constraint; each failed one is reported. ``label`` replaces ``input '<name>'`` in messages.
    """
    label = label or f"input '{name}'"
    type_name = definition.get("type")
    item_type = definition.get("item_type")
    parsed = _parse_constraints(definition.get("constraints"))
    if parsed and functions.is_function(value):
        return [f"{label}: a value that is an intrinsic function cannot have constraints"]
    problems = type_problems(value, type_name, data_types, label)
    if problems:
        return problems
    if type_name != "list" or not item_type or not isinstance(item_type, str):
        return _constraint_problems(label, value, parsed, type_name)
    for item in value:
        if not simple_type_ok(item, item_type):
            text = _TYPE_TEXT.get(item_type, item_type)
            problems.append(f"{label}: item {functions.show(item)} is not {text}")
        else:
            problems += _constraint_problems(label, item, parsed, item_type)
    return problems


def check_default(
    name: str, definition: Mapping[str, Any], *, data_types: Mapping[str, Any]
) -> list[str]:
    """Problems Cloudify's parser finds with an input's default (its type and constraints).

    Cloudify rejects any default for an object type: it would have to ask the manager.
    """
    default = definition.get("default")
    if default is None:
        return []
    type_name = definition.get("type")
    if type_name in OBJECT_TYPES:
        return [f"input '{name}': an input of type '{type_name}' cannot have a default"]
    label = f"input '{name}' default"
    return check_value(name, default, definition, data_types=data_types, label=label)


@dataclass(frozen=True, kw_only=True)
class _Constraint:
    operator: Operator
    args: Any
    error_message: str | None


def _parse_constraints(definitions: Any) -> list[_Constraint]:
    """The well-formed constraints (the parser reported the rest)."""
    parsed: list[_Constraint] = []
    for definition in definitions if isinstance(definitions, list) else []:
        if check_definition(definition):
            continue
        name = next(k for k in definition if k != ERROR_MESSAGE_KEY)
        message = definition.get(ERROR_MESSAGE_KEY)
        parsed.append(
            _Constraint(
                operator=OPERATORS[name],
                args=definition[name],
                error_message=message if isinstance(message, str) else None,
            )
        )
    return parsed


def _constraint_problems(
    label: str, value: Any, constraints: list[_Constraint], type_name: Any
) -> list[str]:
    problems: list[str] = []
    for constraint in constraints:
        problem = _constraint_problem(value, constraint, type_name)
        if problem is None:
            continue
        if constraint.error_message:
            problem = f"{functions.show(value)} is invalid: {constraint.error_message}"
        problems.append(f"{label}: {problem}")
    return problems


def _constraint_problem(value: Any, constraint: _Constraint, type_name: Any) -> str | None:
    operator, args = constraint.operator, constraint.args
    if functions.is_function(args):
        return None  # Cloudify leaves such constraints to the manager
    if operator.object_types:
        if type_name not in operator.object_types:
            return f"constraint {operator.name} is not defined for type {functions.show(type_name)}"
        if operator.name in _MANAGER_ONLY:
            return None
    test = _TESTS[operator.name]
    try:
        return test(value, args)
    except TypeError:
        shown = f"{functions.show(value)} and {functions.show(args)}"
        return f"{operator.name} cannot compare {shown}"


def _compare(ok: Callable[[Any, Any], bool], text: str) -> Callable[[Any, Any], str | None]:
    def test(value: Any, args: Any) -> str | None:
        return None if ok(value, args) else f"{functions.show(value)} {text} {functions.show(args)}"

    return test


def _in_range(value: Any, args: Any) -> str | None:
    if args[0] <= value <= args[1]:
        return None
    return f"{functions.show(value)} is not in range [{args[0]}, {args[1]}]"


def _valid_values(value: Any, args: Any) -> str | None:
    if value in args:
        return None
    return f"{functions.show(value)} is not one of {functions.show(args)}"


def _length(kind: str) -> Callable[[Any, Any], str | None]:
    def test(value: Any, args: Any) -> str | None:
        if not isinstance(value, (str, list, tuple, Mapping)):
            return f"{functions.show(value)} has no length ({kind} {args})"
        size = len(value)
        if kind == "length" and size != args:
            return f"{functions.show(value)} has length {size}, not {args}"
        if kind == "min_length" and size < args:
            return f"{functions.show(value)} is shorter than {args} (length {size})"
        if kind == "max_length" and size > args:
            return f"{functions.show(value)} is longer than {args} (length {size})"
        return None

    return test


def _pattern(value: Any, args: Any) -> str | None:
    if not isinstance(value, str):
        return f"{functions.show(value)} is not a string, so it cannot match pattern {args!r}"
    # re.match, not fullmatch: Cloudify anchors the pattern at the start only.
    return (
        None
        if re.match(args, value)
        else f"{functions.show(value)} does not match pattern {args!r}"
    )


def _name_pattern(value: Any, args: Any) -> str | None:
    text = str(value)
    for key, wanted in args.items():
        test = _NAME_TESTS.get(key)
        if test is not None and isinstance(wanted, str) and not test(text, wanted):
            return f"{functions.show(value)} does not satisfy name_pattern {key}: {wanted!r}"
    return None


_NAME_TESTS: Mapping[str, Callable[[str, str], bool]] = {
    "equals_to": lambda s, a: s == a,
    "contains": lambda s, a: a in s,
    "starts_with": lambda s, a: s.startswith(a),
    "ends_with": lambda s, a: s.endswith(a),
}

_TESTS: Mapping[str, Callable[[Any, Any], str | None]] = {
    "equal": _compare(lambda v, a: bool(v == a), "is not equal to"),
    "greater_than": _compare(lambda v, a: bool(v > a), "is not greater than"),
    "greater_or_equal": _compare(lambda v, a: bool(v >= a), "is less than"),
    "less_than": _compare(lambda v, a: bool(v < a), "is not less than"),
    "less_or_equal": _compare(lambda v, a: bool(v <= a), "is greater than"),
    "in_range": _in_range,
    "valid_values": _valid_values,
    "length": _length("length"),
    "min_length": _length("min_length"),
    "max_length": _length("max_length"),
    "pattern": _pattern,
    "name_pattern": _name_pattern,
}
