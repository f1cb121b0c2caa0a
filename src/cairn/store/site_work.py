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
from cairn.store import rows, tables

_t = tables.site_attempts
AS = sites.AttemptState
_OPEN = [AS.QUEUED.value, AS.DELIVERED.value, AS.ACKNOWLEDGED.value]
_HELD = [AS.DELIVERED.value, AS.ACKNOWLEDGED.value]
_STAMP = _t.c.deadline.type  # for the timestamps bound in an executemany


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


# whole rows, the payload as its JSON text: a delivery hands it on to the agent as it is
# stored, without parsing it and writing it again (see :class:`rows.LazyJSON`)
_WHOLE = (
    *(column for column in _t.c if column.name != "payload"),
    sa.cast(_t.c.payload, sa.Text).label("payload_text"),
)


def from_row(row: sa.Row[Any]) -> sites.SiteAttempt:
    return sites.SiteAttempt(
        key=row.key,
        site=row.site,
        execution_id=row.execution_id,
        task_id=int(row.task_id),
        payload=rows.LazyJSON(row.payload_text),
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
    row = conn.execute(sa.select(*_WHOLE).where(_t.c.key == key)).first()
    return None if row is None else from_row(row)


def get_many(conn: sa.Connection, keys: Collection[str]) -> dict[str, sites.SiteAttempt]:
    """The stored attempts among ``keys``."""
    found: dict[str, sites.SiteAttempt] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = sa.select(*_WHOLE).where(_t.c.key.in_(ordered[start : start + tables.IN_CHUNK]))
        for row in conn.execute(query):
            found[row.key] = from_row(row)
    return found


# what acknowledgements and reports look at: not the payload, the row's largest column
_BRIEF = (_t.c.key, _t.c.site, _t.c.state, _t.c.timeout, _t.c.outcome)


def _brief_many(conn: sa.Connection, keys: Collection[str]) -> dict[str, Any]:
    """The stored rows among ``keys`` without their payload, locked for this transaction."""
    found: dict[str, Any] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = sa.select(*_BRIEF).where(_t.c.key.in_(ordered[start : start + tables.IN_CHUNK]))
        found.update((row.key, row) for row in conn.execute(query.with_for_update()))
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
    limits: Mapping[str, int],
    *,
    now: datetime.datetime,
    redeliver_before: datetime.datetime,
) -> dict[str, list[sites.SiteAttempt]]:
    """Up to ``limits[site]`` attempts for each site to send to its agent now: the queued
    ones, and those delivered before ``redeliver_before`` that the agent never acknowledged
    (the answer was lost on the way). Marked delivered, with the deadline their timeout
    gives. Two reads (the rows locked, skipping those another replica holds) and one
    ``executemany`` for all the sites: a poll batch costs three statements, not two a site."""
    deliverable = sa.or_(
        _t.c.state == AS.QUEUED.value,
        sa.and_(_t.c.state == AS.DELIVERED.value, _t.c.delivered_at < redeliver_before),
    )
    # first the keys, to take each site's first ``limit`` (a site back from a long absence
    # may have a backlog of thousands: of those only the keys are read), then those rows
    # whole, locked
    wanted: list[str] = []
    ordered = sorted(limits)
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = (
            sa.select(_t.c.site, _t.c.key)
            .where(_t.c.site.in_(ordered[start : start + tables.IN_CHUNK]), deliverable)
            .order_by(_t.c.site, _t.c.created_at, _t.c.key)
        )
        taken: dict[str, int] = {}
        for site, key in conn.execute(query):
            if taken.get(site, 0) < limits[site]:
                taken[site] = taken.get(site, 0) + 1
                wanted.append(key)
    chosen: dict[str, list[sites.SiteAttempt]] = {}
    for start in range(0, len(wanted), tables.IN_CHUNK):
        whole = (
            sa.select(*_WHOLE)
            .where(_t.c.key.in_(wanted[start : start + tables.IN_CHUNK]), deliverable)
            .order_by(_t.c.site, _t.c.created_at, _t.c.key)
            .with_for_update(skip_locked=True)
        )
        for row in conn.execute(whole):
            chosen.setdefault(row.site, []).append(from_row(row))
    moves = [
        {
            "k": attempt.key,
            "from_state": attempt.state.value,
            "new_deadline": _deadline(now, attempt.timeout),
        }
        for found in chosen.values()
        for attempt in found
    ]
    _move(
        conn,
        moves,
        state=AS.DELIVERED.value,
        delivered_at=now,
        deadline=sa.bindparam("new_deadline", type_=_STAMP),
        deliveries=_t.c.deliveries + 1,
    )
    return chosen


