"""Runtime evaluation: get_attribute and friends against real deployment plans."""

from __future__ import annotations

import datetime
import json
import random
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import corpus
import pytest

from cairn import errors
from cairn.dsl import deployment, parser, runtime
from cairn.model import deployment as deployment_model
from cairn.model import runtime as runtime_model

BLUEPRINT = """
tosca_definitions_version: cloudify_dsl_1_4
imports:
  - cloudify/types/types.yaml
inputs:
  port: {default: 8080}
  cfg: {default: {a: [10, 20]}}
labels:
  env: {values: [prod, eu]}
node_types:
  t.Server:
    derived_from: cloudify.nodes.Root
    properties:
      ip: {default: ""}
      port: {default: 0}
      conf: {default: {}}
      url: {default: ""}
      peer: {default: ""}
node_templates:
  vm:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}, ip: 10.0.0.1}
    capabilities: {scalable: {properties: {default_instances: 2}}}
  app:
    type: t.Server
    properties:
      port: {get_input: port}
      url: {concat: ["http://", {get_attribute: [SELF, ip]}, ":", {get_input: port}]}
      peer: {get_attribute: [db, port]}
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
      - type: cloudify.relationships.connected_to
        target: db
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            preconfigure:
              implementation: scripts/x.sh
              inputs:
                db_port: {get_attribute: [TARGET, port]}
                me: {get_attribute: [SOURCE, node_instance_id]}
                url: {concat: [{get_attribute: [SOURCE, ip]}, "->", {get_attribute: [TARGET, ip]}]}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/x.sh
          inputs:
            host_ip: {get_attribute: [vm, ip]}
            own: {get_attribute: [SELF, ip]}
            url: {get_property: [SELF, url]}
            port: {get_input: port}
  agent:
    type: t.Server
    relationships:
      - {type: cloudify.relationships.contained_in, target: vm}
  db:
    type: t.Server
    properties:
      port: 5432
      conf: {servers: [{host: a}, {host: b}]}
  fe:
    type: t.Server
  fe_cfg:
    type: t.Server
groups:
  pair: {members: [fe, fe_cfg]}
policies:
  pair_scale:
    type: cloudify.policies.scaling
    properties: {default_instances: 2}
    targets: [pair]
outputs:
  db_port: {value: {get_attribute: [db, port]}}
  vm_ip: {value: {get_attribute: [vm, ip]}}
  url:
    description: where the database listens
    value: {concat: ["pg://", {get_attribute: [db, ip]}, ":", {get_attribute: [db, port]}]}
  password: {value: {get_secret: db_password}}
  user: {value: {get_secret: [db_creds, user]}}
capabilities:
  endpoint: {value: {get_attribute: [db, endpoint]}}
  missing: {value: {get_secret: nope}}
"""

CORPUS = corpus.root()
ORACLE_PYTHON = corpus.oracle_python()


class Deployment:
    """A prepared blueprint with instances whose runtime properties a test sets."""

    def __init__(self, tmp_path: Path, text: str = BLUEPRINT) -> None:
        (tmp_path / "scripts").mkdir(exist_ok=True)
        (tmp_path / "scripts" / "x.sh").write_text("#!/bin/sh\n")
        path = tmp_path / "blueprint.yaml"
        path.write_text(text)
        prepared = deployment.prepare(parser.parse_path(path), {}, rng=random.Random(7))
        self.plan: dict[str, Any] = deployment_model.to_json(prepared)
        self.runtime: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}

    def ids(self, node_id: str) -> list[str]:
        return [i["id"] for i in self.plan["node_instances"] if i["node_id"] == node_id]

    def one(self, node_id: str) -> str:
        (found,) = self.ids(node_id)
        return found

    def set(self, instance_id: str, **properties: Any) -> None:
        self.runtime.setdefault(instance_id, {}).update(properties)

    def instances(self) -> list[runtime_model.NodeInstance]:
        return [
            runtime_model.NodeInstance(
                id=i["id"],
                deployment_id="dep",
                node_id=i["node_id"],
                host_id=i["host_id"],
                state=runtime_model.InstanceState.STARTED,
                runtime_properties=self.runtime.get(i["id"], {}),
                relationships=tuple(i["relationships"]),
                scaling_groups=tuple(i["scaling_groups"]),
            )
            for i in self.plan["node_instances"]
        ]

    def secret(self, name: str) -> str:
        if name not in self.secrets:
            raise errors.NotFoundError(f"secret {name} not found")
        return self.secrets[name]

    def evaluate(self, value: Any, **context: Any) -> Any:
        return runtime.evaluate(
            value,
            deployment_plan=self.plan,
            instances=self.instances(),
            secret=self.secret,
            **context,
        )

    def node(self, node_id: str) -> dict[str, Any]:
        return next(n for n in self.plan["nodes"] if n["id"] == node_id)

    def operation_inputs(self, node_id: str, operation: str) -> dict[str, Any]:
        inputs: dict[str, Any] = self.node(node_id)["operations"][operation]["inputs"]
        return inputs

    def related(self, instance_id: str, node_id: str) -> str:
        instance = next(i for i in self.plan["node_instances"] if i["id"] == instance_id)
        return str(
            next(r["target_id"] for r in instance["relationships"] if r["target_name"] == node_id)
        )


