"""``/filters``, ``/groups``, deployment labels and filtered lists, through the real app.
Every refusal leaves the store as it was."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import Api, Role

from cairn.model import executions
from cairn.services.manager import Manager


def _snapshot(manager: Manager) -> tuple[Any, ...]:
    store = manager.store
    members = {g.id: store.group_member_ids(g.id) for g in store.list_groups()}
    return (store.list_deployments(), store.list_groups(), members, store.list_filters())


def _site(api: Api, name: str, **labels: list[str]) -> None:
    body = {"name": name, "location": {"latitude": 1, "longitude": 2}, "labels": labels}
    assert api.call("POST", "/sites", json=body).status_code == 201


@pytest.fixture
def fleet(api: Api) -> list[str]:
    """Blueprint ``bp`` and four deployments with labels, on two sites."""
    assert api.upload("bp").status_code == 201
    api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"})
    _site(api, "paris-eu", region=["eu"])
    _site(api, "ohio-us", region=["us"])
    for name, site, env in (
        ("web-1", "paris-eu", "prod"),
        ("web-2", "ohio-us", "prod"),
        ("web-3", "paris-eu", "staging"),
        ("db-1", "paris-eu", "prod"),
    ):
        answer = api.deploy(name, "bp", site=site, labels={"env": [env]})
        assert answer.status_code == 201, answer.text
    return ["db-1", "web-1", "web-2", "web-3"]


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return sorted(d["id"] if "id" in d else d["name"] for d in answer.json())


def test_deployment_labels_change(api: Api, fleet: list[str]) -> None:
    body = {"labels": {"Tier": ["web"], "env": ["eu"]}, "remove_labels": []}
    answer = api.call("PATCH", "/deployments/web-1", json=body, role=Role.OPERATOR)
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == {"env": ["prod", "eu"], "tier": ["web"]}
    answer = api.call("PATCH", "/deployments/web-1", json={"remove_labels": ["env=prod"]})
    assert answer.json()["labels"] == {"env": ["eu"], "tier": ["web"]}
    answer = api.call(
        "PATCH", "/deployments/web-1", json={"labels": {"a": ["1"]}, "replace_labels": True}
    )
    assert answer.json()["labels"] == {"a": ["1"]}
    before = _snapshot(api.manager)
    refused = api.call("PATCH", "/deployments/web-1", json={"remove_labels": ["nope"]})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "the deployment has no label 'nope'"
    assert api.call("PATCH", "/deployments/zed", json={}).status_code == 404
    assert api.call("PATCH", "/deployments/web-1", json={}, role=Role.VIEWER).status_code == 403
    assert _snapshot(api.manager) == before


def test_lists_filter_by_rules(api: Api, fleet: list[str]) -> None:
    def listed(*rules: str, path: str = "/deployments", **params: Any) -> list[str]:
        return _ids(api.get(path, params={"filter": list(rules), **params}, role=Role.VIEWER))

    assert listed() == fleet
    assert listed("env=prod") == ["db-1", "web-1", "web-2"]
    assert listed("env=prod", "id starts-with web-") == ["web-1", "web-2"]
    assert listed("site ends-with -eu", "env!=prod") == ["web-3"]
    assert listed("env is null") == []
    assert listed("status=never_installed", "drifted=false") == fleet
    assert listed("blueprint=bp", "id contains 3") == ["web-3"]
    assert listed("region=eu", path="/sites") == ["paris-eu"]
    assert listed("name ends-with -us", path="/sites") == ["ohio-us"]
    assert listed("status=local", path="/sites") == ["local"]
    refused = api.get("/deployments", params={"filter": ["env", "id is null"]})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["field"] == "filter"
    assert "rule 'env'" in error["message"] and "rule 'id is null'" in error["message"]


def test_saved_filters(api: Api, fleet: list[str]) -> None:
    body = {"name": "eu-prod", "rules": ["env=prod", {"type": "attribute", "key": "site",
            "operator": "ends_with", "values": ["-eu"]}], "description": "EU production"}  # fmt: skip
    answer = api.call("POST", "/filters", json=body, role=Role.OPERATOR)
    assert answer.status_code == 201, answer.text
    saved = answer.json()
    assert [r["text"] for r in saved["rules"]] == ["env=prod", "site ends-with -eu"]
    assert saved["rules"][0] == {
        "type": "label", "key": "env", "operator": "any_of", "values": ["prod"], "text": "env=prod"
    }  # fmt: skip
    assert api.get("/filters/eu-prod", role=Role.VIEWER).json() == saved
    sites_filter = {"name": "eu", "kind": "sites", "rules": ["region=eu"]}
    assert api.call("POST", "/filters", json=sites_filter).status_code == 201
    assert _ids(api.get("/filters")) == ["eu", "eu-prod"]
    assert _ids(api.get("/filters", params={"kind": "sites"})) == ["eu"]
    assert _ids(api.get("/deployments", params={"filter_id": "eu-prod"})) == ["db-1", "web-1"]
    both = api.get("/deployments", params={"filter_id": "eu-prod", "filter": "id contains w"})
    assert _ids(both) == ["web-1"]
    assert _ids(api.get("/sites", params={"filter_id": "eu"})) == ["paris-eu"]
    wrong_kind = api.get("/sites", params={"filter_id": "eu-prod"})
    assert wrong_kind.status_code == 422
    assert "picks deployments, not sites" in wrong_kind.json()["error"]["message"]
    before = _snapshot(api.manager)
    for bad, status in (
        ({**body, "rules": ["env=prod", "nonsense"]}, 422),
        ({**body, "rules": []}, 422),
        ({**body, "name": "bad name"}, 422),
        (body, 409),
        ({**sites_filter, "name": "x", "rules": ["blueprint starts-with a"]}, 422),
    ):
        answer = api.call("POST", "/filters", json=bad)
        assert answer.status_code == status, (bad, answer.text)
    assert api.get("/deployments", params={"filter_id": "zed"}).status_code == 422
    assert _snapshot(api.manager) == before
    assert api.call("DELETE", "/filters/eu-prod", role=Role.VIEWER).status_code == 403
    assert api.call("DELETE", "/filters/eu-prod", role=Role.OPERATOR).status_code == 204
    assert api.get("/filters/eu-prod").status_code == 404


def test_groups_create_extend_shrink_get_delete(api: Api, fleet: list[str]) -> None:
    body = {"id": "prod", "deployment_ids": ["web-3"], "filter": ["env=prod", "site=paris-eu"]}
    answer = api.call("POST", "/groups", json=body, role=Role.OPERATOR)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["members"], answer.json()["created_deployments"]) == (3, [])
    got = api.get("/groups/prod", role=Role.VIEWER).json()
    assert [(m["deployment_id"], m["site"], m["status"]) for m in got["deployments"]] == [
        ("db-1", "paris-eu", "never_installed"),
        ("web-1", "paris-eu", "never_installed"),
        ("web-3", "paris-eu", "never_installed"),
    ]
    extended = api.call("POST", "/groups/prod/extend", json={"filter": ["id starts-with web"]})
    assert (extended.json()["changed"], extended.json()["members"]) == (["web-2"], 4)
    shrunk = api.call("POST", "/groups/prod/shrink", json={"deployment_ids": ["db-1", "zed"],
                      "filter": ["env=staging"]})  # fmt: skip
    assert (shrunk.json()["changed"], shrunk.json()["members"]) == (["db-1", "web-3"], 2)
    assert api.manager.store.group_member_ids("prod") == ["web-1", "web-2"]
    assert [(g["id"], g["members"]) for g in api.get("/groups").json()] == [("prod", 2)]
    assert api.call("DELETE", "/groups/prod", role=Role.OPERATOR).status_code == 204
    assert api.get("/groups/prod").status_code == 404
    assert _ids(api.get("/deployments")) == fleet


def test_member_status_follows_executions(api: Api, fleet: list[str]) -> None:
    api.call("POST", "/groups", json={"id": "g", "deployment_ids": ["web-1"]})
    api.manager.store.create_execution(
        executions.Execution(
            id="e1", deployment_id="web-1", workflow_id="install", parameters={},
            status=executions.ExecutionStatus.PENDING, created_at=api.manager.clock.now(),
        ),
        [],
        queue=False,
    )  # fmt: skip
    (member,) = api.get("/groups/g").json()["deployments"]
    assert member["status"] == "in_progress"
    assert _ids(api.get("/deployments", params={"filter": "status=in_progress"})) == ["web-1"]


def test_refused_group_requests_change_nothing(api: Api, fleet: list[str]) -> None:
    api.call("POST", "/groups", json={"id": "g", "deployment_ids": ["web-1"]})
    before = _snapshot(api.manager)
    for method, path, body, status in (
        ("POST", "/groups", {"id": "g"}, 409),
        ("POST", "/groups", {"id": "h", "deployment_ids": ["web-1", "zed"]}, 404),
        ("POST", "/groups", {"id": "h", "filter": ["bad rule!"]}, 422),
        ("POST", "/groups", {"id": "h", "filter_id": "zed"}, 422),
        ("POST", "/groups", {"id": "bad id"}, 422),
        ("POST", "/groups", {"id": "h", "sites": [{"site": "paris-eu"}]}, 422),
        ("POST", "/groups", {"id": "h", "blueprint_id": "bp", "deployment_ids": ["a"]}, 422),
        ("POST", "/groups/g/extend", {"deployment_ids": ["zed"]}, 404),
        ("POST", "/groups/g/extend", {}, 422),
        ("POST", "/groups/g/shrink", {"filter": ["x starts-with y"]}, 422),
        ("POST", "/groups/zed/extend", {"deployment_ids": ["web-1"]}, 404),
        ("DELETE", "/groups/zed", None, 404),
    ):
        answer = api.call(method, path, json=body)
        assert answer.status_code == status, (path, body, answer.text)
    assert _snapshot(api.manager) == before


def test_a_group_of_new_deployments_one_per_site(api: Api, fleet: list[str]) -> None:
    _site(api, "rome-eu", region=["eu"])
    rows = [
        {"site": "paris-eu", "inputs": {"port": 9001}, "labels": {"tier": ["edge"]}},
        {"site": "ohio-us", "deployment_id": "web-ohio", "inputs": {"stage": "prod"}},
    ]
    body = {"id": "wave", "blueprint_id": "bp", "sites": rows, "inputs": {"port": 9000}}
    answer = api.call("POST", "/groups", json=body, role=Role.OPERATOR)
    assert answer.status_code == 201, answer.text
    assert answer.json()["created_deployments"] == ["wave-paris-eu", "web-ohio"]
    store = api.manager.store
    assert store.group_member_ids("wave") == ["wave-paris-eu", "web-ohio"]
    paris, ohio = store.get_deployment("wave-paris-eu"), store.get_deployment("web-ohio")
    assert (paris.site, paris.inputs["port"], paris.labels) == (
        "paris-eu",
        9001,
        {"tier": ("edge",)},
    )
    assert (ohio.site, ohio.inputs["port"], ohio.inputs["stage"]) == ("ohio-us", 9000, "prod")
    by_filter = {"id": "eu", "blueprint_id": "bp", "site_filter": ["region=eu"]}
    answer = api.call("POST", "/groups", json=by_filter)
    assert answer.json()["created_deployments"] == ["eu-paris-eu", "eu-rome-eu"]


def test_bad_rows_are_all_listed_and_nothing_is_created(api: Api, fleet: list[str]) -> None:
    before = _snapshot(api.manager)
    rows = [
        {"site": "paris-eu", "inputs": {"port": 9001}},
        {"site": "mars", "inputs": {"port": 80}},
        {"site": "ohio-us", "deployment_id": "wave-paris-eu", "inputs": {"stage": "qa"}},
    ]
    answer = api.call("POST", "/groups", json={"id": "wave", "blueprint_id": "bp", "sites": rows})
    assert answer.status_code == 422, answer.text
    problems = [p["message"] for p in answer.json()["error"]["problems"]]
    assert any(p.startswith("row 2 (site mars): site 'mars' does not exist") for p in problems)
    assert any(p.startswith("row 2 (site mars): ") and "port" in p for p in problems)
    assert any("row 3 (site ohio-us): deployment id 'wave-paris-eu' is also row 1's" in p
               for p in problems)  # fmt: skip
    assert any(p.startswith("row 3 (site ohio-us): ") and "stage" in p for p in problems)
    assert not any(p.startswith("row 1") for p in problems)
    taken = {"id": "wave", "blueprint_id": "bp", "sites": [{"site": "paris-eu"},
             {"site": "ohio-us", "deployment_id": "web-2"}]}  # fmt: skip
    answer = api.call("POST", "/groups", json=taken)
    assert answer.status_code == 409
    assert "web-2 already exists; nothing was created" in answer.json()["error"]["message"]
    none = api.call("POST", "/groups", json={"id": "w", "blueprint_id": "bp",
                    "site_filter": ["region=mars"]})  # fmt: skip
    assert none.status_code == 422 and "no site matches region=mars" in none.text
    assert _snapshot(api.manager) == before
