"""``/deployments/{id}/updates``, ``/revert`` and ``/revisions`` (no engine: executions wait)."""

from __future__ import annotations

import pytest
from api_support import BLUEPRINT, Api, Role

V2 = BLUEPRINT.replace("\noutputs:", "\n  cache:\n    type: cloudify.nodes.Root\noutputs:")


@pytest.fixture
def deployed(api: Api) -> str:
    assert api.upload("bp").status_code == 201
    assert api.upload("bp2", V2).status_code == 201
    assert (
        api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"}).status_code == 201
    )
    assert api.deploy("d1", "bp", inputs={"port": 9090}).status_code == 201
    return "d1"


def test_preview_then_update_then_history(api: Api, deployed: str) -> None:
    shown = api.call(
        "POST", "/deployments/d1/updates", json={"blueprint_id": "bp2", "preview": True}
    )
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["execution"] is None
    assert (body["from_revision"], body["to_revision"]) == (1, 2)
    assert body["changes"] == [{"what": "node", "name": "cache", "change": "added"}]
    assert body["inputs"] == {"port": 9090, "stage": "dev"}  # kept
    assert [a["node"] for a in body["instances"]["added"]] == ["cache"]
    assert body["steps"][-1]["key"] == "apply"
    assert len(api.get("/deployments/d1/revisions").json()) == 1  # a preview stores nothing
    started = api.call(
        "POST",
        "/deployments/d1/updates",
        json={"blueprint_id": "bp2", "inputs": {"stage": "prod"}},
        role=Role.OPERATOR,
    )
    assert started.status_code == 202, started.text
    execution = started.json()["execution"]
    assert execution["workflow_id"] == "update" and execution["status"] == "pending"
    revisions = api.get("/deployments/d1/revisions", role=Role.VIEWER).json()
    assert [(r["revision"], r["status"], r["current"]) for r in revisions] == [
        (1, "applied", True),
        (2, "pending", False),
    ]
    assert revisions[1]["inputs"] == {"port": 9090, "stage": "prod"}
    assert revisions[1]["execution_id"] == execution["id"]
    one = api.get("/deployments/d1/revisions/2").json()
    assert [c["name"] for c in one["summary"]["changes"]] == ["stage", "cache"]
    again = api.call("POST", "/deployments/d1/updates", json={"blueprint_id": "bp2"})
    assert again.status_code == 409
    assert "unfinished update" in again.json()["error"]["message"]


def test_bad_updates_are_refused(api: Api, deployed: str) -> None:
    unknown = api.call("POST", "/deployments/d1/updates", json={"blueprint_id": "nope"})
    assert unknown.status_code == 404
    bad = api.call(
        "POST", "/deployments/d1/updates", json={"inputs": {"port": 80, "stage": "qa", "x": 1}}
    )
    assert bad.status_code == 422
    assert len(bad.json()["error"]["problems"]) == 3
    assert api.call("POST", "/deployments/nope/updates", json={}).status_code == 404
    viewer = api.call("POST", "/deployments/d1/updates", json={}, role=Role.VIEWER)
    assert viewer.status_code == 403
    extra = api.call("POST", "/deployments/d1/updates", json={"bogus": 1})
    assert extra.status_code == 422
    assert api.call("POST", "/deployments/d1/revert", json={}).status_code == 409
    assert api.call("POST", "/deployments/d1/revert", json={"to": 5}).status_code == 404
    assert api.get("/deployments/d1/revisions/5").status_code == 404
    assert len(api.get("/deployments/d1/revisions").json()) == 1


def test_routes_are_documented(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for path in (
        "/api/v1/deployments/{deployment_id}/updates",
        "/api/v1/deployments/{deployment_id}/revert",
        "/api/v1/deployments/{deployment_id}/revisions",
    ):
        assert path in document["paths"]
