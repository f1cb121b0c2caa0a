"""``/groups``: sets of deployments chosen by id or filter rules, or created one per site."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cairn.api import group_schemas, security
from cairn.services import groups, ids, site_groups
from cairn.services import manager as manager_mod

router = APIRouter(prefix="/groups", tags=["groups"])


@router.get("", summary="List groups", description="Every group by id, with its member count.")
def list_groups(
    manager: security.Manager, _caller: security.Viewer
) -> list[group_schemas.GroupOut]:
    return [group_schemas.group_out(g) for g in groups.list_(manager)]


@router.post(
    "",
    status_code=201,
    summary="Create a group",
    description="A group of existing deployments (`deployment_ids`, and those `filter` or "
    "`filter_id` match now), or, with `blueprint_id`, of new deployments: one per row of "
    "`sites` or per site `site_filter` matches, each with `inputs` overridden by its row's. "
    "Every row is checked first; any bad row (422, all listed) or a deployment id that "
    "exists (409) and nothing is created.",
)
def create_group(
    body: group_schemas.GroupCreate, manager: security.Manager, caller: security.Operator
) -> group_schemas.GroupCreated:
    if body.blueprint_id is None:
        _refuse_set(body, ("sites", "site_filter", "site_filter_id", "inputs"), "blueprint_id")
        group = groups.create(
            manager,
            group_id=body.id,
            deployment_ids=body.deployment_ids,
            rules=body.filter,
            filter_id=body.filter_id,
            description=body.description,
            user=caller.user,
        )
        return group_schemas.group_created(group, [])
    _refuse_set(body, ("deployment_ids", "filter", "filter_id"), "no blueprint_id")
    created = site_groups.create(
        manager,
        group_id=body.id,
        blueprint_id=body.blueprint_id,
        rows=_rows(manager, body),
        inputs=body.inputs,
        description=body.description,
        user=caller.user,
    )
    return group_schemas.group_created(created.group, created.deployment_ids)


def _refuse_set(body: group_schemas.GroupCreate, names: tuple[str, ...], needs: str) -> None:
    given = [name for name in names if getattr(body, name)]
    if given:
        raise ids.FieldError(
            f"{', '.join(given)} go{'' if len(given) > 1 else 'es'} with {needs}", field=given[0]
        )


def _rows(
    manager: manager_mod.Manager, body: group_schemas.GroupCreate
) -> list[site_groups.SiteRow]:
    if body.sites and (body.site_filter or body.site_filter_id):
        raise ids.FieldError("give sites or site_filter, not both", field="site_filter")
    if body.sites:
        return group_schemas.site_rows(body.sites)
    return site_groups.rows_for_sites(
        manager, rules=body.site_filter, filter_id=body.site_filter_id
    )


@router.get(
    "/{group_id}",
    summary="Get a group",
    description="The group and its deployments, each with its site, blueprint, labels and "
    "status now.",
)
def get_group(
    group_id: str, manager: security.Manager, _caller: security.Viewer
) -> group_schemas.GroupDetail:
    return group_schemas.group_detail(groups.get(manager, group_id))


@router.post(
    "/{group_id}/extend",
    summary="Add deployments to a group",
    description="Adds the deployments named and those the rules match now; `changed` lists "
    "those added. An unknown deployment is a 404 and nothing is added.",
)
def extend_group(
    group_id: str,
    body: group_schemas.GroupChange,
    manager: security.Manager,
    _caller: security.Operator,
) -> group_schemas.GroupChanged:
    change = groups.extend(
        manager,
        group_id,
        deployment_ids=body.deployment_ids,
        rules=body.filter,
        filter_id=body.filter_id,
    )
    return group_schemas.group_changed(change)


@router.post(
    "/{group_id}/shrink",
    summary="Remove deployments from a group",
    description="Removes the members named and the members the rules match now; `changed` "
    "lists those removed. The deployments themselves stay.",
)
def shrink_group(
    group_id: str,
    body: group_schemas.GroupChange,
    manager: security.Manager,
    _caller: security.Operator,
) -> group_schemas.GroupChanged:
    change = groups.shrink(
        manager,
        group_id,
        deployment_ids=body.deployment_ids,
        rules=body.filter,
        filter_id=body.filter_id,
    )
    return group_schemas.group_changed(change)


@router.delete(
    "/{group_id}",
    status_code=204,
    summary="Delete a group",
    description="Deletes the group; its deployments stay.",
)
def delete_group(group_id: str, manager: security.Manager, _caller: security.Operator) -> Response:
    groups.delete(manager, group_id)
    return Response(status_code=204)
