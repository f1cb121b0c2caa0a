"""Sites, deployments placed on them, agent tokens."""

from __future__ import annotations

import dataclasses

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime, sites
from cairn.store import interface


def _site(name: str = "paris", **changes: object) -> sites.Site:
    site = sites.Site(
        name=name,
        created_at=s.T0,
        latitude=48.85,
        longitude=2.35,
        labels={"region": ("eu", "fr")},
        description="a room in Paris",
        created_by="ops",
    )
    return dataclasses.replace(site, **changes)  # type: ignore[arg-type]


def _agent_token(token_id: str, site: str = "paris") -> runtime.Token:
    return runtime.Token(
        id=token_id,
        digest=f"digest-{token_id}",
        role=runtime.Role.AGENT,
        description=f"agent of {site}",
        created_at=s.T0,
        site=site,
    )


def _placed(store: interface.Store, deployment_id: str, site: str) -> None:
    s.setup_deployment(store, deployment_id, instance_ids=())
    store.set_deployment_site(deployment_id, site)


def test_a_site_round_trips(store: interface.Store) -> None:
    store.create_site(_site())
    store.create_site(_site("berlin", labels={}, description=None, latitude=None, longitude=None))
    assert store.get_site("paris") == _site()
    assert [site.name for site in store.list_sites()] == ["berlin", "paris"]
    assert store.get_site("berlin").labels == {}


def test_a_taken_name_is_refused_and_nothing_changes(store: interface.Store) -> None:
    store.create_site(_site())
    with pytest.raises(errors.ConflictError, match="site 'paris' already exists"):
        store.create_site(_site(description="another"))
    assert store.list_sites() == [_site()]


def test_unknown_sites_are_not_found(store: interface.Store) -> None:
    for call in (
        lambda: store.get_site("nope"),
        lambda: store.update_site(_site("nope")),
        lambda: store.delete_site("nope"),
        lambda: store.site_seen("nope", now=s.T0, agent_version="1", agent_address="x"),
        lambda: store.rotate_site_token("nope", _agent_token("t1", "nope")),
    ):
        with pytest.raises(errors.NotFoundError, match="site 'nope' not found"):
            call()
    assert store.list_sites() == []
    assert store.list_tokens() == []


def test_ensure_site_is_idempotent(store: interface.Store) -> None:
    local = _site(sites.LOCAL, labels={}, latitude=None, longitude=None)
    store.ensure_site(local)
    store.ensure_site(dataclasses.replace(local, description="changed"))
    assert store.list_sites() == [local]


def test_update_writes_what_users_edit_and_keeps_what_agents_said(
    store: interface.Store,
) -> None:
    store.create_site(_site())
    store.site_seen("paris", now=s.at(5), agent_version="0.2", agent_address="10.0.0.7")
    edited = _site(latitude=-33.9, longitude=151.2, labels={"tier": ("edge",)}, description=None)
    stored = store.update_site(dataclasses.replace(edited, created_by="x", agent_version="y"))
    expected = dataclasses.replace(
        edited, agent_version="0.2", agent_address="10.0.0.7", last_seen=s.at(5)
    )
    assert stored == expected
    assert store.get_site("paris") == expected


def test_site_seen_records_the_agent(store: interface.Store) -> None:
    store.create_site(_site())
    store.site_seen("paris", now=s.at(1), agent_version="0.1", agent_address="192.0.2.1")
    store.site_seen("paris", now=s.at(9), agent_version="0.2", agent_address=None)
    seen = store.get_site("paris")
    assert (seen.last_seen, seen.agent_version, seen.agent_address) == (s.at(9), "0.2", None)


def test_deployments_are_counted_per_site_and_moved(store: interface.Store) -> None:
    store.create_site(_site())
    s.setup_deployment(store, "a", instance_ids=())
    s.setup_deployment(store, "b", instance_ids=())
    assert store.site_deployment_counts() == {"local": 2}
    moved = store.set_deployment_site("a", "paris")
    assert moved.site == "paris"
    assert store.get_deployment("a") == dataclasses.replace(s.deployment("a"), site="paris")
    assert store.site_deployment_counts() == {"local": 1, "paris": 1}