@pytest.fixture
def dep(tmp_path: Path) -> Deployment:
    return Deployment(tmp_path)


CREATE = "cloudify.interfaces.lifecycle.create"
PRECONFIGURE = "cloudify.interfaces.relationship_lifecycle.preconfigure"


# --- the fast path -------------------------------------------------------------------


def test_a_value_without_functions_comes_back_as_is(dep: Deployment) -> None:
    value = {"a": [1, {"b": "c"}], "concat": "not a call", "x": {"concat": [1], "y": 2}}
    assert runtime.needs_evaluation(value) is False
    assert dep.evaluate(value) is value


def test_needs_evaluation_finds_a_deep_function() -> None:
    assert runtime.needs_evaluation({"a": [1, {"b": [{"get_secret": "s"}]}]}) is True
    assert runtime.needs_evaluation([{"get_attribute": ["x", "y"], "type": "string"}]) is True


# --- get_attribute -------------------------------------------------------------------


def test_operation_inputs_of_a_node_evaluate_against_its_instance(dep: Deployment) -> None:
    vm_a, vm_b = dep.ids("vm")
    for app in dep.ids("app"):
        dep.set(app, ip=f"ip-of-{app}")
    dep.set(vm_a, ip="192.0.2.1")
    dep.set(vm_b, ip="192.0.2.2")
    for app in dep.ids("app"):
        result = dep.evaluate(dep.operation_inputs("app", CREATE), self_instance=app)
        host = dep.related(app, "vm")
        assert result["host_ip"] == ("192.0.2.1" if host == vm_a else "192.0.2.2")
        assert result["own"] == f"ip-of-{app}"
        assert result["url"] == f"http://ip-of-{app}:8080"
        assert result["port"] == 8080
        assert result["script_path"] == "scripts/x.sh"


def test_attribute_falls_back_to_the_node_property_then_none(dep: Deployment) -> None:
    vm = dep.ids("vm")[0]
    db = dep.one("db")
    assert dep.evaluate({"get_attribute": ["SELF", "ip"]}, self_instance=vm) == "10.0.0.1"
    dep.set(vm, ip="192.0.2.9")
    assert dep.evaluate({"get_attribute": ["SELF", "ip"]}, self_instance=vm) == "192.0.2.9"
    # A runtime property set to None falls through to the node's property, as in Cloudify.
    dep.set(vm, ip=None)
    assert dep.evaluate({"get_attribute": ["SELF", "ip"]}, self_instance=vm) == "10.0.0.1"
    assert dep.evaluate({"get_attribute": ["db", "nothing"]}) is None
    assert dep.evaluate({"get_attribute": ["db", "node_instance_id"]}) == db


def test_nested_attribute_paths_take_keys_and_indexes(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, endpoints=[{"host": "h0", "ports": [1, 2]}, {"host": "h1", "ports": [3]}])
    assert dep.evaluate({"get_attribute": ["db", "endpoints", 1, "host"]}) == "h1"
    assert dep.evaluate({"get_attribute": ["db", "endpoints", 0, "ports", -1]}) == 2
    assert dep.evaluate({"get_attribute": ["db", "endpoints", 5, "host"]}) is None
    assert dep.evaluate({"get_attribute": ["db", "endpoints", 0, "nope"]}) is None
    # from the node's properties when the instance has no such attribute
    assert dep.evaluate({"get_attribute": ["db", "conf", "servers", 1, "host"]}) == "b"
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"get_attribute": ["db", "endpoints", "first"]}, path="inputs.x")
    assert caught.value.message == (
        f"get_attribute: node instance '{db}' attribute 'endpoints' is a list; "
        "'first' is not an index (inputs.x)"
    )


def test_a_returned_attribute_is_a_copy(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, conf={"a": [1]})
    instances = dep.instances()
    value = runtime.evaluate(
        {"x": {"get_attribute": ["db", "conf"]}}, deployment_plan=dep.plan, instances=instances
    )
    value["x"]["a"].append(2)
    assert instances[[i.id for i in instances].index(db)].runtime_properties["conf"] == {"a": [1]}


