"""Workflow parameters: the given values checked against the workflow's declared parameters.

Cloudify's rules (``cloudify.workflows.local._merge_and_validate_execution_parameters`` and the
manager's checks of parameter types):

* a declared parameter takes the given value, else its ``default`` (a ``default: null`` counts);
  one with neither is missing unless it says ``required: false``, and is then left out;
* a string given for an ``integer``, ``float`` or ``boolean`` parameter is converted when it
  reads as one (values from a command line arrive as text);
* values are checked against the declared type and constraints; the types that name things of
  the deployment must name existing ones: ``node_id``, ``node_instance``, ``node_type`` (a type
  of one of its nodes), ``scaling_group`` and ``operation_name`` (an operation of one of its
  nodes, or of one of Cloudify's standard interfaces, which every node has), also as the
  ``item_type`` of a list;
* a parameter the workflow does not declare is refused, unless custom parameters are allowed
  (Cloudify's ``allow_custom_parameters``); then it is passed on as given.

Every problem is reported at once in one :class:`cairn.errors.InputError`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from cairn import errors
from cairn.dsl import constraints, functions
from cairn.model import plan
from cairn.planner import topology

STANDARD_INTERFACES = "cloudify.interfaces."


def resolve(
    workflow_id: str,
    declared: Mapping[str, Any],
    given: Mapping[str, Any],
    *,
    topo: topology.Topology,
    allow_custom: bool = False,
) -> dict[str, Any]:
    """The workflow's parameters: given values, then defaults; raises InputError."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, raw in declared.items():
        definition: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if name in given:
            value = _converted(plan.jsonable(given[name]), definition.get("type"))
            problems += _problems(name, value, definition, topo)
            values[name] = value
        elif "default" in definition:
            values[name] = copy.deepcopy(plan.jsonable(definition["default"]))
        elif definition.get("required", True):
            problems.append(
                f"workflow '{workflow_id}' needs parameter '{name}', which has no default"
            )
    unknown = [name for name in given if name not in declared]
    if unknown and not allow_custom:
        known = ", ".join(declared) or "none"
        problems.append(
            f"workflow '{workflow_id}' has no parameter {_names(unknown)} (it declares: {known}); "
            "remove it or allow custom parameters"
        )
    if problems:
        raise errors.InputError(problems)
    values.update({name: plan.jsonable(given[name]) for name in unknown})
    return values


def _names(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _converted(value: Any, type_name: Any) -> Any:
    if not isinstance(value, str):
        return value
    if type_name == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    converter: Callable[[str], Any] | None = {"integer": int, "float": float}.get(type_name)
    if converter is None:
        return value
    try:
        return converter(value)
    except ValueError:
        return value


def _problems(
    name: str, value: Any, definition: Mapping[str, Any], topo: topology.Topology
) -> list[str]:
    label = f"parameter '{name}'"
    type_name = definition.get("type")
    checked = dict(definition)
    if type_name is not None and type_name not in constraints.INPUT_TYPES:
        # A data type: its definition is not part of the stored deployment plan.
        checked.pop("type")
    problems = constraints.check_value(name, value, checked, data_types={}, label=label)
    if problems:
        return problems
    item_type = definition.get("item_type")
    if type_name == "list" and isinstance(value, list) and item_type in constraints.OBJECT_TYPES:
        return [p for item in value for p in _object_problems(label, item, item_type, topo)]
    if type_name in constraints.OBJECT_TYPES:
        return _object_problems(label, value, type_name, topo)
    return []


def _object_problems(label: str, value: Any, type_name: str, topo: topology.Topology) -> list[str]:
    check = _OBJECT_CHECKS.get(type_name)
    if check is None:
        return []
    if not isinstance(value, str):
        return [f"{label}: {functions.show(value)} is not a {type_name.replace('_', ' ')} name"]
    message = check(value, topo)
    return [f"{label}: {message}"] if message else []


def _node_id(value: str, topo: topology.Topology) -> str | None:
    if value in topo.nodes:
        return None
    return f"the deployment has no node '{value}' (its nodes: {', '.join(topo.nodes) or 'none'})"


def _node_instance(value: str, topo: topology.Topology) -> str | None:
    return None if value in topo.instances else f"the deployment has no node instance '{value}'"


def _node_type(value: str, topo: topology.Topology) -> str | None:
    for node in topo.nodes.values():
        if value in (node.get("type_hierarchy") or ()):
            return None
    return f"no node of the deployment is of type '{value}'"


def _scaling_group(value: str, topo: topology.Topology) -> str | None:
    if value in topo.scaling_groups:
        return None
    groups = ", ".join(topo.scaling_groups) or "none"
    return f"the deployment has no scaling group '{value}' (its groups: {groups})"


def operation_name_problem(value: str, topo: topology.Topology) -> str | None:
    """Why no node of the deployment can run operation ``value``, if none can."""
    if value.startswith(STANDARD_INTERFACES):
        return None
    for node in topo.nodes.values():
        if topology.resolve_operation(node.get("operations") or {}, value) is not None:
            return None
    return f"no node of the deployment has an operation '{value}'"


_OBJECT_CHECKS: Mapping[str, Callable[[str, topology.Topology], str | None]] = {
    "node_id": _node_id,
    "node_instance": _node_instance,
    "node_type": _node_type,
    "scaling_group": _scaling_group,
    "operation_name": operation_name_problem,
}
