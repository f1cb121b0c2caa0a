"""Drift in the API: deployments say whether they drifted, ``/drift`` lists them, a
deployment's drift shows per instance, and drift policies are set (bad ones refused)."""

from __future__ import annotations

import pytest
from api_support import Api, Role

RECORD = {
    "drifted": True,
    "checked_at": "2026-01-01T00:00:00+00:00",
    "execution": "e-1",
    "instance": {
        "drifted": True,
        "differences": {"content_sha256": {"expected": "aa", "actual": "bb"}},
        "result": None,
        "error": None,
    },
    "relationships": [],
}


@pytest.fixture
def deployed(api: Api) -> str:
    assert api.upload("bp").status_code == 201
    assert (
        api.call("POST", "/secrets", json={"name": "db_password", "value": "x"}).status_code == 201
    )
    assert api.deploy("d1", "bp").status_code == 201
    assert api.deploy("d2", "bp").status_code == 201
    return "d1"


def test_deployments_show_drift_and_policy(api: Api, deployed: str) -> None:
    fresh = api.get("/deployments/d1").json()
    assert (fresh["drifted"], fresh["drift_checked_at"], fresh["drift_mode"]) == (
        False,
        None,
        "off",
    )
    (instance,) = api.manager.store.list_instances("d1")
    api.manager.store.update_instance(instance.id, system_properties={"drift": RECORD})
    got = api.get("/deployments/d1", role=Role.VIEWER).json()
    assert got["drifted"] is True
    assert got["drift_checked_at"].startswith("2026-01-01T00:00:00")
    listed = {d["id"]: d["drifted"] for d in api.get("/deployments").json()}
    assert listed == {"d1": True, "d2": False}

    drift = {d["deployment_id"]: d for d in api.get("/drift", role=Role.VIEWER).json()}
    assert drift["d1"]["drifted_instances"] == [instance.id]
    assert drift["d2"]["drifted"] is False and drift["d2"]["checked_at"] is None
    shown = api.get("/deployments/d1/drift").json()
    (one,) = shown["instances"]
    assert one["id"] == instance.id and one["drifted"] is True
    assert one["differences"] == {"content_sha256": {"expected": "aa", "actual": "bb"}}
    assert api.get("/deployments/nope/drift").status_code == 404


def test_set_drift_policy_and_create_with_one(api: Api, deployed: str) -> None:
    answer = api.call(
        "PUT", "/deployments/d1/drift-policy", json={"mode": "correct", "interval": "5m"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["drift_mode"], body["drift_interval"]) == ("correct", 300)
    assert body["drift_next_at"] is not None
    off = api.call("PUT", "/deployments/d1/drift-policy", json={"mode": "off"}).json()
    assert (off["drift_mode"], off["drift_interval"], off["drift_next_at"]) == ("off", None, None)
    created = api.deploy("d3", "bp", drift_mode="detect", drift_interval=120)
    assert created.status_code == 201, created.text
    assert (created.json()["drift_mode"], created.json()["drift_interval"]) == ("detect", 120)
    viewer = api.call(
        "PUT", "/deployments/d1/drift-policy", json={"mode": "detect"}, role=Role.VIEWER
    )
    assert viewer.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "sometimes"}, "mode"),
        ({"mode": "detect", "interval": "soon"}, "interval"),
        ({"mode": "detect", "interval": "1s"}, "interval"),
        ({"mode": "detect", "interval": 0}, "interval"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(
    api: Api, deployed: str, body: dict[str, object], field: str
) -> None:
    answer = api.call("PUT", "/deployments/d1/drift-policy", json=body)
    assert answer.status_code == 422, answer.text
    assert field in (answer.json()["error"]["field"] or "") + answer.text
    assert api.get("/deployments/d1").json()["drift_mode"] == "off"
    create = {"drift_mode": body["mode"], "drift_interval": body.get("interval")}
    refused = api.deploy("d9", "bp", **create)
    assert refused.status_code == 422
    assert api.get("/deployments/d9").status_code == 404


def test_a_sweep_checks_the_deployments_named_a_group_or_all(api: Api, deployed: str) -> None:
    def sweep(**body: object) -> dict[str, object]:
        answer = api.call("POST", "/drift/checks", json=body, role=Role.OPERATOR)
        assert answer.status_code == 201, answer.text
        found: dict[str, object] = answer.json()
        return found

    named = sweep(deployment_ids=["d1", "nope"])
    assert [(e["deployment_id"], e["workflow_id"]) for e in named["started"]] == [  # type: ignore[index, union-attr]
        ("d1", "check_drift")
    ]
    assert [r["deployment_id"] for r in named["refused"]] == ["nope"]  # type: ignore[index, union-attr]
    assert "nope" in named["refused"][0]["error"]  # type: ignore[index]

    assert (
        api.call("POST", "/groups", json={"id": "g", "deployment_ids": ["d2"]}).status_code == 201
    )
    grouped = sweep(group_id="g")
    assert [e["deployment_id"] for e in grouped["started"]] == ["d2"]  # type: ignore[index, union-attr]
    every = sweep(all=True)
    assert sorted(e["deployment_id"] for e in every["started"]) == ["d1", "d2"]  # type: ignore[index, union-attr]
    checks = [e for e in api.get("/executions").json() if e["workflow_id"] == "check_drift"]
    assert len(checks) == 4  # a busy deployment's check is queued, not refused


def test_a_sweep_of_nothing_or_of_an_unknown_group_is_refused_and_starts_nothing(
    api: Api, deployed: str
) -> None:
    before = len(api.get("/executions").json())
    for body in ({}, {"deployment_ids": []}, {"group_id": "nope"}, {"all": "maybe"}):
        answer = api.call("POST", "/drift/checks", json=body)
        assert answer.status_code in (400, 404, 422), (body, answer.text)
        assert answer.json()["error"]["message"]
    assert len(api.get("/executions").json()) == before
