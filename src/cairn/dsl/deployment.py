"""From a plan and inputs to a deployment plan (Cloudify's ``prepare_deployment_plan``).

Three steps, each collecting every problem before it gives up, so the user fixes the inputs
in one pass:

1. inputs: unknown ones, missing required ones, wrong types and failed constraints are all
   reported; defaults (including data-type defaults) are filled in;
2. static functions are evaluated wherever Cloudify evaluates them: node properties, node
   capabilities (so ``default_instances: {get_input: n}`` works), operation inputs of nodes
   and of both ends of relationships, outputs, capabilities, policy and scaling-group
   properties, labels and deployment settings. Relationship properties, workflow parameters
   and groups are left as written, as Cloudify does;
3. node instances are created (:mod:`cairn.dsl.instances`).

Everything raises :class:`cairn.errors.InputError`: these problems only show up once inputs
are applied, and nothing is created when there is one.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping
from typing import Any

from cairn import errors
from cairn.dsl import constraints, evaluation, function_checks, functions, instances
from cairn.model import deployment
from cairn.model import plan as plan_model

INPUTS_SCOPE = "inputs"
COUNT_FIELDS = (
    "default_instances",
    "min_instances",
    "max_instances",
    "current_instances",
    "planned_instances",
)


def prepare(
    plan: plan_model.Plan,
    inputs: Mapping[str, Any],
    *,
    rng: random.Random | None = None,
    new_id: Callable[[str], str] | None = None,
    auto_correct_types: bool = False,
) -> deployment.DeploymentPlan:
    """The deployment plan of ``plan`` with ``inputs``.

    ``rng`` (or a whole ``new_id`` generator) makes instance ids reproducible in tests.
    ``auto_correct_types`` turns string inputs such as ``"8080"`` or ``"true"`` into the
    declared integer/float/boolean, for inputs that arrive as text.
    """
    values = resolve_inputs(plan, inputs, auto_correct_types=auto_correct_types)
    site = _Sites(plan, values)
    nodes = tuple(site.node(node) for node in plan.nodes)
    dep = deployment.DeploymentPlan(
        inputs=site.inputs(values),
        nodes=nodes,
        node_instances=(),
        outputs=site.sections(plan.outputs, functions.OUTPUTS_SCOPE, "outputs"),
        capabilities=site.sections(plan.capabilities, functions.CAPABILITIES_SCOPE, "capabilities"),
        workflows=plan.workflows,
        groups=plan.groups,
        policies=site.properties_of(plan.policies, functions.POLICIES_SCOPE),
        scaling_groups=site.properties_of(plan.scaling_groups, functions.SCALING_GROUPS_SCOPE),
        labels=site.sections(plan.labels, functions.LABELS_SCOPE, "labels"),
        deployment_settings=site.values(
            plan.deployment_settings,
            functions.Where(scope=functions.DEPLOYMENT_SETTINGS_SCOPE, path="deployment_settings"),
        ),
    )
    counts = _instance_counts(dep, site.problems)
    if site.problems:
        raise errors.InputError(list(dict.fromkeys(site.problems)))
    try:
        created = instances.create(
            nodes, dep.scaling_groups, counts, new_id or instances.id_generator(rng)
        )
    except instances.InstanceError as exc:
        raise errors.InputError([str(exc)]) from exc
    return dataclasses.replace(dep, node_instances=created, secrets=secret_names(dep))


# --- inputs -----------------------------------------------------------------------------------


def resolve_inputs(
    plan: plan_model.Plan, given: Mapping[str, Any], *, auto_correct_types: bool = False
) -> dict[str, Any]:
    """Every declared input's value: given, else its default; raises InputError listing all
    unknown, missing and invalid inputs."""
    declared = plan.inputs
    data_types = plan.data_types
    problems = [
        f"unknown input '{name}' (the blueprint declares: {', '.join(declared) or 'none'})"
        for name in given
        if name not in declared
    ]
    values: dict[str, Any] = {}
    for name, declared_definition in declared.items():
        definition = declared_definition or {}
        found, value = _input_value(name, definition, given, data_types)
        if not found:
            if definition.get("required", True):
                problems.append(f"input '{name}' is required and has no default")
            else:
                values[name] = None
            continue
        if auto_correct_types:
            value = constraints.cast_to_type(value, definition.get("type"))
        value_problems = constraints.check_value(name, value, definition, data_types=data_types)
        problems += value_problems
        if not value_problems:
            values[name] = constraints.complete_value(value, definition.get("type"), data_types)
    if problems:
        raise errors.InputError(problems)
    return values


def _input_value(
    name: str, definition: Mapping[str, Any], given: Mapping[str, Any], data_types: Any
) -> tuple[bool, Any]:
    """``(found, value)``: the given value, the default, or a data type's all-default value."""
    if name in given:
        return True, given[name]
    if definition.get("default") is not None:
        return True, plan_model.jsonable(definition["default"])
    type_name = definition.get("type")
    # A data type whose properties all have defaults needs no value (Cloudify's rule).
    if (
        isinstance(type_name, str)
        and type_name in data_types
        and not constraints.type_problems({}, type_name, data_types, name)
    ):
        value = constraints.complete_value({}, type_name, data_types)
        if value:
            return True, value
    return False, None


