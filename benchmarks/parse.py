"""Parse time of Cairn and of Cloudify's parser on generated blueprints.

    .venv/bin/python benchmarks/parse.py [--quick] [--sizes 100,1000,5000] [--repeat 3]

Each blueprint has N node templates of a few custom node types (properties using get_input
and concat, five script operations each, the scripts on disk) in a relationship tree:
chains of contained_in five deep, each node also connected_to its twin in the previous chain.
Cairn's time is the best of ``--repeat`` runs in this process. Cloudify's (cloudify-common
7.0.5 from ``.venv-oracle`` or ``$CAIRN_ORACLE_PYTHON``) is one run in a subprocess, timing
only the parse call; it is skipped at 5,000 nodes, and at 1,000 too with ``--quick``
(Cloudify needs about two minutes there). Both import the standard types: Cairn its own,
Cloudify the corpus' copy of Cloudify's (so the corpus must be present for that column).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
LIFECYCLE = ("create", "configure", "start", "stop", "delete")
CHAIN = 5
CLOUDIFY_LIMIT = 1000

NODE_TYPES: dict[str, Any] = {
    "bench.nodes.Host": {
        "derived_from": "cloudify.nodes.Compute",
        "properties": {"label": {"type": "string", "default": "host"}},
    },
    "bench.nodes.Service": {
        "derived_from": "cloudify.nodes.SoftwareComponent",
        "properties": {
            "port": {"type": "integer", "default": 8080},
            "name": {"type": "string"},
            "tags": {"default": {"tier": "app"}},
        },
    },
    "bench.nodes.Web": {
        "derived_from": "bench.nodes.Service",
        "properties": {"path": {"type": "string", "default": "/"}},
    },
    "bench.nodes.Db": {
        "derived_from": "bench.nodes.Service",
        "properties": {"engine": {"type": "string", "default": "postgres"}},
    },
}
CHAIN_TYPES = ("bench.nodes.Host", "bench.nodes.Service", "bench.nodes.Web", "bench.nodes.Db",
               "bench.nodes.Web")  # fmt: skip


def _node(i: int) -> dict[str, Any]:
    depth = i % CHAIN
    type_name = CHAIN_TYPES[depth]
    node: dict[str, Any] = {"type": type_name}
    if depth == 0:
        node["properties"] = {"label": {"concat": ["host-", {"get_input": "prefix"}, f"-{i}"]}}
        node["interfaces"] = {
            "cloudify.interfaces.lifecycle": {op: f"scripts/{op}.sh" for op in LIFECYCLE}
        }
    else:
        node["properties"] = {
            "name": {"concat": [{"get_input": "prefix"}, f"-svc-{i}"]},
            "port": {"get_input": "port"},
        }
        node["interfaces"] = {
            "cloudify.interfaces.lifecycle": {
                op: {
                    "implementation": f"scripts/{op}.sh",
                    "inputs": {"target": {"get_property": ["SELF", "name"]}, "step": op},
                }
                for op in LIFECYCLE
            }
        }
        node["relationships"] = [
            {"type": "cloudify.relationships.contained_in", "target": f"n{i - 1}"}
        ]
    if i >= CHAIN:
        node.setdefault("relationships", []).append(
            {"type": "cloudify.relationships.connected_to", "target": f"n{i - CHAIN}"}
        )
    return node


def blueprint(size: int) -> dict[str, Any]:
    return {
        "tosca_definitions_version": "cloudify_dsl_1_4",
        "imports": ["cloudify/types/types.yaml"],
        "inputs": {
            "prefix": {"type": "string", "default": "bench"},
            "port": {"type": "integer", "default": 8080},
        },
        "node_types": NODE_TYPES,
        "node_templates": {f"n{i}": _node(i) for i in range(size)},
        "outputs": {"first": {"value": {"get_attribute": ["n0", "ip"]}}},
    }


def write(size: int, folder: Path) -> Path:
    scripts = folder / "scripts"
    scripts.mkdir(parents=True, exist_ok=True)
    for op in LIFECYCLE:
        (scripts / f"{op}.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    path = folder / f"blueprint-{size}.yaml"
    path.write_text(yaml.safe_dump(blueprint(size), sort_keys=False), encoding="utf-8")
    return path


def time_cairn(path: Path, repeat: int) -> float:
    from cairn.dsl import parser

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        plan = parser.parse_path(path)
        best = min(best, time.perf_counter() - start)
    assert plan.nodes, "Cairn parsed no nodes"
    return best


CLOUDIFY_SNIPPET = """
import json, os, sys, time
tools, corpus, path = sys.argv[1:4]
sys.path.insert(0, tools)
import cfy_oracle
from dsl_parser import parser
resolver = cfy_oracle.OfflineCorpusResolver(corpus)
os.chdir(os.path.dirname(path))
start = time.perf_counter()
plan = parser.parse_from_path(path, resolver=resolver, validate_version=True)
elapsed = time.perf_counter() - start
assert plan['nodes']
print(json.dumps(elapsed))
"""


def oracle_setup() -> tuple[Path, Path] | None:
    """(python with cloudify-common, corpus root), or None when either is missing."""
    env = os.environ.get("CAIRN_ORACLE_PYTHON")
    python = Path(env) if env else REPO / ".venv-oracle" / "bin" / "python"
    env_corpus = os.environ.get("CAIRN_CORPUS")
    corpus = (
        Path(env_corpus)
        if env_corpus
        else REPO.parent / "shared" / "corpus" / "cloudify-blueprints"
    )
    if python.is_file() and (corpus / "types" / "types.yaml").is_file():
        return python, corpus
    return None


def time_cloudify(path: Path, setup: tuple[Path, Path]) -> float:
    python, corpus = setup
    tools = corpus.parent.parent / "tools"
    proc = subprocess.run(
        [str(python), "-c", CLOUDIFY_SNIPPET, str(tools), str(corpus), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Cloudify's parser failed on {path}:\n{proc.stderr[-3000:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000", help="node counts, comma-separated")
    ap.add_argument("--repeat", type=int, default=3, help="Cairn runs per size (best counts)")
    ap.add_argument("--quick", action="store_true", help="Cloudify only below 1,000 nodes")
    ap.add_argument("--no-cloudify", action="store_true", help="time Cairn only")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    limit = CLOUDIFY_LIMIT - 1 if args.quick else CLOUDIFY_LIMIT
    setup = None if args.no_cloudify else oracle_setup()
    if setup is None and not args.no_cloudify:
        print("# Cloudify column skipped: no .venv-oracle/CAIRN_ORACLE_PYTHON or corpus")
    print(f"{'nodes':>6} {'cairn s':>9} {'cairn ms/node':>14} {'cloudify s':>11} {'ratio':>7}")
    with tempfile.TemporaryDirectory(prefix="cairn-bench-") as tmp:
        for size in sizes:
            path = write(size, Path(tmp) / str(size))
            cairn = time_cairn(path, args.repeat)
            cloudify = time_cloudify(path, setup) if setup and size <= limit else None
            theirs = f"{cloudify:11.2f}" if cloudify is not None else f"{'-':>11}"
            ratio = f"{cloudify / cairn:6.0f}x" if cloudify is not None else f"{'-':>7}"
            per_node = 1000 * cairn / size
            print(f"{size:6d} {cairn:9.3f} {per_node:14.3f} {theirs} {ratio}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
