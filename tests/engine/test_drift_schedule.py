"""The drift scheduler with a fake clock: one run per due time, rescheduling, skipping busy
deployments, corrections, and two schedulers on one database running each check once."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Iterator

import engine_support as support
import pytest
from drift_support import blueprint

from cairn import errors
from cairn.engine import clock as clocks
from cairn.engine import executor
from cairn.model import drift, executions, runtime
from cairn.services import drift as drift_service
from cairn.services import executions as execution_service
from cairn.services import ids
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
DETECT = drift.Policy(mode=drift.Mode.DETECT, interval=60)
CORRECT = drift.Policy(mode=drift.Mode.CORRECT, interval=60)


@pytest.fixture
def clock() -> clocks.FakeClock:
    return clocks.FakeClock()


def open_manager(data: pathlib.Path, clock: clocks.FakeClock, *, engine: bool = True) -> Manager:
    settings = executor.Settings(
        idle_wait=0.05, defaults=executions.RetryPolicy(max_retries=0, retry_interval=0)
    )
    return Manager.open(
        data, clock=clock, settings=settings, start_engine=engine, start_scheduler=False
    )


@pytest.fixture
def manager(tmp_path: pathlib.Path, clock: clocks.FakeClock) -> Iterator[Manager]:
    with open_manager(tmp_path / "data", clock) as opened:
        yield opened


@pytest.fixture
def control(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "control"
    folder.mkdir()
    return folder


def installed(manager: Manager) -> None:
    """Marks the deployment's instances started, as an install would (checks need that)."""
    for instance in manager.store.list_instances("dep"):
        manager.store.update_instance(instance.id, state=runtime.InstanceState.STARTED)


def workflows(manager: Manager) -> list[str]:
    return [e.workflow_id for e in manager.store.list_executions(deployment_id="dep")]


def wait_all(manager: Manager) -> None:
    for execution in manager.store.list_executions(deployment_id="dep"):
        support.wait_for(manager, execution.id)


def test_one_run_per_due_time_then_rescheduled(
    manager: Manager, clock: clocks.FakeClock, tmp_path: pathlib.Path, control: pathlib.Path
) -> None:
    support.deploy(manager, blueprint(tmp_path, control))
    installed(manager)
    scheduler = drift_service.Scheduler(manager)
    stored = drift_service.set_policy(manager, "dep", DETECT)
    assert stored.drift_next_at == support.utc(60)
    assert scheduler.tick() == []
    clock.advance(60)
    started = scheduler.tick()
    assert [e.workflow_id for e in started] == ["check_drift", "check_status"]
    assert all(e.created_by == drift_service.SCHEDULER for e in started)
    assert manager.store.get_deployment("dep").drift_next_at == support.utc(120)
    assert scheduler.tick() == []  # the same due time never runs twice
    wait_all(manager)
    assert [support.wait_for(manager, e.id).status for e in started] == [ES.SUCCEEDED] * 2
    clock.advance(60)
    assert len(scheduler.tick()) == 2
    assert workflows(manager).count("check_drift") == 2
    wait_all(manager)


def test_nothing_installed_nothing_checked(
    manager: Manager, clock: clocks.FakeClock, tmp_path: pathlib.Path, control: pathlib.Path
) -> None:
    support.deploy(manager, blueprint(tmp_path, control))
    drift_service.set_policy(manager, "dep", DETECT)
    clock.advance(60)
    assert drift_service.Scheduler(manager).tick() == []
    assert workflows(manager) == []
    assert manager.store.get_deployment("dep").drift_next_at == support.utc(120)


def test_a_busy_deployment_is_skipped_and_tried_again_soon(
    tmp_path: pathlib.Path, clock: clocks.FakeClock, control: pathlib.Path
) -> None:
    with open_manager(tmp_path / "data", clock, engine=False) as manager:
        support.deploy(manager, blueprint(tmp_path, control))
        drift_service.set_policy(manager, "dep", drift.Policy(mode=drift.Mode.DETECT, interval=600))
        execution_service.start(
            manager, deployment_id="dep", workflow_id="install"
        )  # stays pending
        clock.advance(600)
        assert drift_service.Scheduler(manager).tick() == []
        assert workflows(manager) == ["install"]
        later = support.utc(600 + drift_service.BUSY_RETRY)
        assert manager.store.get_deployment("dep").drift_next_at == later


def test_one_pass_starts_every_due_check_together(
    tmp_path: pathlib.Path, clock: clocks.FakeClock, control: pathlib.Path
) -> None:
    """Many deployments due at once: one pass claims them all and starts a check on each
    installed, idle one; a busy one is tried again soon, one with nothing installed waits
    for its next slot; a pass limited to fewer takes the longest waiting first."""
    with open_manager(tmp_path / "data", clock, engine=False) as manager:
        ids = ["idle1", "idle2", "idle3", "busy", "empty"]
        for deployment_id in ids:
            support.deploy(manager, blueprint(tmp_path, control), deployment_id=deployment_id)
            if deployment_id != "empty":
                for instance in manager.store.list_instances(deployment_id):
                    manager.store.update_instance(instance.id, state=runtime.InstanceState.STARTED)
        for deployment_id in ids:
            drift_service.set_policy(manager, deployment_id, DETECT)
            clock.advance(1)
        execution_service.start(manager, deployment_id="busy", workflow_id="install")
        clock.advance(60)  # every one is due; idle1 the longest
        assert [e.deployment_id for e in drift_service.Scheduler(manager, batch=1).tick()] == [
            "idle1",
            "idle1",
        ]
        started = drift_service.Scheduler(manager).tick()
        assert [(e.deployment_id, e.workflow_id) for e in started] == [
            (d, w) for d in ("idle2", "idle3") for w in ("check_drift", "check_status")
        ]
        assert started[1].status is ES.QUEUED  # the status check waits behind its check
        next_at = {d: manager.store.get_deployment(d).drift_next_at for d in ids}
        assert next_at["idle2"] == support.utc(61 + 60)
        assert next_at["busy"] == support.utc(65 + drift_service.BUSY_RETRY)
        assert next_at["empty"] == support.utc(64 + 60)
        assert drift_service.Scheduler(manager).tick() == []


