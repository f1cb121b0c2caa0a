"""Bearer-token access: every route but the public ones depends on :class:`Require`.

``Require(role)`` authenticates the caller (401 without a valid token) and checks the role
(403 when it is too weak). Which role a route needs is read back from the route table by
:func:`required_role`: the API docs state it for each route, and a test checks every route
refuses a missing token and a too-weak one, so no route can be added without a rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cairn.model import runtime
from cairn.services import auth
from cairn.services import manager as manager_mod

PUBLIC_PATHS = frozenset({"/api/v1/health"})

bearer = HTTPBearer(
    auto_error=False,
    description="A Cairn API token: `cairn up` writes an admin token to <data dir>/admin.token; "
    "`cairn tokens create` makes more.",
)


# The dependencies are coroutines: FastAPI runs a plain function dependency in its thread
# pool, a hop to a worker thread and back that every request would pay, often several times.


async def manager(request: Request) -> manager_mod.Manager:
    return manager_of(request)


def manager_of(request: Request) -> manager_mod.Manager:
    found: manager_mod.Manager = request.app.state.manager
    return found


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, as :data:`bearer` reads it."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return (value.strip() or None) if scheme.lower() == "bearer" else None


async def caller(request: Request, value: str | None) -> auth.Caller:
    """Who holds the bearer token ``value``: from the manager's memory of valid tokens when
    it is there (no thread, no read), else looked up in the store from a worker thread."""
    found = manager_of(request)
    remembered = auth.remembered(found.callers, value)
    if remembered is not None:
        return remembered
    return await run_in_threadpool(auth.identify, found.store, value, found.callers)


class Require:
    """A dependency: the caller, once known to hold at least ``role``."""

    def __init__(self, role: runtime.Role) -> None:
        self.role = role

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> auth.Caller:
        found = await caller(request, credentials.credentials if credentials else None)
        auth.require(found, self.role)
        return found


VIEWER = Require(runtime.Role.VIEWER)
OPERATOR = Require(runtime.Role.OPERATOR)
ADMIN = Require(runtime.Role.ADMIN)

Manager = Annotated[manager_mod.Manager, Depends(manager)]
Viewer = Annotated[auth.Caller, Depends(VIEWER)]
Operator = Annotated[auth.Caller, Depends(OPERATOR)]
Admin = Annotated[auth.Caller, Depends(ADMIN)]


def dependency_calls(route: APIRoute) -> Iterator[Any]:
    """What every dependency of ``route`` calls, nested ones included."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        yield dependency.call
        pending.extend(dependency.dependencies)


def required_role(route: APIRoute) -> runtime.Role | None:
    """The role ``route`` requires, None if it requires no token."""
    return next((c.role for c in dependency_calls(route) if isinstance(c, Require)), None)
