"""Runtime evaluation of intrinsic functions: operation inputs, outputs and capabilities.

A deployment plan keeps the runtime functions as written (``get_attribute``, ``get_secret``,
...), together with any static function that holds one (``{concat: [{get_attribute: ...}]}``).
This module evaluates them while workflows run, as Cloudify's ``_RuntimeEvaluationHandler``
does:

* arguments are evaluated first; a function whose arguments still hold a function (one that
  stays as written, below) stays as written too, with its arguments evaluated;
* a value read from a runtime property, a node property or an input is evaluated in turn;
  SELF there means the instance it was read from;
* ``get_attribute`` reads the instance's runtime property, then (for ``node_instance_id``)
  the instance id, then the node's property of that name, and gives ``None`` when none has
  it: blueprints rely on that (an output shows ``null`` until ``install`` sets it);
* a node name with several instances resolves to the one related to the instance being
  worked on: the target of its relationship to that node, else the one in the same scaling
  group instance (Cloudify's two rules), else -- Cairn's addition, deciding only what
  Cloudify refuses -- the one on the same host. When nothing decides, it is an error
  (:mod:`cairn.dsl.instance_refs`).

Functions whose provider is not given stay as written: ``get_secret`` without ``secret``,
``get_capability`` without ``capability``, ``get_sys`` without ``deployment``; so do
``get_group_capability``, ``get_environment_capability`` and ``get_consumers``, which need
parts Cairn does not have yet.

Outputs and capabilities differ from Cloudify on purpose. Cloudify puts ``"<ERROR: ...>"`` in
place of a ``get_attribute`` whose instance cannot be resolved, drops an output that is only
a ``get_secret`` of a missing secret, and fails the whole request for any other error. Here
each output is evaluated on its own and one that fails becomes ``{"error": message}``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict, Unpack

from cairn import errors
from cairn.dsl import constraints, evaluation, functions, instance_refs
from cairn.model import runtime as runtime_model

MAX_DEPTH = 50
DEFAULT_TENANT = "default_tenant"  # Cairn has one tenant; this is Cloudify's default's name
PURE_FUNCTIONS = frozenset(functions.STATIC_FUNCTIONS - {"get_input", "get_property"})
AS_WRITTEN_FUNCTIONS = frozenset(
    {"get_group_capability", "get_environment_capability", "get_consumers"}
)

Instance = runtime_model.NodeInstance
SecretReader = Callable[[str], str]
CapabilityReader = Callable[[str, str], Any]

_SCALARS = (str, int, float, bool, type(None))


class Providers(TypedDict, total=False):
    """Where the values come from that a deployment plan does not hold."""

    secret: SecretReader | None  # a secret's value; raises errors.NotFoundError
    capability: CapabilityReader | None  # (deployment id, capability name) -> its value
    deployment: runtime_model.Deployment | None  # for get_sys and get_label


class RuntimeEvaluationError(errors.CairnError):
    """A function cannot be evaluated at run time."""

    def __init__(self, message: str, *, function: str, path: str) -> None:
        super().__init__(f"{function}: {message} ({path})")
        self.function = function
        self.path = path


class _StaysAsWritten(Exception):
    """Internal: the function cannot be evaluated here; keep it as written."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Context:
    """The node instances SELF, SOURCE and TARGET stand for."""

    self_instance: str | None = None
    source_instance: str | None = None
    target_instance: str | None = None

    def anchors(self) -> tuple[str, ...]:
        """The instances a node name is resolved against, in Cloudify's order."""
        if self.self_instance:
            return (self.self_instance,)
        return tuple(i for i in (self.source_instance, self.target_instance) if i)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Call:
    name: str
    args: Any
    raw: Mapping[str, Any]
    context: _Context
    path: str

    def fail(self, message: str) -> RuntimeEvaluationError:
        return RuntimeEvaluationError(message, function=self.name, path=self.path)


