"""Inputs, outputs, workflows, groups, policies, labels, settings: Cloudify's plan sections.

Each test writes a small blueprint, runs the stages the sections need (loading, data types,
plugins, node templates) and the section functions, then checks the section against what
Cloudify 7 gives, or the problems with their codes and lines. The ``oracle`` tests run
Cloudify's parser itself on the same blueprint.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import corpus
import pytest

from cairn import errors
from cairn.dsl import (
    loader,
    nodes,
    operations,
    parser,
    policies,
    resolver,
    schedules,
    sections,
    types,
    versions,
    workflows,
)
from cairn.dsl.problems import Problems
from cairn.model import plan as plan_model

TYPES = "imports:\n  - cloudify/types/types.yaml\n"


@dataclass
class Parsed:
    text: str
    plan: dict[str, Any]
    problems: list[errors.Problem]

    def line(self, needle: str) -> int:
        """The line of the only line holding ``needle``."""
        found = [i for i, line in enumerate(self.text.splitlines(), 1) if needle in line]
        assert len(found) == 1, f"{needle!r} is on lines {found}"
        return found[0]

    @property
    def found(self) -> list[tuple[int, str]]:
        return [(p.line, p.code) for p in self.problems]


def _sections(merged: loader.Merged, options: resolver.ParseOptions, problems: Problems) -> Any:
    gate = versions.Gate(merged.version, enabled=options.validate_version, problems=problems)
    dtypes = types.data_types(merged, gate, problems)
    plugins = parser.parse_plugins(merged, gate, problems)
    resource_dirs = (str(Path(merged.main.resolved.path).parent),)
    node_list = nodes.build(
        merged,
        nodes.Context(
            node_types=types.node_types(merged, dtypes, gate, problems),
            relationship_types=types.relationship_types(merged, dtypes, problems),
            data_types=dtypes,
            ops=operations.Context(plugins=plugins, resource_dirs=resource_dirs),
            gate=gate,
            problems=problems,
        ),
    )
    node_names = frozenset(merged.section("node_templates"))
    out: dict[str, Any] = {
        "description": sections.description(merged, problems, gate=gate),
        "metadata": sections.metadata(merged, problems),
        "inputs": sections.inputs(merged, data_types=dtypes, gate=gate, problems=problems),
        "outputs": sections.outputs(merged, gate=gate, problems=problems),
        "capabilities": sections.capabilities(merged, gate=gate, problems=problems),
        "labels": sections.labels(merged, key="labels", gate=gate, problems=problems),
        "blueprint_labels": sections.labels(
            merged, key="blueprint_labels", gate=gate, problems=problems
        ),
        "resource_tags": sections.resource_tags(merged, gate=gate, problems=problems),
        "deployment_settings": schedules.deployment_settings(merged, gate=gate, problems=problems),
    }
    out["workflows"], out["workflow_plugins_to_install"] = workflows.workflows(
        merged,
        plugins=plugins,
        resource_dirs=resource_dirs,
        gate=gate,
        problems=problems,
        data_types=dtypes,
    )
    ptypes = policies.policy_types(merged, problems=problems, data_types=dtypes)
    triggers = policies.policy_triggers(merged, problems=problems, data_types=dtypes)
    out["groups"] = policies.groups(
        merged,
        node_names=node_names,
        problems=problems,
        types=ptypes,
        triggers=triggers,
        data_types=dtypes,
    )
    out["policies"], out["scaling_groups"] = policies.policies(
        merged,
        node_names=node_names,
        groups=out["groups"],
        gate=gate,
        problems=problems,
        nodes=node_list,
    )
    return plan_model.jsonable(out)


def parse(
    tmp_path: Path,
    body: str,
    *,
    version: str = "1_4",
    imports: str = TYPES,
    validate_version: bool = True,
    scripts: tuple[str, ...] = (),
    with_nodes: bool = False,
) -> Parsed:
    body = (NODES if with_nodes else "") + textwrap.dedent(body)
    text = f"tosca_definitions_version: cloudify_dsl_{version}\n{imports}{body}"
    path = tmp_path / "blueprint.yaml"
    path.write_text(text, encoding="utf-8")
    for script in scripts:
        (tmp_path / script).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / script).touch()
    options = resolver.ParseOptions(validate_version=validate_version)
    problems = Problems()
    merged = loader.load(str(path), options=options, problems=problems)
    assert merged is not None, problems.sorted()
    plan = _sections(merged, options, problems)
    found = problems.sorted()
    if found:  # the parser reports them too (and maybe more, from other stages)
        with pytest.raises(errors.BlueprintError) as raised:
            parser.parse_path(path, options=options)
        assert set(found) <= set(raised.value.problems)
    return Parsed(text=text, plan=plan, problems=found)


def ok(tmp_path: Path, body: str, **kwargs: Any) -> dict[str, Any]:
    """The plan of a valid blueprint, from the parser itself."""
    parsed = parse(tmp_path, body, **kwargs)
    assert parsed.problems == [], [p.render() for p in parsed.problems]
    path = tmp_path / "blueprint.yaml"
    options = resolver.ParseOptions(validate_version=kwargs.get("validate_version", True))
    planned: dict[str, Any] = plan_model.to_json(parser.parse_path(path, options=options))
    assert {key: planned[key] for key in parsed.plan} == parsed.plan
    return planned


NODES = """\
node_templates:
  host: {type: cloudify.nodes.Compute, properties: {agent_config: {install_method: none}}}
  app:
    type: cloudify.nodes.Root
    relationships: [{type: cloudify.relationships.contained_in, target: host}]
  db: {type: cloudify.nodes.Root}
  cache: {type: cloudify.nodes.Root}
