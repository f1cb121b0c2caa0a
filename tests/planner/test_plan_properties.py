"""Ordering properties of install and uninstall on random relationship graphs.

Random blueprints: containment trees, connected_to and depends_on (all_to_all and all_to_one),
depends_on_lifecycle_operation, several instances per node, and instances in random states.
Whatever the graph, the plan is acyclic, an instance that is not started ends started, and an
instance waits for every instance it depends on, directly or through others, even when
those in between have nothing to do.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from plansupport import Deployment, check_graph, deploy, first, instance_keys, last, waits_for

from cairn import planner
from cairn.model.runtime import InstanceState

OPERATIONS = ("create", "configure", "start")


def random_blueprint(rng: random.Random) -> str:
    count = rng.randint(2, 7)
    lines = ["node_templates:"]
    for index in range(count):
        lines += [
            f"  n{index}:",
            "    type: cloudify.nodes.Root",
            f"    capabilities: {{scalable: {{properties: {{default_instances: {rng.randint(1, 2)}}}}}}}",
            "    interfaces:",
            "      cloudify.interfaces.lifecycle:",
            *(f"        {op}: scripts/{op}.sh" for op in (*OPERATIONS, "stop", "delete")),
        ]
        relationships = _relationships(rng, index)
        if relationships:
            lines.append("    relationships:")
            lines += relationships
    return "\n".join(lines) + "\n"


def _relationships(rng: random.Random, index: int) -> list[str]:
    earlier = list(range(index))
    rng.shuffle(earlier)
    lines: list[str] = []
    if earlier and rng.random() < 0.4:
        lines.append(
            f"      - {{type: cloudify.relationships.contained_in, target: n{earlier.pop()}}}"
        )
    for target in earlier[: rng.randint(0, 2)]:
        kind = rng.choice(["connected_to", "depends_on", "lifecycle"])
        if kind == "lifecycle":
            lines += [
                "      - type: cloudify.relationships.depends_on_lifecycle_operation",
                f"        target: n{target}",
                f"        properties: {{operation: {rng.choice(OPERATIONS)}}}",
            ]
        else:
            connection = rng.choice(["all_to_all", "all_to_one"])
            lines += [
                f"      - type: cloudify.relationships.{kind}",
                f"        target: n{target}",
                f"        properties: {{connection_type: {connection}}}",
            ]
    return lines


def random_deployment(seed: int) -> Deployment:
    rng = random.Random(seed)
    text = random_blueprint(rng)
    with tempfile.TemporaryDirectory() as folder:
        dep = deploy(Path(folder), text, seed=seed)
    states = list(InstanceState)
    return dep.with_states({i.id: rng.choice(states) for i in dep.instances})


def depends_on(dep: Deployment) -> dict[str, set[str]]:
    """For each instance, the instances it waits for through plain relationships (not
    depends_on_lifecycle_operation), directly or not."""
    operation_nodes = _lifecycle_edges(dep)
    direct = {
        i.id: {
            str(r["target_id"])
            for r in i.relationships
            if (i.node_id, r["target_name"]) not in operation_nodes
        }
        for i in dep.instances
    }
    closure: dict[str, set[str]] = {}

    def reach(instance_id: str) -> set[str]:
        if instance_id not in closure:
            found: set[str] = set()
            for target in direct[instance_id]:
                found |= {target, *reach(target)}
            closure[instance_id] = found
        return closure[instance_id]

    return {i: reach(i) for i in direct}


def _lifecycle_edges(dep: Deployment) -> dict[tuple[str, str], str]:
    edges: dict[tuple[str, str], str] = {}
    for node in dep.plan["nodes"]:
        for rel in node["relationships"]:
            operation = rel["properties"].get("operation")
            if operation:
                edges[(node["id"], rel["target"])] = operation
    return edges


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_install_order_on_random_graphs(seed: int) -> None:
    dep = random_deployment(seed)
    plan = dep.run("install")
    check_graph(plan)
    for instance in dep.instances:
        own = instance_keys(plan, instance.id)
        if instance.state is InstanceState.STARTED:
            assert own == []
        else:
            assert own[-1] == f"{instance.id}/state/started"
    active = {i.id for i in dep.instances if instance_keys(plan, i.id)}
    for source, targets in depends_on(dep).items():
        for target in targets & active if source in active else ():
            assert waits_for(plan, first(plan, source), last(plan, target)), (source, target)
    _check_lifecycle_operation_waits(dep, plan)


def _check_lifecycle_operation_waits(dep: Deployment, plan: planner.WorkflowPlan) -> None:
    edges = _lifecycle_edges(dep)
    all_keys = {spec.key for spec in plan.tasks}
    for instance in dep.instances:
        if not instance_keys(plan, instance.id):
            continue
        for rel in instance.relationships:
            operation = edges.get((instance.node_id, str(rel["target_name"])))
            awaited = f"{rel['target_id']}/{operation}"
            if operation and awaited in all_keys:
                assert waits_for(plan, first(plan, instance.id), awaited)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_uninstall_order_on_random_graphs(seed: int) -> None:
    dep = random_deployment(seed)
    plan = dep.run("uninstall")
    check_graph(plan)
    for instance in dep.instances:
        own = instance_keys(plan, instance.id)
        if instance.state is InstanceState.DELETED:
            assert own == []
        else:
            assert own[-1] == f"{instance.id}/state/deleted"
    active = {i.id for i in dep.instances if instance_keys(plan, i.id)}
    for source, targets in depends_on(dep).items():
        for target in targets & active if source in active else ():
            assert waits_for(plan, first(plan, target), last(plan, source)), (source, target)
