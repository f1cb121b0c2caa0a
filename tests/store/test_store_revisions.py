"""Deployment revisions: stored with the deployment, added by updates, applied in one step."""

from __future__ import annotations

import dataclasses

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime
from cairn.store import interface


def revision(
    number: int, *, status: str = "pending", execution_id: str | None = None
) -> runtime.Revision:
    return runtime.Revision(
        deployment_id="dep",
        revision=number,
        blueprint_id="bp2",
        inputs={"port": 9090},
        plan={"nodes": ["vm", "db"]},
        created_at=s.at(number),
        created_by="alice",
        status=status,
        execution_id=execution_id,
        summary={"changes": [{"what": "node", "name": "db", "change": "added"}]},
    )


def apply_spec() -> executions.TaskSpec:
    return executions.TaskSpec(
        key="apply", kind=executions.TaskKind.APPLY_REVISION, inputs={"revision": 2}, revision=2
    )


def test_creating_a_deployment_stores_revision_1(store: interface.Store) -> None:
    s.setup_deployment(store)
    (first,) = store.list_revisions("dep")
    deployment = store.get_deployment("dep")
    assert first.revision == 1 == deployment.revision
    assert first.status == "applied"
    assert (first.blueprint_id, dict(first.inputs), dict(first.plan)) == (
        "bp",
        {"port": 8080},
        {"nodes": ["vm"]},
    )
    assert store.get_revision("dep", 1) == first


def test_add_get_list_and_set_status(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.add_revision(revision(2))
    assert [r.revision for r in store.list_revisions("dep")] == [1, 2]
    assert store.get_revision("dep", 2) == revision(2)
    changed = store.set_revision_status("dep", 2, status="failed", execution_id="e1")
    assert (changed.status, changed.execution_id) == ("failed", "e1")
    with pytest.raises(errors.ConflictError, match="already has revision 2"):
        store.add_revision(revision(2))
    with pytest.raises(errors.InputError):
        store.set_revision_status("dep", 2, status="bogus")
    assert store.get_revision("dep", 2).status == "failed"


def test_unknown_deployment_or_revision(store: interface.Store) -> None:
    s.setup_deployment(store)
    with pytest.raises(errors.NotFoundError, match="no revision 7"):
        store.get_revision("dep", 7)
    with pytest.raises(errors.NotFoundError, match="deployment 'nope'"):
        store.list_revisions("nope")
    with pytest.raises(errors.NotFoundError):
        store.add_revision(dataclasses.replace(revision(2), deployment_id="nope"))


def test_begin_update_stores_everything_or_nothing(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.put_blueprint(s.blueprint("bp2"))
    added = s.instance("db_1", node_id="db")
    rels = {"vm_1": [{"type": "t", "target_id": "x"}, {"type": "t", "target_id": "db_1"}]}
    busy = store.create_execution(s.execution("e0"), [], queue=False)
    with pytest.raises(errors.ConflictError, match="active or queued"):
        store.begin_update(
            revision(2, execution_id="e1"),
            execution=s.execution("e1"),
            specs=[apply_spec()],
            added=[added],
            relationships=rels,
        )
    assert [r.revision for r in store.list_revisions("dep")] == [1]
    assert {i.id for i in store.list_instances("dep")} == {"vm_1", "vm_2"}
    store.set_execution_status(
        busy.id, expected=[busy.status], status=executions.ExecutionStatus.SUCCEEDED, now=s.T0
    )
    with pytest.raises(errors.ConflictError, match="changed meanwhile"):
        store.begin_update(
            revision(3), execution=s.execution("e1"), specs=[], added=[], relationships={}
        )
    started = store.begin_update(
        revision(2, execution_id="e1"),
        execution=s.execution("e1"),
        specs=[apply_spec()],
        added=[added],
        relationships=rels,
    )
    assert started.id == "e1"
    assert store.get_revision("dep", 2).status == "pending"
    assert {i.id for i in store.list_instances("dep")} == {"vm_1", "vm_2", "db_1"}
    assert [dict(r) for r in store.get_instance("vm_1").relationships] == rels["vm_1"]
    assert [t.spec.revision for t in store.list_tasks("e1")] == [2]
    assert store.get_deployment("dep").revision == 1  # not before the update succeeds


def test_apply_revision_moves_the_deployment_once(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.put_blueprint(s.blueprint("bp2"))
    store.add_revision(revision(2))
    final = {"vm_1": [{"type": "t", "target_id": "vm_1"}]}
    assert store.apply_revision("dep", 2, remove=["vm_2"], relationships=final)
    deployment = store.get_deployment("dep")
    assert (deployment.revision, deployment.blueprint_id, dict(deployment.inputs)) == (
        2,
        "bp2",
        {"port": 9090},
    )
    assert dict(deployment.plan) == {"nodes": ["vm", "db"]}
    assert [i.id for i in store.list_instances("dep")] == ["vm_1"]
    assert [dict(r) for r in store.get_instance("vm_1").relationships] == final["vm_1"]
    assert store.get_revision("dep", 2).status == "applied"
    # a second run (after a crash) changes nothing
    assert not store.apply_revision("dep", 2, remove=["vm_2"], relationships={"vm_1": []})
    assert len(store.get_instance("vm_1").relationships) == 1


def test_revisions_go_with_their_deployment(store: interface.Store) -> None:
    s.setup_deployment(store)
    store.add_revision(revision(2))
    store.delete_deployment("dep")
    s.setup_deployment(store)
    assert [r.revision for r in store.list_revisions("dep")] == [1]


def test_site_uses_the_blueprints_of_its_deployments_revisions(store: interface.Store) -> None:
    s.setup_deployment(store)  # on the local site, blueprint bp
    assert store.site_uses_blueprint("local", "bp")
    assert not store.site_uses_blueprint("local", "bp2")
    store.add_revision(revision(2))  # blueprint bp2
    assert store.site_uses_blueprint("local", "bp2")
    assert not store.site_uses_blueprint("elsewhere", "bp2")
