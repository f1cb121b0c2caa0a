"""check_drift: the instance's check, then both ends of each of its relationships."""

from __future__ import annotations

from pathlib import Path

import pytest
from plansupport import Deployment, check_graph, deploy, keys, waits_for

from cairn.model import executions
from cairn.model.runtime import InstanceState

DRIFTING = """
node_types:
  app.Checked:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        check_drift: scripts/drift.sh
  app.Plain:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
relationships:
  app.checked_link:
    derived_from: cloudify.relationships.connected_to
    source_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        check_drift: scripts/link_source.sh
    target_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        check_drift: scripts/link_target.sh
node_templates:
  db: {type: app.Checked}
  web:
    type: app.Checked
    relationships: [{type: app.checked_link, target: db}]
  cache:
    type: app.Plain
    relationships: [{type: cloudify.relationships.depends_on, target: web}]
  worker:
    type: app.Checked
    relationships: [{type: cloudify.relationships.depends_on, target: cache}]
"""

SOURCE = executions.Side.SOURCE
TARGET = executions.Side.TARGET


@pytest.fixture
def dep(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, DRIFTING, state=InstanceState.STARTED)


def test_check_drift_runs_the_instance_check_then_both_relationship_ends(dep: Deployment) -> None:
    plan = dep.run("check_drift")
    check_graph(plan)
    db, web, worker = dep.one("db"), dep.one("web"), dep.one("worker")
    assert sorted(keys(plan)) == sorted(
        [
            f"{db}/check_drift",
            f"{web}/check_drift",
            f"{web}/rel0/check_drift/source",
            f"{web}/rel0/check_drift/target",
            f"{worker}/check_drift",
        ]
    )
    source, target = (
        plan.task(f"{web}/rel0/check_drift/source"),
        plan.task(f"{web}/rel0/check_drift/target"),
    )
    assert (source.side, target.side) == (SOURCE, TARGET)
    assert source.operation == "cloudify.interfaces.relationship_lifecycle.check_drift"
    assert source.node_instance_id == web and source.target_instance_id == db
    # both ends wait for the source instance's own check, and run side by side
    for end in (source, target):
        assert waits_for(plan, end.key, f"{web}/check_drift")
    assert not waits_for(plan, target.key, source.key)
    # by default nothing orders the instances (run_by_dependency_order: false)
    assert not waits_for(plan, f"{web}/check_drift", f"{db}/check_drift")
    assert plan.ignore_failure_keys == frozenset()
    assert plan.status_check_keys == frozenset()


def test_check_drift_by_dependency_order_passes_through_unchecked_instances(
    dep: Deployment,
) -> None:
    plan = dep.run("check_drift", run_by_dependency_order=True)
    check_graph(plan)
    db, web, worker = dep.one("db"), dep.one("web"), dep.one("worker")
    assert waits_for(plan, f"{web}/check_drift", f"{db}/check_drift")
    # worker -> cache (no check_drift) -> web: worker still waits for web's checks
    assert waits_for(plan, f"{worker}/check_drift", f"{web}/rel0/check_drift/target")


def test_check_drift_filters_and_ignore_failure(dep: Deployment) -> None:
    web = dep.one("web")
    plan = dep.run("check_drift", node_ids=["web"])
    assert {spec.node_instance_id for spec in plan.tasks} == {web}
    assert len(plan.tasks) == 3
    assert dep.run("check_drift", node_ids=["cache"]).tasks == ()
