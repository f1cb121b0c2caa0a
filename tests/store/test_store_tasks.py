"""Tasks: claims, completions, leases, cancel and resume."""

from __future__ import annotations

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import interface

State = executions.TaskState
Status = executions.ExecutionStatus


def _keys(tasks: list[executions.Task]) -> list[str]:
    return [task.key for task in tasks]


def test_claim_takes_runnable_tasks_under_a_lease(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b")])
    claimed = store.claim_tasks(owner="w1", now=s.T0, lease_seconds=12.5, limit=10)
    assert _keys(claimed) == ["a", "b"]
    first = claimed[0]
    assert (first.state, first.attempt, first.lease_owner) == (State.RUNNING, 1, "w1")
    assert first.lease_expires_at == s.at(12.5)
    assert first.idempotency_key == f"e1:{ids['a']}:1"
    assert store.get_task(ids["a"]) == first
    assert s.claim_all(store) == []


def test_claim_respects_limit_in_id_order(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec(k) for k in "abcde"])
    assert store.claim_tasks(owner="w", now=s.T0, lease_seconds=1, limit=0) == []
    assert _keys(s.claim_all(store, limit=2)) == ["a", "b"]
    assert _keys(s.claim_all(store, limit=2)) == ["c", "d"]
    assert _keys(s.claim_all(store, limit=2)) == ["e"]


def test_a_claim_ends_tasks_at_once_and_goes_on_with_what_they_released(
    store: interface.Store,
) -> None:
    s.setup_deployment(store)
    creating = executions.TaskSpec(
        key="creating",
        kind=executions.TaskKind.SET_STATE,
        node_instance_id="vm_1",
        state=runtime.InstanceState.CREATING,
    )
    ids = s.started_execution(
        store, "e1", [creating, s.spec("create", "creating"), s.spec("other", "creating")]
    )

    def end_at_once(task: executions.Task) -> list[interface.InstanceUpdate] | None:
        if task.spec.kind is not executions.TaskKind.SET_STATE:
            return None
        assert task.spec.node_instance_id is not None
        return [
            interface.InstanceUpdate(instance_id=task.spec.node_instance_id, state=task.spec.state)
        ]

    claimed = store.claim_tasks(
        owner="w", now=s.T0, lease_seconds=30, limit=1, end_at_once=end_at_once
    )
    # the set-state task ended in the claim's transaction; the limit counts running tasks only
    assert [(t.key, t.state) for t in claimed] == [
        ("creating", State.SUCCEEDED),
        ("create", State.RUNNING),
    ]
    assert claimed[0].lease_owner is None
    assert store.get_task(ids["creating"]).state is State.SUCCEEDED
    assert store.get_instance("vm_1").state is runtime.InstanceState.CREATING
    assert _keys(s.claim_all(store)) == ["other"]


def test_a_claim_ends_several_tasks_at_once_in_one_round(store: interface.Store) -> None:
    s.setup_deployment(store)
    specs = [
        executions.TaskSpec(
            key=f"creating-{vm}",
            kind=executions.TaskKind.SET_STATE,
            node_instance_id=vm,
            state=runtime.InstanceState.CREATING,
        )
        for vm in ("vm_1", "vm_2")
    ]
    ids = s.started_execution(
        store, "e1", [*specs, s.spec("join", "creating-vm_1", "creating-vm_2")]
    )

    def end_at_once(task: executions.Task) -> list[interface.InstanceUpdate] | None:
        if task.spec.kind is not executions.TaskKind.SET_STATE:
            return None
        assert task.spec.node_instance_id is not None
        return [
            interface.InstanceUpdate(instance_id=task.spec.node_instance_id, state=task.spec.state)
        ]

    claimed = store.claim_tasks(
        owner="w", now=s.T0, lease_seconds=30, limit=5, end_at_once=end_at_once
    )
    # both ended in the first round, released "join" together, which the second round took
    assert [(t.key, t.state, t.attempt) for t in claimed] == [
        ("creating-vm_1", State.SUCCEEDED, 1),
        ("creating-vm_2", State.SUCCEEDED, 1),
        ("join", State.RUNNING, 1),
    ]
    for key in ("creating-vm_1", "creating-vm_2"):
        stored = store.get_task(ids[key])
        assert (stored.state, stored.lease_owner, stored.attempt) == (State.SUCCEEDED, None, 1)
    for vm in ("vm_1", "vm_2"):
        instance = store.get_instance(vm)
        assert (instance.state, instance.version) == (runtime.InstanceState.CREATING, 2)