def test_functions_inside_runtime_properties_are_evaluated_as_that_instance(
    dep: Deployment,
) -> None:
    db = dep.one("db")
    dep.set(db, ip="198.51.100.7", url={"concat": ["pg://", {"get_attribute": ["SELF", "ip"]}]})
    app = dep.ids("app")[0]
    assert dep.evaluate({"get_attribute": ["db", "url"]}, self_instance=app) == "pg://198.51.100.7"


def test_node_property_holding_get_attribute_is_evaluated_for_the_instance(
    dep: Deployment,
) -> None:
    db = dep.one("db")
    dep.set(db, port=6543)
    app = dep.ids("app")[1]
    # app's property `peer` is {get_attribute: [db, port]}; reading it as an attribute
    # evaluates it.
    assert dep.evaluate({"get_attribute": ["SELF", "peer"]}, self_instance=app) == 6543
    assert dep.evaluate({"get_property": ["SELF", "peer"]}, self_instance=app) == 6543


def test_an_instance_is_found_through_its_relationship(dep: Deployment) -> None:
    for vm in dep.ids("vm"):
        dep.set(vm, name=vm)
    for app in dep.ids("app"):
        found = dep.evaluate({"get_attribute": ["vm", "name"]}, self_instance=app)
        assert found == dep.related(app, "vm")


def test_an_instance_is_found_through_its_scaling_group(dep: Deployment) -> None:
    fe_cfg = dep.ids("fe_cfg")
    assert len(fe_cfg) == 2
    for cfg in fe_cfg:
        dep.set(cfg, token=f"token-{cfg}")
    for fe_instance in dep.plan["node_instances"]:
        if fe_instance["node_id"] != "fe":
            continue
        group = fe_instance["scaling_groups"][0]["id"]
        partner = next(
            i["id"]
            for i in dep.plan["node_instances"]
            if i["node_id"] == "fe_cfg" and i["scaling_groups"][0]["id"] == group
        )
        value = dep.evaluate(
            {"get_attribute": ["fe_cfg", "token"]}, self_instance=fe_instance["id"]
        )
        assert value == f"token-{partner}"


def test_an_instance_on_the_same_host_is_found(dep: Deployment) -> None:
    # Cairn's addition: app and agent share a vm but have no relationship between them.
    for agent in dep.ids("agent"):
        dep.set(agent, pid=agent)
    for app in dep.ids("app"):
        found = dep.evaluate({"get_attribute": ["agent", "pid"]}, self_instance=app)
        host = dep.related(app, "vm")
        assert found == next(a for a in dep.ids("agent") if dep.related(a, "vm") == host)


def test_an_ambiguous_node_is_an_error(dep: Deployment) -> None:
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"v": {"get_attribute": ["vm", "ip"]}}, path="outputs.x.value")
    assert caught.value.message == (
        "get_attribute: node 'vm' has 2 instances and nothing here says which one to use "
        "(get_attributes_list gives them all) (outputs.x.value.v)"
    )
    db = dep.one("db")
    with pytest.raises(runtime.RuntimeEvaluationError, match=f"none of them is related to '{db}'"):
        dep.evaluate({"get_attribute": ["fe", "ip"]}, self_instance=db)


def test_self_source_and_target_need_their_context(dep: Deployment) -> None:
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"get_attribute": ["SELF", "ip"]}, path="outputs.o.value")
    assert caught.value.message == (
        "get_attribute: SELF is only known in a node operation, and this is not one "
        "(outputs.o.value)"
    )
    assert caught.value.function == "get_attribute"
    assert caught.value.path == "outputs.o.value"
    app = dep.ids("app")[0]
    with pytest.raises(
        runtime.RuntimeEvaluationError, match="TARGET is only known in a relationship"
    ):
        dep.evaluate({"get_attribute": ["TARGET", "ip"]}, self_instance=app)
    with pytest.raises(runtime.RuntimeEvaluationError, match="'ghost_1' is not in the deployment"):
        dep.evaluate({"get_attribute": ["SELF", "ip"]}, self_instance="ghost_1")


