"""Rollouts: one workflow run across a group's deployments, in waves, with a ledger.

A rollout snapshots its group when it starts: each deployment becomes a :class:`Member` with
a place in the order (by deployment id) and a wave. ``waves`` are cumulative marks over the
members, counts or percentages (``1,10%,50%,100%``: the first member is the canary, then up
to a tenth, half, all); members past the last mark form one more wave. A wave starts when the
one before it has no member left running and its soak time has passed.

``max_failures`` is the failure threshold: the rollout acts (pause, stop, roll back) when
that many members have failed since it started or was last resumed (``N``, or ``P%`` of the
members, rounded up, at least 1).

Everything here is pure: the manager's runner (:mod:`cairn.services.rollouts`) reads rows,
asks these functions what to do, and commits the answer.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cairn.model import drift, plan

JSON = plan.JSON


class Status(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # no member starts; running ones are followed to their end
    CONVERGING = "converging"  # every wave done; offline members still to converge
    STOPPING = "stopping"  # threshold passed with on-failure stop: running members finish
    CANCELLING = "cancelling"
    ROLLING_BACK = "rolling_back"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every wave done, some members failed (below the threshold)
    STOPPED = "stopped"
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"


LIVE = frozenset(
    {
        Status.RUNNING,
        Status.PAUSED,
        Status.CONVERGING,
        Status.STOPPING,
        Status.CANCELLING,
        Status.ROLLING_BACK,
    }
)
ENDED = frozenset(Status) - LIVE
# where pause, resume and retry-failed may be used
PAUSABLE = frozenset({Status.RUNNING, Status.CONVERGING})
RESUMABLE = frozenset({Status.PAUSED, Status.STOPPED, Status.FAILED})


class MemberStatus(StrEnum):
    PENDING = "pending"  # its wave has not reached it yet
    STARTING = "starting"  # its execution id is chosen; the execution may not exist yet
    RUNNING = "running"
    RETRYING = "retrying"  # retry-failed: its failed execution is resumed when it has ended
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    OFFLINE = "offline"  # its site is offline (--offline skip): converges when it is back
    WAITING = "waiting"  # its site is offline (--offline wait): its wave waits for it
    CANCELLED = "cancelled"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


# statuses the runner still has to act on or follow
MEMBER_LIVE = frozenset(
    {
        MemberStatus.STARTING,
        MemberStatus.RUNNING,
        MemberStatus.RETRYING,
        MemberStatus.OFFLINE,
        MemberStatus.WAITING,
        MemberStatus.ROLLING_BACK,
    }
)
# statuses that hold one of the rollout's concurrency slots
MEMBER_BUSY = frozenset(
    {
        MemberStatus.STARTING,
        MemberStatus.RUNNING,
        MemberStatus.RETRYING,
        MemberStatus.ROLLING_BACK,
    }
)
# statuses that keep a wave from ending
MEMBER_HOLDS_WAVE = MEMBER_BUSY | {MemberStatus.PENDING, MemberStatus.WAITING}


class OnFailure(StrEnum):
    PAUSE = "pause"
    STOP = "stop"
    ROLLBACK = "rollback"


class Offline(StrEnum):
    SKIP = "skip"  # record it offline, go on, converge it when its site is back
    WAIT = "wait"  # its wave waits until its site is back
    FAIL = "fail"  # it fails (and counts towards the threshold)


DEFAULT_CONCURRENCY = 20
MAX_CONCURRENCY = 10_000
MAX_SOAK = 7 * 86400.0
_COUNT = re.compile(r"\s*(\d+)\s*(%?)\s*")

# what undoes a workflow's change on a member, for --on-failure rollback and rollback
INVERSE = {"update": "update", "install": "uninstall", "start": "stop", "stop": "start"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    concurrency: int = DEFAULT_CONCURRENCY
    waves: tuple[str, ...] = ("100%",)  # cumulative marks: "1", "10%"
    soak: float = 0.0  # seconds between a wave's end and the next wave's start
    max_failures: str = "1"  # "N" or "P%"
    on_failure: OnFailure = OnFailure.PAUSE
    offline: Offline = Offline.SKIP

    def to_json(self) -> dict[str, JSON]:
        return {
            "concurrency": self.concurrency,
            "waves": list(self.waves),
            "soak": self.soak,
            "max_failures": self.max_failures,
            "on_failure": self.on_failure.value,
            "offline": self.offline.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        return cls(
            concurrency=int(data["concurrency"]),
            waves=tuple(str(w) for w in data["waves"]),
            soak=float(data["soak"]),
            max_failures=str(data["max_failures"]),
            on_failure=OnFailure(data["on_failure"]),
            offline=Offline(data["offline"]),
        )


def settings_from(
    *,
    concurrency: int | None = None,
    waves: str | Sequence[str] | None = None,
    soak: str | float | None = None,
    max_failures: str | int | None = None,
    on_failure: str | None = None,
    offline: str | None = None,
) -> tuple[Settings | None, dict[str, str]]:
    """Settings from user input, or every problem found, by field name."""
    problems: dict[str, str] = {}
    chosen = Settings()
    if concurrency is not None and not (
        isinstance(concurrency, int) and 1 <= concurrency <= MAX_CONCURRENCY
    ):
        problems["concurrency"] = (
            f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, not {concurrency!r}"
        )
    marks: tuple[str, ...] = chosen.waves
    if waves is not None:
        items = waves.split(",") if isinstance(waves, str) else [str(w) for w in waves]
        found = parse_waves(items)
        if isinstance(found, str):
            problems["waves"] = found
        else:
            marks = found
    soak_seconds = 0.0
    if soak not in (None, "", 0, "0"):
        parsed = parse_duration(soak)
        if isinstance(parsed, str):
            problems["soak"] = parsed
        else:
            soak_seconds = parsed
    limit = chosen.max_failures
    if max_failures is not None:
        found_limit = parse_count(str(max_failures), what="max-failures")
        if isinstance(found_limit, str):
            problems["max_failures"] = found_limit
        elif found_limit[0] == 0:
            problems["max_failures"] = (
                "max-failures must be at least 1 (the rollout acts when this many members "
                "have failed)"
            )
        else:
            limit = str(max_failures).strip().replace(" ", "")
    act = chosen.on_failure
    if on_failure is not None:
        try:
            act = OnFailure(on_failure)
        except ValueError:
            problems["on_failure"] = (
                f"on-failure must be one of {', '.join(o.value for o in OnFailure)}, "
                f"not {on_failure!r}"
            )
    away = chosen.offline
    if offline is not None:
        try:
            away = Offline(offline)
        except ValueError:
            problems["offline"] = (
                f"offline must be one of {', '.join(o.value for o in Offline)}, not {offline!r}"
            )
    if problems:
        return None, problems
    return (
        Settings(
            concurrency=concurrency or chosen.concurrency,
            waves=marks,
            soak=soak_seconds,
            max_failures=limit,
            on_failure=act,
            offline=away,
        ),
        {},
    )


def parse_count(text: str, *, what: str) -> tuple[int, bool] | str:
    """(number, is a percentage) from ``5`` or ``10%``; or a problem to report."""
    found = _COUNT.fullmatch(text)
    if found is None:
        return f"{what} must be a count like 5 or a percentage like 10%, not {text!r}"
    number, percent = int(found.group(1)), bool(found.group(2))
    if percent and number > 100:
        return f"{what} {text!r} is more than 100%"
    return number, percent


def parse_waves(items: Sequence[str]) -> tuple[str, ...] | str:
    marks: list[str] = []
    for item in items:
        found = parse_count(item, what="each wave")
        if isinstance(found, str):
            return found
        if found[0] == 0:
            return f"each wave must hold at least one member or 1%, not {item.strip()!r}"
        marks.append(item.strip())
    if not marks:
        return "waves must name at least one wave, like 1,10%,100%"
    return tuple(marks)


def parse_duration(text: str | float) -> float | str:
    """Seconds from ``90``, ``30s``, ``5m``, ``2h``; or a problem (0 to 7 days)."""
    problem = f"soak must be a duration like 30s, 5m or 1h, not {text!r}"
    if isinstance(text, bool):
        return problem
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        parsed = drift.duration_seconds(text)
        if parsed is None:
            return problem
        seconds = parsed
    if not 0 <= seconds <= MAX_SOAK:
        return f"soak must be between 0 and 7 days, not {text!r}"
    return seconds


def wave_ends(marks: Sequence[str], total: int) -> list[int]:
    """The cumulative number of members at the end of each wave (no empty wave; the last
    one ends at ``total``)."""
    ends: list[int] = []
    for mark in marks:
        found = parse_count(mark, what="wave")
        assert not isinstance(found, str), found
        number, percent = found
        end = math.ceil(total * number / 100) if percent else number
        end = min(max(end, 1), total)
        if not ends or end > ends[-1]:
            ends.append(end)
    if total and (not ends or ends[-1] < total):
        ends.append(total)
    return ends


def assign_waves(marks: Sequence[str], total: int) -> list[int]:
    """The wave of each member, by position."""
    waves: list[int] = []
    for wave, end in enumerate(wave_ends(marks, total)):
        waves.extend([wave] * (end - len(waves)))
    return waves


def failure_limit(max_failures: str, total: int) -> int:
    found = parse_count(max_failures, what="max-failures")
    assert not isinstance(found, str), found
    number, percent = found
    if percent:
        return max(1, math.ceil(total * number / 100))
    return max(1, number)


def first_line(error: str | None) -> str | None:
    if not error:
        return None
    for line in error.splitlines():
        if line.strip():
            return line.strip()[:500]
    return None


@dataclass(frozen=True, kw_only=True)
class Rollout:
    id: str
    group_id: str
    workflow_id: str
    parameters: Mapping[str, JSON]
    settings: Settings
    status: Status
    wave: int  # the wave now running (0-based)
    waves: int
    created_at: datetime.datetime
    created_by: str = "admin"
    next_wave_at: datetime.datetime | None = None
    failure_base: int = 0
    reason: str | None = None
    ended_at: datetime.datetime | None = None
    version: int = 1
    counts: Mapping[str, int] = field(default_factory=dict)  # members by status, when read


@dataclass(frozen=True, kw_only=True)
class Member:
    rollout_id: str
    deployment_id: str
    position: int
    wave: int
    site: str
    status: MemberStatus
    updated_at: datetime.datetime
    execution_id: str | None = None
    attempts: int = 0
    error: str | None = None
    from_revision: int | None = None
    to_revision: int | None = None
    rollback_execution_id: str | None = None
    started_at: datetime.datetime | None = None
    ended_at: datetime.datetime | None = None