def test_claim_respects_dependencies(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(
        store, "e1", [s.spec("a"), s.spec("b"), s.spec("c", "a", "b"), s.spec("d", "c")]
    )
    a, b = s.claim_all(store)
    assert (a.key, b.key) == ("a", "b")
    s.succeed(store, a)
    assert s.claim_all(store) == []  # c still waits for b
    s.succeed(store, b)
    (c,) = s.claim_all(store)
    assert c.key == "c"
    assert s.claim_all(store) == []
    s.succeed(store, c)
    assert _keys(s.claim_all(store)) == ["d"]


def test_failure_does_not_release_dependents(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a")])
    (a,) = s.claim_all(store)
    assert store.complete_task(a.id, attempt=1, state=State.FAILED, now=s.T0, error="boom")
    assert s.claim_all(store) == []
    failed = store.get_task(a.id)
    assert (failed.state, failed.error, failed.lease_owner, failed.lease_expires_at) == (
        State.FAILED,
        "boom",
        None,
        None,
    )


@pytest.mark.parametrize(
    "status", [Status.PENDING, Status.CANCELLING, Status.FORCE_CANCELLING, Status.FAILED]
)
def test_claim_only_from_started_executions(store: interface.Store, status: Status) -> None:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [s.spec("a")], queue=False)
    if status is not Status.PENDING:
        assert store.set_execution_status("e1", expected={Status.PENDING}, status=status, now=s.T0)
    assert s.claim_all(store) == []
    assert store.set_execution_status("e1", expected={status}, status=Status.STARTED, now=s.T0)
    assert _keys(s.claim_all(store)) == ["a"]


def test_retry_waits_for_run_after(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a")])
    (a,) = s.claim_all(store)
    assert store.complete_task(
        a.id, attempt=1, state=State.PENDING, now=s.T0, run_after=s.at(15), error="try again"
    )
    waiting = store.get_task(ids["a"])
    assert (waiting.state, waiting.run_after, waiting.error, waiting.lease_owner) == (
        State.PENDING,
        s.at(15),
        "try again",
        None,
    )
    assert s.claim_all(store, now=s.at(14.999)) == []
    (again,) = s.claim_all(store, now=s.at(15))
    assert again.attempt == 2
    assert again.idempotency_key == f"e1:{ids['a']}:2"


def test_complete_is_compare_and_set_on_attempt(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a")])
    (a,) = s.claim_all(store)
    assert store.complete_task(a.id, attempt=1, state=State.PENDING, now=s.T0, run_after=s.T0)
    (a2,) = s.claim_all(store)
    update = interface.InstanceUpdate(instance_id="vm_1", state=runtime.InstanceState.CREATED)
    stale = store.complete_task(
        a.id, attempt=1, state=State.SUCCEEDED, now=s.T0, result={"x": 1}, instance_updates=[update]
    )
    assert not stale
    assert store.get_task(ids["a"]) == a2  # nothing changed
    assert store.get_instance("vm_1").version == 1
    assert s.claim_all(store) == []  # b still blocked
    assert store.complete_task(a2.id, attempt=2, state=State.SUCCEEDED, now=s.T0, result={"x": 2})
    assert store.get_task(ids["a"]).result == {"x": 2}
    assert not store.complete_task(a2.id, attempt=2, state=State.FAILED, now=s.T0)
    assert store.get_task(ids["a"]).state is State.SUCCEEDED
    assert _keys(s.claim_all(store)) == ["b"]


def test_complete_applies_instance_updates(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec("a")])
    store.update_instance("vm_2", system_properties={"status": "old", "keep": 1})
    (a,) = s.claim_all(store)
    updates = [
        interface.InstanceUpdate(
            instance_id="vm_1",
            state=runtime.InstanceState.CREATED,
            runtime_properties={"ip": "1.2.3.4"},
        ),
        interface.InstanceUpdate(instance_id="vm_2", system_properties={"status": "new"}),
        interface.InstanceUpdate(instance_id="vm_2"),  # nothing to change
    ]
    assert store.complete_task(
        a.id, attempt=1, state=State.SUCCEEDED, now=s.T0, instance_updates=updates
    )
    vm_1, vm_2 = store.get_instance("vm_1"), store.get_instance("vm_2")
    assert (vm_1.state, vm_1.runtime_properties, vm_1.version) == (
        runtime.InstanceState.CREATED,
        {"ip": "1.2.3.4"},
        2,
    )
    assert (vm_2.system_properties, vm_2.version) == ({"status": "new", "keep": 1}, 3)


def test_complete_merges_an_attempts_runtime_changes_into_the_stored_ones(
    store: interface.Store,
) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec("a"), s.spec("b")])
    store.update_instance("vm_1", runtime_properties={"kept": 1, "gone": 2, "theirs": 3})
    a, b = s.claim_all(store)
    version = store.get_instance("vm_1").version
    # the attempt started from {kept, gone}, ended with {kept, new}; "theirs" came meanwhile
    changes = interface.RuntimeChanges(before={"kept": 1, "gone": 2}, after={"kept": 1, "new": 4})
    update = interface.InstanceUpdate(instance_id="vm_1", runtime_changes=changes)
    assert store.complete_task(
        a.id, attempt=1, state=State.SUCCEEDED, now=s.T0, instance_updates=[update]
    )
    vm_1 = store.get_instance("vm_1")
    assert vm_1.runtime_properties == {"kept": 1, "theirs": 3, "new": 4}
    assert vm_1.version == version + 1
    # no change, no new version
    same = interface.RuntimeChanges(before={"new": 4}, after={"new": 4})
    assert store.complete_task(
        b.id,
        attempt=1,
        state=State.SUCCEEDED,
        now=s.T0,
        instance_updates=[interface.InstanceUpdate(instance_id="vm_1", runtime_changes=same)],
    )
    assert store.get_instance("vm_1").version == version + 1