def sites_with_work(
    conn: sa.Connection, wanted: Collection[str], *, redeliver_before: datetime.datetime
) -> set[str]:
    """Those of ``wanted`` with attempts to deliver or to kill, in one query per chunk."""
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


def kill_requests(conn: sa.Connection, sites_: Collection[str]) -> dict[str, list[str]]:
    """Keys of each site's attempts to stop now (``cancel --kill``), by site."""
    found: dict[str, list[str]] = {}
    ordered = sorted(set(sites_))
    for start in range(0, len(ordered), tables.IN_CHUNK):
        query = sa.select(_t.c.site, _t.c.key).where(
            _t.c.site.in_(ordered[start : start + tables.IN_CHUNK]),
            _t.c.state.in_(_HELD),
            _t.c.kill_requested.is_(True),
        )
        for row in conn.execute(query.order_by(_t.c.site, _t.c.key)):
            found.setdefault(row.site, []).append(row.key)
    return found


def _move(conn: sa.Connection, moves: Sequence[Mapping[str, Any]], **values: Any) -> None:
    """Sets ``values`` on the rows of ``moves`` (each ``{"k": key, "from_state": the state it
    leaves, ...the values' bound parameters}``) with one ``executemany``, each guarded by the
    state it leaves. The callers read the rows locked (PostgreSQL) or hold the database's
    one write lock (SQLite), so every move happens."""
    if moves:
        conn.execute(
            sa.update(_t)
            .where(_t.c.key == sa.bindparam("k"), _t.c.state == sa.bindparam("from_state"))
            .values(**values),
            moves,
        )


def _foreign(
    site: str, keys: Collection[str], found: Mapping[str, Any]
) -> errors.PermissionDenied | None:
    foreign = sorted(key for key in set(keys) if key in found and found[key].site != site)
    if not foreign:
        return None
    return errors.PermissionDenied(
        f"attempt {foreign[0]} is not work of site '{site}'"
        + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else "")
    )


def confirm(
    conn: sa.Connection,
    batch: Sequence[tuple[str, Collection[str], datetime.datetime]],
    *,
    acknowledge: bool,
) -> list[list[str] | errors.PermissionDenied]:
    """For each (site, keys, now): the agent holds ``keys``, so their deadlines move on from
    ``now``; with ``acknowledge``, delivered (or still queued) attempts become acknowledged.
    Answers, in order, the keys that moved, or PermissionDenied for an entry naming another
    site's attempt (that entry changes nothing; the others go on). One read (rows locked)
    and one ``executemany`` for the whole batch."""
    found = _brief_many(conn, {key for _, keys, _ in batch for key in keys})
    state = {key: row.state for key, row in found.items()}
    answers: list[list[str] | errors.PermissionDenied] = []
    moves: list[dict[str, Any]] = []
    for site, keys, now in batch:
        refused = _foreign(site, keys, found)
        if refused is not None:
            answers.append(refused)
            continue
        moved = []
        for key in dict.fromkeys(keys):
            if state.get(key) not in _OPEN:
                continue
            target = AS.ACKNOWLEDGED.value if acknowledge else state[key]
            moves.append(
                {
                    "k": key,
                    "from_state": state[key],
                    "to_state": target,
                    "now": now,
                    "new_deadline": _deadline(now, found[key].timeout),
                    "acknowledged": now if acknowledge else None,
                }
            )
            state[key] = target
            moved.append(key)
        answers.append(moved)
    _move(
        conn,
        moves,
        state=sa.bindparam("to_state"),
        confirmed_at=sa.bindparam("now", type_=_STAMP),
        deadline=sa.bindparam("new_deadline", type_=_STAMP),
        acknowledged_at=sa.func.coalesce(
            _t.c.acknowledged_at, sa.bindparam("acknowledged", type_=_STAMP)
        ),
        delivered_at=sa.func.coalesce(
            _t.c.delivered_at, sa.bindparam("acknowledged", type_=_STAMP)
        ),
    )
    return answers