"""


# --- inputs ---------------------------------------------------------------------------


def test_inputs_keep_what_is_written_and_complete_data_type_defaults(tmp_path: Path) -> None:
    plan = ok(
        tmp_path,
        """\
        data_types:
          endpoint:
            properties:
              port: {type: integer, default: 80}
              host: {type: string}
        inputs:
          bare:
          explicit_null: {default: null}
          endpoint: {type: endpoint, default: {host: example.org}}
          ports:
            type: list
            item_type: integer
            default: [1, 2]
            constraints: [{valid_values: [1, 2, 3]}]
          notes: {type: textarea, display: {rows: 3}, display_label: Notes, hidden: false}
        """,
    )
    assert plan["inputs"] == {
        "bare": {},
        "explicit_null": {"default": None},
        "endpoint": {"type": "endpoint", "default": {"host": "example.org", "port": 80}},
        "ports": {
            "type": "list",
            "item_type": "integer",
            "default": [1, 2],
            "constraints": [{"valid_values": [1, 2, 3]}],
        },
        "notes": {
            "type": "textarea",
            "display": {"rows": 3},
            "display_label": "Notes",
            "hidden": False,
        },
    }


def test_input_problems_are_located(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        inputs:
          a: {type: string, colour: red}
          b: {type: strin}
          c: {type: string, item_type: integer}
          d: {type: string, display: {rows: 2}}
          e: {type: string, hidden: true}
          f: {type: integer, default: many}
          g: {type: integer, default: 7, constraints: [{in_range: [1, 5]}]}
          h: {type: deployment_id, default: dep}
          i: {type: string, constraints: [{shorter_than: 3}]}
          j: {description: 5}
          k: [not, a, mapping]
        """,
    )
    assert parsed.found == [
        (parsed.line("a: {"), "unknown-key"),
        (parsed.line("b: {"), "unknown-type"),
        (parsed.line("c: {"), "item-type"),
        (parsed.line("d: {"), "display"),
        (parsed.line("e: {"), "hidden-required"),
        (parsed.line("f: {"), "type"),
        (parsed.line("g: {"), "constraint"),
        (parsed.line("h: {"), "default"),
        (parsed.line("i: {"), "constraint"),
        (parsed.line("j: {"), "type"),
        (parsed.line("k: ["), "type"),
    ]
    assert "input 'g'" in parsed.problems[6].message


