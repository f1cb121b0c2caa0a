"""``deployment_settings``: defaults a deployment created from the blueprint starts with.

The settings hold the deployment's display name, id template, groups, and the schedules
of workflows it runs by default. Schedule times are read as Cloudify reads them: a
relative time (``+1d``) stays as written, an absolute one (``YYYY-MM-DD HH:MM`` or
``HH:MM`` today) becomes naive UTC, ``'%Y-%m-%d %H:%M:%S'``, and ``timezone`` is
consumed by that conversion. Without a timezone Cloudify reads the time in the manager's
local time zone; a plan must not depend on the machine that parsed it, so we read it as
UTC (what a Cloudify manager runs in).
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from typing import Any

from cairn.dsl import loader, sections, versions, yamlsrc
from cairn.dsl.problems import Problems

SETTINGS_FIELDS = {
    "default_schedules": "dict",
    "default_groups": "list",
    "id_template": "string",
    "display_name": "string or dict",
}
SCHEDULE_FIELDS = {
    "workflow": "string",
    "execution_arguments": "dict",
    "workflow_parameters": "dict",
    "since": "string",
    "until": "string",
    "recurrence": "string",
    "timezone": "string",
    "weekdays": "list",
    "count": "integer",
    "default_enabled": "boolean",
    "stop_after_fail": "boolean",
    "slip": "integer",
}
EXECUTION_FIELDS = {
    "force": "boolean",
    "is_dry_run": "boolean",
    "wait_after_fail": "integer",
    "allow_custom_parameters": "boolean",
}
WEEKDAYS = ("su", "mo", "tu", "we", "th", "fr", "sa")
_TIMEDELTA = re.compile(r"^(\d+)\ ?(min(ute)?|h(our)?|d(ay)?|w(eek)?|mo(nth)?|y(ear)?)s?$")
_RELATIVE_PART = re.compile(r"(\+\d+\ ?[a-z]+\ ?)")
_OUTPUT_FORMAT = "%Y-%m-%d %H:%M:%S"


def deployment_settings(
    merged: loader.Merged, *, gate: versions.Gate | None = None, problems: Problems
) -> dict[str, Any]:
    """{display_name?, id_template?, default_groups?, default_schedules?} as written."""
    written = sections.whole(merged, "deployment_settings")
    if written is None:
        return {}
    raw, at = written
    what = "'deployment_settings'"
    if not sections.check_fields(raw, SETTINGS_FIELDS, what=what, at=at, problems=problems):
        return {}
    result = {k: v for k, v in raw.items() if k in SETTINGS_FIELDS}
    if "default_schedules" in raw:
        result["default_schedules"] = _schedules(raw["default_schedules"], at, problems)
    return result


def _schedules(raw: Any, at: yamlsrc.Mark, problems: Problems) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if not isinstance(raw, dict):
        return result  # reported as a field of the wrong kind
    for name, schedule in raw.items():
        mark = yamlsrc.key_mark(raw, name, at)
        parsed = _schedule(schedule, what=f"default schedule {name!r}", at=mark, problems=problems)
        if parsed is not None:
            result[str(name)] = parsed
    return result


def _schedule(
    raw: Any, *, what: str, at: yamlsrc.Mark, problems: Problems
) -> dict[str, Any] | None:
    if raw is None:
        problems.add(at, "required", f"{what} needs 'workflow' and 'since'")
        return None
    if not sections.check_fields(raw, SCHEDULE_FIELDS, what=what, at=at, problems=problems):
        return None
    sections.require(raw, ("workflow", "since"), what=what, at=at, problems=problems)
    arguments = raw.get("execution_arguments")
    if arguments is not None:
        where = yamlsrc.value_mark(raw, "execution_arguments", at)
        sections.check_fields(
            arguments,
            EXECUTION_FIELDS,
            what=f"{what}: 'execution_arguments'",
            at=where,
            problems=problems,
        )
    _check_parameters(raw.get("workflow_parameters"), what=what, at=at, problems=problems)
    _check_weekdays(raw.get("weekdays"), what=what, at=at, problems=problems)
    recurrence = raw.get("recurrence")
    if recurrence and isinstance(recurrence, str) and not _TIMEDELTA.match(recurrence):
        problems.at_value(
            raw, "recurrence", at, "schedule", f"{what}: {recurrence!r} is not a legal time delta"
        )
    result = dict(raw)
    timezone = raw.get("timezone") if isinstance(raw.get("timezone"), str) else None
    for key in ("since", "until"):
        value = raw.get(key)
        if value and isinstance(value, str):
            where = yamlsrc.value_mark(raw, key, at)
            result[key] = _time(
                value, timezone, what=f"{what}: {key!r}", at=where, problems=problems
            )
    result.pop("timezone", None)
    return result


def _check_parameters(raw: Any, *, what: str, at: yamlsrc.Mark, problems: Problems) -> None:
    """A schedule is set when the deployment is created: no runtime property can be known."""
    if not isinstance(raw, dict):
        return
    if "get_attribute" in raw:
        problems.at_key(
            raw,
            "get_attribute",
            at,
            "schedule",
            f"{what}: 'workflow_parameters' cannot be a runtime property (get_attribute)",
        )
    for key, value in raw.items():
        if isinstance(value, dict) and "get_attribute" in value:
            problems.at_value(
                raw,
                key,
                at,
                "schedule",
                f"{what}: workflow parameter {key!r} cannot be a runtime property (get_attribute)",
            )


def _check_weekdays(raw: Any, *, what: str, at: yamlsrc.Mark, problems: Problems) -> None:
    if not isinstance(raw, list):
        return
    for index, day in enumerate(raw):
        where = yamlsrc.value_mark(raw, index, at)
        if not isinstance(day, str):
            problems.add(
                where, "type", f"{what}: a weekday must be a string, not {sections.kind_of(day)}"
            )
        elif day.lower()[-2:] not in WEEKDAYS:
            problems.add(
                where,
                "schedule",
                f"{what}: {day!r} is not a valid weekday "
                f"(accepted: {', '.join(WEEKDAYS)}, optionally prefixed as in 2TU)",
            )


def _time(
    value: str, timezone: str | None, *, what: str, at: yamlsrc.Mark, problems: Problems
) -> str:
    if value.startswith("+"):
        for part in _RELATIVE_PART.findall(value):
            if not _TIMEDELTA.match(part[1:]):
                problems.add(at, "schedule", f"{what}: {part[1:]!r} is not a legal time delta")
        return value
    moment = _absolute(value)
    if moment is None:
        problems.add(
            at,
            "schedule",
            f"{what}: {value!r} is not a legal time, accepted formats "
            "are YYYY-MM-DD HH:MM and HH:MM",
        )
        return value
    if timezone:
        try:
            zone = zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            problems.add(at, "schedule", f"{what}: {timezone!r} is not a recognized timezone")
            return value
        moment = moment.replace(tzinfo=zone).astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.strftime(_OUTPUT_FORMAT)


def _absolute(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d %H:%M")
    except ValueError:
        pass
    try:
        clock = datetime.datetime.strptime(value, "%H:%M").time()
    except ValueError:
        return None
    return datetime.datetime.combine(datetime.datetime.now(datetime.UTC).date(), clock)
