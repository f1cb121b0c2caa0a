"""What the manager holds, in numbers: for ``GET /status`` and ``cairn status``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cairn

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod


@dataclass(frozen=True, kw_only=True)
class Summary:
    version: str
    blueprints: int
    deployments: int
    executions: Mapping[str, int]  # by status
    secrets: int


def summary(manager: manager_mod.Manager) -> Summary:
    store = manager.store
    by_status: dict[str, int] = {}
    for execution in store.list_executions():
        by_status[execution.status.value] = by_status.get(execution.status.value, 0) + 1
    return Summary(
        version=cairn.__version__,
        blueprints=len(store.list_blueprints()),
        deployments=len(store.list_deployments()),
        executions=by_status,
        secrets=len(store.list_secrets()),
    )
