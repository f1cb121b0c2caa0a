"""The HTTP API: :func:`create_app` builds the FastAPI application around a manager.

Routes live under ``/api/v1``, one router per resource (:mod:`cairn.api.routes`); each is
thin: read the request, call one service function, shape the answer with
:mod:`cairn.api.schemas`. Access rules are in :mod:`cairn.api.security`, error shapes in
:mod:`cairn.api.failures`. The OpenAPI document is at ``/openapi.json``, browsable at
``/docs``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

import cairn
from cairn.api import failures, security
from cairn.api.routes import (
    agent,
    blueprints,
    deployments,
    drift,
    events,
    executions,
    filters,
    groups,
    node_instances,
    rollouts,
    secrets,
    sites,
    system,
    tokens,
    updates,
)
from cairn.services import manager as manager_mod

PREFIX = "/api/v1"
DESCRIPTION = """\
Cairn's manager: blueprints, deployments, workflow executions, their events, secrets,
tokens and sites. Every route but `/api/v1/health` needs a bearer token (`Authorization: Bearer
TOKEN`). Roles: **viewer** reads; **operator** also runs workflows and manages blueprints,
deployments and sites; **admin** may do everything, tokens and secrets included. An
**agent** token belongs to one site and only serves that site's agent.

Errors are JSON: `{"error": {"code", "message", "field", "problems"}}`.
"""


# Matched in this order, one route after the other, for every request: the agents' routes
# come first, as they are most of the traffic (every poll, acknowledgement and report), then
# executions (started by scripts and rollouts in bulk).
ROUTERS = (
    agent.router,
    executions.router,
    system.router,
    blueprints.router,
    deployments.router,
    updates.router,
    drift.router,
    node_instances.router,
    events.router,
    secrets.router,
    tokens.router,
    sites.router,
    rollouts.router,
    filters.router,
    groups.router,
)


def create_app(manager: manager_mod.Manager) -> FastAPI:
    """The API application serving ``manager`` (which the caller opens and closes)."""
    app = FastAPI(
        title="Cairn",
        version=cairn.__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.manager = manager
    failures.install(app)
    # each router straight on the app, not under one /api/v1 router: a nested router is
    # matched again at each level, a cost every request pays
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX, responses=failures.ERROR_RESPONSES)
    return app


def routes() -> list[tuple[str, APIRoute]]:
    """Every API route with its full path (``/api/v1/...``)."""
    return [
        (PREFIX + route.path, route)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def _document_roles() -> None:
    """Say in each route's description which role it needs, read from its dependencies."""
    for _path, route in routes():
        role = security.required_role(route)
        rule = f"Requires the **{role.value}** role." if role else "Needs no token."
        route.description = f"{route.description}\n\n{rule}".strip()
        route.openapi_extra = {
            **(route.openapi_extra or {}),
            "x-required-role": role.value if role else None,
            # where the token is read without the ``bearer`` dependency (the agents' routes)
            **(
                {"security": [{security.bearer.scheme_name: []}]}
                if role and not _bearer(route)
                else {}
            ),
        }


def _bearer(route: APIRoute) -> bool:
    """Whether ``route`` reads its token through the ``bearer`` dependency (which documents
    it in OpenAPI)."""
    return any(call is security.bearer for call in security.dependency_calls(route))


_document_roles()
