"""What a built-in workflow is planned from: the deployment, the parameters, new instance ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cairn.planner import graph, result, topology


@dataclass(frozen=True, kw_only=True)
class Context:
    workflow_id: str
    topology: topology.Topology
    parameters: Mapping[str, Any]
    deployment_id: str
    new_id: Callable[[str], str]

    def flag(self, name: str, default: bool = False) -> bool:
        return bool(self.parameters.get(name, default))

    def names(self, name: str) -> list[str]:
        """A list parameter (a single string counts as a list of one)."""
        value = self.parameters.get(name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def select(self) -> list[str]:
        return self.topology.select(
            node_ids=self.names("node_ids"),
            node_instance_ids=self.names("node_instance_ids"),
            type_names=self.names("type_names"),
        )

    def others(self, chosen: Sequence[str]) -> list[str]:
        taken = set(chosen)
        return [i for i in self.topology.ids() if i not in taken]

    def plan(
        self,
        g: graph.Graph,
        description: str,
        *,
        status_checks: Sequence[str] = (),
        change: result.InstanceChange | None = None,
    ) -> result.WorkflowPlan:
        tasks = g.build()
        keys = {spec.key for spec in tasks}
        return result.WorkflowPlan(
            tasks=tasks,
            parameters=dict(self.parameters),
            description=description,
            ignore_failure_keys=frozenset(g.ignore_failure & keys),
            status_check_keys=frozenset(status_checks) & keys,
            change=change,
        )
