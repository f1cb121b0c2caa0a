"""Differential test on generated blueprints: Cairn against Cloudify's parser.

Hypothesis writes blueprints, most of them valid and some broken in one place (unknown
type or target, missing required property, wrong value type, bad default, unknown key, ...),
plus copies of corpus.KITCHEN_SINK with one value replaced by one of the wrong type.
Cloudify's parser (from ``.venv-oracle``, or ``$CAIRN_ORACLE_PYTHON``) parses them in one
subprocess per batch, since starting it costs about 1.5 s; Cairn must give the same verdict
and, for valid ones, the same normalised plan.

Cloudify's parser needs about a minute to report a relationship cycle, so the generator
makes none (test_parser_fuzz.py covers cycles).
"""

from __future__ import annotations

import fnmatch
import json
import string
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import corpus
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.oracle

CORPUS = corpus.root()
ORACLE_PYTHON = corpus.oracle_python()
BATCH = 25
SCRIPTS = ("scripts/create.sh", "scripts/configure.sh", "scripts/start.py", "scripts/stop.sh")
LIFECYCLE = ("create", "configure", "start", "stop", "delete")
STD_NODE_TYPES = (
    "cloudify.nodes.Root",
    "cloudify.nodes.Compute",
    "cloudify.nodes.SoftwareComponent",
    "cloudify.nodes.WebServer",
    "cloudify.nodes.ApplicationModule",
)
REL_TYPES = (
    "cloudify.relationships.depends_on",
    "cloudify.relationships.connected_to",
    "cloudify.relationships.contained_in",
)
INPUT_TYPES = ("string", "integer", "float", "boolean", "list", "dict")

names = st.text(string.ascii_lowercase, min_size=1, max_size=6)
scalars = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.text(string.ascii_letters + string.digits + " _-./", max_size=12),
    st.floats(-100, 100, allow_nan=False).map(lambda f: round(f, 3)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
    max_leaves=6,
)
PORT = "test.datatypes.Port"
LINK = "test.relationships.Link"
DATA_TYPES = {
    PORT: {
        "properties": {
            "number": {"type": "integer", "default": 80},
            "proto": {"type": "string", "required": False},
            "tags": {"default": {}},
        }
    }
}
RELATIONSHIP_TYPES = {
    LINK: {
        "derived_from": "cloudify.relationships.connected_to",
        "properties": {"weight": {"type": "integer", "default": 1}},
        "source_interfaces": {
            "cloudify.interfaces.relationship_lifecycle": {"establish": "scripts/configure.sh"}
        },
        "target_interfaces": {
            "cloudify.interfaces.relationship_lifecycle": {
                "unlink": {"implementation": "p0.tasks.unlink", "inputs": {"how": {"default": 1}}}
            }
        },
    }
}
PLUGINS = {"p0": {"executor": "central_deployment_agent", "install": False}}
TYPED: dict[str, st.SearchStrategy[Any]] = {
    PORT: st.fixed_dictionaries(
        {}, optional={"number": st.integers(1, 99), "proto": st.sampled_from(["tcp", "udp"])}
    ),
    "string": st.text(string.ascii_lowercase + string.digits, max_size=8),
    "integer": st.integers(-50, 50),
    "float": st.floats(-5, 5, allow_nan=False).map(lambda f: round(f, 2)),
    "boolean": st.booleans(),
    "list": st.lists(scalars, max_size=3),
    "dict": st.dictionaries(names, scalars, max_size=3),
}


def _chance(draw: st.DrawFn, p: float) -> bool:
    return draw(st.integers(0, 99)) < p * 100


def _constraints(draw: st.DrawFn, kind: str, default: Any) -> list[dict[str, Any]]:
    if kind in ("integer", "float"):
        pool = [
            {"in_range": [-60, 60]},
            {"greater_than": -100},
            {"less_or_equal": 100},
            {"valid_values": [default, 7] if default is not None else [1, 7]},
        ]
    elif kind == "string":
        pool = [
            {"pattern": "^[a-z0-9]*$"},
            {"max_length": 8},
            {"min_length": 0},
            {"valid_values": [default, "x"] if default is not None else ["x"]},
        ]
    else:
        return []
    return draw(st.lists(st.sampled_from(pool), max_size=2, unique_by=lambda c: next(iter(c))))


