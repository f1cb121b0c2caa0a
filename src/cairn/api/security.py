"""Bearer-token access: every route but the public ones depends on :class:`Require`.

``Require(role)`` authenticates the caller (401 without a valid token) and checks the role
(403 when it is too weak). Which role a route needs is read back from the route table by
:func:`required_role`: the API docs state it for each route, and a test checks every route
refuses a missing token and a too-weak one, so no route can be added without a rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
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


def manager(request: Request) -> manager_mod.Manager:
    found: manager_mod.Manager = request.app.state.manager
    return found


class Require:
    """A dependency: the caller, once known to hold at least ``role``."""

    def __init__(self, role: runtime.Role) -> None:
        self.role = role

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> auth.Caller:
        value = credentials.credentials if credentials is not None else None
        found = manager(request)
        caller = auth.identify(found.store, value, found.callers)
        auth.require(caller, self.role)
        return caller


VIEWER = Require(runtime.Role.VIEWER)
OPERATOR = Require(runtime.Role.OPERATOR)
ADMIN = Require(runtime.Role.ADMIN)

Manager = Annotated[manager_mod.Manager, Depends(manager)]
Viewer = Annotated[auth.Caller, Depends(VIEWER)]
Operator = Annotated[auth.Caller, Depends(OPERATOR)]
Admin = Annotated[auth.Caller, Depends(ADMIN)]


def required_role(route: APIRoute) -> runtime.Role | None:
    """The role ``route`` requires, None if it requires no token."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, Require):
            return dependency.call.role
        pending.extend(dependency.dependencies)
    return None