def test_moving_to_an_unknown_site_or_an_unknown_deployment_changes_nothing(
    store: interface.Store,
) -> None:
    store.create_site(_site())
    s.setup_deployment(store, "a", instance_ids=())
    with pytest.raises(errors.NotFoundError, match="site 'nope' not found"):
        store.set_deployment_site("a", "nope")
    with pytest.raises(errors.NotFoundError, match="deployment 'gone' not found"):
        store.set_deployment_site("gone", "paris")
    assert store.get_deployment("a").site == "local"


@pytest.mark.parametrize("status", [executions.ExecutionStatus.PENDING, "queued"])
def test_a_busy_deployment_is_not_moved(store: interface.Store, status: object) -> None:
    store.create_site(_site())
    s.setup_deployment(store, "a")
    store.create_execution(s.execution("e1", "a"), [], queue=False)
    busy = "e1"
    if status == "queued":
        store.create_execution(s.execution("e2", "a"), [], queue=True)
        store.set_execution_status(
            "e1",
            expected={executions.ExecutionStatus.PENDING},
            status=executions.ExecutionStatus.CANCELLED,
            now=s.T0,
        )
        busy = "e2"
    with pytest.raises(errors.ConflictError, match=f"cannot move to another site: '{busy}'"):
        store.set_deployment_site("a", "paris")
    assert store.get_deployment("a").site == "local"


def test_a_site_with_deployments_is_not_deleted(store: interface.Store) -> None:
    store.create_site(_site())
    _placed(store, "a", "paris")
    with pytest.raises(errors.ConflictError, match=r"1 deployment placed on it \(a\)"):
        store.delete_site("paris")
    assert store.get_site("paris") == _site()
    store.delete_deployment("a")
    store.delete_site("paris")
    assert store.list_sites() == []


def test_local_is_never_deleted_nor_given_a_token(store: interface.Store) -> None:
    local = _site(sites.LOCAL)
    store.ensure_site(local)
    with pytest.raises(errors.ConflictError, match="built in"):
        store.delete_site(sites.LOCAL)
    with pytest.raises(errors.ConflictError, match="no agent token"):
        store.rotate_site_token(sites.LOCAL, _agent_token("t1", sites.LOCAL))
    assert store.list_sites() == [local]
    assert store.list_tokens() == []


def test_rotation_revokes_the_old_tokens_with_the_new_one_stored(store: interface.Store) -> None:
    store.create_site(_site())
    store.create_site(_site("berlin"))
    store.rotate_site_token("berlin", _agent_token("b1", "berlin"))
    store.rotate_site_token("paris", _agent_token("p1"))
    store.rotate_site_token("paris", _agent_token("p2"))
    of_paris = store.list_site_tokens("paris")
    assert [(t.id, t.revoked) for t in of_paris] == [("p1", True), ("p2", False)]
    assert [(t.id, t.revoked) for t in store.list_site_tokens("berlin")] == [("b1", False)]
    found = store.find_token("digest-p2")
    assert found == _agent_token("p2")


def test_a_failed_rotation_keeps_the_old_token(store: interface.Store) -> None:
    store.create_site(_site())
    store.rotate_site_token("paris", _agent_token("p1"))
    with pytest.raises(errors.ConflictError):
        store.rotate_site_token("paris", _agent_token("p1"))  # same id and digest
    with pytest.raises(errors.UsageError):
        store.rotate_site_token("paris", _agent_token("p9", "berlin"))
    assert [(t.id, t.revoked) for t in store.list_site_tokens("paris")] == [("p1", False)]


def test_deleting_a_site_revokes_its_tokens(store: interface.Store) -> None:
    store.create_site(_site())
    store.rotate_site_token("paris", _agent_token("p1"))
    store.delete_site("paris")
    assert [(t.id, t.revoked) for t in store.list_tokens()] == [("p1", True)]