# --- evaluation -----------------------------------------------------------------------------


class _Sites:
    """Evaluates the plan's sections, collecting problems instead of stopping at the first."""

    def __init__(self, plan: plan_model.Plan, values: Mapping[str, Any]) -> None:
        self.problems: list[str] = []
        self.evaluator = evaluation.Evaluator(
            inputs=values, node_properties={n.id: n.properties for n in plan.nodes}
        )

    def inputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Input values with their static functions evaluated, for the record.

        Leniently: a value that cannot be evaluated stays as written, because Cloudify only
        evaluates an input where ``get_input`` uses it, and reports problems there.
        """
        evaluated: dict[str, Any] = {}
        for name, value in values.items():
            where = functions.Where(scope=INPUTS_SCOPE, path=f"inputs.{name}")
            try:
                evaluated[name] = self.evaluator.evaluate(value, where)
            except evaluation.EvaluationError:
                evaluated[name] = value
        return evaluated

    def value(self, value: Any, where: functions.Where) -> Any:
        try:
            return self.evaluator.evaluate(value, where)
        except evaluation.EvaluationError as exc:
            self.problems.append(str(exc))
            return plan_model.jsonable(value)

    def values(self, container: Any, where: functions.Where) -> Any:
        """Each value of a mapping (or list) evaluated, as Cloudify's scan does."""
        if isinstance(container, Mapping):
            return {key: self.value(item, where.key(key)) for key, item in container.items()}
        if isinstance(container, (list, tuple)):
            return [self.value(item, where.item(i)) for i, item in enumerate(container)]
        return plan_model.jsonable(container)

    def sections(self, sections: Mapping[str, Any], scope: str, prefix: str) -> dict[str, Any]:
        return {
            name: self.values(section, functions.Where(scope=scope, path=f"{prefix}.{name}"))
            for name, section in sections.items()
        }

    def properties_of(self, sections: Mapping[str, Any], scope: str) -> dict[str, Any]:
        """Policies or scaling groups, with their ``properties`` evaluated."""
        result: dict[str, Any] = {}
        for name, section in sections.items():
            if not isinstance(section, Mapping):
                result[name] = plan_model.jsonable(section)
                continue
            where = functions.Where(scope=scope, path=f"{scope}.{name}.properties")
            evaluated = self.values(section.get("properties") or {}, where)
            result[name] = {**plan_model.jsonable(section), "properties": evaluated}
        return result

    def node(self, node: plan_model.Node) -> plan_model.Node:
        base = f"nodes.{node.id}"
        properties: dict[str, Any] = {}
        for name in node.properties:
            try:
                properties[name] = self.evaluator.node_property(node.id, name)
            except evaluation.EvaluationError as exc:
                self.problems.append(str(exc))
                properties[name] = plan_model.jsonable(node.properties[name])
        capabilities = {
            name: self._capability(node.id, name, capability)
            for name, capability in node.capabilities.items()
        }
        operations = {
            name: self._operation(op, self._node_where(node.id, f"{base}.operations.{name}.inputs"))
            for name, op in node.operations.items()
        }
        return dataclasses.replace(
            node,
            properties=properties,
            capabilities=capabilities,
            operations=operations,
            relationships=tuple(self._relationship(node.id, rel) for rel in node.relationships),
            scalable=self._scalable(node, capabilities),
        )

    @staticmethod
    def _node_where(node_id: str, path: str) -> functions.Where:
        return functions.Where(scope=functions.NODE_SCOPE, path=path, node=node_id)

    def _capability(self, node_id: str, name: str, capability: Any) -> Any:
        if not isinstance(capability, Mapping) or "properties" not in capability:
            return plan_model.jsonable(capability)
        where = self._node_where(node_id, f"nodes.{node_id}.capabilities.{name}")
        return {
            **plan_model.jsonable(capability),
            "properties": self.values(capability["properties"], where),
        }

    def _operation(self, op: plan_model.Operation, where: functions.Where) -> plan_model.Operation:
        return dataclasses.replace(op, inputs=self.values(op.inputs, where))

    def _relationship(self, node_id: str, rel: plan_model.Relationship) -> plan_model.Relationship:
        def where(name: str) -> functions.Where:
            return functions.Where(
                scope=functions.RELATIONSHIP_SCOPE,
                path=f"nodes.{node_id}.{rel.type}.{name}.inputs",
                node=node_id,
                target=rel.target,
            )

        return dataclasses.replace(
            rel,
            source_operations={
                n: self._operation(o, where(n)) for n, o in rel.source_operations.items()
            },
            target_operations={
                n: self._operation(o, where(n)) for n, o in rel.target_operations.items()
            },
        )

    def _scalable(
        self, node: plan_model.Node, capabilities: Mapping[str, Any]
    ) -> plan_model.Scalable:
        """The node's instance counts, evaluated; from ``capabilities.scalable`` when there."""
        scalable = capabilities.get("scalable")
        if isinstance(scalable, Mapping) and isinstance(scalable.get("properties"), Mapping):
            counts = dict(scalable["properties"])
        else:
            where = self._node_where(node.id, f"nodes.{node.id}.capabilities.scalable")
            counts = self.values(dict(vars(node.scalable)), where)
        fields = {}
        for key in COUNT_FIELDS:
            value = counts.get(key, getattr(node.scalable, key))
            if not _is_count(value, allow_unbounded=key == "max_instances"):
                shown = functions.show(value)
                self.problems.append(
                    f"node '{node.id}': {key} must be a non-negative integer, got {shown}"
                )
                value = 0
            fields[key] = value
        return plan_model.Scalable(**fields)


