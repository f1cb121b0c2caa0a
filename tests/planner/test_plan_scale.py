"""scale: the instances added or removed, their relationships, and the tasks that follow."""

from __future__ import annotations

from pathlib import Path

import pytest
from planblueprints import CONTAINMENT, LIFECYCLE_TYPE
from plansupport import (
    Deployment,
    ancestors,
    check_graph,
    deploy,
    first,
    instance_keys,
    last,
    touched,
    waits_for,
)

from cairn import errors
from cairn.model.runtime import InstanceState

WEB = (
    LIFECYCLE_TYPE
    + """
relationships:
  app.link:
    derived_from: cloudify.relationships.connected_to
    source_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        establish: scripts/source_establish.sh
        unlink: scripts/source_unlink.sh
    target_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        establish: scripts/target_establish.sh
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities: {scalable: {properties: {max_instances: 3}}}
  db: {type: app.Node}
  app:
    type: app.Node
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
      - {type: app.link, target: db}
  lb:
    type: app.Node
    relationships: [{type: app.link, target: app}]
"""
)

CELLS = (
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
    properties: {default_instances: 2}
    targets: [cell]
"""
)


@pytest.fixture
def web(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, WEB, state=InstanceState.STARTED)


def test_scale_out_a_node_installs_it_and_connects_existing_sources(web: Deployment) -> None:
    vm, db, lb, app = web.one("vm"), web.one("db"), web.one("lb"), web.one("app")
    plan = web.run("scale", scalable_entity_name="app", delta=1)
    check_graph(plan)
    assert plan.change is not None
    assert (plan.change.entity, plan.change.count) == ("app", 2)
    (new,) = plan.added_instances
    assert new.id == "app_new001"
    assert new.state is InstanceState.UNINITIALIZED
    assert (new.node_id, new.host_id, new.deployment_id) == ("app", vm, "dep")
    assert list(new.relationships) == [
        {"type": "cloudify.relationships.contained_in", "target_id": vm, "target_name": "vm"},
        {"type": "app.link", "target_id": db, "target_name": "db"},
    ]
    # the load balancer keeps its relationship and gains one, at the end
    assert [r["target_id"] for r in plan.change.relationships[lb]] == [app, new.id]
    assert touched(plan) == {new.id, lb}
    assert instance_keys(plan, new.id)[-1] == f"{new.id}/state/started"
    assert instance_keys(plan, lb) == [f"{lb}/rel1/establish/source", f"{lb}/rel1/establish/target"]
    assert plan.task(f"{lb}/rel1/establish/source").target_instance_id == new.id
    assert waits_for(plan, first(plan, lb), last(plan, new.id))
    # the existing targets are started: nothing to wait for
    assert not ancestors(plan, first(plan, new.id))
    assert plan.removed_instance_ids == ()


def test_scale_in_removes_the_newest_and_unlinks(web: Deployment) -> None:
    out = web.run("scale", scalable_entity_name="app", delta=1)
    grown = web.after(out)
    lb = grown.one("lb")
    plan = grown.run("scale", scalable_entity_name="app", delta=-1)
    check_graph(plan)
    assert plan.change is not None
    assert plan.removed_instance_ids == ("app_new001",)
    assert plan.added_instances == ()
    assert [r["target_id"] for r in plan.change.relationships[lb]] == [web.one("app")]
    assert instance_keys(plan, "app_new001")[0] == "app_new001/state/stopping"
    assert instance_keys(plan, lb) == [f"{lb}/rel1/unlink/source"]
    assert waits_for(plan, first(plan, "app_new001"), f"{lb}/rel1/unlink/source")
    assert plan.ignore_failure_keys == {f"{lb}/rel1/unlink/source"}


def test_scale_in_honours_include_and_exclude(web: Deployment) -> None:
    grown = web.after(web.run("scale", scalable_entity_name="app", delta=2))
    first_app = web.one("app")
    included = grown.run(
        "scale", scalable_entity_name="app", delta=-1, include_instances=[first_app]
    )
    assert included.removed_instance_ids == (first_app,)
    excluded = grown.run(
        "scale", scalable_entity_name="app", delta=-2, exclude_instances="app_new002"
    )
    assert set(excluded.removed_instance_ids) == {first_app, "app_new001"}


def test_scale_compute_scales_the_host_with_what_it_holds(web: Deployment) -> None:
    plan = web.run("scale", scalable_entity_name="app", delta=1, scale_compute=True)
    check_graph(plan)
    assert plan.change is not None
    assert plan.change.entity == "vm"
    assert {i.id for i in plan.added_instances} == {"vm_new001", "app_new001"}
    new_app = next(i for i in plan.added_instances if i.node_id == "app")
    assert new_app.host_id == "vm_new001"
    assert new_app.relationships[0]["target_id"] == "vm_new001"
    assert waits_for(plan, first(plan, "app_new001"), last(plan, "vm_new001"))


def test_a_contained_node_scales_in_every_container(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CONTAINMENT, state=InstanceState.STARTED)
    plan = dep.run("scale", scalable_entity_name="app1", delta=1)
    check_graph(plan)
    assert plan.change is not None
    assert plan.change.count == 2
    new_app1 = [i for i in plan.added_instances if i.node_id == "app1"]
    new_app3 = [i for i in plan.added_instances if i.node_id == "app3"]
    assert {i.host_id for i in new_app1} == set(dep.ids("vm"))
    # app3 is contained in app1: each new app1 brings its own app3
    assert sorted(str(i.relationships[0]["target_id"]) for i in new_app3) == sorted(
        i.id for i in new_app1
    )


def test_scale_out_a_group(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CELLS, state=InstanceState.STARTED)
    plan = dep.run("scale", scalable_entity_name="cell", delta=1)
    check_graph(plan)
    assert plan.change is not None
    assert (plan.change.entity, plan.change.count) == ("cell", 3)
    by_node = {i.node_id: i for i in plan.added_instances}
    assert set(by_node) == {"server", "cache"}
    cell = {"name": "cell", "id": "cell_new001"}
    assert list(by_node["server"].scaling_groups) == [cell]
    assert list(by_node["cache"].scaling_groups) == [cell]
    # the new server connects to the new cache only, and nothing old connects to them
    assert [r["target_id"] for r in by_node["server"].relationships] == [by_node["cache"].id]
    assert plan.change.relationships == {}
    assert waits_for(plan, first(plan, by_node["server"].id), last(plan, by_node["cache"].id))


def test_scale_in_a_group_removes_whole_group_instances(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CELLS, state=InstanceState.STARTED)
    server = dep.ids("server")[0]
    cell = dep.instance(server).scaling_groups[0]["id"]
    members = {i.id for i in dep.instances if i.scaling_groups[0]["id"] == cell}
    plan = dep.run("scale", scalable_entity_name="cell", delta=-1, include_instances=[server])
    check_graph(plan)
    assert set(plan.removed_instance_ids) == members
    (member_server,) = [m for m in members if m.startswith("server")]
    (member_cache,) = [m for m in members if m.startswith("cache")]
    assert waits_for(plan, first(plan, member_cache), last(plan, member_server))


def test_scale_to_zero_and_back(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CELLS, state=InstanceState.STARTED)
    empty = dep.after(dep.run("scale", scalable_entity_name="cell", delta=-2))
    assert empty.instances == []
    plan = empty.run("scale", scalable_entity_name="cell", delta=1)
    assert plan.change is not None
    assert plan.change.count == 1
    assert {i.node_id for i in plan.added_instances} == {"server", "cache"}


def test_delta_zero_does_nothing(web: Deployment) -> None:
    plan = web.run("scale", scalable_entity_name="app", delta=0)
    assert plan.tasks == ()
    assert plan.change is None


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"scalable_entity_name": "nope"}, "no node or scaling group named 'nope'"),
        ({"scalable_entity_name": "app", "delta": -2}, "cannot scale 'app' by -2"),
        ({"scalable_entity_name": "vm", "delta": 3}, "it allows 0..3"),
        ({"scalable_entity_name": "app", "delta": "many"}, "'many' is not an integer"),
        (
            {"scalable_entity_name": "app", "delta": 1, "include_instances": ["x"]},
            "cannot be included or excluded when scaling out",
        ),
        (
            {"scalable_entity_name": "app", "delta": -1, "include_instances": ["x"]},
            "included instances do not exist: x",
        ),
        (
            {
                "scalable_entity_name": "app",
                "delta": -1,
                "scale_compute": True,
                "exclude_instances": ["APP"],
            },
            "with scale_compute",
        ),
    ],
)
def test_impossible_scale_requests(
    web: Deployment, parameters: dict[str, object], message: str
) -> None:
    resolved = {k: (web.one("app") if v == ["APP"] else v) for k, v in parameters.items()}
    with pytest.raises(errors.InputError, match=message):
        web.run("scale", **resolved)


def test_too_many_exclusions(web: Deployment) -> None:
    grown = web.after(web.run("scale", scalable_entity_name="app", delta=1))
    with pytest.raises(errors.InputError, match="are excluded, but only 0 would remain"):
        grown.run(
            "scale",
            scalable_entity_name="app",
            delta=-2,
            exclude_instances=[web.one("app")],
        )


def test_each_new_target_gets_its_own_relationship_on_the_source(web: Deployment) -> None:
    lb = web.one("lb")
    plan = web.run("scale", scalable_entity_name="app", delta=2)
    check_graph(plan)
    assert [i.id for i in plan.added_instances] == ["app_new001", "app_new002"]
    assert plan.task(f"{lb}/rel1/establish/source").target_instance_id == "app_new001"
    assert plan.task(f"{lb}/rel2/establish/source").target_instance_id == "app_new002"
    assert waits_for(plan, f"{lb}/rel2/establish/source", last(plan, "app_new002"))


def test_scale_a_group_member_node_in_each_group_instance(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CELLS, state=InstanceState.STARTED)
    plan = dep.run("scale", scalable_entity_name="server", delta=1)
    check_graph(plan)
    assert plan.change is not None
    assert (plan.change.entity, plan.change.count) == ("server", 2)
    cells = {str(dep.instance(c).scaling_groups[0]["id"]): c for c in dep.ids("cache")}
    assert len(plan.added_instances) == 2
    for new in plan.added_instances:
        (group,) = new.scaling_groups
        # each new server joins one existing cell and connects to that cell's cache only
        assert [r["target_id"] for r in new.relationships] == [cells[str(group["id"])]]
    assert {str(n.scaling_groups[0]["id"]) for n in plan.added_instances} == set(cells)
