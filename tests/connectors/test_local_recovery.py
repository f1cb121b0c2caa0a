"""Durability of the local connector: a manager crash loses nothing, nothing runs twice.

A "crash" drops the connector object without ``close()`` (its wrapper processes go on, as
they would after ``kill -9`` of the manager) and makes a new connector on the same data
directory, which must find every attempt again from the journal.
"""

from __future__ import annotations

import gc
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import connector_support as support
import pytest

from cairn.connectors import interface, local
from cairn.model import executions
from conftest import write_script

pytestmark = pytest.mark.integration
Kind = executions.OutcomeKind
Make = Callable[..., local.LocalConnector]

# counts its runs in $COUNT, then waits for $GATE to exist, then sets a runtime property
GATED = """#!/bin/sh
echo run >> "$COUNT"
echo "waiting for the gate"
while [ ! -f "$GATE" ]; do sleep 0.05; done
ctx instance runtime-properties finished @true
echo "through the gate"
"""


def wait_started(data_dir: pathlib.Path, key: str) -> None:
    """Attempts start on the connector's starter thread: wait until this one's wrapper runs
    (its pid journaled), so that a crash then leaves a started attempt behind."""
    support.wait_until((data_dir / "journal" / key / "pid.json").exists)


def crash(connector: local.LocalConnector) -> None:
    """Forget a connector the way a killed manager does: no close(), no cleanup."""
    del connector
    gc.collect()