def test_input_defaults_are_checked_like_cloudify(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        inputs:
          items: {type: list, item_type: integer, default: [1, x]}
          unset: {type: integer, default: null, constraints: [{greater_than: 1}]}
          untyped: {type: '', default: 3}
          via_input: {type: integer, default: {get_input: unset}, constraints: [{less_than: 9}]}
          loose: {type: integer, default: null}
        """,
    )
    assert parsed.found == [
        (parsed.line("items:"), "type"),
        (parsed.line("unset:"), "constraint"),
        (parsed.line("untyped:"), "unknown-type"),
        (parsed.line("via_input:"), "constraint"),
    ]


def test_input_features_are_gated_by_version(tmp_path: Path) -> None:
    body = """\
        inputs:
          a: {type: list, item_type: string}
          b: {type: node_id}
          c: {type: operation_name}
          d: {type: string, default: x, constraints: [{pattern: x, error_message: no}]}
        """
    parsed = parse(tmp_path, body, version="1_3")
    assert parsed.found == [
        (parsed.line("a: {"), "version"),
        (parsed.line("b: {"), "version"),
        (parsed.line("c: {"), "version"),
        (parsed.line("d: {"), "version"),
    ]
    assert "item_type is not supported in cloudify_dsl_1_3" in parsed.problems[0].message
    assert parse(tmp_path, body, version="1_5").problems == []
    assert parse(tmp_path, body, version="1_3", validate_version=False).problems == []


def test_display_label_and_hidden_need_1_3(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        inputs:
          a: {display_label: A, hidden: false, required: false}
        """,
        version="1_2",
        imports="",
    )
    assert [(p.code, p.col) for p in parsed.problems] == [("version", 7), ("version", 25)]


# --- outputs, capabilities, labels, resource tags, description, metadata -------------


def test_outputs_and_capabilities(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        outputs:
          url: {description: where, value: {get_input: host}}
          empty:
          missing: {description: nothing}
        capabilities:
          port: {value: 80, label: http}
        inputs:
          host: {default: h}
        """,
    )
    assert parsed.plan["outputs"] == {
        "url": {"description": "where", "value": {"get_input": "host"}},
        "empty": {},
        "missing": {"description": "nothing"},
    }
    assert parsed.plan["capabilities"] == {"port": {"value": 80}}
    assert parsed.found == [
        (parsed.line("missing:"), "required"),
        (parsed.line("port:"), "unknown-key"),
    ]


def test_labels_and_blueprint_labels(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        inputs:
          env: {default: prod}
        labels:
          env: {values: [{get_input: env}, static]}
          bad: {values: [{get_attribute: [app, ip]}, 3]}
        blueprint_labels:
          tier: {values: [web]}
          computed: {values: [{get_input: env}]}
          flat: {values: web}
        """,
    )
    assert parsed.plan["labels"]["env"] == {"values": [{"get_input": "env"}, "static"]}
    assert parsed.plan["blueprint_labels"]["tier"] == {"values": ["web"]}
    assert parsed.found == [
        (parsed.line("bad:"), "label"),
        (parsed.line("bad:"), "label"),
        (parsed.line("computed:"), "label"),
        (parsed.line("flat:"), "type"),
    ]


def test_resource_tags_need_1_3(tmp_path: Path) -> None:
    body = "resource_tags:\n  owner: {get_sys: [deployment, owner]}\n  bad: 2020-01-01\n"
    parsed = parse(tmp_path, body, version="1_2", imports="")
    assert parsed.found == [(parsed.line("resource_tags:"), "version"), (4, "type")]
    parsed = parse(tmp_path, body.replace("  bad: 2020-01-01\n", ""))
    assert parsed.plan["resource_tags"] == {"owner": {"get_sys": ["deployment", "owner"]}}


def test_description_and_metadata(tmp_path: Path) -> None:
    plan = ok(tmp_path, "description: a web app\nmetadata: {owner: ops}\n")
    assert (plan["description"], plan["metadata"]) == ("a web app", {"owner": "ops"})
    parsed = parse(tmp_path, "description: [a]\nmetadata: 3\n", version="1_1", imports="")
    assert parsed.found == [(2, "version"), (2, "type"), (3, "type")]


# --- deployment settings --------------------------------------------------------------


def test_deployment_settings_schedules(tmp_path: Path) -> None:
    plan = ok(
        tmp_path,
        """\
        deployment_settings:
          display_name: {get_input: name}
          default_groups: [web]
          default_schedules:
            nightly:
              workflow: install
              since: "2030-06-01 12:00"
              until: "+1w"
              timezone: Asia/Jerusalem
              recurrence: 1 day
              weekdays: [MO, 2tu]
        inputs:
          name: {default: n}
        """,
    )
    assert plan["deployment_settings"] == {
        "display_name": {"get_input": "name"},
        "default_groups": ["web"],
        "default_schedules": {
            "nightly": {
                "workflow": "install",
                "since": "2030-06-01 09:00:00",
                "until": "+1w",
                "recurrence": "1 day",
                "weekdays": ["MO", "2tu"],
            }
        },
    }


