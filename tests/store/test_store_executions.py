"""Executions: one active per deployment, FIFO queueing, compare-and-set status."""

from __future__ import annotations

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import interface

Status = executions.ExecutionStatus


def _set(
    store: interface.Store,
    execution_id: str,
    old: Status,
    new: Status,
    *,
    seconds: float = 0,
    error: str | None = None,
) -> bool:
    return store.set_execution_status(
        execution_id, expected={old}, status=new, now=s.at(seconds), error=error
    )


def _status(store: interface.Store, execution_id: str) -> Status:
    return store.get_execution(execution_id).status


def test_create_execution_stores_the_task_graph(store: interface.Store) -> None:
    s.setup_deployment(store)
    specs = [s.spec("a"), s.spec("b", "a"), s.spec("c", "a", "b", instance_id=None)]
    stored = store.create_execution(s.execution("e1"), specs, queue=False)
    assert stored == s.execution("e1")
    assert store.get_execution("e1") == stored
    tasks = store.list_tasks("e1")
    assert [t.spec for t in tasks] == specs
    assert all(t.state is executions.TaskState.PENDING and t.attempt == 0 for t in tasks)
    assert tasks[0].id < tasks[1].id < tasks[2].id
    assert store.get_task(tasks[2].id) == tasks[2]
    assert store.task_states("e1") == {t.id: executions.TaskState.PENDING for t in tasks}
    # many at once: the known ones, by id
    assert store.get_executions(["e1", "nope"]) == {"e1": stored}
    assert store.get_executions([]) == {}


def test_every_spec_field_survives(store: interface.Store) -> None:
    s.setup_deployment(store)
    spec = executions.TaskSpec(
        key="rel",
        kind=executions.TaskKind.OPERATION,
        node_instance_id="vm_1",
        operation="cloudify.interfaces.relationship_lifecycle.establish",
        relationship_index=0,
        target_instance_id="vm_2",
        side=executions.Side.TARGET,
        inputs={"nested": {"list": [1, 2.5, None, True]}},
        description="establish",
        ignore_failure=True,
    )
    state_spec = executions.TaskSpec(
        key="set",
        kind=executions.TaskKind.SET_STATE,
        node_instance_id="vm_1",
        state=runtime.InstanceState.STARTED,
        records_status=True,
        depends_on=("rel",),
    )
    store.create_execution(s.execution("e1"), [spec, state_spec], queue=False)
    assert [t.spec for t in store.list_tasks("e1")] == [spec, state_spec]


