"""Operations that run inside the manager, without a subprocess.

``cairn.noop`` succeeds at once (the engine benchmark measures the engine with it);
``cairn.log`` writes its ``message`` input to the operation's log; ``cairn.fail`` fails
(recoverable when its ``recoverable`` input is true, after ``retry_after`` seconds);
``cairn.set_runtime_properties`` merges its ``properties`` input into the runtime
properties of the instance it runs for. Operations of Cloudify's ``agent`` plugin succeed
without doing anything, and operations of any plugin Cairn lacks fail for good.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cairn.model import executions
from cairn.model.plan import JSON
from cairn.plugins import registry

Outcome = executions.Outcome
Kind = executions.OutcomeKind


@dataclass(frozen=True, kw_only=True)
class Result:
    """An operation's outcome and the log lines (level, message) it wrote."""

    outcome: Outcome
    logs: tuple[tuple[str, str], ...] = ()


def _noop(inputs: Mapping[str, JSON], context: Mapping[str, JSON]) -> Result:
    return Result(outcome=Outcome(kind=Kind.SUCCEEDED))


def _log(inputs: Mapping[str, JSON], context: Mapping[str, JSON]) -> Result:
    level = str(inputs.get("level") or "info")
    if level not in ("debug", "info", "warning", "error"):
        level = "info"
    return Result(
        outcome=Outcome(kind=Kind.SUCCEEDED), logs=((level, str(inputs.get("message", ""))),)
    )


def _fail(inputs: Mapping[str, JSON], context: Mapping[str, JSON]) -> Result:
    message = str(inputs.get("message") or "failed on purpose (cairn.fail)")
    if inputs.get("recoverable"):
        retry_after = inputs.get("retry_after")
        wait = float(retry_after) if isinstance(retry_after, int | float) else None
        return Result(outcome=Outcome(kind=Kind.RECOVERABLE, error=message, retry_after=wait))
    return Result(outcome=Outcome(kind=Kind.NON_RECOVERABLE, error=message))


def _set_runtime_properties(inputs: Mapping[str, JSON], context: Mapping[str, JSON]) -> Result:
    properties = inputs.get("properties") or {}
    source = context.get("source")
    end = source if isinstance(source, Mapping) else context
    instance = end.get("instance")
    if not isinstance(properties, Mapping) or not isinstance(instance, Mapping):
        return Result(
            outcome=Outcome(
                kind=Kind.NON_RECOVERABLE,
                error="cairn.set_runtime_properties needs a 'properties' mapping and an instance",
            )
        )
    current = dict(instance.get("runtime_properties") or {})
    current.update(properties)
    return Result(outcome=Outcome(kind=Kind.SUCCEEDED, runtime_properties=current))


OPERATIONS: Mapping[str, Callable[[Mapping[str, JSON], Mapping[str, JSON]], Result]] = {
    "noop": _noop,
    "log": _log,
    "fail": _fail,
    "set_runtime_properties": _set_runtime_properties,
}


def _operation_name(context: Mapping[str, JSON]) -> str:
    operation = context.get("operation")
    name = operation.get("name") if isinstance(operation, Mapping) else None
    return str(name) if name else "?"


def run(
    *, plugin: str, operation: str, inputs: Mapping[str, JSON], context: Mapping[str, JSON]
) -> Result:
    """Run a built-in, agent-installer or missing-plugin operation in-process."""
    kind = registry.kind_of(plugin)
    if kind is registry.PluginKind.AGENT:
        message = (
            f"{operation} of Cloudify's agent plugin skipped: Cairn runs its own agents "
            "(nothing to install)"
        )
        return Result(outcome=Outcome(kind=Kind.SUCCEEDED), logs=(("info", message),))
    if kind is registry.PluginKind.BUILTIN:
        name = operation.removeprefix(f"{registry.BUILTIN}.")
        found = OPERATIONS.get(name)
        if found is not None:
            return found(inputs, context)
        known = ", ".join(f"cairn.{n}" for n in sorted(OPERATIONS))
        error = f"unknown built-in operation 'cairn.{name}' (known: {known})"
        return Result(outcome=Outcome(kind=Kind.NON_RECOVERABLE, error=error))
    error = (
        f"plugin '{plugin}' is not available in Cairn "
        f"(operation {_operation_name(context)}: {operation or '?'})"
    )
    return Result(outcome=Outcome(kind=Kind.NON_RECOVERABLE, error=error))
