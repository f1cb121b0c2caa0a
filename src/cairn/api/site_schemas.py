"""Request and response bodies of ``/sites`` (Pydantic), and their conversions.

Kept apart from :mod:`cairn.api.schemas` so that sites, and the agent endpoints that come
with them, do not grow that module past a readable size.
"""

from __future__ import annotations

import datetime

from pydantic import BaseModel, Field

from cairn.api import schemas
from cairn.model import runtime
from cairn.model import sites as model
from cairn.services import auth, sites


class Location(BaseModel):
    latitude: float = Field(description="Decimal degrees, -90 to 90.")
    longitude: float = Field(description="Decimal degrees, -180 to 180.")


class SiteCreate(schemas.Body):
    name: str = Field(
        description="Letters, digits, '_', '-' and '.', starting with one of the first two."
    )
    location: Location
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="KEY: [VALUE, ...]; keys are lower-cased."
    )
    description: str | None = None


class SiteUpdate(schemas.Body):
    location: Location | None = Field(default=None, description="The new location, if any.")
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="Label values to add (after removals)."
    )
    remove_labels: list[str] = Field(
        default_factory=list, description="KEY removes a label, KEY=VALUE one of its values."
    )
    replace_labels: bool = Field(
        default=False, description="Drop every label first: `labels` become the site's labels."
    )
    description: str | None = Field(
        default=None, description="The new description; an empty string clears it."
    )


class SiteOut(BaseModel):
    name: str
    status: model.SiteStatus = Field(
        description="online (agent seen within the last "
        f"{int(model.ONLINE_WINDOW.total_seconds())} s), offline, never_seen, or local."
    )
    last_seen: datetime.datetime | None = Field(description="The agent's last poll.")
    agent_version: str | None
    agent_address: str | None = Field(description="Where the agent's last poll came from.")
    deployments: int = Field(description="How many deployments are placed on the site.")
    location: Location | None
    labels: dict[str, list[str]]
    description: str | None
    created_at: datetime.datetime
    created_by: str


class SiteToken(BaseModel):
    site: str
    id: str
    role: runtime.Role
    created_at: datetime.datetime
    token: str = Field(
        description="The agent's bearer token; shown this once. Earlier tokens of the site "
        "are revoked."
    )


class DeploymentSite(schemas.Body):
    site: str = Field(description="The site to move the deployment to.")


def location(given: Location | None) -> sites.Location | None:
    if given is None:
        return None
    return sites.Location(latitude=given.latitude, longitude=given.longitude)


def site_out(view: sites.SiteView) -> SiteOut:
    site = view.site
    where = None
    if site.latitude is not None and site.longitude is not None:
        where = Location(latitude=site.latitude, longitude=site.longitude)
    return SiteOut(
        name=site.name,
        status=view.status,
        last_seen=site.last_seen,
        agent_version=site.agent_version,
        agent_address=site.agent_address,
        deployments=view.deployments,
        location=where,
        labels={k: list(v) for k, v in site.labels.items()},
        description=site.description,
        created_at=site.created_at,
        created_by=site.created_by,
    )


def site_token(name: str, issued: auth.IssuedToken) -> SiteToken:
    return SiteToken(
        site=name,
        id=issued.token.id,
        role=issued.token.role,
        created_at=issued.token.created_at,
        token=issued.value,
    )