def test_complete_is_atomic_with_instance_updates(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a")])
    (a,) = s.claim_all(store)
    updates = [
        interface.InstanceUpdate(instance_id="vm_1", state=runtime.InstanceState.CREATED),
        interface.InstanceUpdate(instance_id="gone", state=runtime.InstanceState.CREATED),
    ]
    with pytest.raises(errors.NotFoundError, match="node instance 'gone' not found"):
        store.complete_task(
            a.id, attempt=1, state=State.SUCCEEDED, now=s.T0, instance_updates=updates
        )
    assert store.get_task(ids["a"]).state is State.RUNNING
    assert store.get_instance("vm_1").state is runtime.InstanceState.UNINITIALIZED
    assert s.claim_all(store) == []


def test_complete_tasks_ends_several_in_one_transaction(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(
        store, "e1", [s.spec("a"), s.spec("b"), s.spec("c"), s.spec("d", "a", "b")]
    )
    a, b, c = s.claim_all(store)
    created = interface.InstanceUpdate(instance_id="vm_1", state=runtime.InstanceState.CREATED)
    applied = store.complete_tasks(
        [
            interface.Completion(
                task_id=a.id, attempt=1, state=State.SUCCEEDED, instance_updates=[created]
            ),
            interface.Completion(task_id=b.id, attempt=1, state=State.SUCCEEDED, result={"x": 1}),
            interface.Completion(task_id=c.id, attempt=2, state=State.FAILED),  # stale attempt
        ],
        now=s.T0,
    )
    assert applied == [True, True, False]
    assert store.get_task(ids["b"]).result == {"x": 1}
    assert store.get_task(ids["c"]).state is State.RUNNING
    assert store.get_instance("vm_1").state is runtime.InstanceState.CREATED
    assert _keys(s.claim_all(store)) == ["d"]  # released by both a and b
    assert store.complete_tasks([], now=s.T0) == []


def test_complete_tasks_is_all_or_nothing(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b"), s.spec("c", "a")])
    a, b = s.claim_all(store)
    gone = interface.InstanceUpdate(instance_id="gone", state=runtime.InstanceState.CREATED)
    with pytest.raises(errors.NotFoundError, match="node instance 'gone' not found"):
        store.complete_tasks(
            [
                interface.Completion(task_id=a.id, attempt=1, state=State.SUCCEEDED),
                interface.Completion(
                    task_id=b.id, attempt=1, state=State.SUCCEEDED, instance_updates=[gone]
                ),
            ],
            now=s.T0,
        )
    assert store.get_task(ids["a"]).state is State.RUNNING
    assert store.get_task(ids["b"]).state is State.RUNNING
    assert s.claim_all(store) == []  # c not released


def test_complete_refuses_states_a_running_task_cannot_reach(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a")])
    (a,) = s.claim_all(store)
    with pytest.raises(errors.UsageError, match="cannot end as running"):
        store.complete_task(a.id, attempt=1, state=State.RUNNING, now=s.T0)
    assert store.get_task(ids["a"]).state is State.RUNNING


def test_finish_pending_task(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a"), s.spec("c", "b")])
    assert not store.finish_pending_task(ids["b"], state=State.SUCCEEDED)  # a is not done
    update = interface.InstanceUpdate(instance_id="vm_1", state=runtime.InstanceState.STARTED)
    assert store.finish_pending_task(ids["a"], state=State.SUCCEEDED, instance_updates=[update])
    assert store.get_instance("vm_1").state is runtime.InstanceState.STARTED
    assert not store.finish_pending_task(ids["a"], state=State.SUCCEEDED)
    (b,) = s.claim_all(store)
    assert b.key == "b"
    assert not store.finish_pending_task(b.id, state=State.CANCELLED)  # running
    assert store.finish_pending_task(ids["c"], state=State.CANCELLED)  # cancel ignores deps
    assert store.task_states("e1") == {
        ids["a"]: State.SUCCEEDED,
        ids["b"]: State.RUNNING,
        ids["c"]: State.CANCELLED,
    }
    found = store.executions_with_task_states(["e1", "nope"])
    assert list(found) == ["e1"]  # an unknown one is left out
    execution, states = found["e1"]
    assert execution.id == "e1"
    assert states == {State.SUCCEEDED, State.RUNNING, State.CANCELLED}
    assert store.executions_with_task_states([]) == {}
    with pytest.raises(errors.UsageError, match="cannot end as failed"):
        store.finish_pending_task(ids["c"], state=State.FAILED)


def test_leases(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec(k) for k in "abc"])
    a, b = store.claim_tasks(owner="w1", now=s.T0, lease_seconds=10, limit=2)
    (c,) = store.claim_tasks(owner="w2", now=s.T0, lease_seconds=20, limit=2)
    assert _keys(store.running_tasks()) == ["a", "b", "c"]
    assert _keys(store.running_tasks(owner="w2")) == ["c"]
    assert store.expired_leases(now=s.at(10)) == []
    assert _keys(store.expired_leases(now=s.at(10.5))) == ["a", "b"]
    store.renew_leases(owner="w1", task_ids=[a.id, c.id], until=s.at(30))  # c is not w1's
    assert store.get_task(a.id).lease_expires_at == s.at(30)
    assert store.get_task(c.id).lease_expires_at == s.at(20)
    assert _keys(store.expired_leases(now=s.at(25))) == ["b", "c"]
    s.succeed(store, b)
    store.renew_leases(owner="w1", task_ids=[b.id], until=s.at(99))
    assert store.get_task(b.id).lease_expires_at is None
    assert _keys(store.expired_leases(now=s.at(25))) == ["c"]


def test_cancel_pending_tasks(store: interface.Store) -> None:
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a"), s.spec("c")])
    (a, _c) = s.claim_all(store)
    assert store.cancel_pending_tasks("e1") == 1
    assert store.task_states("e1") == {
        ids["a"]: State.RUNNING,
        ids["b"]: State.CANCELLED,
        ids["c"]: State.RUNNING,
    }
    s.succeed(store, a)
    assert s.claim_all(store) == []
    assert store.cancel_pending_tasks("e1") == 0
    with pytest.raises(errors.NotFoundError, match="execution 'nope' not found"):
        store.cancel_pending_tasks("nope")


def test_reset_for_resume_recomputes_dependencies(store: interface.Store) -> None:
    s.setup_deployment(store)
    specs = [s.spec("a"), s.spec("b"), s.spec("c", "a", "b"), s.spec("d", "c"), s.spec("e", "a")]
    ids = s.started_execution(store, "e1", specs)
    a, b = s.claim_all(store)
    s.succeed(store, a)
    assert store.complete_task(b.id, attempt=1, state=State.PENDING, now=s.T0, run_after=s.at(60))
    (e,) = s.claim_all(store)
    assert store.complete_task(e.id, attempt=1, state=State.FAILED, now=s.T0, error="e broke")
    assert store.set_execution_status(
        "e1", expected={Status.STARTED}, status=Status.CANCELLING, now=s.T0
    )
    assert store.cancel_pending_tasks("e1") == 3  # b (waiting to retry), c, d
    assert store.set_execution_status(
        "e1", expected={Status.CANCELLING}, status=Status.CANCELLED, now=s.T0
    )

    assert store.reset_for_resume("e1") == 4  # b, c, d cancelled and e failed
    assert store.task_states("e1") == {
        ids["a"]: State.SUCCEEDED,
        ids["b"]: State.PENDING,
        ids["c"]: State.PENDING,
        ids["d"]: State.PENDING,
        ids["e"]: State.PENDING,
    }
    assert store.get_task(ids["b"]).run_after is None
    assert store.set_execution_status(
        "e1", expected={Status.CANCELLED}, status=Status.STARTED, now=s.T0
    )
    b2, e2 = s.claim_all(store)  # c waits for b only: a's success still counts
    assert (b2.key, b2.attempt, e2.key, e2.attempt) == ("b", 2, "e", 2)
    s.succeed(store, b2)
    (c,) = s.claim_all(store)
    assert c.key == "c"
    assert store.reset_for_resume("e1") == 0
    with pytest.raises(errors.NotFoundError, match="execution 'nope' not found"):
        store.reset_for_resume("nope")


def test_task_lookups_of_missing_things(store: interface.Store) -> None:
    with pytest.raises(errors.NotFoundError, match="task 42 not found"):
        store.get_task(42)
    with pytest.raises(errors.NotFoundError, match="execution 'nope' not found"):
        store.list_tasks("nope")
    with pytest.raises(errors.NotFoundError, match="execution 'nope' not found"):
        store.task_states("nope")


def test_naive_times_are_refused(store: interface.Store) -> None:
    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec("a")])
    with pytest.raises(errors.CairnError, match="naive datetime"):
        store.claim_tasks(owner="w", now=s.T0.replace(tzinfo=None), lease_seconds=1, limit=1)
    assert _keys(s.claim_all(store)) == ["a"]


def test_times_come_back_in_utc(store: interface.Store) -> None:
    import datetime

    s.setup_deployment(store)
    s.started_execution(store, "e1", [s.spec("a")])
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    (a,) = store.claim_tasks(owner="w", now=s.T0.astimezone(plus_two), lease_seconds=1, limit=1)
    assert a.lease_expires_at == s.at(1)
    assert a.lease_expires_at is not None and a.lease_expires_at.utcoffset() == datetime.timedelta(
        0
    )
    assert store.expired_leases(now=s.at(1.5)) == [a]


def test_drift_checks_ended_together_merge_into_one_record(store: interface.Store) -> None:
    """Two check_drift results for one instance (its own operation and a relationship end)
    end in one transaction: the store merges each into the record the other left; a check
    of a later execution replaces the record, and an instance's other system properties
    stay."""
    s.setup_deployment(store)
    store.update_instance("vm_1", system_properties={"status": {"ok": True}})
    s.started_execution(store, "e1", [s.spec("own"), s.spec("rel")])
    own, rel = s.claim_all(store)
    drifted = {"drifted": True, "differences": {"mode": {"expected": "0644", "actual": "0600"}}}
    clean = {"drifted": False, "differences": {}}
    end = {"side": "target", "source": "app_1", "target": "vm_1"}
    checks = [
        interface.DriftCheck(execution_id="e1", checked_at=s.T0, entry=drifted),
        interface.DriftCheck(execution_id="e1", checked_at=s.at(1), entry=clean, relationship=end),
    ]
    applied = store.complete_tasks(
        [
            interface.Completion(
                task_id=task.id,
                attempt=1,
                state=State.SUCCEEDED,
                instance_updates=[interface.InstanceUpdate(instance_id="vm_1", drift_check=check)],
            )
            for task, check in zip((own, rel), checks, strict=True)
        ],
        now=s.at(1),
    )
    assert applied == [True, True]
    props = store.get_instance("vm_1").system_properties
    assert props["status"] == {"ok": True}
    record = props["drift"]
    assert record["drifted"] is True and record["execution"] == "e1"
    assert record["instance"] == drifted
    assert record["relationships"] == [{**end, **clean}]

    store.set_execution_status("e1", expected=[Status.STARTED], status=Status.SUCCEEDED, now=s.T0)
    s.started_execution(store, "e2", [s.spec("again")])
    [again] = s.claim_all(store)
    later = interface.DriftCheck(execution_id="e2", checked_at=s.at(60), entry=clean)
    store.complete_tasks(
        [
            interface.Completion(
                task_id=again.id,
                attempt=1,
                state=State.SUCCEEDED,
                instance_updates=[interface.InstanceUpdate(instance_id="vm_1", drift_check=later)],
            )
        ],
        now=s.at(60),
    )
    record = store.get_instance("vm_1").system_properties["drift"]
    assert (record["drifted"], record["execution"], record["relationships"]) == (False, "e2", [])


def test_adopting_a_running_attempt_moves_its_lease_once(store: interface.Store) -> None:
    """A manager that finds a gone manager's attempt still running at its site takes the
    lease over: its renewals then keep it, and a second manager cannot adopt it too."""
    s.setup_deployment(store)
    ids = s.started_execution(store, "e1", [s.spec("a")])
    [task] = store.claim_tasks(owner="gone", now=s.T0, lease_seconds=10, limit=1)
    assert store.adopt_task(task.id, attempt=1, previous_owner="gone", owner="new", until=s.at(40))
    assert not store.adopt_task(
        task.id, attempt=1, previous_owner="gone", owner="other", until=s.at(40)
    )
    adopted = store.get_task(ids["a"])
    assert (adopted.lease_owner, adopted.lease_expires_at) == ("new", s.at(40))
    store.renew_leases(owner="new", task_ids=[task.id], until=s.at(70))
    assert store.get_task(ids["a"]).lease_expires_at == s.at(70)
    # a stale attempt number, or an attempt that ended, is not adopted
    assert not store.adopt_task(task.id, attempt=2, previous_owner="new", owner="x", until=s.T0)
    store.complete_task(task.id, attempt=1, state=State.SUCCEEDED, now=s.at(50))
    assert not store.adopt_task(task.id, attempt=1, previous_owner="new", owner="x", until=s.T0)
