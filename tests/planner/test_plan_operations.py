"""execute_operation, start, stop, restart and check_status."""

from __future__ import annotations

from pathlib import Path

import pytest
from planblueprints import CHAIN, CONTAINMENT, LIFECYCLE_TYPE
from plansupport import Deployment, ancestors, check_graph, deploy, keys, touched, waits_for

from cairn import errors
from cairn.model import executions
from cairn.model.runtime import InstanceState

CUSTOM = (
    LIFECYCLE_TYPE
    + """
  app.Backup:
    derived_from: app.Node
    interfaces:
      maintenance:
        backup:
          implementation: scripts/backup.sh
          inputs:
            target: {default: /var/backups}
      cloudify.interfaces.validation:
        check_status: scripts/check.sh
node_templates:
  db: {type: app.Backup}
  web:
    type: app.Node
    relationships: [{type: cloudify.relationships.connected_to, target: db}]
  worker:
    type: app.Backup
    relationships: [{type: cloudify.relationships.depends_on, target: web}]
"""
)


@pytest.fixture
def custom(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, CUSTOM, state=InstanceState.STARTED)


def test_execute_operation_runs_where_the_operation_is_defined(custom: Deployment) -> None:
    plan = custom.run("execute_operation", operation="maintenance.backup")
    check_graph(plan)
    db, worker = custom.one("db"), custom.one("worker")
    assert keys(plan) == [f"{db}/maintenance.backup", f"{worker}/maintenance.backup"]
    spec = plan.task(f"{db}/maintenance.backup")
    assert spec.operation == "maintenance.backup"
    assert spec.kind is executions.TaskKind.OPERATION
    # not ordered by default; no state changes
    assert not ancestors(plan, f"{worker}/maintenance.backup")


def test_execute_operation_by_dependency_order_passes_through_unselected(
    custom: Deployment,
) -> None:
    """worker -> web -> db: web has no backup, the order still holds through it."""
    plan = custom.run(
        "execute_operation", operation="maintenance.backup", run_by_dependency_order=True
    )
    check_graph(plan)
    db, worker = custom.one("db"), custom.one("worker")
    assert waits_for(plan, f"{worker}/maintenance.backup", f"{db}/maintenance.backup")


def test_execute_operation_accepts_a_short_name(custom: Deployment) -> None:
    plan = custom.run("execute_operation", operation="backup", node_ids=["db"])
    assert [s.operation for s in plan.tasks] == ["maintenance.backup"]


@pytest.mark.parametrize(
    ("filters", "nodes"),
    [
        ({"node_ids": ["worker"]}, {"worker"}),
        ({"type_names": ["app.Backup"]}, {"db", "worker"}),
        ({"type_names": ["cloudify.nodes.Root"], "node_ids": ["db"]}, {"db"}),
        ({"node_instance_ids": ["DB"]}, {"db"}),
    ],
)
def test_execute_operation_filters(
    custom: Deployment, filters: dict[str, list[str]], nodes: set[str]
) -> None:
    resolved = {k: [custom.one("db") if v == "DB" else v for v in vs] for k, vs in filters.items()}
    plan = custom.run("execute_operation", operation="maintenance.backup", **resolved)
    assert touched(plan) == {custom.one(n) for n in nodes}


def test_operation_kwargs_become_task_inputs(custom: Deployment) -> None:
    plan = custom.run(
        "execute_operation", operation="maintenance.backup", operation_kwargs={"keep": 3}
    )
    assert all(spec.inputs == {"keep": 3} for spec in plan.tasks)


def test_kwargs_that_redefine_inputs_need_allow_kwargs_override(custom: Deployment) -> None:
    kwargs = {"target": "/tmp"}
    with pytest.raises(errors.InputError, match="already defines input"):
        custom.run("execute_operation", operation="maintenance.backup", operation_kwargs=kwargs)
    plan = custom.run(
        "execute_operation",
        operation="maintenance.backup",
        operation_kwargs=kwargs,
        allow_kwargs_override=True,
    )
    assert plan.tasks[0].inputs == kwargs


def test_unknown_operation_is_refused(custom: Deployment) -> None:
    with pytest.raises(errors.InputError, match="no node of the deployment has an operation"):
        custom.run("execute_operation", operation="maintenance.restore")


def test_start_and_stop_follow_and_reverse_dependencies(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CHAIN, state=InstanceState.STARTED)
    a, b, c = dep.one("a"), dep.one("b"), dep.one("c")
    start = dep.run("start")
    check_graph(start)
    assert keys(start) == [f"{a}/start", f"{b}/start", f"{c}/start"]
    assert waits_for(start, f"{c}/start", f"{a}/start")
    assert all(s.kind is executions.TaskKind.OPERATION for s in start.tasks)
    stop = dep.run("stop")
    check_graph(stop)
    assert waits_for(stop, f"{a}/stop", f"{c}/stop")
    assert not waits_for(stop, f"{c}/stop", f"{a}/stop")
    parallel = dep.run("start", run_by_dependency_order=False)
    assert not ancestors(parallel, f"{c}/start")


def test_start_passes_operation_parms(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CHAIN, state=InstanceState.STARTED)
    plan = dep.run("start", operation_parms={"script_path": "scripts/other.sh"})
    # start and stop allow overriding declared inputs, as in Cloudify
    assert all(s.inputs == {"script_path": "scripts/other.sh"} for s in plan.tasks)


def test_restart_stops_everything_then_starts(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CONTAINMENT, state=InstanceState.STARTED)
    plan = dep.run("restart", node_ids=["app1", "app3"])
    check_graph(plan)
    app1 = dep.ids("app1")[0]
    app3 = next(i for i in dep.ids("app3") if dep.instance(i).relationships[0]["target_id"] == app1)
    assert waits_for(plan, f"stop/{app1}/stop", f"stop/{app3}/stop")
    assert waits_for(plan, f"start/{app3}/start", f"start/{app1}/start")
    assert waits_for(plan, f"start/{app1}/start", "stop/done")
    assert touched(plan) == set(dep.ids("app1")) | set(dep.ids("app3"))


def test_check_status_runs_where_defined_and_records(custom: Deployment) -> None:
    plan = custom.run("check_status")
    check_graph(plan)
    db, worker = custom.one("db"), custom.one("worker")
    assert keys(plan) == [f"{db}/validation.check_status", f"{worker}/validation.check_status"]
    assert plan.status_check_keys == frozenset(keys(plan))
    assert plan.ignore_failure_keys == frozenset()


def test_pull_is_planned_like_start(custom: Deployment) -> None:
    assert custom.run("pull").tasks == ()
