"""``/rollouts`` through the real app (a manager without engine or runner: what the API
stores, shows and refuses). Every refusal leaves the store as it was; the rollouts' behaviour
is tested on a running manager in tests/engine/test_rollouts.py and tests/netns."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, Role


@pytest.fixture
def prod(api: Api) -> list[str]:
    """Group ``prod`` of five deployments of ``bp``; ``empty``, a group of none."""
    assert api.upload("bp").status_code == 201
    api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"})
    names = [f"web-{n}" for n in range(1, 6)]
    for name in names:
        assert api.deploy(name, "bp").status_code == 201
    created = api.call("POST", "/groups", json={"id": "prod", "deployment_ids": names})
    assert created.status_code == 201, created.text
    assert api.call("POST", "/groups", json={"id": "empty"}).status_code == 201
    return names


def _start(api: Api, role: Role = Role.OPERATOR, **body: Any) -> Any:
    return api.call("POST", "/rollouts", role=role, json={"group_id": "prod", **body})


def test_start_stores_members_in_waves(api: Api, prod: list[str]) -> None:
    answer = _start(
        api,
        workflow_id="install",
        waves=["1", "40%", "100%"],
        concurrency=3,
        soak="30s",
        max_failures="20%",
        on_failure="stop",
        offline="wait",
    )
    assert answer.status_code == 201, answer.text
    started = answer.json()
    assert (started["status"], started["waves"], started["members"]) == ("running", 3, 5)
    assert started["settings"] == {
        "concurrency": 3,
        "waves": ["1", "40%", "100%"],
        "soak": 30.0,
        "max_failures": "20%",
        "on_failure": "stop",
        "offline": "wait",
    }
    assert started["counts"] == {"pending": 5}
    detail = api.get(f"/rollouts/{started['id']}", role=Role.VIEWER).json()
    assert [(w["wave"], w["members"]) for w in detail["by_wave"]] == [(0, 1), (1, 1), (2, 3)]
    assert detail["failing"] == []
    members = api.get(f"/rollouts/{started['id']}/members").json()
    assert [m["deployment_id"] for m in members] == prod
    assert {m["status"] for m in members} == {"pending"}
    assert api.get(f"/rollouts/{started['id']}/members", params={"status": "failed"}).json() == []
    listed = api.get("/rollouts").json()
    assert [r["id"] for r in listed] == [started["id"]]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"workflow_id": "install", "group_id": "nope"}, 404, None),
        ({"workflow_id": "install", "group_id": "empty"}, 409, None),
        ({"workflow_id": "update", "parameters": {"blueprint_id": "v9"}}, 404, None),
        ({"workflow_id": "update", "parameters": {"colour": "red"}}, 422, "parameters"),
        ({"workflow_id": "install", "waves": ["1", "lots"]}, 422, "waves"),
        ({"workflow_id": "install", "concurrency": 0}, 422, "concurrency"),
        ({"workflow_id": "install", "max_failures": "0"}, 422, "max_failures"),
        ({"workflow_id": "install", "max_failures": "150%"}, 422, "max_failures"),
        ({"workflow_id": "install", "soak": "forever"}, 422, "soak"),
        ({"workflow_id": "install", "on_failure": "cry"}, 422, None),
        ({"workflow_id": "heal", "on_failure": "rollback"}, 422, "on_failure"),
        ({"workflow_id": "bad workflow!"}, 422, "workflow_id"),
    ],
)
def test_bad_starts_are_refused_and_store_nothing(
    api: Api, prod: list[str], body: dict[str, Any], status: int, field: str | None
) -> None:
    answer = api.call("POST", "/rollouts", json={"group_id": "prod", **body})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    if field is not None:
        assert error["field"] == field, error
    assert api.get("/rollouts").json() == []


def test_actions_follow_the_status(api: Api, prod: list[str]) -> None:
    rollout = _start(api, workflow_id="install").json()["id"]
    paused = api.call("POST", f"/rollouts/{rollout}/pause", role=Role.OPERATOR)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    again = api.call("POST", f"/rollouts/{rollout}/pause")
    assert again.status_code == 409 and "paused" in again.json()["error"]["message"]
    resumed = api.call("POST", f"/rollouts/{rollout}/resume")
    assert resumed.json()["status"] == "running"
    nothing = api.call("POST", f"/rollouts/{rollout}/retry-failed")
    assert nothing.status_code == 409 and "no failed member" in nothing.json()["error"]["message"]
    busy = api.call("DELETE", f"/rollouts/{rollout}")
    assert busy.status_code == 409
    cancelled = api.call("POST", f"/rollouts/{rollout}/cancel")
    assert cancelled.json()["status"] == "cancelling"  # the runner ends it
    assert api.call("POST", f"/rollouts/{rollout}/cancel").status_code == 409
    viewer = api.call("POST", f"/rollouts/{rollout}/pause", role=Role.VIEWER)
    assert viewer.status_code == 403
    assert api.call("POST", "/rollouts/nope/pause").status_code == 404
    assert api.get("/rollouts/nope/members").status_code == 404


def test_rollback_names_every_bad_member_and_starts_nothing(api: Api, prod: list[str]) -> None:
    rollout = _start(api, workflow_id="update", parameters={"blueprint_id": "bp"}).json()["id"]
    answer = api.call("POST", f"/rollouts/{rollout}/rollback", json={"members": ["web-1", "ghost"]})
    assert answer.status_code == 409
    message = answer.json()["error"]["message"]
    assert "web-1: it is pending and never ran" in message
    assert "ghost: not a member" in message
    members = api.get(f"/rollouts/{rollout}/members").json()
    assert {m["status"] for m in members} == {"pending"}
    assert (
        api.call("POST", f"/rollouts/{rollout}/rollback", json={"members": []}).status_code == 422
    )
    heal = _start(api, workflow_id="heal").json()["id"]
    refused = api.call("POST", f"/rollouts/{heal}/rollback", json={"members": ["web-1"]})
    assert refused.status_code == 409 and "undo" in refused.json()["error"]["message"]


def test_a_workflow_the_members_lack_is_refused(api: Api, prod: list[str]) -> None:
    answer = api.call("POST", "/rollouts", json={"group_id": "prod", "workflow_id": "deploy_app"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "workflow_id"
    assert "'deploy_app' is not a workflow of web-1, web-2, web-3, web-4, web-5" in error["message"]
    assert api.get("/rollouts").json() == []