def test_unknown_nodes_and_nodes_without_instances_are_errors(tmp_path: Path) -> None:
    text = BLUEPRINT.replace(
        "  fe:\n    type: t.Server\n",
        "  fe:\n    type: t.Server\n    capabilities: {scalable: {properties: {default_instances: 0}}}\n",
    ).replace("  pair: {members: [fe, fe_cfg]}", "  pair: {members: [fe_cfg]}")
    dep = Deployment(tmp_path, text)
    assert dep.ids("fe") == []
    with pytest.raises(runtime.RuntimeEvaluationError, match="node 'fe' has no instances"):
        dep.evaluate({"get_attribute": ["fe", "ip"]})
    assert dep.evaluate({"get_attributes_list": ["fe", "ip"]}) == []
    with pytest.raises(runtime.RuntimeEvaluationError, match="the deployment has no node 'nope'"):
        dep.evaluate({"get_attribute": [{"concat": ["no", "pe"]}, "ip"]})
    with pytest.raises(runtime.RuntimeEvaluationError, match="the deployment has no node 10"):
        dep.evaluate({"get_attribute": [{"get_input": ["cfg", "a", 0]}, "ip"]})


def test_relationship_operations_see_source_and_target(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, port=7000, ip="203.0.113.5")
    inputs = dep.node("app")["relationships"][1]["source_operations"][PRECONFIGURE]["inputs"]
    app = dep.ids("app")[0]
    dep.set(app, ip="203.0.113.1")
    result = dep.evaluate(inputs, source_instance=app, target_instance=db)
    assert result == {
        "db_port": 7000,
        "me": app,
        "url": "203.0.113.1->203.0.113.5",
        "script_path": "scripts/x.sh",
    }
    with pytest.raises(runtime.RuntimeEvaluationError, match="SELF is only known in a node"):
        dep.evaluate({"get_attribute": ["SELF", "ip"]}, source_instance=app, target_instance=db)


def test_relationship_context_resolves_by_scaling_group(dep: Deployment) -> None:
    fe = dep.ids("fe")[0]
    (group,) = next(i for i in dep.plan["node_instances"] if i["id"] == fe)["scaling_groups"]
    partner = next(
        i["id"]
        for i in dep.plan["node_instances"]
        if i["node_id"] == "fe_cfg" and i["scaling_groups"][0]["id"] == group["id"]
    )
    dep.set(partner, token="mine")
    value = dep.evaluate(
        {"get_attribute": ["fe_cfg", "token"]}, source_instance=fe, target_instance=dep.one("db")
    )
    assert value == "mine"


# --- get_attributes_list / get_attributes_dict -----------------------------------------


def test_attributes_of_every_instance(dep: Deployment) -> None:
    vm_a, vm_b = dep.ids("vm")
    dep.set(vm_a, ip="192.0.2.1", disk={"size": 10})
    assert dep.evaluate({"get_attributes_list": ["vm", "ip"]}) == ["192.0.2.1", "10.0.0.1"]
    assert dep.evaluate({"get_attributes_list": ["SELF", "ip"]}, self_instance=vm_b) == [
        "192.0.2.1",
        "10.0.0.1",
    ]
    assert dep.evaluate({"get_attributes_dict": ["vm", "ip", ["disk", "size"]]}) == {
        vm_a: {"ip": "192.0.2.1", "disk.size": 10},
        vm_b: {"ip": "10.0.0.1", "disk.size": None},
    }


# --- get_property, get_input -----------------------------------------------------------


def test_get_property_with_a_runtime_argument(dep: Deployment) -> None:
    app = dep.ids("app")[0]
    dep.set(app, other="db", key="servers")
    value = {
        "get_property": [
            {"get_attribute": ["SELF", "other"]},
            "conf",
            {"get_attribute": ["SELF", "key"]},
            0,
        ]
    }
    assert dep.evaluate(value, self_instance=app) == {"host": "a"}
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"get_property": ["db", "conf", "servers", 2]}, path="p")
    assert caught.value.message == "get_property: node 'db' has no property 'conf.servers[2]' (p)"


def test_get_input_with_a_runtime_argument(dep: Deployment) -> None:
    app = dep.ids("app")[0]
    dep.set(app, which="cfg", index=1)
    value = {
        "get_input": [
            {"get_attribute": ["SELF", "which"]},
            "a",
            {"get_attribute": ["SELF", "index"]},
        ]
    }
    assert dep.evaluate(value, self_instance=app) == 20
    with pytest.raises(runtime.RuntimeEvaluationError, match="the deployment has no input 'nope'"):
        dep.evaluate({"get_input": {"concat": ["no", "pe"]}})
    with pytest.raises(runtime.RuntimeEvaluationError, match=r"has no input 'cfg.a\[2\]'"):
        dep.evaluate({"get_input": ["cfg", "a", 2]})
    with pytest.raises(runtime.RuntimeEvaluationError, match="not of type 'integer'"):
        dep.evaluate({"get_input": "cfg", "type": "integer"})
    assert dep.evaluate({"get_input": "port", "type": "integer"}) == 8080


