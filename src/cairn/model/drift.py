"""Drift: what check_drift records on an instance, how a deployment's drift is summed up, and
the per-deployment policy that schedules checks.

Cloudify's ``check_drift`` runs ``lifecycle.check_drift`` on each instance and
``relationship_lifecycle.check_drift`` on both ends of each of its relationships, and keeps each
result on the instance it ran for. An operation's result means "drifted" when it is truthy (in
Cloudify, an empty or false result means nothing to update). Cairn's resource types return
``{"drifted": bool, "differences": {name: {"expected": ..., "actual": ...}}}``; such a result
says so itself.

One record per instance, in ``system_properties["drift"]``::

    {"drifted": bool, "checked_at": ISO time, "execution": id,
     "instance": CHECK or None,
     "relationships": [CHECK + {"side", "source", "target"}, ...]}

where a CHECK is ``{"drifted", "differences", "result", "error"}``. A record written by an
earlier execution is replaced as a whole by the first result of a new one; results of the same
execution are merged into it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cairn.model import plan

JSON = plan.JSON
KEY = "drift"
INSTANCE_OPERATION = "cloudify.interfaces.lifecycle.check_drift"
RELATIONSHIP_OPERATION = "cloudify.interfaces.relationship_lifecycle.check_drift"
OPERATIONS = frozenset({INSTANCE_OPERATION, RELATIONSHIP_OPERATION})
WORKFLOW = "check_drift"


def check(*, ok: bool, result: JSON, error: str | None) -> dict[str, JSON]:
    """One operation's check: drifted or not, and what differs."""
    if not ok:
        return {"drifted": False, "differences": {}, "result": None, "error": error}
    if isinstance(result, Mapping) and "drifted" in result:
        differences = result.get("differences")
        return {
            "drifted": bool(result["drifted"]),
            "differences": dict(differences) if isinstance(differences, Mapping) else {},
            "result": dict(result),
            "error": None,
        }
    differences = dict(result) if isinstance(result, Mapping) else {}
    return {"drifted": bool(result), "differences": differences, "result": result, "error": None}


def merged(
    stored: JSON,
    *,
    execution_id: str,
    checked_at: datetime.datetime,
    entry: Mapping[str, JSON],
    relationship: Mapping[str, JSON] | None = None,
) -> dict[str, JSON]:
    """The instance's record with one more check of ``execution_id``: ``relationship`` (side,
    source, target) for a relationship end, None for the instance's own operation."""
    same_run = isinstance(stored, Mapping) and stored.get("execution") == execution_id
    base: Mapping[str, Any] = stored if same_run and isinstance(stored, Mapping) else {}
    relationships = [dict(r) for r in base.get("relationships") or []]
    instance = base.get("instance")
    if relationship is None:
        instance = dict(entry)
    else:
        # a resumed execution checks a relationship end again: its new result replaces the old
        same = ("side", "source", "target")
        relationships = [
            r for r in relationships if any(r.get(k) != relationship.get(k) for k in same)
        ]
        relationships.append({**relationship, **entry})
    drifted = bool(isinstance(instance, Mapping) and instance.get("drifted")) or any(
        r.get("drifted") for r in relationships
    )
    return {
        "drifted": drifted,
        "checked_at": checked_at.isoformat(),
        "execution": execution_id,
        "instance": instance,
        "relationships": relationships,
    }


def record_of(system_properties: Mapping[str, JSON]) -> Mapping[str, JSON] | None:
    found = system_properties.get(KEY)
    return found if isinstance(found, Mapping) else None


def differences(record: Mapping[str, JSON]) -> dict[str, JSON]:
    """Everything that differs on one instance: its own differences, then each relationship
    end's under ``"<side> <source>-><target>"``."""
    found: dict[str, JSON] = {}
    instance = record.get("instance")
    if isinstance(instance, Mapping):
        found.update(instance.get("differences") or {})
    for rel in record.get("relationships") or []:
        if isinstance(rel, Mapping) and rel.get("drifted"):
            name = f"{rel.get('side')} {rel.get('source')}->{rel.get('target')}"
            found[name] = rel.get("differences") or rel.get("result")
    return found