def _inputs(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(INPUT_TYPES))
        spec: dict[str, Any] = {"type": kind}
        if draw(st.booleans()):
            spec["default"] = draw(TYPED[kind])
        if draw(st.booleans()):
            spec["description"] = draw(st.text(string.ascii_letters + " ", max_size=20))
        if draw(st.booleans()):
            spec["constraints"] = _constraints(draw, kind, spec.get("default"))
        if _chance(draw, 0.2):
            spec["required"] = draw(st.booleans())
        out[f"in_{i}"] = spec
    return out


def _value(draw: st.DrawFn, inputs: list[str], props: list[str], node: str = "SELF") -> Any:
    """A property or operation input value, often an intrinsic function."""
    choice = draw(st.integers(0, 5))
    if choice == 0 and inputs:
        return {"get_input": draw(st.sampled_from(inputs))}
    if choice == 1:
        parts: list[Any] = [draw(st.text(string.ascii_lowercase, max_size=4))]
        if inputs:
            parts.append({"get_input": draw(st.sampled_from(inputs))})
        return {"concat": parts}
    if choice == 2 and props:
        return {"get_property": ["SELF", draw(st.sampled_from(props))]}
    if choice == 3:
        return {"get_attribute": [node, "ip"]}
    return draw(values)


def _operation(draw: st.DrawFn, inputs: list[str], *, schema: bool) -> Any:
    """An operation in string or dict form; ``schema``: its inputs are declarations."""
    script = draw(st.sampled_from(SCRIPTS))
    if _chance(draw, 0.15):
        script = draw(st.sampled_from(["p0.tasks.run", "p0.module.sub.task"]))
    if draw(st.booleans()):
        return script
    op: dict[str, Any] = {"implementation": script}
    if draw(st.booleans()):
        value = _value(draw, inputs, [])
        op["inputs"] = {"arg": {"default": value} if schema else value}
    if _chance(draw, 0.3):
        op["executor"] = "central_deployment_agent"  # host_agent needs a host
    if _chance(draw, 0.3):
        op["max_retries"] = draw(st.integers(-1, 5))
    if _chance(draw, 0.2):
        op["retry_interval"] = draw(st.integers(0, 30))
    return op


def _interfaces(draw: st.DrawFn, inputs: list[str], *, schema: bool) -> dict[str, Any]:
    ops = draw(st.lists(st.sampled_from(LIFECYCLE), max_size=3, unique=True))
    if not ops:
        return {}
    return {
        "cloudify.interfaces.lifecycle": {op: _operation(draw, inputs, schema=schema) for op in ops}
    }


def _node_types(draw: st.DrawFn) -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = {}
    for i in range(draw(st.integers(0, 4))):
        parent = draw(st.sampled_from([*STD_NODE_TYPES[:3], *types]))
        props: dict[str, Any] = {}
        for j in range(draw(st.integers(0, 3))):
            spec: dict[str, Any] = {}
            kind = draw(st.sampled_from(["string", "integer", "boolean", PORT, None]))
            if kind:
                spec["type"] = kind
            if _chance(draw, 0.7):
                spec["default"] = draw(TYPED[kind or "string"])
            if _chance(draw, 0.2):
                spec["required"] = draw(st.booleans())
            props[f"p{i}_{j}"] = spec
        body: dict[str, Any] = {"derived_from": parent}
        if props:
            body["properties"] = props
        interfaces = _interfaces(draw, [], schema=True)
        if interfaces:
            body["interfaces"] = interfaces
        types[f"test.nodes.T{i}"] = body
    return types


