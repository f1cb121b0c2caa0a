"""Tasks: statements run inside a caller's transaction.

The writers are compare-and-set: each UPDATE names the state it expects in its WHERE
clause, and the number of rows it changed says whether it won.

Claims and completions are the engine's hot path, so their statements are built once, with
bound parameters, at import: SQLAlchemy then skips building and hashing them on every call.
A claim walks ``ix_tasks_claim`` (state, pending_deps, id) in id order and stops after
``limit`` runnable rows; the execution's status is checked per row (``EXISTS``), which keeps
the walk in id order instead of sorting every ready task of every started execution.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import executions
from cairn.store import catalog, interface, rows, runs, tables

_tasks = tables.tasks
_deps = tables.task_dependencies
_executions = tables.executions

_PENDING = executions.TaskState.PENDING.value
_RUNNING = executions.TaskState.RUNNING.value
_SUCCEEDED = executions.TaskState.SUCCEEDED.value
_COMPLETE_STATES = frozenset(
    {
        executions.TaskState.SUCCEEDED,
        executions.TaskState.FAILED,
        executions.TaskState.CANCELLED,
        executions.TaskState.PENDING,
    }
)
_FINISH_STATES = frozenset({executions.TaskState.SUCCEEDED, executions.TaskState.CANCELLED})


def _param(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


_RUNNABLE = (
    sa.select(_tasks.c.id)
    .where(
        _tasks.c.state == _PENDING,
        _tasks.c.pending_deps == 0,
        sa.or_(
            _tasks.c.run_after.is_(None), _tasks.c.run_after <= _param("now", _tasks.c.run_after)
        ),
        sa.exists().where(
            _executions.c.id == _tasks.c.execution_id,
            _executions.c.status == executions.ExecutionStatus.STARTED.value,
        ),
    )
    .order_by(_tasks.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_TAKE = (
    sa.update(_tasks)
    .values(
        state=_RUNNING,
        attempt=_tasks.c.attempt + 1,
        lease_owner=_param("owner", _tasks.c.lease_owner),
        lease_expires_at=_param("until", _tasks.c.lease_expires_at),
    )
    .returning(*_tasks.c)
)
# SQLite: one writer at a time (BEGIN IMMEDIATE), so one statement does it.
_CLAIM_SQLITE = _TAKE.where(_tasks.c.id.in_(_RUNNABLE.scalar_subquery()))
# PostgreSQL: select first. It may rescan a locking subquery inside the UPDATE, and each
# rescan would skip the rows this statement already locked and take the next ones.
_LOCK_RUNNABLE = _RUNNABLE.with_for_update(of=_tasks, skip_locked=True)
_TAKE_LOCKED = _TAKE.where(
    _tasks.c.id.in_(sa.bindparam("ids", expanding=True)), _tasks.c.state == _PENDING
)
_COMPLETE = (
    sa.update(_tasks)
    .where(
        _tasks.c.id == sa.bindparam("task_id"),
        _tasks.c.state == _RUNNING,
        _tasks.c.attempt == sa.bindparam("expected_attempt"),
    )
    .values(
        state=_param("new_state", _tasks.c.state),
        run_after=_param("new_run_after", _tasks.c.run_after),
        result=_param("new_result", _tasks.c.result),
        error=_param("new_error", _tasks.c.error),
        lease_owner=None,
        lease_expires_at=None,
    )
)
_RELEASE_DEPENDENTS = (
    sa.update(_tasks)
    .where(
        _tasks.c.id.in_(
            sa.select(_deps.c.task_id)
            .where(_deps.c.depends_on_id == sa.bindparam("task_id"))
            .scalar_subquery()
        )
    )
    .values(pending_deps=_tasks.c.pending_deps - 1)
)


def list_tasks(conn: sa.Connection, execution_id: str) -> list[executions.Task]:
    query = sa.select(_tasks).where(_tasks.c.execution_id == execution_id).order_by(_tasks.c.id)
    found = [rows.task_from_row(row) for row in conn.execute(query)]
    if not found:
        runs.require_execution(conn, execution_id)
    return found


def get_task(conn: sa.Connection, task_id: int) -> executions.Task:
    row = conn.execute(sa.select(_tasks).where(_tasks.c.id == task_id)).first()
    if row is None:
        raise errors.NotFoundError(f"task {task_id} not found")
    return rows.task_from_row(row)


def task_states(conn: sa.Connection, execution_id: str) -> dict[int, executions.TaskState]:
    query = sa.select(_tasks.c.id, _tasks.c.state).where(_tasks.c.execution_id == execution_id)
    found = {task_id: executions.TaskState(state) for task_id, state in conn.execute(query)}
    if not found:
        runs.require_execution(conn, execution_id)
    return found


def executions_with_task_states(
    conn: sa.Connection, execution_ids: Collection[str]
) -> dict[str, tuple[executions.Execution, frozenset[executions.TaskState]]]:
    """Per execution found, itself and the distinct states of its tasks: two queries per
    500 executions, however many tasks they have."""
    wanted = list(execution_ids)
    found: dict[str, tuple[executions.Execution, frozenset[executions.TaskState]]] = {}
    for begin in range(0, len(wanted), tables.IN_CHUNK):
        chunk = wanted[begin : begin + tables.IN_CHUNK]
        states: dict[str, set[executions.TaskState]] = {}
        query = (
            sa.select(_tasks.c.execution_id, _tasks.c.state)
            .where(_tasks.c.execution_id.in_(chunk))
            .distinct()
        )
        for execution_id, state in conn.execute(query):
            states.setdefault(execution_id, set()).add(executions.TaskState(state))
        for row in conn.execute(sa.select(_executions).where(_executions.c.id.in_(chunk))):
            found[row.id] = (rows.execution_from_row(row), frozenset(states.get(row.id, ())))
    return found


def expired_leases(conn: sa.Connection, *, now: datetime.datetime) -> list[executions.Task]:
    query = (
        sa.select(_tasks)
        .where(_tasks.c.state == _RUNNING, _tasks.c.lease_expires_at < now)
        .order_by(_tasks.c.id)
    )
    return [rows.task_from_row(row) for row in conn.execute(query)]


def running_tasks(conn: sa.Connection, *, owner: str | None = None) -> list[executions.Task]:
    query = sa.select(_tasks).where(_tasks.c.state == _RUNNING).order_by(_tasks.c.id)
    if owner is not None:
        query = query.where(_tasks.c.lease_owner == owner)
    return [rows.task_from_row(row) for row in conn.execute(query)]


# rounds of one claim that go on after tasks ended at once (a lifecycle chain between two
# operations has two or three such tasks in a row)
END_AT_ONCE_ROUNDS = 8


def claim_tasks(
    conn: sa.Connection,
    *,
    owner: str,
    now: datetime.datetime,
    lease_seconds: float,
    limit: int,
    end_at_once: interface.EndAtOnce | None = None,
) -> list[executions.Task]:
    if end_at_once is None:
        return _claim(conn, owner=owner, now=now, lease_seconds=lease_seconds, limit=limit)
    found: list[executions.Task] = []
    running = 0
    for _ in range(END_AT_ONCE_ROUNDS):
        claimed = _claim(
            conn, owner=owner, now=now, lease_seconds=lease_seconds, limit=limit - running
        )
        ended: list[tuple[executions.Task, Sequence[interface.InstanceUpdate]]] = []
        for task in claimed:
            updates = end_at_once(task)
            if updates is None:
                found.append(task)
                running += 1
                continue
            ended.append((task, updates))
            found.append(
                dataclasses.replace(
                    task,
                    state=executions.TaskState.SUCCEEDED,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        _end_claimed(conn, ended)
        if not ended or running >= limit:
            break
    return found


def _end_claimed(
    conn: sa.Connection, ended: Sequence[tuple[executions.Task, Sequence[interface.InstanceUpdate]]]
) -> None:
    """Ends SUCCEEDED tasks that this transaction has just claimed, as :func:`complete_task`
    would, with two statements for all of them (executemany) instead of two per task: they
    are RUNNING at their attempt and this transaction holds them, so no compare-and-set can
    miss. Then the instance updates, in the tasks' order."""
    if not ended:
        return
    conn.execute(
        _COMPLETE,
        [
            {
                "task_id": task.id,
                "expected_attempt": task.attempt,
                "new_state": _SUCCEEDED,
                "new_run_after": None,
                "new_result": None,
                "new_error": None,
            }
            for task, _ in ended
        ],
    )
    conn.execute(_RELEASE_DEPENDENTS, [{"task_id": task.id} for task, _ in ended])
    catalog.apply_updates(conn, [update for _, updates in ended for update in updates])


