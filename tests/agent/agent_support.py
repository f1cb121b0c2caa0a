"""A real manager (engine, SQLite file, uvicorn) and real agent processes, for agent tests."""

from __future__ import annotations

import contextlib
import json
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import http_serving
from cairn.api import app as app_mod
from cairn.engine import executor
from cairn.model import executions, runtime
from cairn.services import archives, blueprints, deployments, sites
from cairn.services import executions as execution_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
Role = runtime.Role

# Each run of an operation appends "<operation> <instance> <pid>" to $MARKS/runs.log, so a
# test counts how often each operation ran (and where); $PAUSE seconds of sleep make it long.
STEP = """\
#!/bin/sh
echo "$OP $(ctx instance id) $$" >> "$MARKS/runs.log"
if [ "${PAUSE:-0}" != "0" ]; then sleep "$PAUSE"; fi
ctx logger info "did $OP at the site"
ctx instance runtime-properties "$OP" done
echo "stdout of $OP"
"""

BLUEPRINT = """\
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
inputs:
  marks: {type: string}
  pause: {type: integer, default: 0}
node_templates:
  host:
    type: cloudify.nodes.Compute
    properties:
      ip: 127.0.0.1
      agent_config: {install_method: none}
  app:
    type: cloudify.nodes.ApplicationServer
    relationships:
      - {type: cloudify.relationships.contained_in, target: host}
    interfaces:
      cloudify.interfaces.lifecycle:
%s
"""


def lifecycle_ops(*ops: str, pause_on: str = "create", timeout: int = 600) -> str:
    lines = []
    for op in ops:
        pause = "{get_input: pause}" if op == pause_on else "0"
        lines += [
            f"        {op}:",
            "          implementation: scripts/step.sh",
            f"          timeout: {timeout}",
            "          retry_interval: 1",
            f"          inputs: {{OP: {op}, MARKS: {{get_input: marks}}, PAUSE: {pause}}}",
        ]
    return "\n".join(lines)


def write_blueprint(folder: pathlib.Path, *ops: str, timeout: int = 600) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scripts").mkdir(exist_ok=True)
    (folder / "scripts" / "step.sh").write_text(STEP)
    (folder / "scripts" / "step.sh").chmod(0o755)
    ops = ops or ("create", "configure", "start")
    (folder / "blueprint.yaml").write_text(BLUEPRINT % lifecycle_ops(*ops, timeout=timeout))
    return folder


def runs(marks: pathlib.Path) -> list[tuple[str, str]]:
    """(operation, instance) of every run recorded in ``marks``."""
    log = marks / "runs.log"
    if not log.exists():
        return []
    return [tuple(line.split()[:2]) for line in log.read_text().splitlines()]  # type: ignore[misc]


def wait_for(check: Callable[[], Any], *, timeout: float = 60.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Fleet:
    """One manager served over HTTP, sites with tokens, and agent processes."""

    def __init__(
        self,
        root: pathlib.Path,
        *,
        settings: executor.Settings | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.root = root
        self.tls = tls
        self.settings = settings or executor.Settings(lease_seconds=5)
        self.manager: Manager | None = None
        self.url: str | None = None
        self.port = 0
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self._serving: contextlib.ExitStack | None = None

    # -- the manager ----------------------------------------------------------------------

    def start_manager(self) -> Manager:
        self.manager = Manager.open(self.root / "manager", settings=self.settings)
        stack = contextlib.ExitStack()
        self.url = stack.enter_context(
            http_serving.serving(app_mod.create_app(self.manager), port=self.port, tls=self.tls)
        )
        self.port = int(self.url.rsplit(":", 1)[1])
        self._serving = stack
        return self.manager

    def stop_manager(self) -> None:
        if self._serving is not None:
            self._serving.close()
            self._serving = None
        if self.manager is not None:
            self.manager.close()
            self.manager = None

    @property
    def m(self) -> Manager:
        assert self.manager is not None
        return self.manager

    # -- sites and agents -------------------------------------------------------------------

    def add_site(self, name: str) -> pathlib.Path:
        sites.create(self.m, name=name, location=sites.Location(latitude=48.1, longitude=11.6))
        return self.new_token(name)

    def new_token(self, name: str) -> pathlib.Path:
        issued = sites.token(self.m, name)
        path = self.root / f"{name}.token"
        path.write_text(issued.value + "\n")
        return path

    def agent_dir(self, name: str) -> pathlib.Path:
        return self.root / "agents" / name

    def start_agent(
        self, name: str, *, url: str | None = None, extra: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "cairn.agent",
            "run",
            "--manager",
            url or str(self.url),
            "--site",
            name,
            "--token-file",
            str(self.root / f"{name}.token"),
            "--data-dir",
            str(self.agent_dir(name)),
            "--poll-wait",
            "2",
            "--backoff-max",
            "0.5",
            *extra,
        ]
        log = open(self.root / f"agent-{name}.log", "ab")  # noqa: SIM115  # closed with the process
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.agents[name] = process
        return process

    def kill_agent(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.agents.pop(name)
        process.send_signal(sig)
        process.wait(timeout=20)

    def agent_log(self, name: str) -> str:
        return (self.root / f"agent-{name}.log").read_text(errors="replace")

    def journal(self, name: str) -> list[dict[str, Any]]:
        folder = str(self.agent_dir(name))
        out = subprocess.run(
            [sys.executable, "-m", "cairn.agent", "journal", "-o", "json", "--data-dir", folder],
            check=True,
            capture_output=True,
        )
        return list(json.loads(out.stdout))

    def close(self) -> None:
        for name in list(self.agents):
            self.kill_agent(name, signal.SIGTERM)
        self.stop_manager()

    # -- blueprints, deployments, executions ------------------------------------------------

    def upload(self, blueprint_id: str, folder: pathlib.Path) -> None:
        blueprints.upload(self.m, blueprint_id=blueprint_id, data=archives.pack(folder))

    def deploy(
        self, deployment_id: str, blueprint_id: str, *, site: str, inputs: Mapping[str, Any]
    ) -> None:
        deployments.create(
            self.m,
            deployment_id=deployment_id,
            blueprint_id=blueprint_id,
            inputs=dict(inputs),
            site=site,
        )

    def start(self, deployment_id: str, workflow: str = "install") -> executions.Execution:
        return execution_service.start(self.m, deployment_id=deployment_id, workflow_id=workflow)

    def wait_ended(self, execution_id: str, *, timeout: float = 90.0) -> executions.Execution:
        def ended() -> executions.Execution | None:
            found = self.m.store.get_execution(execution_id)
            return found if found.status in executions.ENDED else None

        return wait_for(ended, timeout=timeout, what=f"execution {execution_id} to end")  # type: ignore[no-any-return]

    def events(self, execution_id: str) -> list[runtime.Event]:
        return self.m.store.list_events(execution_id=execution_id, limit=100000)