def _schema(types: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    """Property declarations of a generated type, inherited ones included."""
    props: dict[str, Any] = {}
    while name in types:
        props = {**types[name].get("properties", {}), **props}
        name = types[name]["derived_from"]
    return props


def _relationships(draw: st.DrawFn, i: int) -> list[dict[str, Any]]:
    rels: list[dict[str, Any]] = []
    targets = draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else []
    for target in targets:
        rel_type = draw(st.sampled_from([*REL_TYPES, LINK]))
        if rel_type.endswith("contained_in") and any(r["type"] == rel_type for r in rels):
            rel_type = REL_TYPES[0]
        rel: dict[str, Any] = {"type": rel_type, "target": f"n{target}"}
        if rel_type == LINK and draw(st.booleans()):
            rel["properties"] = {"weight": draw(st.integers(0, 9))}
        if rel_type.endswith("connected_to") and draw(st.booleans()):
            connection = draw(st.sampled_from(["all_to_all", "all_to_one"]))
            rel["properties"] = {"connection_type": connection}
        if _chance(draw, 0.2):
            rel["source_interfaces"] = {
                "cloudify.interfaces.relationship_lifecycle": {
                    "preconfigure": draw(st.sampled_from(SCRIPTS))
                }
            }
        rels.append(rel)
    return rels


def _property(draw: st.DrawFn, kind: str | None, inputs: list[str], props: list[str]) -> Any:
    if not kind:
        return _value(draw, inputs, props)
    if inputs and _chance(draw, 0.3):  # not checked against the type at plan time
        return {"get_input": draw(st.sampled_from(inputs))}
    return draw(TYPED[kind])


def _node_templates(
    draw: st.DrawFn, types: dict[str, dict[str, Any]], inputs: list[str]
) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 6))):
        type_name = draw(st.sampled_from([*types, *STD_NODE_TYPES]))
        schema = _schema(types, type_name)
        props: dict[str, Any] = {}
        for name, spec in schema.items():
            needed = "default" not in spec and spec.get("required", True)
            if needed or draw(st.booleans()):
                kind = spec.get("type")
                props[name] = _property(draw, kind, inputs, list(schema))
        node: dict[str, Any] = {"type": type_name}
        if props:
            node["properties"] = props
        rels = _relationships(draw, i)
        if rels:
            node["relationships"] = rels
        interfaces = _interfaces(draw, inputs, schema=False)
        if i and _chance(draw, 0.15):
            interfaces = nodes[f"n{i - 1}"].get("interfaces") or interfaces  # YAML alias
        if interfaces:
            node["interfaces"] = interfaces
        if _chance(draw, 0.2):
            node["capabilities"] = {
                "scalable": {"properties": {"default_instances": draw(st.integers(0, 3))}}
            }
        nodes[f"n{i}"] = node
    return nodes


def _groups_and_policies(draw: st.DrawFn, nodes: list[str]) -> dict[str, Any]:
    if not draw(st.booleans()):
        return {}
    members = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=2, unique=True))
    out: dict[str, Any] = {"groups": {"g0": {"members": members}}}
    if draw(st.booleans()):
        out["policies"] = {
            "scale_g0": {
                "type": "cloudify.policies.scaling",
                "properties": {"default_instances": draw(st.integers(0, 3))},
                "targets": ["g0"],
            }
        }
    return out


@st.composite
def valid_blueprints(draw: st.DrawFn) -> dict[str, Any]:
    """A blueprint as plain data, meant to be valid."""
    version = draw(st.sampled_from(["cloudify_dsl_1_3", "cloudify_dsl_1_4", "cloudify_dsl_1_5"]))
    inputs = _inputs(draw)
    types = _node_types(draw)
    blueprint: dict[str, Any] = {
        "tosca_definitions_version": version,
        "imports": ["cloudify/types/types.yaml"],
    }
    if inputs:
        blueprint["inputs"] = inputs
    blueprint["plugins"] = PLUGINS
    blueprint["data_types"] = DATA_TYPES
    if types:
        blueprint["node_types"] = types
    blueprint["relationships"] = RELATIONSHIP_TYPES
    blueprint["node_templates"] = _node_templates(draw, types, list(inputs))
    if _chance(draw, 0.3):
        blueprint["workflows"] = {
            "wf0": {
                "mapping": "p0.workflows.run",
                "parameters": {"x": {"default": 1}, "y": {"type": "string", "default": "a"}},
            },
            "wf1": "p0.workflows.other",
        }
    if draw(st.booleans()):
        blueprint["outputs"] = {
            "out0": {
                "description": "generated",
                "value": _value(draw, list(inputs), [], node="n0"),
            }
        }
    blueprint.update(_groups_and_policies(draw, list(blueprint["node_templates"])))
    return blueprint


