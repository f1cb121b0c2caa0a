"""Request and response bodies of ``/filters`` and ``/groups`` (Pydantic), and their
conversions; deployment label changes (``PATCH /deployments/{id}``) too."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cairn.api import schemas
from cairn.model import groups
from cairn.services import groups as group_service
from cairn.services import site_groups

RULE_HELP = (
    "Filter rules, all of which must hold: JSON objects "
    '`{"type": "label"|"attribute", "key", "operator", "values"}` or the string form '
    "(`env=prod`, `env!=prod`, `env is null`, `id starts-with web-`, ...)."
)


class RuleOut(BaseModel):
    type: Literal["label", "attribute"]
    key: str
    operator: str = Field(
        description="any_of, not_any_of, is_null, is_not_null (labels); any_of, not_any_of, "
        "starts_with, ends_with, contains (attributes)."
    )
    values: list[str]
    text: str = Field(description="The same rule in the command line's string form.")


# --- labels ---------------------------------------------------------------------------------


class DeploymentUpdate(schemas.Body):
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="Label values to add (after removals)."
    )
    remove_labels: list[str] = Field(
        default_factory=list, description="KEY removes a label, KEY=VALUE one of its values."
    )
    replace_labels: bool = Field(
        default=False, description="Drop every label first: `labels` become the labels."
    )


# --- saved filters --------------------------------------------------------------------------


class FilterCreate(schemas.Body):
    name: str = Field(description="Letters, digits, '_', '-' and '.'.")
    kind: Literal["deployments", "sites"] = Field(
        default="deployments", description="What the filter picks."
    )
    rules: list[Any] = Field(description=RULE_HELP)
    description: str | None = None


class FilterOut(BaseModel):
    name: str
    kind: str
    rules: list[RuleOut]
    description: str | None
    created_at: datetime.datetime
    created_by: str


def filter_out(saved: groups.SavedFilter) -> FilterOut:
    return FilterOut(
        name=saved.name,
        kind=saved.kind.value,
        rules=[RuleOut(**rule.to_json(), text=str(rule)) for rule in saved.rules],
        description=saved.description,
        created_at=saved.created_at,
        created_by=saved.created_by,
    )


# --- groups ---------------------------------------------------------------------------------


class SiteRowIn(schemas.Body):
    site: str
    deployment_id: str | None = Field(default=None, description="Default: GROUP-SITE.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="This site's inputs, over the shared ones."
    )
    labels: dict[str, list[str]] = Field(default_factory=dict)


class GroupCreate(schemas.Body):
    id: str = Field(description="The group's id.")
    description: str | None = None
    deployment_ids: list[str] = Field(default_factory=list, description="Members by id.")
    filter: list[Any] = Field(
        default_factory=list, description="Add the deployments these rules match now. " + RULE_HELP
    )
    filter_id: str | None = Field(
        default=None, description="Add the deployments this saved filter matches now."
    )
    blueprint_id: str | None = Field(
        default=None,
        description="Create one new deployment of this blueprint per site (with `sites` or "
        "`site_filter`), and make them the group.",
    )
    sites: list[SiteRowIn] = Field(
        default_factory=list, description="With `blueprint_id`: a row per site."
    )
    site_filter: list[Any] = Field(
        default_factory=list,
        description="With `blueprint_id`: a deployment per site these site rules match.",
    )
    site_filter_id: str | None = Field(
        default=None, description="With `blueprint_id`: a saved filter of sites."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="With `blueprint_id`: inputs shared by every site."
    )


class GroupChange(schemas.Body):
    deployment_ids: list[str] = Field(default_factory=list)
    filter: list[Any] = Field(default_factory=list, description=RULE_HELP)
    filter_id: str | None = None


class GroupOut(BaseModel):
    id: str
    description: str | None
    created_at: datetime.datetime
    created_by: str
    members: int = Field(description="How many deployments are in the group.")


class MemberOut(BaseModel):
    deployment_id: str
    blueprint_id: str
    site: str
    status: str = Field(
        description="never_installed, installed, uninstalled, in_progress or failed: from "
        "the deployment's executions."
    )
    labels: dict[str, list[str]]


class GroupDetail(GroupOut):
    deployments: list[MemberOut]


class GroupCreated(GroupOut):
    created_deployments: list[str] = Field(
        description="The deployments created for the group (with `blueprint_id`), else []."
    )


class GroupChanged(GroupOut):
    changed: list[str] = Field(description="The deployments added (extend) or removed (shrink).")


def group_out(group: groups.Group) -> GroupOut:
    return GroupOut(**_fields(group))


def _fields(group: groups.Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "description": group.description,
        "created_at": group.created_at,
        "created_by": group.created_by,
        "members": group.member_count,
    }


def group_detail(view: group_service.GroupView) -> GroupDetail:
    members = [
        MemberOut(
            deployment_id=m.deployment_id,
            blueprint_id=m.blueprint_id,
            site=m.site,
            status=m.status.value,
            labels={k: list(v) for k, v in m.labels.items()},
        )
        for m in view.members
    ]
    return GroupDetail(**_fields(view.group), deployments=members)


def group_created(group: groups.Group, created: list[str]) -> GroupCreated:
    return GroupCreated(**_fields(group), created_deployments=created)


def group_changed(change: group_service.Change) -> GroupChanged:
    return GroupChanged(**_fields(change.group), changed=change.changed)


def site_rows(rows: list[SiteRowIn]) -> list[site_groups.SiteRow]:
    return site_groups.rows_from_json([row.model_dump() for row in rows])
