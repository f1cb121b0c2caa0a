"""The steps of one node instance in each lifecycle workflow, as Cloudify's ``lifecycle.py``
orders them (cloudify-common 7.0.5).

Every step is skipped when the instance's state says it is already done, with Cloudify's
rules, so an interrupted install continues where it stopped. Cloudify leaves out a no-op
operation together with the state changes around it; here a no-op operation gets no task but
the state changes stay, so an instance's state always records how far it got.

Differences from Cloudify, because Cairn has no agent per host (a site's agent runs every
operation of the site): the agent steps of a Compute node (``cloudify_agent.*``,
``worker_installer.*``, plugin installation) are left out; ``host.get_state`` and
``monitoring_agent.*`` run like any other operation when the node implements them. Cloudify's
transient ``initializing`` state is not recorded.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from cairn.model import executions
from cairn.model.runtime import InstanceState
from cairn.planner import graph, topology

S = InstanceState
LIFECYCLE = "cloudify.interfaces.lifecycle"
RELATIONSHIP_LIFECYCLE = "cloudify.interfaces.relationship_lifecycle"
PRECONFIGURE = f"{RELATIONSHIP_LIFECYCLE}.preconfigure"
POSTCONFIGURE = f"{RELATIONSHIP_LIFECYCLE}.postconfigure"
ESTABLISH = f"{RELATIONSHIP_LIFECYCLE}.establish"
UNLINK = f"{RELATIONSHIP_LIFECYCLE}.unlink"
HOST_POST_START = (
    "cloudify.interfaces.host.get_state",
    "cloudify.interfaces.monitoring_agent.install",
    "cloudify.interfaces.monitoring_agent.start",
)
HOST_PRE_STOP = (
    "cloudify.interfaces.monitoring_agent.stop",
    "cloudify.interfaces.monitoring_agent.uninstall",
)


def lifecycle(name: str) -> str:
    return f"{LIFECYCLE}.{name}"


class Keys:
    """Readable task keys: ``web_x1y2z3/create``, ``web_x1y2z3/state/created``,
    ``web_x1y2z3/rel0/preconfigure/source``, each under ``<phase>/`` in a workflow with
    several phases (``uninstall/web_x1y2z3/stop``)."""

    def __init__(self, phase: str = "") -> None:
        self.prefix = f"{phase}/" if phase else ""

    def operation(self, instance_id: str, operation: str) -> str:
        return f"{self.prefix}{instance_id}/{topology.operation_leaf(operation)}"

    def state(self, instance_id: str, state: InstanceState) -> str:
        return f"{self.prefix}{instance_id}/state/{state.value}"

    def relationship(self, rel: topology.Relationship, operation: str, side: str) -> str:
        short = operation.rsplit(".", 1)[-1]
        return f"{self.prefix}{rel.source_id}/rel{rel.index}/{short}/{side}"

    def named(self, name: str) -> str:
        return f"{self.prefix}{name}"


class Tasks:
    """Makes the tasks of one phase; operations the node does not implement make none."""

    def __init__(self, topo: topology.Topology, keys: Keys) -> None:
        self.topology = topo
        self.keys = keys

    def operation(
        self, instance_id: str, operation: str, *, inputs: Mapping[str, Any] | None = None
    ) -> executions.TaskSpec | None:
        if not self.topology.has_operation(instance_id, operation):
            return None
        return executions.TaskSpec(
            key=self.keys.operation(instance_id, operation),
            kind=executions.TaskKind.OPERATION,
            node_instance_id=instance_id,
            operation=operation,
            inputs=dict(inputs or {}),
            description=f"{operation} on {instance_id}",
        )

    def operations(self, instance_id: str, *operations: str) -> list[executions.TaskSpec]:
        found = (self.operation(instance_id, op) for op in operations)
        return [spec for spec in found if spec is not None]

    def state(self, instance_id: str, state: InstanceState) -> executions.TaskSpec:
        return executions.TaskSpec(
            key=self.keys.state(instance_id, state),
            kind=executions.TaskKind.SET_STATE,
            node_instance_id=instance_id,
            state=state,
            description=f"{instance_id} is {state.value}",
        )

    def relationship(
        self, rel: topology.Relationship, operation: str, side: executions.Side
    ) -> executions.TaskSpec | None:
        if not rel.has_operation(operation, target_side=side is executions.Side.TARGET):
            return None
        return executions.TaskSpec(
            key=self.keys.relationship(rel, operation, side.value),
            kind=executions.TaskKind.OPERATION,
            node_instance_id=rel.source_id,
            operation=operation,
            relationship_index=rel.index,
            target_instance_id=rel.target_id,
            side=side,
            description=(f"{operation} ({side.value}) of {rel.source_id} -> {rel.target_id}"),
        )

    def both_sides(self, rel: topology.Relationship, operation: str) -> list[executions.TaskSpec]:
        found = (self.relationship(rel, operation, side) for side in executions.Side)
        return [spec for spec in found if spec is not None]

    def relationship_steps(
        self, instance_id: str, operation: str, *, reverse: bool = False
    ) -> list[list[executions.TaskSpec]]:
        """One step per target instance, in relationship order (reversed for unlink); the
        source and target operations of a relationship run side by side."""
        steps: list[list[executions.TaskSpec]] = []
        rels = self.topology.relationships(instance_id)
        for _, group in itertools.groupby(rels, key=lambda r: r.target_id):
            step = [spec for rel in group for spec in self.both_sides(rel, operation)]
            if step:
                steps.append(step)
        return steps[::-1] if reverse else steps


def _add_steps(chain: graph.Chain, steps: list[list[executions.TaskSpec]]) -> None:
    for step in steps:
        chain.add(*step)


def install(chain: graph.Chain, tasks: Tasks, instance_id: str, state: InstanceState) -> None:
    """Cloudify's ``install_node_instance_subgraph``."""
    if state not in {S.STARTED, S.STARTING, S.CREATED, S.CREATING, S.CONFIGURED, S.CONFIGURING}:
        chain.then(
            tasks.operations(
                instance_id, "cloudify.interfaces.validation.create", lifecycle("precreate")
            )
        )
    if state not in {S.STARTED, S.STARTING, S.CREATED, S.CONFIGURING, S.CONFIGURED}:
        chain.add(tasks.state(instance_id, S.CREATING))
        chain.then(tasks.operations(instance_id, lifecycle("create")))
        chain.add(tasks.state(instance_id, S.CREATED))
    if state not in {S.STARTED, S.STARTING, S.CONFIGURED}:
        _add_steps(chain, tasks.relationship_steps(instance_id, PRECONFIGURE))
        chain.add(tasks.state(instance_id, S.CONFIGURING))
        chain.then(tasks.operations(instance_id, lifecycle("configure")))
        chain.add(tasks.state(instance_id, S.CONFIGURED))
    if state is not S.STARTED:
        _add_steps(chain, tasks.relationship_steps(instance_id, POSTCONFIGURE))
        chain.add(tasks.state(instance_id, S.STARTING))
        chain.then(tasks.operations(instance_id, lifecycle("start")))
        if tasks.topology.is_host(instance_id):
            chain.then(tasks.operations(instance_id, *HOST_POST_START))
        chain.then(
            tasks.operations(
                instance_id, lifecycle("poststart"), "cloudify.interfaces.monitoring.start"
            )
        )
        _add_steps(chain, tasks.relationship_steps(instance_id, ESTABLISH))
        chain.add(tasks.state(instance_id, S.STARTED))


