"""Node instances compared up to renaming (their ids are random in Cairn and in Cloudify).

Each instance gets a label refined from its node, scaling groups, host and relationships,
Weisfeiler-Lehman style: two sets of instances wired the same way get the same multiset of
labels; a different wiring (another target, another host, another group) changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

ROUNDS = 4


def labels(found: Sequence[Mapping[str, Any]]) -> Counter[str]:
    """The multiset of instance labels of ``found`` (instances in Cloudify's JSON shape)."""
    label = {i["id"]: _digest([i["node_id"], _group_names(i)]) for i in found}
    for _ in range(ROUNDS):
        incoming: dict[str, list[str]] = {i["id"]: [] for i in found}
        members: dict[str, list[str]] = {}
        for i in found:
            for r in i["relationships"]:
                incoming.setdefault(r["target_id"], []).append(label[i["id"]] + r["type"])
            for g in i.get("scaling_groups") or []:
                members.setdefault(g["id"], []).append(label[i["id"]])
        group_label = {g: _digest(sorted(m)) for g, m in members.items()}
        label = {i["id"]: _digest(_features(i, label, incoming, group_label)) for i in found}
    return Counter(label.values())


def _group_names(instance: Mapping[str, Any]) -> list[str]:
    return [g["name"] for g in instance.get("scaling_groups") or []]


def _features(
    instance: Mapping[str, Any],
    label: Mapping[str, str],
    incoming: Mapping[str, list[str]],
    group_label: Mapping[str, str],
) -> list[Any]:
    host = instance.get("host_id")
    return [
        label[instance["id"]],
        sorted(
            (r["type"], r["target_name"], label.get(r["target_id"], "?"))
            for r in instance["relationships"]
        ),
        sorted(incoming[instance["id"]]),
        "self" if host == instance["id"] else label.get(host or "", host),
        [group_label[g["id"]] for g in instance.get("scaling_groups") or []],
    ]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
