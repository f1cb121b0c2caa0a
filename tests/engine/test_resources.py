"""The web-drift example end to end on the ``local`` site: built-in resource types installed
by the engine, drift and ill health found exactly, corrected by update, undone by uninstall."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn.model import executions
from cairn.plugins.resources import services
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "web-drift"
DRIFT = "cloudify.interfaces.lifecycle.check_drift"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node_results(manager: Manager, execution_id: str) -> dict[str, Any]:
    """Each node's operation result in an execute_operation run (one instance per node)."""
    found = {}
    for task in manager.store.list_tasks(execution_id):
        if task.spec.node_instance_id and task.spec.operation:
            found[task.spec.node_instance_id.rsplit("_", 1)[0]] = task.result
    return found


def drift(manager: Manager) -> dict[str, Any]:
    execution = support.run(manager, "execute_operation", operation=DRIFT)
    assert execution.status is ES.SUCCEEDED, execution.error
    return {
        node: result["differences"]
        for node, result in node_results(manager, execution.id).items()
        if result["drifted"]
    }


def instance(manager: Manager, node_id: str) -> Any:
    return next(i for i in manager.store.list_instances("dep") if i.node_id == node_id)


@pytest.fixture
def web(tmp_path: pathlib.Path, manager: Manager) -> Iterator[tuple[pathlib.Path, int]]:
    """The example deployed (not installed) with its own folder and a free port."""
    folder = tmp_path / "bp"
    shutil.copytree(EXAMPLE, folder)
    root, port = tmp_path / "www", free_port()
    support.deploy(manager, folder / "blueprint.yaml", inputs={"root": str(root), "port": port})
    try:
        yield root, port
    finally:
        pid = instance(manager, "web").runtime_properties.get("pid")
        if isinstance(pid, int) and pid > 1:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def test_web_drift_is_installed_checked_corrected_and_uninstalled(
    manager: Manager, web: tuple[pathlib.Path, int]
) -> None:
    root, port = web
    assert support.run(manager, "install").status is ES.SUCCEEDED
    page = root / "index.html"
    assert "<h1>Hello from Cairn</h1>" in page.read_text()
    assert f"served from {root}" in page.read_text()
    web_props = instance(manager, "web").runtime_properties
    assert web_props["port"] == port and isinstance(web_props["pid"], int)
    assert instance(manager, "page").runtime_properties["mode"] == "0644"
    assert drift(manager) == {}
    assert support.run(manager, "check_status").status is ES.SUCCEEDED
    assert all(i.system_properties["status"]["ok"] for i in manager.store.list_instances("dep"))

    # someone edits the page: the file and the HTTP check drift, nothing else
    declared = instance(manager, "page").runtime_properties["content_sha256"]
    page.write_text("<h1>defaced</h1>\n")
    found = drift(manager)
    assert set(found) == {"page", "check"}
    assert found["page"]["content_sha256"]["expected"] == declared
    assert set(found["page"]) == {"content_sha256"}
    assert set(found["check"]) == {"body"}
    corrected = support.run(manager, "execute_operation", operation="update", node_ids=["page"])
    assert corrected.status is ES.SUCCEEDED, corrected.error
    assert drift(manager) == {}

    # the server is killed: the service is unhealthy, and so is the check
    os.killpg(web_props["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        services.alive(web_props["pid"], None) or services.listening("127.0.0.1", port)
    ):
        time.sleep(0.05)
    assert support.run(manager, "check_status").status is ES.FAILED
    statuses = {
        i.node_id: i.system_properties["status"]["ok"] for i in manager.store.list_instances("dep")
    }
    assert statuses == {"site_root": True, "page": True, "web": False, "check": False}
    found = drift(manager)
    assert set(found) == {"web", "check"}
    assert set(found["web"]) == {"process", "port"}
    assert found["check"]["status"]["actual"].startswith("unreachable")
    restarted = support.run(manager, "execute_operation", operation="update", node_ids=["web"])
    assert restarted.status is ES.SUCCEEDED, restarted.error
    assert instance(manager, "web").runtime_properties["pid"] != web_props["pid"]
    assert support.run(manager, "check_status").status is ES.SUCCEEDED
    assert drift(manager) == {}

    new_pid = instance(manager, "web").runtime_properties["pid"]
    assert support.run(manager, "uninstall").status is ES.SUCCEEDED
    assert not root.exists()
    assert not services.alive(new_pid, None)


def test_a_bad_property_fails_the_install_with_a_clear_error_and_writes_nothing(
    manager: Manager, tmp_path: pathlib.Path
) -> None:
    folder = tmp_path / "bp"
    shutil.copytree(EXAMPLE, folder)
    text = (folder / "blueprint.yaml").read_text().replace("mode: '0644'", "mode: 'rw-r--r--'")
    (folder / "blueprint.yaml").write_text(text)
    root = tmp_path / "www"
    support.deploy(manager, folder / "blueprint.yaml", inputs={"root": str(root)})
    execution = support.run(manager, "install")
    assert execution.status is ES.FAILED
    assert "property 'mode' must be an octal string like '0644'" in str(execution.error)
    assert not (root / "index.html").exists()
    assert instance(manager, "web").runtime_properties == {}
