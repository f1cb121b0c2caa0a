"""What crosses the network between the manager and a site's agent, as plain JSON.

A :class:`~cairn.connectors.interface.Dispatch` goes to the agent; log lines and an
:class:`~cairn.model.executions.Outcome` come back. Both ends use these functions, so the
two sides can never disagree on a field name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cairn import errors
from cairn.connectors import interface
from cairn.connectors.journal import log_from_json, log_to_json, outcome_from_json, outcome_to_json

__all__ = [
    "dispatch_from_json",
    "dispatch_to_json",
    "log_from_json",
    "log_to_json",
    "outcome_from_json",
    "outcome_to_json",
    "report_from_json",
    "report_to_json",
]


def dispatch_to_json(dispatch: interface.Dispatch) -> dict[str, Any]:
    return {
        "key": dispatch.key,
        "task_id": dispatch.task_id,
        "attempt": dispatch.attempt,
        "plugin": dispatch.plugin,
        "operation": dispatch.operation,
        "implementation": dispatch.implementation,
        "inputs": dict(dispatch.inputs),
        "context": dict(dispatch.context),
        "timeout": dispatch.timeout,
        "timeout_recoverable": dispatch.timeout_recoverable,
        "executor": dispatch.executor,
        "site": dispatch.site,
        "secrets": list(dispatch.secrets),
    }


def dispatch_from_json(data: Mapping[str, Any]) -> interface.Dispatch:
    try:
        return interface.Dispatch(
            key=str(data["key"]),
            task_id=int(data["task_id"]),
            attempt=int(data["attempt"]),
            plugin=str(data["plugin"]),
            operation=str(data["operation"]),
            implementation=str(data["implementation"]),
            inputs=dict(data["inputs"]),
            context=dict(data["context"]),
            timeout=None if data.get("timeout") is None else float(data["timeout"]),
            timeout_recoverable=bool(data.get("timeout_recoverable", True)),
            executor=data.get("executor"),
            site=str(data.get("site", "local")),
            secrets=tuple(str(s) for s in data.get("secrets", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.UsageError(f"malformed dispatch: {exc!r}") from exc


def report_to_json(report: interface.Report) -> dict[str, Any]:
    return {
        "key": report.key,
        "logs": [log_to_json(line) for line in report.logs],
        "outcome": None if report.outcome is None else outcome_to_json(report.outcome),
    }


def report_from_json(data: Mapping[str, Any]) -> interface.Report:
    try:
        outcome = data.get("outcome")
        return interface.Report(
            key=str(data["key"]),
            logs=tuple(log_from_json(line) for line in data.get("logs", ())),
            outcome=None if outcome is None else outcome_from_json(outcome),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.UsageError(f"malformed report: {exc!r}") from exc
