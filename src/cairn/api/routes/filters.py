"""``/filters``: saved filter rules that pick deployments or sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api import group_schemas, security
from cairn.services import filters

router = APIRouter(prefix="/filters", tags=["filters"])


@router.get(
    "",
    summary="List saved filters",
    description="Every saved filter by name; `kind` keeps those of deployments or of sites.",
)
def list_filters(
    manager: security.Manager,
    _caller: security.Viewer,
    kind: Annotated[str | None, Query(description="deployments or sites.")] = None,
) -> list[group_schemas.FilterOut]:
    wanted = filters.parse_kind(kind) if kind else None
    return [group_schemas.filter_out(f) for f in filters.list_(manager, kind=wanted)]


@router.post(
    "",
    status_code=201,
    summary="Save a filter",
    description="Saves rules under a name, for `filter_id` in deployment and site lists and "
    "in groups. Every bad rule is listed (422); a taken name is a 409.",
)
def create_filter(
    body: group_schemas.FilterCreate, manager: security.Manager, caller: security.Operator
) -> group_schemas.FilterOut:
    saved = filters.create(
        manager,
        name=body.name,
        kind=filters.parse_kind(body.kind),
        rules=body.rules,
        description=body.description,
        user=caller.user,
    )
    return group_schemas.filter_out(saved)


@router.get("/{name}", summary="Get a saved filter", description="One saved filter.")
def get_filter(
    name: str, manager: security.Manager, _caller: security.Viewer
) -> group_schemas.FilterOut:
    return group_schemas.filter_out(filters.get(manager, name))


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a saved filter",
    description="Groups made with it keep their members.",
)
def delete_filter(name: str, manager: security.Manager, _caller: security.Operator) -> Response:
    filters.delete(manager, name)
    return Response(status_code=204)
