"""Every route refuses a missing or unknown token (401) and a too-weak role (403).

The cases are generated from the app's route table (every operation the app serves, as its
OpenAPI document lists them), so a route added later is checked without anyone writing a
test for it; a route that declares no role fails here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection

import pytest
from api_support import Api

from cairn.api import app as app_mod
from cairn.api import security
from cairn.model import runtime
from cairn.services import auth

Role = runtime.Role
Token = runtime.Token
WEAKER = {Role.VIEWER: Role.AGENT, Role.OPERATOR: Role.VIEWER, Role.ADMIN: Role.OPERATOR}


def _routes() -> list[tuple[str, str, Role | None]]:
    """(method, path with ``x`` for parameters, required role) of every served operation."""
    app = app_mod.create_app(manager=None)  # type: ignore[arg-type]  # routes only
    roles: dict[tuple[str, str], Role | None] = {
        (method, path): security.required_role(route)
        for path, route in app_mod.routes()
        for method in route.methods
    }
    found = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            role = roles.get((method.upper(), path))
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path), role))
    served = {(m, re.sub(r"\{[^}]+\}", "x", p)) for m, p in roles}
    assert served == {(m, p) for m, p, _ in found}, "a route is missing from the OpenAPI document"
    return found


ROUTES = _routes()
PROTECTED = [(m, p, r) for m, p, r in ROUTES if p not in security.PUBLIC_PATHS]


def test_the_table_covers_the_api() -> None:
    paths = {p for _, p, _ in ROUTES}
    assert len(ROUTES) >= 25
    assert {"/api/v1/blueprints/x", "/api/v1/events/stream", "/api/v1/tokens"} <= paths
    assert all(p.startswith("/api/v1/") for p in paths)


@pytest.mark.parametrize(("method", "path", "role"), PROTECTED, ids=str)
def test_every_route_names_a_role(method: str, path: str, role: Role | None) -> None:
    assert role is not None, f"{method} {path} requires no role"


@pytest.mark.parametrize(("method", "path", "role"), PROTECTED, ids=str)
def test_missing_and_unknown_tokens_get_401(
    shared_api: Api, method: str, path: str, role: Role
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eDp5"}):
        answer = shared_api.client.request(method, path, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json()["error"]["code"] == "unauthenticated"
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "role"), PROTECTED, ids=str)
def test_revoked_tokens_get_401(shared_api: Api, method: str, path: str, role: Role) -> None:
    issued = auth.create(shared_api.manager, role=Role.ADMIN, description="soon revoked")
    auth.revoke(shared_api.manager, issued.token.id)
    answer = shared_api.client.request(
        method, path, headers={"Authorization": f"Bearer {issued.value}"}
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [(m, p, r) for m, p, r in PROTECTED if r in WEAKER],
    ids=str,
)
def test_too_weak_roles_get_403(shared_api: Api, method: str, path: str, role: Role) -> None:
    for weaker in (r for r in Role if not auth.allows(r, role)):
        answer = shared_api.client.request(method, path, headers=shared_api.headers(weaker))
        assert answer.status_code == 403, (weaker, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
        assert role.value in answer.json()["error"]["message"]


def test_health_needs_no_token_and_docs_are_public(api: Api) -> None:
    assert api.client.get("/api/v1/health").json() == {"status": "ok"}
    assert api.client.get("/openapi.json").status_code == 200
    assert api.client.get("/docs").status_code == 200


def test_roles_are_what_the_issue_says() -> None:
    rules = {(m, p): r for m, p, r in ROUTES}
    assert rules[("GET", "/api/v1/deployments")] is Role.VIEWER
    assert rules[("POST", "/api/v1/executions")] is Role.OPERATOR
    assert rules[("PUT", "/api/v1/blueprints/x")] is Role.OPERATOR
    assert rules[("POST", "/api/v1/secrets")] is Role.ADMIN
    assert rules[("GET", "/api/v1/secrets/x")] is Role.OPERATOR
    assert rules[("GET", "/api/v1/secrets")] is Role.VIEWER
    assert all(r is Role.ADMIN for (m, p), r in rules.items() if p.startswith("/api/v1/tokens"))
    assert rules[("GET", "/api/v1/sites")] is Role.VIEWER
    assert rules[("GET", "/api/v1/sites/x")] is Role.VIEWER
    assert rules[("POST", "/api/v1/sites")] is Role.OPERATOR
    assert rules[("PATCH", "/api/v1/sites/x")] is Role.OPERATOR
    assert rules[("DELETE", "/api/v1/sites/x")] is Role.OPERATOR
    assert rules[("POST", "/api/v1/sites/x/token")] is Role.ADMIN
    assert rules[("PUT", "/api/v1/deployments/x/site")] is Role.OPERATOR


def test_a_token_in_use_stops_working_the_moment_it_is_revoked(api: Api) -> None:
    """Valid tokens are remembered for a few seconds (``auth.Callers``); a revocation through
    this manager, by any of its three ways, forgets them at once."""
    issued = auth.create(api.manager, role=Role.ADMIN, description="in use")
    headers = {"Authorization": f"Bearer {issued.value}"}
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 200  # remembered
    assert api.call("DELETE", f"/tokens/{issued.token.id}").status_code == 200
    assert api.client.get("/api/v1/tokens", headers=headers).status_code == 401

    api.call(
        "POST", "/sites", json={"name": "lyon", "location": {"latitude": 45.7, "longitude": 4.8}}
    )
    agent = {"Authorization": f"Bearer {api.call('POST', '/sites/lyon/token').json()['token']}"}
    poll = {"agent_version": "t", "running": [], "wait": 0}
    assert (
        api.client.post("/api/v1/sites/lyon/agent/poll", json=poll, headers=agent).status_code
        == 200
    )
    assert api.call("POST", "/sites/lyon/token").status_code == 201  # rotated: the old one revoked
    assert (
        api.client.post("/api/v1/sites/lyon/agent/poll", json=poll, headers=agent).status_code
        == 401
    )

    agent = {"Authorization": f"Bearer {api.call('POST', '/sites/lyon/token').json()['token']}"}
    assert (
        api.client.post("/api/v1/sites/lyon/agent/poll", json=poll, headers=agent).status_code
        == 200
    )
    assert api.call("DELETE", "/sites/lyon").status_code == 204
    assert (
        api.client.post("/api/v1/sites/lyon/agent/poll", json=poll, headers=agent).status_code
        == 401
    )


def test_a_token_revoked_elsewhere_works_here_for_the_cache_time_at_most(api: Api) -> None:
    """Another replica's revocation (here: straight in the shared store) is seen once the
    remembered entry expires, ``ttl`` seconds after it was looked up."""
    callers = auth.Callers(ttl=0.3)
    issued = auth.create(api.manager, role=Role.VIEWER, description="elsewhere")
    store = api.manager.store
    assert auth.identify(store, issued.value, callers).token_id == issued.token.id
    store.revoke_token(issued.token.id)
    assert auth.identify(store, issued.value, callers).token_id == issued.token.id  # remembered
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            auth.identify(store, issued.value, callers)
        except auth.InvalidToken:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a token revoked in the store kept working past the cache's ttl")
    with pytest.raises(auth.InvalidToken):  # and an invalid token is never remembered
        auth.identify(store, issued.value, callers)


def test_remembered_tokens_are_revalidated_in_one_read_and_revoked_ones_dropped(api: Api) -> None:
    """The manager's thread looks every remembered token up again each ``ttl / 2``: a token
    in use stays remembered past its ``ttl`` without a read per request, and one revoked
    elsewhere (straight in the shared store) is dropped at the next revalidation."""
    store = api.manager.store
    kept = auth.create(api.manager, role=Role.VIEWER, description="kept")
    revoked = auth.create(api.manager, role=Role.VIEWER, description="revoked elsewhere")
    callers = auth.Callers(ttl=0.4)
    for issued in (kept, revoked):
        auth.identify(store, issued.value, callers)
    lookups: list[int] = []

    def lookup(digests: Collection[str]) -> dict[str, Token]:
        lookups.append(len(digests))
        return store.find_tokens(digests)

    store.revoke_token(revoked.token.id)
    callers.start(lookup)
    try:
        time.sleep(1.0)  # past the ttl: only revalidation keeps an entry
        assert callers.get(auth.digest(kept.value)) is not None
        assert callers.get(auth.digest(revoked.value)) is None
        assert lookups and lookups[0] == 2  # both in one read
    finally:
        callers.close()


def test_revalidation_does_not_bring_back_what_a_revocation_here_forgot(api: Api) -> None:
    store = api.manager.store
    issued = auth.create(api.manager, role=Role.VIEWER, description="rotated here")
    callers = auth.Callers(ttl=30.0)
    auth.identify(store, issued.value, callers)

    def lookup_then_forget(digests: Collection[str]) -> dict[str, Token]:
        found = store.find_tokens(digests)  # read while still valid...
        callers.forget()  # ...then revoked through this manager before the answer lands
        return found

    callers.revalidate(lookup_then_forget)
    assert callers.get(auth.digest(issued.value)) is None


def test_find_tokens_answers_the_known_digests_revoked_ones_included(api: Api) -> None:
    store = api.manager.store
    one = auth.create(api.manager, role=Role.VIEWER, description="one")
    two = auth.create(api.manager, role=Role.OPERATOR, description="two")
    store.revoke_token(two.token.id)
    found = store.find_tokens([auth.digest(one.value), auth.digest(two.value), "0" * 64])
    assert set(found) == {auth.digest(one.value), auth.digest(two.value)}
    assert found[auth.digest(two.value)].revoked and not found[auth.digest(one.value)].revoked
    assert store.find_tokens([]) == {}


def test_the_openapi_document_names_the_bearer_scheme_once_on_every_protected_route() -> None:
    """Agent routes read their token from the header themselves (one dependency fewer per
    poll); the document must still say they need it, like every other protected route."""
    document = app_mod.create_app(manager=None).openapi()  # type: ignore[arg-type]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            expected = None if path in security.PUBLIC_PATHS else [{"HTTPBearer": []}]
            assert operation.get("security") == expected, f"{method.upper()} {path}"


def test_an_agent_route_reads_the_bearer_scheme_case_blind_and_refuses_others(api: Api) -> None:
    site = {"name": "nice", "location": {"latitude": 43.7, "longitude": 7.3}}
    assert api.call("POST", "/sites", json=site).status_code == 201
    value = api.call("POST", "/sites/nice/token").json()["token"]
    poll = {"agent_version": "t", "running": [], "wait": 0}
    url = "/api/v1/sites/nice/agent/poll"
    for header, status in [
        (f"Bearer {value}", 200),
        (f"bearer {value}", 200),
        (f"Basic {value}", 401),
        ("Bearer", 401),
        (value, 401),
    ]:
        answer = api.client.post(url, json=poll, headers={"Authorization": header})
        assert answer.status_code == status, (header, answer.text)
