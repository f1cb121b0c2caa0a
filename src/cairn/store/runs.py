"""Executions: statements run inside a caller's transaction.

On PostgreSQL the writers that depend on a deployment's executions (creating one, ending
one) first lock the deployment's row, so they run one at a time per deployment; on SQLite
the write lock taken by ``BEGIN IMMEDIATE`` already does that. The partial unique index
``uq_executions_one_active`` backs the rule up in the schema.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import executions
from cairn.store import catalog, interface, rows, tables

_executions = tables.executions
_tasks = tables.tasks
_deps = tables.task_dependencies

QUEUED = executions.ExecutionStatus.QUEUED
BUSY = tuple(sorted(s.value for s in executions.ACTIVE | {QUEUED}))
_PENDING = executions.TaskState.PENDING.value


def get_execution(conn: sa.Connection, execution_id: str) -> executions.Execution:
    row = conn.execute(sa.select(_executions).where(_executions.c.id == execution_id)).first()
    if row is None:
        raise errors.NotFoundError(f"execution {execution_id!r} not found")
    return rows.execution_from_row(row)


def get_executions(conn: sa.Connection, ids: Collection[str]) -> dict[str, executions.Execution]:
    """The known ones among ``ids``, by id."""
    found: dict[str, executions.Execution] = {}
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = sa.select(_executions).where(
            _executions.c.id.in_(ordered[start : start + tables.IN_CHUNK])
        )
        found.update((row.id, rows.execution_from_row(row)) for row in conn.execute(query))
    return found


def require_execution(conn: sa.Connection, execution_id: str) -> None:
    query = sa.select(_executions.c.id).where(_executions.c.id == execution_id)
    if conn.execute(query).first() is None:
        raise errors.NotFoundError(f"execution {execution_id!r} not found")


def list_executions(
    conn: sa.Connection,
    *,
    deployment_id: str | None = None,
    statuses: Collection[executions.ExecutionStatus] | None = None,
) -> list[executions.Execution]:
    query = sa.select(_executions).order_by(_executions.c.created_at, _executions.c.seq)
    if deployment_id is not None:
        query = query.where(_executions.c.deployment_id == deployment_id)
    if statuses is not None:
        query = query.where(_executions.c.status.in_([s.value for s in statuses]))
    found = [rows.execution_from_row(row) for row in conn.execute(query)]
    if not found and deployment_id is not None:
        catalog.require_deployment(conn, deployment_id)
    return found


def create_execution(
    conn: sa.Connection,
    execution: executions.Execution,
    specs: Sequence[executions.TaskSpec],
    *,
    queue: bool,
) -> executions.Execution:
    catalog.require_deployment(conn, execution.deployment_id, lock=True)
    busy = conn.execute(
        sa.select(_executions.c.id, _executions.c.workflow_id, _executions.c.status)
        .where(
            _executions.c.deployment_id == execution.deployment_id,
            _executions.c.status.in_(BUSY),
        )
        .order_by(_executions.c.created_at, _executions.c.seq)
    ).all()
    if busy:
        if not queue:
            # Name the active one; only queued ones are left if it ended meanwhile.
            first = next((row for row in busy if row.status != QUEUED.value), busy[0])
            raise errors.ConflictError(
                f"deployment {execution.deployment_id!r} already runs execution {first.id!r} "
                f"({first.workflow_id}, {first.status}); queue the new one or wait for it to end"
            )
        execution = dataclasses.replace(execution, status=QUEUED)
    return insert_execution(conn, execution, specs)


def insert_execution(
    conn: sa.Connection, execution: executions.Execution, specs: Sequence[executions.TaskSpec]
) -> executions.Execution:
    """The writes of :func:`create_execution`, for a caller that holds the deployment's row
    and has made its checks (an update's :func:`cairn.store.revisions.begin_update`)."""
    taken = sa.select(_executions.c.id).where(_executions.c.id == execution.id)
    if conn.execute(taken).first() is not None:
        raise errors.ConflictError(f"execution {execution.id!r} already exists")
    next_seq = sa.select(sa.func.coalesce(sa.func.max(_executions.c.seq), 0) + 1).scalar_subquery()
    conn.execute(sa.insert(_executions).values(seq=next_seq, **rows.execution_to_row(execution)))
    _insert_tasks(conn, execution.id, specs)
    return execution


def _insert_tasks(
    conn: sa.Connection, execution_id: str, specs: Sequence[executions.TaskSpec]
) -> None:
    counted = collections.Counter(spec.key for spec in specs)
    doubles = sorted(key for key, count in counted.items() if count > 1)
    if doubles:
        raise errors.UsageError(f"task keys are not unique: {', '.join(doubles)}")
    known = set(counted)
    for spec in specs:
        unknown = [dep for dep in spec.depends_on if dep not in known]
        if unknown:
            raise errors.UsageError(
                f"task {spec.key!r} depends on unknown tasks: {', '.join(unknown)}"
            )
    if not specs:
        return
    conn.execute(
        sa.insert(_tasks),
        [
            {
                "execution_id": execution_id,
                "state": _PENDING,
                "pending_deps": len(set(spec.depends_on)),
                "attempt": 0,
                **rows.spec_to_row(spec),
            }
            for spec in specs
        ],
    )
    query = sa.select(_tasks.c.key, _tasks.c.id).where(_tasks.c.execution_id == execution_id)
    ids: dict[str, int] = {key: task_id for key, task_id in conn.execute(query)}
    edges = [
        {"task_id": ids[spec.key], "depends_on_id": ids[dep]}
        for spec in specs
        for dep in sorted(set(spec.depends_on))
    ]
    if edges:
        conn.execute(sa.insert(_deps), edges)


def set_execution_status(
    conn: sa.Connection,
    execution_id: str,
    *,
    expected: Collection[executions.ExecutionStatus],
    status: executions.ExecutionStatus,
    now: datetime.datetime,
    error: str | None = None,
) -> bool:
    """Compare-and-set of the status; see :meth:`interface.Writer.set_execution_status`.

    ``error`` replaces the stored one (None clears it), and a status that is not an ended
    one clears ``ended_at``, so that a resumed execution does not look ended.
    """
    deployment_id = conn.scalar(
        sa.select(_executions.c.deployment_id).where(_executions.c.id == execution_id)
    )
    if deployment_id is None:
        raise errors.NotFoundError(f"execution {execution_id!r} not found")
    catalog.require_deployment(conn, deployment_id, lock=True)
    values: dict[str, Any] = {"status": status.value, "error": error}
    if status is executions.ExecutionStatus.STARTED:
        values["started_at"] = now
    values["ended_at"] = now if status in executions.ENDED else None
    changed = conn.execute(
        sa.update(_executions)
        .where(
            _executions.c.id == execution_id,
            _executions.c.status.in_([s.value for s in expected]),
        )
        .values(**values)
    )
    if changed.rowcount == 0:
        return False
    if status in executions.ENDED:
        _promote_queued(conn, deployment_id)
    return True


def end_executions(
    conn: sa.Connection, ends: Sequence[interface.ExecutionEnd], *, now: datetime.datetime
) -> list[bool]:
    """:func:`set_execution_status` for each end; their deployments are locked first, in
    one order, so that two managers ending executions at once never wait on each other."""
    ids = [end.execution_id for end in ends]
    deployments: set[str] = set()
    for begin in range(0, len(ids), tables.IN_CHUNK):
        query = sa.select(_executions.c.deployment_id).where(
            _executions.c.id.in_(ids[begin : begin + tables.IN_CHUNK])
        )
        deployments.update(conn.scalars(query))
    catalog.lock_deployments(conn, sorted(deployments))
    return [
        set_execution_status(
            conn,
            end.execution_id,
            expected=end.expected,
            status=end.status,
            now=now,
            error=end.error,
        )
        for end in ends
    ]


def has_pending(conn: sa.Connection) -> bool:
    query = sa.select(_executions.c.id).where(
        _executions.c.status == executions.ExecutionStatus.PENDING.value
    )
    return conn.execute(query.limit(1)).first() is not None


def start_pending(
    conn: sa.Connection, *, now: datetime.datetime, limit: int
) -> list[executions.Execution]:
    """Up to ``limit`` PENDING executions, oldest first, become STARTED in this transaction;
    those this call started (another replica may have taken some meanwhile)."""
    pending = [
        rows.execution_from_row(row)
        for row in conn.execute(
            sa.select(_executions)
            .where(_executions.c.status == executions.ExecutionStatus.PENDING.value)
            .order_by(_executions.c.created_at, _executions.c.seq)
            .limit(limit)
        )
    ]
    if not pending:
        return []
    catalog.lock_deployments(conn, sorted({e.deployment_id for e in pending}))
    started: set[str] = set()
    ids = [e.id for e in pending]
    for begin in range(0, len(ids), tables.IN_CHUNK):
        result = conn.execute(
            sa.update(_executions)
            .where(
                _executions.c.id.in_(ids[begin : begin + tables.IN_CHUNK]),
                _executions.c.status == executions.ExecutionStatus.PENDING.value,
            )
            .values(
                status=executions.ExecutionStatus.STARTED.value,
                started_at=now,
                error=None,
                ended_at=None,
            )
            .returning(_executions.c.id)
        )
        started.update(row.id for row in result)
    return [
        dataclasses.replace(
            e, status=executions.ExecutionStatus.STARTED, started_at=now, error=None, ended_at=None
        )
        for e in pending
        if e.id in started
    ]


def _promote_queued(conn: sa.Connection, deployment_id: str) -> None:
    """The deployment's oldest QUEUED execution becomes PENDING, unless one is active."""
    active = conn.execute(
        sa.select(_executions.c.id).where(
            _executions.c.deployment_id == deployment_id,
            _executions.c.status.in_(tables.ACTIVE_STATUSES),
        )
    ).first()
    if active is not None:
        return
    oldest = conn.scalar(
        sa.select(_executions.c.id)
        .where(_executions.c.deployment_id == deployment_id, _executions.c.status == QUEUED.value)
        .order_by(_executions.c.created_at, _executions.c.seq)
        .limit(1)
    )
    if oldest is not None:
        conn.execute(
            sa.update(_executions)
            .where(_executions.c.id == oldest)
            .values(status=executions.ExecutionStatus.PENDING.value)
        )
