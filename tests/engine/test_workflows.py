"""Built-in and custom workflows, run end to end by the engine on real parts."""

from __future__ import annotations

import pathlib
import sys
import textwrap

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn.model import executions
from cairn.services import executions as execution_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus


def web_blueprint(tmp_path: pathlib.Path, log: pathlib.Path, control: pathlib.Path) -> pathlib.Path:
    """A host with a web server in it, scalable as a group, plus a custom script workflow."""
    ops = textwrap.indent(
        support.lifecycle(log, control, "create", "configure", "start", "stop", "delete"), "      "
    )
    (tmp_path / "bp").mkdir(parents=True, exist_ok=True)
    (tmp_path / "bp" / "hello.sh").write_text(f'#!/bin/sh\necho "workflow $greeting" >> {log}\n')
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "node_templates:\n"
        f"  vm:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops}\n"
        f"  web:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops}\n"
        "      cloudify.interfaces.validation:\n"
        "        check_status:\n"
        "          implementation: scripts/record.sh\n"
        f"          inputs: {{LOG: '{log}', CONTROL: '{control}'}}\n"
        "    relationships:\n      - {type: cloudify.relationships.contained_in, target: vm}\n"
        "groups:\n  pair: {members: [vm, web]}\n"
        "policies:\n  pair_scaling:\n    type: cloudify.policies.scaling\n"
        "    properties: {default_instances: 1}\n    targets: [pair]\n"
        "workflows:\n  greet:\n    mapping: hello.sh\n    parameters:\n      greeting: {default: hi}\n"
    )
    return support.write_blueprint(tmp_path / "bp", body)


def test_scale_out_then_in(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    assert support.run(manager, "install").status is ES.SUCCEEDED
    out = support.run(manager, "scale", scalable_entity_name="pair", delta=2)
    assert out.status is ES.SUCCEEDED, out.error
    instances = manager.store.list_instances("dep")
    assert sorted(i.node_id for i in instances) == ["vm", "vm", "vm", "web", "web", "web"]
    assert {str(i.state) for i in instances} == {"started"}
    vms = {i.id for i in instances if i.node_id == "vm"}
    containers = [i.relationships[0]["target_id"] for i in instances if i.node_id == "web"]
    assert sorted(containers) == sorted(vms)  # one web in each vm

    scaled_in = support.run(manager, "scale", scalable_entity_name="pair", delta=-2)
    assert scaled_in.status is ES.SUCCEEDED, scaled_in.error
    left = manager.store.list_instances("dep")
    assert sorted(i.node_id for i in left) == ["vm", "web"]
    assert {str(i.state) for i in left} == {"started"}


def test_rollback_returns_half_done_instances_to_their_last_good_state(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    (control / "fail-web-configure").touch()
    assert support.run(manager, "install").status is ES.FAILED
    assert support.states(manager) == {"vm": "started", "web": "configuring"}
    rolled = support.run(manager, "rollback")
    assert rolled.status is ES.SUCCEEDED, rolled.error
    assert support.states(manager) == {"vm": "started", "web": "uninitialized"}
    (control / "fail-web-configure").unlink()
    assert support.run(manager, "install").status is ES.SUCCEEDED
    assert support.states(manager) == {"vm": "started", "web": "started"}


def test_check_status_records_each_instance_result(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    assert support.run(manager, "install").status is ES.SUCCEEDED
    assert support.run(manager, "check_status").status is ES.SUCCEEDED
    web = next(i for i in manager.store.list_instances("dep") if i.node_id == "web")
    assert web.system_properties["status"]["ok"] is True
    (control / "fail-web-check_status").touch()
    assert support.run(manager, "check_status").status is ES.FAILED
    web = next(i for i in manager.store.list_instances("dep") if i.node_id == "web")
    assert web.system_properties["status"]["ok"] is False


def test_execute_operation_runs_one_operation_where_asked(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    assert support.run(manager, "install").status is ES.SUCCEEDED
    log.unlink()
    result = support.run(
        manager,
        "execute_operation",
        operation="cloudify.interfaces.lifecycle.configure",
        node_ids=["web"],
    )
    assert result.status is ES.SUCCEEDED, result.error
    assert [op for _, op in support.log_lines(log)] == ["cloudify.interfaces.lifecycle.configure"]


def test_custom_script_workflow_gets_its_parameters(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    result = support.run(manager, "greet", greeting="hello")
    assert result.status is ES.SUCCEEDED, result.error
    assert log.read_text().splitlines() == ["workflow hello"]


def test_unknown_workflow_and_bad_parameters_are_refused_and_store_nothing(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    from cairn import errors

    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    with pytest.raises(errors.NotFoundError):
        execution_service.start(manager, deployment_id="dep", workflow_id="nope")
    with pytest.raises(errors.InputError):
        execution_service.start(
            manager, deployment_id="dep", workflow_id="scale", parameters={"delta": "x"}
        )
    assert execution_service.list_(manager, deployment_id="dep") == []


def test_secrets_reach_the_operation_but_never_events(
    manager: Manager, tmp_path: pathlib.Path
) -> None:
    from cairn.model import runtime
    from cairn.services import auth, secrets

    admin = auth.Caller(token_id="test", role=runtime.Role.ADMIN)
    secrets.create(manager, name="db_password", value="s3cr3t-Value", caller=admin)
    folder = tmp_path / "secret-bp"
    folder.mkdir()
    (folder / "show.sh").write_text(
        '#!/bin/sh\necho "password is $PASSWORD"\necho "to stderr $PASSWORD" >&2\n'
        'ctx logger info "logged $PASSWORD"\nctx instance runtime-properties seen yes\n'
    )
    (folder / "show.sh").chmod(0o755)
    path = support.write_blueprint(
        folder,
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "node_templates:\n"
        "  app:\n    type: cloudify.nodes.Root\n    interfaces:\n      cloudify.interfaces.lifecycle:\n"
        "        create:\n          implementation: show.sh\n"
        "          inputs: {PASSWORD: {get_secret: db_password}}\n",
    )
    support.deploy(manager, path)
    result = support.run(manager, "install")
    assert result.status is ES.SUCCEEDED, result.error
    events = execution_service.events(manager, execution_id=result.id)
    messages = "\n".join(e.message for e in events)
    assert "password is" in messages and "to stderr" in messages and "logged" in messages
    assert "s3cr3t-Value" not in messages
    assert "s3cr3t-Value" not in repr(manager.store.list_tasks(result.id))
    assert {e.context.get("stream") for e in events if e.type == "log"} >= {"stdout", "stderr"}


def test_scale_is_refused_while_another_execution_is_active_and_changes_nothing(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    from cairn import errors

    log, control = files
    support.deploy(manager, web_blueprint(tmp_path, log, control))
    (control / "sleep-vm-create").write_text("1")
    install = execution_service.start(manager, deployment_id="dep", workflow_id="install")
    for queue in (False, True):
        with pytest.raises(errors.ConflictError, match="scale"):
            execution_service.start(
                manager,
                deployment_id="dep",
                workflow_id="scale",
                parameters={"scalable_entity_name": "pair", "delta": 1},
                queue=queue,
            )
    assert len(manager.store.list_instances("dep")) == 2  # nothing added
    assert support.wait_for(manager, install.id).status is ES.SUCCEEDED
    assert [e.id for e in execution_service.list_(manager, deployment_id="dep")] == [install.id]
