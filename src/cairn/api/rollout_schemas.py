"""Request and response bodies of rollouts (Pydantic); kept apart like the other areas'."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cairn.api import schemas
from cairn.model import rollouts as model


class RolloutRequest(schemas.Body):
    workflow_id: str = Field(description="The workflow to run on each member, e.g. `update`.")
    group_id: str = Field(description="The group whose deployments are the members (taken now).")
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The workflow's parameters; for `update`: `blueprint_id` and `inputs`.",
    )
    concurrency: int | None = Field(
        default=None, description=f"Members running at once (default {model.DEFAULT_CONCURRENCY})."
    )
    waves: list[str] | None = Field(
        default=None,
        description='Cumulative wave marks, counts or percentages: `["1", "10%", "100%"]` '
        "(the first is the canary). Default: one wave.",
    )
    soak: str | None = Field(
        default=None, description="Time between a wave's end and the next wave: `30s`, `5m`."
    )
    max_failures: str | None = Field(
        default=None,
        description="The rollout acts when this many members have failed: `N` or `P%` (default 1).",
    )
    on_failure: Literal["pause", "stop", "rollback"] | None = Field(
        default=None, description="What the rollout does at the threshold (default pause)."
    )
    offline: Literal["skip", "wait", "fail"] | None = Field(
        default=None,
        description="A member whose site is offline: skip it and converge it when the site is "
        "back (default), hold its wave until then, or fail it.",
    )


class RollbackRequest(schemas.Body):
    members: list[str] = Field(description="The deployments to return to their previous state.")


class MemberOut(BaseModel):
    deployment_id: str
    site: str
    wave: int
    position: int
    status: str = Field(description=", ".join(s.value for s in model.MemberStatus))
    execution_id: str | None
    attempts: int
    error: str | None = Field(description="The first line of the last failure.")
    from_revision: int | None
    to_revision: int | None
    rollback_execution_id: str | None
    started_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    updated_at: datetime.datetime


class WaveOut(BaseModel):
    wave: int
    members: int
    counts: dict[str, int]


class RolloutOut(BaseModel):
    id: str
    group_id: str
    workflow_id: str
    parameters: dict[str, Any]
    settings: dict[str, Any]
    status: str = Field(description=", ".join(s.value for s in model.Status))
    wave: int = Field(description="The wave now running, from 0.")
    waves: int
    next_wave_at: datetime.datetime | None = Field(
        description="When the next wave starts (its soak time)."
    )
    reason: str | None = Field(description="Why it paused, stopped, failed or rolled back.")
    counts: dict[str, int] = Field(description="Members by status.")
    members: int
    created_at: datetime.datetime
    created_by: str
    ended_at: datetime.datetime | None


class RolloutDetailOut(RolloutOut):
    by_wave: list[WaveOut] = Field(description="Members by wave and status.")
    failing: list[MemberOut] = Field(description="Failed members (up to 50), first first.")


def rollout_out(rollout: model.Rollout) -> RolloutOut:
    return RolloutOut(**_rollout_fields(rollout))


def _rollout_fields(rollout: model.Rollout) -> dict[str, Any]:
    return {
        "id": rollout.id,
        "group_id": rollout.group_id,
        "workflow_id": rollout.workflow_id,
        "parameters": dict(rollout.parameters),
        "settings": rollout.settings.to_json(),
        "status": rollout.status.value,
        "wave": rollout.wave,
        "waves": rollout.waves,
        "next_wave_at": rollout.next_wave_at,
        "reason": rollout.reason,
        "counts": dict(rollout.counts),
        "members": sum(rollout.counts.values()),
        "created_at": rollout.created_at,
        "created_by": rollout.created_by,
        "ended_at": rollout.ended_at,
    }


def detail_out(
    rollout: model.Rollout,
    by_wave: dict[int, dict[str, int]],
    failing: list[model.Member],
) -> RolloutDetailOut:
    return RolloutDetailOut(
        **_rollout_fields(rollout),
        by_wave=[
            WaveOut(wave=w, members=sum(c.values()), counts=c) for w, c in sorted(by_wave.items())
        ],
        failing=[member_out(m) for m in failing],
    )


def member_out(member: model.Member) -> MemberOut:
    return MemberOut(
        deployment_id=member.deployment_id,
        site=member.site,
        wave=member.wave,
        position=member.position,
        status=member.status.value,
        execution_id=member.execution_id,
        attempts=member.attempts,
        error=member.error,
        from_revision=member.from_revision,
        to_revision=member.to_revision,
        rollback_execution_id=member.rollback_execution_id,
        started_at=member.started_at,
        ended_at=member.ended_at,
        updated_at=member.updated_at,
    )
