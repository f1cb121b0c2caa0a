"""Helpers for planner tests: real blueprints parsed and prepared, stored-looking instances,
and questions about task graphs."""

from __future__ import annotations

import itertools
import random
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cairn import planner
from cairn.dsl import deployment, parser
from cairn.model import deployment as deployment_model
from cairn.model import executions, runtime
from cairn.model.runtime import InstanceState

HEADER = """\
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
"""
SCRIPT = re.compile(r"\b(scripts/[\w./-]+\.sh)\b")


@dataclass
class Deployment:
    """A prepared deployment: its stored plan and its instances as the store would hold them."""

    plan: dict[str, Any]
    instances: list[runtime.NodeInstance]

    def ids(self, node_id: str) -> list[str]:
        return [i.id for i in self.instances if i.node_id == node_id]

    def one(self, node_id: str) -> str:
        (found,) = self.ids(node_id)
        return found

    def instance(self, instance_id: str) -> runtime.NodeInstance:
        return next(i for i in self.instances if i.id == instance_id)

    def with_states(self, states: Mapping[str, InstanceState]) -> Deployment:
        """``states`` by node id or instance id."""
        changed = [
            replace(i, state=states.get(i.id, states.get(i.node_id, i.state)))
            for i in self.instances
        ]
        return Deployment(self.plan, changed)

    def with_status(self, instance_id: str, *, ok: bool, task: str | None = "check") -> Deployment:
        status = {"ok": ok, "task": task, "result": None, "timestamp": "2024-01-01T00:00:00"}
        changed = [
            replace(i, system_properties={"status": status}) if i.id == instance_id else i
            for i in self.instances
        ]
        return Deployment(self.plan, changed)

    def run(self, workflow: str, **parameters: Any) -> planner.WorkflowPlan:
        return planner.plan_workflow(
            workflow,
            deployment=self.plan,
            instances=self.instances,
            parameters=parameters,
            new_id=sequential_ids(),
        )

    def after(self, plan: planner.WorkflowPlan) -> Deployment:
        """The deployment once a scale plan's change is applied (as the engine stores it)."""
        assert plan.change is not None
        change = plan.change
        kept = [
            replace(i, relationships=change.relationships.get(i.id, i.relationships))
            for i in self.instances
            if i.id not in change.removed_instance_ids
        ]
        added = [replace(i, state=InstanceState.STARTED) for i in change.added_instances]
        return Deployment(self.plan, [*kept, *added])


def sequential_ids() -> Any:
    counters: dict[str, int] = {}

    def new_id(name: str) -> str:
        counters[name] = counters.get(name, 0) + 1
        return f"{name}_new{counters[name]:03d}"

    return new_id


def deploy(
    tmp_path: Path,
    body: str,
    *,
    inputs: Mapping[str, Any] | None = None,
    state: InstanceState = InstanceState.UNINITIALIZED,
    seed: int = 7,
) -> Deployment:
    """Writes the blueprint (with the standard types imported) and its scripts, parses and
    prepares it."""
    text = HEADER + textwrap.dedent(body)
    for script in SCRIPT.findall(text):
        path = tmp_path / script
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
    blueprint = tmp_path / "blueprint.yaml"
    blueprint.write_text(text)
    return prepared(blueprint, inputs=inputs, state=state, seed=seed)


def prepared(
    blueprint: Path,
    *,
    inputs: Mapping[str, Any] | None = None,
    state: InstanceState = InstanceState.UNINITIALIZED,
    seed: int = 7,
    options: Any = None,
) -> Deployment:
    plan = parser.parse_path(str(blueprint), options=options)
    prepared_plan = deployment.prepare(plan, dict(inputs or {}), rng=random.Random(seed))
    stored = [
        runtime.NodeInstance(
            id=i.id,
            deployment_id="dep",
            node_id=i.node_id,
            host_id=i.host_id,
            state=state,
            runtime_properties={},
            relationships=tuple(
                {"type": r.type, "target_id": r.target_id, "target_name": r.target_name}
                for r in i.relationships
            ),
            scaling_groups=tuple({"name": g.name, "id": g.id} for g in i.scaling_groups),
        )
        for i in prepared_plan.node_instances
    ]
    return Deployment(deployment_model.to_json(prepared_plan), stored)


# --- questions about a plan -------------------------------------------------------------------


def check_graph(plan: planner.WorkflowPlan) -> None:
    """Keys are unique, every dependency exists and comes earlier (so there is no cycle)."""
    seen: set[str] = set()
    for spec in plan.tasks:
        assert spec.key not in seen, f"duplicate key {spec.key}"
        for dependency in spec.depends_on:
            assert dependency in seen, f"{spec.key} depends on later or unknown {dependency}"
        seen.add(spec.key)


def ancestors(plan: planner.WorkflowPlan, key: str) -> set[str]:
    """Every task ``key`` waits for, directly or not."""
    by_key = {spec.key: spec for spec in plan.tasks}
    found: set[str] = set()
    pending = list(by_key[key].depends_on)
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending += by_key[current].depends_on
    return found


def waits_for(plan: planner.WorkflowPlan, later: str, earlier: str) -> bool:
    return earlier in ancestors(plan, later)


def keys(plan: planner.WorkflowPlan, prefix: str = "") -> list[str]:
    return [spec.key for spec in plan.tasks if spec.key.startswith(prefix)]


def instance_keys(plan: planner.WorkflowPlan, instance_id: str, phase: str = "") -> list[str]:
    start = f"{phase}/{instance_id}/" if phase else f"{instance_id}/"
    return keys(plan, start)


def operations_of(plan: planner.WorkflowPlan, instance_id: str) -> list[str]:
    """The instance's own operations (not relationship ones), in plan order."""
    return [
        spec.operation or ""
        for spec in plan.tasks
        if spec.kind is executions.TaskKind.OPERATION
        and spec.node_instance_id == instance_id
        and spec.side is None
    ]


def states_of(plan: planner.WorkflowPlan, instance_id: str) -> list[str]:
    return [
        spec.state.value
        for spec in plan.tasks
        if spec.kind is executions.TaskKind.SET_STATE
        and spec.node_instance_id == instance_id
        and spec.state is not None
    ]


def first(plan: planner.WorkflowPlan, instance_id: str, phase: str = "") -> str:
    return instance_keys(plan, instance_id, phase)[0]


def last(plan: planner.WorkflowPlan, instance_id: str, phase: str = "") -> str:
    return instance_keys(plan, instance_id, phase)[-1]


def touched(plan: planner.WorkflowPlan) -> set[str]:
    return {spec.node_instance_id for spec in plan.tasks if spec.node_instance_id is not None}


def chain_order(plan: planner.WorkflowPlan, keys_in_order: Iterable[str]) -> bool:
    """Each key waits for the one before it."""
    ordered = list(keys_in_order)
    return all(waits_for(plan, b, a) for a, b in itertools.pairwise(ordered))