def needs_evaluation(value: Any) -> bool:
    """Whether an intrinsic function appears anywhere in ``value`` (cheap; no copying)."""
    if isinstance(value, _SCALARS):
        return False
    if isinstance(value, Mapping):
        if 0 < len(value) < 3 and functions.function_of(value) is not None:
            return True
        return any(needs_evaluation(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(needs_evaluation(item) for item in value)
    return False


def evaluate(
    value: Any,
    *,
    deployment_plan: Mapping[str, Any],
    instances: Sequence[Instance],
    self_instance: str | None = None,
    source_instance: str | None = None,
    target_instance: str | None = None,
    path: str = "payload",
    **providers: Unpack[Providers],
) -> Any:
    """``value`` with every function evaluated; ``value`` itself when it holds none.

    ``deployment_plan`` is :func:`cairn.model.deployment.to_json`'s form; ``instances`` all
    node instances of the deployment as they are now. ``self_instance`` is the instance of
    a node operation, ``source_instance`` and ``target_instance`` those of a relationship
    operation. ``path`` says where ``value`` sits, for messages. Raises
    :class:`RuntimeEvaluationError`.
    """
    if not needs_evaluation(value):
        return value
    context = _Context(
        self_instance=self_instance,
        source_instance=source_instance,
        target_instance=target_instance,
    )
    evaluator = Evaluator(deployment_plan=deployment_plan, instances=instances, **providers)
    return evaluator.walk(value, context, path)


def evaluate_outputs(
    deployment_plan: Mapping[str, Any],
    instances: Sequence[Instance],
    **providers: Unpack[Providers],
) -> dict[str, Any]:
    """Each output's value, or ``{"error": message}`` for one that cannot be evaluated."""
    evaluator = Evaluator(deployment_plan=deployment_plan, instances=instances, **providers)
    return evaluator.section("outputs")


def evaluate_capabilities(
    deployment_plan: Mapping[str, Any],
    instances: Sequence[Instance],
    **providers: Unpack[Providers],
) -> dict[str, Any]:
    """Each capability's value, or ``{"error": message}`` for one that cannot be evaluated."""
    evaluator = Evaluator(deployment_plan=deployment_plan, instances=instances, **providers)
    return evaluator.section("capabilities")


def _value_of(entry: Any) -> Any:
    return entry.get("value") if isinstance(entry, Mapping) else entry


class Evaluator:
    """Evaluates functions against one deployment and one snapshot of its instances.

    Reuse one for many values (all outputs, the inputs of a batch of operations): nodes and
    instances are indexed once and each secret is read once. One thread at a time.
    """

    def __init__(
        self,
        *,
        deployment_plan: Mapping[str, Any],
        instances: Sequence[Instance],
        **providers: Unpack[Providers],
    ) -> None:
        self.plan = deployment_plan
        self.providers = providers
        self._nodes: dict[str, Mapping[str, Any]] = {
            node["id"]: node for node in deployment_plan.get("nodes") or ()
        }
        self._instances = instance_refs.Instances(nodes=self._nodes, instances=instances)
        self._secrets: dict[str, str] = {}
        self._depth = 0

    def evaluate(
        self,
        value: Any,
        *,
        self_instance: str | None = None,
        source_instance: str | None = None,
        target_instance: str | None = None,
        path: str = "payload",
    ) -> Any:
        """``value`` with every function evaluated (see :func:`evaluate`)."""
        if not needs_evaluation(value):
            return value
        context = _Context(
            self_instance=self_instance,
            source_instance=source_instance,
            target_instance=target_instance,
        )
        return self.walk(value, context, path)

    def capability(self, name: str) -> Any:
        """One capability's value, for another deployment's ``get_capability``.

        Raises :class:`cairn.errors.NotFoundError` when the deployment declares no such
        capability and :class:`RuntimeEvaluationError` when it cannot be evaluated.
        """
        declared = self.plan.get("capabilities") or {}
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise errors.NotFoundError(f"no capability '{name}' (the deployment declares: {known})")
        return self.evaluate(_value_of(declared[name]), path=f"capabilities.{name}.value")

    def section(self, section: str) -> dict[str, Any]:
        """Every entry of ``outputs`` or ``capabilities``, each failing on its own."""
        result: dict[str, Any] = {}
        for name, entry in (self.plan.get(section) or {}).items():
            try:
                result[name] = self.evaluate(_value_of(entry), path=f"{section}.{name}.value")
            except RuntimeEvaluationError as exc:
                result[name] = {"error": exc.message}
        return result

    # --- walking ------------------------------------------------------------------------

    def walk(self, value: Any, context: _Context, path: str) -> Any:
        """A fresh copy of ``value`` with its functions evaluated in ``context``."""
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, Mapping):
            found = functions.function_of(value)
            if found is not None:
                return self._call(value, found[0], found[1], context, path)
            return {key: self.walk(item, context, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.walk(item, context, f"{path}[{i}]") for i, item in enumerate(value)]
        return copy.deepcopy(value)

    def _call(
        self, raw: Mapping[str, Any], name: str, args: Any, context: _Context, path: str
    ) -> Any:
        if self._depth >= MAX_DEPTH:
            message = f"functions call each other more than {MAX_DEPTH} levels deep"
            raise RuntimeEvaluationError(
                f"{message} (does a value refer to itself?)", function=name, path=path
            )
        self._depth += 1
        try:
            args = self.walk(args, context, f"{path}.{name}")
            written = {key: (args if key == name else value) for key, value in raw.items()}
            if name in AS_WRITTEN_FUNCTIONS or _unresolved(args):
                return written
            call = _Call(name=name, args=args, raw=raw, context=context, path=path)
            problem = functions.argument_problem(name, args)
            if problem is not None:
                raise call.fail(problem.removeprefix(f"{name} ").removeprefix(f"{name}: "))
            try:
                return _HANDLERS.get(name, _pure)(self, call)
            except _StaysAsWritten:
                return written
        finally:
            self._depth -= 1

    # --- nodes and instances ------------------------------------------------------------

    def node(self, node_id: str) -> Mapping[str, Any] | None:
        return self._nodes.get(node_id)

    def instances_of(self, node_id: str) -> list[Instance]:
        return self._instances.of_node(node_id)

    def instance(self, instance_id: str, call: _Call) -> Instance:
        found = self._instances.get(instance_id)
        if found is None:
            raise call.fail(f"node instance '{instance_id}' is not in the deployment")
        return found

    def node_of(self, ref: Any, call: _Call) -> str:
        """The node a function's first argument names (a node id, SELF, SOURCE or TARGET)."""
        if ref in functions.NODE_REFERENCES:
            return self.instance(self.reference(ref, call), call).node_id
        if not isinstance(ref, str) or self.node(ref) is None:
            raise call.fail(f"the deployment has no node {functions.show(ref)}")
        return ref

    def reference(self, ref: str, call: _Call) -> str:
        """The instance id SELF, SOURCE or TARGET stands for in the call's context."""
        found: str | None = getattr(call.context, f"{ref.lower()}_instance")
        if found is None:
            where = "a node operation" if ref == functions.SELF else "a relationship operation"
            raise call.fail(f"{ref} is only known in {where}, and this is not one")
        return found

    def resolve(self, ref: Any, call: _Call) -> Instance:
        """The one instance ``ref`` names in the call's context."""
        if ref in functions.NODE_REFERENCES:
            return self.instance(self.reference(ref, call), call)
        node_id = self.node_of(ref, call)
        anchors = call.context.anchors()
        try:
            return self._instances.resolve(
                node_id, anchors, related=bool(call.context.self_instance)
            )
        except instance_refs.Unresolved as exc:
            raise call.fail(exc.message) from exc

    # --- reading values -----------------------------------------------------------------

    def attribute(self, instance: Instance, path: list[Any], call: _Call) -> Any:
        """Cloudify's attribute of an instance: runtime property, instance id, node property."""
        context = dataclasses.replace(call.context, self_instance=instance.id)
        value = self.lookup(
            instance.runtime_properties,
            path,
            context,
            call,
            owner=f"node instance '{instance.id}'",
            kind="attribute",
        )
        if value is None and path == ["node_instance_id"]:
            value = instance.id
        if value is None:
            properties = (self.node(instance.node_id) or {}).get("properties") or {}
            owner = f"node '{instance.node_id}'"
            value = self.lookup(properties, path, context, call, owner=owner, kind="property")
        return value

    def lookup(
        self,
        root: Any,
        path: list[Any],
        context: _Context,
        call: _Call,
        *,
        owner: str,
        kind: str,
        strict: bool = False,
    ) -> Any:
        """``root`` followed down ``path``, evaluated in ``context``.

        Not ``strict`` (attributes): a missing key or index gives None, as in Cloudify.
        """
        value = root
        for depth, step in enumerate(path):
            if depth and functions.is_function(value):
                value = self.walk(value, context, call.path)
                if functions.is_function(value):
                    raise _StaysAsWritten
            value = _step(value, step)
            if value is _NOT_AN_INDEX:
                where = _python_path(path[:depth])
                raise call.fail(f"{owner} {kind} '{where}' is a list; {step!r} is not an index")
            if value is _MISSING:
                if not strict:
                    return None
                raise call.fail(f"{owner} has no {kind} '{_python_path(path[: depth + 1])}'")
        return self.walk(value, context, call.path)

    def node_context(self, ref: Any, node_id: str, call: _Call) -> _Context:
        """The context for functions read from a node's properties: SELF is the node's
        instance that ``ref`` names or that relates to the caller's, when that can be told."""
        context = call.context
        if ref in functions.NODE_REFERENCES:
            return dataclasses.replace(context, self_instance=self.reference(ref, call))
        if context.self_instance and self.instance(context.self_instance, call).node_id == node_id:
            return context
        try:
            return dataclasses.replace(context, self_instance=self.resolve(node_id, call).id)
        except RuntimeEvaluationError:
            return dataclasses.replace(context, self_instance=None)

    def secret(self, name: str, call: _Call) -> Any:
        read = self.providers.get("secret")
        if read is None:
            raise _StaysAsWritten
        if name not in self._secrets:
            try:
                self._secrets[name] = read(name)
            except errors.NotFoundError as exc:
                raise call.fail(f"there is no secret '{name}'") from exc
        return self._secrets[name]

    def labels(self) -> Mapping[str, Sequence[Any]]:
        """The deployment's labels; the plan's ``labels`` section when no deployment is given."""
        record = self.providers.get("deployment")
        if record is not None:
            return record.labels
        return {
            key: list(entry.get("values") or ()) if isinstance(entry, Mapping) else []
            for key, entry in (self.plan.get("labels") or {}).items()
        }


# --- the functions ----------------------------------------------------------------------


def _get_attribute(evaluator: Evaluator, call: _Call) -> Any:
    instance = evaluator.resolve(call.args[0], call)
    return evaluator.attribute(instance, list(call.args[1:]), call)


def _get_attributes_list(evaluator: Evaluator, call: _Call) -> Any:
    node_id = evaluator.node_of(call.args[0], call)
    path = list(call.args[1:])
    return [evaluator.attribute(i, path, call) for i in evaluator.instances_of(node_id)]


def _get_attributes_dict(evaluator: Evaluator, call: _Call) -> Any:
    node_id = evaluator.node_of(call.args[0], call)
    paths = [p if isinstance(p, list) else [p] for p in call.args[1:]]
    return {
        instance.id: {
            ".".join(str(step) for step in path): evaluator.attribute(instance, path, call)
            for path in paths
        }
        for instance in evaluator.instances_of(node_id)
    }


def _get_property(evaluator: Evaluator, call: _Call) -> Any:
    ref, path = call.args[0], list(call.args[1:])
    node_id = evaluator.node_of(ref, call)
    properties = (evaluator.node(node_id) or {}).get("properties") or {}
    context = call.context
    if needs_evaluation(properties.get(path[0])):
        context = evaluator.node_context(ref, node_id, call)
    owner = f"node '{node_id}'"
    return evaluator.lookup(
        properties, path, context, call, owner=owner, kind="property", strict=True
    )


def _get_input(evaluator: Evaluator, call: _Call) -> Any:
    path = list(call.args) if isinstance(call.args, list) else [call.args]
    inputs = evaluator.plan.get("inputs") or {}
    if not isinstance(path[0], str) or path[0] not in inputs:
        raise call.fail(f"the deployment has no input {functions.show(path[0])}")
    value = evaluator.lookup(
        inputs, path, call.context, call, owner="the deployment", kind="input", strict=True
    )
    return_type = call.raw.get(functions.RETURN_TYPE_KEY)
    if isinstance(return_type, str) and not constraints.simple_type_ok(value, return_type):
        shown = functions.show(value)
        raise call.fail(f"input {_python_path(path)} is {shown}, not of type '{return_type}'")
    return value


def _get_secret(evaluator: Evaluator, call: _Call) -> Any:
    args = call.args
    name = args[0] if isinstance(args, list) else args
    if not isinstance(name, str):
        raise call.fail(f"a secret name must be a string, not {functions.show(name)}")
    value = evaluator.secret(name, call)
    if not isinstance(args, list):
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise call.fail(f"secret '{name}' is not JSON, so it has no keys") from exc
    # Messages name the keys asked for, never the secret's content.
    return _follow(value, args[1:], call, f"secret '{name}'")


def _get_capability(evaluator: Evaluator, call: _Call) -> Any:
    deployment_id, name, *path = call.args
    read = evaluator.providers.get("capability")
    if read is None:
        raise _StaysAsWritten
    what = f"capability '{name}' of deployment '{deployment_id}'"
    try:
        value = read(str(deployment_id), str(name))
    except errors.NotFoundError as exc:
        raise call.fail(f"deployment '{deployment_id}' has no capability '{name}' ({exc})") from exc
    except RuntimeEvaluationError as exc:
        raise call.fail(f"{what} cannot be evaluated: {exc}") from exc
    return _follow(value, path, call, what)


def _get_label(evaluator: Evaluator, call: _Call) -> Any:
    args = call.args
    key, index = (args[0], int(args[1])) if isinstance(args, list) else (args, None)
    if not isinstance(key, str):
        raise call.fail(f"a label key must be a string, not {functions.show(key)}")
    values = list(evaluator.labels().get(key) or ())
    if not values:
        raise call.fail(f"the deployment has no label '{key}'")
    if index is None:
        return values
    if not -len(values) <= index < len(values):
        raise call.fail(f"label '{key}' has {len(values)} values; there is no value {index}")
    return values[index]


def _get_sys(evaluator: Evaluator, call: _Call) -> Any:
    record = evaluator.providers.get("deployment")
    if record is None:
        raise _StaysAsWritten
    values = {
        ("tenant", "name"): DEFAULT_TENANT,
        ("deployment", "id"): record.id,
        ("deployment", "name"): record.id,
        ("deployment", "blueprint"): record.blueprint_id,
        ("deployment", "owner"): record.created_by,
    }
    entity, prop = call.args[0], call.args[1]
    if (entity, prop) not in values:
        raise call.fail(f"unknown property {functions.show(prop)} of {functions.show(entity)}")
    return values[(entity, prop)]


def _pure(evaluator: Evaluator, call: _Call) -> Any:
    """concat, merge and string_*: the static evaluator's, on arguments evaluated here."""
    where = functions.Where(scope=functions.OUTPUTS_SCOPE, path=call.path)
    try:
        static = evaluation.Evaluator(inputs={}, node_properties={})
        return static.evaluate({call.name: call.args}, where)
    except evaluation.EvaluationError as exc:
        message = str(exc).removeprefix(f"{call.path}: ").removeprefix(f"{call.name}: ")
        raise call.fail(message) from exc


_HANDLERS: Mapping[str, Callable[[Evaluator, _Call], Any]] = {
    "get_attribute": _get_attribute,
    "get_attributes_list": _get_attributes_list,
    "get_attributes_dict": _get_attributes_dict,
    "get_property": _get_property,
    "get_input": _get_input,
    "get_secret": _get_secret,
    "get_capability": _get_capability,
    "get_label": _get_label,
    "get_sys": _get_sys,
    **{name: _pure for name in PURE_FUNCTIONS},
}


# --- small helpers ----------------------------------------------------------------------

_MISSING = object()
_NOT_AN_INDEX = object()


def _step(value: Any, step: Any) -> Any:
    """One key or index down ``value``; ``_MISSING`` or ``_NOT_AN_INDEX`` when it fails."""
    if isinstance(value, Mapping):
        return value.get(step, _MISSING)
    if isinstance(value, (list, tuple)):
        if not isinstance(step, int) or isinstance(step, bool):
            return _NOT_AN_INDEX
        return value[step] if -len(value) <= step < len(value) else _MISSING
    return _MISSING


def _follow(value: Any, path: Sequence[Any], call: _Call, what: str) -> Any:
    """``value`` followed down ``path`` (a copy), or an error naming the keys asked for."""
    for depth, step in enumerate(path, start=1):
        value = _step(value, step)
        if value is _MISSING or value is _NOT_AN_INDEX:
            raise call.fail(f"{what} has no {_python_path(list(path[:depth]))!r}")
    return copy.deepcopy(value)


def _python_path(path: list[Any]) -> str:
    """``['a', 'b', 0]`` -> ``a.b[0]``, as Cloudify prints attribute paths."""
    text = str(path[0]) if path else ""
    for step in path[1:]:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _unresolved(args: Any) -> bool:
    """Whether a function is still among the direct arguments (Cloudify checks one level)."""
    if functions.is_function(args):
        return True
    return isinstance(args, list) and any(functions.is_function(a) for a in args)
