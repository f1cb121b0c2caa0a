"""Preparing a deployment: inputs, static evaluation, node instances."""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import corpus
import instance_labels
import pytest
import yaml

from cairn import errors
from cairn.dsl import deployment
from cairn.model import deployment as deployment_model
from cairn.model import plan as plan_model

DEPENDS_ON = "cloudify.relationships.depends_on"
CONNECTED_TO = "cloudify.relationships.connected_to"
CONTAINED_IN = "cloudify.relationships.contained_in"
HIERARCHY = {
    DEPENDS_ON: (DEPENDS_ON,),
    CONNECTED_TO: (DEPENDS_ON, CONNECTED_TO),
    CONTAINED_IN: (DEPENDS_ON, CONTAINED_IN),
}


def op(inputs: dict[str, Any]) -> plan_model.Operation:
    return plan_model.Operation(
        name="cloudify.interfaces.lifecycle.create",
        implementation="x.sh",
        plugin="script",
        operation=None,
        executor=None,
        inputs=inputs,
    )


def rel(
    target: str,
    rel_type: str = CONNECTED_TO,
    *,
    connection: str = "all_to_all",
    properties: dict[str, Any] | None = None,
    source_inputs: dict[str, Any] | None = None,
) -> plan_model.Relationship:
    ops = {} if source_inputs is None else {"preconfigure": op(source_inputs)}
    return plan_model.Relationship(
        type=rel_type,
        target=target,
        type_hierarchy=HIERARCHY.get(rel_type, (rel_type,)),
        properties={"connection_type": connection, **(properties or {})},
        source_operations=ops,
        target_operations={},
        connection_type=connection,
    )


def node(
    node_id: str,
    properties: dict[str, Any] | None = None,
    *,
    instances: Any = 1,
    host: str | None = None,
    relationships: tuple[plan_model.Relationship, ...] = (),
    inputs: dict[str, Any] | None = None,
) -> plan_model.Node:
    return plan_model.Node(
        id=node_id,
        type="cloudify.nodes.Root",
        type_hierarchy=("cloudify.nodes.Root",),
        properties=properties or {},
        relationships=relationships,
        operations={} if inputs is None else {"cloudify.interfaces.lifecycle.create": op(inputs)},
        scalable=plan_model.Scalable(
            default_instances=instances, current_instances=instances, planned_instances=instances
        ),
        host_id=host,
    )


def blueprint(*nodes: plan_model.Node, **sections: Any) -> plan_model.Plan:
    fields: dict[str, Any] = {
        "dsl_version": "cloudify_dsl_1_4",
        "description": None,
        "metadata": {},
        "inputs": {},
        "outputs": {},
        "capabilities": {},
        "workflows": {},
        "groups": {},
        "policies": {},
        "scaling_groups": {},
        "labels": {},
        "blueprint_labels": {},
        "deployment_settings": {},
    }
    fields.update(sections)
    return plan_model.Plan(nodes=nodes, **fields)


def prepare(plan: plan_model.Plan, inputs: dict[str, Any] | None = None) -> Any:
    return deployment.prepare(plan, inputs or {}, rng=random.Random(7))


def counts(dep: deployment_model.DeploymentPlan) -> Counter[str]:
    return Counter(i.node_id for i in dep.node_instances)


# --- inputs --------------------------------------------------------------------------------

INPUTS = {
    "port": {"type": "integer", "default": 80, "constraints": [{"in_range": [1, 65535]}]},
    "name": {"type": "string"},
    "optional": {"required": False},
    "flag": {"type": "boolean", "default": False},
}


def test_all_input_problems_are_reported_at_once() -> None:
    with pytest.raises(errors.InputError) as info:
        prepare(blueprint(inputs=INPUTS), {"port": 70000, "flag": "yes", "colour": "red"})
    assert info.value.problems == (
        "unknown input 'colour' (the blueprint declares: port, name, optional, flag)",
        "input 'port': 70000 is not in range [1, 65535]",
        "input 'name' is required and has no default",
        "input 'flag': 'yes' is not a boolean",
    )


def test_defaults_and_optional_inputs() -> None:
    dep = prepare(blueprint(inputs=INPUTS), {"name": "web"})
    assert dep.inputs == {"port": 80, "name": "web", "optional": None, "flag": False}


def test_input_values_are_recorded_evaluated() -> None:
    inputs = {
        "region": {"default": "eu"},
        "zone": {"default": {"concat": [{"get_input": "region"}, "-1a"]}},
        "broken": {"default": {"get_input": "nowhere"}},
    }
    dep = prepare(blueprint(inputs=inputs))
    assert dep.inputs["zone"] == "eu-1a"
    # Cloudify only evaluates an input where it is used; an unused broken one stays.
    assert dep.inputs["broken"] == {"get_input": "nowhere"}


