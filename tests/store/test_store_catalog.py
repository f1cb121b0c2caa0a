"""Blueprints, deployments and node instances."""

from __future__ import annotations

import dataclasses

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import interface, rows


def test_blueprint_round_trip_and_listing(store: interface.Store) -> None:
    store.put_blueprint(s.blueprint("b2"))
    store.put_blueprint(s.blueprint("b1"))
    got = store.get_blueprint("b2")
    assert got == s.blueprint("b2")
    assert got.created_at.tzinfo is not None
    assert [b.id for b in store.list_blueprints()] == ["b1", "b2"]


def test_blueprint_id_taken(store: interface.Store) -> None:
    store.put_blueprint(s.blueprint("bp"))
    with pytest.raises(errors.ConflictError, match="blueprint 'bp' already exists"):
        store.put_blueprint(dataclasses.replace(s.blueprint("bp"), main_file="other.yaml"))
    assert store.get_blueprint("bp").main_file == "blueprint.yaml"


def test_missing_blueprint(store: interface.Store) -> None:
    with pytest.raises(errors.NotFoundError, match="blueprint 'nope' not found"):
        store.get_blueprint("nope")
    with pytest.raises(errors.NotFoundError, match="blueprint 'nope' not found"):
        store.delete_blueprint("nope")


def test_delete_blueprint_refused_while_deployments_use_it(store: interface.Store) -> None:
    s.setup_deployment(store, "web")
    with pytest.raises(errors.ConflictError, match="blueprint 'bp' is used by deployments: web"):
        store.delete_blueprint("bp")
    store.delete_deployment("web")
    store.delete_blueprint("bp")
    assert store.list_blueprints() == []


