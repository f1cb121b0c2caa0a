"""Group use cases: sets of deployments chosen by id or by filter rules.

Membership is stored: a filter given to :func:`create` or :func:`extend` adds the
deployments that match at that moment, and later deployments join only when the group is
extended again. A rollout takes the member list when it starts
(``store.group_member_ids``). Deleting a group leaves its deployments alone.

Creating a group of new deployments, one per site, is :mod:`cairn.services.site_groups`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.model import filters as filter_model
from cairn.model import groups as model
from cairn.model import runtime
from cairn.services import filters, ids

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod


@dataclass(frozen=True, kw_only=True)
class Member:
    deployment_id: str
    blueprint_id: str
    site: str
    status: filter_model.DeploymentStatus
    labels: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, kw_only=True)
class GroupView:
    group: model.Group
    members: list[Member]


@dataclass(frozen=True, kw_only=True)
class Change:
    """What an extend or shrink did: the deployments it added or removed, and the group."""

    group: model.Group
    changed: list[str]


def check_id(group_id: str) -> str:
    return ids.check(group_id, what="group id", field="group_id")


def chosen(
    manager: manager_mod.Manager,
    *,
    deployment_ids: Sequence[str] = (),
    rules: Iterable[Any] = (),
    filter_id: str | None = None,
    among: Sequence[runtime.Deployment] | None = None,
) -> list[str]:
    """The deployments named, plus those the rules (and saved filter) match now, sorted.
    FieldError for a bad rule, NotFoundError for an unknown deployment; nothing is read
    past a bad rule."""
    parsed = filters.resolve(manager, rules=rules, filter_id=filter_id)
    picked = set(deployment_ids)
    if parsed:
        picked.update(d.id for d in filters.select_deployments(manager, parsed, among))
    return sorted(picked)


def create(
    manager: manager_mod.Manager,
    *,
    group_id: str,
    deployment_ids: Sequence[str] = (),
    rules: Sequence[Any] = (),
    filter_id: str | None = None,
    description: str | None = None,
    user: str = "admin",
) -> model.Group:
    """A group of the deployments named and those the rules match now (it may be empty).
    ConflictError if the id is taken; NotFoundError naming unknown deployments; nothing is
    stored on any error."""
    check_id(group_id)
    members = chosen(manager, deployment_ids=deployment_ids, rules=rules, filter_id=filter_id)
    group = model.Group(
        id=group_id,
        created_at=manager.clock.now(),
        description=description or None,
        created_by=user,
    )
    return manager.store.create_group(group, members)


def extend(
    manager: manager_mod.Manager,
    group_id: str,
    *,
    deployment_ids: Sequence[str] = (),
    rules: Sequence[Any] = (),
    filter_id: str | None = None,
) -> Change:
    """Adds the deployments named and those the rules match now."""
    manager.store.get_group(group_id)
    _require_some(deployment_ids, rules, filter_id, doing="extend")
    members = chosen(manager, deployment_ids=deployment_ids, rules=rules, filter_id=filter_id)
    added = manager.store.add_group_members(group_id, members, now=manager.clock.now())
    return Change(group=manager.store.get_group(group_id), changed=added)


def shrink(
    manager: manager_mod.Manager,
    group_id: str,
    *,
    deployment_ids: Sequence[str] = (),
    rules: Sequence[Any] = (),
    filter_id: str | None = None,
) -> Change:
    """Removes the members named and the members the rules match now (naming a deployment
    that is not a member changes nothing)."""
    present = set(manager.store.group_member_ids(group_id))
    _require_some(deployment_ids, rules, filter_id, doing="shrink")
    among = [d for d in manager.store.list_deployments() if d.id in present]
    parsed = filters.resolve(manager, rules=rules, filter_id=filter_id)
    picked = set(deployment_ids)
    if parsed:
        picked.update(d.id for d in filters.select_deployments(manager, parsed, among))
    removed = manager.store.remove_group_members(group_id, sorted(picked))
    return Change(group=manager.store.get_group(group_id), changed=removed)


def _require_some(
    deployment_ids: Sequence[str], rules: Sequence[Any], filter_id: str | None, *, doing: str
) -> None:
    if not deployment_ids and not rules and not filter_id:
        raise errors.UsageError(
            f"nothing to {doing}: name deployments, or give filter rules or a saved filter"
        )


def list_(manager: manager_mod.Manager) -> list[model.Group]:
    return manager.store.list_groups()


def get(manager: manager_mod.Manager, group_id: str) -> GroupView:
    """The group with its members: site, blueprint, labels and status now."""
    group = manager.store.get_group(group_id)
    member_ids = manager.store.group_member_ids(group_id)
    wanted = set(member_ids)
    found = {d.id: d for d in manager.store.list_deployments() if d.id in wanted}
    statuses = filters.deployment_statuses(manager, [d for d in member_ids if d in found])
    members = [
        Member(
            deployment_id=d.id,
            blueprint_id=d.blueprint_id,
            site=d.site,
            status=statuses[d.id],
            labels=d.labels,
        )
        for d in (found[i] for i in member_ids if i in found)
    ]
    return GroupView(group=group, members=members)


def delete(manager: manager_mod.Manager, group_id: str) -> None:
    """Deletes the group; its deployments stay."""
    manager.store.delete_group(group_id)