# --- get_secret ----------------------------------------------------------------------


def test_secrets_by_name_and_by_key_path(dep: Deployment) -> None:
    dep.secrets = {"pw": "s3cret", "creds": json.dumps({"db": {"users": ["root", "app"]}})}
    assert dep.evaluate({"get_secret": "pw"}) == "s3cret"
    assert dep.evaluate({"get_secret": ["creds", "db", "users", 1]}) == "app"
    assert dep.evaluate({"get_secret": {"concat": ["p", "w"]}}) == "s3cret"


def test_secret_errors_name_the_secret_not_its_value(dep: Deployment) -> None:
    dep.secrets = {"pw": "s3cret", "creds": json.dumps({"db": {"user": "root"}})}
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"a": [{"get_secret": "nope"}]}, path="inputs")
    assert caught.value.message == "get_secret: there is no secret 'nope' (inputs.a[0])"
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"get_secret": ["pw", "x"]})
    assert "s3cret" not in caught.value.message
    assert "secret 'pw' is not JSON" in caught.value.message
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"get_secret": ["creds", "db", "password"]})
    assert caught.value.message == "get_secret: secret 'creds' has no 'db.password' (payload)"
    assert "root" not in caught.value.message


def test_secrets_are_read_once_per_evaluation(dep: Deployment) -> None:
    reads: list[str] = []

    def secret(name: str) -> str:
        reads.append(name)
        return "v"

    value = [{"get_secret": "a"}, {"get_secret": "a"}, {"get_secret": "b"}]
    result = runtime.evaluate(value, deployment_plan=dep.plan, instances=[], secret=secret)
    assert result == ["v", "v", "v"]
    assert reads == ["a", "b"]


def test_without_providers_functions_stay_as_written(dep: Deployment) -> None:
    value = {
        "s": {"get_secret": "pw"},
        "c": {"get_capability": ["other", "endpoint"]},
        "sys": {"get_sys": ["deployment", "id"]},
        "g": {"get_group_capability": ["grp", ["c"]]},
        "e": {"get_environment_capability": "c"},
        "n": {"get_consumers": "count"},
        "joined": {"concat": ["x-", {"get_secret": "pw"}, {"get_input": "port"}]},
    }
    result = runtime.evaluate(value, deployment_plan=dep.plan, instances=dep.instances())
    assert result == {**value, "joined": {"concat": ["x-", {"get_secret": "pw"}, 8080]}}


def test_an_error_names_the_path_down_to_the_function(dep: Deployment) -> None:
    value = {"env": {"URL": {"concat": ["pg://", {"get_secret": ["nope", "k"]}]}}}
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate(value, path="nodes.app.operations.create.inputs")
    assert caught.value.path == "nodes.app.operations.create.inputs.env.URL.concat[1]"
    assert caught.value.function == "get_secret"


def test_a_function_left_as_written_keeps_its_type_key(dep: Deployment) -> None:
    value = {"get_secret": {"get_sys": ["deployment", "id"]}, "type": "string"}
    result = runtime.evaluate(value, deployment_plan=dep.plan, instances=[], secret=dep.secret)
    assert result == value
    assert result is not value


def test_one_evaluator_serves_many_values(dep: Deployment) -> None:
    reads: list[str] = []

    def secret(name: str) -> str:
        reads.append(name)
        return f"value-of-{name}"

    db = dep.one("db")
    dep.set(db, ip="203.0.113.5")
    evaluator = runtime.Evaluator(
        deployment_plan=dep.plan, instances=dep.instances(), secret=secret
    )
    apps = dep.ids("app")
    first = evaluator.evaluate(
        {"s": {"get_secret": "k"}, "own": {"get_attribute": ["SELF", "node_instance_id"]}},
        self_instance=apps[0],
    )
    second = evaluator.evaluate(
        {"s": {"get_secret": "k"}, "own": {"get_attribute": ["SELF", "node_instance_id"]}},
        self_instance=apps[1],
    )
    assert first == {"s": "value-of-k", "own": apps[0]}
    assert second == {"s": "value-of-k", "own": apps[1]}
    assert reads == ["k"]
    assert evaluator.section("outputs")["url"] == "pg://203.0.113.5:5432"


# --- get_capability, get_label, get_sys ---------------------------------------------------


