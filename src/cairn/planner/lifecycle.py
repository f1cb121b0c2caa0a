"""Phases of lifecycle workflows: the instances' chains and the order between them
(Cloudify's ``LifecycleProcessor``).

A phase acts on some instances (install, uninstall, rollback or heal them) and leaves the
others *intact*. Every relationship between two instances of the phase orders their chains:
the source's install waits for the target's, the target's uninstall waits for the source's.
A relationship with an ``operation`` property (``depends_on_lifecycle_operation``) waits only
for that lifecycle operation of the other end, and not at all when that end does not run the
operation in this phase (Cloudify's rule). An intact instance with a relationship to an
instance of the phase runs that relationship's ``establish`` (install) or ``unlink``
(uninstall, rollback; failures ignored) operations, so that scaling out or in, or installing
a part of a deployment, connects and disconnects the rest.

Workflows with several phases (reinstall: uninstall then install) run them one after the
other, joined by a NOOP task ``<phase>/done``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cairn.model import executions
from cairn.model.runtime import InstanceState
from cairn.planner import graph, steps, topology


class Action(StrEnum):
    INSTALL = "install"
    UNINSTALL = "uninstall"
    ROLLBACK = "rollback"
    HEAL = "heal"
    UPDATE = "update"  # an update's in-place step: the node's update operations


INSTALL_LIKE = frozenset({Action.INSTALL, Action.HEAL, Action.UPDATE})
IN_PLACE = frozenset({Action.HEAL, Action.UPDATE})  # intact instances do nothing


@dataclass(frozen=True, kw_only=True)
class Phase:
    """``name`` prefixes the keys ("" in a workflow of one phase); ``states`` overrides the
    stored state of instances whose state an earlier phase will have changed."""

    name: str
    action: Action
    instances: Sequence[str]
    intact: Sequence[str] = ()
    states: Mapping[str, InstanceState] = field(default_factory=dict)
    ignore_failure: bool = False


def run_phases(g: graph.Graph, topo: topology.Topology, phases: Sequence[Phase]) -> None:
    """Adds the phases to ``g``, each starting once the previous one has finished."""
    barrier: graph.Chain | None = None
    for number, phase in enumerate(phases):
        chains = add_phase(g, topo, phase, after=barrier)
        if number + 1 < len(phases):
            key = steps.Keys(phase.name).named("done")
            barrier = g.barrier(key, f"{phase.name or phase.action.value} finished", chains)


def add_phase(
    g: graph.Graph, topo: topology.Topology, phase: Phase, *, after: graph.Chain | None
) -> list[graph.Chain]:
    keys = steps.Keys(phase.name)
    tasks = steps.Tasks(topo, keys)
    chains: dict[str, graph.Chain] = {}
    for instance_id in phase.instances:
        chain = g.chain(keys.named(instance_id))
        state = phase.states.get(instance_id, topo.instances[instance_id].state)
        _fill(chain, tasks, phase.action, instance_id, state)
        if phase.ignore_failure:
            g.ignore(chain.task_keys())
        chains[instance_id] = chain
    for instance_id in phase.intact:
        if instance_id not in chains:
            chains[instance_id] = g.chain(keys.named(instance_id))
    if after is not None:
        for chain in chains.values():
            chain.after.append(after)
    members = set(phase.instances)
    install_like = phase.action in INSTALL_LIKE
    for instance_id in phase.instances:
        for rel in topo.relationships(instance_id):
            if rel.target_id in chains:
                _order(chains, rel, install_like=install_like)
    if phase.action not in IN_PLACE:
        for instance_id in phase.intact:
            _intact(g, chains, tasks, instance_id, members, install_like=install_like)
    return list(chains.values())


def _fill(
    chain: graph.Chain, tasks: steps.Tasks, action: Action, instance_id: str, state: InstanceState
) -> None:
    if action is Action.INSTALL:
        steps.install(chain, tasks, instance_id, state)
    elif action is Action.UNINSTALL:
        steps.uninstall(chain, tasks, instance_id, state)
    elif action is Action.ROLLBACK:
        steps.rollback(chain, tasks, instance_id, state)
    elif action is Action.UPDATE:
        steps.update(chain, tasks, instance_id)
    else:
        steps.heal(chain, tasks, instance_id)


def _order(
    chains: Mapping[str, graph.Chain], rel: topology.Relationship, *, install_like: bool
) -> None:
    """Makes one end's chain wait for the other's: the source for the target in install, the
    target for the source in uninstall."""
    if install_like:
        waiter, awaited, awaited_id = chains[rel.source_id], chains[rel.target_id], rel.target_id
    else:
        waiter, awaited, awaited_id = chains[rel.target_id], chains[rel.source_id], rel.source_id
    operation = rel.lifecycle_operation
    if operation is None:
        waiter.after.append(awaited)
        return
    qualified = steps.lifecycle(operation)

    def is_awaited(spec: executions.TaskSpec) -> bool:
        return (
            spec.kind is executions.TaskKind.OPERATION
            and spec.node_instance_id == awaited_id
            and spec.side is None
            and spec.operation == qualified
        )

    following = awaited.after_task(is_awaited)
    if following:
        waiter.after_keys.extend(following)


def _intact(
    g: graph.Graph,
    chains: Mapping[str, graph.Chain],
    tasks: steps.Tasks,
    instance_id: str,
    members: set[str],
    *,
    install_like: bool,
) -> None:
    chain = chains[instance_id]
    operation = steps.ESTABLISH if install_like else steps.UNLINK
    for rel in tasks.topology.relationships(instance_id):
        if rel.target_id not in chains:
            continue
        _order(chains, rel, install_like=install_like)
        if rel.target_id in members:
            specs = tasks.both_sides(rel, operation)
            chain.then(specs)
            if not install_like:
                g.ignore(spec.key for spec in specs)