def test_deployment_round_trip(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_b", "vm_a"))
    got = store.get_deployment("web")
    assert got == s.deployment("web")
    assert got.labels == {"env": ("prod", "eu")}
    instances = store.list_instances("web")
    assert [i.id for i in instances] == ["vm_a", "vm_b"]
    assert instances[0] == s.instance("vm_a", "web")
    assert store.get_instance("vm_b") == s.instance("vm_b", "web")


def test_get_instances_reads_those_that_exist(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_b", "vm_a"))
    found = store.get_instances(["vm_a", "vm_b", "vm_a", "gone"])
    assert found == {"vm_a": s.instance("vm_a", "web"), "vm_b": s.instance("vm_b", "web")}
    assert store.get_instances([]) == {}


def test_create_deployment_conflicts_change_nothing(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_1",))
    with pytest.raises(errors.ConflictError, match="deployment 'web' already exists"):
        store.create_deployment(s.deployment("web"), [])
    with pytest.raises(errors.ConflictError, match="node instance id is already taken"):
        store.create_deployment(
            s.deployment("db"), [s.instance("db_1", "db"), s.instance("vm_1", "db")]
        )
    with pytest.raises(errors.NotFoundError, match="deployment 'db' not found"):
        store.get_deployment("db")
    with pytest.raises(errors.NotFoundError, match="node instance 'db_1' not found"):
        store.get_instance("db_1")


def test_create_deployment_checks_blueprint_and_owners(store: interface.Store) -> None:
    with pytest.raises(errors.NotFoundError, match="blueprint 'bp' not found"):
        store.create_deployment(s.deployment("web"), [])
    store.put_blueprint(s.blueprint("bp"))
    with pytest.raises(errors.UsageError, match="do not belong to deployment 'web'"):
        store.create_deployment(s.deployment("web"), [s.instance("x_1", "other")])
    assert store.list_deployments() == []


def test_list_deployments_by_blueprint(store: interface.Store) -> None:
    s.setup_deployment(store, "b", instance_ids=())
    s.setup_deployment(store, "a", instance_ids=())
    store.put_blueprint(s.blueprint("other"))
    assert [d.id for d in store.list_deployments()] == ["a", "b"]
    assert [d.id for d in store.list_deployments(blueprint_id="bp")] == ["a", "b"]
    assert store.list_deployments(blueprint_id="other") == []
    with pytest.raises(errors.NotFoundError, match="blueprint 'nope' not found"):
        store.list_deployments(blueprint_id="nope")


def test_list_instances_of_missing_or_empty_deployment(store: interface.Store) -> None:
    s.setup_deployment(store, "empty", instance_ids=())
    assert store.list_instances("empty") == []
    with pytest.raises(errors.NotFoundError, match="deployment 'nope' not found"):
        store.list_instances("nope")


def test_delete_deployment_removes_everything_it_owns(store: interface.Store) -> None:
    s.setup_deployment(store, "web")
    s.setup_deployment(store, "db", instance_ids=("db_1",))
    ids = s.started_execution(store, "e1", [s.spec("a"), s.spec("b", "a")], deployment_id="web")
    store.add_events([_event("e1", "web"), _event("e1", "web")])
    assert store.set_execution_status(
        "e1",
        expected={executions.ExecutionStatus.STARTED},
        status=executions.ExecutionStatus.SUCCEEDED,
        now=s.T0,
    )
    store.delete_deployment("web")
    with pytest.raises(errors.NotFoundError, match="deployment 'web' not found"):
        store.get_deployment("web")
    with pytest.raises(errors.NotFoundError):
        store.get_instance("vm_1")
    with pytest.raises(errors.NotFoundError, match="execution 'e1' not found"):
        store.get_execution("e1")
    with pytest.raises(errors.NotFoundError, match=f"task {ids['a']} not found"):
        store.get_task(ids["a"])
    assert store.list_events() == []
    assert [i.id for i in store.list_instances("db")] == ["db_1"]
    with pytest.raises(errors.NotFoundError, match="deployment 'web' not found"):
        store.delete_deployment("web")


@pytest.mark.parametrize("queued", [False, True])
def test_delete_deployment_refused_while_busy(store: interface.Store, queued: bool) -> None:
    s.setup_deployment(store, "web")
    store.create_execution(s.execution("e1", "web"), [], queue=False)
    busy = "e1"
    if queued:
        store.create_execution(s.execution("e2", "web"), [], queue=True)
        assert store.set_execution_status(
            "e1",
            expected={executions.ExecutionStatus.PENDING},
            status=executions.ExecutionStatus.CANCELLED,
            now=s.T0,
        )
        busy = "e2"  # promoted to PENDING; queue one more behind it
        store.create_execution(s.execution("e3", "web"), [], queue=True)
    with pytest.raises(errors.ConflictError, match=f"active or queued executions: '{busy}'"):
        store.delete_deployment("web")
    assert store.get_deployment("web").id == "web"


def test_add_and_remove_instances(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_1",))
    store.add_instances([s.instance("vm_2", "web"), s.instance("vm_3", "web")])
    assert [i.id for i in store.list_instances("web")] == ["vm_1", "vm_2", "vm_3"]
    with pytest.raises(errors.ConflictError, match="vm_1"):
        store.add_instances([s.instance("vm_4", "web"), s.instance("vm_1", "web")])
    with pytest.raises(errors.NotFoundError, match="deployment 'nope' not found"):
        store.add_instances([s.instance("vm_5", "nope")])
    with pytest.raises(errors.NotFoundError, match="node instances not found: vm_9"):
        store.remove_instances(["vm_1", "vm_9"])
    assert [i.id for i in store.list_instances("web")] == ["vm_1", "vm_2", "vm_3"]
    store.remove_instances(["vm_1", "vm_3"])
    assert [i.id for i in store.list_instances("web")] == ["vm_2"]


def test_update_instance_bumps_version(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_1",))
    updated = store.update_instance(
        "vm_1",
        expected_version=1,
        state=runtime.InstanceState.CREATED,
        runtime_properties={"ip": "10.0.0.1"},
    )
    assert (updated.version, updated.state) == (2, runtime.InstanceState.CREATED)
    assert updated.runtime_properties == {"ip": "10.0.0.1"}
    assert store.get_instance("vm_1") == updated
    again = store.update_instance("vm_1", runtime_properties={"port": 1})
    assert again.version == 3
    assert again.runtime_properties == {"port": 1}  # replaced, not merged
    assert again.state is runtime.InstanceState.CREATED


def test_update_instance_version_conflict(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_1",))
    store.update_instance("vm_1", state=runtime.InstanceState.CREATING)
    with pytest.raises(errors.ConflictError, match="version 2, expected 1"):
        store.update_instance("vm_1", expected_version=1, state=runtime.InstanceState.DELETED)
    current = store.get_instance("vm_1")
    assert (current.version, current.state) == (2, runtime.InstanceState.CREATING)
    with pytest.raises(errors.NotFoundError, match="node instance 'nope' not found"):
        store.update_instance("nope", expected_version=1)


def test_update_instance_merges_system_properties(store: interface.Store) -> None:
    s.setup_deployment(store, "web", instance_ids=("vm_1",))
    store.update_instance("vm_1", system_properties={"status": {"ok": True}, "drift": None})
    merged = store.update_instance("vm_1", system_properties={"drift": {"size": 3}})
    assert merged.system_properties == {"status": {"ok": True}, "drift": {"size": 3}}
    assert merged.version == 3
    with pytest.raises(errors.NotFoundError, match="node instance 'nope' not found"):
        store.update_instance("nope", system_properties={"x": 1})


def _event(execution_id: str, deployment_id: str) -> runtime.Event:
    return runtime.Event(
        execution_id=execution_id,
        deployment_id=deployment_id,
        timestamp=s.T0,
        type="log",
        message="hello",
    )


def test_a_deployments_plan_is_parsed_when_first_looked_into(store: interface.Store) -> None:
    """Listings carry each plan as its text; it reads as the plan stored, compares equal to
    it, copies, and is parsed only once something looks into it."""
    plan = {"nodes": [{"id": "vm", "properties": {"n": 1, "tags": ["a", "é"]}}], "inputs": {}}
    s.setup_deployment(store)
    store.create_deployment(dataclasses.replace(s.deployment("big"), plan=plan), [])
    listed = {d.id: d for d in store.list_deployments()}
    lazy = listed["big"].plan
    assert isinstance(lazy, rows.LazyJSON) and lazy._value is None  # not parsed by listing
    assert lazy == plan and plan == lazy
    assert lazy["nodes"][0]["properties"]["tags"] == ["a", "é"]
    assert dict(lazy) == plan and len(lazy) == 2 and lazy.get("missing") is None
    assert store.get_deployment("big") == dataclasses.replace(s.deployment("big"), plan=plan)
    assert dataclasses.asdict(store.get_deployment("big"))["plan"] == plan