def test_auto_correct_types_reads_text_inputs() -> None:
    plan = blueprint(inputs=INPUTS)
    dep = deployment.prepare(plan, {"name": "n", "port": "8080"}, auto_correct_types=True)
    assert dep.inputs["port"] == 8080


def test_data_type_inputs_get_their_defaults() -> None:
    data_types = {
        "Db": {"properties": {"host": {"type": "string", "default": "localhost"}, "port": {}}}
    }
    plan = blueprint(inputs={"db": {"type": "Db"}}, data_types=data_types)
    dep = prepare(plan, {"db": {"port": 5432}})
    assert dep.inputs["db"] == {"host": "localhost", "port": 5432}
    # db2 has a required property without default, so it has no implicit value.
    with pytest.raises(errors.InputError, match="input 'db2' is required"):
        prepare(blueprint(inputs={"db2": {"type": "Db"}}, data_types=data_types))


# --- evaluation ----------------------------------------------------------------------------


def evaluated_blueprint() -> plan_model.Plan:
    web = node(
        "web",
        {
            "url": {
                "concat": ["http://", {"get_property": ["db", "host"]}, ":", {"get_input": "port"}]
            }
        },
        relationships=(
            rel(
                "db",
                properties={"note": {"get_input": "port"}},
                source_inputs={"target_host": {"get_property": ["TARGET", "host"]}},
            ),
        ),
        inputs={"ip": {"get_attribute": ["SELF", "ip"]}, "port": {"get_input": "port"}},
    )
    db = node("db", {"host": {"get_input": "host"}, "password": {"get_secret": "db-password"}})
    return blueprint(
        web,
        db,
        inputs={"port": {"default": 8080}, "host": {"default": "db.local"}},
        outputs={"url": {"description": "where", "value": {"get_property": ["web", "url"]}}},
        capabilities={"port": {"value": {"get_input": "port"}}},
        labels={"env": {"values": [{"get_input": "host"}]}},
        policies={"p": {"type": "t", "properties": {"x": {"get_input": "port"}}, "targets": []}},
    )


def test_static_functions_are_evaluated_where_cloudify_evaluates_them() -> None:
    dep = prepare(evaluated_blueprint())
    web, db = dep.node("web"), dep.node("db")
    assert web.properties["url"] == "http://db.local:8080"
    assert web.operations["cloudify.interfaces.lifecycle.create"].inputs == {
        "ip": {"get_attribute": ["SELF", "ip"]},
        "port": 8080,
    }
    assert web.relationships[0].source_operations["preconfigure"].inputs == {
        "target_host": "db.local"
    }
    assert db.properties["password"] == {"get_secret": "db-password"}
    assert dep.outputs == {"url": {"description": "where", "value": "http://db.local:8080"}}
    assert dep.capabilities == {"port": {"value": 8080}}
    assert dep.labels == {"env": {"values": ["db.local"]}}
    assert dep.policies["p"]["properties"] == {"x": 8080}
    assert dep.secrets == ("db-password",)


def test_relationship_properties_stay_as_written_like_cloudify() -> None:
    dep = prepare(evaluated_blueprint())
    assert dep.node("web").relationships[0].properties["note"] == {"get_input": "port"}


def test_evaluation_problems_are_collected() -> None:
    plan = blueprint(
        node(
            "a",
            {
                "x": {"get_input": ["cfg", "missing"]},
                "y": {"merge": ["not a mapping"]},
                "z": {"get_property": ["a", "w"]},
                "w": {"get_property": ["a", "z"]},
            },
        ),
        inputs={"cfg": {"default": {"present": 1}}},
    )
    with pytest.raises(errors.InputError) as info:
        prepare(plan)
    problems = info.value.problems
    assert len(problems) == 3
    assert "input cfg has no key 'missing'" in problems[0]
    assert "merge: item 1 is not a mapping" in problems[1]
    assert "cycle" in problems[2]


def test_to_json_is_plain_data() -> None:
    dep = prepare(evaluated_blueprint())
    data = deployment_model.to_json(dep)
    assert data["inputs"] == {"port": 8080, "host": "db.local"}
    assert [n["id"] for n in data["nodes"]] == ["web", "db"]
    assert data["node_instances"][0]["relationships"][0]["target_name"] == "db"
    assert data["secrets"] == ["db-password"]


