"""Operation attempts handed to site agents: statements run inside a caller's transaction.

An attempt row moves ``queued -> delivered -> acknowledged -> reported -> done``; it may be
``abandoned`` instead (the agent stayed away past the operation's timeout, or the attempt
was withdrawn before any agent fetched it). Every move is guarded by the state it leaves,
so two manager threads (or, later, replicas) racing on one row cannot both move it.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from cairn import errors
from cairn.model import sites
from cairn.store import tables

_t = tables.site_attempts
AS = sites.AttemptState
_OPEN = [AS.QUEUED.value, AS.DELIVERED.value, AS.ACKNOWLEDGED.value]
_HELD = [AS.DELIVERED.value, AS.ACKNOWLEDGED.value]


def to_row(attempt: sites.SiteAttempt) -> dict[str, Any]:
    return {
        "key": attempt.key,
        "site": attempt.site,
        "execution_id": attempt.execution_id,
        "task_id": attempt.task_id,
        "payload": dict(attempt.payload),
        "state": attempt.state.value,
        "timeout": attempt.timeout,
        "created_at": attempt.created_at,
        "delivered_at": attempt.delivered_at,
        "acknowledged_at": attempt.acknowledged_at,
        "confirmed_at": attempt.confirmed_at,
        "deadline": attempt.deadline,
        "deliveries": attempt.deliveries,
        "kill_requested": attempt.kill_requested,
        "outcome": None if attempt.outcome is None else dict(attempt.outcome),
        "reported_at": attempt.reported_at,
    }


def from_row(row: sa.Row[Any]) -> sites.SiteAttempt:
    return sites.SiteAttempt(
        key=row.key,
        site=row.site,
        execution_id=row.execution_id,
        task_id=int(row.task_id),
        payload=row.payload,
        state=AS(row.state),
        timeout=row.timeout,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        acknowledged_at=row.acknowledged_at,
        confirmed_at=row.confirmed_at,
        deadline=row.deadline,
        deliveries=int(row.deliveries),
        kill_requested=bool(row.kill_requested),
        outcome=row.outcome,
        reported_at=row.reported_at,
    )


def get(conn: sa.Connection, key: str) -> sites.SiteAttempt | None:
    row = conn.execute(sa.select(_t).where(_t.c.key == key)).first()
    return None if row is None else from_row(row)


def get_many(conn: sa.Connection, keys: Collection[str]) -> dict[str, sites.SiteAttempt]:
    found: dict[str, sites.SiteAttempt] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        chunk = ordered[start : start + tables.IN_CHUNK]
        for row in conn.execute(sa.select(_t).where(_t.c.key.in_(chunk))):
            found[row.key] = from_row(row)
    return found


def queue(conn: sa.Connection, attempt: sites.SiteAttempt) -> sites.SiteAttempt:
    """Stores ``attempt`` unless its key is there already; the stored row either way."""
    existing = get(conn, attempt.key)
    if existing is not None:
        return existing
    conn.execute(sa.insert(_t), [to_row(attempt)])
    return attempt


def queue_many(
    conn: sa.Connection, attempts: Sequence[sites.SiteAttempt]
) -> list[sites.SiteAttempt]:
    """:func:`queue` for each, with one read and one insert for all."""
    existing = get_many(conn, [a.key for a in attempts])
    fresh: dict[str, sites.SiteAttempt] = {}
    for attempt in attempts:
        if attempt.key not in existing:
            fresh.setdefault(attempt.key, attempt)
    if fresh:
        conn.execute(sa.insert(_t), [to_row(a) for a in fresh.values()])
    return [existing.get(a.key) or fresh[a.key] for a in attempts]


def deliver(
    conn: sa.Connection,
    site: str,
    *,
    now: datetime.datetime,
    redeliver_before: datetime.datetime,
    limit: int,
) -> list[sites.SiteAttempt]:
    """Up to ``limit`` attempts for ``site`` to send to its agent now: the queued ones, and
    those delivered before ``redeliver_before`` that the agent never acknowledged (the answer
    was lost on the way). Marked delivered, with the deadline their timeout gives."""
    query = (
        sa.select(_t)
        .where(_t.c.site == site)
        .where(
            sa.or_(
                _t.c.state == AS.QUEUED.value,
                sa.and_(_t.c.state == AS.DELIVERED.value, _t.c.delivered_at < redeliver_before),
            )
        )
        .order_by(_t.c.created_at, _t.c.key)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    chosen = [from_row(row) for row in conn.execute(query)]
    delivered = []
    for attempt in chosen:
        deadline = _deadline(now, attempt.timeout)
        changed = conn.execute(
            sa.update(_t)
            .where(_t.c.key == attempt.key, _t.c.state == attempt.state.value)
            .values(
                state=AS.DELIVERED.value,
                delivered_at=now,
                deadline=deadline,
                deliveries=_t.c.deliveries + 1,
            )
        ).rowcount
        if changed:
            delivered.append(attempt)
    return delivered


def has_work(conn: sa.Connection, site: str, *, redeliver_before: datetime.datetime) -> bool:
    """Whether ``deliver`` or ``kill_requests`` would find something: a plain read, so an
    idle agent's poll takes no write lock."""
    query = (
        sa.select(_t.c.key)
        .where(_t.c.site == site)
        .where(
            sa.or_(
                _t.c.state == AS.QUEUED.value,
                sa.and_(_t.c.state == AS.DELIVERED.value, _t.c.delivered_at < redeliver_before),
                sa.and_(_t.c.state.in_(_HELD), _t.c.kill_requested.is_(True)),
            )
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def sites_with_work(
    conn: sa.Connection, wanted: Collection[str], *, redeliver_before: datetime.datetime
) -> set[str]:
    """Those of ``wanted`` for which :func:`has_work` holds, in one query per 500 sites."""
    found: set[str] = set()
    ordered = sorted(set(wanted))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = (
            sa.select(_t.c.site)
            .distinct()
            .where(_t.c.site.in_(ordered[start : start + tables.IN_CHUNK]))
            .where(
                sa.or_(
                    _t.c.state == AS.QUEUED.value,
                    sa.and_(_t.c.state == AS.DELIVERED.value, _t.c.delivered_at < redeliver_before),
                    sa.and_(_t.c.state.in_(_HELD), _t.c.kill_requested.is_(True)),
                )
            )
        )
        found.update(row.site for row in conn.execute(query))
    return found


def kill_requests(conn: sa.Connection, site: str) -> list[str]:
    """Keys of ``site``'s attempts to stop now (``cancel --kill``)."""
    query = sa.select(_t.c.key).where(
        _t.c.site == site, _t.c.state.in_(_HELD), _t.c.kill_requested.is_(True)
    )
    return [row.key for row in conn.execute(query)]


def owners(conn: sa.Connection, keys: Collection[str]) -> dict[str, str]:
    """The site of each known key."""
    found: dict[str, str] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        chunk = ordered[start : start + tables.IN_CHUNK]
        for row in conn.execute(sa.select(_t.c.key, _t.c.site).where(_t.c.key.in_(chunk))):
            found[row.key] = row.site
    return found


def require_site(conn: sa.Connection, site: str, keys: Collection[str]) -> dict[str, str]:
    """PermissionDenied if one of ``keys`` is another site's attempt (nothing changes then)."""
    found = owners(conn, keys)
    foreign = sorted(key for key, owner in found.items() if owner != site)
    if foreign:
        raise errors.PermissionDenied(
            f"attempt {foreign[0]} is not work of site '{site}'"
            + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else "")
        )
    return found


def confirm(
    conn: sa.Connection,
    site: str,
    keys: Collection[str],
    *,
    now: datetime.datetime,
    acknowledge: bool,
) -> list[str]:
    """The agent holds ``keys``: their deadlines move on from ``now``; with ``acknowledge``,
    delivered (or still queued) attempts become acknowledged. The keys that moved."""
    require_site(conn, site, keys)
    moved = []
    for attempt in get_many(conn, keys).values():
        if attempt.state.value not in _OPEN:
            continue
        values: dict[str, Any] = {
            "confirmed_at": now,
            "deadline": _deadline(now, attempt.timeout),
        }
        if acknowledge:
            values["state"] = AS.ACKNOWLEDGED.value
            if attempt.acknowledged_at is None:
                values["acknowledged_at"] = now
            if attempt.delivered_at is None:
                values["delivered_at"] = now
        changed = conn.execute(
            sa.update(_t)
            .where(_t.c.key == attempt.key, _t.c.state == attempt.state.value)
            .values(**values)
        ).rowcount
        if changed:
            moved.append(attempt.key)
    return moved


def report(
    conn: sa.Connection,
    site: str,
    outcomes: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime.datetime,
) -> dict[str, str]:
    """Stores the outcomes ``site``'s agent reports; says per key what became of it:
    ``accepted`` (stored now or before), ``late`` (the attempt was given up: noted, not
    applied) or ``unknown``."""
    require_site(conn, site, outcomes)
    found = get_many(conn, outcomes)
    verdicts: dict[str, str] = {}
    for key, outcome in outcomes.items():
        attempt = found.get(key)
        if attempt is None:
            verdicts[key] = "unknown"
            continue
        if attempt.state.value in _OPEN:
            changed = conn.execute(
                sa.update(_t)
                .where(_t.c.key == key, _t.c.state == attempt.state.value)
                .values(state=AS.REPORTED.value, outcome=dict(outcome), reported_at=now)
            ).rowcount
            verdicts[key] = "accepted" if changed else "late"
        elif attempt.state is AS.ABANDONED:
            if attempt.outcome is None:  # kept as a record of what the site did after all
                conn.execute(
                    sa.update(_t)
                    .where(_t.c.key == key)
                    .values(outcome=dict(outcome), reported_at=now)
                )
            verdicts[key] = "late"
        else:
            verdicts[key] = "accepted"  # a repeat of a report already stored
    return verdicts


def reported(conn: sa.Connection, *, limit: int) -> list[sites.SiteAttempt]:
    query = sa.select(_t).where(_t.c.state == AS.REPORTED.value).order_by(_t.c.reported_at)
    return [from_row(row) for row in conn.execute(query.limit(limit))]


def finish(conn: sa.Connection, keys: Collection[str]) -> None:
    """The engine applied these attempts' outcomes (or gave them up): history now."""
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        conn.execute(
            sa.update(_t)
            .where(_t.c.key.in_(ordered[start : start + tables.IN_CHUNK]))
            .where(_t.c.state == AS.REPORTED.value)
            .values(state=AS.DONE.value)
        )


def has_overdue(conn: sa.Connection, *, now: datetime.datetime) -> bool:
    query = sa.select(_t.c.key).where(
        _t.c.state.in_(_HELD), _t.c.deadline.is_not(None), _t.c.deadline < now
    )
    return conn.execute(query.limit(1)).first() is not None


def abandon_overdue(conn: sa.Connection, *, now: datetime.datetime) -> list[sites.SiteAttempt]:
    """Attempts whose agent stayed silent past their deadline: given up, and returned."""
    query = (
        sa.select(_t)
        .where(_t.c.state.in_(_HELD), _t.c.deadline.is_not(None), _t.c.deadline < now)
        .with_for_update(skip_locked=True)
    )
    overdue = [from_row(row) for row in conn.execute(query)]
    given_up = []
    for attempt in overdue:
        changed = conn.execute(
            sa.update(_t)
            .where(_t.c.key == attempt.key, _t.c.state == attempt.state.value)
            .values(state=AS.ABANDONED.value)
        ).rowcount
        if changed:
            given_up.append(attempt)
    return given_up


def withdraw(conn: sa.Connection, key: str, *, kill: bool) -> str | None:
    """Stop an attempt: one no agent fetched yet is abandoned (``"withdrawn"``); with
    ``kill``, one an agent holds is marked for its agent to stop (``"kill_requested"``).
    None when there is nothing to do."""
    changed = conn.execute(
        sa.update(_t)
        .where(_t.c.key == key, _t.c.state == AS.QUEUED.value)
        .values(state=AS.ABANDONED.value)
    ).rowcount
    if changed:
        return "withdrawn"
    if not kill:
        return None
    changed = conn.execute(
        sa.update(_t).where(_t.c.key == key, _t.c.state.in_(_HELD)).values(kill_requested=True)
    ).rowcount
    return "kill_requested" if changed else None


def list_for_site(
    conn: sa.Connection, site: str, *, states: Sequence[sites.AttemptState] | None = None
) -> list[sites.SiteAttempt]:
    query = sa.select(_t).where(_t.c.site == site).order_by(_t.c.created_at, _t.c.key)
    if states is not None:
        query = query.where(_t.c.state.in_([s.value for s in states]))
    return [from_row(row) for row in conn.execute(query)]


def _deadline(now: datetime.datetime, timeout: float | None) -> datetime.datetime | None:
    return None if timeout is None else now + datetime.timedelta(seconds=timeout)
