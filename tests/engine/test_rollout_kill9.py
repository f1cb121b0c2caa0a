"""Kill -9 the manager during a rollout, again and again: each time ``cairn up`` starts
again, the rollout goes on by itself from the database, ends succeeded, every member was
started exactly once, and no operation ran twice (the scripts count their own runs)."""

from __future__ import annotations

import pathlib
import random
import signal
import sys
import time
from collections import Counter

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import engine_support as support
from test_kill9 import CAIRN, _free_port, _up

from cairn.model import rollouts as model
from cairn.services import groups, rollouts
from cairn.services.manager import Manager

MEMBERS = 16


def _blueprint(folder: pathlib.Path, log: pathlib.Path, control: pathlib.Path) -> pathlib.Path:
    ops = support.lifecycle(log, control, "create", "configure", "start")
    indented = "\n".join("      " + line for line in ops.splitlines())
    body = (
        "tosca_definitions_version: cloudify_dsl_1_4\n"
        "imports: [cloudify/types/types.yaml]\n"
        "node_templates:\n"
        f"  db:\n    type: cloudify.nodes.Root\n    interfaces:\n{indented}\n"
        f"  app:\n    type: cloudify.nodes.Root\n    interfaces:\n{indented}\n"
        "    relationships: [{type: cloudify.relationships.depends_on, target: db}]\n"
    )
    return support.write_blueprint(folder, body)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_kill9_mid_rollout_loses_nothing_and_repeats_nothing(tmp_path: pathlib.Path) -> None:
    if not CAIRN.exists():
        pytest.skip("the cairn console script is not installed next to this Python")
    log, control = tmp_path / "ops.log", tmp_path / "control"
    control.mkdir()
    (control / "sleep-app-configure").write_text("0.2")  # so kills land mid-member
    data_dir = tmp_path / "data"
    names = [f"shop-{n:02d}" for n in range(MEMBERS)]
    with Manager.open(data_dir, start_engine=False) as setup:
        path = _blueprint(tmp_path / "bp", log, control)
        for name in names:
            support.deploy(setup, path, deployment_id=name)
        groups.create(setup, group_id="shops", deployment_ids=names)
        chosen, _ = model.settings_from(concurrency=3, waves="1,50%,100%")
        rollout = rollouts.start(setup, workflow_id="install", group_id="shops", settings=chosen)

    rng = random.Random(11)
    port = _free_port()
    kills = 0
    manager_log = tmp_path / "manager.log"
    found = rollout
    progress: list[dict[str, int]] = []  # the members' counts after each kill
    while True:
        process = _up(data_dir, port, manager_log)
        try:
            if kills < 4:
                time.sleep(rng.uniform(2.0, 4.0))  # cairn up takes about a second to start
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                kills += 1
                with Manager.open(data_dir, start_engine=False) as reader:
                    progress.append(dict(rollouts.get(reader, rollout.id).counts))
                continue
            with Manager.open(data_dir, start_engine=False) as reader:
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    found = rollouts.get(reader, rollout.id)
                    if found.status in model.ENDED:
                        break
                    time.sleep(0.2)
                members = rollouts.members(reader, rollout.id)
                states = {str(i.state) for name in names for i in reader.store.list_instances(name)}
            break
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(20)
    assert found.status is model.Status.SUCCEEDED, manager_log.read_text()[-3000:]
    # kills landed while the rollout was under way (not all before it began or after it ended)
    done = [counts.get("succeeded", 0) for counts in progress]
    assert sum(0 < d < MEMBERS for d in done) >= 2, progress
    assert {m.status for m in members} == {model.MemberStatus.SUCCEEDED}
    assert {m.attempts for m in members} == {1}, [(m.deployment_id, m.attempts) for m in members]
    assert states == {"started"}
    runs = Counter(support.log_lines(log))
    assert len(runs) == MEMBERS * 2 * 3
    repeated = {run: count for run, count in runs.items() if count > 1}
    assert not repeated, f"operations that ran twice: {repeated}"