def test_deployment_schedule_problems(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        deployment_settings:
          default_schedules:
            s1: {since: "+1d", recurrence: often}
            s2: {workflow: install, since: "tomorrow", weekdays: [funday]}
            s3: {workflow: install, since: "10:00", timezone: Mars/Base}
            s4: {workflow: install, since: "+1d", workflow_parameters: {a: {get_attribute: [x, y]}}}
          colour: red
        """,
    )
    assert parsed.found == [
        (parsed.line("s1:"), "required"),
        (parsed.line("s1:"), "schedule"),
        (parsed.line("s2:"), "schedule"),
        (parsed.line("s2:"), "schedule"),
        (parsed.line("s3:"), "schedule"),
        (parsed.line("s4:"), "schedule"),
        (parsed.line("colour:"), "unknown-key"),
    ]


# --- workflows ------------------------------------------------------------------------


def test_workflows_scripts_and_plugins(tmp_path: Path) -> None:
    plan = ok(
        tmp_path,
        """\
        plugins:
          ops: {executor: central_deployment_agent, source: ops.zip}
        workflows:
          backup: scripts/backup.py
          restore:
            mapping: scripts/restore.py
            parameters:
              when: {type: string, default: now}
              bare:
            is_cascading: null
          rotate:
            mapping: ops.tasks.rotate
            is_cascading: true
            availability_rules: {node_instances_active: [all], available: true}
        """,
        scripts=("scripts/backup.py", "scripts/restore.py"),
    )
    script = {"description": "Workflow script executed by the script plugin"}
    assert {k: plan["workflows"][k] for k in ("backup", "restore", "rotate")} == {
        "backup": {
            "plugin": "script",
            "operation": "script_runner.tasks.execute_workflow",
            "parameters": {"script_path": {"default": "scripts/backup.py", **script}},
            "is_cascading": False,
            "availability_rules": None,
        },
        "restore": {
            "plugin": "script",
            "operation": "script_runner.tasks.execute_workflow",
            "parameters": {
                "when": {"type": "string", "default": "now"},
                "bare": {},
                "script_path": {"default": "scripts/restore.py", **script},
            },
            "is_cascading": None,
            "availability_rules": None,
        },
        "rotate": {
            "plugin": "ops",
            "operation": "tasks.rotate",
            "parameters": {},
            "is_cascading": True,
            "availability_rules": {"node_instances_active": ["all"], "available": True},
        },
    }
    assert {"ops", "script", "default_workflows"} == set(plan["workflow_plugins_to_install"])


def test_workflow_problems(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        """\
        workflows:
          lost: nowhere.tasks.run
          doubled:
            mapping: scripts/w.sh
            parameters: {script_path: {default: other.sh}}
          rules:
            mapping: scripts/w.sh
            availability_rules: {node_instances_active: [some]}
          typed:
            mapping: scripts/w.sh
            is_cascading: sometimes
            parameters: {p: {type: integer, default: x, hidden: true}}
          unmapped: {parameters: {}}
        """,
        version="1_3",
        scripts=("scripts/w.sh",),
    )
    assert parsed.found == [
        (parsed.line("lost:"), "workflow"),
        (parsed.line("doubled:") + 1, "script"),
        (parsed.line("availability_rules:"), "version"),
        (parsed.line("availability_rules:"), "availability"),
        (parsed.line("is_cascading:"), "type"),
        (parsed.line("parameters: {p:"), "type"),
        (parsed.line("parameters: {p:"), "unknown-key"),
        (parsed.line("unmapped:"), "required"),
    ]


# --- groups, policies, scaling groups -------------------------------------------------


def test_groups_policies_and_scaling_groups(tmp_path: Path) -> None:
    plan = ok(
        tmp_path,
        with_nodes=True,
        body="""\
        policy_types:
          alarm:
            source: alarm.clj
            properties:
              threshold: {default: 3}
              metric: {}
        policy_triggers:
          notify: {source: notify.clj, parameters: {url: {}}}
        groups:
          tier: {members: [app, host, app]}
          pair:
            members: [db, cache]
            policies:
              watch:
                type: alarm
                properties: {metric: cpu}
                triggers: {mail: {type: notify, parameters: {url: http://x}}}
        policies:
          scale_tier:
            type: cloudify.policies.scaling
            targets: [tier]
            properties: {default_instances: 2, max_instances: UNBOUNDED}
        """,
    )
    assert plan["groups"] == {
        "tier": {"members": ["app", "host"], "policies": {}},
        "pair": {
            "members": ["db", "cache"],
            "policies": {
                "watch": {
                    "type": "alarm",
                    "properties": {"metric": "cpu", "threshold": 3},
                    "triggers": {"mail": {"type": "notify", "parameters": {"url": "http://x"}}},
                }
            },
        },
    }
    counts = {
        "default_instances": 2,
        "min_instances": 0,
        "max_instances": -1,
        "current_instances": 2,
        "planned_instances": 2,
    }
    assert plan["policies"] == {
        "scale_tier": {
            "type": "cloudify.policies.scaling",
            "targets": ["tier"],
            "properties": counts,
        },
    }
    # 'app' lives in 'host': it scales with it and leaves the group.
    assert plan["scaling_groups"] == {"tier": {"members": ["host"], "properties": counts}}


def test_nested_scaling_groups_drop_the_inner_group(tmp_path: Path) -> None:
    plan = ok(
        tmp_path,
        with_nodes=True,
        body="""\
        groups:
          inner: {members: [app]}
          outer: {members: [host, inner]}
        policies:
          p: {type: cloudify.policies.scaling, targets: [inner, outer]}
        """,
    )
    assert {k: v["members"] for k, v in plan["scaling_groups"].items()} == {
        "inner": ["app"],
        "outer": ["host"],
    }
    assert plan["groups"]["outer"]["members"] == ["host", "inner"]


def test_group_problems(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        with_nodes=True,
        body="""\
        groups:
          db: {members: [cache]}
          none: {members: []}
          ghost: {members: [phantom, 3]}
          watched: {members: [db], policies: {p: {type: nothing}}}
        """,
    )
    assert parsed.found == [
        (parsed.line("  db: {members"), "name-clash"),
        (parsed.line("none:"), "no-members"),
        (parsed.line("ghost:"), "unknown-member"),
        (parsed.line("ghost:"), "type"),
        (parsed.line("watched:"), "unknown-type"),
    ]


def test_policy_problems(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        with_nodes=True,
        body="""\
        groups:
          g: {members: [db]}
        policies:
          other: {type: cloudify.policies.other, targets: [g]}
          aimless: {type: cloudify.policies.scaling, targets: []}
          lost: {type: cloudify.policies.scaling, targets: [db]}
          counts:
            type: cloudify.policies.scaling
            targets: [g]
            properties: {min_instances: 3, default_instances: 1}
        """,
        version="1_2",
        imports="imports: [cloudify/types/types.yaml]\n",
    )
    assert [code for _, code in parsed.found] == [
        "version",
        "policy-type",
        "no-targets",
        "unknown-target",
        "instances",
    ]
    assert parsed.found[0][0] == parsed.line("policies:")
    assert parsed.found[3][0] == parsed.line("lost:")


def test_scaling_group_rules(tmp_path: Path) -> None:
    cases = {
        "group-cycle": "g1: {members: [g2]}\n  g2: {members: [g1]}",
        "multiple-groups": "g1: {members: [db]}\n  g2: {members: [db, cache]}",
        "not-contained": "g1: {members: [app, db]}\n  g2: {members: [cache]}",
    }
    for code, groups in cases.items():
        body = f"groups:\n  {groups}\npolicies:\n"
        body += "  p: {type: cloudify.policies.scaling, targets: [g1, g2]}\n"
        parsed = parse(tmp_path, body, with_nodes=True)
        assert [c for _, c in parsed.found] == [code], (code, parsed.found)
        assert parsed.plan["scaling_groups"]["g1"]  # reported, still built


def test_sections_that_are_not_mappings(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "inputs: [a]\noutputs: 3\ngroups: x\n")
    assert parsed.found == [(4, "type"), (5, "type"), (6, "type")]


# --- against Cloudify's parser --------------------------------------------------------

CORPUS = corpus.root()
ORACLE = corpus.oracle_python()
COMPARED = (
    "inputs",
    "outputs",
    "capabilities",
    "workflows",
    "groups",
    "policies",
    "scaling_groups",
    "labels",
    "blueprint_labels",
    "resource_tags",
    "deployment_settings",
    "description",
    "metadata",
)


def _oracle(path: Path) -> dict[str, Any]:
    assert CORPUS is not None and ORACLE is not None
    cmd = [str(ORACLE), str(corpus.oracle_script(CORPUS)), "--corpus", str(CORPUS), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def _comparable(plan: dict[str, Any]) -> dict[str, Any]:
    out = {key: plan.get(key) for key in COMPARED}
    out["metadata"] = out["metadata"] or {}
    for key in ("groups", "scaling_groups"):  # Cloudify keeps members in a set
        for group in (out[key] or {}).values():
            group["members"] = sorted(group.get("members", []))
    return out


@pytest.mark.oracle
@pytest.mark.skipif(CORPUS is None or ORACLE is None, reason="oracle or corpus missing")
@pytest.mark.parametrize(
    "body",
    [
        NODES
        + """\
groups:
  inner: {members: [app]}
  outer: {members: [host, inner]}
  other: {members: [db, cache, db], policies: {}}
policies:
  p: {type: cloudify.policies.scaling, targets: [inner, outer], properties: {max_instances: 5}}
description: groups
""",
        """\
data_types:
  pt:
    properties:
      a: {type: integer, default: 3}
      b: {type: string}
inputs:
  i1: {type: pt, default: {b: x}}
  i2:
  i3: {default: null, description: d, required: false}
  i4: {type: list, item_type: integer, default: [1], constraints: [{valid_values: [1, 2]}]}
  i5: {type: textarea, display: {rows: 3}, hidden: true, default: t}
outputs:
  o1:
  o2: {value: {get_input: i3}, description: x}
capabilities:
  c1: {value: 1}
workflows:
  w1: scripts/w.py
  w2: {mapping: scripts/w.py, parameters: {p1: {default: 1}, p2: }, is_cascading: null}
  w3: {mapping: script.foo.bar, availability_rules: {available: true}}
labels:
  k: {values: [a, {get_input: i3}]}
blueprint_labels:
  k: {values: [a]}
resource_tags: {a: 1, b: }
deployment_settings:
  display_name: x
  default_schedules:
    s: {workflow: install, since: "+1d", until: "2030-01-01 10:00", timezone: Asia/Jerusalem}
metadata: {m: 1}
""",
    ],
)
def test_sections_agree_with_cloudify(tmp_path: Path, body: str) -> None:
    parsed = parse(tmp_path, body, scripts=("scripts/w.py",))
    assert parsed.problems == [], [p.render() for p in parsed.problems]
    reference = _oracle(tmp_path / "blueprint.yaml")
    assert reference["ok"], reference
    assert _comparable(parsed.plan) == _comparable(reference["plan"])


@pytest.mark.oracle
@pytest.mark.skipif(CORPUS is None or ORACLE is None, reason="oracle or corpus missing")
@pytest.mark.parametrize(
    "body",
    [
        "inputs:\n  d: {type: deployment_id, default: x}\n",
        "inputs:\n  d: {type: string, hidden: true}\n",
        "inputs:\n  d: {type: string, display: {}}\n",
        "inputs:\n  d: {type: integer, default: 9, constraints: [{less_than: 5}]}\n",
        "workflows:\n  w: {mapping: scripts/w.py, availability_rules: {node_instances_active: [x]}}\n",
        NODES
        + "groups:\n  g: {members: [app, db]}\npolicies:\n  p: {type: cloudify.policies.scaling,"
        " targets: [g]}\n",
        NODES
        + "groups:\n  g: {members: [host, db]}\npolicies:\n  p: {type: cloudify.policies.scaling,"
        " targets: [g]}\n",
        NODES + "groups:\n  g: {members: [g]}\npolicies:\n  p: {type: cloudify.policies.scaling,"
        " targets: [g]}\n",
        "inputs:\n  i: {type: list, item_type: integer, default: [1, x]}\n",
        "inputs:\n  i: {type: integer, default: null, constraints: [{greater_than: 1}]}\n",
        "inputs:\n  i: {type: string, default: abc, constraints: [{filter_id: x}]}\n",
        "inputs:\n  i: {type: string, constraints: [{valid_values: [a], min_length: 1}]}\n",
        "workflows:\n  w: {mapping: scripts/w.py, parameters: {p: {type: integer, default: x}}}\n",
        "deployment_settings:\n  default_schedules:\n    s: {workflow: install, since: '+1d +2h'}\n",
        NODES
        + "policy_types:\n  t: {source: s, properties: {a: {}}}\ngroups:\n  g: {members: [db],"
        " policies: {p: {type: t}}}\n",
    ],
)
def test_problems_agree_with_cloudify(tmp_path: Path, body: str) -> None:
    parsed = parse(tmp_path, body, scripts=("scripts/w.py",))
    reference = _oracle(tmp_path / "blueprint.yaml")
    assert (parsed.problems == []) == reference["ok"], (parsed.found, reference.get("error"))
