"""A real manager (SQLite file, no engine) behind the real FastAPI app, one token per role."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import api_support
import httpx
import pytest

import http_serving
from cairn.api import app as app_mod
from cairn.model import runtime
from cairn.services import auth
from cairn.services.manager import Manager

Role = runtime.Role


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[Manager]:
    opened = Manager.open(tmp_path / "data", start_engine=False)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tokens(manager: Manager) -> dict[Role, str]:
    return {role: auth.create(manager, role=role, description=role.value).value for role in Role}


def serving(manager: Manager) -> contextlib.AbstractContextManager[str]:
    """The app served by uvicorn on a free loopback port, in a thread; its base URL."""
    return http_serving.serving(app_mod.create_app(manager))


@pytest.fixture
def api(manager: Manager, tokens: dict[Role, str]) -> Iterator[api_support.Api]:
    with serving(manager) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield api_support.Api(client, tokens, manager)


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[api_support.Api]:
    """One manager and server for a whole module, for tests that change nothing."""
    opened = Manager.open(tmp_path_factory.mktemp("shared") / "data", start_engine=False)
    tokens = {r: auth.create(opened, role=r, description=r.value).value for r in Role}
    try:
        with serving(opened) as url, httpx.Client(base_url=url, timeout=30) as client:
            yield api_support.Api(client, tokens, opened)
    finally:
        opened.close()
