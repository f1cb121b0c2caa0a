"""The local connector runs built-in resource operations in worker threads, journaled."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

from connector_support import context, dispatch, wait_for

from cairn.connectors import interface, journal, local
from cairn.model import executions

Kind = executions.OutcomeKind
Make = Callable[..., local.LocalConnector]


def _command(
    key: str, blueprint: pathlib.Path, tmp_path: pathlib.Path, command: str, **options: Any
) -> interface.Dispatch:
    ctx = context(blueprint)
    ctx["node"] = {"id": "probe", "properties": {"command": command, "cwd": str(tmp_path)}}
    ctx["instance"] = {"id": "probe_1", "runtime_properties": {"kept": 1}}
    return dispatch(
        key, blueprint, plugin="cairn_resources", operation="command.start", ctx=ctx, **options
    )


def test_a_resource_operation_runs_off_the_callers_thread_and_reports_through_poll(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    gate = tmp_path / "gate"
    connector = make_connector()
    waiting = f"while [ ! -f {gate} ]; do sleep 0.05; done; echo opened"
    connector.submit(_command("ex:1:1", blueprint, tmp_path, waiting))
    # submit returned while the operation still waits for the gate
    assert [r for r in connector.poll(timeout=0.3) if r.outcome is not None] == []
    assert connector.recover("ex:1:1").state is interface.Recovery.RUNNING
    gate.touch()
    outcome, _ = wait_for(connector, "ex:1:1")
    assert outcome.kind is Kind.SUCCEEDED
    assert outcome.runtime_properties is not None
    assert outcome.runtime_properties["output"] == "opened"
    assert outcome.runtime_properties["kept"] == 1


def test_an_outcome_is_journaled_and_a_key_delivered_again_does_not_run_again(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path, data_dir: pathlib.Path
) -> None:
    runs = tmp_path / "runs.log"
    counting = f"echo run >> {runs}; wc -l < {runs}"
    connector = make_connector()
    connector.submit(_command("ex:2:1", blueprint, tmp_path, counting))
    first, _ = wait_for(connector, "ex:2:1")
    assert journal.Entry(str(data_dir / "journal"), "ex:2:1").has_outcome()
    connector.close()
    again = make_connector()
    assert again.recover("ex:2:1").report is not None
    again.submit(_command("ex:2:1", blueprint, tmp_path, counting))
    second, _ = wait_for(again, "ex:2:1")
    assert second == first
    assert runs.read_text() == "run\n"
    again.forget("ex:2:1")
    again.settle()  # deletions happen on the clean-up thread
    assert again.recover("ex:2:1").state is interface.Recovery.UNKNOWN


def test_the_dispatch_timeout_holds_for_resource_operations(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    connector = make_connector()
    connector.submit(_command("ex:3:1", blueprint, tmp_path, "sleep 20", timeout=0.5))
    connector.submit(
        _command("ex:4:1", blueprint, tmp_path, "sleep 20", timeout=0.5, timeout_recoverable=False)
    )
    recoverable, _ = wait_for(connector, "ex:3:1", within=10)
    fatal, _ = wait_for(connector, "ex:4:1", within=10)
    assert recoverable.kind is Kind.RECOVERABLE
    assert fatal.kind is Kind.NON_RECOVERABLE
    assert recoverable.error is not None and "timed out after 0.5s" in recoverable.error


def test_kill_ends_a_running_resource_operation_at_once(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    gate = tmp_path / "gate"
    connector = make_connector()
    waiting = f"while [ ! -f {gate} ]; do sleep 0.05; done"
    connector.submit(_command("ex:5:1", blueprint, tmp_path, waiting, timeout=30))
    connector.kill("ex:5:1")
    outcome, _ = wait_for(connector, "ex:5:1")  # while the operation still waits
    assert not gate.exists()
    assert outcome.kind is Kind.NON_RECOVERABLE
    assert outcome.error is not None and "killed" in outcome.error
    gate.touch()  # the thread ends; what it returns now is dropped
    connector.close()
    assert connector.poll(timeout=0.2) == []


def test_secrets_are_masked_in_resource_outcomes_and_logs(
    make_connector: Make, blueprint: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    connector = make_connector()
    connector.submit(
        _command("ex:6:1", blueprint, tmp_path, "echo hunter2 >&2; exit 1", secrets=["hunter2"])
    )
    outcome, _ = wait_for(connector, "ex:6:1")
    assert outcome.kind is Kind.NON_RECOVERABLE
    assert outcome.error is not None
    assert "hunter2" not in outcome.error and "exited 1" in outcome.error
