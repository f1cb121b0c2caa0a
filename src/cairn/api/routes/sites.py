"""``/sites``: places where deployments run; their status, labels and agent tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cairn.api import security, site_schemas
from cairn.model import filters as filter_model
from cairn.services import filters, sites

router = APIRouter(prefix="/sites", tags=["sites"])


@router.get(
    "",
    summary="List sites",
    description="Every site by name, with its status computed now (online, offline, "
    "never_seen, local), its agent's last poll and how many deployments it has. `filter` "
    "(repeatable: `region=eu`, `name starts-with par`, `status=online`, ...) and `filter_id` "
    "(a saved filter of sites) keep those every rule matches.",
)
def list_sites(
    manager: security.Manager,
    _caller: security.Viewer,
    filter: Annotated[
        list[str] | None, Query(description="A filter rule; repeatable, all must hold.")
    ] = None,
    filter_id: Annotated[str | None, Query(description="A saved filter's name.")] = None,
) -> list[site_schemas.SiteOut]:
    kind = filter_model.Kind.SITES
    rules = filters.resolve(manager, rules=filter or (), filter_id=filter_id, kind=kind)
    return [site_schemas.site_out(view) for view in filters.select_sites(manager, rules)]


@router.post(
    "",
    status_code=201,
    summary="Create a site",
    description="A new site with a location and labels. Its agent needs a token "
    "(`POST /sites/{name}/token`). Refused (409) if the name is taken.",
)
def create_site(
    body: site_schemas.SiteCreate, manager: security.Manager, caller: security.Operator
) -> site_schemas.SiteOut:
    created = sites.create(
        manager,
        name=body.name,
        location=sites.Location(latitude=body.location.latitude, longitude=body.location.longitude),
        labels=body.labels,
        description=body.description,
        user=caller.user,
    )
    return site_schemas.site_out(created)


@router.get("/{name}", summary="Get a site", description="One site, as in the list.")
def get_site(
    name: str, manager: security.Manager, _caller: security.Viewer
) -> site_schemas.SiteOut:
    return site_schemas.site_out(sites.get(manager, name))


@router.patch(
    "/{name}",
    summary="Update a site",
    description="Changes the location, labels or description; what is left out stays. "
    "Labels: `replace_labels` drops them all first, then `remove_labels` are removed and "
    "`labels` added.",
)
def update_site(
    name: str,
    body: site_schemas.SiteUpdate,
    manager: security.Manager,
    _caller: security.Operator,
) -> site_schemas.SiteOut:
    updated = sites.update(
        manager,
        name,
        location=site_schemas.location(body.location),
        labels=body.labels,
        remove_labels=body.remove_labels,
        replace_labels=body.replace_labels,
        description=body.description,
    )
    return site_schemas.site_out(updated)


@router.delete(
    "/{name}",
    status_code=204,
    summary="Delete a site",
    description="Deletes a site and revokes its agent tokens. Refused (409) for the built-in "
    "site `local` and while deployments are placed on the site.",
)
def delete_site(name: str, manager: security.Manager, _caller: security.Operator) -> Response:
    sites.delete(manager, name)
    return Response(status_code=204)


@router.post(
    "/{name}/token",
    status_code=201,
    summary="Issue the site's agent token",
    description="A new agent token for the site, in this answer only; the site's previous "
    "tokens are revoked at once. The token lets an agent fetch and report its own site's "
    "work and nothing else. Refused (409) for `local`, which has no agent.",
)
def issue_token(
    name: str, manager: security.Manager, _caller: security.Admin
) -> site_schemas.SiteToken:
    return site_schemas.site_token(name, sites.token(manager, name))
