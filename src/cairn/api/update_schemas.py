"""Request and response bodies of a deployment's updates and revisions (Pydantic).

Kept apart from :mod:`cairn.api.schemas`, like :mod:`cairn.api.site_schemas`.
"""

from __future__ import annotations

import datetime
from typing import Any

from pydantic import BaseModel, Field

from cairn.api import schemas
from cairn.model import runtime
from cairn.services import updates


class UpdateRequest(schemas.Body):
    blueprint_id: str | None = Field(
        default=None, description="The blueprint of the new revision; default: the current one."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="Inputs that change; the others keep their values (those the new "
        "blueprint still declares).",
    )
    preview: bool = Field(
        default=False, description="Only compute the delta and the steps; run nothing."
    )


class RevertRequest(schemas.Body):
    to: int | None = Field(
        default=None,
        description="The revision to return to; default: the applied one before the one in force.",
    )
    preview: bool = Field(default=False, description="Only compute the delta and the steps.")


class UpdateOut(BaseModel):
    deployment_id: str
    from_revision: int
    to_revision: int
    blueprint_id: str
    inputs: dict[str, Any]
    changes: list[dict[str, Any]] = Field(
        description="What differs between the plans: {what, name, change, node?, old?, new?}."
    )
    instances: dict[str, Any] = Field(
        description="Node instances removed, added, modified (with reasons), reinstalled, "
        "updated in place, and the relationships they gain and lose."
    )
    steps: list[dict[str, Any]] = Field(description="The update's tasks, in a dependency order.")
    execution: schemas.ExecutionOut | None = Field(
        default=None, description="The update's execution (none for a preview)."
    )


def update_out(preview: updates.Preview, started: updates.Started | None = None) -> UpdateOut:
    execution = None if started is None else schemas.execution_out(started.execution)
    return UpdateOut(**preview.to_json(), execution=execution)


class RevisionOut(BaseModel):
    deployment_id: str
    revision: int
    blueprint_id: str
    inputs: dict[str, Any]
    created_at: datetime.datetime
    created_by: str
    status: str = Field(description="pending, applied or failed.")
    execution_id: str | None = Field(description="The update execution that applied it.")
    summary: dict[str, Any] = Field(description="The delta from the revision before.")
    current: bool = Field(description="Whether the deployment is at this revision now.")


def revision_out(revision: runtime.Revision, *, current: int) -> RevisionOut:
    return RevisionOut(
        deployment_id=revision.deployment_id,
        revision=revision.revision,
        blueprint_id=revision.blueprint_id,
        inputs=dict(revision.inputs),
        created_at=revision.created_at,
        created_by=revision.created_by,
        status=revision.status,
        execution_id=revision.execution_id,
        summary=dict(revision.summary),
        current=revision.revision == current,
    )
