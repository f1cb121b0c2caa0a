"""Built-in resource types at a site: the web-drift example installed, checked and corrected
by a real agent process, with the service running in the agent's process tree."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import ES, Fleet

from cairn.plugins.resources import services
from cairn.services import executions as execution_service

pytestmark = pytest.mark.integration
EXAMPLE = pathlib.Path(__file__).parents[2] / "examples" / "web-drift"
DRIFT = "cloudify.interfaces.lifecycle.check_drift"


@pytest.fixture
def fleet(tmp_path: pathlib.Path) -> Iterator[Fleet]:
    started = Fleet(tmp_path)
    started.start_manager()
    try:
        yield started
    finally:
        started.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(fleet: Fleet, workflow: str, **parameters: Any) -> Any:
    execution = execution_service.start(
        fleet.m, deployment_id="w1", workflow_id=workflow, parameters=parameters
    )
    return fleet.wait_ended(execution.id)


def _instance(fleet: Fleet, node_id: str) -> Any:
    return next(i for i in fleet.m.store.list_instances("w1") if i.node_id == node_id)


def _drifted(fleet: Fleet) -> dict[str, Any]:
    ended = _run(fleet, "execute_operation", operation=DRIFT)
    assert ended.status is ES.SUCCEEDED, ended.error
    found = {}
    for task in fleet.m.store.list_tasks(ended.id):
        if task.spec.operation == DRIFT and task.result["drifted"]:
            found[task.spec.node_instance_id.rsplit("_", 1)[0]] = task.result["differences"]
    return found


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        return int(handle.read().rpartition(")")[2].split()[1])


def test_resources_run_at_the_agent_and_their_drift_is_found_and_corrected(
    fleet: Fleet, tmp_path: pathlib.Path
) -> None:
    fleet.upload("web-drift", EXAMPLE)
    fleet.add_site("edge-1")
    agent = fleet.start_agent("edge-1")
    root, port = tmp_path / "www", _free_port()
    fleet.deploy("w1", "web-drift", site="edge-1", inputs={"root": str(root), "port": port})
    pid = 0
    try:
        installed = fleet.wait_ended(fleet.start("w1").id)
        assert installed.status is ES.SUCCEEDED, (installed.error, fleet.agent_log("edge-1"))
        web = _instance(fleet, "web").runtime_properties
        pid = web["pid"]
        # started by the agent, logging under the agent's data folder
        assert _ppid(pid) == agent.pid
        assert web["log"].startswith(str(fleet.agent_dir("edge-1")))
        assert _drifted(fleet) == {}

        (root / "index.html").write_text("<h1>changed at the site</h1>\n")
        found = _drifted(fleet)
        assert set(found) == {"page", "check"}
        assert set(found["page"]) == {"content_sha256"}
        fixed = _run(fleet, "execute_operation", operation="update", node_ids=["page"])
        assert fixed.status is ES.SUCCEEDED, fixed.error
        assert "<h1>Hello from Cairn</h1>" in (root / "index.html").read_text()

        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            services.alive(pid, None) or services.listening("127.0.0.1", port)
        ):
            time.sleep(0.05)
        assert _run(fleet, "check_status").status is ES.FAILED
        assert not _instance(fleet, "web").system_properties["status"]["ok"]
        restarted = _run(fleet, "execute_operation", operation="update", node_ids=["web"])
        assert restarted.status is ES.SUCCEEDED, restarted.error
        pid = _instance(fleet, "web").runtime_properties["pid"]
        assert _run(fleet, "check_status").status is ES.SUCCEEDED
        assert _drifted(fleet) == {}

        removed = _run(fleet, "uninstall")
        assert removed.status is ES.SUCCEEDED, removed.error
        assert not root.exists()
        assert not services.alive(pid, None)
        # every attempt went through the agent's journal and was accepted
        journal = fleet.journal("edge-1")
        assert journal and {(e["outcome"], e["verdict"]) for e in journal} <= {
            ("succeeded", "accepted"),
            ("non_recoverable", "accepted"),
        }
    finally:
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