def _claim(
    conn: sa.Connection,
    *,
    owner: str,
    now: datetime.datetime,
    lease_seconds: float,
    limit: int,
) -> list[executions.Task]:
    if limit <= 0:
        return []
    params = {
        "now": now,
        "limit": limit,
        "owner": owner,
        "until": now + datetime.timedelta(seconds=lease_seconds),
    }
    if conn.dialect.name == "postgresql":
        ids = conn.scalars(_LOCK_RUNNABLE, params).all()
        if not ids:
            return []
        claimed = conn.execute(_TAKE_LOCKED, {**params, "ids": ids}).all()
    else:
        claimed = conn.execute(_CLAIM_SQLITE, params).all()
    return sorted((rows.task_from_row(row) for row in claimed), key=lambda task: task.id)


def complete_task(
    conn: sa.Connection,
    task_id: int,
    *,
    attempt: int,
    state: executions.TaskState,
    run_after: datetime.datetime | None = None,
    result: Any = None,
    error: str | None = None,
    instance_updates: Sequence[interface.InstanceUpdate] = (),
) -> bool:
    if state not in _COMPLETE_STATES:
        raise errors.UsageError(f"a running task cannot end as {state.value}")
    params = {
        "task_id": task_id,
        "expected_attempt": attempt,
        "new_state": state.value,
        "new_run_after": run_after if state is executions.TaskState.PENDING else None,
        "new_result": result,
        "new_error": error,
    }
    if conn.execute(_COMPLETE, params).rowcount == 0:
        return False
    _after_end(conn, task_id, state, instance_updates)
    return True


