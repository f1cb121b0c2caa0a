"""Rollouts and their ledger in the store, on SQLite and PostgreSQL: the snapshot of the
group, counts, leases between runners, compare-and-set member changes."""

from __future__ import annotations

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, groups
from cairn.model import rollouts as model
from cairn.store import interface

MS = model.MemberStatus
RS = model.Status
Change = interface.MemberChange


def _rollout(rollout_id: str = "r1", group_id: str = "prod", **settings: object) -> model.Rollout:
    chosen, problems = model.settings_from(**settings)  # type: ignore[arg-type]
    assert chosen is not None, problems
    return model.Rollout(
        id=rollout_id,
        group_id=group_id,
        workflow_id="update",
        parameters={"blueprint_id": "bp"},
        settings=chosen,
        status=RS.RUNNING,
        wave=0,
        waves=1,
        created_at=s.T0,
        created_by="ops",
    )


@pytest.fixture
def prod(store: interface.Store) -> list[str]:
    names = [f"web-{n}" for n in range(1, 6)]
    for name in names:
        s.setup_deployment(store, name, instance_ids=())
    group = groups.Group(id="prod", created_at=s.T0, created_by="ops")
    store.create_group(group, list(reversed(names)))
    store.create_group(groups.Group(id="empty", created_at=s.T0, created_by="ops"), [])
    return names


def test_create_snapshots_the_group_in_waves(store: interface.Store, prod: list[str]) -> None:
    created = store.create_rollout(_rollout(waves="1,60%,100%", concurrency=2))
    assert (created.waves, created.wave, created.status) == (3, 0, RS.RUNNING)
    assert created.counts == {"pending": 5}
    assert created.settings.concurrency == 2
    members = store.list_rollout_members("r1")
    assert [(m.deployment_id, m.position, m.wave) for m in members] == [
        ("web-1", 0, 0),
        ("web-2", 1, 1),
        ("web-3", 2, 1),
        ("web-4", 3, 2),
        ("web-5", 4, 2),
    ]
    assert {m.site for m in members} == {"local"}
    assert store.rollout_wave_counts("r1") == {
        0: {"pending": 1},
        1: {"pending": 2},
        2: {"pending": 2},
    }
    store.remove_group_members("prod", ["web-5"])  # the rollout keeps its snapshot
    assert len(store.list_rollout_members("r1")) == 5
    assert [r.id for r in store.list_rollouts()] == ["r1"]
    assert store.list_rollouts(statuses=["succeeded"]) == []


def test_bad_groups_store_nothing(store: interface.Store, prod: list[str]) -> None:
    with pytest.raises(errors.NotFoundError):
        store.create_rollout(_rollout(group_id="nope"))
    with pytest.raises(errors.ConflictError, match="no deployments"):
        store.create_rollout(_rollout(group_id="empty"))
    assert store.list_rollouts() == []
    with pytest.raises(errors.NotFoundError):
        store.get_rollout("r1")
    with pytest.raises(errors.NotFoundError):
        store.list_rollout_members("r1")


def test_leases_keep_runners_apart(store: interface.Store, prod: list[str]) -> None:
    store.create_rollout(_rollout())
    mine = store.claim_live_rollouts(owner="a", now=s.at(0), until=s.at(5))
    assert [r.id for r in mine] == ["r1"]
    assert store.claim_live_rollouts(owner="b", now=s.at(1), until=s.at(6)) == []
    assert [r.id for r in store.claim_live_rollouts(owner="a", now=s.at(2), until=s.at(7))]
    # a's lease runs out: b takes over; or a's process is gone: b takes over at once
    assert [r.id for r in store.claim_live_rollouts(owner="b", now=s.at(8), until=s.at(13))]
    taken = store.claim_live_rollouts(
        owner="c", now=s.at(9), until=s.at(14), gone={"b"}.__contains__
    )
    assert [r.id for r in taken] == ["r1"]
    store.release_rollouts(owner="c")
    assert [r.id for r in store.claim_live_rollouts(owner="d", now=s.at(10), until=s.at(15))]
    # an ended rollout with no live member is nobody's business
    assert store.update_rollout("r1", status=RS.SUCCEEDED, ended_at=s.at(11))
    assert store.claim_live_rollouts(owner="d", now=s.at(12), until=s.at(17)) == []


def test_member_changes_are_compare_and_set(store: interface.Store, prod: list[str]) -> None:
    store.create_rollout(_rollout())
    start = [
        Change(
            deployment_id="web-1",
            expected=[MS.PENDING],
            values={"status": MS.STARTING, "execution_id": "e1", "attempts": 1},
        ),
        Change(deployment_id="web-2", expected=[MS.RUNNING], values={"status": MS.SUCCEEDED}),
    ]
    assert store.set_rollout_members("r1", start, now=s.at(1)) == {"web-1"}
    first = store.list_rollout_members("r1", deployment_ids=["web-1"])[0]
    assert (first.status, first.execution_id, first.attempts, first.updated_at) == (
        MS.STARTING,
        "e1",
        1,
        s.at(1),
    )
    live = store.live_rollout_members("r1")
    assert [(f.member.deployment_id, f.execution_status) for f in live] == [("web-1", None)]
    store.create_execution(s.execution("e1", "web-1"), [], queue=False)
    live = store.live_rollout_members("r1")
    assert live[0].execution_status is executions.ExecutionStatus.PENDING
    assert store.busy_deployments(["web-1", "web-2"]) == {"web-1"}
    assert [
        m.deployment_id for m in store.startable_rollout_members("r1", up_to_wave=0, limit=2)
    ] == ["web-2", "web-3"]
    assert store.rollout_wave_holders("r1", 0) == 5
    # members start only while the rollout runs: a pause committed first stops them
    assert store.update_rollout("r1", expected=[RS.RUNNING], status=RS.PAUSED)
    later = [Change(deployment_id="web-2", expected=[MS.PENDING], values={"status": MS.STARTING})]
    assert store.set_rollout_members("r1", later, now=s.at(2), while_status=[RS.RUNNING]) == set()
    assert store.list_rollout_members("r1", statuses=["starting"])[0].deployment_id == "web-1"
    # rollout changes are compare-and-set too
    version = store.get_rollout("r1").version
    assert not store.update_rollout("r1", expected=[RS.RUNNING], status=RS.STOPPED)
    assert not store.update_rollout("r1", version=version + 1, wave=1)
    assert store.update_rollout("r1", version=version, wave=1)
    assert store.get_rollout("r1").wave == 1
    with pytest.raises(errors.NotFoundError):
        store.update_rollout("nope", status=RS.PAUSED)


def test_delete_only_once_ended(store: interface.Store, prod: list[str]) -> None:
    store.create_rollout(_rollout())
    with pytest.raises(errors.ConflictError, match="cancel it"):
        store.delete_rollout("r1")
    store.update_rollout("r1", status=RS.CANCELLED, ended_at=s.at(1))
    store.delete_rollout("r1")
    assert store.list_rollouts() == []
