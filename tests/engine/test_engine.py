"""The engine on a real store and the real local connector: order, failures, resume,
retries, cancel, queueing."""

from __future__ import annotations

import pathlib
import sys
import textwrap
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn import errors
from cairn.engine import clock as clocks
from cairn.engine import executor
from cairn.model import executions
from cairn.services import executions as execution_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus


def chain_blueprint(
    tmp_path: pathlib.Path, log: pathlib.Path, control: pathlib.Path
) -> pathlib.Path:
    """db <- app (depends_on) <- web (connected_to), every lifecycle step a recording script."""
    ops = textwrap.indent(
        support.lifecycle(log, control, "create", "configure", "start", "stop", "delete"), "      "
    )
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "node_templates:\n"
        f"  db:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops}\n"
        f"  app:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops}\n"
        "    relationships:\n      - {type: cloudify.relationships.depends_on, target: db}\n"
        f"  web:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops}\n"
        "    relationships:\n      - {type: cloudify.relationships.connected_to, target: app}\n"
    )
    return support.write_blueprint(tmp_path / "bp", body)


def test_install_follows_relationships_and_uninstall_reverses_them(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    result = support.run(manager, "install")
    assert result.status is ES.SUCCEEDED, result.error
    lines = support.log_lines(log)
    assert len(lines) == 9
    assert support.first_index(lines, "db", "start") < support.first_index(lines, "app", "create")
    assert support.first_index(lines, "app", "start") < support.first_index(lines, "web", "create")
    assert set(support.states(manager).values()) == {"started"}
    app = next(i for i in manager.store.list_instances("dep") if i.node_id == "app")
    assert app.runtime_properties == {
        "done_create": "true",
        "done_configure": "true",
        "done_start": "true",
    }

    log.unlink()
    result = support.run(manager, "uninstall")
    assert result.status is ES.SUCCEEDED, result.error
    lines = support.log_lines(log)
    assert support.first_index(lines, "web", "delete") < support.first_index(lines, "app", "stop")
    assert support.first_index(lines, "app", "delete") < support.first_index(lines, "db", "stop")
    assert set(support.states(manager).values()) == {"deleted"}


def test_failed_install_resumes_running_only_what_did_not_succeed(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    (control / "fail-app-configure").touch()
    failed = support.run(manager, "install")
    assert failed.status is ES.FAILED
    assert failed.error and "configure" in failed.error
    before = support.log_lines(log)
    assert [op for i, op in before if i.startswith("web_")] == []  # never started after app failed
    assert support.states(manager)["db"] == "started"

    (control / "fail-app-configure").unlink()
    resumed = execution_service.resume(manager, failed.id)
    assert resumed.id == failed.id
    result = support.wait_for(manager, failed.id)
    assert result.status is ES.SUCCEEDED, result.error
    lines = support.log_lines(log)
    db_runs = [op for i, op in lines if i.startswith("db_")]
    assert db_runs == [
        "cloudify.interfaces.lifecycle.create",
        "cloudify.interfaces.lifecycle.configure",
        "cloudify.interfaces.lifecycle.start",
    ]  # db's succeeded operations did not run again
    app_configures = [op for i, op in lines if i.startswith("app_") and op.endswith("configure")]
    assert len(app_configures) == 2  # the failed attempt, then the resumed one
    assert set(support.states(manager).values()) == {"started"}


def test_script_asking_for_a_retry_is_retried(
    tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    settings = executor.Settings(
        idle_wait=0.05, defaults=executions.RetryPolicy(max_retries=2, retry_interval=0)
    )
    with Manager.open(tmp_path / "data", settings=settings) as manager:
        support.deploy(manager, chain_blueprint(tmp_path, log, control))
        (control / "retry-db-create").write_text("0")
        result = support.run(manager, "install")
        assert result.status is ES.SUCCEEDED, result.error
        creates = [
            op for i, op in support.log_lines(log) if i.startswith("db_") and op.endswith("create")
        ]
        assert len(creates) == 2
        kinds = [e.type for e in execution_service.events(manager, execution_id=result.id)]
        assert "task_rescheduled" in kinds


def test_retries_stop_at_max_retries(
    tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    settings = executor.Settings(
        idle_wait=0.05, defaults=executions.RetryPolicy(max_retries=2, retry_interval=0)
    )
    with Manager.open(tmp_path / "data", settings=settings) as manager:
        support.deploy(manager, chain_blueprint(tmp_path, log, control))
        (control / "fail-db-create").touch()
        result = support.run(manager, "install")
        assert result.status is ES.FAILED
        assert result.error and "gave up after 3 attempts" in result.error
        creates = [
            op for i, op in support.log_lines(log) if i.startswith("db_") and op.endswith("create")
        ]
        assert len(creates) == 3  # the first attempt and two retries


def test_second_execution_is_refused_or_queued(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    (control / "sleep-db-create").write_text("1")
    first = execution_service.start(manager, deployment_id="dep", workflow_id="install")
    with pytest.raises(errors.ConflictError):
        execution_service.start(manager, deployment_id="dep", workflow_id="uninstall")
    queued = execution_service.start(
        manager, deployment_id="dep", workflow_id="uninstall", queue=True
    )
    assert queued.status is ES.QUEUED
    assert support.wait_for(manager, first.id).status is ES.SUCCEEDED
    assert support.wait_for(manager, queued.id).status is ES.SUCCEEDED
    assert set(support.states(manager).values()) == {"deleted"}


def test_cancel_lets_the_running_task_finish_then_stops(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    (control / "sleep-db-create").write_text("1")
    started = execution_service.start(manager, deployment_id="dep", workflow_id="install")
    _wait_until_logged(log, "db_")
    execution_service.cancel(manager, started.id)
    result = support.wait_for(manager, started.id)
    assert result.status is ES.CANCELLED
    assert [op for i, op in support.log_lines(log)] == ["cloudify.interfaces.lifecycle.create"]
    # the running create finished; recording its state is the next task, cancelled with the rest
    assert support.states(manager)["db"] == "creating"
    resumed = execution_service.resume(manager, started.id)
    assert support.wait_for(manager, resumed.id).status is ES.SUCCEEDED
    assert set(support.states(manager).values()) == {"started"}
    db_creates = [
        op for i, op in support.log_lines(log) if i.startswith("db_") and op.endswith("create")
    ]
    assert len(db_creates) == 1  # the create that succeeded before the cancel did not run again


def test_kill_stops_the_running_script(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    (control / "sleep-db-create").write_text("30")
    started = execution_service.start(manager, deployment_id="dep", workflow_id="install")
    _wait_until_logged(log, "db_")
    begun = time.monotonic()
    execution_service.cancel(manager, started.id, mode="kill")
    result = support.wait_for(manager, started.id, seconds=20)
    assert result.status is ES.CANCELLED
    assert time.monotonic() - begun < 15
    assert support.states(manager)["db"] == "creating"


def test_retry_interval_follows_the_injected_clock(
    tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    clock = clocks.FakeClock()
    settings = executor.Settings(
        idle_wait=0.02, defaults=executions.RetryPolicy(max_retries=3, retry_interval=600)
    )
    with Manager.open(tmp_path / "data", clock=clock, settings=settings) as manager:
        support.deploy(manager, chain_blueprint(tmp_path, log, control))
        (control / "retry-db-create").touch()  # retry, at the policy's interval
        started = execution_service.start(manager, deployment_id="dep", workflow_id="install")
        _wait_until_logged(log, "db_")
        time.sleep(0.3)
        assert len(support.log_lines(log)) == 1  # waits 600 s of fake time
        clock.advance(601)
        result = support.wait_for(manager, started.id)
        assert result.status is ES.SUCCEEDED, result.error
        creates = [
            op for i, op in support.log_lines(log) if op.endswith("create") and i.startswith("db_")
        ]
        assert len(creates) == 2


def _wait_until_logged(log: pathlib.Path, prefix: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(i.startswith(prefix) for i, _ in support.log_lines(log)):
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing from {prefix} in {log}")


def test_force_cancel_stops_waiting_and_records_the_late_result(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, chain_blueprint(tmp_path, log, control))
    (control / "sleep-db-create").write_text("2")
    started = execution_service.start(manager, deployment_id="dep", workflow_id="install")
    _wait_until_logged(log, "db_")
    execution_service.cancel(manager, started.id, mode="force")
    result = support.wait_for(manager, started.id, seconds=10)
    assert result.status is ES.CANCELLED
    deadline = time.monotonic() + 20
    kinds: list[str] = []
    while time.monotonic() < deadline and "task_late" not in kinds:
        time.sleep(0.1)
        kinds = [e.type for e in execution_service.events(manager, execution_id=started.id)]
    assert "task_late" in kinds  # the script's outcome arrived, recorded, not applied
    tasks = execution_service.tasks(manager, started.id)
    assert all(t.state is not executions.TaskState.SUCCEEDED for t in tasks if t.spec.operation)
