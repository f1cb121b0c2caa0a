"""heal: which instances are healed or reinstalled, and how."""

from __future__ import annotations

from pathlib import Path

import pytest
from planblueprints import LIFECYCLE_TYPE
from plansupport import (
    Deployment,
    check_graph,
    deploy,
    first,
    instance_keys,
    keys,
    last,
    touched,
    waits_for,
)

from cairn import errors
from cairn.model.runtime import InstanceState

HEALABLE = (
    LIFECYCLE_TYPE
    + """
  app.Healable:
    derived_from: app.Node
    interfaces:
      cloudify.interfaces.lifecycle:
        preheal: scripts/preheal.sh
        heal: scripts/heal.sh
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities: {scalable: {properties: {default_instances: 2}}}
  app:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: vm}]
  plugin:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: app}]
  healer:
    type: app.Healable
    relationships: [{type: cloudify.relationships.contained_in, target: vm}]
  outside: {type: app.Node}
"""
)


@pytest.fixture
def dep(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, HEALABLE, state=InstanceState.STARTED)


def on_host(dep: Deployment, host: str) -> set[str]:
    return {i.id for i in dep.instances if i.host_id == host}


def test_heal_reinstalls_everything_on_the_failing_instances_host(dep: Deployment) -> None:
    plugin = dep.ids("plugin")[0]
    host = dep.instance(plugin).host_id
    assert host is not None
    plan = dep.run("heal", node_instance_id=plugin)
    check_graph(plan)
    affected = on_host(dep, host)
    assert len(affected) == 4  # the vm, app, plugin and healer on it
    assert touched(plan) == affected
    for instance_id in affected:
        assert instance_keys(plan, instance_id, "uninstall")
        assert instance_keys(plan, instance_id, "install")[-1].endswith("/state/started")
    # uninstall in reverse order, then install in order
    app = dep.instance(plugin).relationships[0]["target_id"]
    assert waits_for(plan, first(plan, app, "uninstall"), last(plan, plugin, "uninstall"))
    assert waits_for(plan, first(plan, plugin, "install"), last(plan, app, "install"))
    assert waits_for(plan, first(plan, host, "install"), "uninstall/done")
    assert plan.ignore_failure_keys == frozenset(keys(plan, "uninstall/")) - {"uninstall/done"}


def test_heal_uses_the_heal_operation_where_the_node_has_one(dep: Deployment) -> None:
    healer = dep.ids("healer")[0]
    host = dep.instance(healer).host_id
    assert host is not None
    healthy = dep
    for other in on_host(dep, host) - {healer}:
        healthy = healthy.with_status(other, ok=True)
    plan = healthy.run("heal", node_instance_id=healer)
    check_graph(plan)
    assert touched(plan) == {healer}
    assert keys(plan) == [f"{healer}/preheal", f"{healer}/heal"]


def test_a_failing_instance_without_heal_is_reinstalled_with_what_it_holds(
    dep: Deployment,
) -> None:
    app = dep.ids("app")[0]
    host = dep.instance(app).host_id
    assert host is not None
    healthy = dep
    for other in on_host(dep, host) - {app}:
        healthy = healthy.with_status(other, ok=True)
    plan = healthy.run("heal", node_instance_id=app)
    plugin = next(p for p in dep.ids("plugin") if dep.instance(p).host_id == host)
    assert touched(plan) == {app, plugin}


def test_force_reinstall_ignores_heal_operations(dep: Deployment) -> None:
    healer = dep.ids("healer")[0]
    healthy = dep.with_status(str(dep.instance(healer).host_id), ok=True)
    plan = healthy.run("heal", node_instance_id=healer, force_reinstall=True)
    assert f"{healer}/heal" not in keys(plan)
    assert instance_keys(plan, healer, "install")


def test_heal_that_must_reinstall_is_refused_when_reinstall_is_not_allowed(
    dep: Deployment,
) -> None:
    with pytest.raises(errors.ConflictError, match="allow_reinstall is false"):
        dep.run("heal", node_instance_id=dep.ids("app")[0], allow_reinstall=False)


def test_deployment_wide_heal_acts_on_failed_checks_only(dep: Deployment) -> None:
    assert dep.run("heal").tasks == ()
    outside = dep.one("outside")
    plan = dep.with_status(outside, ok=False).run("heal")
    check_graph(plan)
    assert touched(plan) == {outside}
    assert "reinstall 1" in plan.description


def test_heal_of_an_unknown_instance_is_an_input_error(dep: Deployment) -> None:
    with pytest.raises(errors.InputError, match="no node instance 'nope'"):
        dep.run("heal", node_instance_id="nope")