def test_capabilities_of_other_deployments(dep: Deployment) -> None:
    def capability(deployment_id: str, name: str) -> Any:
        if (deployment_id, name) != ("net", "subnets"):
            raise errors.NotFoundError(f"deployment {deployment_id} has no capability {name}")
        return [{"cidr": "10.1.0.0/24"}, {"cidr": "10.2.0.0/24"}]

    def evaluate(value: Any) -> Any:
        return runtime.evaluate(
            value, deployment_plan=dep.plan, instances=dep.instances(), capability=capability
        )

    assert evaluate({"get_capability": ["net", "subnets", 1, "cidr"]}) == "10.2.0.0/24"
    assert evaluate({"get_capability": ["net", "subnets"]})[0] == {"cidr": "10.1.0.0/24"}
    with pytest.raises(
        runtime.RuntimeEvaluationError, match="deployment 'net' has no capability 'x'"
    ):
        evaluate({"get_capability": ["net", "x"]})
    with pytest.raises(
        runtime.RuntimeEvaluationError, match=r"of deployment 'net' has no '5' \(payload\)"
    ):
        evaluate({"get_capability": ["net", "subnets", 5, "cidr"]})


def test_labels_and_system_values(dep: Deployment) -> None:
    record = runtime_model.Deployment(
        id="shop-eu",
        blueprint_id="shop",
        inputs={},
        plan=dep.plan,
        created_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        labels={"env": ("staging",), "team": ("a", "b")},
        created_by="alice",
    )

    def evaluate(value: Any) -> Any:
        return runtime.evaluate(
            value, deployment_plan=dep.plan, instances=dep.instances(), deployment=record
        )

    assert evaluate({"get_label": "team"}) == ["a", "b"]
    assert evaluate({"get_label": ["team", "1"]}) == "b"
    assert evaluate({"get_sys": ["deployment", "id"]}) == "shop-eu"
    assert evaluate({"get_sys": ["deployment", "blueprint"]}) == "shop"
    assert evaluate({"get_sys": ["deployment", "owner"]}) == "alice"
    assert evaluate({"get_sys": ["tenant", "name"]}) == runtime.DEFAULT_TENANT
    with pytest.raises(runtime.RuntimeEvaluationError, match="the deployment has no label 'x'"):
        evaluate({"get_label": "x"})
    with pytest.raises(runtime.RuntimeEvaluationError, match="label 'team' has 2 values"):
        evaluate({"get_label": ["team", 2]})
    # Without a deployment record, labels come from the plan's labels section.
    assert dep.evaluate({"get_label": ["env", 1]}) == "eu"


# --- concat, merge, string_* --------------------------------------------------------------


def test_static_functions_over_runtime_values(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, ip="203.0.113.5", tags={"b": 2}, name="Main-DB")
    assert dep.evaluate({"merge": [{"a": 1}, {"get_attribute": ["db", "tags"]}]}) == {
        "a": 1,
        "b": 2,
    }
    assert dep.evaluate({"string_upper": {"get_attribute": ["db", "name"]}}) == "MAIN-DB"
    assert dep.evaluate({"string_split": [{"get_attribute": ["db", "ip"]}, ".", 3]}) == "5"
    assert (
        dep.evaluate({"string_replace": [{"get_attribute": ["db", "name"]}, "-", "_"]}) == "Main_DB"
    )
    assert dep.evaluate({"string_find": [{"get_attribute": ["db", "name"]}, "DB"]}) == 5
    assert dep.evaluate({"concat": ["port ", {"get_attribute": ["db", "port"]}, " ", True]}) == (
        "port 5432 True"
    )
    with pytest.raises(runtime.RuntimeEvaluationError) as caught:
        dep.evaluate({"merge": [{"a": 1}, {"get_attribute": ["db", "ip"]}]}, path="o")
    assert caught.value.message == "merge: item 2 is not a mapping: '203.0.113.5' (o)"
    with pytest.raises(
        runtime.RuntimeEvaluationError, match="string_lower: takes one string argument, got 5432"
    ):
        dep.evaluate({"string_lower": {"get_attribute": ["db", "port"]}})


def test_self_reference_is_reported_not_a_crash(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, a={"get_attribute": ["SELF", "b"]}, b={"get_attribute": ["SELF", "a"]})
    with pytest.raises(runtime.RuntimeEvaluationError, match="more than 50 levels deep"):
        dep.evaluate({"get_attribute": ["db", "a"]})


# --- outputs and capabilities ------------------------------------------------------------


