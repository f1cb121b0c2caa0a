"""What planning a workflow run gives the engine: the task graph and what to store with it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cairn.model import executions, plan, runtime

JSON = plan.JSON


@dataclass(frozen=True, kw_only=True)
class InstanceChange:
    """How a scale run changes the deployment's node instances.

    Scaling out adds instances and extends existing instances with relationships to them:
    store ``added_instances`` and the ``relationships`` of the instances named there *before*
    the tasks run (the tasks refer to them). Scaling in removes instances and the relationships
    that point at them: apply ``removed_instance_ids`` and ``relationships`` once the tasks
    have all succeeded (the unlink tasks still need them while they run).

    ``relationships`` maps an existing instance id to its whole relationship list after the
    change; relationships that stay keep their position (new ones are appended), so the
    ``relationship_index`` of a stored task stays valid. ``entity`` is the node or scaling
    group that was scaled and ``count`` its new number of instances (per container instance,
    like ``current_instances``) for the deployment plan's record.
    """

    entity: str
    count: int
    added_instances: tuple[runtime.NodeInstance, ...] = ()
    removed_instance_ids: tuple[str, ...] = ()
    relationships: Mapping[str, tuple[Mapping[str, JSON], ...]] = field(default_factory=dict)

    @property
    def scales_out(self) -> bool:
        return bool(self.added_instances)


@dataclass(frozen=True, kw_only=True)
class WorkflowPlan:
    """A planned workflow run.

    ``tasks`` are in a dependency order (every task after the ones it depends on).
    ``ignore_failure_keys`` name tasks whose failure is recorded and then passed over, as
    Cloudify's ``ignore_failure`` handlers do: the tasks after them run and the execution does
    not fail because of them. ``status_check_keys`` name check_status tasks: the engine records
    their outcome (success or failure, with the result or error) in the instance's
    ``system_properties["status"]`` as ``{ok, timestamp, task, result}`` and, unless the
    operation declares ``max_retries``, does not retry them.
    """

    tasks: tuple[executions.TaskSpec, ...]
    parameters: Mapping[str, JSON]
    description: str
    ignore_failure_keys: frozenset[str] = frozenset()
    status_check_keys: frozenset[str] = frozenset()
    change: InstanceChange | None = None

    @property
    def added_instances(self) -> tuple[runtime.NodeInstance, ...]:
        return self.change.added_instances if self.change else ()

    @property
    def removed_instance_ids(self) -> tuple[str, ...]:
        return self.change.removed_instance_ids if self.change else ()

    def task(self, key: str) -> executions.TaskSpec:
        for spec in self.tasks:
            if spec.key == key:
                return spec
        raise KeyError(key)
