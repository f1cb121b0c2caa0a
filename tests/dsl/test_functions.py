"""Intrinsic functions: detection, argument shapes, parse-time checks, static evaluation."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import corpus
import pytest

from cairn import errors
from cairn.dsl import evaluation, function_checks, functions, yamlsrc
from cairn.model import plan as plan_model


def node(
    node_id: str,
    properties: dict[str, Any] | None = None,
    *,
    relationships: tuple[plan_model.Relationship, ...] = (),
    operations: dict[str, dict[str, Any]] | None = None,
) -> plan_model.Node:
    ops = {
        name: plan_model.Operation(
            name=name,
            implementation="x.sh",
            plugin="script",
            operation=None,
            executor=None,
            inputs=inputs,
        )
        for name, inputs in (operations or {}).items()
    }
    return plan_model.Node(
        id=node_id,
        type="cloudify.nodes.Root",
        type_hierarchy=("cloudify.nodes.Root",),
        properties=properties or {},
        relationships=relationships,
        operations=ops,
        scalable=plan_model.Scalable(),
    )


def relationship(target: str, source_inputs: dict[str, Any]) -> plan_model.Relationship:
    op = plan_model.Operation(
        name="cloudify.interfaces.relationship_lifecycle.preconfigure",
        implementation="x.sh",
        plugin="script",
        operation=None,
        executor=None,
        inputs=source_inputs,
    )
    return plan_model.Relationship(
        type="cloudify.relationships.connected_to",
        target=target,
        type_hierarchy=("cloudify.relationships.depends_on", "cloudify.relationships.connected_to"),
        properties={"connection_type": "all_to_all"},
        source_operations={op.name: op},
        target_operations={},
    )


def blueprint(
    *nodes: plan_model.Node,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    capabilities: dict[str, Any] | None = None,
    dsl_version: str = "cloudify_dsl_1_4",
) -> plan_model.Plan:
    return plan_model.Plan(
        dsl_version=dsl_version,
        description=None,
        metadata={},
        inputs=inputs or {},
        outputs=outputs or {},
        capabilities=capabilities or {},
        nodes=nodes,
        workflows={},
        groups={},
        policies={},
        scaling_groups={},
        labels={},
        blueprint_labels={},
        deployment_settings={},
    )


def codes(problems: list[function_checks.Problem]) -> list[str]:
    return [code for _, code, _ in problems]


# --- detection ---------------------------------------------------------------------------


def test_function_is_a_single_known_key_or_that_key_plus_type() -> None:
    assert functions.function_of({"get_input": "x"}) == ("get_input", "x")
    assert functions.function_of({"get_input": "x", "type": "integer"}) == ("get_input", "x")
    assert functions.function_of({"get_input": "x", "other": 1}) is None
    assert functions.function_of({"type": "integer"}) is None
    assert functions.function_of({"not_a_function": 1}) is None
    assert functions.function_of(["get_input"]) is None


def test_static_and_runtime_functions_match_cloudify() -> None:
    assert {
        "get_input",
        "get_property",
        "concat",
        "merge",
        "string_split",
    } <= functions.STATIC_FUNCTIONS
    assert {"get_attribute", "get_secret", "get_capability", "get_sys", "get_label"} <= (
        functions.RUNTIME_FUNCTIONS
    )
    assert functions.FUNCTIONS["concat"].since == (1, 1)
    assert functions.FUNCTIONS["merge"].since == (1, 3)


def test_iter_functions_finds_nested_calls_with_paths() -> None:
    value = {"a": [{"concat": [{"get_input": "x"}, "y"]}]}
    where = functions.Where(scope=functions.OUTPUTS_SCOPE, path="outputs.o")
    found = [(u.name, u.where.path) for u in functions.iter_functions(value, where)]
    assert found == [("concat", "outputs.o.a[0]"), ("get_input", "outputs.o.a[0].concat[0]")]


def test_iter_functions_reports_yaml_positions() -> None:
    value = yamlsrc.load("p:\n  - x\n  - {get_input: port}\n", file="bp.yaml")
    where = functions.Where(scope=functions.NODE_SCOPE, path="p")
    (use,) = functions.iter_functions(value, where)
    assert use.mark == yamlsrc.Mark("bp.yaml", 3, 5)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_input", 5),
        ("get_input", []),
        ("get_property", ["node"]),
        ("get_property", "node"),
        ("get_attribute", ["n", {"a": 1}]),
        ("concat", "abc"),
        ("merge", {"a": 1}),
        ("string_find", ["a"]),
        ("string_replace", ["a", "b"]),
        ("string_split", ["a"]),
        ("string_lower", ["a"]),
        ("get_secret", ["only-one"]),
        ("get_capability", ["dep"]),
        ("get_sys", ["deployment"]),
        ("get_consumers", "everything"),
        ("get_label", ["key", "x"]),
        ("get_attributes_dict", ["n", "a", "a"]),
        ("get_environment_capability", ["one"]),
    ],
)
def test_malformed_arguments_are_named(name: str, args: Any) -> None:
    problem = functions.argument_problem(name, args)
    assert problem is not None and name in problem


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_input", "x"),
        ("get_input", ["x", "a", 0]),
        ("get_input", {"get_secret": "s"}),
        ("get_property", ["SELF", "a", 0]),
        ("get_attributes_dict", ["n", "a", ["b", "c"]]),
        ("get_secret", "s"),
        ("get_secret", ["s", "key"]),
        ("get_label", ["key", "0"]),
        ("get_group_capability", ["g", ["a", "b"], "c"]),
        ("get_environment_capability", "cap"),
        ("string_lower", {"get_input": "x"}),
    ],
)
def test_wellformed_arguments_pass(name: str, args: Any) -> None:
    assert functions.argument_problem(name, args) is None


# --- parse-time check --------------------------------------------------------------------


def test_check_plan_accepts_valid_references() -> None:
    plan = blueprint(
        node("a", {"p": {"get_input": "port"}, "q": {"x": [1, 2]}}),
        node(
            "b",
            {"r": {"get_property": ["a", "q", "x", 1]}, "s": {"get_attribute": ["SELF", "ip"]}},
            relationships=(relationship("a", {"t": {"get_property": ["TARGET", "p"]}}),),
            operations={"create": {"u": {"get_property": ["SELF", "r"]}}},
        ),
        inputs={"port": {"type": "integer"}},
        outputs={"o": {"value": {"get_attribute": ["a", "ip"]}}},
    )
    assert function_checks.check_plan(plan) == []


def test_check_plan_reports_undeclared_input_with_position() -> None:
    props = yamlsrc.load("p: {get_input: missing}\n", file="/bp.yaml")
    problems = function_checks.check_plan(blueprint(node("a", props)))
    assert codes(problems) == ["unknown-input"]
    mark, _, message = problems[0]
    assert mark == yamlsrc.Mark("/bp.yaml", 1, 4)
    assert "'missing'" in message and "nodes.a.properties.p" in message


def test_check_plan_reports_unknown_node_and_property() -> None:
    plan = blueprint(
        node("a", {"p": 1}),
        node("b", {"x": {"get_property": ["nope", "p"]}, "y": {"get_property": ["a", "q"]}}),
        outputs={"o": {"value": {"get_attribute": ["ghost", "ip"]}}},
    )
    assert codes(function_checks.check_plan(plan)) == [
        "unknown-node",
        "unknown-property",
        "unknown-node",
    ]


def test_check_plan_walks_property_paths_like_cloudify() -> None:
    # One step past a function is not checked (Cloudify cannot know); a wrong index is.
    plan = blueprint(
        node("a", {"p": {"get_input": "cfg"}, "l": [1, 2]}),
        node(
            "b",
            {
                "ok": {"get_property": ["a", "p", "anything"]},
                "bad_index": {"get_property": ["a", "l", 5]},
                "bad_key": {"get_property": ["a", "l", "x"]},
                "too_deep": {"get_property": ["a", "p", "x", "y"]},
            },
        ),
        inputs={"cfg": {}},
    )
    assert codes(function_checks.check_plan(plan)) == ["unknown-property"] * 3


def test_check_plan_rejects_self_source_target_out_of_context() -> None:
    plan = blueprint(
        node(
            "a",
            {"p": {"get_property": ["TARGET", "x"]}, "q": {"get_attribute": ["SOURCE", "x"]}},
            relationships=(relationship("a", {"r": {"get_attribute": ["SELF", "x"]}}),),
        ),
        outputs={"o": {"value": {"get_property": ["SELF", "p"]}}},
        capabilities={"c": {"value": {"get_attribute": ["SELF", "x"]}}},
    )
    assert codes(function_checks.check_plan(plan)) == ["function-context"] * 5


def test_check_plan_reports_version_and_argument_problems() -> None:
    plan = blueprint(
        node(
            "a",
            {
                "m": {"merge": [{"a": 1}]},
                "s": {"string_split": ["a,b", ",", "one"]},
                "sys": {"get_sys": ["planet", "name"]},
                "args": {"get_property": "a"},
            },
        ),
        dsl_version="cloudify_dsl_1_2",
    )
    assert codes(function_checks.check_plan(plan)) == [
        "function-version",
        "function-args",
        "unknown-sys",
        "function-args",
    ]


def test_check_plan_skips_what_cloudify_does_not_scan() -> None:
    rel = plan_model.Relationship(
        type="cloudify.relationships.connected_to",
        target="a",
        type_hierarchy=("cloudify.relationships.connected_to",),
        properties={"x": {"get_input": "undeclared"}},
        source_operations={},
        target_operations={},
    )
    plan = blueprint(node("a"), node("b", relationships=(rel,)))
    assert function_checks.check_plan(plan) == []


def test_check_plan_validates_functions_inside_arguments() -> None:
    plan = blueprint(node("a", {"p": {"concat": ["x", {"get_input": "nope"}]}}))
    assert codes(function_checks.check_plan(plan)) == ["unknown-input"]


# --- evaluation ----------------------------------------------------------------------------


def evaluator(inputs: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> evaluation.Evaluator:
    return evaluation.Evaluator(inputs=inputs, node_properties=nodes)


NODE_WHERE = functions.Where(scope=functions.NODE_SCOPE, path="nodes.b.properties", node="b")


def test_get_input_and_nested_paths() -> None:
    ev = evaluator({"cfg": {"a": {"b": [1, 2, 3]}}, "port": 80}, {"b": {}})
    assert ev.evaluate({"get_input": "port"}, NODE_WHERE) == 80
    assert ev.evaluate({"get_input": ["cfg", "a", "b", 2]}, NODE_WHERE) == 3
    with pytest.raises(evaluation.EvaluationError, match=r"cfg\.a has no key 'c'"):
        ev.evaluate({"get_input": ["cfg", "a", "c"]}, NODE_WHERE)
    with pytest.raises(evaluation.EvaluationError, match="index 7 is out of range"):
        ev.evaluate({"get_input": ["cfg", "a", "b", 7]}, NODE_WHERE)


def test_get_input_with_return_type() -> None:
    ev = evaluator({"port": "80"}, {"b": {}})
    with pytest.raises(evaluation.EvaluationError, match="not of type 'integer'"):
        ev.evaluate({"get_input": "port", "type": "integer"}, NODE_WHERE)


def test_get_property_follows_other_functions_in_the_target_context() -> None:
    nodes = {
        "a": {"p": {"get_input": "cfg"}, "me": {"get_property": ["SELF", "name"]}, "name": "A"},
        "b": {},
    }
    ev = evaluator({"cfg": {"x": {"y": 5}}}, nodes)
    assert ev.evaluate({"get_property": ["a", "p", "x", "y"]}, NODE_WHERE) == 5
    # SELF inside a's property means a, not the node that asked.
    assert ev.evaluate({"get_property": ["a", "me"]}, NODE_WHERE) == "A"


def test_get_property_cycle_is_reported_with_its_chain() -> None:
    nodes = {"a": {"x": {"get_property": ["b", "y"]}}, "b": {"y": {"get_property": ["a", "x"]}}}
    ev = evaluator({}, nodes)
    with pytest.raises(evaluation.EvaluationError) as info:
        ev.node_property("a", "x")
    assert "a.properties.x -> b.properties.y -> a.properties.x" in str(info.value)


def test_self_reference_through_inputs_is_bounded() -> None:
    ev = evaluator({"loop": {"get_input": "loop"}}, {"b": {}})
    with pytest.raises(evaluation.EvaluationError, match="more than 50 levels deep"):
        ev.evaluate({"get_input": "loop"}, NODE_WHERE)


def test_deeply_nested_data_is_not_mistaken_for_a_cycle() -> None:
    value: Any = {"get_input": "port"}
    for _ in range(120):
        value = {"k": [value]}
    result = evaluator({"port": 80}, {"b": {}}).evaluate(value, NODE_WHERE)
    for _ in range(120):
        result = result["k"][0]
    assert result == 80


def test_source_and_target_in_relationships() -> None:
    ev = evaluator({}, {"src": {"v": "s"}, "dst": {"v": "t"}})
    where = functions.Where(
        scope=functions.RELATIONSHIP_SCOPE, path="nodes.src.rel", node="src", target="dst"
    )
    value = {"concat": [{"get_property": ["SOURCE", "v"]}, {"get_property": ["TARGET", "v"]}]}
    assert ev.evaluate(value, where) == "st"
    with pytest.raises(evaluation.EvaluationError, match="SELF can only be used"):
        ev.evaluate({"get_property": ["SELF", "v"]}, where)


def test_static_function_with_runtime_argument_stays_with_static_parts_evaluated() -> None:
    ev = evaluator({"port": 8080}, {"b": {}})
    value = {"concat": [{"get_attribute": ["SELF", "ip"]}, ":", {"get_input": "port"}]}
    assert ev.evaluate(value, NODE_WHERE) == {
        "concat": [{"get_attribute": ["SELF", "ip"]}, ":", 8080]
    }
    assert ev.evaluate({"get_secret": {"get_input": "port"}}, NODE_WHERE) == {"get_secret": 8080}
    upper = {"string_upper": {"get_attribute": ["SELF", "name"]}}
    assert ev.evaluate(upper, NODE_WHERE) == upper


def test_concat_merge_and_string_functions() -> None:
    ev = evaluator({"d": {"a": 1}}, {"b": {}})
    cases = [
        ({"concat": ["a", 1, True, None]}, "a1TrueNone"),
        ({"merge": [{"get_input": "d"}, {"b": 2}, {"a": 3}]}, {"a": 3, "b": 2}),
        ({"string_find": ["hello", "l"]}, 2),
        ({"string_replace": ["a-b-c", "-", "+", 1]}, "a+b-c"),
        ({"string_split": ["a,b,c", ","]}, ["a", "b", "c"]),
        ({"string_split": ["a,b,c", ",", 2]}, "c"),
        ({"string_lower": "AbC"}, "abc"),
        ({"string_upper": {"concat": ["a", "b"]}}, "AB"),
    ]
    for value, expected in cases:
        assert ev.evaluate(value, NODE_WHERE) == expected


def test_string_and_merge_errors_name_the_problem() -> None:
    ev = evaluator({"n": 5}, {"b": {}})
    with pytest.raises(evaluation.EvaluationError, match="string_upper takes one string"):
        ev.evaluate({"string_upper": {"get_input": "n"}}, NODE_WHERE)
    with pytest.raises(evaluation.EvaluationError, match="argument 2 must be a string"):
        ev.evaluate({"string_find": ["abc", {"get_input": "n"}]}, NODE_WHERE)
    with pytest.raises(evaluation.EvaluationError, match="item 1 is not a mapping"):
        ev.evaluate({"merge": [{"get_input": "n"}]}, NODE_WHERE)
    with pytest.raises(evaluation.EvaluationError, match="string_split"):
        ev.evaluate({"string_split": ["a,b", ",", 9]}, NODE_WHERE)


# --- against Cloudify's parser -------------------------------------------------------------

CORPUS = corpus.root()
ORACLE_PYTHON = corpus.oracle_python()

HEADER = """
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
inputs:
  port: {default: 80}
  cfg: {default: {a: [1, 2]}}
