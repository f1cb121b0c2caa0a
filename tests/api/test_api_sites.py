"""``/sites``: create, read with status, update, delete, agent tokens; deployments placed
on sites and moved between them. Every refusal leaves the store as it was."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from api_support import Api, Role

from cairn.model import sites
from cairn.services import auth
from cairn.services.manager import Manager

PARIS = {
    "name": "paris-1",
    "location": {"latitude": 48.85, "longitude": 2.35},
    "labels": {"Region": ["eu"], "tier": ["edge", "edge", "small"]},
    "description": "a room in Paris",
}


def _create(api: Api, **changes: Any) -> Any:
    return api.call("POST", "/sites", json={**PARIS, **changes}, role=Role.OPERATOR)


def _snapshot(manager: Manager) -> tuple[Any, ...]:
    """Everything a site request could change."""
    store = manager.store
    return (
        store.list_sites(),
        store.list_deployments(),
        store.list_tokens(),
        store.site_deployment_counts(),
    )


@pytest.fixture
def blueprint(api: Api) -> str:
    assert api.upload("bp").status_code == 201
    api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"})
    return "bp"


def test_local_is_there_from_the_start(api: Api) -> None:
    (local,) = api.get("/sites", role=Role.VIEWER).json()
    assert local["name"] == "local"
    assert local["status"] == "local"
    assert local["location"] is None
    assert local["deployments"] == 0


def test_create_get_list(api: Api) -> None:
    answer = _create(api)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["name"] == "paris-1"
    assert created["status"] == "never_seen"
    assert created["location"] == {"latitude": 48.85, "longitude": 2.35}
    assert created["labels"] == {"region": ["eu"], "tier": ["edge", "small"]}
    assert created["created_by"].startswith("token:")
    assert (created["last_seen"], created["agent_version"], created["deployments"]) == (
        None,
        None,
        0,
    )
    assert api.get("/sites/paris-1", role=Role.VIEWER).json() == created
    assert [s["name"] for s in api.get("/sites").json()] == ["local", "paris-1"]


def test_status_follows_the_agents_last_poll(api: Api, manager: Manager) -> None:
    _create(api)
    now = manager.clock.now()
    manager.store.site_seen(
        "paris-1", now=now - datetime.timedelta(seconds=5), agent_version="0.3", agent_address="a"
    )
    seen = api.get("/sites/paris-1").json()
    assert (seen["status"], seen["agent_version"], seen["agent_address"]) == ("online", "0.3", "a")
    late = now - sites.ONLINE_WINDOW - datetime.timedelta(seconds=5)
    manager.store.site_seen("paris-1", now=late, agent_version="0.3", agent_address="a")
    assert api.get("/sites/paris-1").json()["status"] == "offline"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "bad name"}, "name", "may hold only letters"),
        ({"name": ""}, "name", "must not be empty"),
        ({"location": {"latitude": 91, "longitude": 0}}, "location", "between -90 and 90"),
        ({"location": {"latitude": 0, "longitude": -180.5}}, "location", "-180 and 180"),
        ({"labels": {"bad key": ["x"]}}, "labels", "label key 'bad key'"),
    ],
)
def test_bad_sites_are_refused_and_nothing_changes(
    api: Api, changes: dict[str, Any], field: str, words: str
) -> None:
    before = _snapshot(api.manager)
    answer = _create(api, **changes)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_value", field)
    assert words in error["message"]
    assert _snapshot(api.manager) == before


def test_a_missing_location_is_a_request_error(api: Api) -> None:
    answer = api.call("POST", "/sites", json={"name": "x"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "body.location"
    assert [s["name"] for s in api.get("/sites").json()] == ["local"]


def test_a_duplicate_name_is_refused(api: Api) -> None:
    _create(api)
    before = _snapshot(api.manager)
    for name in ("paris-1", "local"):
        answer = _create(api, name=name, description="again")
        assert answer.status_code == 409
        assert f"site '{name}' already exists" in answer.json()["error"]["message"]
    assert _snapshot(api.manager) == before


def test_update_location_labels_description(api: Api) -> None:
    _create(api)
    answer = api.call(
        "PATCH",
        "/sites/paris-1",
        json={
            "location": {"latitude": -33.9, "longitude": 151.2},
            "labels": {"TIER": ["core"], "team": ["net"]},
            "remove_labels": ["tier=edge", "region"],
        },
        role=Role.OPERATOR,
    )
    assert answer.status_code == 200, answer.text
    updated = answer.json()
    assert updated["location"] == {"latitude": -33.9, "longitude": 151.2}
    assert updated["labels"] == {"tier": ["small", "core"], "team": ["net"]}
    assert updated["description"] == "a room in Paris"
    replaced = api.call(
        "PATCH",
        "/sites/paris-1",
        json={"labels": {"env": ["prod"]}, "replace_labels": True, "description": ""},
    ).json()
    assert (replaced["labels"], replaced["description"]) == ({"env": ["prod"]}, None)
    assert replaced["location"] == updated["location"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"location": {"latitude": 0, "longitude": 200}}, 422, "between -180 and 180"),
        ({"labels": {"a b": ["x"]}}, 422, "label key 'a b'"),
        ({"remove_labels": ["nope"]}, 422, "has no label 'nope'"),
        ({"remove_labels": ["tier=big"]}, 422, "has no value 'big'"),
        ({"colour": "red"}, 422, "body.colour"),
    ],
)
def test_bad_updates_change_nothing(
    api: Api, body: dict[str, Any], status: int, words: str
) -> None:
    _create(api)
    before = _snapshot(api.manager)
    answer = api.call("PATCH", "/sites/paris-1", json=body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]["message"]
    assert _snapshot(api.manager) == before


def test_unknown_sites_are_404(api: Api) -> None:
    before = _snapshot(api.manager)
    for method, path in (
        ("GET", "/sites/nope"),
        ("PATCH", "/sites/nope"),
        ("DELETE", "/sites/nope"),
        ("POST", "/sites/nope/token"),
    ):
        answer = api.call(method, path, json={})
        assert answer.status_code == 404, (method, path)
        assert answer.json()["error"]["message"] == "site 'nope' not found"
    assert _snapshot(api.manager) == before


def test_deployments_are_placed_moved_and_keep_their_site_from_deletion(
    api: Api, blueprint: str
) -> None:
    _create(api)
    created = api.deploy("d1", blueprint, site="paris-1")
    assert created.status_code == 201, created.text
    assert created.json()["site"] == "paris-1"
    assert api.deploy("d2", blueprint).json()["site"] == "local"
    assert api.get("/sites/paris-1").json()["deployments"] == 1
    before = _snapshot(api.manager)
    refused = api.call("DELETE", "/sites/paris-1", role=Role.OPERATOR)
    assert refused.status_code == 409
    assert "1 deployment placed on it (d1)" in refused.json()["error"]["message"]
    assert _snapshot(api.manager) == before
    moved = api.call("PUT", "/deployments/d1/site", json={"site": "local"}, role=Role.OPERATOR)
    assert moved.status_code == 200, moved.text
    assert moved.json()["site"] == "local"
    assert api.get("/deployments/d1").json()["site"] == "local"
    assert api.get("/sites/local").json()["deployments"] == 2
    assert api.call("DELETE", "/sites/paris-1").status_code == 204
    assert api.get("/sites/paris-1").status_code == 404


def test_unknown_sites_are_refused_for_deployments(api: Api, blueprint: str) -> None:
    api.deploy("d1", blueprint)
    before = _snapshot(api.manager)
    for answer in (
        api.deploy("d2", blueprint, site="nope"),
        api.call("PUT", "/deployments/d1/site", json={"site": "nope"}),
    ):
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["field"] == "site"
        assert "site 'nope' does not exist" in error["message"]
    missing = api.call("PUT", "/deployments/gone/site", json={"site": "local"})
    assert missing.status_code == 404
    assert _snapshot(api.manager) == before


def test_a_busy_deployment_is_not_moved(api: Api, blueprint: str) -> None:
    _create(api)
    api.deploy("d1", blueprint)
    started = api.call(
        "POST", "/executions", json={"deployment_id": "d1", "workflow_id": "install"}
    )
    assert started.status_code == 201, started.text  # no engine here: it stays pending
    before = _snapshot(api.manager)
    answer = api.call("PUT", "/deployments/d1/site", json={"site": "paris-1"})
    assert answer.status_code == 409
    assert "cannot move to another site" in answer.json()["error"]["message"]
    assert started.json()["id"] in answer.json()["error"]["message"]
    assert _snapshot(api.manager) == before


def test_local_is_not_deleted_nor_given_a_token(api: Api) -> None:
    before = _snapshot(api.manager)
    deleted = api.call("DELETE", "/sites/local")
    assert deleted.status_code == 409
    assert "built in" in deleted.json()["error"]["message"]
    tokened = api.call("POST", "/sites/local/token")
    assert tokened.status_code == 409
    assert "no agent token" in tokened.json()["error"]["message"]
    assert _snapshot(api.manager) == before


def test_site_tokens_rotate_and_are_agent_tokens_of_their_site(api: Api) -> None:
    _create(api)
    first = api.call("POST", "/sites/paris-1/token", role=Role.ADMIN)
    assert first.status_code == 201, first.text
    second = api.call("POST", "/sites/paris-1/token").json()
    assert (second["site"], second["role"]) == ("paris-1", "agent")
    store = api.manager.store
    with pytest.raises(auth.InvalidToken):
        auth.identify(store, first.json()["token"])
    caller = auth.identify(store, second["token"])
    assert (caller.role.value, caller.site) == ("agent", "paris-1")
    auth.require_agent(caller, "paris-1")
    # an agent token reads nothing else
    refused = api.client.get(
        "/api/v1/sites", headers={"Authorization": f"Bearer {second['token']}"}
    )
    assert refused.status_code == 403
    listed = [(t.id, t.revoked) for t in store.list_site_tokens("paris-1")]
    assert listed == [(first.json()["id"], True), (second["id"], False)]
    assert api.call("DELETE", "/sites/paris-1").status_code == 204
    with pytest.raises(auth.InvalidToken):
        auth.identify(store, second["token"])


def test_tokens_route_refuses_the_agent_role(api: Api) -> None:
    before = _snapshot(api.manager)
    answer = api.call("POST", "/tokens", json={"role": "agent", "description": "x"})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_request"
    assert "cairn sites token" in error["message"]
    assert _snapshot(api.manager) == before
