"""Errors are JSON with a code and a message, never a traceback."""

from __future__ import annotations

import pytest
from api_support import Api

from cairn.services import status


def test_unknown_route_and_method(api: Api) -> None:
    answer = api.get("/nothing-here")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    wrong = api.call("PATCH", "/deployments")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_body(api: Api) -> None:
    answer = api.call(
        "POST", "/secrets", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"


def test_every_problem_in_a_body_is_listed(api: Api) -> None:
    answer = api.call("POST", "/executions", json={"parameters": 3})
    error = answer.json()["error"]
    assert answer.status_code == 422
    fields = {p["field"] for p in error["problems"]}
    assert {"body.deployment_id", "body.workflow_id", "body.parameters"} <= fields


def test_internal_errors_hide_details(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kw: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(status, "summary", explode)
    answer = api.get("/status")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal"
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text


def test_status_counts(api: Api) -> None:
    api.upload("bp")
    found = api.get("/status").json()
    assert found["blueprints"] == 1 and found["deployments"] == 0
    assert found["version"]
