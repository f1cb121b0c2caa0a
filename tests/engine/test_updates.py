"""Updates, end to end on real parts: what runs, resume after a failed update, revert."""

from __future__ import annotations

import pathlib
import shutil
import sys
import textwrap

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn import errors
from cairn.dsl import parser
from cairn.model import executions, plan, runtime
from cairn.services import executions as execution_service
from cairn.services import updates
from cairn.services.manager import Manager

ES = executions.ExecutionStatus


def blueprint(
    folder: pathlib.Path, log: pathlib.Path, control: pathlib.Path, *, version: int
) -> pathlib.Path:
    """v1: db, app (depends on db), old. v2: db's size changes (it has an update operation:
    in place), app's version changes (none: reinstalled), old goes, cache comes."""

    def ops(*names: str) -> str:
        return textwrap.indent(support.lifecycle(log, control, *names), "      ")

    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "inputs:\n  size: {default: 1}\n"
        "node_types:\n"
        "  t.Db: {derived_from: cloudify.nodes.Root, properties: {size: {}}}\n"
        "  t.App: {derived_from: cloudify.nodes.Root, properties: {version: {}}}\n"
        "node_templates:\n"
        "  db:\n    type: t.Db\n    properties: {size: {get_input: size}}\n"
        f"    interfaces:\n{ops('create', 'update', 'delete')}\n"
        f"  app:\n    type: t.App\n    properties: {{version: {version}}}\n"
        f"    interfaces:\n{ops('create', 'delete')}\n"
        "    relationships: [{type: cloudify.relationships.depends_on, target: db}]\n"
    )
    if version == 1:
        body += (
            f"  old:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops('create', 'delete')}\n"
        )
    else:
        body += (
            f"  cache:\n    type: cloudify.nodes.Root\n    interfaces:\n{ops('create', 'delete')}\n"
            "    relationships: [{type: cloudify.relationships.connected_to, target: db}]\n"
        )
    return support.write_blueprint(folder, body)


def upload(manager: Manager, path: pathlib.Path, blueprint_id: str) -> None:
    shutil.copytree(path.parent, manager.blueprint_dir(blueprint_id))
    manager.store.put_blueprint(
        runtime.Blueprint(
            id=blueprint_id,
            main_file=path.name,
            plan=plan.to_json(parser.parse_path(path)),
            created_at=manager.clock.now(),
        )
    )