@dataclass(frozen=True, kw_only=True)
class Summary:
    """A deployment's drift: drifted when any instance is; when it was last checked."""

    deployment_id: str
    drifted: bool
    checked_at: datetime.datetime | None
    drifted_instances: tuple[str, ...] = ()
    status_failed: tuple[str, ...] = ()  # instances whose last status check failed


def summarize(deployment_id: str, system_properties: Sequence[tuple[str, JSON]]) -> Summary:
    """From (instance id, system_properties) pairs of one deployment."""
    drifted: list[str] = []
    failed: list[str] = []
    latest: datetime.datetime | None = None
    for instance_id, props in system_properties:
        if not isinstance(props, Mapping):
            continue
        record = record_of(props)
        if record is not None:
            if record.get("drifted"):
                drifted.append(instance_id)
            at = _time(record.get("checked_at"))
            if at is not None and (latest is None or at > latest):
                latest = at
        status = props.get("status")
        if isinstance(status, Mapping) and status.get("ok") is False:
            failed.append(instance_id)
    return Summary(
        deployment_id=deployment_id,
        drifted=bool(drifted),
        checked_at=latest,
        drifted_instances=tuple(sorted(drifted)),
        status_failed=tuple(sorted(failed)),
    )


def _time(value: JSON) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


# --- policy ---------------------------------------------------------------------------------


class Mode(StrEnum):
    OFF = "off"  # no scheduled checks
    DETECT = "detect"  # scheduled check_drift, results recorded
    CORRECT = "correct"  # and then update (drifted instances) and heal (failed status checks)


MIN_INTERVAL = 10.0  # seconds
MAX_INTERVAL = 366 * 86400.0
DEFAULT_INTERVAL = 3600.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


@dataclass(frozen=True, kw_only=True)
class Policy:
    mode: Mode = Mode.OFF
    interval: float = DEFAULT_INTERVAL  # seconds between scheduled checks

    def to_json(self) -> dict[str, JSON]:
        return {"mode": self.mode.value, "interval": self.interval}


def policy_of(stored: Mapping[str, JSON] | None) -> Policy:
    """The stored policy (None or damaged: off)."""
    if not isinstance(stored, Mapping):
        return Policy()
    try:
        mode = Mode(str(stored.get("mode")))
        interval = float(stored.get("interval") or DEFAULT_INTERVAL)
    except (ValueError, TypeError):
        return Policy()
    return Policy(mode=mode, interval=interval)


def parse_mode(text: str) -> Mode | str:
    """The mode, or a problem to report."""
    try:
        return Mode(text.strip().lower())
    except ValueError:
        return f"mode must be one of {', '.join(m.value for m in Mode)}, not {text!r}"


def duration_seconds(text: str) -> float | None:
    """Seconds from ``90``, ``30s``, ``5m``, ``2h``, ``1d`` (None: not a duration)."""
    found = _DURATION.match(text)
    return None if found is None else float(found.group(1)) * _UNITS[found.group(2) or "s"]


def parse_interval(text: str | float | int) -> float | str:
    """Seconds from ``90``, ``30s``, ``5m``, ``2h``, ``1d``; or a problem to report."""
    if isinstance(text, bool):
        return f"interval must be a duration like 30s, 5m, 1h or 1d, not {text!r}"
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        parsed = duration_seconds(text)
        if parsed is None:
            return f"interval must be a duration like 30s, 5m, 1h or 1d, not {text!r}"
        seconds = parsed
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        return (
            f"interval must be between {MIN_INTERVAL:g} seconds and {MAX_INTERVAL / 86400:g} "
            f"days, not {text!r}"
        )
    return seconds


def next_check(policy: Policy, now: datetime.datetime) -> datetime.datetime | None:
    """When the next scheduled check is due under ``policy`` (None: never)."""
    if policy.mode is Mode.OFF:
        return None
    return now + datetime.timedelta(seconds=policy.interval)


def next_slot(
    policy: Policy, due: datetime.datetime, now: datetime.datetime
) -> datetime.datetime | None:
    """The check after the one due at ``due``: one interval later, on fixed slots, so a
    scheduler running late does not make the period slide (a change waits at most one
    interval plus the check); slots already missed are skipped, not run in a burst."""
    if policy.mode is Mode.OFF:
        return None
    step = datetime.timedelta(seconds=policy.interval)
    following = due + step
    if following <= now:
        missed = (now - following) // step + 1
        following += missed * step
    return following
