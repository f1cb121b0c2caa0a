"""Kill -9 the manager during the install of a 50-node blueprint, again and again: each time
``cairn up`` starts again, the execution continues by itself, ends succeeded, and no
operation that succeeded ran a second time (the scripts count their own runs)."""

from __future__ import annotations

import pathlib
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support

from cairn.model import executions
from cairn.services import executions as execution_service
from cairn.services.manager import Manager

ES = executions.ExecutionStatus
NODES = 50
CAIRN = pathlib.Path(sys.executable).with_name("cairn")


def _blueprint(folder: pathlib.Path, log: pathlib.Path, control: pathlib.Path) -> pathlib.Path:
    ops = support.lifecycle(log, control, "create", "configure", "start")
    indented = "\n".join("      " + line for line in ops.splitlines())
    templates = []
    for index in range(NODES):
        rel = ""
        if index:
            target = f"n{(index - 1) // 2}"
            kind = "contained_in" if index % 3 == 0 else "depends_on"
            rel = f"    relationships:\n      - {{type: cloudify.relationships.{kind}, target: {target}}}\n"
        templates.append(
            f"  n{index}:\n    type: cloudify.nodes.Root\n    interfaces:\n{indented}\n{rel}"
        )
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "node_templates:\n" + "".join(templates)
    )
    return support.write_blueprint(folder, body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(data_dir: pathlib.Path, port: int, log: pathlib.Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(CAIRN), "up", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_kill9_of_the_manager_loses_nothing_and_repeats_nothing(tmp_path: pathlib.Path) -> None:
    if not CAIRN.exists():
        pytest.skip("the cairn console script is not installed next to this Python")
    log, control = tmp_path / "ops.log", tmp_path / "control"
    control.mkdir()
    for index in range(0, NODES, 7):  # some operations take a while, so kills land mid-script
        (control / f"sleep-n{index}-configure").write_text("0.3")
    data_dir = tmp_path / "data"
    with Manager.open(data_dir, start_engine=False) as setup:
        support.deploy(setup, _blueprint(tmp_path / "bp", log, control))
        execution = execution_service.start(setup, deployment_id="dep", workflow_id="install")

    rng = random.Random(7)
    port = _free_port()
    kills = 0
    manager_log = tmp_path / "manager.log"
    deadline = time.monotonic() + 240
    status = ES.PENDING
    while time.monotonic() < deadline:
        process = _up(data_dir, port, manager_log)
        try:
            if kills < 5:
                time.sleep(rng.uniform(0.3, 1.5))
                process.send_signal(signal.SIGKILL)  # the manager only: its scripts live on
                process.wait(10)
                kills += 1
                continue
            with Manager.open(data_dir, start_engine=False) as reader:
                status = support.wait_for(reader, execution.id, seconds=120).status
            break
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
    assert kills == 5
    assert status is ES.SUCCEEDED, manager_log.read_text()[-3000:]
    runs = Counter(support.log_lines(log))
    assert len(runs) == NODES * 3
    repeated = {run: count for run, count in runs.items() if count > 1}
    assert not repeated, f"operations that ran twice: {repeated}"
    with Manager.open(data_dir, start_engine=False) as reader:
        assert {str(i.state) for i in reader.store.list_instances("dep")} == {"started"}
