"""Building a task graph from chains, the way Cloudify builds one from subgraphs.

A :class:`Chain` is the sequence of steps of one node instance in one phase of a workflow
(Cloudify's per-instance subgraph); a step is one task or several that run side by side
(Cloudify's ``forkjoin``). A chain may wait for whole other chains (a relationship makes the
source's install wait for the target's) or for single tasks (``depends_on_lifecycle_operation``).

Empty chains matter: an instance with nothing to do still passes on what it waits for, so if A
waits for B and B for C, A waits for C even when B has no tasks. :meth:`Graph.build` resolves
that, gives every task its ``depends_on`` and returns the tasks in a dependency order; it
refuses a graph with a cycle.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from cairn import errors
from cairn.model import executions


@dataclass(eq=False)
class Chain:
    name: str
    steps: list[list[executions.TaskSpec]] = field(default_factory=list)
    after: list[Chain] = field(default_factory=list)  # chains this one waits for, whole
    after_keys: list[str] = field(default_factory=list)  # single tasks this one waits for

    def add(self, *specs: executions.TaskSpec) -> None:
        """One step: the given tasks run side by side, after the previous step."""
        if specs:
            self.steps.append(list(specs))

    def then(self, specs: Iterable[executions.TaskSpec]) -> None:
        """Each task its own step, one after the other."""
        for spec in specs:
            self.add(spec)

    @property
    def empty(self) -> bool:
        return not self.steps

    def task_keys(self) -> list[str]:
        return [spec.key for step in self.steps for spec in step]

    def after_task(self, match: Callable[[executions.TaskSpec], bool]) -> list[str] | None:
        """The keys of the step right after the first task that matches (Cloudify waits for a
        task's dependents); ``None`` when no task matches."""
        for index, step in enumerate(self.steps):
            if any(match(spec) for spec in step):
                following = self.steps[index + 1] if index + 1 < len(self.steps) else []
                return [spec.key for spec in following]
        return None


class Graph:
    """Chains in creation order; :meth:`build` turns them into the workflow's tasks."""

    def __init__(self) -> None:
        self.chains: list[Chain] = []
        self.ignore_failure: set[str] = set()

    def chain(self, name: str) -> Chain:
        created = Chain(name)
        self.chains.append(created)
        return created

    def barrier(self, key: str, description: str, after: Sequence[Chain]) -> Chain | None:
        """A join task that waits for all of ``after``; ``None`` when they have no tasks."""
        if all(c.empty for c in after):
            return None
        join = self.chain(key)
        join.add(
            executions.TaskSpec(key=key, kind=executions.TaskKind.NOOP, description=description)
        )
        join.after = list(after)
        return join

    def ignore(self, keys: Iterable[str]) -> None:
        self.ignore_failure.update(keys)

    def build(self) -> tuple[executions.TaskSpec, ...]:
        exits = self._exits()
        specs: list[executions.TaskSpec] = []
        for chain in self.chains:
            previous = _entry_dependencies(chain, exits)
            for step in chain.steps:
                specs += [
                    dataclasses.replace(spec, depends_on=_unique(*spec.depends_on, *previous))
                    for spec in step
                ]
                previous = [spec.key for spec in step]
        return _in_dependency_order(specs)

    def _exits(self) -> dict[int, list[str]]:
        """For each chain (by ``id``), the tasks that finish it: its last step, or, for an empty
        chain, whatever it waits for."""
        exits: dict[int, list[str]] = {}
        for chain in _chain_order(self.chains):
            if chain.steps:
                exits[id(chain)] = [spec.key for spec in chain.steps[-1]]
            else:
                exits[id(chain)] = _entry_dependencies(chain, exits)
        return exits


def _entry_dependencies(chain: Chain, exits: dict[int, list[str]]) -> list[str]:
    found: list[str] = []
    for other in chain.after:
        found += exits[id(other)]
    return list(_unique(*found, *chain.after_keys))


def _unique(*keys: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


def _chain_order(chains: Sequence[Chain]) -> list[Chain]:
    """Chains so that each comes after the chains it waits for (creation order otherwise)."""
    position = {id(c): n for n, c in enumerate(chains)}
    waiting = {id(c): len({id(o) for o in c.after}) for c in chains}
    dependents: dict[int, list[Chain]] = {id(c): [] for c in chains}
    for chain in chains:
        for other in {id(o): o for o in chain.after}.values():
            dependents[id(other)].append(chain)
    ready = [(position[id(c)], c.name, id(c)) for c in chains if waiting[id(c)] == 0]
    heapq.heapify(ready)
    by_id = {id(c): c for c in chains}
    ordered: list[Chain] = []
    while ready:
        _, _, chain_id = heapq.heappop(ready)
        ordered.append(by_id[chain_id])
        for dependent in dependents[chain_id]:
            waiting[id(dependent)] -= 1
            if waiting[id(dependent)] == 0:
                heapq.heappush(ready, (position[id(dependent)], dependent.name, id(dependent)))
    if len(ordered) < len(chains):
        stuck = sorted({c.name for c in chains if waiting[id(c)] > 0})
        raise errors.UsageError(
            "the node instances' relationships form a cycle, so no order can satisfy them: "
            + ", ".join(stuck)
        )
    return ordered


def _in_dependency_order(specs: Sequence[executions.TaskSpec]) -> tuple[executions.TaskSpec, ...]:
    """A stable topological order; refuses duplicate keys, unknown dependencies and cycles."""
    position: dict[str, int] = {}
    for n, spec in enumerate(specs):
        if spec.key in position:
            raise AssertionError(f"planner produced the task key {spec.key!r} twice")
        position[spec.key] = n
    waiting = {spec.key: len(spec.depends_on) for spec in specs}
    dependents: dict[str, list[str]] = {spec.key: [] for spec in specs}
    for spec in specs:
        for dependency in spec.depends_on:
            if dependency not in dependents:
                raise AssertionError(f"task {spec.key!r} depends on unknown task {dependency!r}")
            dependents[dependency].append(spec.key)
    ready = [position[key] for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[executions.TaskSpec] = []
    while ready:
        spec = specs[heapq.heappop(ready)]
        ordered.append(spec)
        for dependent in dependents[spec.key]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, position[dependent])
    if len(ordered) < len(specs):
        stuck = sorted(key for key, count in waiting.items() if count > 0)
        raise errors.UsageError(f"the planned tasks wait for each other in a cycle: {stuck[:10]}")
    return tuple(ordered)