@pytest.fixture
def installed(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> pathlib.Path:
    log, control = files
    support.deploy(manager, blueprint(tmp_path / "v1", log, control, version=1))
    upload(manager, blueprint(tmp_path / "v2", log, control, version=2), "v2")
    assert support.run(manager, "install").status is ES.SUCCEEDED
    log.unlink()
    return log


def ids(manager: Manager) -> dict[str, str]:
    return {i.node_id: i.id for i in manager.store.list_instances("dep")}


def test_update_runs_only_what_changed(manager: Manager, installed: pathlib.Path) -> None:
    before = ids(manager)
    started = updates.update(
        manager, deployment_id="dep", blueprint_id="v2", inputs={"size": 2}, user="alice"
    )
    assert started.preview.to_revision == 2
    done = support.wait_for(manager, started.execution.id)
    assert done.status is ES.SUCCEEDED, done.error
    ran = support.log_lines(installed)
    ops = {(i.split("_")[0], o.rsplit(".", 1)[1]) for i, o in ran}
    assert ops == {
        ("old", "delete"),
        ("app", "delete"),
        ("app", "create"),
        ("cache", "create"),
        ("db", "update"),
    }
    # order: removed first, then installed, then updated in place
    assert support.first_index(ran, "old", "delete") < support.first_index(ran, "cache", "create")
    assert support.first_index(ran, "app", "create") < support.first_index(ran, "db", "update")
    after = ids(manager)
    assert set(after) == {"db", "app", "cache"}
    assert after["db"] == before["db"] and after["app"] == before["app"]
    assert {str(i.state) for i in manager.store.list_instances("dep")} == {"started"}
    deployment = manager.store.get_deployment("dep")
    assert (deployment.revision, deployment.blueprint_id, deployment.inputs["size"]) == (2, "v2", 2)
    history = updates.history(manager, "dep")
    assert [(r.revision, r.status, r.created_by) for r in history] == [
        (1, "applied", "admin"),
        (2, "applied", "alice"),
    ]
    assert history[1].execution_id == started.execution.id


def test_a_failed_update_resumes_and_then_applies(
    manager: Manager, installed: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    _, control = files
    (control / "fail-db-update").touch()
    started = updates.update(manager, deployment_id="dep", blueprint_id="v2", inputs={"size": 3})
    failed = support.wait_for(manager, started.execution.id)
    assert failed.status is ES.FAILED
    assert manager.store.get_deployment("dep").revision == 1
    assert manager.store.get_revision("dep", 2).status == "failed"
    with pytest.raises(errors.ConflictError, match="resume execution"):
        updates.update(manager, deployment_id="dep", blueprint_id="v2")
    (control / "fail-db-update").unlink()
    installed.unlink()
    execution_service.resume(manager, started.execution.id)
    done = support.wait_for(manager, started.execution.id)
    assert done.status is ES.SUCCEEDED, done.error
    # only the failed update ran again; what had succeeded did not
    assert [o.rsplit(".", 1)[1] for _, o in support.log_lines(installed)] == ["update"]
    assert manager.store.get_deployment("dep").revision == 2
    assert manager.store.get_revision("dep", 2).status == "applied"


def test_revert_returns_to_the_revision_before(manager: Manager, installed: pathlib.Path) -> None:
    first = ids(manager)
    started = updates.update(manager, deployment_id="dep", blueprint_id="v2")
    assert support.wait_for(manager, started.execution.id).status is ES.SUCCEEDED
    installed.unlink()
    back = updates.revert(manager, deployment_id="dep")
    assert back.preview.to_revision == 3
    assert support.wait_for(manager, back.execution.id).status is ES.SUCCEEDED
    ops = {(i.split("_")[0], o.rsplit(".", 1)[1]) for i, o in support.log_lines(installed)}
    assert ("cache", "delete") in ops and ("old", "create") in ops
    assert set(ids(manager)) == set(first)
    deployment = manager.store.get_deployment("dep")
    assert (deployment.revision, deployment.blueprint_id) == (3, "dep-bp")
    with pytest.raises(errors.NotFoundError, match="no revision 9"):
        updates.revert(manager, deployment_id="dep", to=9)
    with pytest.raises(errors.ConflictError, match="at already"):
        updates.revert(manager, deployment_id="dep", to=3)


def test_bad_updates_are_refused_and_change_nothing(
    manager: Manager, installed: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    with pytest.raises(errors.NotFoundError, match="blueprint 'nope'"):
        updates.update(manager, deployment_id="dep", blueprint_id="nope")
    with pytest.raises(errors.InputError) as raised:
        updates.update(
            manager, deployment_id="dep", blueprint_id="v2", inputs={"size": 1, "bogus": 1, "x": 2}
        )
    assert len(raised.value.problems) >= 2
    with pytest.raises(errors.NotFoundError, match="deployment 'ghost'"):
        updates.update(manager, deployment_id="ghost", blueprint_id="v2")
    (files[1] / "sleep-db-create").write_text("2")
    busy = execution_service_start(manager)
    with pytest.raises(errors.ConflictError, match="active or queued"):
        updates.update(manager, deployment_id="dep", blueprint_id="v2")
    support.wait_for(manager, busy.id)
    assert [r.revision for r in manager.store.list_revisions("dep")] == [1]
    assert set(ids(manager)) == {"db", "app", "old"}
    assert [e.workflow_id for e in manager.store.list_executions(deployment_id="dep")] == [
        "install",
        "execute_operation",
    ]


def test_preview_runs_nothing(manager: Manager, installed: pathlib.Path) -> None:
    shown = updates.preview(manager, deployment_id="dep", blueprint_id="v2").to_json()
    assert (shown["from_revision"], shown["to_revision"]) == (1, 2)
    assert {"what": "node", "name": "cache", "change": "added"} in shown["changes"]
    assert shown["steps"][-1]["key"] == "apply"
    assert not installed.exists()
    assert [r.revision for r in manager.store.list_revisions("dep")] == [1]


def execution_service_start(manager: Manager) -> executions.Execution:
    return execution_service.start(
        manager,
        deployment_id="dep",
        workflow_id="execute_operation",
        parameters={"operation": "cloudify.interfaces.lifecycle.create", "node_ids": ["db"]},
    )