def complete_tasks(conn: sa.Connection, completions: Sequence[interface.Completion]) -> list[bool]:
    return [
        complete_task(
            conn,
            completion.task_id,
            attempt=completion.attempt,
            state=completion.state,
            run_after=completion.run_after,
            result=completion.result,
            error=completion.error,
            instance_updates=completion.instance_updates,
        )
        for completion in completions
    ]


def finish_pending_task(
    conn: sa.Connection,
    task_id: int,
    *,
    state: executions.TaskState,
    instance_updates: Sequence[interface.InstanceUpdate] = (),
) -> bool:
    """PENDING -> SUCCEEDED (its dependencies all succeeded) or CANCELLED."""
    if state not in _FINISH_STATES:
        raise errors.UsageError(f"a pending task cannot end as {state.value} without running")
    query = sa.update(_tasks).where(_tasks.c.id == task_id, _tasks.c.state == _PENDING)
    if state is executions.TaskState.SUCCEEDED:
        query = query.where(_tasks.c.pending_deps == 0)
    changed = conn.execute(query.values(state=state.value, run_after=None))
    if changed.rowcount == 0:
        return False
    _after_end(conn, task_id, state, instance_updates)
    return True


def _after_end(
    conn: sa.Connection,
    task_id: int,
    state: executions.TaskState,
    instance_updates: Sequence[interface.InstanceUpdate],
) -> None:
    if state is executions.TaskState.SUCCEEDED:
        conn.execute(_RELEASE_DEPENDENTS, {"task_id": task_id})
    catalog.apply_updates(conn, instance_updates)


def renew_leases(
    conn: sa.Connection, *, owner: str, task_ids: Sequence[int], until: datetime.datetime
) -> None:
    if task_ids:
        conn.execute(
            sa.update(_tasks)
            .where(
                _tasks.c.id.in_(list(task_ids)),
                _tasks.c.state == _RUNNING,
                _tasks.c.lease_owner == owner,
            )
            .values(lease_expires_at=until)
        )


def adopt(
    conn: sa.Connection,
    task_id: int,
    *,
    attempt: int,
    previous_owner: str | None,
    owner: str,
    until: datetime.datetime,
) -> bool:
    """Compare-and-set of a RUNNING attempt's lease from ``previous_owner`` to ``owner``."""
    held_by = (
        _tasks.c.lease_owner.is_(None)
        if previous_owner is None
        else _tasks.c.lease_owner == previous_owner
    )
    changed = conn.execute(
        sa.update(_tasks)
        .where(
            _tasks.c.id == task_id,
            _tasks.c.state == _RUNNING,
            _tasks.c.attempt == attempt,
            held_by,
        )
        .values(lease_owner=owner, lease_expires_at=until)
    )
    return changed.rowcount == 1


def cancel_pending_tasks(conn: sa.Connection, execution_id: str) -> int:
    changed = conn.execute(
        sa.update(_tasks)
        .where(_tasks.c.execution_id == execution_id, _tasks.c.state == _PENDING)
        .values(state=executions.TaskState.CANCELLED.value, run_after=None)
    )
    if changed.rowcount == 0:
        runs.require_execution(conn, execution_id)
    return changed.rowcount


def reset_for_resume(conn: sa.Connection, execution_id: str) -> int:
    ended = [executions.TaskState.FAILED.value, executions.TaskState.CANCELLED.value]
    changed = conn.execute(
        sa.update(_tasks)
        .where(_tasks.c.execution_id == execution_id, _tasks.c.state.in_(ended))
        .values(state=_PENDING, run_after=None)
    )
    if changed.rowcount == 0:
        runs.require_execution(conn, execution_id)
    dependency = _tasks.alias("dependency")
    unfinished = (
        sa.select(sa.func.count())
        .select_from(_deps.join(dependency, dependency.c.id == _deps.c.depends_on_id))
        .where(_deps.c.task_id == _tasks.c.id, dependency.c.state != _SUCCEEDED)
        .scalar_subquery()
    )
    conn.execute(
        sa.update(_tasks)
        .where(_tasks.c.execution_id == execution_id, _tasks.c.state == _PENDING)
        .values(pending_deps=unfinished)
    )
    return changed.rowcount
