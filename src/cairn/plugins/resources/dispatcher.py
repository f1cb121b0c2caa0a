"""From a dispatch of the ``cairn_resources`` plugin to an operation, and back to an outcome.

The dispatch names ``<type>.<operation>`` (``file.create``); the operation gets a
:class:`~.calls.Call` built from the dispatch's context (declared node properties, the
instance's runtime properties, the deployment's inputs) and returns a :class:`~.calls.Done`.
The runtime properties it sets are merged into the instance's (None removes a key) and sent
back whole, as every outcome carries them. A :class:`~.calls.ResourceError` becomes a failed
outcome, recoverable or not as it says; an unexpected ``OSError`` fails for good with its
message (a permission denied does not mend itself by waiting).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from cairn.model import executions
from cairn.model.plan import JSON
from cairn.plugins import builtin
from cairn.plugins.resources import (
    calls,
    commands,
    directories,
    files,
    http_checks,
    services,
)

Outcome = executions.Outcome
Kind = executions.OutcomeKind

TYPES: Mapping[str, tuple[str, Mapping[str, calls.Operation]]] = {
    "file": ("cairn.nodes.File", files.OPERATIONS),
    "directory": ("cairn.nodes.Directory", directories.OPERATIONS),
    "service": ("cairn.nodes.Service", services.OPERATIONS),
    "http_check": ("cairn.nodes.HttpCheck", http_checks.OPERATIONS),
    "command": ("cairn.nodes.Command", commands.OPERATIONS),
}


def _mapping(value: JSON) -> Mapping[str, JSON]:
    return value if isinstance(value, Mapping) else {}


def call_of(
    type_name: str,
    context: Mapping[str, JSON],
    *,
    data_dir: str,
    deadline: float | None = None,
) -> calls.Call:
    node = _mapping(context.get("node"))
    instance = _mapping(context.get("instance"))
    deployment = _mapping(context.get("deployment"))
    return calls.Call(
        type_name=type_name,
        properties=_mapping(node.get("properties")),
        runtime=dict(_mapping(instance.get("runtime_properties"))),
        deployment_inputs=_mapping(deployment.get("inputs")),
        deployment_id=str(deployment.get("id") or "deployment"),
        instance_id=str(instance.get("id") or "instance"),
        data_dir=data_dir,
        deadline=deadline,
    )


def _failed(message: str) -> builtin.Result:
    return builtin.Result(outcome=Outcome(kind=Kind.NON_RECOVERABLE, error=message))


def run(
    *,
    operation: str,
    context: Mapping[str, JSON],
    data_dir: str,
    timeout: float | None = None,
) -> builtin.Result:
    """Run ``<type>.<operation>`` of a built-in resource type; never raises."""
    type_key, _, name = operation.partition(".")
    found = TYPES.get(type_key)
    if found is None or name not in found[1]:
        known = ", ".join(f"{t}.{op}" for t, (_, ops) in TYPES.items() for op in ops)
        return _failed(f"unknown cairn_resources operation {operation!r} (known: {known})")
    type_name, operations = found
    deadline = None if timeout is None else time.monotonic() + timeout
    call = call_of(type_name, context, data_dir=data_dir, deadline=deadline)
    try:
        done = operations[name](call)
    except calls.ResourceError as exc:
        kind = Kind.RECOVERABLE if exc.recoverable else Kind.NON_RECOVERABLE
        outcome = Outcome(kind=kind, error=exc.message, retry_after=exc.retry_after)
        return builtin.Result(outcome=outcome, logs=tuple(call.logs))
    except OSError as exc:
        error = f"{type_name} {call.instance_id}: {operation}: {exc}"
        return builtin.Result(outcome=_failed(error).outcome, logs=tuple(call.logs))
    if name == "check_drift":
        _log_drift(call, done.result)
    return builtin.Result(outcome=_succeeded(call, done), logs=tuple(call.logs))


def _log_drift(call: calls.Call, result: JSON) -> None:
    """Say what drifted in the operation's log too: events show it without a query."""
    differences = _mapping(result).get("differences")
    if not differences or not isinstance(differences, Mapping):
        call.log("no drift")
        return
    for aspect, difference in differences.items():
        found = _mapping(difference)
        call.log(
            f"drift: {aspect}: expected {found.get('expected')!r}, found {found.get('actual')!r}",
            "warning",
        )


def _succeeded(call: calls.Call, done: calls.Done) -> Outcome:
    runtime = None
    if done.runtime:
        merged = dict(call.runtime)
        for key, value in done.runtime.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        runtime = merged if merged != call.runtime else None
    return Outcome(kind=Kind.SUCCEEDED, result=done.result, runtime_properties=runtime)