def test_correct_starts_update_when_drifted_and_heal_when_a_status_check_failed(
    manager: Manager, clock: clocks.FakeClock, tmp_path: pathlib.Path, control: pathlib.Path
) -> None:
    support.deploy(manager, blueprint(tmp_path, control))
    assert support.run(manager, "install").status is ES.SUCCEEDED
    scheduler = drift_service.Scheduler(manager)
    drift_service.set_policy(manager, "dep", CORRECT)
    (tmp_path / "app.conf").write_text("edited")
    (control / "status-failed").touch()
    clock.advance(60)
    check, status = scheduler.tick()
    assert manager.store.get_deployment("dep").drift_policy == {
        **CORRECT.to_json(),
        "awaiting": status.id,
    }
    wait_all(manager)
    (control / "status-failed").unlink()
    started = scheduler.tick()
    # Cairn's update reapplies the drifted instance; heal (queued behind it) reinstalls the one
    # whose status check failed
    assert [e.workflow_id for e in started] == ["update", "heal"]
    assert scheduler.tick() == []  # corrected once
    assert manager.store.get_deployment("dep").drift_policy == CORRECT.to_json()
    notes = [e for e in manager.store.list_events(execution_id=status.id)]
    assert [e.type for e in notes if e.type.startswith("drift_")] == [
        "drift_correction",
        "drift_correction",
    ]
    assert "started update" in notes[-2].message and "started heal" in notes[-1].message
    for execution in started:
        assert support.wait_for(manager, execution.id).status is ES.SUCCEEDED
    detected = [
        e for e in manager.store.list_events(execution_id=check.id) if e.type == "drift_detected"
    ]
    assert len(detected) == 1


def test_detect_never_corrects(
    manager: Manager, clock: clocks.FakeClock, tmp_path: pathlib.Path, control: pathlib.Path
) -> None:
    support.deploy(manager, blueprint(tmp_path, control))
    installed(manager)
    scheduler = drift_service.Scheduler(manager)
    drift_service.set_policy(manager, "dep", DETECT)
    (tmp_path / "app.conf").write_text("edited")
    clock.advance(60)
    scheduler.tick()
    wait_all(manager)
    assert scheduler.tick() == []
    assert drift_service.summary(manager, "dep").summary.drifted is True


def test_two_schedulers_on_one_database_run_each_check_once(
    tmp_path: pathlib.Path, clock: clocks.FakeClock, control: pathlib.Path
) -> None:
    data = tmp_path / "data"
    with (
        open_manager(data, clock, engine=False) as first,
        open_manager(data, clock, engine=False) as second,
    ):
        support.deploy(first, blueprint(tmp_path, control))
        installed(first)
        drift_service.set_policy(first, "dep", DETECT)
        clock.advance(60)
        barrier = threading.Barrier(2)
        started: list[list[executions.Execution]] = []

        def tick(manager: Manager) -> None:
            barrier.wait()
            started.append(drift_service.Scheduler(manager).tick())

        threads = [threading.Thread(target=tick, args=(m,)) for m in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(s) for s in started) == [0, 2]
        assert workflows(first) == ["check_drift", "check_status"]


def test_bad_policies_are_refused_and_change_nothing(
    manager: Manager, tmp_path: pathlib.Path, control: pathlib.Path
) -> None:
    support.deploy(manager, blueprint(tmp_path, control))
    for mode, interval, field in (
        ("sometimes", "1h", "mode"),
        ("detect", "5 parsecs", "interval"),
        ("detect", "5s", "interval"),
        ("correct", "-1m", "interval"),
        ("detect", "400d", "interval"),
    ):
        with pytest.raises(ids.FieldError) as raised:
            drift_service.policy_from(mode, interval)
        assert raised.value.field == field
    with pytest.raises(errors.NotFoundError):
        drift_service.set_policy(manager, "nope", DETECT)
    found = manager.store.get_deployment("dep")
    assert found.drift_policy is None and found.drift_next_at is None
    assert drift_service.policy_from("Correct", "2h") == drift.Policy(
        mode=drift.Mode.CORRECT, interval=7200
    )
    assert drift_service.policy_from("detect", "90").interval == 90


NO_STATUS = """\
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
plugins:
  cairn: {executor: central_deployment_agent, install: false}
node_templates:
  conf:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        check_drift: cairn.noop
"""


def test_without_a_status_check_only_check_drift_runs(
    manager: Manager, clock: clocks.FakeClock, tmp_path: pathlib.Path
) -> None:
    """No node defines check_status: no empty execution behind each check; a correction
    then waits for the check itself."""
    folder = tmp_path / "bp"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(NO_STATUS)
    support.deploy(manager, folder / "blueprint.yaml")
    installed(manager)
    scheduler = drift_service.Scheduler(manager)
    drift_service.set_policy(manager, "dep", CORRECT)
    clock.advance(60)
    started = scheduler.tick()
    assert [e.workflow_id for e in started] == ["check_drift"]
    awaited = manager.store.get_deployment("dep").drift_policy
    assert awaited is not None and awaited[drift_service.AWAITING] == started[0].id
    assert support.wait_for(manager, started[0].id).status is ES.SUCCEEDED
    scheduler.tick()  # the correction: nothing drifted, nothing to do
    assert workflows(manager) == ["check_drift"]
