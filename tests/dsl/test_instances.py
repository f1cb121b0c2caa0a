"""Node instances: Cairn's expansion against Cloudify's own ``multi_instance`` on random plans.

Random topologies (containment forests, connected_to/depends_on with all_to_all and
all_to_one, scaling groups, nested groups, zero-instance nodes) are expanded by both. Instance
ids are random on both sides, so the results are compared up to renaming: every instance gets
a label refined from its node, groups, host and relationships (Weisfeiler-Lehman), and the
multisets of labels must be equal.
"""

from __future__ import annotations

import json
import random
import subprocess
from typing import Any

import corpus
import pytest
from instance_labels import labels

from cairn.dsl import instances
from cairn.model import deployment, plan

ORACLE_PYTHON = corpus.oracle_python()
CONTAINED_IN = "cloudify.relationships.contained_in"
CONNECTED_TO = "cloudify.relationships.connected_to"
DEPENDS_ON = "cloudify.relationships.depends_on"
HIERARCHY = {
    CONTAINED_IN: [DEPENDS_ON, CONTAINED_IN],
    CONNECTED_TO: [DEPENDS_ON, CONNECTED_TO],
    DEPENDS_ON: [DEPENDS_ON],
}

# Runs Cloudify's multi_instance on each case read from stdin; prints instances or errors.
ORACLE_DRIVER = """
import json, sys
from dsl_parser import multi_instance
out = []
for case in json.load(sys.stdin):
    try:
        plan = multi_instance.create_deployment_plan(case)
        out.append({"instances": plan["node_instances"]})
    except Exception as exc:
        out.append({"error": type(exc).__name__ + ": " + str(exc)})
json.dump(out, sys.stdout)
"""


def random_case(rng: random.Random) -> dict[str, Any]:
    """A Cloudify-shaped plan fragment: nodes and scaling groups the parser would accept.

    all_to_one picks the target instance with the smallest (random) id, so it only targets
    root nodes outside groups, whose instances are interchangeable: the outcome is then the
    same up to renaming whichever instance is picked.
    """
    count = rng.randint(1, 6)
    names = [f"n{i}" for i in range(count)]
    parent: dict[str, str | None] = {}
    for index, name in enumerate(names):
        parent[name] = rng.choice([None, None, *names[:index]]) if index else None
    groups = _groups(rng, names, parent)
    grouped = {m for g in groups.values() for m in g["members"]}
    nodes = []
    for name in names:
        rels = [] if parent[name] is None else [_rel(CONTAINED_IN, parent[name], "all_to_all")]
        for target in rng.sample(names, rng.randint(0, min(2, count))):
            if target in (name, parent[name]):
                continue
            symmetric = parent[target] is None and target not in grouped
            connection = rng.choice(["all_to_all", "all_to_one"]) if symmetric else "all_to_all"
            rels.append(_rel(rng.choice([CONNECTED_TO, DEPENDS_ON]), target, connection))
        rng.shuffle(rels)
        root = name
        while parent[root] is not None:
            root = parent[root]  # type: ignore[assignment]
        nodes.append(
            {
                "id": name,
                "name": name,
                "relationships": rels,
                "instances": rng.choice([0, 1, 1, 2, 3]),
                "host_id": root if rng.random() < 0.5 else None,
            }
        )
    return {"nodes": nodes, "scaling_groups": groups}


def _rel(kind: str, target: str, connection: str) -> dict[str, Any]:
    return {
        "type": kind,
        "target_id": target,
        "type_hierarchy": HIERARCHY[kind],
        "properties": {"connection_type": connection},
    }


def _groups(rng: random.Random, names: list[str], parent: dict[str, str | None]) -> dict[str, Any]:
    """Groups whose members share a container (as Cloudify's parser demands), maybe nested."""
    siblings: dict[str | None, list[str]] = {}
    for name in names:
        siblings.setdefault(parent[name], []).append(name)
    groups: dict[str, Any] = {}
    for members in siblings.values():
        if rng.random() < 0.5:
            chosen = rng.sample(members, rng.randint(1, len(members)))
            groups[f"g{len(groups)}"] = _group(chosen, rng.randint(0, 3))
            if rng.random() < 0.4:
                groups[f"g{len(groups)}"] = _group([f"g{len(groups) - 1}"], rng.randint(1, 2))
    return groups