def test_execution_without_tasks(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    assert store.list_tasks("e1") == []
    assert store.task_states("e1") == {}


def test_bad_graphs_are_refused_and_store_nothing(store: interface.Store) -> None:
    s.setup_deployment(store)
    with pytest.raises(errors.UsageError, match="task 'b' depends on unknown tasks: zz"):
        store.create_execution(s.execution("e1"), [s.spec("a"), s.spec("b", "zz")], queue=False)
    with pytest.raises(errors.UsageError, match="task keys are not unique: a"):
        store.create_execution(s.execution("e1"), [s.spec("a"), s.spec("a")], queue=False)
    with pytest.raises(errors.NotFoundError, match="execution 'e1' not found"):
        store.get_execution("e1")
    assert store.list_executions() == []


def test_create_execution_needs_the_deployment_and_a_free_id(store: interface.Store) -> None:
    with pytest.raises(errors.NotFoundError, match="deployment 'dep' not found"):
        store.create_execution(s.execution("e1"), [], queue=False)
    s.setup_deployment(store)
    s.setup_deployment(store, "other", instance_ids=())
    store.create_execution(s.execution("e1"), [], queue=False)
    with pytest.raises(errors.ConflictError, match="execution 'e1' already exists"):
        store.create_execution(s.execution("e1", "other"), [], queue=False)


def test_second_execution_refused_without_queue(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [s.spec("a")], queue=False)
    with pytest.raises(
        errors.ConflictError, match="already runs execution 'e1' \\(install, pending\\)"
    ):
        store.create_execution(s.execution("e2"), [s.spec("a")], queue=False)
    with pytest.raises(errors.NotFoundError):
        store.get_execution("e2")
    assert [e.id for e in store.list_executions()] == ["e1"]


def test_other_deployments_run_at_once(store: interface.Store) -> None:
    s.setup_deployment(store, "a", instance_ids=())
    s.setup_deployment(store, "b", instance_ids=())
    store.create_execution(s.execution("e1", "a"), [], queue=False)
    store.create_execution(s.execution("e2", "b"), [], queue=False)
    assert {_status(store, "e1"), _status(store, "e2")} == {Status.PENDING}


def test_queue_is_fifo(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    # Same clock tick for all: creation order decides.
    for name in ("e2", "e3", "e4"):
        queued = store.create_execution(s.execution(name), [s.spec("a")], queue=True)
        assert queued.status is Status.QUEUED
    assert [e.id for e in store.list_executions(statuses={Status.QUEUED})] == ["e2", "e3", "e4"]
    assert _set(store, "e1", Status.PENDING, Status.STARTED)
    assert _set(store, "e1", Status.STARTED, Status.SUCCEEDED)
    assert [_status(store, e) for e in ("e2", "e3", "e4")] == [
        Status.PENDING,
        Status.QUEUED,
        Status.QUEUED,
    ]
    assert _set(store, "e2", Status.PENDING, Status.FAILED, error="boom")
    assert [_status(store, e) for e in ("e3", "e4")] == [Status.PENDING, Status.QUEUED]
    assert _set(store, "e3", Status.PENDING, Status.CANCELLED)
    assert _status(store, "e4") is Status.PENDING


def test_queue_follows_creation_time(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    store.create_execution(s.execution("late", created_at=s.at(20)), [], queue=True)
    store.create_execution(s.execution("early", created_at=s.at(10)), [], queue=True)
    assert [e.id for e in store.list_executions()] == ["e1", "early", "late"]
    assert _set(store, "e1", Status.PENDING, Status.CANCELLED)
    assert _status(store, "early") is Status.PENDING
    assert _status(store, "late") is Status.QUEUED


def test_ending_a_queued_execution_promotes_nothing(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    store.create_execution(s.execution("e2"), [], queue=True)
    store.create_execution(s.execution("e3"), [], queue=True)
    assert _set(store, "e2", Status.QUEUED, Status.CANCELLED)
    assert [_status(store, e) for e in ("e1", "e2", "e3")] == [
        Status.PENDING,
        Status.CANCELLED,
        Status.QUEUED,
    ]


def test_queue_when_idle_stores_the_given_status(store: interface.Store) -> None:
    s.setup_deployment(store)
    stored = store.create_execution(s.execution("e1"), [], queue=True)
    assert stored.status is Status.PENDING


def test_set_status_is_compare_and_set(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    assert not _set(store, "e1", Status.STARTED, Status.SUCCEEDED)
    assert _status(store, "e1") is Status.PENDING
    assert _set(store, "e1", Status.PENDING, Status.STARTED, seconds=5)
    started = store.get_execution("e1")
    assert (started.started_at, started.ended_at) == (s.at(5), None)
    assert store.set_execution_status(
        "e1",
        expected={Status.PENDING, Status.STARTED},
        status=Status.FAILED,
        now=s.at(9),
        error="x failed",
    )
    ended = store.get_execution("e1")
    assert (ended.status, ended.started_at, ended.ended_at, ended.error) == (
        Status.FAILED,
        s.at(5),
        s.at(9),
        "x failed",
    )
    with pytest.raises(errors.NotFoundError, match="execution 'nope' not found"):
        _set(store, "nope", Status.PENDING, Status.STARTED)


def test_resume_clears_the_end(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    assert _set(store, "e1", Status.PENDING, Status.FAILED, seconds=3, error="boom")
    assert _set(store, "e1", Status.FAILED, Status.PENDING, seconds=4)
    resumed = store.get_execution("e1")
    assert (resumed.status, resumed.ended_at, resumed.error) == (Status.PENDING, None, None)


def test_resume_refused_while_another_execution_is_active(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    store.create_execution(s.execution("e2"), [], queue=True)
    assert _set(store, "e1", Status.PENDING, Status.FAILED)  # e2 becomes PENDING
    with pytest.raises(errors.ConflictError, match="already has an active execution"):
        _set(store, "e1", Status.FAILED, Status.PENDING)
    assert _status(store, "e1") is Status.FAILED


def test_list_executions_filters(store: interface.Store) -> None:
    s.setup_deployment(store, "a", instance_ids=())
    s.setup_deployment(store, "b", instance_ids=())
    store.create_execution(s.execution("e1", "a", created_at=s.at(1)), [], queue=False)
    store.create_execution(s.execution("e2", "b", created_at=s.at(2)), [], queue=False)
    store.create_execution(s.execution("e3", "a", created_at=s.at(3)), [], queue=True)
    assert [e.id for e in store.list_executions()] == ["e1", "e2", "e3"]
    assert [e.id for e in store.list_executions(deployment_id="a")] == ["e1", "e3"]
    assert [e.id for e in store.list_executions(deployment_id="a", statuses=[Status.QUEUED])] == [
        "e3"
    ]
    assert store.list_executions(statuses=[Status.STARTED]) == []
    with pytest.raises(errors.NotFoundError, match="deployment 'nope' not found"):
        store.list_executions(deployment_id="nope")


def test_pending_executions_start_together_oldest_first(store: interface.Store) -> None:
    for name in ("d1", "d2", "d3"):
        s.setup_deployment(store, name, instance_ids=(f"{name}_vm",))
    store.create_execution(s.execution("e2", "d2", created_at=s.at(2)), [], queue=True)
    store.create_execution(s.execution("e1", "d1", created_at=s.at(1)), [], queue=True)
    store.create_execution(s.execution("e3", "d3", created_at=s.at(3)), [], queue=True)
    store.create_execution(s.execution("q1", "d1", created_at=s.at(4)), [], queue=True)
    assert _status(store, "q1") is Status.QUEUED  # behind e1: not started with them
    first = store.start_pending_executions(now=s.at(10), limit=2)
    assert [(e.id, e.status, e.started_at) for e in first] == [
        ("e1", Status.STARTED, s.at(10)),
        ("e2", Status.STARTED, s.at(10)),
    ]
    assert store.get_execution("e1") == first[0]
    assert [e.id for e in store.start_pending_executions(now=s.at(11))] == ["e3"]
    assert store.start_pending_executions(now=s.at(12)) == []
    assert {e: _status(store, e) for e in ("e1", "e2", "e3", "q1")} == {
        "e1": Status.STARTED,
        "e2": Status.STARTED,
        "e3": Status.STARTED,
        "q1": Status.QUEUED,
    }


def test_end_executions_ends_many_in_one_transaction(store: interface.Store) -> None:
    """Each end is a compare-and-set on its own (a stale one changes nothing), each promotes
    its deployment's queue, and an unknown execution fails the whole batch."""
    s.setup_deployment(store)
    s.setup_deployment(store, "dep2", instance_ids=("vm_3",))
    store.create_execution(s.execution("a1"), [], queue=False)
    store.create_execution(s.execution("a2"), [s.spec("a")], queue=True)
    store.create_execution(s.execution("b1", deployment_id="dep2"), [], queue=False)
    for execution_id in ("a1", "b1"):
        assert _set(store, execution_id, Status.PENDING, Status.STARTED)
    ends = [
        interface.ExecutionEnd(
            execution_id="b1", expected=[Status.STARTED], status=Status.FAILED, error="boom"
        ),
        interface.ExecutionEnd(
            execution_id="a1", expected=[Status.STARTED], status=Status.SUCCEEDED
        ),
        interface.ExecutionEnd(
            execution_id="a2", expected=[Status.STARTED], status=Status.SUCCEEDED
        ),
    ]
    assert store.end_executions(ends, now=s.at(5)) == [True, True, False]
    b1 = store.get_execution("b1")
    assert (b1.status, b1.error, b1.ended_at) == (Status.FAILED, "boom", s.at(5))
    assert _status(store, "a1") is Status.SUCCEEDED
    assert _status(store, "a2") is Status.PENDING  # promoted from the queue, not ended
    assert store.end_executions([], now=s.at(5)) == []
    gone = interface.ExecutionEnd(
        execution_id="nope", expected=[Status.STARTED], status=Status.FAILED
    )
    again = interface.ExecutionEnd(
        execution_id="a2", expected=[Status.PENDING], status=Status.CANCELLED
    )
    with pytest.raises(errors.NotFoundError):
        store.end_executions([again, gone], now=s.at(6))
    assert _status(store, "a2") is Status.PENDING  # all or nothing
