"""Executions and their tasks: the durable shape of a workflow run.

A workflow is planned into a graph of :class:`TaskSpec` (pure, in ``cairn.planner``), stored
as :class:`Task` rows before anything runs, and driven by the engine, which only ever moves
a task along :data:`TASK_TRANSITIONS` with a committed write. Everything the engine decides
is derived from these rows, so a restarted manager continues where the last one stopped.

An operation attempt ends in exactly one :class:`Outcome`; :func:`after_outcome` is the one
place that turns an outcome into the task's next state (retry later, fail, succeed).
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from cairn.model import plan
from cairn.model.runtime import InstanceState

JSON = plan.JSON


class ExecutionStatus(StrEnum):
    QUEUED = "queued"  # waits for the deployment's active execution to end (FIFO)
    PENDING = "pending"  # stored, not picked up yet
    STARTED = "started"
    CANCELLING = "cancelling"  # no new tasks start; running ones finish
    FORCE_CANCELLING = "force_cancelling"  # running tasks are abandoned
    KILL_CANCELLING = "kill_cancelling"  # running tasks are killed
    CANCELLED = "cancelled"
    FAILED = "failed"
    SUCCEEDED = "succeeded"


ACTIVE = frozenset(
    {
        ExecutionStatus.PENDING,
        ExecutionStatus.STARTED,
        ExecutionStatus.CANCELLING,
        ExecutionStatus.FORCE_CANCELLING,
        ExecutionStatus.KILL_CANCELLING,
    }
)
ENDED = frozenset({ExecutionStatus.CANCELLED, ExecutionStatus.FAILED, ExecutionStatus.SUCCEEDED})
CANCELLING = frozenset(
    {
        ExecutionStatus.CANCELLING,
        ExecutionStatus.FORCE_CANCELLING,
        ExecutionStatus.KILL_CANCELLING,
    }
)
RESUMABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.CANCELLED})
# the workflow id of Cairn's update (and revert) executions, planned outside the blueprint
UPDATE_WORKFLOW = "update"


@dataclass(frozen=True, kw_only=True)
class Execution:
    id: str
    deployment_id: str
    workflow_id: str
    parameters: Mapping[str, JSON]
    status: ExecutionStatus
    created_at: datetime.datetime
    started_at: datetime.datetime | None = None
    ended_at: datetime.datetime | None = None
    error: str | None = None
    created_by: str = "admin"


class TaskKind(StrEnum):
    OPERATION = "operation"  # run an operation through a connector
    SET_STATE = "set_state"  # record a node instance's lifecycle state
    NOOP = "noop"  # a join point in the graph
    # the last step of a scale-in: remove instances, rewrite relationships (spec.inputs:
    # {"remove": [instance ids], "relationships": {instance id: [relationship, ...]}})
    CHANGE_INSTANCES = "change_instances"
    # the last step of an update: the deployment moves to the new revision, removed instances
    # go, relationships are rewritten, all in one transaction (spec.inputs: {"revision": n,
    # "remove": [instance ids], "relationships": {instance id: [relationship, ...]}})
    APPLY_REVISION = "apply_revision"


class TaskState(StrEnum):
    PENDING = "pending"  # waits for its dependencies, or for its retry time
    RUNNING = "running"  # claimed under a lease and handed to a connector
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed for good (non-recoverable, or out of retries)
    CANCELLED = "cancelled"  # its execution was cancelled before it ended


TASK_TRANSITIONS: Mapping[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset({TaskState.RUNNING, TaskState.SUCCEEDED, TaskState.CANCELLED}),
    TaskState.RUNNING: frozenset(
        {TaskState.PENDING, TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}
    ),
    TaskState.FAILED: frozenset({TaskState.PENDING}),  # resume
    TaskState.CANCELLED: frozenset({TaskState.PENDING}),  # resume
    TaskState.SUCCEEDED: frozenset(),
}


class Side(StrEnum):
    """For a relationship operation: which end's operation runs."""

    SOURCE = "source"
    TARGET = "target"


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One step of a planned workflow; ``key`` is unique within the execution.

    An operation task names the node instance it runs for and the qualified operation. A
    relationship operation also names the relationship (its index in the source instance's
    relationships, and the target instance) and the side whose operation runs.
    """

    key: str
    kind: TaskKind
    node_instance_id: str | None = None
    operation: str | None = None
    state: InstanceState | None = None  # for SET_STATE
    relationship_index: int | None = None
    target_instance_id: str | None = None
    side: Side | None = None
    inputs: Mapping[str, JSON] = field(default_factory=dict)  # overrides the plan's inputs
    depends_on: tuple[str, ...] = ()
    description: str = ""
    # a failure is recorded, then passed over (Cloudify's ignore_failure handlers)
    ignore_failure: bool = False
    # the outcome goes to the instance's system_properties["status"] (check_status)
    records_status: bool = False
    # an update's task runs by the plan of this revision of the deployment (None: the
    # deployment's plan in force); uninstalling what an update removes uses the old one
    revision: int | None = None


@dataclass(frozen=True, kw_only=True)
class Task:
    """A stored task. ``attempt`` counts dispatches; ``lease_*`` say who runs it until when."""

    id: int
    execution_id: str
    spec: TaskSpec
    state: TaskState
    attempt: int = 0
    run_after: datetime.datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime.datetime | None = None
    result: JSON = None
    error: str | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def idempotency_key(self) -> str:
        """Names one dispatched attempt everywhere (journals, agents, events)."""
        return f"{self.execution_id}:{self.id}:{self.attempt}"


class OutcomeKind(StrEnum):
    SUCCEEDED = "succeeded"
    RECOVERABLE = "recoverable"  # retry later, if the retry policy allows
    NON_RECOVERABLE = "non_recoverable"  # fail now


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """How one operation attempt ended. ``retry_after`` (seconds) overrides the policy's interval."""

    kind: OutcomeKind
    result: JSON = None
    error: str | None = None
    retry_after: float | None = None
    runtime_properties: Mapping[str, JSON] | None = None  # the instance's, when changed
    target_runtime_properties: Mapping[str, JSON] | None = None  # relationship ops


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Cloudify's ``max_retries`` (-1: unlimited) and ``retry_interval`` (seconds)."""

    max_retries: int = 10
    retry_interval: float = 15.0