def _group(members: list[str], instances: int) -> dict[str, Any]:
    return {"members": members, "properties": {"current_instances": instances}}


def to_cloudify(case: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for node in case["nodes"]:
        shaped = {k: v for k, v in node.items() if k != "instances"}
        shaped["capabilities"] = {
            "scalable": {"properties": {"current_instances": node["instances"]}}
        }
        if shaped["host_id"] is None:
            del shaped["host_id"]
        nodes.append(shaped)
    return {"nodes": nodes, "scaling_groups": case["scaling_groups"]}


def cairn_instances(case: dict[str, Any], seed: int) -> list[dict[str, Any]] | str:
    nodes = [
        plan.Node(
            id=n["id"],
            type="t",
            type_hierarchy=("t",),
            properties={},
            relationships=tuple(
                plan.Relationship(
                    type=r["type"],
                    target=r["target_id"],
                    type_hierarchy=tuple(r["type_hierarchy"]),
                    properties=r["properties"],
                    source_operations={},
                    target_operations={},
                )
                for r in n["relationships"]
            ),
            operations={},
            scalable=plan.Scalable(),
            host_id=n["host_id"],
        )
        for n in case["nodes"]
    ]
    counts = {n["id"]: n["instances"] for n in case["nodes"]}
    counts.update(
        {g: v["properties"]["current_instances"] for g, v in case["scaling_groups"].items()}
    )
    try:
        made = instances.create(
            nodes, case["scaling_groups"], counts, instances.id_generator(random.Random(seed))
        )
    except instances.InstanceError as exc:
        return f"error: {exc}"
    return [deployment.node_instance_to_json(i) for i in made]


def run_oracle(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert ORACLE_PYTHON is not None
    proc = subprocess.run(
        [str(ORACLE_PYTHON), "-c", ORACLE_DRIVER],
        input=json.dumps([to_cloudify(c) for c in cases]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def test_labels_tell_different_wirings_apart() -> None:
    # The comparison must be able to fail: same counts, different relationships.
    a = [
        {
            "id": "x1",
            "node_id": "x",
            "relationships": [{"type": "t", "target_id": "y1", "target_name": "y"}],
        },
        {
            "id": "x2",
            "node_id": "x",
            "relationships": [{"type": "t", "target_id": "y1", "target_name": "y"}],
        },
        {"id": "y1", "node_id": "y", "relationships": []},
        {"id": "y2", "node_id": "y", "relationships": []},
    ]
    b = [dict(i) for i in a]
    b[1] = {
        "id": "x2",
        "node_id": "x",
        "relationships": [{"type": "t", "target_id": "y2", "target_name": "y"}],
    }
    assert labels(a) != labels(b)


@pytest.mark.oracle
@pytest.mark.skipif(ORACLE_PYTHON is None, reason=".venv-oracle (or CAIRN_ORACLE_PYTHON) missing")
def test_instances_match_cloudify_on_random_plans() -> None:
    rng = random.Random(20240601)
    cases = [random_case(rng) for _ in range(150)]
    reference = run_oracle(cases)
    disagreements = []
    for index, (case, expected) in enumerate(zip(cases, reference, strict=True)):
        ours = cairn_instances(case, seed=index)
        if "error" in expected or isinstance(ours, str):
            if not ("error" in expected and isinstance(ours, str)):
                disagreements.append((index, case, expected.get("error"), ours))
            continue
        if labels(ours) != labels(expected["instances"]):
            disagreements.append((index, case, "instances differ", None))
    assert not disagreements, json.dumps(disagreements[:3], indent=1)[:4000]
    errors = sum(1 for r in reference if "error" in r)
    assert errors < len(cases) // 4  # most cases must exercise the comparison itself
