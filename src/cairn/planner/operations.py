"""Workflows that run one operation on selected instances: execute_operation, start, stop,
restart, pull, check_status and check_drift (Cloudify's ``_make_execute_operation_graph``,
``_make_check_status_graph`` and ``_make_check_drift_graph``).

With ``run_by_dependency_order`` an instance's operation waits for the operations of the
instances it has relationships to; the instances that are not selected still pass the order
on (A -> B -> C orders A after C even when B is not selected). These workflows do not change
instance states, as in Cloudify.

One deliberate difference: Cloudify's ``stop`` orders like ``start`` (a host stops before the
software on it); here ``stop`` runs in reverse dependency order, so what runs on a host stops
first, as uninstall does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cairn import errors
from cairn.model import drift, executions
from cairn.planner import graph, steps, topology

CHECK_STATUS = "cloudify.interfaces.validation.check_status"
LIFECYCLE_CHECK_STATUS = "cloudify.interfaces.lifecycle.check_status"


@dataclass(frozen=True, kw_only=True)
class Run:
    """One operation over a selection of instances."""

    operation: str
    selected: Sequence[str]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    allow_kwargs_override: bool = False
    by_dependency_order: bool = False
    reverse_order: bool = False
    phase: str = ""


def add_run(
    g: graph.Graph, topo: topology.Topology, run: Run, *, after: graph.Chain | None = None
) -> list[graph.Chain]:
    """The run's chains (one per instance that takes part); raises InputError when kwargs
    redefine operation inputs and overriding them is not allowed."""
    keys = steps.Keys(run.phase)
    tasks = steps.Tasks(topo, keys)
    chains: dict[str, graph.Chain] = {}
    problems: list[str] = []
    for instance_id in run.selected:
        chain = g.chain(keys.named(instance_id))
        chains[instance_id] = chain
        qualified = topology.resolve_operation(topo.operations(instance_id), run.operation)
        if qualified is None:
            continue
        problems += _override_problems(topo, instance_id, qualified, run)
        spec = tasks.operation(instance_id, qualified, inputs=run.kwargs)
        if spec is not None:
            chain.add(spec)
    if problems:
        raise errors.InputError(problems)
    if run.by_dependency_order:
        _order(g, topo, chains, keys, reverse=run.reverse_order)
    if after is not None:
        for chain in chains.values():
            chain.after.append(after)
    return list(chains.values())


def _order(
    g: graph.Graph,
    topo: topology.Topology,
    chains: dict[str, graph.Chain],
    keys: steps.Keys,
    *,
    reverse: bool,
) -> None:
    """Orders the chains by relationships, through stub chains of unselected instances."""
    for instance_id in topo.ids():
        if instance_id not in chains:
            chains[instance_id] = g.chain(keys.named(instance_id))
    for instance_id in topo.ids():
        for rel in topo.relationships(instance_id):
            if rel.target_id not in chains:
                continue
            source, target = chains[instance_id], chains[rel.target_id]
            waiter, awaited = (target, source) if reverse else (source, target)
            waiter.after.append(awaited)


def _override_problems(
    topo: topology.Topology, instance_id: str, operation: str, run: Run
) -> list[str]:
    if run.allow_kwargs_override or not run.kwargs:
        return []
    declared = topo.operations(instance_id)[operation].get("inputs") or {}
    clash = sorted(set(run.kwargs) & set(declared))
    if not clash:
        return []
    return [
        f"{instance_id}: operation {operation} already defines input(s) {', '.join(clash)}; "
        "pass allow_kwargs_override: true to override them"
    ]


def check_status_operation(topo: topology.Topology, instance_id: str) -> str:
    """``validation.check_status`` (Cloudify's), or ``lifecycle.check_status`` where a type
    only defines that one."""
    if not topo.has_operation(instance_id, CHECK_STATUS) and topo.has_operation(
        instance_id, LIFECYCLE_CHECK_STATUS
    ):
        return LIFECYCLE_CHECK_STATUS
    return CHECK_STATUS


def add_check_status(
    g: graph.Graph, topo: topology.Topology, selected: Sequence[str], *, by_dependency_order: bool
) -> list[str]:
    """check_status tasks for the selected instances that define it; returns their keys."""
    keys = steps.Keys()
    tasks = steps.Tasks(topo, keys)
    chains: dict[str, graph.Chain] = {}
    for instance_id in selected:
        chain = g.chain(keys.named(instance_id))
        chain.then(tasks.operations(instance_id, check_status_operation(topo, instance_id)))
        chains[instance_id] = chain
    if by_dependency_order:
        _order(g, topo, chains, keys, reverse=False)
    return [key for chain in chains.values() for key in chain.task_keys()]


def add_check_drift(
    g: graph.Graph, topo: topology.Topology, selected: Sequence[str], *, by_dependency_order: bool
) -> list[str]:
    """Cloudify's ``_make_check_drift_graph``: per selected instance, its
    ``lifecycle.check_drift``, then ``relationship_lifecycle.check_drift`` on both ends of each
    of its relationships, side by side (each end's result belongs to the instance it runs
    for). Operations an instance does not implement make no task. Returns the task keys.

    With ``run_by_dependency_order`` an instance's checks wait for all the checks of the
    instances it has relationships to (Cloudify orders only the instances' own tasks)."""
    keys = steps.Keys()
    tasks = steps.Tasks(topo, keys)
    chains: dict[str, graph.Chain] = {}
    for instance_id in selected:
        chain = g.chain(keys.named(instance_id))
        chain.then(tasks.operations(instance_id, drift.INSTANCE_OPERATION))
        ends = [
            spec
            for rel in topo.relationships(instance_id)
            for side in executions.Side
            if (spec := tasks.relationship(rel, drift.RELATIONSHIP_OPERATION, side)) is not None
        ]
        if ends:
            chain.add(*ends)
        chains[instance_id] = chain
    if by_dependency_order:
        _order(g, topo, chains, keys, reverse=False)
    return [key for chain in chains.values() for key in chain.task_keys()]
