"""Running built-in resource operations the way a connector does, keeping the runtime
properties between operations as the engine would."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn.model import executions
from cairn.plugins import builtin
from cairn.plugins.resources import dispatcher

Kind = executions.OutcomeKind


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(kw_only=True)
class Instance:
    """One node instance of a resource type, with its runtime properties."""

    type_key: str
    properties: dict[str, Any]
    data_dir: pathlib.Path
    inputs: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)
    instance_id: str = "res_1"

    def context(self) -> dict[str, Any]:
        return {
            "deployment": {"id": "dep", "inputs": self.inputs},
            "node": {"id": "res", "properties": self.properties},
            "instance": {"id": self.instance_id, "runtime_properties": self.runtime},
        }

    def run(self, operation: str, *, timeout: float | None = None) -> builtin.Result:
        result = dispatcher.run(
            operation=f"{self.type_key}.{operation}",
            context=self.context(),
            data_dir=str(self.data_dir),
            timeout=timeout,
        )
        if result.outcome.runtime_properties is not None:
            self.runtime = dict(result.outcome.runtime_properties)
        return result

    def ok(self, operation: str) -> Any:
        """Run an operation that must succeed; its result."""
        result = self.run(operation)
        assert result.outcome.kind is Kind.SUCCEEDED, result.outcome.error
        return result.outcome.result

    def fails(self, operation: str, *, recoverable: bool = False) -> str:
        result = self.run(operation)
        kind = Kind.RECOVERABLE if recoverable else Kind.NON_RECOVERABLE
        assert result.outcome.kind is kind, (result.outcome.kind, result.outcome.error)
        return str(result.outcome.error)

    def install(self) -> None:
        for operation in ("create", "configure", "start"):
            self.ok(operation)

    def drift(self) -> dict[str, Any]:
        found = self.ok("check_drift")
        assert set(found) == {"drifted", "differences"}
        assert found["drifted"] is bool(found["differences"])
        return dict(found["differences"])


@contextlib.contextmanager
def stopping_services(data_dir: pathlib.Path) -> Iterator[list[Instance]]:
    """Whatever services a test started are killed at its end, whatever happened."""
    started: list[Instance] = []
    try:
        yield started
    finally:
        for instance in started:
            pid = instance.runtime.get("pid")
            if isinstance(pid, int) and pid > 1:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)


def differences_of(found: Mapping[str, Any]) -> dict[str, Any]:
    return dict(found["differences"])
