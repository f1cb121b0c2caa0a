"""What every resource operation gets and gives back, and the shape of a drift result.

An operation is a plain function ``(Call) -> Done``. The :class:`Call` holds the node's
declared properties, the instance's runtime properties as the last run left them, the
deployment's inputs and where the operation may keep files (the connector's data folder);
the function makes the resource so (or checks it) and returns the runtime properties to
set and its result. It says "not done" by raising :class:`ResourceError`, recoverable or not.

check_drift returns, as its result, exactly::

    {"drifted": bool, "differences": {NAME: {"expected": ..., "actual": ...}, ...}}

with one entry per aspect that differs (``content_sha256``, ``mode``, ``process``, ...);
``differences`` is empty when nothing drifted. The check_drift workflow stores this result
in the instance's ``system_properties["drift"]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cairn.model.plan import JSON


class ResourceError(Exception):
    """The resource is not as declared, or cannot be made so."""

    def __init__(
        self, message: str, *, recoverable: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.recoverable = recoverable
        self.retry_after = retry_after


@dataclass(kw_only=True)
class Call:
    """One operation on one node instance."""

    type_name: str  # cairn.nodes.File, ... (for messages)
    properties: Mapping[str, JSON]
    runtime: Mapping[str, JSON]
    deployment_inputs: Mapping[str, JSON]
    deployment_id: str
    instance_id: str
    data_dir: str
    deadline: float | None = None  # time.monotonic() by which the operation must end
    logs: list[tuple[str, str]] = field(default_factory=list)

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append((level, message))

    def remaining(self, wanted: float) -> float:
        """``wanted`` seconds, or less when the operation's deadline comes first."""
        if self.deadline is None:
            return wanted
        return max(0.0, min(wanted, self.deadline - time.monotonic()))

    # -- reading declared properties, every bad value a clear error ------------------------

    def _bad(self, name: str, expected: str) -> ResourceError:
        value = self.properties.get(name)
        return ResourceError(
            f"{self.type_name}: property '{name}' must be {expected} (got {value!r})"
        )

    def text(self, name: str, *, required: bool = False) -> str:
        value = self.properties.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise self._bad(name, "a string")
        if required and not value.strip():
            raise self._bad(name, "a non-empty string")
        return value

    def number(self, name: str, *, default: int, low: int = 0, high: int | None = None) -> int:
        value = self.properties.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, "an integer")
        if value < low or (high is not None and value > high):
            raise self._bad(name, f"between {low} and {high}" if high else f"at least {low}")
        return value

    def mapping(self, name: str) -> dict[str, str]:
        value = self.properties.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(name, "a mapping")
        return {str(k): v if isinstance(v, str) else plain(v) for k, v in value.items()}


def plain(value: JSON) -> str:
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


@dataclass(frozen=True, kw_only=True)
class Done:
    """Runtime properties to set (None as a value removes the key) and the result."""

    runtime: Mapping[str, JSON] = field(default_factory=dict)
    result: JSON = None


def differ(expected: JSON, actual: JSON) -> dict[str, JSON]:
    return {"expected": expected, "actual": actual}


def drift(differences: Mapping[str, JSON]) -> Done:
    """check_drift's result: drifted when anything differs."""
    return Done(result={"drifted": bool(differences), "differences": dict(differences)})


def unhealthy(call: Call, differences: Mapping[str, JSON]) -> ResourceError:
    """check_status's failure: names each aspect that is not as it must be."""
    parts = [
        f"{name}: expected {value['expected']!r}, found {value['actual']!r}"
        if isinstance(value, Mapping)
        else f"{name}: {value!r}"
        for name, value in differences.items()
    ]
    return ResourceError(f"{call.type_name} {call.instance_id} is not healthy: " + "; ".join(parts))


Operation = Callable[[Call], Done]


def nothing(call: Call) -> Done:
    """An operation with nothing to do for this type (stop of a file, ...)."""
    return Done()
