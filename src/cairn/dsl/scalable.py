"""Instance counts of nodes and scaling groups (``capabilities.scalable.properties``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cairn.dsl import functions
from cairn.model import plan

UNBOUNDED = -1
KEYS = ("min_instances", "max_instances", "default_instances")


def parse(raw: Any, *, where: str) -> tuple[plan.Scalable, list[tuple[Any, str, str]]]:
    """Scalable properties with Cloudify's defaults; problems as (at, code, message)."""
    found: list[tuple[Any, str, str]] = []
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return plan.Scalable(), [(raw, "type", f"{where}: scalable properties must be a mapping")]
    values: dict[str, Any] = {
        "min_instances": 0,
        "max_instances": UNBOUNDED,
        "default_instances": 1,
    }
    for key, value in raw.items():
        if key not in KEYS:
            found.append(
                (
                    (raw, key),
                    "unknown-key",
                    f"{where}: unknown key {key!r} (allowed: {', '.join(KEYS)})",
                )
            )
            continue
        if value is None:
            continue
        checked, problem = _value(key, value)
        if problem:
            found.append(((raw, key), "instances", f"{where}: {problem}"))
            continue
        values[key] = checked
    found.extend((raw, "instances", f"{where}: {p}") for p in _consistency(values))
    default = values["default_instances"]
    return plan.Scalable(
        default_instances=default,
        min_instances=values["min_instances"],
        max_instances=values["max_instances"],
        current_instances=default,
        planned_instances=default,
    ), found


def _value(key: str, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, dict):
        if functions.is_function(value):
            return value, None
        return value, f"{key} should be a valid intrinsic function or a value"
    if key == "max_instances" and value == "UNBOUNDED":
        return UNBOUNDED, None
    if isinstance(value, str) and key == "max_instances":
        return value, "the only valid string for max_instances is UNBOUNDED"
    if not isinstance(
        value, int
    ):  # a boolean passes as 0 or 1 and stays as written, as in Cloudify
        return value, f"{key} must be an integer"
    if key == "max_instances" and value != UNBOUNDED and value < 1:
        return value, "max_instances should be a positive value"
    if key != "max_instances" and value < 0:
        return value, f"{key} should be a non negative value"
    return value, None


def _consistency(values: Mapping[str, Any]) -> list[str]:
    low, high, default = (
        values["min_instances"],
        values["max_instances"],
        values["default_instances"],
    )
    fixed = [not isinstance(v, dict) for v in (low, high, default)]
    found: list[str] = []
    if fixed[0] and fixed[2] and default < low:
        found.append(f"default_instances ({default}) cannot be smaller than min_instances ({low})")
    if not fixed[1] or high == UNBOUNDED:
        return found
    if fixed[0] and low > high:
        found.append(f"min_instances ({low}) cannot be greater than max_instances ({high})")
    if fixed[2] and default > high:
        found.append(f"default_instances ({default}) cannot be greater than max_instances ({high})")
    return found


def to_dict(value: plan.Scalable) -> dict[str, Any]:
    return {
        "default_instances": value.default_instances,
        "min_instances": value.min_instances,
        "max_instances": value.max_instances,
        "current_instances": value.current_instances,
        "planned_instances": value.planned_instances,
    }