@pytest.fixture
def gated(
    blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> tuple[str, pathlib.Path, pathlib.Path]:
    return write_script(blueprint, "gated.sh", GATED), tmp_path / "count", tmp_path / "gate"


def test_recover_finds_a_running_script_and_later_its_outcome(
    make_connector: Make,
    blueprint: pathlib.Path,
    gated: tuple[str, pathlib.Path, pathlib.Path],
    data_dir: pathlib.Path,
) -> None:
    path, count, gate = gated
    inputs = {"COUNT": str(count), "GATE": str(gate)}
    dispatch = support.dispatch("x:1:1", blueprint, script_path=path, inputs=inputs)
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(dispatch)
    support.wait_until(count.exists)
    crash(first)

    second = make_connector()
    assert second.recover("x:1:1") == interface.Recovered(state=interface.Recovery.RUNNING)
    assert second.recover("x:9:9") == interface.Recovered(state=interface.Recovery.UNKNOWN)
    gate.touch()
    outcome, logs = support.wait_for(second, "x:1:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert outcome.runtime_properties == {"before": 1, "finished": True}
    assert "through the gate" in support.messages(logs, "stdout")

    # the key is journaled now: submitting it again answers from the journal
    second.submit(dispatch)
    [replayed] = second.poll(timeout=1)
    assert replayed.outcome == outcome
    third = make_connector()
    recovered = third.recover("x:1:1")
    assert recovered.report is not None and recovered.report.outcome == outcome
    assert count.read_text() == "run\n"


def test_a_journaled_key_is_never_run_twice(
    make_connector: Make,
    blueprint: pathlib.Path,
    gated: tuple[str, pathlib.Path, pathlib.Path],
) -> None:
    path, count, gate = gated
    gate.touch()
    dispatch = support.dispatch(
        "x:2:1", blueprint, script_path=path, inputs={"COUNT": str(count), "GATE": str(gate)}
    )
    first = make_connector()
    first.submit(dispatch)
    outcome, _ = support.wait_for(first, "x:2:1")
    for _ in range(3):
        again = make_connector()
        again.submit(dispatch)
        report_outcome, _ = support.wait_for(again, "x:2:1")
        assert report_outcome == outcome
    first.submit(dispatch)
    assert support.wait_for(first, "x:2:1")[0] == outcome
    assert count.read_text() == "run\n"


def test_a_script_that_ended_while_no_manager_ran_is_recovered_from_the_journal(
    blueprint: pathlib.Path, data_dir: pathlib.Path, make_connector: Make
) -> None:
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(
        support.dispatch(
            "x:3:1", blueprint, source="echo done-alone\nctx logger info bye\nctx returns 7"
        )
    )
    crash(first)
    exit_file = data_dir / "journal" / "x:3:1" / "exit"
    support.wait_until(lambda: exit_file.exists() and exit_file.read_bytes().endswith(b"\n"))
    second = make_connector()
    recovered = second.recover("x:3:1")
    assert recovered.state is None and recovered.report is not None
    assert recovered.report.outcome == executions.Outcome(kind=Kind.SUCCEEDED, result="7")
    assert sorted(support.messages(recovered.report.logs)) == ["bye", "done-alone"]


def test_a_submit_after_restart_adopts_the_running_attempt(
    make_connector: Make,
    blueprint: pathlib.Path,
    gated: tuple[str, pathlib.Path, pathlib.Path],
    data_dir: pathlib.Path,
) -> None:
    path, count, gate = gated
    dispatch = support.dispatch(
        "x:4:1", blueprint, script_path=path, inputs={"COUNT": str(count), "GATE": str(gate)}
    )
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(dispatch)
    support.wait_until(count.exists)
    crash(first)
    second = make_connector()
    second.submit(dispatch)  # the engine resubmits: the running wrapper is adopted, not rerun
    gate.touch()
    outcome, _ = support.wait_for(second, "x:4:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert count.read_text() == "run\n"


def test_a_lost_attempt_is_unknown_and_its_orphans_are_stopped(
    make_connector: Make,
    blueprint: pathlib.Path,
    gated: tuple[str, pathlib.Path, pathlib.Path],
    data_dir: pathlib.Path,
) -> None:
    path, count, gate = gated
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(
        support.dispatch(
            "x:5:1", blueprint, script_path=path, inputs={"COUNT": str(count), "GATE": str(gate)}
        )
    )
    support.wait_until(count.exists)
    crash(first)
    pid = json.loads((data_dir / "journal" / "x:5:1" / "pid.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)  # the wrapper dies without an exit code; its script lives on
    support.wait_until(lambda: _zombie_or_gone(pid))
    os.waitpid(pid, 0)
    assert support.live_group_members(pid)
    second = make_connector()
    assert second.recover("x:5:1") == interface.Recovered(state=interface.Recovery.UNKNOWN)
    support.wait_until(lambda: not support.live_group_members(pid), within=5)


def _zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


def test_a_timeout_outlives_the_manager(
    blueprint: pathlib.Path, data_dir: pathlib.Path, make_connector: Make
) -> None:
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(support.dispatch("x:6:1", blueprint, source="sleep 30", timeout=1.0))
    wait_started(data_dir, "x:6:1")
    crash(first)
    second = make_connector()
    assert second.recover("x:6:1").state is interface.Recovery.RUNNING
    started = time.monotonic()
    outcome, _ = support.wait_for(second, "x:6:1", within=15)
    assert outcome.kind is Kind.RECOVERABLE
    assert "timed out" in (outcome.error or "")
    assert time.monotonic() - started < 10


def test_kill_reaches_an_attempt_of_an_earlier_manager(
    blueprint: pathlib.Path, data_dir: pathlib.Path, make_connector: Make
) -> None:
    first = local.LocalConnector(data_dir=data_dir)
    first.submit(support.dispatch("x:7:1", blueprint, source="sleep 30"))
    wait_started(data_dir, "x:7:1")
    crash(first)
    second = make_connector()
    second.kill("x:7:1")
    outcome, _ = support.wait_for(second, "x:7:1", within=15)
    assert (outcome.kind, outcome.error) == (Kind.NON_RECOVERABLE, "<inline>: killed")


def test_forget_removes_finished_entries_only(
    blueprint: pathlib.Path, data_dir: pathlib.Path, make_connector: Make
) -> None:
    connector = make_connector()
    connector.submit(support.dispatch("x:8:1", blueprint, plugin="cairn", operation="cairn.noop"))
    connector.poll()
    connector.forget("x:8:1")
    assert not (data_dir / "journal" / "x:8:1").exists()
    assert connector.recover("x:8:1").state is interface.Recovery.UNKNOWN


MANAGER = """
import sys, time
sys.path.insert(0, {support_dir!r})
import pathlib
import connector_support as support
from cairn.connectors import local

connector = local.LocalConnector(data_dir={data_dir!r})
connector.submit(support.dispatch("x:9:1", pathlib.Path({blueprint!r}), script_path={path!r},
                                  inputs={inputs!r}))
print("submitted", flush=True)
time.sleep(60)
"""


def test_kill_9_of_a_real_manager_process(
    make_connector: Make,
    blueprint: pathlib.Path,
    gated: tuple[str, pathlib.Path, pathlib.Path],
    data_dir: pathlib.Path,
) -> None:
    path, count, gate = gated
    code = MANAGER.format(
        support_dir=str(pathlib.Path(__file__).parent),
        data_dir=str(data_dir),
        blueprint=str(blueprint),
        path=path,
        inputs={"COUNT": str(count), "GATE": str(gate)},
    )
    manager = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert manager.stdout is not None
        assert manager.stdout.readline().strip() == "submitted"
        support.wait_until(count.exists)
    finally:
        manager.kill()  # SIGKILL: no cleanup of any kind
        manager.wait()
        if manager.stdout is not None:
            manager.stdout.close()
    second = make_connector()
    assert second.recover("x:9:1").state is interface.Recovery.RUNNING
    gate.touch()
    outcome, _ = support.wait_for(second, "x:9:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert outcome.runtime_properties == {"before": 1, "finished": True}
    assert count.read_text() == "run\n"
