"""Helpers for engine tests: real blueprints, a real store, the real local connector."""

from __future__ import annotations

import datetime
import pathlib
import shutil
import textwrap
import time
from collections.abc import Mapping
from typing import Any

from cairn.dsl import deployment as dsl_deployment
from cairn.dsl import parser
from cairn.model import deployment as model_deployment
from cairn.model import executions, plan, runtime
from cairn.services import executions as execution_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus

# A script that records each run in $LOG (one line: "<instance> <operation>") and can be
# told to fail or to ask for a retry through files in $CONTROL.
RECORD = """\
#!/bin/sh
echo "$(ctx instance id) $(ctx operation name)" >> "$LOG"
name=$(ctx node name)
op=$(ctx operation name | sed 's/.*\\.//')
if [ -f "$CONTROL/fail-$name-$op" ]; then
  echo "failing on purpose" >&2
  exit 1
fi
if [ -f "$CONTROL/retry-$name-$op" ]; then
  interval=$(cat "$CONTROL/retry-$name-$op")
  rm -f "$CONTROL/retry-$name-$op"
  if [ -n "$interval" ]; then
    ctx operation retry "not ready yet" "$interval"
  else
    ctx operation retry "not ready yet"
  fi
  exit 0
fi
if [ -f "$CONTROL/sleep-$name-$op" ]; then
  sleep "$(cat "$CONTROL/sleep-$name-$op")"
fi
ctx instance runtime-properties "done_$op" true
"""


def write_blueprint(folder: pathlib.Path, body: str) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    scripts = folder / "scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "record.sh").write_text(RECORD)
    (scripts / "record.sh").chmod(0o755)
    path = folder / "blueprint.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def lifecycle(log: pathlib.Path, control: pathlib.Path, *ops: str) -> str:
    """A lifecycle interface whose ops all run scripts/record.sh with LOG and CONTROL set."""
    lines = ["cloudify.interfaces.lifecycle:"]
    for op in ops:
        lines.append(f"  {op}:")
        lines.append("    implementation: scripts/record.sh")
        lines.append(f"    inputs: {{LOG: '{log}', CONTROL: '{control}'}}")
    return "\n".join(lines)


def deploy(
    manager: Manager,
    blueprint_path: pathlib.Path,
    *,
    deployment_id: str = "dep",
    inputs: Mapping[str, Any] | None = None,
) -> runtime.Deployment:
    """Store a blueprint and a deployment the way the services do, without HTTP."""
    parsed = parser.parse_path(blueprint_path)
    prepared = dsl_deployment.prepare(parsed, inputs or {})
    now = manager.clock.now()
    blueprint_id = f"{deployment_id}-bp"
    folder = manager.blueprint_dir(blueprint_id)
    shutil.copytree(blueprint_path.parent, folder)
    manager.store.put_blueprint(
        runtime.Blueprint(
            id=blueprint_id,
            main_file=blueprint_path.name,
            plan=plan.to_json(parsed),
            created_at=now,
        )
    )
    record = runtime.Deployment(
        id=deployment_id,
        blueprint_id=blueprint_id,
        inputs=dict(prepared.inputs),
        plan=model_deployment.to_json(prepared),
        created_at=now,
    )
    instances = [
        runtime.NodeInstance(
            id=i.id,
            deployment_id=deployment_id,
            node_id=i.node_id,
            host_id=i.host_id,
            state=runtime.InstanceState.UNINITIALIZED,
            runtime_properties={},
            relationships=tuple(
                {"type": r.type, "target_id": r.target_id, "target_name": r.target_name}
                for r in i.relationships
            ),
            scaling_groups=tuple({"name": g.name, "id": g.id} for g in i.scaling_groups),
        )
        for i in prepared.node_instances
    ]
    manager.store.create_deployment(record, instances)
    return record


def wait_for(
    manager: Manager,
    execution_id: str,
    *,
    statuses: frozenset[ES] = executions.ENDED,
    seconds: float = 60,
) -> executions.Execution:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        execution = execution_service.get(manager, execution_id)
        if execution.status in statuses:
            return execution
        time.sleep(0.05)
    raise AssertionError(f"execution {execution_id} still {execution.status} after {seconds}s")


def run(
    manager: Manager, workflow: str, *, deployment_id: str = "dep", **parameters: Any
) -> executions.Execution:
    execution = execution_service.start(
        manager, deployment_id=deployment_id, workflow_id=workflow, parameters=parameters
    )
    return wait_for(manager, execution.id)


def log_lines(log: pathlib.Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in log.read_text().splitlines()]  # type: ignore[misc]


def states(manager: Manager, deployment_id: str = "dep") -> dict[str, str]:
    return {i.node_id: str(i.state) for i in manager.store.list_instances(deployment_id)}


def first_index(lines: list[tuple[str, str]], node: str, op: str) -> int:
    for index, (instance, operation) in enumerate(lines):
        if instance.startswith(f"{node}_") and operation.endswith(f".{op}"):
            return index
    raise AssertionError(f"{node} {op} never ran: {lines}")


def utc(seconds: float = 0) -> datetime.datetime:
    return datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=seconds)
