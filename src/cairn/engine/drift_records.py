"""Recording check_drift outcomes on the instances they are about.

Every attempt of a check_drift operation (``lifecycle.check_drift`` of an instance, or
``relationship_lifecycle.check_drift`` on either end of a relationship) that ends for good is
written into the ``system_properties["drift"]`` of the instance it ran for, in the same write
as the task's completion (the store merges it with :func:`cairn.model.drift.merged`, which
keeps one record per instance and execution, so the checks of many executions end in one
transaction). When an execution that checked drift ends, each instance it found drifted gets a
``drift_detected`` event listing what differs.
"""

from __future__ import annotations

import datetime

from cairn.engine import events
from cairn.model import drift, executions
from cairn.store.interface import DriftCheck, InstanceUpdate, Reader

DETECTED = "drift_detected"


def records_drift(spec: executions.TaskSpec) -> bool:
    return spec.operation in drift.OPERATIONS and spec.node_instance_id is not None


def update(
    task: executions.Task,
    outcome: executions.Outcome,
    *,
    failed: bool,
    now: datetime.datetime,
) -> InstanceUpdate:
    """The update that merges this outcome into the drift record of the instance ``task``
    checked (merged by the store, in the completion's transaction)."""
    spec = task.spec
    assert spec.node_instance_id is not None
    relationship = None
    instance_id = spec.node_instance_id
    if spec.relationship_index is not None:
        relationship = {
            "side": spec.side.value if spec.side else "source",
            "source": spec.node_instance_id,
            "target": spec.target_instance_id,
        }
        if spec.side is executions.Side.TARGET and spec.target_instance_id:
            instance_id = spec.target_instance_id
    check = DriftCheck(
        execution_id=task.execution_id,
        checked_at=now,
        entry=drift.check(ok=not failed, result=outcome.result, error=outcome.error),
        relationship=relationship,
    )
    return InstanceUpdate(instance_id=instance_id, drift_check=check)


def report(store: Reader, recorder: events.Recorder, execution: executions.Execution) -> list[str]:
    """A ``drift_detected`` event per instance this execution found drifted; their ids."""
    found: list[str] = []
    for instance in store.list_instances(execution.deployment_id):
        record = drift.record_of(instance.system_properties)
        if record is None or record.get("execution") != execution.id or not record.get("drifted"):
            continue
        found.append(instance.id)
        differences = drift.differences(record)
        recorder.add(
            execution,
            DETECTED,
            f"{instance.id} has drifted: {', '.join(sorted(differences)) or 'see its result'}",
            level="warning",
            node_instance_id=instance.id,
            context={"differences": differences},
        )
    return found
