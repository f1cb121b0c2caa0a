"""``/deployments``: create with inputs (every problem listed), read, outputs, delete."""

from __future__ import annotations

import pytest
from api_support import Api, Role

from cairn.model import runtime
from cairn.services import deployments


@pytest.fixture
def blueprint(api: Api) -> str:
    assert api.upload("bp").status_code == 201
    assert (
        api.call("POST", "/secrets", json={"name": "db_password", "value": "pw-1"}).status_code
        == 201
    )
    return "bp"


def test_create_get_list_inputs(api: Api, blueprint: str) -> None:
    answer = api.deploy("d1", blueprint, inputs={"port": 9090}, labels={"env": ["dev"]})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["inputs"] == {"port": 9090, "stage": "dev"}
    assert created["node_instances"] == {"uninitialized": 1}
    assert created["labels"] == {"env": ["dev"]}
    assert "install" in created["workflows"]
    assert [d["id"] for d in api.get("/deployments", role=Role.VIEWER).json()] == ["d1"]
    assert api.get("/deployments", params={"blueprint_id": blueprint}).json()[0]["id"] == "d1"
    assert api.get("/deployments", params={"blueprint_id": "other"}).status_code == 404
    assert api.get("/deployments/d1/inputs").json() == {
        "deployment_id": "d1",
        "inputs": {"port": 9090, "stage": "dev"},
    }
    instances = api.get("/node-instances", params={"deployment_id": "d1"}).json()
    assert [(i["node_id"], i["state"]) for i in instances] == [("server", "uninitialized")]
    one = api.get(f"/node-instances/{instances[0]['id']}", role=Role.VIEWER).json()
    assert one["deployment_id"] == "d1"


def test_every_input_problem_is_listed_and_nothing_is_created(api: Api, blueprint: str) -> None:
    answer = api.deploy("d1", blueprint, inputs={"port": 80, "stage": "qa", "colour": "red"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_inputs"
    assert error["field"] == "inputs"
    messages = " ".join(p["message"] for p in error["problems"])
    assert "port" in messages and "stage" in messages and "colour" in messages
    assert api.get("/deployments").json() == []


def test_missing_secrets_are_refused(api: Api) -> None:
    api.upload("bp")
    answer = api.deploy("d1", "bp")
    assert answer.status_code == 422
    assert "secret 'db_password' does not exist" in answer.text


def test_unknown_blueprint_taken_id_bad_body(api: Api, blueprint: str) -> None:
    assert api.deploy("d1", "nope").status_code == 404
    assert api.deploy("d1", blueprint).status_code == 201
    assert api.deploy("d1", blueprint).status_code == 409
    bad = api.call("PUT", "/deployments/d2", json={"blueprint_id": blueprint, "inputs": []})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"
    assert bad.json()["error"]["field"] == "body.inputs"
    extra = api.call("PUT", "/deployments/d2", json={"blueprint_id": blueprint, "x": 1})
    assert extra.status_code == 422


def test_outputs_are_evaluated_and_secrets_hidden_from_viewers(api: Api, blueprint: str) -> None:
    api.deploy("d1", blueprint)
    instance = api.manager.store.list_instances("d1")[0]
    api.manager.store.update_instance(
        instance.id, runtime_properties={"port": 9999, "endpoint": "e:1"}
    )
    operator = api.get("/deployments/d1/outputs", role=Role.OPERATOR).json()
    assert operator["values"]["port"] == {"value": 9999, "description": "the port"}
    assert operator["values"]["address"]["value"] == "http://host:8080"
    assert operator["values"]["password"]["value"] == "pw-1"
    viewer = api.get("/deployments/d1/outputs", role=Role.VIEWER).json()
    assert viewer["values"]["password"]["value"] == deployments.HIDDEN
    assert "pw-1" not in str(viewer)
    capabilities = api.get("/deployments/d1/capabilities", role=Role.VIEWER).json()
    assert capabilities["values"]["endpoint"]["value"] == "e:1"


def test_delete_refuses_installed_instances_unless_forced(api: Api, blueprint: str) -> None:
    api.deploy("d1", blueprint)
    instance = api.manager.store.list_instances("d1")[0]
    api.manager.store.update_instance(instance.id, state=runtime.InstanceState.STARTED)
    refused = api.call("DELETE", "/deployments/d1", role=Role.OPERATOR)
    assert refused.status_code == 409
    assert "uninstall" in refused.json()["error"]["message"]
    forced = api.call("DELETE", "/deployments/d1", params={"force": True})
    assert forced.status_code == 204
    assert api.get("/deployments/d1").status_code == 404
    assert api.deploy("d2", blueprint).status_code == 201
    assert api.call("DELETE", "/deployments/d2").status_code == 204