def _is_count(value: Any, *, allow_unbounded: bool) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return value >= 0 or (allow_unbounded and value == -1)


def _instance_counts(dep: deployment.DeploymentPlan, problems: list[str]) -> dict[str, int]:
    """How many instances each node and each scaling group gets (``current_instances``)."""
    counts = {node.id: node.scalable.current_instances for node in dep.nodes}
    for name, group in dep.scaling_groups.items():
        properties = group.get("properties") or {} if isinstance(group, Mapping) else {}
        value = properties.get("current_instances", properties.get("default_instances", 1))
        if not _is_count(value, allow_unbounded=False):
            problems.append(
                f"scaling group '{name}': default_instances must be a non-negative integer, "
                f"got {functions.show(value)}"
            )
            value = 0
        counts[name] = value
    return counts


def secret_names(dep: deployment.DeploymentPlan) -> tuple[str, ...]:
    """Names of the secrets ``get_secret`` reads where the name is known before running."""
    names: dict[str, None] = {}
    for container, where in function_checks.plan_sites(dep):
        for use in function_checks.site_functions(container, where):
            if use.name != "get_secret":
                continue
            name = use.args[0] if isinstance(use.args, list) and use.args else use.args
            if isinstance(name, str):
                names[name] = None
    return tuple(names)