node_types:
  T:
    derived_from: cloudify.nodes.Root
    properties:
      p: {default: {get_input: cfg}}
      l: {default: [1, 2]}
      name: {default: n}
"""

# (name, body, the code Cairn reports or None when Cloudify accepts the blueprint)
CHECK_CASES = [
    ("ok-references", "a: {type: T, properties: {name: {get_property: [b, l, 1]}}}", None),
    ("ok-past-function", "a: {type: T, properties: {name: {get_property: [b, p, a]}}}", None),
    ("ok-runtime", "a: {type: T, properties: {name: {get_attribute: [SELF, ip]}}}", None),
    ("ok-sys", "a: {type: T, properties: {name: {get_sys: [deployment, id]}}}", None),
    ("unknown-input", "a: {type: T, properties: {name: {get_input: nope}}}", "unknown-input"),
    ("unknown-node", "a: {type: T, properties: {name: {get_property: [c, name]}}}", "unknown-node"),
    (
        "unknown-prop",
        "a: {type: T, properties: {name: {get_property: [b, x]}}}",
        "unknown-property",
    ),
    (
        "bad-index",
        "a: {type: T, properties: {name: {get_property: [b, l, 2]}}}",
        "unknown-property",
    ),
    (
        "two-past",
        "a: {type: T, properties: {name: {get_property: [b, p, a, b]}}}",
        "unknown-property",
    ),
    ("target", "a: {type: T, properties: {name: {get_property: [TARGET, l]}}}", "function-context"),
    (
        "attr-source",
        "a: {type: T, properties: {name: {get_attribute: [SOURCE, x]}}}",
        "function-context",
    ),
    ("attr-node", "a: {type: T, properties: {name: {get_attribute: [c, x]}}}", "unknown-node"),
    ("args", "a: {type: T, properties: {name: {get_property: b}}}", "function-args"),
    ("sys", "a: {type: T, properties: {name: {get_sys: [deployment, colour]}}}", "unknown-sys"),
    ("merge-item", "a: {type: T, properties: {name: {merge: [x]}}}", "function-args"),
    ("split-index", "a: {type: T, properties: {name: {string_split: [a, b, c]}}}", "function-args"),
    ("nested", "a: {type: T, properties: {name: {concat: [{get_input: nope}]}}}", "unknown-input"),
]


def run_oracle_verdicts(paths: list[Path], root: Path) -> dict[str, bool]:
    assert CORPUS is not None and ORACLE_PYTHON is not None
    out = root / "oracle"
    command = [str(ORACLE_PYTHON), str(corpus.oracle_script(CORPUS)), "--corpus", str(CORPUS)]
    command += ["--out-dir", str(out), "--root", str(root), *map(str, paths)]
    subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    return {p.stem: json.loads((out / f"{p.name}.json").read_text())["ok"] for p in paths}


@pytest.mark.oracle
@pytest.mark.skipif(CORPUS is None or ORACLE_PYTHON is None, reason="oracle or corpus missing")
def test_check_plan_rejects_what_cloudify_rejects(tmp_path: Path) -> None:
    from cairn.dsl import parser

    paths = []
    for name, body, _ in CHECK_CASES:
        text = f"{HEADER}node_templates:\n  b: {{type: T}}\n  {body}\n"
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        paths.append(path)
    accepted = run_oracle_verdicts(paths, tmp_path)
    for (name, _, code), path in zip(CHECK_CASES, paths, strict=True):
        assert accepted[name] == (code is None), name
        if code is None:
            parser.parse_path(path)
            continue
        with pytest.raises(errors.BlueprintError) as info:
            parser.parse_path(path)
        assert [p.code for p in info.value.problems] == [code], name
