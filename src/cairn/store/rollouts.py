"""Rollouts and their per-member ledger: statements run inside a caller's transaction.

A rollout's members are a snapshot of its group, taken in the transaction that stores the
rollout (:func:`create`). The runner of each manager process claims the rollouts it acts on
with a lease (:func:`claim_live`): only the holder starts members' executions, so two replicas
never start the same member twice; a dead holder's lease runs out and another takes over.
Member changes are compare-and-set on the member's status (:func:`set_members`): a change
whose member moved meanwhile (a user's retry, another runner) changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import executions
from cairn.model import rollouts as model
from cairn.store import interface, tables

_rollouts = tables.rollouts
_members = tables.rollout_members
_groups = tables.groups
_group_members = tables.group_members
_deployments = tables.deployments
_executions = tables.executions

_LIVE = sorted(s.value for s in model.LIVE)
_MEMBER_LIVE = sorted(s.value for s in model.MEMBER_LIVE)
_ACTIVE_EXECUTIONS = sorted(
    s.value for s in (*executions.ACTIVE, executions.ExecutionStatus.QUEUED)
)


def rollout_to_row(rollout: model.Rollout) -> dict[str, Any]:
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
        "failure_base": rollout.failure_base,
        "reason": rollout.reason,
        "created_at": rollout.created_at,
        "created_by": rollout.created_by,
        "ended_at": rollout.ended_at,
        "lease_owner": None,
        "lease_until": None,
        "version": rollout.version,
    }


def rollout_from_row(row: Any, counts: Mapping[str, int] | None = None) -> model.Rollout:
    return model.Rollout(
        id=row.id,
        group_id=row.group_id,
        workflow_id=row.workflow_id,
        parameters=row.parameters,
        settings=model.Settings.from_json(row.settings),
        status=model.Status(row.status),
        wave=int(row.wave),
        waves=int(row.waves),
        next_wave_at=row.next_wave_at,
        failure_base=int(row.failure_base),
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
        ended_at=row.ended_at,
        version=int(row.version),
        counts=dict(counts or {}),
    )


def member_from_row(row: Any) -> model.Member:
    return model.Member(
        rollout_id=row.rollout_id,
        deployment_id=row.deployment_id,
        position=int(row.position),
        wave=int(row.wave),
        site=row.site,
        status=model.MemberStatus(row.status),
        execution_id=row.execution_id,
        attempts=int(row.attempts),
        error=row.error,
        from_revision=row.from_revision,
        to_revision=row.to_revision,
        rollback_execution_id=row.rollback_execution_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        updated_at=row.updated_at,
    )


def create(conn: sa.Connection, rollout: model.Rollout) -> model.Rollout:
    """Stores ``rollout`` with its group's deployments as members, in id order, each in its
    wave (NotFoundError for an unknown group, ConflictError for an empty one)."""
    if (
        conn.execute(sa.select(_groups.c.id).where(_groups.c.id == rollout.group_id)).first()
        is None
    ):
        raise errors.NotFoundError(f"group {rollout.group_id!r} not found")
    found = conn.execute(
        sa.select(_deployments.c.id, _deployments.c.site)
        .join(_group_members, _group_members.c.deployment_id == _deployments.c.id)
        .where(_group_members.c.group_id == rollout.group_id)
        .order_by(_deployments.c.id)
    ).all()
    if not found:
        raise errors.ConflictError(
            f"group {rollout.group_id!r} has no deployments: add some with "
            "'cairn groups extend' first"
        )
    waves = model.assign_waves(rollout.settings.waves, len(found))
    stored = model.Rollout(
        **{**_fields(rollout), "waves": max(waves) + 1, "wave": 0},
    )
    conn.execute(sa.insert(_rollouts), [rollout_to_row(stored)])
    conn.execute(
        sa.insert(_members),
        [
            {
                "rollout_id": rollout.id,
                "deployment_id": row.id,
                "position": position,
                "wave": waves[position],
                "site": row.site,
                "status": model.MemberStatus.PENDING.value,
                "execution_id": None,
                "attempts": 0,
                "error": None,
                "from_revision": None,
                "to_revision": None,
                "rollback_execution_id": None,
                "started_at": None,
                "ended_at": None,
                "updated_at": rollout.created_at,
            }
            for position, row in enumerate(found)
        ],
    )
    return get(conn, rollout.id)


def _fields(rollout: model.Rollout) -> dict[str, Any]:
    return {name: getattr(rollout, name) for name in model.Rollout.__dataclass_fields__}


def counts(conn: sa.Connection, rollout_ids: Collection[str]) -> dict[str, dict[str, int]]:
    query = (
        sa.select(_members.c.rollout_id, _members.c.status, sa.func.count())
        .where(_members.c.rollout_id.in_(list(rollout_ids)))
        .group_by(_members.c.rollout_id, _members.c.status)
    )
    found: dict[str, dict[str, int]] = {}
    for rollout_id, status, count in conn.execute(query):
        found.setdefault(rollout_id, {})[status] = int(count)
    return found


def wave_counts(conn: sa.Connection, rollout_id: str) -> dict[int, dict[str, int]]:
    """Members by wave and status."""
    get(conn, rollout_id)
    query = (
        sa.select(_members.c.wave, _members.c.status, sa.func.count())
        .where(_members.c.rollout_id == rollout_id)
        .group_by(_members.c.wave, _members.c.status)
    )
    found: dict[int, dict[str, int]] = {}
    for wave, status, count in conn.execute(query):
        found.setdefault(int(wave), {})[status] = int(count)
    return found


def get(conn: sa.Connection, rollout_id: str) -> model.Rollout:
    row = conn.execute(sa.select(_rollouts).where(_rollouts.c.id == rollout_id)).first()
    if row is None:
        raise errors.NotFoundError(f"rollout {rollout_id!r} not found")
    return rollout_from_row(row, counts(conn, [rollout_id]).get(rollout_id))


def list_all(
    conn: sa.Connection, *, statuses: Collection[str] | None = None
) -> list[model.Rollout]:
    query = sa.select(_rollouts).order_by(_rollouts.c.created_at, _rollouts.c.id)
    if statuses is not None:
        query = query.where(_rollouts.c.status.in_(list(statuses)))
    found = conn.execute(query).all()
    by_rollout = counts(conn, [row.id for row in found]) if found else {}
    return [rollout_from_row(row, by_rollout.get(row.id)) for row in found]


def members(
    conn: sa.Connection,
    rollout_id: str,
    *,
    statuses: Collection[str] | None = None,
    deployment_ids: Collection[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[model.Member]:
    get_row = sa.select(_rollouts.c.id).where(_rollouts.c.id == rollout_id)
    if conn.execute(get_row).first() is None:
        raise errors.NotFoundError(f"rollout {rollout_id!r} not found")
    query = (
        sa.select(_members)
        .where(_members.c.rollout_id == rollout_id)
        .order_by(_members.c.wave, _members.c.position)
        .offset(offset)
    )
    if statuses is not None:
        query = query.where(_members.c.status.in_(list(statuses)))
    if deployment_ids is not None:
        query = query.where(_members.c.deployment_id.in_(list(deployment_ids)))
    if limit is not None:
        query = query.limit(limit)
    return [member_from_row(row) for row in conn.execute(query)]


def claim_live(
    conn: sa.Connection,
    *,
    owner: str,
    now: datetime.datetime,
    until: datetime.datetime,
    gone: Callable[[str], bool] = lambda _owner: False,
) -> list[model.Rollout]:
    """The rollouts with something to do (live, or with live members) whose lease is free,
    expired, ``owner``'s, or held by an owner that is ``gone``, now leased to ``owner``
    until ``until``."""
    has_live_members = (
        sa.select(_members.c.rollout_id)
        .where(_members.c.rollout_id == _rollouts.c.id, _members.c.status.in_(_MEMBER_LIVE))
        .exists()
    )
    free = sa.or_(
        _rollouts.c.lease_owner.is_(None),
        _rollouts.c.lease_owner == owner,
        _rollouts.c.lease_until < now,
    )
    live = sa.or_(_rollouts.c.status.in_(_LIVE), has_live_members)
    ids = list(conn.scalars(sa.select(_rollouts.c.id).where(live, free)))
    held = conn.execute(
        sa.select(_rollouts.c.id, _rollouts.c.lease_owner).where(live, sa.not_(free))
    ).all()
    for rollout_id, holder in held:
        if gone(holder):  # its holder died: taken over while still held by that one
            conn.execute(
                sa.update(_rollouts)
                .where(_rollouts.c.id == rollout_id, _rollouts.c.lease_owner == holder)
                .values(lease_owner=None, lease_until=None)
            )
            ids.append(rollout_id)
    if not ids:
        return []
    conn.execute(
        sa.update(_rollouts)
        .where(_rollouts.c.id.in_(ids), free)
        .values(lease_owner=owner, lease_until=until)
    )
    found = conn.execute(
        sa.select(_rollouts).where(_rollouts.c.id.in_(ids), _rollouts.c.lease_owner == owner)
    ).all()
    return [rollout_from_row(row) for row in found]


def release(conn: sa.Connection, *, owner: str) -> None:
    conn.execute(
        sa.update(_rollouts)
        .where(_rollouts.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


def live_members(conn: sa.Connection, rollout_id: str) -> list[interface.LiveMember]:
    ran = _executions.alias("ran")
    undone = _executions.alias("undone")
    query = (
        sa.select(
            _members,
            ran.c.status.label("x_status"),
            ran.c.error.label("x_error"),
            undone.c.status.label("rb_status"),
            undone.c.error.label("rb_error"),
        )
        .select_from(
            _members.outerjoin(ran, ran.c.id == _members.c.execution_id).outerjoin(
                undone, undone.c.id == _members.c.rollback_execution_id
            )
        )
        .where(_members.c.rollout_id == rollout_id, _members.c.status.in_(_MEMBER_LIVE))
        .order_by(_members.c.wave, _members.c.position)
    )
    return [
        interface.LiveMember(
            member=member_from_row(row),
            execution_status=_status(row.x_status),
            execution_error=row.x_error,
            rollback_status=_status(row.rb_status),
            rollback_error=row.rb_error,
        )
        for row in conn.execute(query)
    ]


def _status(value: str | None) -> executions.ExecutionStatus | None:
    return None if value is None else executions.ExecutionStatus(value)


def startable(
    conn: sa.Connection, rollout_id: str, *, up_to_wave: int, limit: int
) -> list[model.Member]:
    """Pending members of the waves up to ``up_to_wave``, in order."""
    query = (
        sa.select(_members)
        .where(
            _members.c.rollout_id == rollout_id,
            _members.c.status == model.MemberStatus.PENDING.value,
            _members.c.wave <= up_to_wave,
        )
        .order_by(_members.c.wave, _members.c.position)
        .limit(limit)
    )
    return [member_from_row(row) for row in conn.execute(query)]


def wave_holders(conn: sa.Connection, rollout_id: str, wave: int) -> int:
    """How many members of waves up to ``wave`` keep it from ending."""
    holding = sorted(s.value for s in model.MEMBER_HOLDS_WAVE)
    return int(
        conn.scalar(
            sa.select(sa.func.count())
            .select_from(_members)
            .where(
                _members.c.rollout_id == rollout_id,
                _members.c.wave <= wave,
                _members.c.status.in_(holding),
            )
        )
        or 0
    )


def busy_deployments(conn: sa.Connection, deployment_ids: Collection[str]) -> set[str]:
    """Those of ``deployment_ids`` with an active or queued execution."""
    if not deployment_ids:
        return set()
    query = sa.select(_executions.c.deployment_id).where(
        _executions.c.deployment_id.in_(list(deployment_ids)),
        _executions.c.status.in_(_ACTIVE_EXECUTIONS),
    )
    return set(conn.scalars(query))


def set_members(
    conn: sa.Connection,
    rollout_id: str,
    changes: Sequence[interface.MemberChange],
    *,
    now: datetime.datetime,
    while_status: Collection[model.Status] | None = None,
) -> set[str]:
    """Applies each change whose member is still in an expected status; the deployment ids
    changed. With ``while_status``, nothing changes unless the rollout is in one of them
    (its row locked meanwhile: a pause committed first stops the starts)."""
    if while_status is not None:
        status = conn.scalar(
            sa.select(_rollouts.c.status).where(_rollouts.c.id == rollout_id).with_for_update()
        )
        if status not in {s.value for s in while_status}:
            return set()
    changed: set[str] = set()
    for change in changes:
        result = conn.execute(
            sa.update(_members)
            .where(
                _members.c.rollout_id == rollout_id,
                _members.c.deployment_id == change.deployment_id,
                _members.c.status.in_([s.value for s in change.expected]),
            )
            .values(**_member_values(change.values), updated_at=now)
        )
        if result.rowcount:
            changed.add(change.deployment_id)
    return changed


def _member_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, model.MemberStatus) else v) for k, v in values.items()}


def update(
    conn: sa.Connection,
    rollout_id: str,
    *,
    expected: Collection[model.Status] | None = None,
    version: int | None = None,
    **values: Any,
) -> bool:
    """Changes the rollout while it is in an ``expected`` status (and at ``version``)."""
    query = sa.update(_rollouts).where(_rollouts.c.id == rollout_id)
    if expected is not None:
        query = query.where(_rollouts.c.status.in_([s.value for s in expected]))
    if version is not None:
        query = query.where(_rollouts.c.version == version)
    if "status" in values and isinstance(values["status"], model.Status):
        values["status"] = values["status"].value
    result = conn.execute(query.values(**values, version=_rollouts.c.version + 1))
    if result.rowcount == 0:
        if (
            conn.execute(sa.select(_rollouts.c.id).where(_rollouts.c.id == rollout_id)).first()
            is None
        ):
            raise errors.NotFoundError(f"rollout {rollout_id!r} not found")
        return False
    return True


def delete(conn: sa.Connection, rollout_id: str) -> None:
    rollout = get(conn, rollout_id)
    if rollout.status in model.LIVE:
        raise errors.ConflictError(
            f"rollout {rollout_id} is {rollout.status}; cancel it before deleting it"
        )
    conn.execute(sa.delete(_members).where(_members.c.rollout_id == rollout_id))
    conn.execute(sa.delete(_rollouts).where(_rollouts.c.id == rollout_id))
