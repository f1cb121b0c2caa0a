"""From an attempt's outcome to the completion that records it.

The engine ends the attempts one poll brings back in one transaction
(:meth:`~cairn.store.interface.Writer.complete_tasks`), so each completion is worked out
here first, from the task, what its attempt started from and the outcome, without reading
the store: what merges into stored values (runtime properties, a check_drift result into
the instance's drift record) is merged by the completion's own transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cairn.engine import dispatching, drift_records
from cairn.model import executions
from cairn.store import interface

TS = executions.TaskState


@dataclass(frozen=True, kw_only=True)
class Ending:
    outcome: executions.Outcome
    step: executions.NextStep
    ignored: bool  # a failure that the task's ignore_failure turned into a success
    checked_drift: bool  # a check_drift result recorded on its instance
    completion: interface.Completion


def ending(
    task: executions.Task,
    outcome: executions.Outcome,
    *,
    prepared: dispatching.Prepared,
    cancelled: bool,
    now: datetime.datetime,
) -> Ending:
    """The next state of ``task`` after ``outcome`` and the instance updates it carries."""
    if cancelled and outcome.kind is not executions.OutcomeKind.SUCCEEDED:
        step = executions.NextStep(state=TS.CANCELLED, error=outcome.error)
    else:
        step = executions.after_outcome(
            outcome, attempt=task.attempt, policy=prepared.policy, now=now
        )
    ignored = step.state is TS.FAILED and task.spec.ignore_failure
    if ignored:
        step = executions.NextStep(state=TS.SUCCEEDED, error=step.error)
    updates = _instance_updates(task, prepared, outcome)
    if task.spec.records_status and step.state is not TS.PENDING and task.spec.node_instance_id:
        updates.append(_status_update(task, outcome, now))
    checked_drift = drift_records.records_drift(task.spec) and step.state is not TS.PENDING
    if checked_drift:
        failed = outcome.kind is not executions.OutcomeKind.SUCCEEDED
        updates.append(drift_records.update(task, outcome, failed=failed, now=now))
    completion = interface.Completion(
        task_id=task.id,
        attempt=task.attempt,
        state=step.state,
        run_after=step.run_after,
        result=outcome.result,
        error=step.error,
        instance_updates=updates,
    )
    return Ending(
        outcome=outcome,
        step=step,
        ignored=ignored,
        checked_drift=checked_drift,
        completion=completion,
    )


def _status_update(
    task: executions.Task, outcome: executions.Outcome, now: datetime.datetime
) -> interface.InstanceUpdate:
    ok = outcome.kind is executions.OutcomeKind.SUCCEEDED
    status = {
        "ok": ok,
        "timestamp": now.isoformat(),
        "task": task.key,
        "result": outcome.result if ok else outcome.error,
    }
    assert task.spec.node_instance_id is not None
    return interface.InstanceUpdate(
        instance_id=task.spec.node_instance_id, system_properties={"status": status}
    )


def _instance_updates(
    task: executions.Task, prepared: dispatching.Prepared, outcome: executions.Outcome
) -> list[interface.InstanceUpdate]:
    spec = task.spec
    changes: list[tuple[str, Mapping[str, Any]]] = []
    if spec.node_instance_id and outcome.runtime_properties is not None:
        changes.append((spec.node_instance_id, outcome.runtime_properties))
    if (
        spec.relationship_index is not None
        and spec.target_instance_id
        and outcome.target_runtime_properties is not None
    ):
        changes.append((spec.target_instance_id, outcome.target_runtime_properties))
    # merged into the stored properties by the completion's own transaction: no read here
    return [
        interface.InstanceUpdate(
            instance_id=instance_id,
            runtime_changes=interface.RuntimeChanges(
                before=(prepared.before or {}).get(instance_id), after=after
            ),
        )
        for instance_id, after in changes
    ]