# -- breaking one thing -----------------------------------------------------------------


def _some_node(draw: st.DrawFn, bp: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = bp["node_templates"][draw(st.sampled_from(sorted(bp["node_templates"])))]
    return node


def _op_of(draw: st.DrawFn, bp: dict[str, Any]) -> dict[str, Any]:
    node = _some_node(draw, bp)
    ops = node.setdefault("interfaces", {}).setdefault("cloudify.interfaces.lifecycle", {})
    op: dict[str, Any] = ops.get("create") if isinstance(ops.get("create"), dict) else {}
    op.setdefault("implementation", ops.get("create") or SCRIPTS[0])
    ops["create"] = op
    return op


def _break(draw: st.DrawFn, bp: dict[str, Any]) -> None:
    """Break the blueprint in one place (chosen by Hypothesis)."""
    nodes = bp["node_templates"]
    last = f"n{len(nodes) - 1}"
    how = draw(st.sampled_from(range(16)))
    if how == 0:
        _some_node(draw, bp)["type"] = "no.such.Node"
    elif how == 1:
        _some_node(draw, bp).setdefault("properties", {})["undeclared"] = 1
    elif how == 2:
        _some_node(draw, bp)["no_such_key"] = {}
    elif how == 3:
        bp["no_such_section"] = {}
    elif how == 4:
        _some_node(draw, bp).setdefault("relationships", []).append(
            {"type": REL_TYPES[0], "target": "nowhere"}
        )
    elif how == 5:
        # (No relationship cycles: Cloudify's parser needs about a minute to report one.)
        nodes[last]["relationships"] = [
            {"type": REL_TYPES[2], "target": target} for target in sorted({"n0", last})
        ]
    elif how == 6:
        _op_of(draw, bp)["implementation"] = "nosuchplugin.tasks.run"
    elif how == 7:
        _op_of(draw, bp)[draw(st.sampled_from(["no_such_field", "executor"]))] = "host_agent"
    elif how == 8:
        _some_node(draw, bp).setdefault("properties", {})["p"] = {"get_input": "no_such_input"}
    elif how == 9:
        bp.setdefault("inputs", {})["bad"] = {"type": "integer", "default": "abc"}
    elif how == 10:
        bp.setdefault("inputs", {})["bad"] = {"type": "list", "item_type": "string"}
    elif how == 11:
        bp.setdefault("inputs", {})["bad"] = {
            "type": "integer",
            "default": 3,
            "constraints": [{"in_range": [5, 9]}],
        }
    elif how == 12:
        bp.setdefault("node_types", {})["test.nodes.Orphan"] = {"derived_from": "no.such.Type"}
    elif how == 13:
        bp.setdefault("node_types", {})["test.nodes.Typed"] = {
            "derived_from": STD_NODE_TYPES[0],
            "properties": {"n": {"type": "integer"}},
        }
        _some_node(draw, bp).update(type="test.nodes.Typed", properties={"n": "not a number"})
    elif how == 14:
        bp.setdefault("node_types", {})["test.nodes.Needs"] = {
            "derived_from": STD_NODE_TYPES[0],
            "properties": {"needed": {}},
        }
        _some_node(draw, bp).update(type="test.nodes.Needs", properties={})
    else:
        bp["node_templates"] = [bp["node_templates"]]


@st.composite
def blueprints(draw: st.DrawFn) -> dict[str, Any]:
    """A blueprint, valid or (a quarter to a half of them) broken in one place."""
    bp = draw(valid_blueprints())
    if _chance(draw, 0.25):
        _break(draw, bp)
    return bp


# -- running both parsers ---------------------------------------------------------------


def run_oracle(files: list[Path], *, root: Path, out: Path) -> dict[Path, dict[str, Any]]:
    """Cloudify's results for ``files`` (one subprocess for all of them)."""
    assert CORPUS is not None and ORACLE_PYTHON is not None
    cmd = [
        str(ORACLE_PYTHON),
        str(corpus.oracle_script(CORPUS)),
        "--corpus",
        str(CORPUS),
        "--out-dir",
        str(out),
        "--root",
        str(root),
        *map(str, files),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    results = {}
    for path in files:
        dest = out / f"{path.relative_to(root)}.json"
        assert dest.is_file(), f"oracle wrote no result for {path}: {proc.stderr[-2000:]}"
        results[path] = json.loads(dest.read_text(encoding="utf-8"))
    return results


def compare(path: Path, reference: dict[str, Any]) -> str | None:
    """Why Cairn disagrees with the oracle on ``path``, or None."""
    outcome = corpus.run_cairn(path, None)
    expected = "ok" if reference["ok"] else "error"
    if outcome.verdict != expected:
        why = outcome.problems[0] if outcome.problems else ""
        if outcome.verdict == "crash":  # the traceback's last line
            why = why.strip().splitlines()[-1]
        oracle_error = json.dumps(reference.get("error"))[:300]
        return f"expected {expected} (oracle: {oracle_error}), cairn {outcome.verdict}: {why}"
    if expected == "error":
        return None
    assert outcome.plan is not None
    diffs = corpus.differences(
        corpus.normalise(outcome.plan), corpus.normalise_oracle(reference["plan"])
    )
    return "\n".join(d.render() for d in diffs[:10]) or None


# Deliberate verdict differences on retyped kitchen sinks: (fnmatch pattern over the dotted
# path, index into corpus.WRONG_VALUES) -> why Cairn differs from Cloudify there.
DELIBERATE_RETYPES: dict[tuple[str, int], str] = {}


def _retype_cases() -> list[tuple[tuple[Any, ...], int]]:
    cases = []
    for where in corpus.value_paths(yaml.safe_load(corpus.KITCHEN_SINK)):
        dotted = ".".join(map(str, where))
        for wrong in range(len(corpus.WRONG_VALUES)):
            if not any(
                fnmatch.fnmatchcase(dotted, pattern) and wrong == index
                for pattern, index in DELIBERATE_RETYPES
            ):
                cases.append((where, wrong))
    return cases


# Each batch also holds RETYPED kitchen sinks (corpus.py) with one value of the wrong type.
RETYPE_CASES = _retype_cases()
RETYPED = 10


def write_batch(
    batch: list[dict[str, Any]],
    root: Path,
    retyped: Sequence[int] = (),
) -> list[Path]:
    for script in SCRIPTS:
        (root / script).parent.mkdir(parents=True, exist_ok=True)
        (root / script).touch()
    files = []
    for i, blueprint in enumerate(batch):
        path = root / f"bp{i}.yaml"
        path.write_text(yaml.safe_dump(blueprint, sort_keys=False), encoding="utf-8")
        files.append(path)
    for i, case in enumerate(retyped):
        where, wrong = RETYPE_CASES[case]
        path = root / f"retyped{i}.yaml"
        text = corpus.retyped(where, corpus.WRONG_VALUES[wrong])
        path.write_text(text, encoding="utf-8")
        files.append(path)
    return files


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # a batch of blueprints
@pytest.mark.skipif(CORPUS is None, reason="corpus (its types/ and oracle script) not found")
@pytest.mark.skipif(ORACLE_PYTHON is None, reason=".venv-oracle (or CAIRN_ORACLE_PYTHON) missing")
@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking re-runs the oracle
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(blueprints(), min_size=BATCH, max_size=BATCH),
    st.lists(st.sampled_from(range(len(RETYPE_CASES))), min_size=RETYPED, max_size=RETYPED),
)
def test_cairn_agrees_with_cloudify_on_generated_blueprints(
    batch: list[dict[str, Any]], retyped: list[int]
) -> None:
    with tempfile.TemporaryDirectory(prefix="cairn-gen-") as tmp:
        root = Path(tmp) / "bps"
        root.mkdir()
        files = write_batch(batch, root, retyped)
        results = run_oracle(files, root=root, out=Path(tmp) / "oracle")
        failures = []
        for path in files:
            why = compare(path, results[path])
            if why:
                failures.append((f"{path.name}: {why}", path.read_text(encoding="utf-8")))
    assert not failures, "\n".join(
        [
            f"{len(failures)} of {len(files)} generated blueprints disagree:",
            *(why for why, _ in failures),
            f"--- the first one, {failures[0][0].split(':')[0]}:",
            failures[0][1],
        ]
    )