def test_outputs_fail_one_by_one(dep: Deployment) -> None:
    db = dep.one("db")
    dep.set(db, ip="203.0.113.5")
    dep.secrets = {"db_creds": json.dumps({"user": "app"})}
    outputs = runtime.evaluate_outputs(dep.plan, dep.instances(), secret=dep.secret)
    assert outputs == {
        "db_port": 5432,
        "vm_ip": {
            "error": "get_attribute: node 'vm' has 2 instances and nothing here says which one "
            "to use (get_attributes_list gives them all) (outputs.vm_ip.value)"
        },
        "url": "pg://203.0.113.5:5432",
        "password": {
            "error": "get_secret: there is no secret 'db_password' (outputs.password.value)"
        },
        "user": "app",
    }


def test_capabilities_and_one_capability(dep: Deployment) -> None:
    dep.set(dep.one("db"), endpoint={"host": "h", "port": 1})
    capabilities = runtime.evaluate_capabilities(dep.plan, dep.instances(), secret=dep.secret)
    assert capabilities["endpoint"] == {"host": "h", "port": 1}
    assert capabilities["missing"] == {
        "error": "get_secret: there is no secret 'nope' (capabilities.missing.value)"
    }
    evaluator = runtime.Evaluator(deployment_plan=dep.plan, instances=dep.instances())
    assert evaluator.capability("endpoint") == {"host": "h", "port": 1}
    with pytest.raises(errors.NotFoundError, match="declares: endpoint, missing"):
        evaluator.capability("nope")


def test_outputs_without_functions_and_without_providers(dep: Deployment) -> None:
    plan = {
        **dep.plan,
        "outputs": {"plain": {"value": [1, 2]}, "s": {"value": {"get_secret": "x"}}},
    }
    assert runtime.evaluate_outputs(plan, []) == {"plain": [1, 2], "s": {"get_secret": "x"}}


# --- agreement with Cloudify's runtime evaluation -------------------------------------------

ORACLE = r"""
import copy, json, sys
from dsl_parser import functions

data = json.load(open(sys.argv[1]))
nodes = {n["id"]: n for n in data["nodes"]}
instances = data["instances"]


class NotFound(Exception):
    status_code = 404


class Secret:
    def __init__(self, value):
        self.value = value


class Storage:
    def get_input(self, name):
        return data["inputs"][name]

    def get_node(self, node_id):
        node = nodes[node_id]
        return {
            "id": node["id"], "name": node["id"], "properties": node["properties"],
            "relationships": [
                {"type": r["type"], "type_hierarchy": r["type_hierarchy"], "target_id": r["target"]}
                for r in node["relationships"]
            ],
        }

    def get_node_instances(self, node_id=None):
        return [i for i in instances if node_id is None or i["node_id"] == node_id]

    def get_node_instance(self, instance_id):
        return next(i for i in instances if i["id"] == instance_id)

    def get_secret(self, name):
        if name not in data["secrets"]:
            raise NotFound(name)
        return Secret(data["secrets"][name])


results = []
for case in data["cases"]:
    try:
        payload = functions.evaluate_functions(
            payload=copy.deepcopy({"v": case["value"]}), context=dict(case["context"]),
            storage=Storage())
        results.append({"value": payload["v"]})
    except Exception as exc:
        results.append({"error": "%s: %s" % (type(exc).__name__, exc)})
print(json.dumps(results))
"""


def oracle_cases(dep: Deployment) -> list[tuple[str, Any, dict[str, str]]]:
    app_a, app_b = dep.ids("app")
    db = dep.one("db")
    fe = dep.ids("fe")[0]
    both = {"source": app_a, "target": db}
    return [
        ("self", {"get_attribute": ["SELF", "ip"]}, {"self": app_a}),
        ("related", {"get_attribute": ["vm", "ip"]}, {"self": app_b}),
        ("missing", {"get_attribute": ["SELF", "nothing"]}, {"self": app_a}),
        ("fallback", {"get_attribute": ["db", "conf", "servers", 0]}, {}),
        ("nested", {"get_attribute": ["db", "list", 1, "k"]}, {}),
        ("out-of-range", {"get_attribute": ["db", "list", 9, "k"]}, {}),
        ("instance-id", {"get_attribute": ["SELF", "node_instance_id"]}, {"self": db}),
        ("concat", {"concat": [{"get_attribute": ["db", "ip"]}, ":", {"get_input": "port"}]}, {}),
        ("list", {"get_attributes_list": ["vm", "ip"]}, {}),
        ("dict", {"get_attributes_dict": ["vm", "ip", ["disk", "size"]]}, {}),
        ("group", {"get_attribute": ["fe_cfg", "token"]}, {"self": fe}),
        (
            "source-target",
            {"a": {"get_attribute": ["TARGET", "ip"]}, "b": {"get_attribute": ["SOURCE", "ip"]}},
            both,
        ),
        (
            "group-from-relationship",
            {"get_attribute": ["fe_cfg", "token"]},
            {"source": fe, "target": db},
        ),
        ("secret", [{"get_secret": "pw"}, {"get_secret": ["creds", "u", 0]}], {}),
        ("merge", {"merge": [{"a": 1}, {"get_attribute": ["db", "tags"]}]}, {}),
        ("string", {"string_split": [{"get_attribute": ["db", "ip"]}, ".", 1]}, {}),
        ("runtime-function", {"get_attribute": ["db", "url"]}, {"self": app_a}),
        ("input-path", {"get_input": [{"get_attribute": ["db", "which"]}, "a", 1]}, {}),
        ("node-property-function", {"get_attribute": ["SELF", "peer"]}, {"self": app_a}),
        ("ambiguous", {"get_attribute": ["vm", "ip"]}, {}),
        ("self-missing", {"get_attribute": ["SELF", "ip"]}, {}),
        ("bad-index", {"get_attribute": ["db", "list", "k"]}, {}),
        ("secret-missing", {"get_secret": "nope"}, {}),
    ]


