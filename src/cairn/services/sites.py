"""Site use cases: create, read, update and delete sites, issue their agent tokens, and
place deployments on them.

A site's status is not stored: it is computed when asked from the last time its agent was
seen (:func:`cairn.model.sites.status`, with the manager's clock), so a site whose agent
dies turns offline without anyone writing anything. The built-in site ``local`` is ensured
when the manager opens (:func:`ensure_local`); it runs operations on the manager's machine,
so it has no agent, no token, and cannot be deleted.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cairn import errors
from cairn.model import runtime
from cairn.model import sites as model
from cairn.services import auth, ids

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod
    from cairn.store import interface


@dataclass(frozen=True, kw_only=True)
class SiteView:
    """A site as users see it: the stored row, its status now, how many deployments."""

    site: model.Site
    status: model.SiteStatus
    deployments: int


@dataclass(frozen=True, kw_only=True)
class Location:
    latitude: float
    longitude: float


def parse_location(text: str, *, field: str = "location") -> Location:
    """``LAT,LONG`` (decimal degrees) as a checked :class:`Location`."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        raise ids.FieldError(
            f"location {text!r}: expected LAT,LONG in decimal degrees, e.g. 48.85,2.35",
            field=field,
        ) from None
    return check_location(latitude, longitude, field=field)


def check_location(latitude: float, longitude: float, *, field: str = "location") -> Location:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise ids.FieldError(f"latitude {latitude} is not between -90 and 90", field=field)
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise ids.FieldError(f"longitude {longitude} is not between -180 and 180", field=field)
    return Location(latitude=latitude, longitude=longitude)


def ensure_local(store: interface.Writer, *, now: datetime.datetime) -> None:
    """Stores the built-in site ``local`` unless it is there (idempotent)."""
    store.ensure_site(
        model.Site(
            name=model.LOCAL,
            created_at=now,
            description="the manager's own machine",
            created_by="cairn",
        )
    )


def create(
    manager: manager_mod.Manager,
    *,
    name: str,
    location: Location,
    labels: Mapping[str, Sequence[str]] | None = None,
    description: str | None = None,
    user: str = "admin",
) -> SiteView:
    """A new site. FieldError for a bad name, location or label key; ConflictError if the
    name is taken."""
    ids.check(name, what="site name", field="name")
    check_location(location.latitude, location.longitude)
    site = model.Site(
        name=name,
        created_at=manager.clock.now(),
        latitude=location.latitude,
        longitude=location.longitude,
        labels=ids.labels(labels or {}),
        description=description or None,
        created_by=user,
    )
    manager.store.create_site(site)
    return _view(manager, site, count=0)


def get(manager: manager_mod.Manager, name: str) -> SiteView:
    site = manager.store.get_site(name)
    return _view(manager, site, count=manager.store.site_deployment_counts().get(name, 0))


def list_(manager: manager_mod.Manager) -> list[SiteView]:
    counts = manager.store.site_deployment_counts()
    return [_view(manager, s, count=counts.get(s.name, 0)) for s in manager.store.list_sites()]


def update(
    manager: manager_mod.Manager,
    name: str,
    *,
    location: Location | None = None,
    labels: Mapping[str, Sequence[str]] | None = None,
    remove_labels: Sequence[str] = (),
    replace_labels: bool = False,
    description: str | None = None,
) -> SiteView:
    """Changes what is given. Labels: with ``replace_labels`` the old ones are dropped;
    then ``remove_labels`` (``KEY`` drops a key, ``KEY=VALUE`` one value) are removed, and
    ``labels`` added. An empty ``description`` clears it."""
    current = manager.store.get_site(name)
    if location is not None:
        check_location(location.latitude, location.longitude)
    kept = ids.edit_labels(
        current.labels,
        add=labels or {},
        remove=remove_labels,
        replace=replace_labels,
        owner="the site",
    )
    changed = dataclasses.replace(
        current,
        latitude=location.latitude if location else current.latitude,
        longitude=location.longitude if location else current.longitude,
        labels=kept,
        description=current.description if description is None else (description or None),
    )
    stored = manager.store.update_site(changed)
    return _view(manager, stored, count=manager.store.site_deployment_counts().get(name, 0))


def delete(manager: manager_mod.Manager, name: str) -> None:
    """Deletes a site (and revokes its agent tokens). ConflictError for ``local`` and while
    deployments are placed on it."""
    manager.store.delete_site(name)
    manager.callers.forget()


def token(manager: manager_mod.Manager, name: str) -> auth.IssuedToken:
    """A new agent token for the site; the site's previous tokens are revoked in the same
    transaction. The value is in the answer and nowhere else."""
    if name == model.LOCAL:
        raise errors.ConflictError(
            f"site {model.LOCAL!r} runs operations on the manager itself and has no agent token"
        )
    manager.store.get_site(name)
    issued = auth.draw(
        manager, role=runtime.Role.AGENT, description=f"agent of site {name}", site=name
    )
    manager.store.rotate_site_token(name, issued.token)
    manager.callers.forget()
    return issued


def require(manager: manager_mod.Manager, name: str, *, field: str = "site") -> model.Site:
    """The site named in a request; a FieldError naming ``field`` when there is none."""
    try:
        return manager.store.get_site(name)
    except errors.NotFoundError:
        raise ids.FieldError(
            f"site {name!r} does not exist (see `cairn sites list`)", field=field
        ) from None


def set_site(manager: manager_mod.Manager, deployment_id: str, site: str) -> runtime.Deployment:
    """Moves a deployment to another site. NotFoundError for an unknown deployment,
    FieldError for an unknown site, ConflictError while it has an active or queued
    execution."""
    manager.store.get_deployment(deployment_id)
    require(manager, site)
    return manager.store.set_deployment_site(deployment_id, site)


def _view(manager: manager_mod.Manager, site: model.Site, *, count: int) -> SiteView:
    return SiteView(
        site=site,
        status=model.status(site, now=manager.clock.now(), window=manager.offline_after),
        deployments=count,
    )
