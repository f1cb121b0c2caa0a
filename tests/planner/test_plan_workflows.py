"""Workflows of the blueprint: dispatch, script workflows and parameters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from planblueprints import CHAIN
from plansupport import Deployment, check_graph, deploy, first, keys, last, prepared, waits_for

from cairn import errors, planner
from cairn.dsl import resolver
from cairn.model import executions
from cairn.model.runtime import InstanceState

CUSTOM_WORKFLOWS = (
    CHAIN
    + """
plugins:
  myplugin: {executor: central_deployment_agent, source: https://example.com/p.zip}
workflows:
  deploy_app:
    mapping: scripts/deploy.sh
    parameters:
      name: {type: string}
      count: {type: integer, default: 1}
      flag: {type: boolean, default: false}
      ratio: {type: float, default: 0.5}
      nodes: {type: list, item_type: node_id, default: []}
      where: {type: node_instance, required: false}
      level:
        default: low
        constraints: [{valid_values: [low, high]}]
  plugin_flow: myplugin.tasks.run
  my_install: default_workflows.cloudify.plugins.workflows.install
"""
)


@pytest.fixture
def custom(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, CUSTOM_WORKFLOWS)


def test_script_workflow_is_one_task_with_the_parameters(custom: Deployment) -> None:
    plan = custom.run("deploy_app", name="shop")
    check_graph(plan)
    (task,) = plan.tasks
    assert task.key == "workflow:deploy_app"
    assert task.kind is executions.TaskKind.OPERATION
    assert task.operation == "workflow:deploy_app"
    assert task.node_instance_id is None
    expected = {
        "name": "shop",
        "count": 1,
        "flag": False,
        "ratio": 0.5,
        "nodes": [],
        "level": "low",
        "script_path": "scripts/deploy.sh",
    }
    assert dict(task.inputs) == expected
    assert dict(plan.parameters) == expected


def test_text_values_are_converted_to_declared_types(custom: Deployment) -> None:
    plan = custom.run("deploy_app", name="shop", count="3", flag="True", ratio="2")
    assert (plan.parameters["count"], plan.parameters["flag"], plan.parameters["ratio"]) == (
        3,
        True,
        2.0,
    )


def test_every_parameter_problem_is_reported_at_once(custom: Deployment) -> None:
    with pytest.raises(errors.InputError) as caught:
        custom.run("deploy_app", count="x", nodes=["ghost"], where="nowhere", level="mid", extra=1)
    problems = caught.value.problems
    assert len(problems) == 6, problems
    text = "\n".join(problems)
    for expected in (
        "needs parameter 'name'",
        "parameter 'count': 'x' is not an integer",
        "no node 'ghost'",
        "no node instance 'nowhere'",
        "parameter 'level'",
        "no parameter 'extra'",
    ):
        assert expected in text


def test_custom_parameters_pass_when_allowed(custom: Deployment) -> None:
    plan = planner.plan_workflow(
        "deploy_app",
        deployment=custom.plan,
        instances=custom.instances,
        parameters={"name": "shop", "extra": {"k": 1}},
        allow_custom_parameters=True,
    )
    assert plan.parameters["extra"] == {"k": 1}


def test_builtin_parameters_are_checked_too(custom: Deployment) -> None:
    with pytest.raises(errors.InputError, match="no node 'ghost'"):
        custom.run("install", node_ids=["ghost"])
    with pytest.raises(errors.InputError, match="'yes please' is not a boolean"):
        custom.run("uninstall", ignore_failure="yes please")


def test_a_blueprint_workflow_can_name_a_builtin_one(custom: Deployment) -> None:
    plan = custom.run("my_install")
    check_graph(plan)
    assert keys(plan) == keys(custom.run("install"))


def test_unknown_and_unsupported_workflows(custom: Deployment) -> None:
    with pytest.raises(errors.NotFoundError, match="no workflow 'deploy'"):
        custom.run("deploy")
    with pytest.raises(errors.UsageError, match=r"maps to myplugin\.tasks\.run"):
        custom.run("plugin_flow")
    with pytest.raises(errors.UsageError, match="does not run"):
        custom.run("install_new_agents")


def test_nodecellar(tmp_path: Path) -> None:
    """The corpus' nodecellar example, with empty stand-ins for its scripts."""
    corpus = Path("/work/shared/corpus/cloudify-blueprints")
    source = corpus / "cloudify-nodecellar-example"
    if not source.is_dir():
        pytest.skip("the blueprint corpus is not here")
    copy = tmp_path / "nodecellar"
    shutil.copytree(source, copy)
    for line in (corpus / "RESOURCES.tsv").read_text().splitlines():
        path = line.split("\t")[0]
        if path.startswith("cloudify-nodecellar-example/scripts/"):
            stand_in = tmp_path / "nodecellar" / path.split("/", 1)[1]
            stand_in.parent.mkdir(parents=True, exist_ok=True)
            stand_in.touch()
    dep = prepared(
        copy / "simple-blueprint.yaml",
        inputs={"host_ip": "10.0.0.5", "agent_user": "ubuntu", "agent_private_key_path": "k"},
        options=resolver.ParseOptions(plugin_paths=(str(corpus / "plugins"),)),
    )
    host, mongod, nodejs, app = (dep.one(n) for n in ("host", "mongod", "nodejs", "nodecellar"))
    install = dep.run("install")
    check_graph(install)
    assert waits_for(install, first(install, mongod), last(install, host))
    assert waits_for(install, first(install, nodejs), last(install, host))
    assert waits_for(install, first(install, app), last(install, mongod))
    assert waits_for(install, first(install, app), last(install, nodejs))
    assert f"{app}/rel1/preconfigure/target" in keys(install)
    postconfigure = install.task(f"{app}/rel0/postconfigure/target")
    assert postconfigure.target_instance_id == mongod
    assert not any(k.startswith(f"{host}/cloudify_agent") for k in keys(install))
    started = dep.with_states(dict.fromkeys((host, mongod, nodejs, app), InstanceState.STARTED))
    uninstall = started.run("uninstall")
    check_graph(uninstall)
    assert waits_for(uninstall, first(uninstall, host), last(uninstall, mongod))
    assert waits_for(uninstall, first(uninstall, mongod), last(uninstall, app))
    assert f"{app}/stop" in keys(uninstall)
