"""examples/drift-file, as docs/drift.md runs it: install, edit the file, check_drift shows
what differs, the update operation puts it back (reading ``ctx instance drift``), a second
check is clean; a deleted file fails check_status and heal reinstalls it."""

from __future__ import annotations

import pathlib

import engine_support as support

from cairn.model import executions
from cairn.services import drift as drift_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "drift-file" / "blueprint.yaml"


def test_the_drift_example_detects_and_corrects(manager: Manager, tmp_path: pathlib.Path) -> None:
    dep = f"dep-{tmp_path.name}"
    support.deploy(manager, EXAMPLE, deployment_id=dep)
    assert support.run(manager, "install", deployment_id=dep).status is ES.SUCCEEDED
    (instance,) = manager.store.list_instances(dep)
    path = pathlib.Path(str(instance.runtime_properties["path"]))
    assert path.read_text() == "greeting = hello"
    assert support.run(manager, "check_drift", deployment_id=dep).status is ES.SUCCEEDED
    assert drift_service.summary(manager, dep).summary.drifted is False

    path.write_text("greeting = hacked\n")
    path.chmod(0o600)
    assert support.run(manager, "check_drift", deployment_id=dep).status is ES.SUCCEEDED
    _, (config,) = drift_service.show(manager, dep)
    assert config.drifted and set(config.differences) == {"content_sha256", "mode"}
    assert config.differences["mode"] == {"expected": "644", "actual": "600"}

    fixed = support.run(
        manager,
        "execute_operation",
        deployment_id=dep,
        operation="cloudify.interfaces.lifecycle.update",
    )
    assert fixed.status is ES.SUCCEEDED, fixed.error
    assert path.read_text() == "greeting = hello" and oct(path.stat().st_mode)[-3:] == "644"
    assert support.run(manager, "check_drift", deployment_id=dep).status is ES.SUCCEEDED
    assert drift_service.summary(manager, dep).summary.drifted is False

    path.unlink()
    assert support.run(manager, "check_status", deployment_id=dep).status is ES.FAILED
    assert drift_service.summary(manager, dep).summary.status_failed
    assert support.run(manager, "heal", deployment_id=dep).status is ES.SUCCEEDED
    assert path.read_text() == "greeting = hello"
    assert support.run(manager, "uninstall", deployment_id=dep).status is ES.SUCCEEDED
    assert not path.exists()
