"""Serving the API with uvicorn: the application factory that ``cairn up`` runs.

The CLI may not import this package (entry points are independent), so ``cairn up`` hands
uvicorn the import string of :func:`app_from_environment` and its settings through the
environment: ``CAIRN_DATA_DIR`` and ``CAIRN_DATABASE_URL``. The factory opens the manager
(which starts the engine), makes sure an admin token exists, and closes the manager when
uvicorn shuts down (SIGTERM and SIGINT included).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI

from cairn.api import app as app_mod
from cairn.services import auth, profiles
from cairn.services import manager as manager_mod

FACTORY = "cairn.api.server:app_from_environment"
log = logging.getLogger("cairn.manager")


def app_from_environment() -> FastAPI:
    """Open the manager named by the environment and serve it."""
    data_dir = profiles.data_dir()
    database_url = os.environ.get("CAIRN_DATABASE_URL") or None
    manager = manager_mod.Manager.open(pathlib.Path(data_dir), database_url=database_url)
    try:
        token_path = auth.ensure_admin_token(manager)
    except BaseException:
        manager.close()
        raise
    log.info("data directory %s; admin token in %s", data_dir, token_path)
    app = app_mod.create_app(manager)
    app.router.lifespan_context = _closing(manager)
    return app


def _closing(
    manager: manager_mod.Manager,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            manager.close()

    return lifespan
