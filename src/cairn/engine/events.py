"""Execution events: what happened, in words a user reads, stored in batches.

The engine records an event for every step a user cares about (workflow started, task
started, succeeded, retried, failed, workflow ended) and every log line an operation
produced. Events are buffered during one engine step and written in one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cairn.connectors import interface
from cairn.engine import clock as clocks
from cairn.model import executions, runtime
from cairn.store.interface import Writer

ES = executions.ExecutionStatus
JSON = runtime.JSON


class Recorder:
    def __init__(self, store: Writer, clock: clocks.Clock) -> None:
        self.store = store
        self.clock = clock
        self._pending: list[runtime.Event] = []

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.store.add_events(batch)

    def _add(self, event: runtime.Event) -> None:
        self._pending.append(event)

    def add(
        self,
        execution: executions.Execution,
        kind: str,
        message: str,
        *,
        level: str = "info",
        node_instance_id: str | None = None,
        context: Mapping[str, JSON] | None = None,
    ) -> None:
        """An event about an execution (and maybe one of its instances), with context."""
        self._add(
            runtime.Event(
                execution_id=execution.id,
                deployment_id=execution.deployment_id,
                timestamp=self.clock.now(),
                type=kind,
                message=message,
                level=level,
                node_instance_id=node_instance_id,
                context=dict(context or {}),
            )
        )

    def execution(
        self, execution: executions.Execution, kind: str, message: str, level: str = "info"
    ) -> None:
        self._add(
            runtime.Event(
                execution_id=execution.id,
                deployment_id=execution.deployment_id,
                timestamp=self.clock.now(),
                type=kind,
                message=message,
                level=level,
            )
        )

    def task(
        self,
        task: executions.Task,
        execution: executions.Execution,
        kind: str,
        message: str,
        level: str = "info",
    ) -> None:
        spec = task.spec
        self._add(
            runtime.Event(
                execution_id=execution.id,
                deployment_id=execution.deployment_id,
                timestamp=self.clock.now(),
                type=kind,
                message=message,
                level=level,
                node_instance_id=spec.node_instance_id,
                operation=spec.operation,
                task_id=task.id,
                attempt=task.attempt,
            )
        )

    def logs(
        self,
        task: executions.Task,
        execution: executions.Execution,
        lines: Sequence[interface.LogLine],
    ) -> None:
        spec = task.spec
        for line in lines:
            self._add(
                runtime.Event(
                    execution_id=execution.id,
                    deployment_id=execution.deployment_id,
                    timestamp=line.timestamp,
                    type="log",
                    message=line.message,
                    level=str(line.level),
                    node_instance_id=spec.node_instance_id,
                    operation=spec.operation,
                    task_id=task.id,
                    attempt=task.attempt,
                    context={"stream": line.stream},
                )
            )

    def outcome(
        self,
        task: executions.Task,
        execution: executions.Execution,
        step: executions.NextStep,
        outcome: executions.Outcome,
    ) -> None:
        name = task.spec.operation or task.key
        if step.state is executions.TaskState.SUCCEEDED:
            self.task(task, execution, "task_succeeded", f"'{name}' succeeded")
        elif step.state is executions.TaskState.PENDING:
            when = step.run_after.isoformat() if step.run_after else "now"
            self.task(
                task,
                execution,
                "task_rescheduled",
                f"'{name}' failed, will retry at {when}: {outcome.error}",
                "warning",
            )
        elif step.state is executions.TaskState.CANCELLED:
            self.task(
                task, execution, "task_cancelled", f"'{name}' cancelled: {outcome.error}", "warning"
            )
        else:
            self.task(task, execution, "task_failed", f"'{name}' failed: {step.error}", "error")

    def finished(self, execution: executions.Execution, status: ES, error: str | None) -> None:
        if status is ES.SUCCEEDED:
            self.execution(
                execution,
                "workflow_succeeded",
                f"'{execution.workflow_id}' workflow execution succeeded",
            )
        elif status is ES.CANCELLED:
            self.execution(
                execution,
                "workflow_cancelled",
                f"'{execution.workflow_id}' workflow execution cancelled",
                "warning",
            )
        else:
            self.execution(
                execution,
                "workflow_failed",
                f"'{execution.workflow_id}' workflow execution failed: {error}",
                "error",
            )
