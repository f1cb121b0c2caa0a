"""Static evaluation of intrinsic functions, when a deployment is created.

Follows Cloudify's ``_PlanEvaluationHandler``:

* arguments are evaluated first, so ``{concat: [{get_input: host}, ":80"]}`` sees the input;
* a static function whose arguments still hold a function (a runtime one, or one that cannot
  be resolved yet) stays as written, with whatever inside it could be evaluated already:
  ``{concat: [{get_attribute: [SELF, ip]}, ":", 8080]}``;
* runtime functions (``get_attribute``, ``get_secret``, ...) always stay as written;
* a result is evaluated again, so a ``get_property`` that lands on ``{get_input: x}`` gives the
  input's value; the referenced property is evaluated in its own node's context (SELF there
  means that node).

Node properties are evaluated once and memoised. A ``get_property`` chain that comes back to
a property being evaluated is reported as a cycle with the whole chain, instead of Cloudify's
generic recursion-limit error.

Deliberate differences from Cloudify: a ``get_property`` path that goes through a property
holding a static function walks into that function's value (Cloudify builds a meaningless
``[value, key]`` list), and ``string_*``/``get_input``/``get_property`` with a runtime function
among their arguments stay as written instead of failing the deployment.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from cairn.dsl import constraints, function_checks, functions

MAX_DEPTH = 50


class EvaluationError(Exception):
    """A static function cannot be evaluated; the message names where it is written."""


class _StaysAsWritten(Exception):
    """Internal: the function cannot be evaluated now; keep it as written."""


class Evaluator:
    """Evaluates static functions against deployment inputs and node properties."""

    def __init__(
        self, *, inputs: Mapping[str, Any], node_properties: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self._inputs = inputs
        self._nodes = node_properties
        self._memo: dict[tuple[str, str], Any] = {}
        self._active: list[tuple[str, str]] = []
        self._depth = 0

    def evaluate(self, value: Any, where: functions.Where) -> Any:
        """``value`` with every static function evaluated; plain dicts and lists come back."""
        if isinstance(value, Mapping):
            found = functions.function_of(value)
            if found is not None:
                return self._call(value, found[0], found[1], where)
            return {key: self.evaluate(item, where.key(key)) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.evaluate(item, where.item(i)) for i, item in enumerate(value)]
        return value

    def node_property(self, node_id: str, name: str) -> Any:
        """The evaluated value of one property of a node (memoised, cycle-safe)."""
        key = (node_id, name)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            loop = self._active[self._active.index(key) :]
            # Start the loop at its smallest member, so each cycle reads the same once.
            start = loop.index(min(loop))
            chain = [*loop[start:], *loop[:start], loop[start]]
            shown = " -> ".join(f"{n}.properties.{p}" for n, p in chain)
            raise EvaluationError(f"get_property cycle: {shown}")
        where = functions.Where(
            scope=functions.NODE_SCOPE, path=f"nodes.{node_id}.properties.{name}", node=node_id
        )
        self._active.append(key)
        try:
            value = self.evaluate(self._nodes[node_id][name], where)
        finally:
            self._active.pop()
        self._memo[key] = value
        return value

    def node_properties(self, node_id: str) -> dict[str, Any]:
        """All evaluated properties of a node."""
        return {name: self.node_property(node_id, name) for name in self._nodes[node_id]}

    # --- one call ---------------------------------------------------------------------

    def _call(self, raw: Mapping[str, Any], name: str, args: Any, where: functions.Where) -> Any:
        # Only calls count towards the limit: data may nest deeper than 50 levels.
        if self._depth >= MAX_DEPTH:
            raise EvaluationError(
                f"{where.path}: functions call each other more than {MAX_DEPTH} levels deep "
                "(does an input refer to itself?)"
            )
        self._depth += 1
        try:
            return self._call_once(raw, name, args, where)
        finally:
            self._depth -= 1

    def _call_once(
        self, raw: Mapping[str, Any], name: str, args: Any, where: functions.Where
    ) -> Any:
        args = self.evaluate(args, where)
        written = {key: (args if key == name else value) for key, value in raw.items()}
        if name in functions.RUNTIME_FUNCTIONS or _unresolved(args):
            return written
        problem = functions.argument_problem(name, args)
        if problem is not None:
            raise EvaluationError(f"{where.path}: {problem}")
        try:
            result = _STATIC[name](self, args, where)
        except _StaysAsWritten:
            return written
        return_type = raw.get(functions.RETURN_TYPE_KEY)
        if name == "get_input" and isinstance(return_type, str):
            _check_return_type(result, return_type, args, where)
        return result

    def _get_input(self, args: Any, where: functions.Where) -> Any:
        path = args if isinstance(args, list) else [args]
        name = path[0]
        if not isinstance(name, str) or name not in self._inputs:
            raise EvaluationError(f"{where.path}: get_input refers to undeclared input {name!r}")
        value = self._inputs[name]
        for depth, step in enumerate(path[1:], start=1):
            value = _step(value, step, f"{where.path}: input {_python_path(path[:depth])}")
        # An input value may itself hold functions (a get_secret, say): evaluate it too.
        return self.evaluate(copy.deepcopy(value), where)

    def _get_property(self, args: Any, where: functions.Where) -> Any:
        try:
            node = function_checks.resolve_node(
                args[0], where, self._nodes, function="get_property"
            )
        except function_checks.ReferenceProblem as exc:
            raise EvaluationError(f"{where.path}: {exc.message}") from exc
        first = args[1]
        if first not in self._nodes[node]:
            raise EvaluationError(
                f"{where.path}: get_property: node '{node}' has no property {first!r}"
            )
        value = self.node_property(node, first)
        for depth, step in enumerate(args[2:], start=2):
            if functions.is_function(value):
                raise _StaysAsWritten
            value = _step(
                value, step, f"{where.path}: property {node}.{_python_path(args[1:depth])}"
            )
        return copy.deepcopy(value)


def _unresolved(args: Any) -> bool:
    """Whether a function is still among the direct arguments (Cloudify checks one level)."""
    if functions.is_function(args):
        return True
    return isinstance(args, list) and any(functions.is_function(a) for a in args)


def _step(value: Any, step: Any, what: str) -> Any:
    """One key or index down a nested value, with a message that names the path on failure."""
    if isinstance(value, Mapping):
        if step not in value:
            raise EvaluationError(f"{what} has no key {step!r}")
        return value[step]
    if isinstance(value, list):
        if not isinstance(step, int) or isinstance(step, bool):
            raise EvaluationError(f"{what} is a list; {step!r} is not an index")
        if not -len(value) <= step < len(value):
            raise EvaluationError(f"{what} is a list of {len(value)}; index {step} is out of range")
        return value[step]
    raise EvaluationError(f"{what} is {functions.show(value)}; it has no key {step!r}")


def _python_path(path: list[Any]) -> str:
    """``['a', 'b', 0]`` -> ``a.b[0]``, as Cloudify prints attribute paths."""
    text = str(path[0])
    for step in path[1:]:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _check_return_type(value: Any, type_name: str, args: Any, where: functions.Where) -> None:
    if not constraints.simple_type_ok(value, type_name):
        raise EvaluationError(
            f"{where.path}: input {functions.show(args)} is {functions.show(value)}, "
            f"not of type '{type_name}'"
        )


def _concat(evaluator: Evaluator, args: Any, where: functions.Where) -> Any:
    # str() of each item, as Cloudify does (True becomes "True").
    return "".join(str(item) for item in args)


def _merge(evaluator: Evaluator, args: Any, where: functions.Where) -> Any:
    merged: dict[Any, Any] = {}
    for index, item in enumerate(args):
        if not isinstance(item, Mapping):
            raise EvaluationError(
                f"{where.path}: merge: item {index + 1} is not a mapping: {functions.show(item)}"
            )
        merged.update(item)
    return merged


def _string_function(
    name: str, apply: Callable[[list[Any]], Any]
) -> Callable[[Evaluator, Any, functions.Where], Any]:
    def evaluate(evaluator: Evaluator, args: Any, where: functions.Where) -> Any:
        problem = functions.string_argument_problem(name, args)
        if problem is not None:
            raise EvaluationError(f"{where.path}: {problem}")
        try:
            return apply(args if isinstance(args, list) else [args])
        except (IndexError, ValueError) as exc:
            raise EvaluationError(f"{where.path}: {name}: {exc}") from exc

    return evaluate


def _split(values: list[Any]) -> Any:
    parts = values[0].split(values[1])
    return parts[values[2]] if len(values) > 2 else parts


def _replace(values: list[Any]) -> Any:
    if len(values) > 3:
        return values[0].replace(values[1], values[2], values[3])
    return values[0].replace(values[1], values[2])


_STRING_FUNCTIONS = {
    "string_find": _string_function("string_find", lambda v: v[0].find(v[1])),
    "string_replace": _string_function("string_replace", _replace),
    "string_split": _string_function("string_split", _split),
    "string_lower": _string_function("string_lower", lambda v: v[0].lower()),
    "string_upper": _string_function("string_upper", lambda v: v[0].upper()),
}

_STATIC: Mapping[str, Callable[[Evaluator, Any, functions.Where], Any]] = {
    "get_input": Evaluator._get_input,
    "get_property": Evaluator._get_property,
    "concat": _concat,
    "merge": _merge,
    **_STRING_FUNCTIONS,
}