@dataclass(frozen=True, kw_only=True)
class NextStep:
    state: TaskState
    run_after: datetime.datetime | None = None
    error: str | None = None


def after_outcome(
    outcome: Outcome, *, attempt: int, policy: RetryPolicy, now: datetime.datetime
) -> NextStep:
    """The task's next state after attempt number ``attempt`` (1-based) ended with ``outcome``."""
    if outcome.kind is OutcomeKind.SUCCEEDED:
        return NextStep(state=TaskState.SUCCEEDED)
    if outcome.kind is OutcomeKind.RECOVERABLE:
        retries_used = attempt - 1
        if policy.max_retries < 0 or retries_used < policy.max_retries:
            wait = policy.retry_interval if outcome.retry_after is None else outcome.retry_after
            return NextStep(
                state=TaskState.PENDING,
                run_after=now + datetime.timedelta(seconds=max(0.0, wait)),
                error=outcome.error,
            )
        error = f"{outcome.error} (gave up after {attempt} attempts)"
        return NextStep(state=TaskState.FAILED, error=error)
    return NextStep(state=TaskState.FAILED, error=outcome.error)


def execution_result(
    states: Collection[TaskState], status: ExecutionStatus
) -> ExecutionStatus | None:
    """The execution's final status once no task can move, else None.

    A started execution with a failed task stops starting new tasks and ends ``failed`` once
    nothing runs; a cancelling one ends ``cancelled`` once nothing runs.
    """
    values = set(states)
    if TaskState.RUNNING in values:
        return None
    if status in CANCELLING:
        return ExecutionStatus.CANCELLED
    if TaskState.FAILED in values:
        return ExecutionStatus.FAILED
    if values <= {TaskState.SUCCEEDED}:
        return ExecutionStatus.SUCCEEDED
    return None
