"""The OpenAPI document describes every route: summary, description, role, shapes."""

from __future__ import annotations

from typing import Any

from api_support import Api

METHODS = {"get", "put", "post", "delete", "patch"}


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_summary_description_and_role(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    operations = _operations(document)
    assert len(operations) >= 25
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        assert len(operation.get("description", "")) > 30, where
        assert "role" in operation["description"] or "no token" in operation["description"], where


def test_bodies_and_answers_have_schemas(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for method, path, operation in _operations(document):
        where = f"{method.upper()} {path}"
        ok = next(code for code in operation["responses"] if code.startswith("2"))
        if ok != "204":
            content = operation["responses"][ok].get("content") or {}
            assert content, where
        actions = ("cancel", "resume", "pause", "retry-failed")
        bodiless = (path.rsplit("/", 1)[-1] in actions, path.endswith("/token"))
        if method in {"put", "post"} and not any(bodiless):
            assert "requestBody" in operation, where
        if path != "/api/v1/health":
            assert "401" in operation["responses"], where
            assert operation.get("security"), where
    upload = document["paths"]["/api/v1/blueprints/{blueprint_id}"]["put"]
    assert "application/gzip" in upload["requestBody"]["content"]
    schemas = document["components"]["schemas"]
    assert {"ErrorOut", "DeploymentCreate", "ExecutionOut", "EventPage"} <= set(schemas)
