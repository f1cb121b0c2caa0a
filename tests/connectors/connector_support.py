"""Helpers for local connector tests: dispatches, contexts and waiting for outcomes."""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from cairn.connectors import interface, local
from cairn.model import executions


def context(resources: pathlib.Path, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "deployment": {"id": "dep", "blueprint_id": "bp", "inputs": {"region": "north"}},
        "blueprint": {"id": "bp", "resources": str(resources)},
        "execution": {"id": "ex", "workflow_id": "install"},
        "operation": {
            "name": "cloudify.interfaces.lifecycle.create",
            "retry_number": 0,
            "max_retries": 3,
        },
        "node": {
            "id": "web",
            "name": "web",
            "type": "cloudify.nodes.WebServer",
            "type_hierarchy": ["cloudify.nodes.Root", "cloudify.nodes.WebServer"],
            "properties": {"port": 8080, "conf": {"a": {"b": "deep"}}, "hosts": ["h0", "h1"]},
        },
        "instance": {
            "id": "web_1",
            "runtime_properties": {"before": 1},
            "host_ip": "10.0.0.5",
            "relationships": [],
        },
        "source": None,
        "target": None,
    }
    base.update(changes)
    return base


def dispatch(
    key: str,
    resources: pathlib.Path,
    *,
    script_path: str | None = None,
    source: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    plugin: str = "script",
    operation: str = "script_runner.tasks.run",
    timeout: float | None = None,
    timeout_recoverable: bool = True,
    secrets: Sequence[str] = (),
    ctx: Mapping[str, Any] | None = None,
) -> interface.Dispatch:
    given = dict(inputs or {})
    if script_path is not None:
        given["script_path"] = script_path
    if source is not None:
        given["script_source"] = source
    return interface.Dispatch(
        key=key,
        task_id=1,
        attempt=1,
        plugin=plugin,
        operation=operation,
        implementation=script_path or "",
        inputs=given,
        context=dict(ctx) if ctx is not None else context(resources),
        timeout=timeout,
        timeout_recoverable=timeout_recoverable,
        secrets=tuple(secrets),
    )


_PENDING: dict[int, dict[str, list[interface.Report]]] = {}


def wait_for(
    connector: local.LocalConnector, key: str, *, within: float = 30.0
) -> tuple[executions.Outcome, list[interface.LogLine]]:
    """Poll until ``key`` has an outcome; the outcome and every log line reported for it.
    Reports for other keys are kept for their own ``wait_for``."""
    pending = _PENDING.setdefault(id(connector), {})
    logs: list[interface.LogLine] = []
    deadline = time.monotonic() + within
    while True:
        for report in pending.pop(key, []):
            logs.extend(report.logs)
            if report.outcome is not None:
                return report.outcome, logs
        if time.monotonic() > deadline:
            raise AssertionError(f"no outcome for {key} within {within} seconds")
        for report in connector.poll(timeout=0.5):
            pending.setdefault(report.key, []).append(report)


def live_group_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that still run (not zombies)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().decode().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] not in "ZX":
            found.append(int(name))
    return found


def messages(logs: Sequence[interface.LogLine], stream: str | None = None) -> list[str]:
    return [line.message for line in logs if stream is None or line.stream == stream]


def wait_until(predicate: Any, *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