# --- node instances ------------------------------------------------------------------------


def test_instance_ids_are_random_suffixes_and_reproducible() -> None:
    plan = blueprint(node("vm", instances=3))
    first, second = prepare(plan), prepare(plan)
    ids = [i.id for i in first.node_instances]
    assert ids == [i.id for i in second.node_instances]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"vm_[a-z0-9]{6}", i) for i in ids)


def test_contained_nodes_multiply_and_get_their_host() -> None:
    plan = blueprint(
        node("vm", instances=2, host="vm"),
        node("app", instances=3, host="vm", relationships=(rel("vm", CONTAINED_IN),)),
        node("db", instances=0),
    )
    dep = prepare(plan)
    assert counts(dep) == {"vm": 2, "app": 6}
    vms = {i.id for i in dep.instances_of("vm")}
    assert all(i.host_id == i.id for i in dep.instances_of("vm"))
    per_vm = Counter(i.host_id for i in dep.instances_of("app"))
    assert set(per_vm) == vms and set(per_vm.values()) == {3}
    for app in dep.instances_of("app"):
        (contained,) = app.relationships
        assert (contained.type, contained.target_name, contained.target_id) == (
            CONTAINED_IN,
            "vm",
            app.host_id,
        )


def test_default_instances_from_an_input() -> None:
    plan = blueprint(node("vm", instances={"get_input": "n"}), inputs={"n": {"default": 4}})
    dep = prepare(plan)
    assert counts(dep) == {"vm": 4}
    assert dep.node("vm").scalable.current_instances == 4
    with pytest.raises(errors.InputError, match="current_instances must be a non-negative integer"):
        prepare(plan, {"n": "four"})


def test_connected_to_all_to_all_and_all_to_one() -> None:
    plan = blueprint(
        node("db", instances=2),
        node("web", instances=3, relationships=(rel("db"),)),
        node("lb", instances=2, relationships=(rel("db", connection="all_to_one"),)),
    )
    dep = prepare(plan)
    db_ids = sorted(i.id for i in dep.instances_of("db"))
    for web in dep.instances_of("web"):
        assert sorted(r.target_id for r in web.relationships) == db_ids
    for lb in dep.instances_of("lb"):
        assert [r.target_id for r in lb.relationships] == [db_ids[0]]


def test_relationships_keep_their_declared_order() -> None:
    plan = blueprint(
        node("a"),
        node("b"),
        node("c", relationships=(rel("b", DEPENDS_ON), rel("a"))),
    )
    (c,) = prepare(plan).instances_of("c")
    assert [r.target_name for r in c.relationships] == ["b", "a"]


def test_relationship_to_a_node_without_instances_is_dropped() -> None:
    plan = blueprint(node("a", instances=0), node("b", relationships=(rel("a"),)))
    (b,) = prepare(plan).instances_of("b")
    assert b.relationships == ()


def scaling_group(members: list[str], instances: Any) -> dict[str, Any]:
    return {
        "members": members,
        "properties": {
            "default_instances": instances,
            "current_instances": instances,
            "planned_instances": instances,
            "min_instances": 0,
            "max_instances": -1,
        },
    }


def test_scaling_group_multiplies_its_members_and_joins_within_group_instances() -> None:
    plan = blueprint(
        node("vm", host="vm"),
        node("app", host="vm", relationships=(rel("vm", CONTAINED_IN),)),
        node("ip", relationships=(rel("vm"),)),
        scaling_groups={"pair": scaling_group(["vm", "ip"], {"get_input": "n"})},
        inputs={"n": {"default": 3}},
    )
    dep = prepare(plan)
    assert counts(dep) == {"vm": 3, "app": 3, "ip": 3}
    assert dep.scaling_groups["pair"]["properties"]["current_instances"] == 3
    group_of = {i.id: i.scaling_groups[0].id for i in dep.node_instances if i.scaling_groups}
    assert all(i.scaling_groups[0].name == "pair" for i in dep.instances_of("vm"))
    for ip in dep.instances_of("ip"):
        (link,) = ip.relationships
        assert group_of[link.target_id] == group_of[ip.id]
    # app is not a member itself but sits in a vm that is.
    assert all(i.scaling_groups == () for i in dep.instances_of("app"))


