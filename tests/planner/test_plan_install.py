"""install: the steps of each instance, and the order relationships put between instances."""

from __future__ import annotations

from pathlib import Path

import pytest
from planblueprints import (
    CHAIN,
    CONTAINMENT,
    LIFECYCLE_DEPENDENCY,
    LIFECYCLE_HOOKS,
    LIFECYCLE_TYPE,
    RELATIONSHIP_OPS,
)
from plansupport import (
    Deployment,
    ancestors,
    chain_order,
    check_graph,
    deploy,
    first,
    instance_keys,
    keys,
    last,
    operations_of,
    states_of,
    touched,
    waits_for,
)

from cairn.model import executions
from cairn.model.runtime import InstanceState

INSTALL_STEPS = [
    "state/creating",
    "create",
    "state/created",
    "state/configuring",
    "configure",
    "state/configured",
    "state/starting",
    "start",
    "state/started",
]


@pytest.fixture
def chain(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, CHAIN)


def test_one_instance_runs_cloudify_steps_in_sequence(chain: Deployment) -> None:
    plan = chain.run("install")
    check_graph(plan)
    a = chain.one("a")
    assert instance_keys(plan, a) == [f"{a}/{step}" for step in INSTALL_STEPS]
    assert chain_order(plan, instance_keys(plan, a))
    create = plan.task(f"{a}/create")
    assert create.kind is executions.TaskKind.OPERATION
    assert create.operation == "cloudify.interfaces.lifecycle.create"
    assert create.node_instance_id == a
    assert plan.task(f"{a}/state/created").state is InstanceState.CREATED


def test_chain_installs_targets_first(chain: Deployment) -> None:
    plan = chain.run("install")
    a, b, c = chain.one("a"), chain.one("b"), chain.one("c")
    assert waits_for(plan, first(plan, b), last(plan, a))
    assert waits_for(plan, first(plan, c), last(plan, b))
    assert not ancestors(plan, first(plan, a))
    assert not waits_for(plan, last(plan, a), first(plan, b))


def test_diamond_joins_and_forks(tmp_path: Path) -> None:
    body = (
        LIFECYCLE_TYPE
        + """
node_templates:
  bottom: {type: app.Node}
  left:
    type: app.Node
    capabilities: {scalable: {properties: {default_instances: 2}}}
    relationships: [{type: cloudify.relationships.depends_on, target: bottom}]
  right:
    type: app.Node
    relationships: [{type: cloudify.relationships.connected_to, target: bottom}]
  top:
    type: app.Node
    relationships:
      - {type: cloudify.relationships.depends_on, target: left}
      - {type: cloudify.relationships.depends_on, target: right}
"""
    )
    dep = deploy(tmp_path, body)
    plan = dep.run("install")
    check_graph(plan)
    bottom, right, top = dep.one("bottom"), dep.one("right"), dep.one("top")
    lefts = dep.ids("left")
    assert len(lefts) == 2
    for middle in [*lefts, right]:
        assert waits_for(plan, first(plan, middle), last(plan, bottom))
        assert waits_for(plan, first(plan, top), last(plan, middle))
    for one in [*lefts, right]:
        for other in [*lefts, right]:
            if one != other:
                assert not waits_for(plan, last(plan, one), first(plan, other))


def test_contained_instances_wait_for_their_own_container_only(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CONTAINMENT)
    plan = dep.run("install")
    check_graph(plan)
    vms = dep.ids("vm")
    assert len(vms) == 2
    for app_id in [*dep.ids("app1"), *dep.ids("app2")]:
        host = dep.instance(app_id).host_id
        assert host in vms
        assert waits_for(plan, first(plan, app_id), last(plan, host))
        (other,) = [v for v in vms if v != host]
        assert not waits_for(plan, first(plan, app_id), last(plan, other))
    for app3 in dep.ids("app3"):
        (container,) = [r["target_id"] for r in dep.instance(app3).relationships]
        assert waits_for(plan, first(plan, app3), last(plan, container))


def test_compute_without_agent_steps(tmp_path: Path) -> None:
    """A Compute node's agent operations are not planned: the site's agent runs everything."""
    dep = deploy(tmp_path, CONTAINMENT)
    plan = dep.run("install")
    for vm in dep.ids("vm"):
        assert operations_of(plan, vm) == []
        assert states_of(plan, vm) == [s.split("/")[1] for s in INSTALL_STEPS if "state/" in s]


