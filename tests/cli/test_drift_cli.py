"""``cairn drift list/show`` and drift policies (``deployments set-drift``, ``create
--drift-mode``), as a user runs them against a real manager."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Manager, one_line_error, running_manager, write_blueprint

pytestmark = pytest.mark.integration

CHECK = """\
#!/bin/sh
if [ -f "$FLAG" ]; then
  ctx returns @'{"drifted": true, "differences": {"mode": {"expected": "0644", "actual": "0600"}}}'
else
  ctx returns @'{"drifted": false, "differences": {}}'
fi
"""
BLUEPRINT = """\
tosca_definitions_version: cloudify_dsl_1_4
imports: [cloudify/types/types.yaml]
inputs:
  flag: {type: string}
node_templates:
  conf:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        check_drift:
          implementation: scripts/op.sh
          inputs: {FLAG: {get_input: flag}}
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    tmp = tmp_path_factory.mktemp("manager")
    with running_manager(tmp) as manager:
        bp = write_blueprint(tmp / "bp", BLUEPRINT, CHECK)
        uploaded = manager.cli("blueprints", "upload", str(bp), "-b", "bp")
        assert uploaded.returncode == 0, uploaded.stderr
        yield manager


def as_json(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_then_list_and_show(shared: Manager, tmp_path: Path) -> None:
    flag = tmp_path / "drifted"
    made = shared.cli("deployments", "create", "web1", "-b", "bp", "-i", f"flag={flag}")
    assert made.returncode == 0, made.stderr
    listed = {d["deployment_id"]: d for d in as_json(shared.cli("drift", "list", "-o", "json"))}
    assert listed["web1"]["drifted"] is False and listed["web1"]["checked_at"] is None
    flag.touch()
    ran = shared.cli("executions", "start", "check_drift", "-d", "web1", "--wait")
    assert ran.returncode == 0, ran.stderr + ran.stdout
    listed = {d["deployment_id"]: d for d in as_json(shared.cli("drift", "list", "-o", "json"))}
    assert listed["web1"]["drifted"] is True and listed["web1"]["checked_at"]
    shown = as_json(shared.cli("drift", "show", "web1", "-o", "json"))
    (instance,) = shown["instances"]
    assert instance["differences"] == {"mode": {"expected": "0644", "actual": "0600"}}
    table = shared.cli("drift", "show", "web1")
    assert table.returncode == 0, table.stderr
    assert "expected '0644', actual '0600'" in table.stdout
    assert "yes" in shared.cli("drift", "list").stdout
    got = as_json(shared.cli("deployments", "get", "web1", "-o", "json"))
    assert got["drifted"] is True


def test_policies_at_create_and_later(shared: Manager, tmp_path: Path) -> None:
    made = shared.cli(
        "deployments",
        "create",
        "web2",
        "-b",
        "bp",
        "-i",
        f"flag={tmp_path / 'x'}",
        "--drift-mode",
        "detect",
        "--drift-interval",
        "10m",
    )
    assert made.returncode == 0, made.stderr
    got = as_json(shared.cli("deployments", "get", "web2", "-o", "json"))
    assert (got["drift_mode"], got["drift_interval"]) == ("detect", 600)
    changed = shared.cli(
        "deployments", "set-drift", "web2", "--mode", "correct", "--interval", "2h"
    )
    assert changed.returncode == 0, changed.stderr
    assert "drift correct every 7200s" in changed.stdout
    listed = {d["deployment_id"]: d for d in as_json(shared.cli("drift", "list", "-o", "json"))}
    assert (listed["web2"]["mode"], listed["web2"]["interval"]) == ("correct", 7200)
    off = shared.cli("deployments", "set-drift", "web2", "--mode", "off")
    assert off.returncode == 0 and "drift checks off" in off.stdout


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("deployments", "set-drift", "web3", "--mode", "sometimes"), 2, "mode"),
        (
            ("deployments", "set-drift", "web3", "--mode", "detect", "--interval", "soon"),
            2,
            "interval",
        ),
        (
            ("deployments", "set-drift", "web3", "--mode", "detect", "--interval", "2s"),
            2,
            "interval",
        ),
        (("deployments", "set-drift", "nope", "--mode", "detect"), 2, "nope"),
        (("drift", "show", "nope"), 2, "nope"),
        (("drift", "check"), 2, "--all"),
        (("drift", "check", "-g", "nope"), 2, "nope"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    shared: Manager, tmp_path: Path, args: tuple[str, ...], code: int, words: str
) -> None:
    if shared.cli("deployments", "get", "web3").returncode != 0:
        made = shared.cli("deployments", "create", "web3", "-b", "bp", "-i", f"flag={tmp_path}")
        assert made.returncode == 0, made.stderr
    before = as_json(shared.cli("drift", "list", "-o", "json"))
    result = shared.cli(*args)
    assert result.returncode == code, result.stderr
    assert words in one_line_error(result)
    assert as_json(shared.cli("drift", "list", "-o", "json")) == before


def test_create_with_a_bad_policy_creates_nothing(shared: Manager, tmp_path: Path) -> None:
    result = shared.cli(
        "deployments",
        "create",
        "web4",
        "-b",
        "bp",
        "-i",
        f"flag={tmp_path}",
        "--drift-interval",
        "0",
    )
    assert result.returncode == 2
    assert "interval" in one_line_error(result)
    assert shared.cli("deployments", "get", "web4").returncode != 0


def test_cairn_up_runs_scheduled_checks(shared: Manager, tmp_path: Path) -> None:
    flag = tmp_path / "drifted"
    flag.touch()
    made = shared.cli("deployments", "create", "web5", "-b", "bp", "-i", f"flag={flag}")
    assert made.returncode == 0, made.stderr
    installed = shared.cli("executions", "start", "install", "-d", "web5", "--wait")
    assert installed.returncode == 0, installed.stderr
    assert (
        shared.cli(
            "deployments", "set-drift", "web5", "--mode", "detect", "--interval", "10s"
        ).returncode
        == 0
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = as_json(shared.cli("drift", "show", "web5", "-o", "json"))
        if found["drifted"]:
            break
        time.sleep(1)
    assert found["drifted"] is True
    runs = as_json(shared.cli("executions", "list", "-d", "web5", "-o", "json"))
    checks = [e for e in runs if e["workflow_id"] == "check_drift"]
    assert checks and all(e["created_by"] == "drift-scheduler" for e in checks)
    shared.cli("deployments", "set-drift", "web5", "--mode", "off")


def test_a_sweep_checks_several_deployments_at_once(shared: Manager, tmp_path: Path) -> None:
    flag = tmp_path / "drifted"
    flag.touch()
    for name, value in (("sw1", flag), ("sw2", tmp_path / "clean")):
        made = shared.cli("deployments", "create", name, "-b", "bp", "-i", f"flag={value}")
        assert made.returncode == 0, made.stderr
    done = as_json(shared.cli("drift", "check", "sw1", "sw2", "-o", "json"))
    assert sorted(e["deployment_id"] for e in done["started"]) == ["sw1", "sw2"]
    assert done["refused"] == []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = {d["deployment_id"]: d for d in as_json(shared.cli("drift", "list", "-o", "json"))}
        if listed["sw1"]["checked_at"] and listed["sw2"]["checked_at"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the sweep's checks did not end within 60 s")
    assert (listed["sw1"]["drifted"], listed["sw2"]["drifted"]) == (True, False)
    table = shared.cli("drift", "check", "--all")
    assert table.returncode == 0, table.stderr
    assert "check_drift started" in table.stdout and "sw2" in table.stdout
