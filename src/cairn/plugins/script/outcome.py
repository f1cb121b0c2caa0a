"""How a script attempt ended, decided the way Cloudify's script plugin decides it.

In order of precedence:

1. stopped by the connector: ``kill`` -> non-recoverable "killed"; timeout -> recoverable
   when the operation's ``timeout_recoverable`` says so, else non-recoverable;
2. no exit code (the wrapper itself was killed from outside) -> recoverable;
3. ``ctx returns``/``abort-operation``/``retry-operation`` used more than once ->
   non-recoverable "ctx may only abort or return once";
4. ``ctx abort-operation`` -> non-recoverable, whatever the exit code;
5. ``ctx retry-operation`` or ``ctx operation retry`` -> recoverable, with its
   ``retry_after`` (Cloudify's ``OperationRetry``);
6. a Python script that raised ``NonRecoverableError`` / ``RecoverableError`` -> that;
7. any other non-zero exit code -> recoverable: Cloudify raises a plain
   ``ProcessException``, which its workflow engine retries like every error that is not a
   ``NonRecoverableError``;
8. exit code 0 -> succeeded, the result being the value given to ``ctx returns``.

Runtime properties changed through ``ctx`` are returned whatever the outcome: Cloudify saves
them after the operation even when it failed, and what a failed attempt created (an id, an
address) is what the next attempt or the uninstall needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.model import executions
from cairn.plugins.script import launching

JSON = Any
Kind = executions.OutcomeKind
KILLED = "killed"
TIMEOUT = "timeout"


@dataclass(frozen=True, kw_only=True)
class Ending:
    """What a finished attempt left behind."""

    script: str
    exit_code: int | None
    stopped: str | None = None  # KILLED or TIMEOUT
    timeout: float | None = None
    timeout_recoverable: bool = True
    document: Mapping[str, JSON] | None = None  # the context file at the end
    original: Mapping[str, Mapping[str, JSON]] = field(default_factory=dict)
    stderr_tail: str = ""


def decide(ending: Ending) -> executions.Outcome:
    kind, result, error, retry_after = _verdict(ending)
    changed = _changes(ending)
    return executions.Outcome(
        kind=kind,
        result=result,
        error=error,
        retry_after=retry_after,
        runtime_properties=changed.get("instance", changed.get("source")),
        target_runtime_properties=changed.get("target"),
    )


def _verdict(ending: Ending) -> tuple[Kind, JSON, str | None, float | None]:
    script = ending.script
    if ending.stopped == KILLED:
        return Kind.NON_RECOVERABLE, None, f"{script}: killed", None
    if ending.stopped == TIMEOUT:
        kind = Kind.RECOVERABLE if ending.timeout_recoverable else Kind.NON_RECOVERABLE
        limit = f" after {ending.timeout:g} seconds" if ending.timeout is not None else ""
        return kind, None, f"{script}: timed out{limit}", None
    if ending.exit_code is None:
        error = f"{script}: its process ended without an exit code (killed from outside?)"
        return Kind.RECOVERABLE, None, error, None
    document = ending.document or {}
    slot = document.get("result") or {}
    asked = slot.get("kind")
    if asked == "illegal":
        return Kind.NON_RECOVERABLE, None, f"{script}: {slot.get('message')}", None
    if asked == "abort":
        return Kind.NON_RECOVERABLE, None, slot.get("message") or f"{script}: aborted", None
    retry = document.get("retry")
    if asked == "retry" or retry:
        retry = retry or slot
        error = retry.get("message") or f"{script}: asked to be retried"
        return Kind.RECOVERABLE, None, error, seconds(retry.get("retry_after"))
    if ending.exit_code != 0:
        return _failure(ending, document.get("error"))
    return Kind.SUCCEEDED, slot.get("value") if asked == "returns" else None, None, None


def _failure(
    ending: Ending, raised: Mapping[str, JSON] | None
) -> tuple[Kind, JSON, str | None, float | None]:
    if raised:
        kind = Kind.NON_RECOVERABLE if raised.get("kind") == "non_recoverable" else Kind.RECOVERABLE
        error = f"{raised.get('type')}: {raised.get('message')}"
        return kind, None, error, seconds(raised.get("retry_after"))
    tail = ending.stderr_tail.strip()
    error = f"{ending.script} failed with exit code {ending.exit_code}"
    return Kind.RECOVERABLE, None, f"{error}: {tail}" if tail else error, None


def seconds(value: JSON) -> float | None:
    """``retry_after`` as given to ``ctx`` (a number, or a string from the command line)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def _changes(ending: Ending) -> dict[str, dict[str, JSON]]:
    if ending.document is None:
        return {}
    final = launching.instance_properties(ending.document)
    return {end: now for end, now in final.items() if ending.original.get(end) != now}