def test_connected_to_across_hosts(tmp_path: Path) -> None:
    body = (
        LIFECYCLE_TYPE
        + """
node_templates:
  vm1: {type: cloudify.nodes.Compute, properties: {agent_config: {install_method: none}}}
  vm2: {type: cloudify.nodes.Compute, properties: {agent_config: {install_method: none}}}
  db:
    type: app.Node
    relationships: [{type: cloudify.relationships.contained_in, target: vm1}]
  web:
    type: app.Node
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm2}
      - {type: cloudify.relationships.connected_to, target: db}
"""
    )
    dep = deploy(tmp_path, body)
    plan = dep.run("install")
    check_graph(plan)
    vm1, vm2, db, web = (dep.one(n) for n in ("vm1", "vm2", "db", "web"))
    assert waits_for(plan, first(plan, web), last(plan, db))
    assert waits_for(plan, first(plan, web), last(plan, vm2))
    assert waits_for(plan, first(plan, db), last(plan, vm1))
    assert not waits_for(plan, last(plan, db), first(plan, vm2))
    assert not waits_for(plan, last(plan, vm2), first(plan, vm1))


def test_scaling_group_instances_connect_within_their_group(tmp_path: Path) -> None:
    body = (
        LIFECYCLE_TYPE
        + """
node_templates:
  cache: {type: app.Node}
  server:
    type: app.Node
    relationships: [{type: cloudify.relationships.connected_to, target: cache}]
groups:
  cell: {members: [server, cache]}
policies:
  cell_policy:
    type: cloudify.policies.scaling
    properties: {default_instances: 3}
    targets: [cell]
"""
    )
    dep = deploy(tmp_path, body)
    plan = dep.run("install")
    check_graph(plan)
    servers, caches = dep.ids("server"), dep.ids("cache")
    assert len(servers) == len(caches) == 3

    def cell_of(instance_id: str) -> str:
        return str(dep.instance(instance_id).scaling_groups[0]["id"])

    for server in servers:
        for cache in caches:
            same = cell_of(server) == cell_of(cache)
            assert waits_for(plan, first(plan, server), last(plan, cache)) is same


def test_relationship_operations_run_on_both_sides(tmp_path: Path) -> None:
    dep = deploy(tmp_path, RELATIONSHIP_OPS)
    plan = dep.run("install")
    check_graph(plan)
    web, db, cache = dep.one("web"), dep.one("db"), dep.one("cache")
    source = plan.task(f"{web}/rel0/preconfigure/source")
    target = plan.task(f"{web}/rel0/preconfigure/target")
    assert (source.side, target.side) == (executions.Side.SOURCE, executions.Side.TARGET)
    for spec in (source, target):
        assert spec.node_instance_id == web
        assert spec.target_instance_id == db
        assert spec.relationship_index == 0
        assert spec.operation == "cloudify.interfaces.relationship_lifecycle.preconfigure"
        # both sides of one relationship run side by side, after the instance is created
        assert spec.depends_on == (f"{web}/state/created",)
    assert plan.task(f"{web}/rel1/preconfigure/source").target_instance_id == cache
    assert set(plan.task(f"{web}/rel1/preconfigure/source").depends_on) == {
        source.key,
        target.key,
    }
    assert set(plan.task(f"{web}/state/configuring").depends_on) == {
        f"{web}/rel1/preconfigure/source",
        f"{web}/rel1/preconfigure/target",
    }
    # postconfigure is only defined on the source side
    assert f"{web}/rel0/postconfigure/target" not in keys(plan)
    assert chain_order(
        plan,
        [
            f"{web}/state/configured",
            f"{web}/rel0/postconfigure/source",
            f"{web}/rel1/postconfigure/source",
            f"{web}/state/starting",
            f"{web}/start",
            f"{web}/rel0/establish/target",
            f"{web}/rel1/establish/source",
            f"{web}/state/started",
        ],
    )


def test_installing_a_target_alone_establishes_the_intact_source(tmp_path: Path) -> None:
    dep = deploy(tmp_path, RELATIONSHIP_OPS)
    db, web = dep.one("db"), dep.one("web")
    plan = dep.run("install", node_ids=["db"])
    check_graph(plan)
    assert touched(plan) == {db, web}
    assert [k for k in keys(plan) if k.startswith(web)] == [
        f"{web}/rel0/establish/source",
        f"{web}/rel0/establish/target",
    ]
    assert waits_for(plan, f"{web}/rel0/establish/source", last(plan, db))