def test_contained_member_of_a_nested_group_reports_all_groups_and_real_container() -> None:
    plan = blueprint(
        node("host", instances=2, host="host"),
        node("vm", host="host", relationships=(rel("host", CONTAINED_IN),)),
        scaling_groups={"inner": scaling_group(["vm"], 2), "outer": scaling_group(["inner"], 3)},
    )
    dep = prepare(plan)
    assert counts(dep) == {"host": 2, "vm": 12}
    hosts = {i.id for i in dep.instances_of("host")}
    for vm in dep.instances_of("vm"):
        assert [g.name for g in vm.scaling_groups] == ["inner", "outer"]
        (contained,) = vm.relationships
        assert contained.target_name == "host" and contained.target_id in hosts
        assert vm.host_id == contained.target_id


def test_all_to_one_inside_a_group_is_refused() -> None:
    plan = blueprint(
        node("a"),
        node("b", relationships=(rel("a", connection="all_to_one"),)),
        scaling_groups={"g": scaling_group(["a", "b"], 1)},
    )
    with pytest.raises(
        errors.InputError, match="all_to_one is not supported within a scaling group"
    ):
        prepare(plan)


def test_unsupported_relationship_type_and_connection_type() -> None:
    odd = plan_model.Relationship(
        type="custom",
        target="a",
        type_hierarchy=("custom",),
        properties={},
        source_operations={},
        target_operations={},
    )
    with pytest.raises(errors.InputError, match="'custom' from 'b' to 'a' is not derived"):
        prepare(blueprint(node("a"), node("b", relationships=(odd,))))
    with pytest.raises(errors.InputError, match="connection_type 'sometimes'"):
        prepare(blueprint(node("a"), node("b", relationships=(rel("a", connection="sometimes"),))))


# --- against Cloudify ------------------------------------------------------------------------

CORPUS = corpus.root()
ORACLE_PYTHON = corpus.oracle_python()

FUNCTIONS_BLUEPRINT = """
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
inputs:
  port:
    type: integer
    default: 80
    constraints:
      - in_range: [1, 65535]
  cfg:
    default: {a: {b: [1, 2, 3]}}
  names:
    type: list
    item_type: string
    default: [x, y]
node_types:
  T:
    derived_from: cloudify.nodes.Root
    properties:
      p: {default: {get_input: cfg}}
      q: {default: 1}
      r: {default: x}
node_templates:
  a:
    type: T
    properties:
      r: {string_upper: {concat: [abc, {get_input: [names, 1]}]}}
  b:
    type: T
    properties:
      q: {get_property: [a, p, a]}
      r: {concat: [{get_attribute: [SELF, ip]}, ':', {get_input: port}]}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/x.sh
          inputs:
            x: {get_property: [SELF, q]}
            y: {get_input: [cfg, a, b, 2]}
            z: {get_input: port, type: integer}
            s: {string_split: ['a,b,c', ',', 1]}
    relationships:
      - type: cloudify.relationships.connected_to
        target: a
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            preconfigure:
              implementation: scripts/x.sh
              inputs:
                t: {get_property: [TARGET, r]}
                s: {get_property: [SOURCE, q]}
outputs:
  merged:
    value: {merge: [{get_input: cfg}, {x: 1}]}
  url:
    description: the url
    value: {get_property: [b, r]}
  found:
    value: {string_find: [{get_property: [a, r]}, Y]}
capabilities:
  replaced:
    value: {string_replace: [a-b-c, '-', '+']}
  secret:
    value: {get_secret: [creds, user]}
"""

TOPOLOGY_BLUEPRINT = """
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
inputs:
  vms:
    default: 2
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    capabilities:
      scalable:
        properties:
          default_instances: {get_input: vms}
  app:
    type: cloudify.nodes.ApplicationModule
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
  db_host:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
  db:
    type: cloudify.nodes.DBMS
    relationships:
      - type: cloudify.relationships.contained_in
        target: db_host
  web:
    type: cloudify.nodes.WebServer
    capabilities:
      scalable:
        properties:
          default_instances: 3
    relationships:
      - type: cloudify.relationships.contained_in
        target: vm
      - type: cloudify.relationships.connected_to
        target: db
      - type: cloudify.relationships.connected_to
        target: app
  lb:
    type: cloudify.nodes.Root
    relationships:
      - type: cloudify.relationships.connected_to
        target: vm
        properties:
          connection_type: all_to_one
  ip:
    type: cloudify.nodes.Root
    relationships:
      - type: cloudify.relationships.connected_to
        target: db_host
groups:
  db_group:
    members: [db_host, ip]
policies:
  db_scale:
    type: cloudify.policies.scaling
    properties:
      default_instances: 2
    targets: [db_group]
"""

