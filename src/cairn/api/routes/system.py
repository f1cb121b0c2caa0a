"""``/health`` (no token needed) and ``/status``."""

from __future__ import annotations

from fastapi import APIRouter

from cairn.api import schemas, security
from cairn.services import status

router = APIRouter(tags=["system"])


@router.get(
    "/health",
    summary="Is the manager up",
    description="Answers 200 once the manager serves requests. The only route without a token.",
)
def health() -> schemas.HealthOut:
    return schemas.HealthOut()


@router.get(
    "/status",
    summary="Version and counts",
    description="Cairn's version and how many blueprints, deployments, executions "
    "(by status) and secrets the manager holds.",
)
def get_status(manager: security.Manager, _caller: security.Viewer) -> schemas.StatusOut:
    found = status.summary(manager)
    return schemas.StatusOut(
        version=found.version,
        blueprints=found.blueprints,
        deployments=found.deployments,
        executions=dict(found.executions),
        secrets=found.secrets,
    )