def report(
    conn: sa.Connection,
    batch: Sequence[tuple[str, Mapping[str, Mapping[str, Any]], datetime.datetime]],
) -> list[dict[str, str] | errors.PermissionDenied]:
    """For each (site, outcomes by key, now): stores the outcomes the site's agent reports
    and says per key what became of it: ``accepted`` (stored now or before), ``late`` (the
    attempt was given up: noted, not applied) or ``unknown``. An entry naming another
    site's attempt gets PermissionDenied and changes nothing; the others go on. One read
    (rows locked) and one ``executemany`` for the batch."""
    found = _brief_many(conn, {key for _, outcomes, _ in batch for key in outcomes})
    state = {key: AS(row.state) for key, row in found.items()}
    answers: list[dict[str, str] | errors.PermissionDenied] = []
    moves: list[dict[str, Any]] = []
    for site, outcomes, now in batch:
        refused = _foreign(site, outcomes, found)
        if refused is not None:
            answers.append(refused)
            continue
        verdicts: dict[str, str] = {}
        for key, outcome in outcomes.items():
            if key not in found:
                verdicts[key] = "unknown"
            elif state[key].value in _OPEN:
                moves.append(
                    {"k": key, "from_state": state[key].value, "now": now, "new": dict(outcome)}
                )
                state[key] = AS.REPORTED
                verdicts[key] = "accepted"
            elif state[key] is AS.ABANDONED:
                if found[key].outcome is None:  # kept as a record of what the site did after all
                    conn.execute(
                        sa.update(_t)
                        .where(_t.c.key == key)
                        .values(outcome=dict(outcome), reported_at=now)
                    )
                verdicts[key] = "late"
            else:
                verdicts[key] = "accepted"  # a repeat of a report already stored
        answers.append(verdicts)
    _move(
        conn,
        moves,
        state=AS.REPORTED.value,
        outcome=sa.bindparam("new", type_=_t.c.outcome.type),
        reported_at=sa.bindparam("now", type_=_STAMP),
        # a report is an acknowledgement too (it may overtake the agent's next poll)
        acknowledged_at=sa.func.coalesce(_t.c.acknowledged_at, sa.bindparam("now", type_=_STAMP)),
    )
    return answers


def reported(conn: sa.Connection, *, limit: int) -> dict[str, Mapping[str, Any]]:
    """The outcomes reported and not yet applied, by key, oldest first."""
    query = (
        sa.select(_t.c.key, _t.c.outcome)
        .where(_t.c.state == AS.REPORTED.value)
        .order_by(_t.c.reported_at)
    )
    return {row.key: row.outcome for row in conn.execute(query.limit(limit))}


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
        sa.select(*_WHOLE)
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
    query = sa.select(*_WHOLE).where(_t.c.site == site).order_by(_t.c.created_at, _t.c.key)
    if states is not None:
        query = query.where(_t.c.state.in_([s.value for s in states]))
    return [from_row(row) for row in conn.execute(query)]


def _deadline(now: datetime.datetime, timeout: float | None) -> datetime.datetime | None:
    return None if timeout is None else now + datetime.timedelta(seconds=timeout)