NESTED_GROUPS_BLUEPRINT = """
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
node_templates:
  region:
    type: cloudify.nodes.Root
    capabilities: {scalable: {properties: {default_instances: 2}}}
  host:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
    relationships:
      - {type: cloudify.relationships.contained_in, target: region}
  nic:
    type: cloudify.nodes.Root
    relationships:
      - {type: cloudify.relationships.contained_in, target: region}
      - {type: cloudify.relationships.connected_to, target: host}
  app:
    type: cloudify.nodes.Root
    relationships:
      - {type: cloudify.relationships.contained_in, target: host}
groups:
  inner: {members: [host, nic]}
  outer: {members: [inner]}
policies:
  inner_scale:
    type: cloudify.policies.scaling
    properties: {default_instances: 2}
    targets: [inner]
  outer_scale:
    type: cloudify.policies.scaling
    properties: {default_instances: 3}
    targets: [outer]
"""


def oracle_deployment(blueprint_path: Path, inputs_path: Path) -> dict[str, Any]:
    assert CORPUS is not None and ORACLE_PYTHON is not None
    command = [
        str(ORACLE_PYTHON),
        str(corpus.oracle_script(CORPUS)),
        "--corpus",
        str(CORPUS),
        "--deploy-inputs",
        str(inputs_path),
        str(blueprint_path),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def comparable(dep: dict[str, Any]) -> dict[str, Any]:
    """The oracle's normalised deployment fields, from either side."""
    return {
        "instance_counts": dict(Counter(i["node_id"] for i in dep["node_instances"])),
        "instances": instance_labels.labels(dep["node_instances"]),
        "properties": {n: props for n, props in dep["properties"].items()},
        "outputs": dep["outputs"],
        "capabilities": dep["capabilities"],
        "inputs": dep["inputs"],
    }


def write_case(tmp_path: Path, text: str, inputs: dict[str, Any]) -> tuple[Path, Path]:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    (tmp_path / "scripts" / "x.sh").write_text("#!/bin/sh\n")
    blueprint_path = tmp_path / "blueprint.yaml"
    blueprint_path.write_text(text)
    inputs_path = tmp_path / "inputs.yaml"
    inputs_path.write_text(yaml.safe_dump(inputs))
    return blueprint_path, inputs_path


@pytest.mark.oracle
@pytest.mark.skipif(CORPUS is None or ORACLE_PYTHON is None, reason="oracle or corpus missing")
@pytest.mark.parametrize(
    ("text", "inputs"),
    [
        (FUNCTIONS_BLUEPRINT, {}),
        (FUNCTIONS_BLUEPRINT, {"port": 8443, "names": ["p", "q"], "cfg": {"a": {"b": [7, 8, 9]}}}),
        (TOPOLOGY_BLUEPRINT, {}),
        (TOPOLOGY_BLUEPRINT, {"vms": 3}),
        (NESTED_GROUPS_BLUEPRINT, {}),
    ],
    ids=["functions", "functions-inputs", "topology", "topology-inputs", "nested-groups"],
)
def test_prepare_agrees_with_cloudify(tmp_path: Path, text: str, inputs: dict[str, Any]) -> None:
    from cairn.dsl import parser

    blueprint_path, inputs_path = write_case(tmp_path, text, inputs)
    reference = oracle_deployment(blueprint_path, inputs_path)
    assert reference.get("ok"), reference.get("error")
    expected = reference["deployment"]
    dep = deployment.prepare(parser.parse_path(blueprint_path), inputs, rng=random.Random(1))
    data = deployment_model.to_json(dep)
    ours = {**data, "properties": {n["id"]: n["properties"] for n in data["nodes"]}}
    theirs = {**expected, "properties": {n: v["properties"] for n, v in expected["nodes"].items()}}
    assert comparable(ours) == comparable(theirs)


@pytest.mark.oracle
@pytest.mark.skipif(CORPUS is None or ORACLE_PYTHON is None, reason="oracle or corpus missing")
@pytest.mark.parametrize(
    "inputs",
    [{"port": 0}, {"port": "eighty"}, {"unknown": 1}, {"names": "x"}],
    ids=["constraint", "type", "unknown", "item-type"],
)
def test_bad_inputs_are_refused_like_cloudify(tmp_path: Path, inputs: dict[str, Any]) -> None:
    from cairn.dsl import parser

    blueprint_path, inputs_path = write_case(tmp_path, FUNCTIONS_BLUEPRINT, inputs)
    reference = oracle_deployment(blueprint_path, inputs_path)
    assert "deployment_error" in reference
    with pytest.raises(errors.InputError):
        deployment.prepare(parser.parse_path(blueprint_path), inputs)