@pytest.mark.oracle
@pytest.mark.skipif(ORACLE_PYTHON is None, reason="Cloudify's parser (oracle) is not installed")
def test_runtime_evaluation_agrees_with_cloudify(dep: Deployment, tmp_path: Path) -> None:
    assert ORACLE_PYTHON is not None
    db = dep.one("db")
    vm_a, _ = dep.ids("vm")
    dep.set(
        db,
        ip="203.0.113.5",
        list=[{"k": "zero"}, {"k": "one"}],
        tags={"t": 1},
        which="cfg",
        url={"concat": ["pg://", {"get_attribute": ["SELF", "ip"]}]},
    )
    dep.set(vm_a, ip="192.0.2.1", disk={"size": 10})
    for app in dep.ids("app"):
        dep.set(app, ip=f"ip-{app}")
    for cfg in dep.ids("fe_cfg"):
        dep.set(cfg, token=f"token-{cfg}")
    dep.secrets = {"pw": "s3cret", "creds": json.dumps({"u": ["root"]})}
    cases = oracle_cases(dep)
    theirs = run_oracle(dep, cases, tmp_path)
    for (name, value, context), reference in zip(cases, theirs, strict=True):
        try:
            ours: dict[str, Any] = {"value": dep.evaluate(value, **context_arguments(context))}
        except runtime.RuntimeEvaluationError as exc:
            ours = {"error": exc.message}
        assert ("error" in ours) == ("error" in reference), (name, ours, reference)
        assert ours.get("value") == reference.get("value"), name


def test_same_host_resolution_is_beyond_cloudify(dep: Deployment, tmp_path: Path) -> None:
    """Cairn resolves an instance on the same host; Cloudify refuses (checked when it is here)."""
    app = dep.ids("app")[0]
    agent = next(a for a in dep.ids("agent") if dep.related(a, "vm") == dep.related(app, "vm"))
    dep.set(agent, pid=1)
    value = {"get_attribute": ["agent", "pid"]}
    assert dep.evaluate(value, self_instance=app) == 1
    if ORACLE_PYTHON is not None:
        (reference,) = run_oracle(dep, [("host", value, {"self": app})], tmp_path)
        assert "More than one node instance found" in reference["error"]


def context_arguments(context: Mapping[str, str]) -> dict[str, str]:
    names = {"self": "self_instance", "source": "source_instance", "target": "target_instance"}
    return {names[key]: value for key, value in context.items()}


def run_oracle(
    dep: Deployment, cases: Sequence[tuple[str, Any, dict[str, str]]], tmp_path: Path
) -> list[dict[str, Any]]:
    assert ORACLE_PYTHON is not None
    data = {
        "nodes": dep.plan["nodes"],
        "inputs": dep.plan["inputs"],
        "instances": [
            {
                "id": i.id,
                "node_id": i.node_id,
                "runtime_properties": dict(i.runtime_properties),
                "relationships": list(i.relationships),
                "scaling_groups": list(i.scaling_groups),
            }
            for i in dep.instances()
        ],
        "secrets": dep.secrets,
        "cases": [{"value": value, "context": context} for _, value, context in cases],
    }
    (tmp_path / "oracle.py").write_text(ORACLE)
    (tmp_path / "oracle.json").write_text(json.dumps(data))
    proc = subprocess.run(
        [str(ORACLE_PYTHON), str(tmp_path / "oracle.py"), str(tmp_path / "oracle.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return results
