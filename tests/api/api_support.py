"""Helpers for API tests: a sample blueprint and a client that carries a role's token."""

from __future__ import annotations

import textwrap
from typing import Any

import httpx

from cairn.model import runtime
from cairn.services.manager import Manager

Role = runtime.Role
BLUEPRINT = textwrap.dedent(
    """\
    tosca_definitions_version: cloudify_dsl_1_4
    description: A server and nothing else.
    imports:
      - cloudify/types/types.yaml
    inputs:
      port:
        type: integer
        default: 8080
        constraints:
          - in_range: [1024, 65535]
      stage:
        type: string
        default: dev
        constraints:
          - valid_values: [dev, prod]
    node_templates:
      server:
        type: cloudify.nodes.WebServer
        properties:
          port: { get_input: port }
    outputs:
      port:
        description: the port
        value: { get_attribute: [server, port] }
      address:
        value: { concat: [ "http://host:", { get_property: [server, port] } ] }
      password:
        value: { get_secret: db_password }
    capabilities:
      endpoint:
        value: { get_attribute: [server, endpoint] }
    """
)


class Api:
    """The app through a test client; ``role`` picks the token a request carries."""

    def __init__(self, client: httpx.Client, tokens: dict[Role, str], manager: Manager) -> None:
        self.client = client
        self.tokens = tokens
        self.manager = manager

    def headers(self, role: Role | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def call(self, method: str, path: str, *, role: Role | None = Role.ADMIN, **kw: Any) -> Any:
        headers = {**self.headers(role), **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def upload(self, blueprint_id: str, text: str = BLUEPRINT, **kw: Any) -> Any:
        return self.call("PUT", f"/blueprints/{blueprint_id}", content=text.encode(), **kw)

    def deploy(self, deployment_id: str, blueprint_id: str, **body: Any) -> Any:
        return self.call(
            "PUT", f"/deployments/{deployment_id}", json={"blueprint_id": blueprint_id, **body}
        )