def test_hooks_run_where_cloudify_runs_them(tmp_path: Path) -> None:
    dep = deploy(tmp_path, LIFECYCLE_HOOKS)
    full = dep.one("full")
    plan = dep.run("install")
    assert operations_of(plan, full) == [
        "cloudify.interfaces.validation.create",
        "cloudify.interfaces.lifecycle.precreate",
        "cloudify.interfaces.lifecycle.create",
        "cloudify.interfaces.lifecycle.start",
        "cloudify.interfaces.lifecycle.poststart",
        "cloudify.interfaces.monitoring.start",
    ]
    assert chain_order(plan, instance_keys(plan, full))
    assert plan.task(f"{full}/validation.create").key == f"{full}/validation.create"
    assert waits_for(plan, f"{full}/state/creating", f"{full}/precreate")


def test_no_op_operations_get_no_task_but_states_are_recorded(tmp_path: Path) -> None:
    body = """
node_types:
  app.Creates:
    derived_from: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
node_templates:
  only: {type: app.Creates}
"""
    dep = deploy(tmp_path, body)
    plan = dep.run("install")
    only = dep.one("only")
    assert operations_of(plan, only) == ["cloudify.interfaces.lifecycle.create"]
    assert states_of(plan, only) == [
        "creating",
        "created",
        "configuring",
        "configured",
        "starting",
        "started",
    ]


# --- steps already done -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (InstanceState.STARTED, []),
        (InstanceState.STARTING, ["state/starting", "start", "state/started"]),
        (InstanceState.CONFIGURED, ["state/starting", "start", "state/started"]),
        (InstanceState.CONFIGURING, INSTALL_STEPS[3:]),
        (InstanceState.CREATED, INSTALL_STEPS[3:]),
        (InstanceState.CREATING, INSTALL_STEPS),
        (InstanceState.UNINITIALIZED, INSTALL_STEPS),
        (InstanceState.STOPPED, INSTALL_STEPS),
        (InstanceState.DELETED, INSTALL_STEPS),
    ],
)
def test_steps_already_done_are_skipped(
    chain: Deployment, state: InstanceState, expected: list[str]
) -> None:
    a = chain.one("a")
    plan = chain.with_states({"a": state}).run("install")
    check_graph(plan)
    assert instance_keys(plan, a) == [f"{a}/{step}" for step in expected]


def test_started_targets_do_not_hold_back_their_sources(chain: Deployment) -> None:
    dep = chain.with_states({"a": InstanceState.STARTED, "b": InstanceState.CONFIGURED})
    plan = dep.run("install")
    check_graph(plan)
    a, b, c = dep.one("a"), dep.one("b"), dep.one("c")
    assert a not in touched(plan)
    assert not ancestors(plan, first(plan, b))
    assert first(plan, b) == f"{b}/state/starting"
    assert waits_for(plan, first(plan, c), last(plan, b))


def test_everything_started_means_nothing_to_do(chain: Deployment) -> None:
    plan = chain.with_states({n: InstanceState.STARTED for n in "abc"}).run("install")
    assert plan.tasks == ()


# --- depends_on_lifecycle_operation ---------------------------------------------------------------


def test_depends_on_lifecycle_operation_waits_for_that_operation_only(tmp_path: Path) -> None:
    dep = deploy(tmp_path, LIFECYCLE_DEPENDENCY)
    plan = dep.run("install")
    check_graph(plan)
    target, on_create = dep.one("target"), dep.one("waits_for_create")
    on_configure = dep.one("waits_for_configure")
    assert waits_for(plan, first(plan, on_create), f"{target}/create")
    # Cloudify waits for what follows the operation: here the state change it records
    assert waits_for(plan, first(plan, on_create), f"{target}/state/created")
    assert not waits_for(plan, first(plan, on_create), f"{target}/configure")
    assert not waits_for(plan, first(plan, on_create), last(plan, target))
    assert waits_for(plan, first(plan, on_configure), f"{target}/configure")
    assert not waits_for(plan, first(plan, on_configure), f"{target}/start")


def test_depends_on_lifecycle_operation_done_earlier_means_no_wait(tmp_path: Path) -> None:
    dep = deploy(tmp_path, LIFECYCLE_DEPENDENCY).with_states({"target": InstanceState.CONFIGURED})
    plan = dep.run("install")
    check_graph(plan)
    target = dep.one("target")
    assert not ancestors(plan, first(plan, dep.one("waits_for_configure")))
    assert instance_keys(plan, target)[0] == f"{target}/state/starting"


def test_keys_are_deterministic(tmp_path: Path) -> None:
    one = deploy(tmp_path, RELATIONSHIP_OPS).run("install")
    two = deploy(tmp_path, RELATIONSHIP_OPS).run("install")
    assert one.tasks == two.tasks
    assert all("/" in key for key in keys(one))
