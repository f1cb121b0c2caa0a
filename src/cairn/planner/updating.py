"""The ``update`` workflow: move a deployment to a new revision, running only what changed.

A Cairn built-in, planned from two deployment plans rather than from a blueprint's
``workflows:`` section. Its phases, each waiting for the one before:

1. ``remove`` (by the old revision's plan): removed instances are uninstalled, sources
   outside them unlink first, in reverse dependency order; so are modified instances whose
   node defines no update operation, with everything contained in them (they are reinstalled);
   relationships between kept instances that the new plan drops are unlinked.
2. ``install`` (by the new plan): added instances and the ones being reinstalled are
   installed in dependency order; existing sources establish their relationships to them,
   and kept instances establish the relationships the new plan gives them.
3. ``update`` (by the new plan): modified instances whose node defines update operations run
   them in place (``cloudify.interfaces.lifecycle`` preupdate, update, postupdate,
   update_config, update_apply, update_postapply), targets before sources.
4. ``apply``: one task that moves the deployment to the new revision, removes the removed
   instances and writes the final relationships, in one transaction.

Each task names the revision whose plan it runs by (``TaskSpec.revision``). The new instances
and the relationships kept instances gain (appended, so the indices of the old ones stay
valid for the unlink tasks) are stored when the update starts; see :class:`UpdatePlan`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cairn.model import executions, runtime
from cairn.planner import delta, graph, lifecycle, steps, topology

JSON = Any
APPLY_KEY = "apply"


@dataclass(frozen=True, kw_only=True)
class UpdatePlan:
    """A planned update. Store ``added`` and ``extended`` (whole relationship lists of kept
    instances, old ones first) with the execution; ``tasks`` end with the ``apply`` task."""

    changes: tuple[delta.Change, ...]
    instances: delta.InstanceDelta
    tasks: tuple[executions.TaskSpec, ...]
    reinstalled: tuple[str, ...]
    updated: tuple[str, ...]
    extended: Mapping[str, tuple[Mapping[str, JSON], ...]]
    ignore_failure_keys: frozenset[str] = frozenset()

    @property
    def added(self) -> tuple[runtime.NodeInstance, ...]:
        return self.instances.added

    @property
    def empty(self) -> bool:
        return not self.changes and self.instances.empty

    def summary(self) -> dict[str, JSON]:
        """What ``--preview`` shows and the revision keeps: the delta and the steps."""
        return {
            "changes": [c.to_json() for c in self.changes],
            "instances": {
                **self.instances.to_json(),
                "reinstalled": list(self.reinstalled),
                "updated_in_place": list(self.updated),
            },
            "steps": [
                {
                    "key": s.key,
                    "kind": s.kind.value,
                    "description": s.description,
                    "revision": s.revision,
                }
                for s in self.tasks
            ],
        }


def plan_update(
    *,
    current: Mapping[str, JSON],
    new: Mapping[str, JSON],
    instances: Sequence[runtime.NodeInstance],
    deployment_id: str,
    old_revision: int,
    new_revision: int,
    unfinished: Collection[str] = (),
) -> UpdatePlan:
    """The update from deployment plan ``current`` (revision ``old_revision``, with the stored
    ``instances``) to ``new`` (``model.deployment.to_json`` form, fresh instance ids)."""
    changes = tuple(delta.plan_changes(current, new))
    found = delta.instance_changes(
        old=current,
        new=new,
        instances=instances,
        deployment_id=deployment_id,
        unfinished=unfinished,
    )
    old_topo = topology.Topology(current, instances)
    extended = {
        i.id: (*(dict(r) for r in i.relationships), *found.gained[i.id])
        for i in instances
        if i.id in found.gained
    }
    kept = [
        dataclasses.replace(i, relationships=extended.get(i.id, i.relationships))
        for i in instances
        if i.id not in set(found.removed)
    ]
    new_topo = topology.Topology(new, [*kept, *found.added])
    reinstalled, updated = _split_modified(found, old_topo, new_topo)
    g = graph.Graph()
    last = _remove_phase(g, old_topo, found, reinstalled)
    last = _install_phase(g, new_topo, found, reinstalled, after=last) or last
    phase = lifecycle.Phase(
        name="update",
        action=lifecycle.Action.UPDATE,
        instances=updated,
        intact=[i for i in new_topo.ids() if i not in set(updated)],
    )
    chains = lifecycle.add_phase(g, new_topo, phase, after=last)
    final = g.chain(APPLY_KEY)
    final.add(_apply_task(found, new_revision))
    final.after = [*chains, *([last] if last else [])]
    tasks = tuple(
        dataclasses.replace(
            spec, revision=old_revision if spec.key.startswith("remove/") else new_revision
        )
        for spec in g.build()
    )
    return UpdatePlan(
        changes=changes,
        instances=found,
        tasks=tasks,
        reinstalled=tuple(reinstalled),
        updated=tuple(updated),
        extended=extended,
        ignore_failure_keys=frozenset(g.ignore_failure),
    )


def _split_modified(
    found: delta.InstanceDelta, old_topo: topology.Topology, new_topo: topology.Topology
) -> tuple[list[str], list[str]]:
    """(to reinstall, with contained subgraphs; to update in place)."""
    in_place: list[str] = []
    reinstall: set[str] = set()
    for instance_id, reasons in found.modified.items():
        if delta.UNFINISHED not in reasons and any(
            new_topo.has_operation(instance_id, op) for op in steps.UPDATE_OPERATIONS
        ):
            in_place.append(instance_id)
        else:
            reinstall.update(old_topo.contained_subgraph(instance_id))
    reinstall -= set(found.removed)
    return [i for i in old_topo.ids() if i in reinstall], [
        i for i in new_topo.ids() if i in in_place and i not in reinstall
    ]


def _remove_phase(
    g: graph.Graph,
    topo: topology.Topology,
    found: delta.InstanceDelta,
    reinstalled: Sequence[str],
) -> graph.Chain | None:
    going = {*found.removed, *reinstalled}
    members = [i for i in topo.ids() if i in going]
    phase = lifecycle.Phase(
        name="remove",
        action=lifecycle.Action.UNINSTALL,
        instances=members,
        intact=[i for i in topo.ids() if i not in going],
    )
    chains = lifecycle.add_phase(g, topo, phase, after=None)
    tasks = steps.Tasks(topo, steps.Keys("remove"))
    for source, lost in found.lost.items():
        for rel in _matching(topo, source, lost, skip=going):
            chain = g.chain(f"remove/{source}/unlink/{rel.index}")
            chain.add(*tasks.both_sides(rel, steps.UNLINK))
            chains.append(chain)
    return g.barrier("remove/done", "removed what the new revision drops", chains)


def _install_phase(
    g: graph.Graph,
    topo: topology.Topology,
    found: delta.InstanceDelta,
    reinstalled: Sequence[str],
    *,
    after: graph.Chain | None,
) -> graph.Chain | None:
    coming = {*(i.id for i in found.added), *reinstalled}
    members = [i for i in topo.ids() if i in coming]
    phase = lifecycle.Phase(
        name="install",
        action=lifecycle.Action.INSTALL,
        instances=members,
        intact=[i for i in topo.ids() if i not in coming],
        states=dict.fromkeys(reinstalled, runtime.InstanceState.DELETED),
    )
    chains = lifecycle.add_phase(g, topo, phase, after=after)
    tasks = steps.Tasks(topo, steps.Keys("install"))
    for source, gained in found.gained.items():
        for rel in _matching(topo, source, gained, skip=coming):
            chain = g.chain(f"install/{source}/establish/{rel.index}")
            chain.add(*tasks.both_sides(rel, steps.ESTABLISH))
            if after is not None:
                chain.after.append(after)
            chains.append(chain)
    return g.barrier("install/done", "installed what the new revision adds", chains)


def _matching(
    topo: topology.Topology,
    source: str,
    wanted: Sequence[Mapping[str, JSON]],
    *,
    skip: set[str],
) -> list[topology.Relationship]:
    """The source's relationships listed in ``wanted`` between two instances that stay (the
    lifecycle phases already link and unlink the ones to instances that come or go)."""
    if source in skip or source not in topo.instances:
        return []
    keys = {(r.get("type"), r.get("target_id")) for r in wanted}
    return [
        rel
        for rel in topo.relationships(source)
        if (rel.type, rel.target_id) in keys and rel.target_id not in skip
    ]


def _apply_task(found: delta.InstanceDelta, revision: int) -> executions.TaskSpec:
    return executions.TaskSpec(
        key=APPLY_KEY,
        kind=executions.TaskKind.APPLY_REVISION,
        inputs={
            "revision": revision,
            "remove": list(found.removed),
            "relationships": {k: [dict(r) for r in v] for k, v in found.relationships.items()},
        },
        description=f"move the deployment to revision {revision}",
    )