def _stop(chain: graph.Chain, tasks: Tasks, instance_id: str) -> None:
    chain.add(tasks.state(instance_id, S.STOPPING))
    chain.then(
        tasks.operations(
            instance_id,
            "cloudify.interfaces.validation.delete",
            "cloudify.interfaces.monitoring.stop",
            lifecycle("prestop"),
        )
    )
    if tasks.topology.is_host(instance_id):
        chain.then(tasks.operations(instance_id, *HOST_PRE_STOP))
    chain.then(tasks.operations(instance_id, lifecycle("stop")))


def _delete(chain: graph.Chain, tasks: Tasks, instance_id: str) -> None:
    _add_steps(chain, tasks.relationship_steps(instance_id, UNLINK, reverse=True))
    chain.add(tasks.state(instance_id, S.DELETING))
    chain.then(tasks.operations(instance_id, lifecycle("delete"), lifecycle("postdelete")))


def uninstall(chain: graph.Chain, tasks: Tasks, instance_id: str, state: InstanceState) -> None:
    """Cloudify's ``uninstall_node_instance_subgraph``."""
    if state not in {S.STOPPED, S.DELETING, S.DELETED, S.UNINITIALIZED, S.CONFIGURED}:
        _stop(chain, tasks, instance_id)
    if state not in {S.STOPPED, S.DELETING, S.DELETED}:
        chain.add(tasks.state(instance_id, S.STOPPED))
    if state not in {S.DELETED, S.UNINITIALIZED}:
        _delete(chain, tasks, instance_id)
    if state is not S.DELETED:
        chain.add(tasks.state(instance_id, S.DELETED))


UNRESOLVED = frozenset({S.CREATING, S.CONFIGURING, S.STARTING})


def rollback(chain: graph.Chain, tasks: Tasks, instance_id: str, state: InstanceState) -> None:
    """Cloudify's ``rollback_node_instance_subgraph``: an instance left ``starting`` goes back
    to ``configured`` (stopped), one left ``creating`` or ``configuring`` to ``uninitialized``
    (unlinked and deleted)."""
    if state is S.STARTING:
        _stop(chain, tasks, instance_id)
        chain.add(tasks.state(instance_id, S.CONFIGURED))
    if state in {S.CREATING, S.CONFIGURING}:
        _delete(chain, tasks, instance_id)
        chain.add(tasks.state(instance_id, S.UNINITIALIZED))


def after_rollback(state: InstanceState) -> InstanceState:
    if state is S.STARTING:
        return S.CONFIGURED
    if state in {S.CREATING, S.CONFIGURING}:
        return S.UNINITIALIZED
    return state


def heal(chain: graph.Chain, tasks: Tasks, instance_id: str) -> None:
    """Cloudify's ``heal_node_instance_subgraph``: preheal, heal, postheal."""
    chain.then(
        tasks.operations(
            instance_id, lifecycle("preheal"), lifecycle("heal"), lifecycle("postheal")
        )
    )


UPDATE_OPERATIONS = tuple(
    lifecycle(name)
    for name in (
        "preupdate",
        "update",
        "postupdate",
        "update_config",
        "update_apply",
        "update_postapply",
    )
)


def update(chain: graph.Chain, tasks: Tasks, instance_id: str) -> None:
    """An update in place: the update operations the node defines, in Cloudify's order."""
    chain.then(tasks.operations(instance_id, *UPDATE_OPERATIONS))
